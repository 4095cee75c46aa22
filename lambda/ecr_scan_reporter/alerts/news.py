"""Pure: is a scan result news? ``(previous record, new result, settings, now) -> Decision``.

Nothing here calls AWS, reads the clock or the environment. The findings stage reads the image's ledger record,
asks :func:`decide`, and acts on the answer (publish, record).

For one image (registry, repository, digest), with ``notify_on = "new_findings"`` (the default):

- a result that is not newer than the last result evaluated is *stale* (a duplicate delivery, or an older event
  arriving late): nothing is notified and nothing is recorded (see :func:`is_stale` for a batch of Inspector2
  Finding events, decided on the findings read, and for a state the sweep learned);
- its first breaching result sends ``threshold_breached``, listing every breaching finding as new;
- a later breaching result sends ``threshold_breached`` only if it has a finding at a breached severity that was
  not notified before, or a severity breaches that did not at the previous evaluation; ``new_findings`` lists
  exactly the findings not notified before;
- otherwise, when the last notification is more than ``renotify_after_days`` days old, ``reminder``;
- a result within every threshold after a breach sends one ``resolved`` (``notify_on_resolved``); a clean image
  forgets what was notified, so findings that come back later are news again;
- a FAILED scan notifies ``scan_failed`` once per image and failure reason, until a scan completes again.

With ``notify_on = "every_scan"`` every breaching result and every failed scan notifies (``new_findings`` still
says which findings were not notified before), and ``resolved`` follows ``notify_on_resolved``.

When an image's individual findings are unknown (``findings`` None: they could not be read), a breached severity
whose count grew counts as news.

"Notified before" is the record's notified findings (``LedgerRecord.was_notified``: by id, or by digest when the
record had no room for the ids, ``ledger.fit``); a notified finding the record could not keep at all is news again:
the bounded record fails toward an extra alert, never toward silence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ecr_scan_reporter.alerts.thresholds import breached_severities, evaluate_thresholds
from ecr_scan_reporter.core.config import SEVERITIES, Settings

if TYPE_CHECKING:
    from ecr_scan_reporter.core.ledger import LedgerRecord

COMPLETE = "COMPLETE"
FAILED = "FAILED"
NEW_FINDINGS = "new_findings"
EVERY_SCAN = "every_scan"
#: A record the sweep learned (DescribeImageScanFindings) was never evaluated: a result up to this much older than
#: its completion time (an event's time vs ECR's completion time) is still evaluated.
SWEEP_CLOCK_TOLERANCE = timedelta(minutes=5)
_RANK = {severity: rank for rank, severity in enumerate((*SEVERITIES, "INFORMATIONAL", "UNDEFINED"))}


@dataclass(frozen=True)
class NewsSettings:
    thresholds: Mapping[str, int | None]
    notify_on: str = NEW_FINDINGS
    notify_on_resolved: bool = True
    renotify_after_days: int | None = 30
    notify_on_scan_failure: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> NewsSettings:
        return cls(
            thresholds=settings.severity_thresholds,
            notify_on=settings.notify_on,
            notify_on_resolved=settings.notify_on_resolved,
            renotify_after_days=settings.renotify_after_days,
            notify_on_scan_failure=settings.notify_on_scan_failure,
        )


@dataclass(frozen=True)
class Observation:
    """A scan result as news sees it. ``findings``: finding id -> severity at the thresholded severities, or None
    when they could not be read."""

    status: str  # COMPLETE | FAILED
    completed_at: datetime
    severity_counts: Mapping[str, int]
    findings: Mapping[str, str] | None = None
    failure_reason: str | None = None
    #: :func:`fingerprint` of every finding read (``findings`` before any truncation), None when unknown.
    fingerprint: str | None = None
    #: A batch of Inspector2 Finding events: its time (the newest event's, one-second resolution) says little, its
    #: findings are read from Inspector when evaluated, so staleness is decided on what was read.
    finding_batch: bool = False
    #: Findings (id -> severity) with a known exploit that breach whatever the thresholds (a team's
    #: ``alert_on_exploitable``); empty otherwise.
    exploitable: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """``notify``: the notification type to send, or None. ``reason`` says why (for the log line). The remaining
    fields are what the image's record holds after this result (with the notification sent, when there is one)."""

    notify: str | None
    reason: str
    stale: bool = False
    breached: tuple[str, ...] = ()
    new_findings: tuple[tuple[str, str], ...] = ()  # (id, severity), most severe first, then by id
    notified_findings: frozenset[str] = frozenset()
    notified_digests: frozenset[bytes] = frozenset()  # the record's notified digests, carried (or forgotten)


def fingerprint(findings: Mapping[str, str]) -> str:
    """A finding set's fingerprint (SHA-256 hex of its sorted ``id severity`` lines, severities upper-cased)."""
    digest = hashlib.sha256()
    for finding_id, severity in sorted(findings.items()):
        digest.update(f"{finding_id}\t{severity.upper()}\n".encode())
    return digest.hexdigest()


def is_stale(previous: LedgerRecord | None, observation: Observation) -> bool:
    """True when ``observation`` was already evaluated or is older than what was: a duplicate delivery, a late
    older event.

    - A batch of Inspector2 Finding events (``finding_batch``) is stale only when it is not newer than the last
      evaluation *and* read exactly the findings then read (same :func:`fingerprint`): a second batch of the same
      second that carries another finding is evaluated; an exact redelivery is not.
    - Otherwise a result not newer than the last evaluated one (``evaluated_completed_at``) is stale, even after
      the sweep recorded a rescan of the image since.
    - A state the sweep learned (DescribeImageScanFindings) was never evaluated: a result of that scan whose time
      is up to :data:`SWEEP_CLOCK_TOLERANCE` before the learned completion time is not stale.

    A record written before ``evaluated_completed_at`` existed: its completion time is the evaluated one unless the
    sweep wrote last (then only the tolerance rule applies, as before)."""
    if previous is None:
        return False
    evaluated = previous.evaluated_completed_at
    if evaluated is None and previous.source != "sweep":
        evaluated = previous.scan_completed_at
    if observation.finding_batch:
        return (
            evaluated is not None
            and observation.completed_at <= evaluated
            and observation.fingerprint is not None
            and observation.fingerprint == previous.findings_sha256
        )
    if evaluated is not None and observation.completed_at <= evaluated:
        return True
    if previous.scan_completed_at is None:
        return False
    if previous.source == "sweep":
        return observation.completed_at < previous.scan_completed_at - SWEEP_CLOCK_TOLERANCE
    return observation.completed_at <= previous.scan_completed_at


def decide(previous: LedgerRecord | None, observation: Observation, settings: NewsSettings, now: datetime) -> Decision:
    """What to notify for ``observation``, given the image's ``previous`` record (None: unknown image)."""
    notified = previous.notified_findings if previous is not None else frozenset()
    digests = previous.notified_digests if previous is not None else frozenset()
    previous_breached = previous.breached if previous is not None else ()
    if is_stale(previous, observation):
        decision = Decision(None, "stale", stale=True, breached=previous_breached, notified_findings=notified)
        return replace(decision, notified_digests=digests)
    if observation.status == FAILED:
        return replace(_failed(previous, observation, settings, previous_breached, notified), notified_digests=digests)
    return _complete(previous, observation, settings, now, notified, digests)


def _complete(
    previous: LedgerRecord | None,
    observation: Observation,
    settings: NewsSettings,
    now: datetime,
    notified: frozenset[str],
    digests: frozenset[bytes],
) -> Decision:
    previous_breached = previous.breached if previous is not None else ()

    over = evaluate_thresholds(observation.severity_counts, settings.thresholds)
    breached = tuple(breached_severities(observation.severity_counts, settings.thresholds, observation.exploitable))
    if not breached:
        if previous_breached and settings.notify_on_resolved:
            return Decision("resolved", "within_thresholds_again")
        return Decision(None, "within_thresholds")

    findings = observation.findings
    breaching = (
        {}
        if findings is None
        else {i: s for i, s in findings.items() if s.upper() in over or i in observation.exploitable}
    )
    was_notified = previous.was_notified if previous is not None else (lambda _: False)
    new = tuple(sorted(((i, s) for i, s in breaching.items() if not was_notified(i)), key=finding_order))
    after = notified | frozenset(breaching)
    newly_breached = [s for s in breached if s not in previous_breached]
    if findings is None and previous is not None:
        grew = [s for s in breached if observation.severity_counts.get(s, 0) > previous.severity_counts.get(s, 0)]
    else:
        grew = []

    if settings.notify_on == EVERY_SCAN:
        return Decision("threshold_breached", "every_scan", False, breached, new, after, notified_digests=digests)
    if not previous_breached:
        return Decision("threshold_breached", "first_breach", False, breached, new, after, notified_digests=digests)
    if new or newly_breached or grew:
        reason = "new_findings" if new else ("newly_breached" if newly_breached else "counts_grew")
        return Decision("threshold_breached", reason, False, breached, new, after, notified_digests=digests)
    if previous is not None and _reminder_due(previous, settings, now):
        return Decision("reminder", "reminder_due", False, breached, (), after, notified_digests=digests)
    return Decision(None, "already_notified", False, breached, (), after, notified_digests=digests)


def _failed(
    previous: LedgerRecord | None,
    observation: Observation,
    settings: NewsSettings,
    breached: tuple[str, ...],
    notified: frozenset[str],
) -> Decision:
    if not settings.notify_on_scan_failure:
        return Decision(None, "scan_failure_not_notified", False, breached, (), notified)
    if (
        settings.notify_on == NEW_FINDINGS
        and previous is not None
        and previous.notified_type == "scan_failed"
        and previous.failure_reason == observation.failure_reason
    ):
        return Decision(None, "failure_already_notified", False, breached, (), notified)
    return Decision("scan_failed", "scan_failed", False, breached, (), notified)


def _reminder_due(previous: LedgerRecord, settings: NewsSettings, now: datetime) -> bool:
    """The last notification is *more* than ``renotify_after_days`` days old (exactly that old: not yet)."""
    if settings.renotify_after_days is None or previous.notified_at is None:
        return False
    return now - previous.notified_at > timedelta(days=settings.renotify_after_days)


def finding_order(finding: tuple[str, str]) -> tuple[int, str]:
    """(id, severity) pairs: most severe first, then by id."""
    return _RANK.get(finding[1].upper(), len(_RANK)), finding[0]
