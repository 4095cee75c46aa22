"""Starting scans and classifying their errors.

:func:`start_scan` returns a :class:`ScanOutcome` for every expected answer and raises for the rest:

- ``LimitExceededException``: ECR allows one basic scan per image per 24 hours ("The scan quota per image has
  been exceeded"): the image was scanned recently, so this is counted and never waited for. ECR also allows
  100,000 basic scans per registry per 24 hours (scans on push included). AWS documents neither error's message
  as a contract, so the message is read three ways (:func:`refusal_kind`): one that names the image ("per
  image", "this image", ...) and not the registry is the per-image quota; one that names the registry, the
  account or the 100,000 scans and not the image is the registry's quota (``QUOTA_EXHAUSTED``); any other (no
  message, "Rate exceeded", both, or a daily limit that names neither: both quotas are per 24 hours) is unclear.
  :data:`QUOTA_STREAK` unclear refusals in a row are taken as the registry's quota too; per-image refusals never
  are (a repository of images scanned on push, or whose scans fail, would otherwise stop the whole sweep), and a
  started scan ends the streak. :class:`ScanQuota` remembers it so a sweep stops starting scans. botocore counts
  that code as throttling: it would retry with backoff sleeps (over a minute in all) and, in adaptive mode, slow
  every later call of the client down. :func:`start_scan` therefore hooks the client's ``needs-retry`` event for
  StartImageScan and raises the error at once;
- ``UnsupportedImageTypeException``, ``ImageNotFoundException``, and archived images (any error code that
  mentions "Archived" or "StorageClass", e.g. ``ImageArchivedException``): counted and skipped;
- ``RepositoryNotFoundException`` raises :class:`~ecr_scan_reporter.sweep.registry.RepositoryNotFound`;
- throttling is retried by botocore (adaptive mode, see ``core/aws.py``); whatever is left (throttling after
  every retry, access denied, ...) propagates as ``ClientError``.
"""

from __future__ import annotations

from dataclasses import dataclass
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


#: Consecutive LimitExceededException answers of unclear meaning (see :func:`refusal_kind`) taken as the registry's
#: daily quota.
QUOTA_STREAK = 20
#: :func:`refusal_kind` values.
PER_IMAGE, REGISTRY, UNCLEAR = "per_image", "registry", "unclear"
#: Phrases that name one image's quota. "daily" and "24 hours" name neither: both quotas are per 24 hours.
_PER_IMAGE_WORDS = ("per image", "this image", "each image", "an image", "image per", "same image")
_REGISTRY_QUOTA_WORDS = ("registry", "account", "100,000", "100000")


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


@dataclass(frozen=True, slots=True)
class ScanAttempt:
    """One StartImageScan: its outcome and, when ECR refused it, the error message (what :class:`ScanQuota` reads)."""

    outcome: ScanOutcome
    message: str | None = None


def start_scan(ecr: Any, repository: str, digest: str, registry_id: str | None = None) -> ScanOutcome:
    """Start a basic scan of the image ``digest`` (by digest, so untagged images work)."""
    return attempt_scan(ecr, repository, digest, registry_id).outcome


def attempt_scan(ecr: Any, repository: str, digest: str, registry_id: str | None = None) -> ScanAttempt:
    """:func:`start_scan`, keeping ECR's message of a refusal."""
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
        message = str(exc.response.get("Error", {}).get("Message") or "")
        if outcome is ScanOutcome.LIMIT_EXCEEDED and refusal_kind(message) == REGISTRY:
            return ScanAttempt(ScanOutcome.QUOTA_EXHAUSTED, message)
        return ScanAttempt(outcome, message)
    return ScanAttempt(ScanOutcome.STARTED)


def refusal_kind(message: object) -> str:
    """What a LimitExceededException message speaks of: :data:`PER_IMAGE` (the image's one scan per 24 hours),
    :data:`REGISTRY` (the registry's daily quota: names the registry, the account or the 100,000 scans, and not
    the image) or :data:`UNCLEAR` (both, neither, or no message)."""
    text = " ".join(str(message or "").lower().replace("-", " ").split())
    image = any(words in text for words in _PER_IMAGE_WORDS)
    whole = any(word in text for word in _REGISTRY_QUOTA_WORDS)
    if image != whole:
        return PER_IMAGE if image else REGISTRY
    return UNCLEAR


class ScanQuota:
    """The registry's daily scan quota as one invocation has seen it: exhausted after a ``QUOTA_EXHAUSTED``
    answer or :data:`QUOTA_STREAK` refusals in a row whose message is unclear (:func:`refusal_kind`). Per-image
    refusals and the other outcomes (unsupported, not found, archived) say nothing about the registry's quota: they
    neither add to the streak nor end it; a started scan ends it. Shared by every repository an invocation sweeps."""

    def __init__(self, streak: int = QUOTA_STREAK) -> None:
        self.streak_limit = streak
        self.streak = 0
        self.exhausted = False

    def observe(self, outcome: ScanOutcome, message: str | None = None) -> bool:
        """Record one StartImageScan outcome (with ECR's ``message`` of a refusal); True when this outcome is the
        one that exhausts the quota."""
        if self.exhausted:
            return False
        if outcome is ScanOutcome.LIMIT_EXCEEDED and refusal_kind(message) == UNCLEAR:
            self.streak += 1
        elif outcome is ScanOutcome.STARTED:
            self.streak = 0
        if outcome is ScanOutcome.QUOTA_EXHAUSTED or self.streak >= self.streak_limit:
            self.exhausted = True
            return True
        return False
