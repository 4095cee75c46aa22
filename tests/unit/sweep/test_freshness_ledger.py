"""sweep/freshness.py's ledger decisions (pure): when the ledger's view of an image can be trusted, edges pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecr_scan_reporter.sweep import freshness
from ecr_scan_reporter.sweep.freshness import ScanState

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
BOUND = freshness.IN_PROGRESS_RECHECK_AFTER


@pytest.mark.parametrize(
    ("status", "started", "completed", "expected"),
    [
        (None, None, None, None),  # no record: ask ECR
        ("COMPLETE", None, NOW - timedelta(days=2), ScanState("COMPLETE", NOW - timedelta(days=2))),
        ("FAILED", None, None, ScanState("FAILED", None)),
        ("IN_PROGRESS", NOW - BOUND, None, ScanState("IN_PROGRESS")),  # exactly the bound: trusted
        ("IN_PROGRESS", NOW - BOUND - timedelta(milliseconds=1), None, None),  # beyond: looked up again
        ("IN_PROGRESS", None, None, None),  # no start time: cannot be bounded
        ("PENDING", NOW, None, ScanState("IN_PROGRESS")),
    ],
)
def test_ledger_scan_state(
    status: str | None, started: datetime | None, completed: datetime | None, expected: ScanState | None
) -> None:
    assert freshness.ledger_scan_state(status, started, completed, NOW) == expected


@pytest.mark.parametrize(
    ("pushed", "marker", "expected"),
    [
        (NOW + timedelta(seconds=1), NOW, True),
        (NOW, NOW, False),  # pushed at the marker's instant: not after it
        (NOW - timedelta(days=1), NOW, False),
        (NOW, None, False),  # no complete sweep yet
        (None, NOW, False),  # no push time
    ],
)
def test_unrecorded_means_never_scanned(pushed: datetime | None, marker: datetime | None, expected: bool) -> None:
    assert freshness.unrecorded_means_never_scanned(pushed, marker) is expected
