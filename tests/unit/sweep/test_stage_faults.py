"""Fault injection into the images stage (sweep.py, sweep/scanning.py): throttling left over after botocore's retries,
an expired DescribeImages token, a repository deleted mid-sweep, per-image refusals and the registry's quota, a
digest deleted and pushed again, and the pins of the sweep's stopping rules."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table
from ecr_fakes import NOW, FakeEcr, FakeImage, client_error, digest, fake_images

from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.sweep import registry, scanning
from ecr_scan_reporter.sweep.scanning import ScanOutcome
from ecr_scan_reporter.sweep.stage import (
    HANDED_OVER,
    QUOTA_EXHAUSTED,
    THROTTLED,
    Continuation,
    SweepOptions,
    SweepSummary,
    sweep_repository,
)

TABLE = "esr-ledger"
DAY = timedelta(days=1)
PER_IMAGE = "The scan quota per image has been exceeded. Wait and try again."


class FaultyEcr(FakeEcr):
    """FakeEcr that answers the ``n``-th call (1-based, counted per operation) of an operation with an error:
    ``faults[operation][n] = (code, message)``."""

    def __init__(self, images: list[FakeImage], faults: dict[str, dict[int, tuple[str, str]]], **kw: Any) -> None:
        super().__init__(images, resumable=True, **kw)
        self.faults = faults
        self.seen: Counter[str] = Counter()

    def _fault(self, operation: str, api: str) -> None:
        self.seen[operation] += 1
        fault = self.faults.get(operation, {}).get(self.seen[operation])
        if fault is not None:
            self.calls[operation] += 1
            raise client_error(fault[0], api, fault[1])

    def describe_images(self, repositoryName: str, maxResults: int, nextToken: str | None = None, **kw: Any) -> Any:
        self._fault("describe_images", "DescribeImages")
        return super().describe_images(repositoryName, maxResults, nextToken, **kw)

    def describe_image_scan_findings(self, repositoryName: str, imageId: dict[str, str], **kw: Any) -> Any:
        self._fault("describe_image_scan_findings", "DescribeImageScanFindings")
        return super().describe_image_scan_findings(repositoryName, imageId, **kw)

    def start_image_scan(self, repositoryName: str, imageId: dict[str, str], **kw: Any) -> Any:
        self._fault("start_image_scan", "StartImageScan")
        return super().start_image_scan(repositoryName, imageId, **kw)


THROTTLE = ("ThrottlingException", "Rate exceeded")


def plenty() -> float:  # a remaining-time source that never runs low
    return 600.0


def in_parts(ecr: FakeEcr, limit: int = 20, **kwargs: Any) -> list[SweepSummary]:
    """Sweep until no continuation is left (as the handler does: each part gets the last part's continuation)."""
    parts: list[SweepSummary] = []
    continuation = None
    for _ in range(limit):
        summary = sweep_repository(ecr, "app", now=NOW, continuation=continuation, remaining=plenty, **kwargs)
        parts.append(summary)
        if summary.continuation is None:
            return parts
        continuation = summary.continuation
    raise AssertionError("the sweep never finished")


def balanced(summary: SweepSummary) -> bool:
    counts = summary.counts()
    return counts["considered"] == sum(v for k, v in counts.items() if k != "considered")


@pytest.fixture
def pages_of_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "PAGE_SIZE", 3)


# --- throttling left over after botocore's retries --------------------------------------------------------------


@pytest.mark.usefixtures("pages_of_3")
@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("describe_images", 2),  # the second page, after the first page's three images were handled
        ("describe_image_scan_findings", 5),  # mid-page: the lookup of the fifth image
        ("start_image_scan", 5),  # mid-page: the fifth image's scan
        ("start_image_scan", 8),  # the last image
    ],
)
def test_throttling_mid_sweep_hands_over_without_skipping_or_repeating_an_image(operation: str, call: int) -> None:
    ecr = FaultyEcr(fake_images(8), {operation: {call: THROTTLE}}, remember_scans=False)  # a repeat would show
    parts = in_parts(ecr)
    first, last = parts[0], parts[-1]
    assert first.stopped == THROTTLED
    assert first.continuation is not None
    assert Counter(ecr.started) == Counter(digest(i) for i in range(8))  # none skipped, none twice
    assert (last.considered, last.scan_started, last.part) == (8, 8, 2)
    assert balanced(first)
    assert balanced(last)


def test_throttling_logs_what_was_throttled(pages_of_3: None, caplog: pytest.LogCaptureFixture) -> None:
    ecr = FaultyEcr(fake_images(5), {"start_image_scan": {2: THROTTLE}})
    summary = sweep_repository(ecr, "app", now=NOW, remaining=plenty)
    assert (summary.stopped, summary.scan_started) == (THROTTLED, 1)
    [line] = [r for r in caplog.records if r.getMessage() == "sweep_throttled"]
    assert (line.levelno, line.operation, line.error_code) == (logging.WARNING, "StartImageScan", "ThrottlingException")


@pytest.mark.parametrize("operation", ["describe_images", "start_image_scan"])
def test_throttled_before_any_image_was_handled_the_error_propagates(operation: str) -> None:
    """Nothing to hand over: the handler fails the record and SQS delivers it again later."""
    ecr = FaultyEcr(fake_images(3), {operation: {1: THROTTLE}})
    with pytest.raises(ClientError, match="ThrottlingException"):
        sweep_repository(ecr, "app", now=NOW, remaining=plenty)


def test_without_continuations_throttling_mid_sweep_propagates() -> None:
    """A caller that hands no continuation on (the CLI: no ``remaining``) must not take a part for the sweep."""
    ecr = FaultyEcr(fake_images(3), {"start_image_scan": {2: THROTTLE}})
    with pytest.raises(ClientError, match="ThrottlingException"):
        sweep_repository(ecr, "app", now=NOW)


def test_other_errors_mid_sweep_still_propagate() -> None:
    ecr = FaultyEcr(fake_images(3), {"start_image_scan": {2: ("AccessDeniedException", "no")}})
    with pytest.raises(ClientError, match="AccessDenied"):
        sweep_repository(ecr, "app", now=NOW)


# --- an expired or invalid DescribeImages token in a continuation -----------------------------------------------

EXPIRED = ("InvalidParameterException", "Invalid parameter at 'nextToken' failed to satisfy constraint")


def test_a_refused_continuation_token_restarts_the_listing_without_losing_or_rescanning(
    pages_of_3: None, caplog: pytest.LogCaptureFixture
) -> None:
    ecr = FaultyEcr(fake_images(8), {})
    first = sweep_repository(ecr, "app", now=NOW, remaining=lambda: 1.0, reserve_seconds=20)  # one image, then 3
    second = sweep_repository(
        ecr, "app", now=NOW, continuation=first.continuation, remaining=iter([600.0] * 3 + [1.0] * 9).__next__,
        reserve_seconds=20,
    )  # fmt: skip
    assert second.continuation is not None
    assert second.continuation.next_token == "token-3"
    ecr.faults["describe_images"] = {ecr.seen["describe_images"] + 1: EXPIRED}  # the token expired in the queue
    third = sweep_repository(ecr, "app", now=NOW, continuation=second.continuation)
    assert Counter(ecr.started) == Counter(digest(i) for i in range(8))  # none lost, none twice
    assert (third.part, third.continuation, third.considered) == (1, None, 8)  # a fresh sweep of the repository
    assert (third.in_progress, third.scan_started) == (5, 3)  # what the earlier parts started is in progress
    assert balanced(third)
    [line] = [r for r in caplog.records if r.getMessage() == "continuation_restarted"]
    assert (line.levelno, line.error_code, line.part) == (logging.WARNING, "InvalidParameterException", 3)


def test_invalid_parameter_on_a_fresh_listing_is_not_taken_for_an_expired_token() -> None:
    ecr = FaultyEcr(fake_images(3), {"describe_images": {1: EXPIRED}})
    with pytest.raises(ClientError, match="InvalidParameterException"):
        sweep_repository(ecr, "app", now=NOW)
    assert ecr.calls["describe_images"] == 1  # no restart loop


# --- a repository deleted mid-sweep ------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["describe_images", "start_image_scan"])
def test_a_repository_deleted_mid_sweep_raises_the_typed_error(pages_of_3: None, operation: str) -> None:
    ecr = FaultyEcr(fake_images(6), {operation: {2: ("RepositoryNotFoundException", "gone")}})
    with pytest.raises(registry.RepositoryNotFound):
        sweep_repository(ecr, "app", now=NOW)


# --- per-image refusals and the registry's daily quota ----------------------------------------------------------


def test_a_repository_of_unsupported_and_per_image_refused_images_does_not_spend_the_registry_quota() -> None:
    images = fake_images(60)
    errors = {i.digest: "UnsupportedImageTypeException" for i in images[:30]}
    errors |= {i.digest: "LimitExceededException" for i in images[30:]}  # ecr_fakes: the per-image message
    quota = scanning.ScanQuota()
    refused = sweep_repository(FakeEcr(images, start_errors=errors), "app", now=NOW, quota=quota)
    assert (refused.not_scannable, refused.limit_exceeded, refused.stopped, quota.exhausted) == (30, 30, None, False)
    following = FakeEcr(fake_images(3, start=100), repository="app")
    assert sweep_repository(following, "app", now=NOW, quota=quota).scan_started == 3  # the sweep goes on


@pytest.mark.parametrize(
    "message",
    [
        PER_IMAGE,
        "Only one scan per image per 24 hours is allowed",
        "An image can be scanned once every 24 hours",
        "This image was already scanned in the last 24 hours",
        "Each image can be scanned once daily",
        "The per-image scan quota has been exceeded (24 hours)",
    ],
)
def test_a_per_image_refusal_that_mentions_24_hours_is_not_the_registry_quota(message: str) -> None:
    assert scanning.refusal_kind(message) != scanning.REGISTRY
    assert scanning.refusal_kind(message) == scanning.PER_IMAGE
    quota = scanning.ScanQuota()
    assert not any(quota.observe(ScanOutcome.LIMIT_EXCEEDED, message) for _ in range(3 * scanning.QUOTA_STREAK))


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Daily scan quota of the registry reached", scanning.REGISTRY),
        ("Account limit of 100,000 basic scans per 24 hours reached", scanning.REGISTRY),
        ("Scan limit exceeded for the last 24 hours", scanning.UNCLEAR),
        ("Daily limit exceeded", scanning.UNCLEAR),
        ("", scanning.UNCLEAR),
        (None, scanning.UNCLEAR),
        ("Only one scan per image per 24 hours in this registry", scanning.UNCLEAR),  # both: the streak decides
    ],
)
def test_which_refusals_are_whose(message: str | None, kind: str) -> None:
    assert scanning.refusal_kind(message) == kind


def test_a_registry_quota_message_stops_the_sweep_at_once() -> None:
    ecr = FakeEcr(fake_images(5))
    ecr.start_errors = {digest(1): "LimitExceededException"}
    real = ecr.start_image_scan

    def start_image_scan(**kw: Any) -> Any:
        if kw["imageId"]["imageDigest"] == digest(1):
            raise client_error("LimitExceededException", "StartImageScan", "The registry's daily quota is spent")
        return real(**kw)

    ecr.start_image_scan = start_image_scan  # type: ignore[method-assign]
    summary = sweep_repository(ecr, "app", now=NOW, quota=scanning.ScanQuota())
    assert (summary.scan_started, summary.quota_exhausted, summary.stopped) == (1, 1, QUOTA_EXHAUSTED)


def test_a_started_scan_resets_the_streak_of_unclear_refusals() -> None:
    quota = scanning.ScanQuota()
    for _ in range(scanning.QUOTA_STREAK - 1):
        assert not quota.observe(ScanOutcome.LIMIT_EXCEEDED, "Rate exceeded")
    assert not quota.observe(ScanOutcome.STARTED)
    assert quota.streak == 0
    for _ in range(scanning.QUOTA_STREAK - 1):
        assert not quota.observe(ScanOutcome.LIMIT_EXCEEDED, "Rate exceeded")
    assert not quota.exhausted
    assert quota.observe(ScanOutcome.LIMIT_EXCEEDED)  # the 20th unclear one in a row
    assert quota.exhausted


def test_outcomes_that_say_nothing_of_the_quota_neither_add_to_the_streak_nor_end_it() -> None:
    quota = scanning.ScanQuota()
    for _ in range(scanning.QUOTA_STREAK - 1):
        quota.observe(ScanOutcome.LIMIT_EXCEEDED)
    for outcome in (ScanOutcome.UNSUPPORTED, ScanOutcome.NOT_FOUND, ScanOutcome.ARCHIVED):
        assert not quota.observe(outcome)
    assert not quota.observe(ScanOutcome.LIMIT_EXCEEDED, PER_IMAGE)
    assert quota.streak == scanning.QUOTA_STREAK - 1
    assert quota.observe(ScanOutcome.LIMIT_EXCEEDED, "")


# --- the scan ledger --------------------------------------------------------------------------------------------


@pytest.fixture
def ddb(moto: None) -> Iterator[Any]:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client, TABLE)
    return client


def part_ledger(ddb: Any, now: Any = NOW, **kw: Any) -> ledger.RepositoryLedger:
    return ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, now, ledger.expires_at(now, 7), **kw)


def marker(ddb: Any) -> dict[str, Any] | None:
    key = {"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": f"{ACCOUNT}#app"}}
    return ddb.get_item(TableName=TABLE, Key=key).get("Item")


def test_an_image_deleted_and_pushed_again_is_not_taken_for_fresh_by_its_old_record(ddb: Any) -> None:
    """The ledger recorded a scan of the digest's earlier push two days ago; ECR has no scan of the new push."""
    ledger.record_scan_state(ddb, TABLE, ACCOUNT, "app", digest(1), (), "COMPLETE", NOW - 2 * DAY, NOW - 2 * DAY, 9)
    ledger.record_scan_state(ddb, TABLE, ACCOUNT, "app", digest(2), (), "COMPLETE", NOW - 2 * DAY, NOW - 2 * DAY, 9)
    images = [
        FakeImage(digest(1), pushed_at=NOW - DAY),  # pushed again after the recorded scan: never scanned
        FakeImage(digest(2), pushed_at=NOW - 3 * DAY),  # the push the record is of
    ]
    ecr = FakeEcr(images)
    summary = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb))
    assert ecr.started == [digest(1)]
    assert (summary.looked_up, summary.ledger_known, summary.fresh) == (1, 1, 1)
    record = ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(1))
    assert record is not None
    assert (record.scan_status, record.scan_started_at) == ("IN_PROGRESS", NOW)
    again = FakeEcr(images)  # the next sweep trusts the new record (started after the push)
    assert sweep_repository(again, "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb)).in_progress == 1
    assert again.calls["describe_image_scan_findings"] == 0


def test_a_record_of_a_scan_on_push_after_the_push_is_trusted(ddb: Any) -> None:
    pushed = NOW - DAY
    ledger.record_scan_state(
        ddb, TABLE, ACCOUNT, "app", digest(1), (), "COMPLETE", pushed + timedelta(minutes=1), NOW, 9
    )
    ecr = FakeEcr([FakeImage(digest(1), pushed_at=pushed)])
    summary = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb))
    assert (summary.fresh, summary.looked_up, ecr.started) == (1, 0, [])


def test_the_marker_does_not_move_after_a_sweep_stopped_by_the_quota(ddb: Any) -> None:
    images = fake_images(3)
    ecr = FakeEcr(images)
    real = ecr.start_image_scan

    def start_image_scan(**kw: Any) -> Any:
        if kw["imageId"]["imageDigest"] == digest(2):  # the last image: the sweep went through every other one
            raise client_error("LimitExceededException", "StartImageScan", "Registry quota of 100,000 reached")
        return real(**kw)

    ecr.start_image_scan = start_image_scan  # type: ignore[method-assign]
    summary = sweep_repository(
        ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb), quota=scanning.ScanQuota()
    )
    assert (summary.stopped, summary.continuation, summary.scan_started) == (QUOTA_EXHAUSTED, None, 2)
    assert marker(ddb) is None


@pytest.mark.parametrize(
    ("code", "message", "counter", "recorded"),
    [
        ("LimitExceededException", PER_IMAGE, "limit_exceeded", None),
        ("UnsupportedImageTypeException", "unsupported", "not_scannable", "NOT_SCANNABLE"),  # an artifact (issue 26)
        ("LimitExceededException", "The registry's daily quota of 100,000 scans is spent", "quota_exhausted", None),
    ],
)
def test_an_image_whose_scan_ecr_refused_is_not_recorded_as_started(
    ddb: Any, code: str, message: str, counter: str, recorded: str | None
) -> None:
    ecr = FakeEcr(fake_images(2))
    real = ecr.start_image_scan

    def start_image_scan(**kw: Any) -> Any:
        if kw["imageId"]["imageDigest"] == digest(0):
            raise client_error(code, "StartImageScan", message)
        return real(**kw)

    ecr.start_image_scan = start_image_scan  # type: ignore[method-assign]
    summary = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb))
    assert getattr(summary, counter) == 1
    record = ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(0))
    assert (record.scan_status if record else None) == recorded  # never IN_PROGRESS
    started = ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(1))
    assert started is not None
    assert started.scan_status == "IN_PROGRESS"


def test_a_throttled_part_moves_no_marker(ddb: Any, pages_of_3: None) -> None:
    ecr = FaultyEcr(fake_images(4), {"start_image_scan": {4: THROTTLE}})
    summary = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb), remaining=plenty)
    assert summary.stopped == THROTTLED
    assert marker(ddb) is None


# --- the time budget while listing (newest first) ---------------------------------------------------------------


def clock(reads_with_time: int) -> Callable[[], float]:
    answers = iter([600.0] * reads_with_time)
    return lambda: next(answers, 1.0)


def test_a_later_part_that_runs_out_of_time_while_listing_keeps_its_continuation(pages_of_3: None) -> None:
    images = fake_images(12)
    for i, image in enumerate(images):
        image.pushed_at = NOW - DAY - i * timedelta(minutes=1)  # digest(0) newest
    after = (images[3].pushed_at.timestamp(), digest(3))
    came_with = Continuation("newest", part=3, counts={"considered": 12, "scan_started": 4}, after_key=after)
    ecr = FakeEcr(images)
    summary = sweep_repository(
        ecr, "app", now=NOW, options=SweepOptions(max_images=8), continuation=came_with, remaining=clock(1),
        reserve_seconds=20, must_progress=False,
    )  # fmt: skip
    assert summary.stopped == HANDED_OVER
    assert summary.continuation == came_with  # handed over as it came: part 3, same position and counts
    assert (summary.part, summary.considered, summary.scan_started) == (3, 12, 4)
    assert ecr.started == []


def test_the_listing_deadline_is_not_asked_after_the_last_page(pages_of_3: None) -> None:
    ecr = FakeEcr(fake_images(6))  # two pages
    summary = sweep_repository(
        ecr, "app", now=NOW, options=SweepOptions(max_images=6), remaining=clock(1), reserve_seconds=20,
        must_progress=False,
    )  # fmt: skip
    # In time after the first page; the second is the last, so the listing is complete whatever the time.
    assert summary.stopped is None
    assert ecr.calls["describe_images"] == 2
    assert len(ecr.started) == 1  # the first image is handled, then the budget hands the rest over
    assert summary.continuation is not None
