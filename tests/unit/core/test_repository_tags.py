"""core/repository_tags.py: a repository's tags, read once per TTL; failures logged, answered None, not cached."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ecr_scan_reporter.core import repository_tags

REGION = "us-east-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@mock_aws
def test_tags_read_once_per_ttl_and_again_after() -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    arn = ecr.create_repository(repositoryName="payments/api", tags=[{"Key": "team", "Value": "payments"}])[
        "repository"
    ]["repositoryArn"]
    clock = Clock()
    reader = repository_tags.TagReader(ttl_seconds=300, clock=clock)
    assert reader.tags(ecr, arn) == {"team": "payments"}
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "tools"}])
    clock.now += 299
    assert reader.tags(ecr, arn) == {"team": "payments"}  # cached
    assert reader.calls == 1
    clock.now += 1
    assert reader.tags(ecr, arn) == {"team": "tools"}  # the TTL has passed: the change is seen
    assert reader.calls == 2


def test_a_ttl_of_zero_reads_every_time() -> None:
    class Ecr:
        calls = 0

        def list_tags_for_resource(self, **_: Any) -> dict[str, Any]:
            Ecr.calls += 1
            return {"tags": [{"Key": "team", "Value": "a"}]}

    reader = repository_tags.TagReader(ttl_seconds=0)
    for _ in range(3):
        assert reader.tags(Ecr(), "arn") == {"team": "a"}
    assert Ecr.calls == 3


def test_a_failed_read_is_logged_answers_none_and_is_not_cached(caplog: pytest.LogCaptureFixture) -> None:
    class Ecr:
        fail = True

        def list_tags_for_resource(self, **_: Any) -> dict[str, Any]:
            if Ecr.fail:
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListTagsForResource")
            return {"tags": []}

    reader = repository_tags.TagReader()
    assert reader.tags(Ecr(), "arn:aws:ecr:us-east-1:1:repository/x") is None
    record = next(r for r in caplog.records if r.getMessage() == "repository_tags_unavailable")
    assert "AccessDeniedException" in record.error  # type: ignore[attr-defined]
    Ecr.fail = False
    assert reader.tags(Ecr(), "arn:aws:ecr:us-east-1:1:repository/x") == {}


def test_repository_arn() -> None:
    assert (
        repository_tags.repository_arn("aws-cn", "cn-north-1", "123456789012", "team/api")
        == "arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/api"
    )
