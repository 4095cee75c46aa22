"""The daily scan budget through both handlers (moto): the repositories function plans the day from the sweep
markers and stores allowances, the images function spends them by priority and stores its census; the staleness
figures leave as EMF metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from conftest import REGION
from core.test_ledger import create_table
from ecr_fakes import FakeContext, sqs_event
from emf import validate

from ecr_scan_reporter.core import aws, ledger
from ecr_scan_reporter.handlers import images, load_settings, repositories
from ecr_scan_reporter.sweep import budget
from handlers.test_images import CountingEcr, pop_messages, repository

TABLE = "esr-ledger"


class PulledEcr(CountingEcr):
    """moto's ECR, with ``lastRecordedPullTime`` (which moto never sets) for the digests in ``pulled``."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.pulled: set[str] = set()

    def describe_images(self, **kwargs: Any) -> Any:
        response = self.real.describe_images(**kwargs)
        for detail in response.get("imageDetails", []):
            if detail["imageDigest"] in self.pulled:
                detail["lastRecordedPullTime"] = datetime.now(UTC)
        return response

    def get_paginator(self, name: str) -> Any:
        return self.real.get_paginator(name)


@pytest.fixture
def ecr(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[PulledEcr]:
    url = aws.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    monkeypatch.setenv("LEDGER_TABLE_NAME", TABLE)
    monkeypatch.setenv("DAILY_SCAN_BUDGET", "3")
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    wrapper = PulledEcr(aws.client("ecr"))
    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: wrapper if service == "ecr" else real(service, **kw))
    load_settings.cache_clear()
    yield wrapper
    load_settings.cache_clear()


def sweep(url: str) -> list[dict[str, Any]]:
    """One scheduled sweep: the repositories function, then the images function for every work message."""
    summary = repositories.handler({"detail-type": "Scheduled Event"}, FakeContext())
    bodies = [json.dumps(m) for m in pop_messages(url)]
    assert len(bodies) == summary["sent"]
    assert images.handler(sqs_event(bodies), FakeContext()) == {"batchItemFailures": []}
    return bodies


def emf_lines(out: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith('{"_aws"'):
            document = json.loads(line)
            validate(document)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    values[metric["Name"]] = document[metric["Name"]]
    return values


def test_in_use_images_are_scanned_first_registry_wide(ecr: PulledEcr, capsys: pytest.CaptureFixture[str]) -> None:
    url = aws.client("sqs").get_queue_url(QueueName="work")["QueueUrl"]
    first = repository(ecr, "team/a", 4)  # swept first, nobody pulls its images
    last = repository(ecr, "team/z", 4, first=10)
    ecr.pulled = {last[1], last[2]}  # in use: in the repository swept last

    sweep(url)  # no census yet: the budget (3) is split evenly, one scan each, in listing order
    assert sum(ecr.started.values()) == 2
    capsys.readouterr()

    ecr.started.clear()
    sweep(url)  # from the censuses: the in-use images (class 1) first, registry-wide, then the rest
    in_use_left = {last[1], last[2]} - {last[0]}
    started = set(ecr.started)
    assert in_use_left <= started
    assert len(started) == 3
    # The third scan: a never-scanned image not in use (class 3), from either repository (they tie: pushed the
    # same day; the odd one rotates by day).
    [other] = started - in_use_left
    assert other in set(first) | set(last)
    assert other not in ecr.pulled

    metrics = emf_lines(capsys.readouterr().out)
    assert metrics["ScanBudget"] == 3
    assert metrics["ImagesInUse"] == 2  # as the first sweep's censuses counted them
    assert metrics["ImagesNeverScanned"] == 6  # 8 images, 2 scanned by the first sweep
    assert metrics["ScansNeededPerDay"] == 2  # 8 images every 7 days

    # The markers: an allowance per repository for today, a census and the spend of the last sweep.
    markers = {m.key: m for m in ledger.sweep_markers(boto3.client("dynamodb", region_name=REGION), TABLE)}
    today = budget.day_of(datetime.now(UTC))
    assert budget.State.from_json(markers[ledger.BUDGET_STATE].state or "").effective == 3
    keys = ("123456789012#team/a", "123456789012#team/z")
    for key in keys:
        assert budget.Allowance.from_json(json.loads(markers[key].allowance or "")).day == today
        assert budget.Census.from_json(markers[key].census or "").images == 4
    assert sum(budget.Spend.from_json(markers[key].spend or "").spent for key in keys) == 3

    # The registry's staleness for the exposure report, on the budget state item.
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE, Key={"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": ledger.BUDGET_STATE}}
    )["Item"]
    stored = json.loads(item[ledger.STALENESS]["S"])
    assert (stored["budget"], stored["in_use"], stored["never_scanned"], stored["needed_per_day"]) == (3, 2, 6, 2)
    assert stored["headroom"].startswith("at 8 images and 7 days expiry you need 2 scans a day")


def test_a_refused_sweep_lowers_the_next_budget(ecr: PulledEcr, capsys: pytest.CaptureFixture[str]) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    today = budget.day_of(datetime.now(UTC))
    ledger.write_sweep_marker(dynamodb, TABLE, ledger.BUDGET_STATE, state=budget.State(today - 1, 3).to_json())
    ledger.write_sweep_marker(
        dynamodb, TABLE, "123456789012#team/a", spend=json.dumps({"day": today - 1, "spent": 1, "refused": 4})
    )
    repository(ecr, "team/a", 2)
    url = aws.client("sqs").get_queue_url(QueueName="work")["QueueUrl"]
    sweep(url)
    assert sum(ecr.started.values()) == 1  # what got through yesterday
    metrics = emf_lines(capsys.readouterr().out)
    assert metrics["ScansSpent"] == 1
    assert metrics["ScansRefusedByQuota"] == 1
    assert metrics["ScanBudget"] == 1
    state = next(m for m in ledger.sweep_markers(dynamodb, TABLE) if m.key == ledger.BUDGET_STATE)
    assert budget.State.from_json(state.state or "") == budget.State(today, 1)
