"""core/repository_tags.py: a repository's tags, read once per TTL; failures never cached: read() raises them, saying
whether they are transient, tags() logs them and answers None."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
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


class FlakyEcr:
    """ListTagsForResource fails with ``error`` until it is set to None, then answers the tags team=payments."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.calls = 0

    def list_tags_for_resource(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return {"tags": [{"Key": "team", "Value": "payments"}]}


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},  # type: ignore[typeddict-item]
        "ListTagsForResource",
    )


ARN = "arn:aws:ecr:us-east-1:123456789012:repository/payments/api"


@pytest.mark.parametrize("lenient", [False, True])
def test_a_failure_is_not_cached_the_next_read_sees_the_tags(lenient: bool) -> None:
    """Test gap: a failure cached as "no tags" would hide the tag for ttl_seconds (the owner decided wrongly)."""
    clock = Clock()
    reader = repository_tags.TagReader(ttl_seconds=300, clock=clock)
    ecr = FlakyEcr(client_error("ThrottlingException"))
    if lenient:
        assert reader.tags(ecr, ARN) is None
    else:
        with pytest.raises(repository_tags.TagsUnavailable):
            reader.read(ecr, ARN)
    ecr.error = None
    clock.now += 1  # well within the TTL
    assert (reader.tags(ecr, ARN) if lenient else reader.read(ecr, ARN)) == {"team": "payments"}
    assert ecr.calls == reader.calls == 2


@pytest.mark.parametrize(
    ("error", "code", "transient"),
    [
        (client_error("ThrottlingException"), "ThrottlingException", True),
        (client_error("TooManyRequestsException"), "TooManyRequestsException", True),
        (client_error("ServerException", 500), "ServerException", True),  # any 5xx
        (EndpointConnectionError(endpoint_url="https://ecr"), "EndpointConnectionError", True),
        (client_error("AccessDeniedException"), "AccessDeniedException", False),
        (client_error("InvalidParameterException"), "InvalidParameterException", False),
    ],
)
def test_read_says_whether_a_failure_is_transient(error: Exception, code: str, transient: bool) -> None:
    with pytest.raises(repository_tags.TagsUnavailable) as raised:
        repository_tags.TagReader().read(FlakyEcr(error), ARN)
    assert (raised.value.code, raised.value.transient) == (code, transient)
    assert ARN in str(raised.value)


def test_a_deleted_repository_has_no_tags_and_is_asked_again() -> None:
    reader = repository_tags.TagReader(ttl_seconds=300, clock=Clock())
    ecr = FlakyEcr(client_error("RepositoryNotFoundException"))
    assert reader.read(ecr, ARN) == {}
    ecr.error = None  # created again under the same name
    assert reader.read(ecr, ARN) == {"team": "payments"}
