"""Pure scan decisions (sweep/freshness.py): no AWS, no mocks, no clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ecr_scan_reporter.core.expiry import scan_expired
from ecr_scan_reporter.core.selection import repository_selected
from ecr_scan_reporter.sweep.freshness import (
    ScanState,
    Verdict,
    decide_scan,
    image_archived,
    manual_scans_apply,
    needs_scan,
    newest_key,
    recently_used,
)

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def complete(age: timedelta) -> ScanState:
    return ScanState("COMPLETE", NOW - age)


def test_never_scanned_needs_a_scan_whatever_the_age_of_the_image() -> None:
    assert decide_scan(ScanState(), NOW, 7) is Verdict.NEVER_SCANNED
    assert needs_scan(ScanState(), NOW, 365) == "never_scanned"


@pytest.mark.parametrize("days", [1, 7, 14, 30, 180, 365])
def test_expiry_boundary_is_strictly_older_than(days: int) -> None:
    exactly = timedelta(days=days)
    assert needs_scan(complete(exactly - SECOND), NOW, days) is None
    assert needs_scan(complete(exactly), NOW, days) is None  # exactly expiry_days old: still fresh
    assert needs_scan(complete(exactly + SECOND), NOW, days) == "expired"


@pytest.mark.parametrize(
    ("expiry", "age_days", "expected"),
    [
        (14, 10, None),  # a single-digit parse of "14" would read 1 or 4 and call this expired
        (14, 15, "expired"),
        (30, 20, None),
        (30, 31, "expired"),
        (180, 100, None),
        (180, 181, "expired"),
    ],
)
def test_multi_digit_expiry(expiry: int, age_days: int, expected: str | None) -> None:
    assert needs_scan(complete(timedelta(days=age_days)), NOW, expiry) == expected


@pytest.mark.parametrize("status", ["IN_PROGRESS", "PENDING", "in_progress"])
def test_a_running_scan_is_never_doubled(status: str) -> None:
    assert decide_scan(ScanState(status, None), NOW, 7) is Verdict.IN_PROGRESS
    assert decide_scan(ScanState(status, NOW - timedelta(days=400)), NOW, 7) is Verdict.IN_PROGRESS


def test_failed_scan_is_retried_once_older_than_the_expiry_or_when_its_time_is_unknown() -> None:
    assert decide_scan(ScanState("FAILED", NOW - timedelta(days=2)), NOW, 7) is Verdict.FAILED_RECENTLY
    assert decide_scan(ScanState("FAILED", NOW - timedelta(days=8)), NOW, 7) is Verdict.EXPIRED
    assert decide_scan(ScanState("FAILED", None), NOW, 7) is Verdict.EXPIRED


def test_complete_without_a_time_cannot_be_shown_fresh() -> None:
    assert decide_scan(ScanState("COMPLETE", None), NOW, 7) is Verdict.EXPIRED


def test_statuses_where_a_rescan_cannot_help() -> None:
    old = NOW - timedelta(days=100)
    assert decide_scan(ScanState("UNSUPPORTED_IMAGE", old), NOW, 7) is Verdict.UNSUPPORTED
    assert decide_scan(ScanState("IMAGE_ARCHIVED", old), NOW, 7) is Verdict.ARCHIVED
    # an artifact ECR refused (issue 26): the ledger's own status, never asked again, whatever its times
    assert decide_scan(ScanState("NOT_SCANNABLE", None), NOW, 7) is Verdict.NOT_SCANNABLE
    assert decide_scan(ScanState("NOT_SCANNABLE", old), NOW, 7) is Verdict.NOT_SCANNABLE
    assert not Verdict.NOT_SCANNABLE.needs_scan


def test_enhanced_status_active_is_judged_by_its_completion_time() -> None:
    assert decide_scan(ScanState("ACTIVE", NOW - timedelta(days=1)), NOW, 7) is Verdict.FRESH
    assert decide_scan(ScanState("ACTIVE", NOW - timedelta(days=9)), NOW, 7) is Verdict.EXPIRED


def test_only_never_scanned_and_expired_need_a_scan() -> None:
    assert {v for v in Verdict if v.needs_scan} == {Verdict.NEVER_SCANNED, Verdict.EXPIRED}


def test_naive_times_are_utc_and_aware_times_of_any_zone_compare_correctly() -> None:
    naive = (NOW - timedelta(days=7, seconds=1)).replace(tzinfo=None)
    assert scan_expired(naive, NOW, 7)
    pacific = timezone(timedelta(hours=-7))
    assert not scan_expired((NOW - timedelta(days=7)).astimezone(pacific), NOW, 7)
    assert scan_expired((NOW - timedelta(days=7, seconds=1)).astimezone(pacific), NOW, 7)


def test_expiry_below_one_day_is_refused() -> None:
    with pytest.raises(ValueError, match="expiry_days"):
        scan_expired(NOW, NOW, 0)


def test_recently_used_filter() -> None:
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=3)
    assert recently_used(old, None, NOW, None)  # no filter
    assert recently_used(recent, None, NOW, 30)  # pushed within
    assert recently_used(old, recent, NOW, 30)  # pulled within
    assert not recently_used(old, old, NOW, 30)
    assert not recently_used(old, None, NOW, 30)
    assert not recently_used(None, None, NOW, 30)
    assert recently_used(NOW - timedelta(days=30), None, NOW, 30)  # boundary: within means <= N days
    assert not recently_used(NOW - timedelta(days=30, seconds=1), None, NOW, 30)


def test_image_archived() -> None:
    assert image_archived("ARCHIVED")
    assert image_archived("ACTIVATING")
    assert not image_archived("ACTIVE")
    assert not image_archived(None)


def test_newest_key_orders_by_push_time_then_digest_and_unknown_push_time_is_oldest() -> None:
    keys = [
        newest_key(NOW, "sha256:b"),
        newest_key(NOW, "sha256:a"),
        newest_key(None, "sha256:z"),
        newest_key(NOW - SECOND, "sha256:z"),
    ]
    assert sorted(keys, reverse=True) == [keys[0], keys[1], keys[3], keys[2]]


def test_manual_scans_do_not_apply_to_an_enhanced_registry() -> None:
    assert manual_scans_apply("BASIC")
    assert not manual_scans_apply("ENHANCED")
    assert not manual_scans_apply("enhanced")


def test_repository_selection_include_and_exclude() -> None:
    include, exclude = re.compile(r"^team/"), re.compile(r"-tmp$")
    assert repository_selected("team/app", include, exclude)
    assert not repository_selected("team/app-tmp", include, exclude)
    assert not repository_selected("other/app", include, exclude)
    assert repository_selected("team/app-tmp", include, None)


def test_repository_regexes_are_searched_anywhere_in_the_name_not_anchored() -> None:
    """re.search, like Terraform's regex(): an unanchored include or exclude matches in the middle of the name."""
    assert repository_selected("team/app", re.compile("app"), None)
    assert repository_selected("team/app-api", re.compile(r"app-"), re.compile("^app"))
    assert not repository_selected("team/app-tmp", re.compile("team"), re.compile("tmp"))
    assert not repository_selected("team/app", re.compile("app$"), re.compile("m/a"))
