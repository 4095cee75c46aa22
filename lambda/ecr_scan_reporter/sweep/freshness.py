"""Does this image need a scan, and why (pure). Nothing here calls AWS, reads the clock or the environment: inputs
in, verdict out. The images stage's decisions: :func:`decide_scan` (from ECR's or the ledger's view of the image's
latest scan, :func:`ledger_scan_state`), the filters (:func:`recently_used`, :func:`image_archived`), the order of
"the K newest images" (:func:`newest_key`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ecr_scan_reporter.core.expiry import as_utc, scan_expired
from ecr_scan_reporter.core.scannable import recorded_not_scannable

# --- scan decisions -----------------------------------------------------------------------------------------------
#
# An image's last scan time is ``imageScanCompletedAt`` (never ``vulnerabilitySourceUpdatedAt``, never
# ``imagePushedAt``); when it is expired: core/expiry.py.

_IN_PROGRESS = frozenset({"IN_PROGRESS", "PENDING"})
_ARCHIVED_IMAGE_STATUSES = frozenset({"ARCHIVED", "ACTIVATING"})


@dataclass(frozen=True, slots=True)
class ScanState:
    """What ECR reports about an image's latest scan. ``status`` is ``imageScanStatus.status`` (None: never
    scanned); ``completed_at`` is ``imageScanCompletedAt`` (None: not reported)."""

    status: str | None = None
    completed_at: datetime | None = None


class Verdict(StrEnum):
    """The decision for one image. The first two mean "scan it" and are the reasons reported."""

    NEVER_SCANNED = "never_scanned"
    EXPIRED = "expired"
    FRESH = "fresh"
    IN_PROGRESS = "in_progress"
    FAILED_RECENTLY = "failed_recently"
    UNSUPPORTED = "unsupported"
    ARCHIVED = "archived"
    NOT_SCANNABLE = "not_scannable"  # an artifact ECR's basic scanning cannot scan (core/scannable.py)

    @property
    def needs_scan(self) -> bool:
        return self in (Verdict.NEVER_SCANNED, Verdict.EXPIRED)


def decide_scan(state: ScanState, now: datetime, expiry_days: int) -> Verdict:
    """Does an image with this latest scan need a new one, and why (or why not)?

    - no scan at all: ``never_scanned``, whatever the image's age;
    - IN_PROGRESS / PENDING: ``in_progress`` (never start a second scan);
    - UNSUPPORTED_IMAGE / IMAGE_ARCHIVED: rescanning cannot help;
    - NOT_SCANNABLE (the ledger's record of an artifact ECR refused, core/scannable.py): never asked again;
    - FAILED: rescan (``expired``) once the failure is older than the expiry, or when ECR reported no time
      for it (ECR's one-scan-per-image-per-day quota bounds that to one retry a day); else ``failed_recently``;
    - any other status (COMPLETE, ACTIVE, ...): ``expired`` when the completion time is older than the expiry
      or unknown (freshness cannot be shown), else ``fresh``.
    """
    status = (state.status or "").upper()
    if not status:
        return Verdict.NEVER_SCANNED
    if status in _IN_PROGRESS:
        return Verdict.IN_PROGRESS
    if recorded_not_scannable(status):
        return Verdict.NOT_SCANNABLE
    if status == "UNSUPPORTED_IMAGE":
        return Verdict.UNSUPPORTED
    if "ARCHIVED" in status:
        return Verdict.ARCHIVED
    if state.completed_at is None or scan_expired(state.completed_at, now, expiry_days):
        return Verdict.EXPIRED
    return Verdict.FAILED_RECENTLY if status == "FAILED" else Verdict.FRESH


def needs_scan(state: ScanState, now: datetime, expiry_days: int) -> str | None:
    """``"never_scanned"`` or ``"expired"`` when the image needs a scan, else None."""
    verdict = decide_scan(state, now, expiry_days)
    return verdict.value if verdict.needs_scan else None


def recently_used(
    pushed_at: datetime | None, last_pulled_at: datetime | None, now: datetime, within_days: int | None
) -> bool:
    """The ``only_images_pulled_within_days`` filter: True when there is no filter, or the image was pushed or
    pulled at most ``within_days`` days before ``now``."""
    if within_days is None:
        return True
    limit = timedelta(days=within_days)
    return any(t is not None and as_utc(now) - as_utc(t) <= limit for t in (pushed_at, last_pulled_at))


def image_archived(image_status: str | None) -> bool:
    """DescribeImages ``imageStatus`` ARCHIVED / ACTIVATING: the image cannot be scanned now."""
    return (image_status or "").upper() in _ARCHIVED_IMAGE_STATUSES


def newest_key(pushed_at: datetime | None, digest: str) -> tuple[float, str]:
    """Total order for "the K newest images": by push time, then digest (unique in a repository). Larger is
    newer; images without a push time sort oldest."""
    return (as_utc(pushed_at).timestamp() if pushed_at is not None else 0.0, digest)


def manual_scans_apply(registry_scan_type: str) -> bool:
    """False for an ENHANCED registry: Amazon Inspector rescans continuously, manual scans do not apply."""
    return registry_scan_type.upper() != "ENHANCED"


# --- the scan ledger's view of an image ------------------------------------------------------------------------------

#: A scan the ledger records as started this long ago without a result (its event lost) is looked up again.
IN_PROGRESS_RECHECK_AFTER = timedelta(hours=1)


def ledger_scan_state(
    status: str | None,
    started_at: datetime | None,
    completed_at: datetime | None,
    now: datetime,
    recheck_after: timedelta = IN_PROGRESS_RECHECK_AFTER,
) -> ScanState | None:
    """The image's latest scan as the ledger records it, or None when the ledger cannot be trusted for it and ECR
    must be asked: no record, or a scan recorded IN_PROGRESS more than ``recheck_after`` ago (exactly that long:
    still trusted) or with no start time."""
    if status is None:
        return None
    if status.upper() in _IN_PROGRESS:
        if started_at is None or as_utc(now) - as_utc(started_at) > recheck_after:
            return None
        return ScanState(status="IN_PROGRESS")
    return ScanState(status=status, completed_at=completed_at)


def unrecorded_means_never_scanned(pushed_at: datetime | None, complete_at: datetime | None) -> bool:
    """An image the ledger has no record of was never scanned when it was pushed after the repository's last
    complete sweep (``complete_at``): that sweep recorded every image it found, and every scan since was
    recorded from its event. Older images without a record (or no marker, or no push time) must be looked up."""
    return pushed_at is not None and complete_at is not None and as_utc(pushed_at) > as_utc(complete_at)


def recorded_before_push(
    pushed_at: datetime | None, started_at: datetime | None, completed_at: datetime | None
) -> bool:
    """Is the ledger's record of an image older than the image (its digest deleted and pushed again since)? True
    when the image was pushed after the latest time the record holds (the scan's start and completion): that scan
    was of the earlier push, and ECR's answer for this one must be asked. A record with no time, or an image with
    no push time, cannot be dated: False."""
    times = [as_utc(t) for t in (started_at, completed_at) if t is not None]
    return pushed_at is not None and bool(times) and as_utc(pushed_at) > max(times)
