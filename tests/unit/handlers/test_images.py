"""The SQS-triggered images handler against moto: partial batch responses, continuations, ENHANCED registries."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import ACCOUNT
from ecr_fakes import FakeContext, client_error, push, set_last_scan, set_pushed_at, sqs_event, work_body

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.handlers import images, load_settings


class CountingEcr:
    """Wraps the moto ECR client, recording StartImageScan digests; ``deny`` repositories get AccessDenied."""

    def __init__(self, real: Any, deny: frozenset[str] = frozenset()) -> None:
        self.real, self.deny, self.started = real, deny, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def start_image_scan(self, repositoryName: str, imageId: dict[str, str], **kwargs: Any) -> Any:
        if repositoryName in self.deny:
            raise client_error("AccessDeniedException", "StartImageScan")
        self.started[imageId["imageDigest"]] += 1
        return self.real.start_image_scan(repositoryName=repositoryName, imageId=imageId, **kwargs)


@pytest.fixture
def queue_url(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = aws.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")  # keep pytest's log capture handlers in place
    load_settings.cache_clear()
    yield url
    load_settings.cache_clear()


@pytest.fixture
def ecr(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> CountingEcr:
    wrapper = CountingEcr(aws.client("ecr"))
    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: wrapper if service == "ecr" else real(service, **kw))
    return wrapper


def repository(ecr: CountingEcr, name: str, count: int, first: int = 0) -> list[str]:
    ecr.create_repository(repositoryName=name)
    return [push(ecr, name, first + i, None if i % 4 == 3 else f"v{i}") for i in range(count)]


def scanned(ecr: CountingEcr, name: str, digest: str) -> bool:
    try:
        ecr.describe_image_scan_findings(repositoryName=name, imageId={"imageDigest": digest}, maxResults=1)
    except ecr.exceptions.ScanNotFoundException:
        return False
    return True


def pop_messages(url: str) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def test_one_malformed_record_fails_alone(ecr: CountingEcr, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app, api = repository(ecr, "team/app", 3), repository(ecr, "team/api", 2, first=10)
    event = sqs_event([work_body("team/app"), '{"version": 1, "repo": "team/x"}', work_body("team/api")])
    assert images.handler(event, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert set(ecr.started) == {*app, *api}
    assert all(scanned(ecr, "team/app", d) for d in app)
    [bad] = [r for r in caplog.records if r.getMessage() == "work_message_malformed"]
    assert bad.levelno == logging.ERROR
    assert bad.message_id == "m1"
    assert "repository" in bad.error


def test_not_json_and_empty_bodies_are_failures_too(ecr: CountingEcr) -> None:
    event = sqs_event(["not json", ""])
    assert images.handler(event, FakeContext())["batchItemFailures"] == [
        {"itemIdentifier": "m0"},
        {"itemIdentifier": "m1"},
    ]


def test_a_deleted_repository_is_done_not_retried(ecr: CountingEcr, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app = repository(ecr, "team/app", 2)
    result = images.handler(sqs_event([work_body("team/gone"), work_body("team/app")]), FakeContext())
    assert result == {"batchItemFailures": []}
    assert set(ecr.started) == set(app)
    assert [r.repository for r in caplog.records if r.getMessage() == "repository_not_found"] == ["team/gone"]


def test_an_aws_error_fails_only_its_record(ecr: CountingEcr) -> None:
    ecr.deny = frozenset({"team/locked"})
    repository(ecr, "team/locked", 1)
    app = repository(ecr, "team/app", 2, first=5)
    result = images.handler(sqs_event([work_body("team/locked"), work_body("team/app")]), FakeContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert set(ecr.started) == set(app)


def test_enhanced_registry_starts_no_scan_and_says_so_once(ecr: CountingEcr, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[])
    app = repository(ecr, "team/app", 3)
    event = sqs_event([work_body("team/app"), work_body("team/app"), work_body("team/app")])
    assert images.handler(event, FakeContext()) == {"batchItemFailures": []}
    assert not ecr.started
    assert not any(scanned(ecr, "team/app", d) for d in app)
    assert [r.getMessage() for r in caplog.records].count("manual_scans_skipped") == 1


@pytest.mark.parametrize(("expiry", "due_ages"), [("14", {20, 181}), ("30", {181}), ("180", {181})])
def test_multi_digit_scan_expiry_from_the_environment(
    ecr: CountingEcr, monkeypatch: pytest.MonkeyPatch, expiry: str, due_ages: set[int]
) -> None:
    monkeypatch.setenv("SCAN_EXPIRY_DAYS", expiry)
    ecr.create_repository(repositoryName="team/app")
    now = datetime.now(UTC)
    by_age = {age: push(ecr, "team/app", age, f"age-{age}") for age in (10, 20, 181)}
    for age, image in by_age.items():
        set_last_scan("team/app", image, now - timedelta(days=age))
    assert images.handler(sqs_event([work_body("team/app")]), FakeContext()) == {"batchItemFailures": []}
    assert set(ecr.started) == {by_age[age] for age in due_ages}


def test_max_images_per_repository(ecr: CountingEcr, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two newest by push time are scanned: not the first two listed, not the two largest digests."""
    monkeypatch.setenv("MAX_IMAGES_PER_REPOSITORY", "2")
    digests = repository(ecr, "team/app", 5)
    now = datetime.now(UTC)
    for digest, hours_old in zip(digests, (30, 2, 40, 1, 20), strict=True):
        set_pushed_at("team/app", digest, now - timedelta(hours=hours_old))
    assert images.handler(sqs_event([work_body("team/app")]), FakeContext()) == {"batchItemFailures": []}
    assert ecr.started == Counter([digests[3], digests[1]])


def test_a_repository_too_big_for_one_invocation_continues_through_the_queue(
    ecr: CountingEcr, queue_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    digests = repository(ecr, "team/big", 14)
    fresh = digests[::5]
    for d in fresh:
        set_last_scan("team/big", d, datetime.now(UTC) - timedelta(days=1))
    event, parts = sqs_event([work_body("team/big")]), 0
    while True:
        parts += 1
        # 3 reads with time to spare: 4 images per invocation (the first one is handled before any read)
        assert images.handler(event, FakeContext(calls=3)) == {"batchItemFailures": []}
        handed = pop_messages(queue_url)
        if not handed:
            break
        [message] = handed
        assert set(message) == {"version", "repository", "registry_id", "continuation"}
        assert (message["version"], message["repository"], message["registry_id"]) == (1, "team/big", ACCOUNT)
        assert message["continuation"]["mode"] == "pages"
        assert message["continuation"]["part"] == parts + 1
        event = sqs_event([json.dumps(message)])
    assert parts == 4  # 14 images, 4 per invocation
    assert ecr.started == Counter(d for d in digests if d not in fresh)  # none twice, none missed
    [last] = [r for r in caplog.records if r.getMessage() == "repository_swept" and not r.continued]
    assert (last.considered, last.scan_started, last.fresh, last.part) == (14, 14 - len(fresh), len(fresh), 4)


def test_a_continuation_that_cannot_be_enqueued_fails_the_record(
    ecr: CountingEcr, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_URL", f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/missing")
    load_settings.cache_clear()
    repository(ecr, "team/big", 6)
    result = images.handler(sqs_event([work_body("team/big")]), FakeContext(calls=1))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


def test_no_records_no_failures(ecr: CountingEcr) -> None:
    assert images.handler({"Records": []}, FakeContext()) == {"batchItemFailures": []}


def test_settings_are_read_once_per_cold_start(ecr: CountingEcr, monkeypatch: pytest.MonkeyPatch) -> None:
    repository(ecr, "team/app", 3)
    images.handler({"Records": []}, FakeContext())
    monkeypatch.setenv("MAX_IMAGES_PER_REPOSITORY", "1")  # ignored until the next cold start
    images.handler(sqs_event([work_body("team/app")]), FakeContext())
    assert sum(ecr.started.values()) == 3
