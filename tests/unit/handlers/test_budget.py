"""The daily scan budget through both handlers (moto): the repositories function plans the day from the sweep
markers and stores allowances, the images function spends them by priority and stores its census; the staleness
figures leave as EMF metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from conftest import REGION
from core.test_ledger import create_table
from ecr_fakes import FakeContext, client_error, sqs_event
from emf import validate

from ecr_scan_reporter.core import aws, ledger
from ecr_scan_reporter.handlers import images, load_settings, repositories
from ecr_scan_reporter.sweep import budget
from handlers.test_images import CountingEcr, pop_messages, repository

TABLE = "esr-ledger"
REAL_CLIENT = aws.client


class PulledEcr(CountingEcr):
    """moto's ECR, with ``lastRecordedPullTime`` (which moto never sets) for the digests in ``pulled``."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.pulled: set[str] = set()
        self.described = 0  # DescribeImages calls

    def describe_images(self, **kwargs: Any) -> Any:
        self.described += 1
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
    real = REAL_CLIENT
    monkeypatch.setattr(aws, "client", lambda service, **kw: wrapper if service == "ecr" else real(service, **kw))
    load_settings.cache_clear()
    yield wrapper
    load_settings.cache_clear()


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


def test_in_use_images_are_scanned_first_registry_wide(quota_ecr: QuotaEcr, capsys: pytest.CaptureFixture[str]) -> None:
    url = _queue()
    first = repository(quota_ecr, "team/a", 4)  # swept first, nobody pulls its images
    last = repository(quota_ecr, "team/z", 4, first=10)
    quota_ecr.pulled = {last[1], last[2]}  # in use: in the repository swept last

    # No census yet: the budget (3) is split evenly, one scan each; the in-use classes first, registry-wide, so
    # team/z's one is an in-use image although it is listed after an idle one.
    schedule()
    drain(url)
    assert sum(quota_ecr.started.values()) == 2
    assert len(set(quota_ecr.started) & quota_ecr.pulled) == 1
    assert len(set(quota_ecr.started) & set(first)) == 1
    capsys.readouterr()

    # The second sweep of the day plans what is left (1) from the censuses: the other in-use image (class 1).
    schedule()
    drain(url)
    assert set(quota_ecr.started) >= quota_ecr.pulled
    assert sum(quota_ecr.started.values()) == 3

    metrics = emf_lines(capsys.readouterr().out)
    assert metrics["ScanBudget"] == 3
    assert metrics["ScansPlanned"] == 1  # what the first sweep left of the day's budget
    assert metrics["ImagesInUse"] == 2  # as the first sweep's censuses counted them
    assert metrics["ImagesNeverScanned"] == 6  # 8 images, 2 scanned by the first sweep
    assert metrics["ScansNeededPerDay"] == 2  # 8 images rescanned every 5.625 days (7 days, levelled)

    # The plan: every repository's allowance in the plan's chunks, the state naming the plan; the markers: a
    # census and the spend under the plan each repository's allowance came from.
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    markers = {m.key: m for m in ledger.sweep_markers(dynamodb, TABLE)}
    today = budget.day_of(datetime.now(UTC))
    state = budget.State.from_json(markers[ledger.BUDGET_STATE].state or "")
    assert (state.day, state.effective) == (today, 3)
    allowances: dict[str, budget.Allowance] = {}
    for plan, text in ledger.plan_chunks(dynamodb, TABLE):
        if plan == state.plan and text:
            allowances.update(budget.unchunked(text))
    keys = ("123456789012#team/a", "123456789012#team/z")
    assert set(allowances) == set(keys)
    for key in keys:
        assert budget.Census.from_json(markers[key].census or "").images == 4
        spend = budget.Spend.from_json(markers[key].spend or "")
        assert spend.plan == allowances[key].plan
        assert spend.done

    # The registry's staleness for the exposure report, on the budget state item.
    item = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": ledger.BUDGET_STATE}}
    )["Item"]
    stored = json.loads(item[ledger.STALENESS]["S"])
    assert (stored["budget"], stored["in_use"], stored["never_scanned"], stored["needed_per_day"]) == (3, 2, 6, 2)
    assert stored["headroom"].startswith("at 8 images and 7 days expiry you need 2 scans a day")
    assert float(item["spent." + str(today)]["N"]) == 3  # the day's scans, counted as they start


# --- one budget a day, whatever the schedule and the deliveries (issue 26) -------------------------------------


class QuotaEcr(PulledEcr):
    """:class:`PulledEcr` whose registry has room for ``room`` more basic scans (None: no limit): past it, ECR
    refuses StartImageScan for the registry's quota (the message names the registry's 100,000 scans)."""

    def __init__(self, real: Any) -> None:
        super().__init__(real)
        self.room: int | None = None
        self.refused: list[str] = []

    def start_image_scan(self, repositoryName: str, imageId: dict[str, str], **kwargs: Any) -> Any:
        if self.room is not None and self.room <= 0:
            self.refused.append(imageId["imageDigest"])
            raise client_error(
                "LimitExceededException",
                "StartImageScan",
                "The basic scan quota of the registry (100,000 per 24 hours) has been exceeded",
            )
        if self.room is not None:
            self.room -= 1
        return super().start_image_scan(repositoryName=repositoryName, imageId=imageId, **kwargs)


@pytest.fixture
def quota_ecr(ecr: PulledEcr, monkeypatch: pytest.MonkeyPatch) -> QuotaEcr:
    """moto's ECR with pulls and a registry quota; follow-up work (the second phase of a budgeted sweep,
    sweep/budget.py) waits no time in the queue."""
    wrapper = QuotaEcr(ecr.real)
    wrapper.pulled = ecr.pulled
    sqs = aws.client("sqs")
    monkeypatch.setattr(
        aws,
        "client",
        lambda service, **kw: wrapper if service == "ecr" else sqs if service == "sqs" else REAL_CLIENT(service, **kw),
    )
    monkeypatch.setattr(images, "FOLLOW_UP_DELAY_SECONDS", 0, raising=False)
    monkeypatch.setattr(images, "GATE_WAIT_SECONDS", 0, raising=False)
    return wrapper


def _queue() -> str:
    return str(aws.client("sqs").get_queue_url(QueueName="work")["QueueUrl"])


def schedule() -> dict[str, Any]:
    """The repositories function as the schedule (or Lambda's retry of an asynchronous invocation) runs it."""
    return repositories.handler({"detail-type": "Scheduled Event"}, FakeContext())


def drain(url: str) -> int:
    """The images function over every message of the work queue, follow-ups included, until it is empty."""
    batches = 0
    while bodies := [json.dumps(m) for m in pop_messages(url)]:
        assert images.handler(sqs_event(bodies), FakeContext()) == {"batchItemFailures": []}
        batches += 1
        assert batches < 50, "the work queue never drains"
    return batches


def _budget(monkeypatch: pytest.MonkeyPatch, value: int) -> None:
    monkeypatch.setenv("DAILY_SCAN_BUDGET", str(value))
    load_settings.cache_clear()


def test_the_sweeps_of_one_day_spend_one_budget_between_them(quota_ecr: QuotaEcr) -> None:
    """``rate(12 hours)`` or any schedule: three sweeps in a UTC day start at most the day's budget (3) in all;
    each plans from what the day's earlier sweeps left."""
    repository(quota_ecr, "team/a", 6)
    repository(quota_ecr, "team/z", 6, first=10)
    url = _queue()
    spent = []
    for _ in range(3):
        schedule()
        drain(url)
        spent.append(sum(quota_ecr.started.values()))
    assert spent[-1] == 3, spent  # the whole budget, once: no sweep of the day spends a budget of its own
    assert spent[0] == 2  # the first: no census yet, an even share each (3 // 2); the second spends what is left


def test_a_work_message_delivered_twice_spends_its_allowance_once(quota_ecr: QuotaEcr) -> None:
    """SQS delivers at least once: the same work message twice starts the repository's allowance once."""
    repository(quota_ecr, "team/a", 10)
    url = _queue()
    schedule()
    bodies = [json.dumps(m) for m in pop_messages(url)]
    assert len(bodies) == 1
    for _ in range(2):
        assert images.handler(sqs_event(bodies), FakeContext()) == {"batchItemFailures": []}
    drain(url)
    assert sum(quota_ecr.started.values()) == 3
    assert max(quota_ecr.started.values()) == 1  # no image started twice either


def test_a_retried_repositories_invocation_spends_one_budget(quota_ecr: QuotaEcr) -> None:
    """Lambda retries an asynchronous invocation that failed after sending its work: the retry plans again and
    sends every message again; the day still starts at most one budget."""
    repository(quota_ecr, "team/a", 6)
    repository(quota_ecr, "team/z", 6, first=10)
    url = _queue()
    schedule()
    schedule()  # the retry, before the images function ran
    drain(url)
    assert sum(quota_ecr.started.values()) <= 3


def _seed_census(key: str, tally: budget.Tally, images_n: int, day: int) -> None:
    census = json.dumps({"day": day, **tally.to_json(), "images": images_n, "pushed_1d": 0})
    ledger.write_sweep_marker(boto3.client("dynamodb", region_name=REGION), TABLE, key, census=census)


@pytest.mark.parametrize("room", [2, 4])
def test_a_refusal_mid_sweep_leaves_no_due_in_use_image_for_a_lower_class(
    quota_ecr: QuotaEcr, monkeypatch: pytest.MonkeyPatch, room: int
) -> None:
    """ECR refuses the registry's quota after ``room`` scans (other consumers used the rest): what got through is
    the plan's most important part, registry-wide, not a listing-order prefix. team/a, listed first, has six
    never-scanned images nobody pulls (class 3); team/z, listed last, three pulled ones (class 1)."""
    _budget(monkeypatch, 9)
    idle = repository(quota_ecr, "team/a", 6)
    used = repository(quota_ecr, "team/z", 3, first=10)
    quota_ecr.pulled = set(used)
    today = budget.day_of(datetime.now(UTC))
    for key, n, in_use in (("123456789012#team/a", 6, False), ("123456789012#team/z", 3, True)):
        tally = budget.Tally()
        for _ in range(n):
            tally.add(used=in_use, never=True, due_day=today, age_days=None)
        _seed_census(key, tally, n, today - 1)
    quota_ecr.room = room
    url = _queue()
    schedule()
    drain(url)
    scanned_used = set(quota_ecr.started) & set(used)
    scanned_idle = set(quota_ecr.started) & set(idle)
    assert quota_ecr.refused, "ECR refused the registry's quota"
    assert len(scanned_used) == min(room, len(used))  # every in-use image the room allows
    if scanned_idle:  # a lower class only once no due in-use image is left
        assert scanned_used == set(used)
    assert len(scanned_idle) == max(0, room - len(used))


def _seed_yesterday(effective: int, spent: int, refused: int) -> int:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    today = budget.day_of(datetime.now(UTC))
    ledger.write_sweep_marker(dynamodb, TABLE, ledger.BUDGET_STATE, state=budget.State(today - 1, effective).to_json())
    ledger.write_sweep_marker(
        dynamodb,
        TABLE,
        "123456789012#team/a",
        spend=json.dumps({"day": today - 1, "spent": spent, "refused": refused}),
    )
    return today


def test_a_refusal_yesterday_does_not_crush_todays_budget(
    quota_ecr: QuotaEcr, capsys: pytest.CaptureFixture[str]
) -> None:
    """Yesterday ECR refused after one scan (a one-off push burst used the quota): today's budget is the
    configured one, not what got through yesterday growing back by a quarter a day. The figures of the day
    before stay yesterday's."""
    _seed_yesterday(3, 1, 4)
    repository(quota_ecr, "team/a", 5)
    schedule()
    metrics = emf_lines(capsys.readouterr().out)
    assert metrics["ScanBudget"] == 3
    assert (metrics["ScansSpent"], metrics["ScansRefusedByQuota"]) == (1, 1)  # the day before's
    drain(_queue())
    assert sum(quota_ecr.started.values()) == 3


def test_a_raised_budget_applies_from_the_next_utc_day(
    quota_ecr: QuotaEcr, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """daily_scan_budget raised from 1 to 3: the next UTC day plans 3 at once (docs/budget.md), not 1 growing by a
    quarter of 3 a day; the same day it was changed keeps the day's budget."""
    today = _seed_yesterday(1, 1, 0)
    repository(quota_ecr, "team/a", 5)
    schedule()
    assert emf_lines(capsys.readouterr().out)["ScanBudget"] == 3
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    ledger.write_sweep_marker(dynamodb, TABLE, ledger.BUDGET_STATE, state=budget.State(today, 1).to_json())
    _budget(monkeypatch, 5)
    schedule()  # planned already today with 1: kept until the next UTC day
    assert emf_lines(capsys.readouterr().out)["ScanBudget"] == 1


def test_a_second_phase_waits_for_every_in_use_phase_of_the_day(
    quota_ecr: QuotaEcr, caplog: pytest.LogCaptureFixture
) -> None:
    """team/a's idle images wait, unlisted, until team/z (in use) is through its first phase."""
    caplog.set_level(logging.INFO)
    idle = repository(quota_ecr, "team/a", 2)
    used = repository(quota_ecr, "team/z", 2, first=10)
    quota_ecr.pulled = set(used)
    url = _queue()
    schedule()
    messages = {m["repository"]: json.dumps(m) for m in pop_messages(url)}
    assert images.handler(sqs_event([messages["team/a"]]), FakeContext()) == {"batchItemFailures": []}
    [follow_up] = [json.dumps(m) for m in pop_messages(url)]  # team/a's second phase
    listed = quota_ecr.described
    assert images.handler(sqs_event([follow_up]), FakeContext()) == {"batchItemFailures": []}
    assert quota_ecr.described == listed  # not listed while it waits
    assert not set(quota_ecr.started) & set(idle)
    assert [r.message for r in caplog.records if r.getMessage() == "budget_phase_waiting"]
    waiting = [json.dumps(m) for m in pop_messages(url)]
    assert len(waiting) == 1  # back in the queue
    assert images.handler(sqs_event([messages["team/z"], *waiting]), FakeContext()) == {"batchItemFailures": []}
    drain(url)
    assert set(quota_ecr.started) == {used[0], idle[0]}  # no census yet: a share of 1 each, in-use first


def test_a_repository_the_plan_does_not_know_is_listed_and_scans_nothing(
    quota_ecr: QuotaEcr, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    repository(quota_ecr, "team/a", 2)
    url = _queue()
    schedule()
    drain(url)
    started = sum(quota_ecr.started.values())
    repository(quota_ecr, "team/new", 3, first=20)  # created after the plan: a work message all the same
    body = json.dumps({"version": 1, "repository": "team/new", "registry_id": "123456789012", "continuation": None})
    assert images.handler(sqs_event([body]), FakeContext()) == {"batchItemFailures": []}
    assert sum(quota_ecr.started.values()) == started
    assert [r for r in caplog.records if r.getMessage() == "budget_allowance_missing"]
    markers = {m.key: m for m in ledger.sweep_markers(boto3.client("dynamodb", region_name=REGION), TABLE)}
    assert budget.Census.from_json(markers["123456789012#team/new"].census or "").images == 3


def test_the_second_phase_is_cut_to_the_room_the_days_pushes_left(
    quota_ecr: QuotaEcr, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Other consumers of the quota are measured, not guessed from the last refusal: the first phase counts the
    pushes of the last 24 hours (here every image: 9, each scanned on push), and the lower classes get what the
    quota has left after them and the in-use scans (a quota of 14 here: 14 - 9 pushed - 3 in use = 2)."""
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(budget, "REGISTRY_QUOTA", 14)
    monkeypatch.setattr(budget, "ROOM_MARGIN", 0)
    _budget(monkeypatch, 9)
    idle = repository(quota_ecr, "team/a", 6)
    used = repository(quota_ecr, "team/z", 3, first=10)
    quota_ecr.pulled = set(used)
    today = budget.day_of(datetime.now(UTC))
    for key, n, in_use in (("123456789012#team/a", 6, False), ("123456789012#team/z", 3, True)):
        tally = budget.Tally()
        for _ in range(n):
            tally.add(used=in_use, never=True, due_day=today, age_days=None)
        _seed_census(key, tally, n, today - 1)
    schedule()
    drain(_queue())
    assert set(quota_ecr.started) == set(used) | set(idle[:2])
    assert not quota_ecr.refused
    [room] = [r for r in caplog.records if r.getMessage() == "scan_budget_room"]
    assert room.room == 2


def test_a_continuation_of_another_plan_starts_the_phase_over_from_the_first_page(
    quota_ecr: QuotaEcr, caplog: pytest.LogCaptureFixture
) -> None:
    """A part handed over under another plan (yesterday's, or one a later plan replaced) resumes nothing of it: the
    repository's phase starts over from its first page, so its census sees every image."""
    caplog.set_level(logging.INFO)
    digests = repository(quota_ecr, "team/a", 4)
    url = _queue()
    schedule()
    pop_messages(url)
    carried = {
        "today": budget.day_of(datetime.now(UTC)),
        "spent": 0,
        "ties": {},
        "tally": {},
        "images": 2,
        "pushed_1d": 0,
        "refused": 0,
        "plan": "another",
        "phase": 1,
        "taken": {},
    }
    continuation = {
        "mode": "pages",
        "part": 2,
        "next_token": None,
        "after_digest": digests[1],
        "counts": {},
        "budget": carried,
    }
    body = json.dumps(
        {"version": 1, "repository": "team/a", "registry_id": "123456789012", "continuation": continuation}
    )
    assert images.handler(sqs_event([body]), FakeContext()) == {"batchItemFailures": []}
    [swept] = [r for r in caplog.records if r.getMessage() == "repository_swept"]
    assert (swept.considered, swept.part) == (4, 1)
    assert [r for r in caplog.records if r.getMessage() == "continuation_restarted"]
