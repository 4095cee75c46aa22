"""The images handler with the scan ledger, the whole batch's time budget and the registry's scan quota (moto)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import REGION
from core.test_ledger import create_table
from ecr_fakes import FakeContext, client_error, sqs_event, work_body

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.handlers import images, load_settings
from handlers.test_images import CountingEcr, pop_messages, repository

TABLE = "esr-ledger"


class Calls(CountingEcr):
    """Counts every ECR call by operation; ``quota_after`` scans, the registry's daily quota is spent."""

    def __init__(self, real: Any, quota_after: int | None = None) -> None:
        super().__init__(real)
        self.calls: Counter[str] = Counter()
        self.listed: Counter[str] = Counter()
        self.quota_after = quota_after

    def describe_images(self, **kwargs: Any) -> Any:
        self.calls["describe_images"] += 1
        self.listed[kwargs["repositoryName"]] += 1
        return self.real.describe_images(**kwargs)

    def describe_image_scan_findings(self, **kwargs: Any) -> Any:
        self.calls["describe_image_scan_findings"] += 1
        return self.real.describe_image_scan_findings(**kwargs)

    def start_image_scan(self, repositoryName: str, imageId: dict[str, str], **kwargs: Any) -> Any:
        self.calls["start_image_scan"] += 1
        if self.quota_after is not None and sum(self.started.values()) >= self.quota_after:
            raise client_error("LimitExceededException", "StartImageScan", "Daily scan quota of the registry reached")
        return super().start_image_scan(repositoryName=repositoryName, imageId=imageId, **kwargs)


@pytest.fixture
def queue_url(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = aws.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    load_settings.cache_clear()
    yield url
    load_settings.cache_clear()


@pytest.fixture
def ecr(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> Calls:
    monkeypatch.setenv("LEDGER_TABLE_NAME", TABLE)
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    wrapper = Calls(aws.client("ecr"))
    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: wrapper if service == "ecr" else real(service, **kw))
    return wrapper


def test_a_second_sweep_makes_no_per_image_lookup(ecr: Calls) -> None:
    digests = repository(ecr, "team/app", 6)
    assert images.handler(sqs_event([work_body("team/app")]), FakeContext()) == {"batchItemFailures": []}
    assert ecr.calls["describe_image_scan_findings"] == 6  # an empty ledger: one lookup per image
    assert set(ecr.started) == set(digests)
    ecr.calls.clear()
    assert images.handler(sqs_event([work_body("team/app")]), FakeContext()) == {"batchItemFailures": []}
    assert ecr.calls == Counter({"describe_images": 1})  # scans in flight are known: nothing looked up or started


def test_the_budget_holds_for_the_whole_batch(ecr: Calls, queue_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    repository(ecr, "team/a", 4)
    for name in ("team/b", "team/c"):
        repository(ecr, name, 3)
    continued = {"mode": "pages", "part": 3, "next_token": None, "after_digest": None, "counts": {"considered": 7}}
    bodies = [work_body("team/a"), work_body("team/b"), work_body("team/c", continued)]
    # Time for two reads: team/a's first image is handled regardless, its next two are in time, then it hands
    # its fourth over; no time is left for team/b and team/c.
    result = images.handler(sqs_event(bodies), FakeContext(calls=2))
    assert result == {"batchItemFailures": []}
    assert set(ecr.listed) == {"team/a"}  # team/b and team/c were not listed
    handed = sorted(pop_messages(queue_url), key=lambda m: m["repository"])
    assert [m["repository"] for m in handed] == ["team/a", "team/b", "team/c"]  # a: its continuation
    assert handed[1] == json.loads(bodies[1])  # as they came, continuation included
    assert handed[2] == json.loads(bodies[2])
    assert [r.getMessage() for r in caplog.records].count("work_handed_over") == 1


def test_an_exhausted_quota_ends_the_batch_without_listing_the_rest(
    ecr: Calls, queue_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ecr.quota_after = 2
    for name in ("team/a", "team/b"):
        repository(ecr, name, 4)
    result = images.handler(sqs_event([work_body("team/a"), work_body("team/b")]), FakeContext())
    assert result == {"batchItemFailures": []}
    assert ecr.calls["start_image_scan"] == 3  # two started, one refused, no further attempt
    assert set(ecr.listed) == {"team/a"}
    assert pop_messages(queue_url) == []  # nothing handed over: the next scheduled sweep resumes
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("scan_quota_exhausted") == 1
    assert messages.count("repository_skipped") == 1
