"""The report function under faults (moto): a partial or old-schema ledger, a Scan throttled through botocore's
retries, a bucket that refuses the write."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import emf
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import REGION
from ecr_fakes import client_error
from moto.core.botocore_stubber import MockRawResponse

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.handlers import report as report_handler
from handlers.test_report import BUCKET, TABLE, Context, digest, put, world  # noqa: F401 (world: a fixture)

FN = ("FunctionName", "esr-report")
Delivered = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def delivered(world: Delivered) -> Delivered:  # noqa: F811 (the imported fixture: table, topic, bucket)
    return world


def fresh() -> dict[str, Any]:
    return {"source": "ecr", "scan_status": "COMPLETE", "scan_completed_at": datetime.now(UTC) - timedelta(days=1)}


def stored_keys() -> list[str]:
    return [o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET).get("Contents", [])]


# --- a partial ledger -----------------------------------------------------------------------------------------


def test_a_partial_and_old_schema_ledger_still_reports_leaving_out_only_what_cannot_be_read(
    delivered: Delivered, caplog: pytest.LogCaptureFixture
) -> None:
    put("team/app", 1, breached=("HIGH",), findings={"CVE-1": "HIGH"}, **fresh())
    ddb = boto3.client("dynamodb", region_name=REGION)
    pk = {"S": "123456789012#team/app"}
    for item in (
        {"pk": pk, "digest": {"S": digest(2)}},  # the keys only
        {"pk": pk, "digest": {"S": digest(3)}, "scan_status": {"S": "COMPLETE"}, "image_tags": {"SS": ["v3"]}},
        {"pk": pk, "digest": {"S": digest(4)}, "scan_completed_at": {"S": "2026-01-01T00:00:00Z"}},  # ISO text
        {"pk": pk, "digest": {"S": digest(5)}, "severity_counts": {"M": {"HIGH": {"S": "2"}}}},  # a count as text
        {"pk": pk, "digest": {"S": digest(6)}, "expires_at": {"S": "soon"}},
        {"pk": pk, "digest": {"S": digest(7)}, "findings": {"M": {"CVE-2": {"N": "1"}}}},
    ):
        ddb.put_item(TableName=TABLE, Item=item)

    response = report_handler.handler({}, Context())

    assert response["status"] == "published"
    assert response["images"] == 4  # 1, 2, 3 and 4 (a time that is not a number reads as unknown)
    assert response["unreadable_records"] == 3  # 5, 6, 7: another type where a number or a string must be
    doc = json.loads(delivered()[0]["Message"])
    assert doc["summary"]["images"] == 4
    skipped = [r for r in caplog.records if r.getMessage() == "ledger_record_unreadable"]
    assert sorted(r.digest for r in skipped) == [digest(5), digest(6), digest(7)]
    assert {r.levelno for r in skipped} == {logging.WARNING}


# --- a throttled Scan -------------------------------------------------------------------------------------------


def throttle_scans(times: int | None) -> list[int]:
    """Make the report's DynamoDB client (standard retries, no real sleep) get ThrottlingException for its first
    ``times`` Scan requests (None: every one); returns the list the attempts are counted in."""
    client = aws.client("dynamodb")
    attempts: list[int] = []

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(1)
        if times is not None and len(attempts) > times:
            return None  # on to moto
        body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow down"})
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "r"}
        return AWSResponse(request.url, 400, headers, MockRawResponse(body))

    client.meta.events.register_first("before-send.dynamodb.Scan", answer)
    return attempts


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retries with the module's attempts, in standard mode (adaptive mode's rate limiter waits on a
    condition with the real clock), sleeping for no time."""
    import time

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    retries = Config(retries={"mode": "standard", "max_attempts": aws.DEFAULT_MAX_ATTEMPTS})
    monkeypatch.setattr(aws, "RETRY_CONFIG", aws.RETRY_CONFIG.merge(retries))
    aws.reset_clients()
    return slept


def test_a_scan_throttled_a_few_times_is_retried_and_the_report_goes_out(
    delivered: Delivered, no_sleep: list[float]
) -> None:
    put("team/app", 1, **fresh())
    attempts = throttle_scans(2)
    assert report_handler.handler({}, Context())["images"] == 1
    assert len(attempts) == 3
    assert len(no_sleep) == 2  # botocore backed off twice
    assert len(delivered()) == 1


def test_a_scan_throttled_through_every_retry_fails_clearly_with_nothing_published_or_stored(
    delivered: Delivered, no_sleep: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    put("team/app", 1, **fresh())
    attempts = throttle_scans(None)
    with pytest.raises(ClientError, match="ThrottlingException"):
        report_handler.handler({}, Context())
    assert len(attempts) == aws.DEFAULT_MAX_ATTEMPTS + 1  # botocore's max_attempts counts the retries
    assert delivered() == []
    assert stored_keys() == []
    [line] = [r for r in caplog.records if r.getMessage() == "report_failed"]
    assert (line.levelno, line.stage, line.error_code) == (logging.ERROR, "read", "ThrottlingException")


# --- a bucket that refuses the write ----------------------------------------------------------------------------


class RefusingS3:
    """moto's S3 client, refusing PutObject (AccessDenied) for the keys ``refuse`` selects."""

    def __init__(self, real: Any, refuse: Callable[[str], bool]) -> None:
        self.real, self.refuse = real, refuse

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def put_object(self, **kwargs: Any) -> Any:
        if self.refuse(kwargs["Key"]):
            raise client_error("AccessDenied", "PutObject", "Access Denied")
        return self.real.put_object(**kwargs)


def use_s3(monkeypatch: pytest.MonkeyPatch, refuse: Callable[[str], bool]) -> None:
    s3 = RefusingS3(aws.client("s3"), refuse)
    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: s3 if service == "s3" else real(service, **kw))


def test_a_bucket_that_refuses_the_write_does_not_stop_the_report_and_is_counted(
    delivered: Delivered,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put("team/app", 1, breached=("CRITICAL",), **fresh())
    use_s3(monkeypatch, lambda key: True)
    response = report_handler.handler({}, Context())  # no exception: a retry would publish the report again
    assert (response["status"], response["stored"]) == ("published", [])
    assert len(delivered()) == 1
    refused = [r for r in caplog.records if r.getMessage() == "report_not_stored"]
    assert len(refused) == 4  # every key was tried
    assert {(r.levelno, r.error_code, r.bucket) for r in refused} == {(logging.ERROR, "AccessDenied", BUCKET)}
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert found[("ReportsNotStored", (FN,))] == 1
    assert found[("NotificationsSent", (("EventType", "report"), FN))] == 1


def test_a_partly_refused_write_stores_the_rest(
    delivered: Delivered, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    put("team/app", 1, **fresh())
    use_s3(monkeypatch, lambda key: "latest" in key)
    response = report_handler.handler({}, Context())
    assert len(response["stored"]) == 2
    assert not any("latest" in key for key in response["stored"])
    assert sorted(stored_keys()) == sorted(response["stored"])
    assert emf.values(emf.parse(capsys.readouterr().out))[("ReportsNotStored", (FN,))] == 1


def test_a_stored_report_counts_no_refusal(delivered: Delivered, capsys: pytest.CaptureFixture[str]) -> None:
    put("team/app", 1, **fresh())
    assert len(report_handler.handler({}, Context())["stored"]) == 4
    assert emf.values(emf.parse(capsys.readouterr().out))[("ReportsNotStored", (FN,))] == 0
