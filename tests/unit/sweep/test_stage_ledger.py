"""sweep/stage.py with the scan ledger (moto DynamoDB), the registry's scan quota, the time budget in newest-first mode
and resumption at page boundaries whatever ECR's tokens are."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table
from ecr_fakes import NOW, FakeEcr, FakeImage, digest, fake_images

from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.sweep import freshness, registry, scanning
from ecr_scan_reporter.sweep.stage import HANDED_OVER, QUOTA_EXHAUSTED, SweepOptions, sweep_repository

TABLE = "esr-ledger"
DAY = timedelta(days=1)


@pytest.fixture
def ddb(moto: None) -> Iterator[Any]:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client, TABLE)
    return client


def part_ledger(ddb: Any, now: Any = NOW) -> ledger.RepositoryLedger:
    return ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, now, ledger.expires_at(now, 7))


def mixed_images() -> list[FakeImage]:
    """Two never scanned, two fresh, one expired, one failed long ago."""
    return [
        *fake_images(2),
        *fake_images(2, start=2, scan_status="COMPLETE", scan_completed_at=NOW - DAY),
        FakeImage(digest(4), scan_status="COMPLETE", scan_completed_at=NOW - 10 * DAY),
        FakeImage(digest(5), scan_status="FAILED", scan_completed_at=NOW - 10 * DAY),
    ]


def test_an_empty_ledger_costs_one_lookup_per_image_and_the_next_sweep_none(ddb: Any) -> None:
    ecr = FakeEcr(mixed_images())
    first_part = part_ledger(ddb)
    first = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=first_part)
    assert ecr.calls["describe_image_scan_findings"] == 6
    assert sorted(ecr.started) == [digest(0), digest(1), digest(4), digest(5)]
    assert (first.looked_up, first.ledger_known, first.scan_started, first.fresh) == (6, 0, 4, 2)
    assert first_part.queries == 2  # the repository's records (one page) and its sweep marker

    ecr.calls.clear()
    ecr.started.clear()
    second_part = part_ledger(ddb, NOW + timedelta(minutes=5))
    second = sweep_repository(ecr, "app", now=NOW + timedelta(minutes=5), registry_id=ACCOUNT, ledger=second_part)
    assert ecr.calls["describe_image_scan_findings"] == 0  # the ledger knows every image
    assert ecr.started == []
    assert (second.looked_up, second.ledger_known, second.in_progress, second.fresh) == (0, 6, 4, 2)
    assert second_part.queries == 2
    assert second_part.writes == 1  # the sweep marker only


def test_the_ledger_gives_the_same_scan_set_as_ecr(ddb: Any) -> None:
    """Days later: what a sweep with a warm ledger starts is exactly what a sweep asking ECR starts."""
    images = mixed_images()
    sweep_repository(FakeEcr(images), "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb))
    for image in images:  # the scans completed (their events recorded them, as the findings stage does)
        if image.scan_status == "IN_PROGRESS":
            image.scan_status, image.scan_completed_at = "COMPLETE", NOW + timedelta(minutes=2)
            ledger.record_scan_state(
                ddb, TABLE, ACCOUNT, "app", image.digest, (), "COMPLETE", image.scan_completed_at, NOW, 9
            )
    later = NOW + 8 * DAY
    images[2].scan_completed_at = later - DAY  # rescanned on push meanwhile (its event recorded it too)
    ledger.record_scan_state(ddb, TABLE, ACCOUNT, "app", images[2].digest, (), "COMPLETE", later - DAY, later, 9)
    without, with_ledger = FakeEcr([*images]), FakeEcr([*images])
    sweep_repository(without, "app", now=later, registry_id=ACCOUNT)
    summary = sweep_repository(with_ledger, "app", now=later, registry_id=ACCOUNT, ledger=part_ledger(ddb, later))
    assert sorted(with_ledger.started) == sorted(without.started) == [digest(i) for i in (0, 1, 3, 4, 5)]
    assert with_ledger.calls["describe_image_scan_findings"] == 0
    assert summary.ledger_known == 6


def test_a_scan_recorded_in_progress_too_long_is_looked_up_again(ddb: Any) -> None:
    images = fake_images(2, scan_status="COMPLETE", scan_completed_at=NOW - DAY)
    started = NOW - freshness.IN_PROGRESS_RECHECK_AFTER
    for image in images:
        ledger.record_scan_started(ddb, TABLE, ACCOUNT, "app", image.digest, (), started, 9)
    ecr = FakeEcr(images)
    at_bound = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb))
    assert (at_bound.in_progress, ecr.calls["describe_image_scan_findings"]) == (2, 0)  # exactly the bound: trusted

    later = NOW + timedelta(seconds=1)
    beyond = sweep_repository(ecr, "app", now=later, registry_id=ACCOUNT, ledger=part_ledger(ddb, later))
    assert (beyond.looked_up, beyond.fresh, ecr.started) == (2, 2, [])
    record = ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(0))
    assert record is not None
    assert (record.scan_status, record.scan_completed_at) == ("COMPLETE", NOW - DAY)  # learned, no longer stuck


def test_after_a_complete_sweep_an_unrecorded_image_pushed_later_needs_no_lookup(ddb: Any) -> None:
    known = fake_images(2, scan_status="COMPLETE", scan_completed_at=NOW - DAY)
    sweep_repository(FakeEcr(known), "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb))
    later = NOW + 2 * DAY
    images = [
        *known,
        FakeImage(digest(7), pushed_at=NOW + DAY),  # pushed after the sweep: never scanned
        FakeImage(digest(8), pushed_at=NOW - DAY),  # older, but unknown to the ledger: ask ECR
        FakeImage(digest(9), pushed_at=NOW - DAY, scan_status="COMPLETE", scan_completed_at=NOW - DAY),
    ]
    ecr = FakeEcr(images)
    summary = sweep_repository(ecr, "app", now=later, registry_id=ACCOUNT, ledger=part_ledger(ddb, later))
    assert ecr.calls["describe_image_scan_findings"] == 2  # digest(8) and digest(9) only
    assert sorted(ecr.started) == [digest(7), digest(8)]
    assert (summary.ledger_known, summary.looked_up) == (3, 2)


def test_an_unfinished_sweep_moves_no_marker(ddb: Any) -> None:
    records = part_ledger(ddb)
    summary = sweep_repository(
        FakeEcr(fake_images(3)), "app", now=NOW, registry_id=ACCOUNT, ledger=records, remaining=lambda: 1.0,
        reserve_seconds=20,
    )  # fmt: skip
    assert summary.continuation is not None
    marker = ddb.get_item(TableName=TABLE, Key={"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": f"{ACCOUNT}#app"}})
    assert "Item" not in marker


def test_a_fresh_digest_unknown_to_the_ledger_is_looked_up_and_recorded(ddb: Any) -> None:
    ecr = FakeEcr(fake_images(1, scan_status="COMPLETE", scan_completed_at=NOW - DAY))
    summary = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=part_ledger(ddb))
    assert (summary.looked_up, summary.fresh) == (1, 1)
    assert [e.digest for e in ledger.query_scan_entries(ddb, TABLE, ACCOUNT, "app")] == [digest(0)]


def test_without_a_registry_id_the_images_own_is_used(ddb: Any) -> None:
    ecr = FakeEcr(fake_images(2))
    records = ledger.RepositoryLedger(ddb, TABLE, "app", None, NOW, 9)
    sweep_repository(ecr, "app", now=NOW, ledger=records)
    assert {e.digest for e in ledger.query_scan_entries(ddb, TABLE, ACCOUNT, "app")} == {digest(0), digest(1)}


# --- the registry's daily scan quota ----------------------------------------------------------------------------


class QuotaEcr(FakeEcr):
    """ECR whose registry quota is spent after ``allowed`` scans."""

    def __init__(self, images: list[FakeImage], allowed: int, message: str) -> None:
        super().__init__(images)
        self.allowed, self.message = allowed, message

    def start_image_scan(self, repositoryName: str, imageId: dict[str, str], **kw: Any) -> Any:
        if len(self.started) >= self.allowed:
            self.calls["start_image_scan"] += 1
            from ecr_fakes import client_error

            raise client_error("LimitExceededException", "StartImageScan", self.message)
        return super().start_image_scan(repositoryName=repositoryName, imageId=imageId, **kw)


def test_an_exhausted_registry_quota_stops_the_sweep_after_one_refusal(caplog: pytest.LogCaptureFixture) -> None:
    ecr = QuotaEcr(fake_images(10), allowed=3, message="Scan limit for the registry has been exceeded for 24 hours")
    quota = scanning.ScanQuota()
    summary = sweep_repository(ecr, "app", now=NOW, quota=quota)
    assert ecr.calls["start_image_scan"] == 4  # 3 started, 1 refused, then no more attempts
    assert (summary.scan_started, summary.quota_exhausted, summary.stopped) == (3, 1, QUOTA_EXHAUSTED)
    assert summary.continuation is None
    assert quota.exhausted
    other = sweep_repository(QuotaEcr(fake_images(2, start=20), 0, ""), "app", now=NOW, quota=quota)
    assert (other.scan_started, other.quota_exhausted) == (0, 1)  # the next repository of the invocation
    assert [r.getMessage() for r in caplog.records].count("scan_quota_exhausted") == 1


def test_unclear_refusals_are_not_the_registry_quota_until_a_long_streak() -> None:
    unclear = "Rate exceeded"  # names neither the image nor the registry
    quota = scanning.ScanQuota()
    few = sweep_repository(QuotaEcr(fake_images(5), 0, unclear), "app", now=NOW, quota=quota)
    assert (few.limit_exceeded, few.stopped, quota.exhausted) == (5, None, False)
    many = QuotaEcr(fake_images(30, start=100), 0, unclear)
    summary = sweep_repository(many, "app", now=NOW, quota=quota)
    assert summary.stopped == QUOTA_EXHAUSTED
    assert many.calls["start_image_scan"] == scanning.QUOTA_STREAK - 5  # the streak spans repositories


@pytest.mark.parametrize(
    ("message", "registry_quota"),
    [
        ("The scan quota per image has been exceeded. Wait and try again.", False),
        ("", False),
        ("Rate exceeded", False),
        ("You have exceeded the daily scan quota for this registry.", True),
        ("Account limit of 100,000 basic scans per 24 hours reached", True),
    ],
)
def test_which_limit_messages_name_the_registry_quota(message: str, registry_quota: bool) -> None:
    assert (scanning.refusal_kind(message) == scanning.REGISTRY) is registry_quota


# --- time budget ----------------------------------------------------------------------------------------------


def clock(reads_with_time: int) -> Callable[[], float]:
    calls = 0

    def remaining() -> float:
        nonlocal calls
        calls += 1
        return 600.0 if calls <= reads_with_time else 1.0

    return remaining


def test_newest_first_listing_stops_in_time_when_it_need_not_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "PAGE_SIZE", 3)
    ecr = FakeEcr(fake_images(12))
    options = SweepOptions(max_images=5)
    summary = sweep_repository(
        ecr, "app", now=NOW, options=options, remaining=clock(1), reserve_seconds=20, must_progress=False
    )
    assert (summary.stopped, summary.continuation, summary.considered) == (HANDED_OVER, None, 0)
    assert ecr.calls["describe_images"] == 2  # stopped listing after the second page, not all four
    assert ecr.started == []

    progressing = FakeEcr(fake_images(12))
    summary = sweep_repository(progressing, "app", now=NOW, options=options, remaining=clock(0), reserve_seconds=20)
    assert len(progressing.started) == 1  # the first repository of an invocation always handles one image
    assert summary.continuation is not None


# --- resumption at a page boundary ------------------------------------------------------------------------------


def test_an_image_deleted_between_parts_makes_no_image_skipped_with_positional_tokens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FakeEcr's nextToken is an offset. A part that ends exactly at a page's end resumes from that page's own
    token and its last image; deleting an image of that page shifts the offsets, and nothing is skipped."""
    monkeypatch.setattr(registry, "PAGE_SIZE", 3)
    images = fake_images(9)
    ecr = FakeEcr(images, resumable=True)
    first = sweep_repository(ecr, "app", now=NOW, remaining=clock(2), reserve_seconds=20)
    assert ecr.started == [digest(0), digest(1), digest(2)]
    assert first.continuation is not None
    assert (first.continuation.next_token, first.continuation.after_digest) == (None, digest(2))

    del images[0]  # deleted between the parts: every later image moves one position up
    second = sweep_repository(ecr, "app", now=NOW, continuation=first.continuation)
    assert ecr.started == [digest(i) for i in range(9)]  # digest(3) was not skipped
    assert second.continuation is None
