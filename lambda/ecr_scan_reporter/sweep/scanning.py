"""Starting scans and classifying their errors.

:func:`start_scan` returns a :class:`ScanOutcome` for every expected answer and raises for the rest:

- ``LimitExceededException``: ECR allows one basic scan per image per 24 hours ("The scan quota per image has
  been exceeded"): the image was scanned recently, so this is counted and never waited for. ECR also allows
  100,000 basic scans per registry per 24 hours (scans on push included). AWS documents neither error's message
  as a contract, so both signs count: a LimitExceededException whose message does not name the per-image quota
  but names the registry, the account or the daily quota is ``QUOTA_EXHAUSTED``; and :data:`QUOTA_STREAK`
  per-image refusals in a row are taken as the registry's quota too (the sweep only starts images it believes
  unscanned for a day or more, so a long streak is not per-image refusals). :class:`ScanQuota` remembers it so
  a sweep stops starting scans. botocore counts that code as throttling: it would retry with backoff sleeps
  (over a minute in all) and, in adaptive mode, slow every later call of the client down. :func:`start_scan`
  therefore hooks the client's ``needs-retry`` event for StartImageScan and raises the error at once;
- ``UnsupportedImageTypeException``, ``ImageNotFoundException``, and archived images (any error code that
  mentions "Archived" or "StorageClass", e.g. ``ImageArchivedException``): counted and skipped;
- ``RepositoryNotFoundException`` raises :class:`~ecr_scan_reporter.sweep.registry.RepositoryNotFound`;
- throttling is retried by botocore (adaptive mode, see ``core/aws.py``); whatever is left (throttling after
  every retry, access denied, ...) propagates as ``ClientError``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from ecr_scan_reporter.sweep.registry import RepositoryNotFound, error_code


class ScanOutcome(StrEnum):
    STARTED = "scan_started"
    LIMIT_EXCEEDED = "limit_exceeded"
    UNSUPPORTED = "unsupported"
    NOT_FOUND = "not_found"
    ARCHIVED = "archived"
    QUOTA_EXHAUSTED = "quota_exhausted"


#: Consecutive per-image LimitExceededException answers taken as the registry's daily quota.
QUOTA_STREAK = 20
_PER_IMAGE = "per image"
_REGISTRY_QUOTA_WORDS = ("registry", "account", "24 hours", "daily", "100,000", "100000")


_BY_CODE = {
    "LimitExceededException": ScanOutcome.LIMIT_EXCEEDED,
    "UnsupportedImageTypeException": ScanOutcome.UNSUPPORTED,
    "ImageNotFoundException": ScanOutcome.NOT_FOUND,
}


_NO_RETRY_EVENT = "needs-retry.ecr.StartImageScan"


def _raise_quota_error(response: Any = None, **_: Any) -> None:
    """``needs-retry`` handler: a StartImageScan LimitExceededException is final, not throttling."""
    parsed = response[1] if response else {}
    if (parsed.get("Error") or {}).get("Code") == "LimitExceededException":
        raise ClientError(parsed, "StartImageScan")


def no_quota_retries(ecr: Any) -> None:
    """Make StartImageScan's LimitExceededException fail at once on ``ecr`` (idempotent; fakes are skipped).
    Registered first, so botocore's retry handler and adaptive rate limiter never see it."""
    meta = getattr(ecr, "meta", None)
    if meta is not None and hasattr(meta, "events"):
        meta.events.register_first(_NO_RETRY_EVENT, _raise_quota_error, unique_id="ecr-scan-reporter.no-quota-retry")


def classify_error(code: str) -> ScanOutcome | None:
    """The outcome a StartImageScan error code stands for, or None when it is a real failure."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    lowered = code.lower()
    if "archived" in lowered or "storageclass" in lowered:
        return ScanOutcome.ARCHIVED
    return None


def start_scan(ecr: Any, repository: str, digest: str, registry_id: str | None = None) -> ScanOutcome:
    """Start a basic scan of the image ``digest`` (by digest, so untagged images work)."""
    no_quota_retries(ecr)
    kwargs: dict[str, Any] = {"repositoryName": repository, "imageId": {"imageDigest": digest}}
    if registry_id:
        kwargs["registryId"] = registry_id
    try:
        ecr.start_image_scan(**kwargs)
    except ClientError as exc:
        code = error_code(exc)
        if code == "RepositoryNotFoundException":
            raise RepositoryNotFound(repository) from exc
        outcome = classify_error(code)
        if outcome is None:
            raise
        if outcome is ScanOutcome.LIMIT_EXCEEDED and registry_quota_message(exc.response["Error"].get("Message")):
            return ScanOutcome.QUOTA_EXHAUSTED
        return outcome
    return ScanOutcome.STARTED


def registry_quota_message(message: object) -> bool:
    """Does a LimitExceededException message speak of the registry's daily quota rather than the image's?"""
    text = str(message or "").lower()
    return _PER_IMAGE not in text and any(word in text for word in _REGISTRY_QUOTA_WORDS)


class ScanQuota:
    """The registry's daily scan quota as one invocation has seen it: exhausted after a ``QUOTA_EXHAUSTED``
    answer or :data:`QUOTA_STREAK` per-image refusals in a row. Shared by every repository an invocation sweeps."""

    def __init__(self, streak: int = QUOTA_STREAK) -> None:
        self.streak_limit = streak
        self.streak = 0
        self.exhausted = False

    def observe(self, outcome: ScanOutcome) -> bool:
        """Record one StartImageScan outcome; True when this outcome is the one that exhausts the quota."""
        if self.exhausted:
            return False
        if outcome is ScanOutcome.LIMIT_EXCEEDED:
            self.streak += 1
        elif outcome is ScanOutcome.STARTED:
            self.streak = 0
        if outcome is ScanOutcome.QUOTA_EXHAUSTED or self.streak >= self.streak_limit:
            self.exhausted = True
            return True
        return False
