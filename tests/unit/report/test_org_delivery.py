"""report/org_delivery.py: the period an invocation publishes for, the markers of what went, and which destinations
are still to publish (moto's S3 for the markers; the handler's tests publish for real)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from conftest import REGION

from ecr_scan_reporter.report import org_delivery

BUCKET = "acme-security-ecr-reports"


@pytest.mark.parametrize(
    ("event", "request_id", "expected"),
    [
        ({"time": "2026-12-07T08:00:00Z"}, "r-1", "2026-12-07T080000Z"),  # the schedule's time wins
        ({"time": "2026-12-07T09:00:00+01:00"}, None, "2026-12-07T080000Z"),  # in UTC
        ({"time": "2026-12-07T08:00:00"}, None, "2026-12-07T080000Z"),  # no zone: UTC
        ({"time": "monday"}, "0f2c-4a1b", "request-0f2c-4a1b"),
        ({"time": 5}, "r-1", "request-r-1"),
        ({}, "8f1e2d3c-aaaa-bbbb-cccc-0123456789ab", "request-8f1e2d3c-aaaa-bbbb-cccc-0123456789ab"),
        ([], "r-1", "request-r-1"),
        ({}, "../../latest", None),  # never a key of another shape
        ({}, None, None),
    ],
)
def test_the_period_is_the_schedules_time_else_the_request_id(event: Any, request_id: Any, expected: Any) -> None:
    assert org_delivery.period(event, request_id) == expected


def test_the_destinations_in_order_central_chat_teams() -> None:
    found = org_delivery.destinations("arn:t", "arn:c", [("payments", "arn:p"), ("web", "arn:w")])
    assert [(d.name, d.topic_arn, d.team) for d in found.values()] == [
        ("topic", "arn:t", None), ("chat", "arn:c", None), ("team-payments", "arn:p", "payments"),
        ("team-web", "arn:w", "web"),
    ]  # fmt: skip
    assert list(org_delivery.destinations("arn:t", None, [])) == ["topic"]


@pytest.fixture
def s3(moto: None) -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return client


def test_a_recorded_destination_is_already_published_for_its_period_only(s3: Any) -> None:
    at = datetime(2026, 12, 7, 8, 0, 5, tzinfo=UTC)
    assert org_delivery.record(s3, BUCKET, "2026-12-07T080000Z", "chat", "arn:c", "m-1", at) is None
    body = s3.get_object(Bucket=BUCKET, Key="organization-report/published/2026-12-07T080000Z/chat.json")["Body"]
    assert body.read() == b'{"message_id": "m-1", "topic_arn": "arn:c", "published_at": "2026-12-07T08:00:05Z"}'
    checked = org_delivery.check(s3, BUCKET, "2026-12-07T080000Z", ["topic", "chat"])
    assert (checked.already, checked.pending, checked.unknown) == (["chat"], ["topic"], [])
    other = org_delivery.check(s3, BUCKET, "2026-12-14T080000Z", ["topic", "chat"])
    assert other.pending == ["topic", "chat"]


def test_without_a_period_nothing_is_recorded_and_everything_is_pending(s3: Any) -> None:
    assert org_delivery.record(s3, BUCKET, None, "topic", "arn:t", "m-1", datetime.now(UTC)) is None
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
    assert org_delivery.check(s3, BUCKET, None, ["topic"]).pending == ["topic"]


class Refusing:
    def __init__(self, real: Any, error: Exception) -> None:
        self.real, self.error = real, error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def head_object(self, **kwargs: Any) -> Any:
        raise self.error

    def put_object(self, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject"), "403"),
        (EndpointConnectionError(endpoint_url="https://s3"), "EndpointConnectionError"),
    ],
)
def test_a_marker_that_cannot_be_read_or_written_is_a_failure_never_a_blind_publish(
    s3: Any, error: Exception, code: str
) -> None:
    refusing = Refusing(s3, error)
    checked = org_delivery.check(refusing, BUCKET, "2026-12-07T080000Z", ["topic"])
    assert (checked.already, checked.pending) == ([], [])
    assert [(f.destination, f.code) for f in checked.unknown] == [("topic", code)]
    refused = org_delivery.record(refusing, BUCKET, "2026-12-07T080000Z", "topic", "arn:t", "m", datetime.now(UTC))
    assert refused is not None
    assert (refused.destination, refused.code) == ("topic", code)
