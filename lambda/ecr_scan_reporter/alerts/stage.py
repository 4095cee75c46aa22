"""The findings stage as a library: what happens to one image's scan result, from its event to at most one SNS
notification.

A complete or failed result of a selected image (:func:`ignore_reason` says which are not) goes: read the image's
findings (``alerts/findings.py``) -> apply the accepted risks (``alerts/suppressions.py``) -> evaluate
(``alerts/thresholds.py``) -> render (``alerts/notify.py``) and publish (``core/sns_message.py``).
:func:`report_scan` answers with a small dict:
``{"status": "notified" | "below_threshold", ...}``, one JSON log line per decision.

With the scan ledger (``LEDGER_TABLE_NAME``): observe the findings -> read the image's record (``core/ledger.py``) ->
decide (``news.decide``, pure) -> claim -> publish -> confirm. Statuses then also include ``"duplicate"`` (already
evaluated or older, ``news.is_stale``; a batch of Inspector2 Finding events is a duplicate only when it read exactly
the findings last evaluated) and ``"not_news"`` (recorded, nothing to notify). The record stays within DynamoDB's
item limit whatever the number of findings (``ledger.fit``).

No alert lost, none duplicated: the record is written *before* publishing, with a pending claim (token, type,
new findings, valid until this invocation's deadline), conditionally on the revision that was read, so of two
concurrent deliveries of one event exactly one claims it; the other answers ``duplicate`` (a batch of Inspector2
Finding events raises :class:`NotificationInFlight` instead, a batch item failure: another batch of the same second
may carry another finding, which only its retry can tell). After SNS accepts the
message the claim is confirmed (cleared). If the function dies between claim and confirm, Lambda retries the event
after the deadline has passed: the retry takes the expired claim over (under a claim of its own, valid until its
own deadline, so a concurrent delivery leaves it alone) and publishes the claimed notification (rendered from the
record) before anything else, so it is sent at least once; it is sent twice only if the function died
after SNS accepted it and before the confirm. A different, newer result arriving while a claim is live raises
:class:`NotificationInFlight` (Lambda retries it later), so results are evaluated in order.

The findings and accepted risks (issue 10): for a complete scan the image's findings are read (ECR's
DescribeImageScanFindings for basic scanning, Inspector's ListFindings for enhanced scanning, which also gives the
LOW count an ``Inspector2 Scan`` event leaves out), the suppressions (``alerts/suppressions.py``, stored in the ledger
table) remove the accepted ones, and the counts compared with the thresholds are the reported counts less the
suppressed findings. The notification lists the most severe remaining findings and names expired suppressions.
When the findings cannot be read the reported counts decide and the message says so.

``Inspector2 Finding`` events (one per finding, in bursts) arrive through a buffer queue as SQS batches:
:func:`report_finding_events` groups the parsed batch by image and reports each image once from Inspector's active
findings (the ledger then notifies only what changed); only the messages of images that could not be reported (or
that the invocation had no time left for) are returned as failures (retried, then dead-lettered).

The owner (``alerts/routing.py``) is decided before anything else: when it cannot be (the teams document not the
version ``TEAMS_SHA256`` names, the repository's tags throttled or denied), :class:`routing.OwnerUndecided` is
logged (``owner_undecided``), counted (:attr:`Tally.undecided`) and raised before anything is sent, claimed or
recorded, so Lambda retries the event (a batch: the image's messages are item failures) and the owner is told
exactly once, when it can be decided.

Delivery: the chat form goes to ``CHAT_TOPIC_ARN`` as well. A publish SNS refuses for good (InvalidParameter:
nothing a retry can fix) is logged as ``notification_undeliverable`` with the image and replaced by a short
plain-text notice on the same topic, so a person still hears of it; only if that fails too does it raise
:class:`UndeliverableNotification` (Lambda's bounded retries, then the failed-events queue), never an endless loop.
Other AWS errors while publishing raise (a retry may succeed).

``remaining`` is the invocation's time left in milliseconds (Lambda's ``get_remaining_time_in_millis``), or None
when unknown; a :class:`Tally` collects what the evaluations came to, for the caller's metrics.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.alerts import events, news, notify, routing, suppression_store, suppressions, thresholds
from ecr_scan_reporter.alerts import findings as image_findings
from ecr_scan_reporter.core import aws, ledger, log, selection, sns_message
from ecr_scan_reporter.core.config import SEVERITIES, Settings

logger = log.get_logger(__name__)
#: How long a claim lasts when the invocation's deadline is unknown (``remaining`` is None): the function's timeout.
DEFAULT_CLAIM_SECONDS = 60
WRITE_ATTEMPTS = 3
#: An Inspector2 Finding batch stops starting images when less time than this is left (the rest are retried).
FINDING_EVENTS_RESERVE_MS = 15_000
#: SNS errors no retry can fix: the message itself is refused.
UNDELIVERABLE_CODES = frozenset({"InvalidParameter", "InvalidParameterValue"})

Remaining = Callable[[], int] | None


class UndeliverableNotification(RuntimeError):
    """SNS refused the notification and the short notice replacing it: the invocation fails (bounded retries,
    then the failed-events queue or the buffer's dead-letter queue)."""


class NotificationInFlight(RuntimeError):
    """Another invocation is publishing a notification for an older result of this image: retry later."""


class LedgerContention(RuntimeError):
    """The image's record kept changing between read and write: retry later."""


@dataclass(frozen=True)
class Observed:
    """A result as the findings stage evaluates it: ``result`` carries the counts compared with the thresholds
    (suppressed findings removed; a severity nobody reported absent); ``findings`` the remaining findings at
    thresholded severities (id -> severity) or None when unknown; ``section`` what the message lists;
    ``suppressed`` the findings at thresholded severities that accepted risks hid (recorded apart, for the
    report); ``fingerprint`` the :func:`news.fingerprint` of ``findings``. Both maps most severe first (the ledger
    record keeps that order when it has no room for them all)."""

    result: events.ScanResult
    findings: dict[str, str] | None
    section: notify.FindingsSection | None
    suppressed: dict[str, str] = dataclasses.field(default_factory=dict)
    fingerprint: str | None = None
    #: Findings with a known exploit (MEDIUM or above) that breach whatever the thresholds: the team's
    #: ``alert_on_exploitable``; empty otherwise.
    exploitable: dict[str, str] = dataclasses.field(default_factory=dict)


#: What one evaluation of an image came to, for the metrics: its answer and the findings suppressions hid.
Outcome = tuple[dict[str, Any], int]


@dataclass
class Tally:
    """What an invocation's evaluations came to, for its metrics: each evaluation's outcome, and the types of the
    claimed notifications it re-sent first (sent notifications too, whatever the evaluation then answered)."""

    outcomes: list[Outcome] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    suppressions_not_applied: int = 0  # evaluations whose accepted risks could not be applied (every finding counted)
    undecided: int = 0  # results whose owner could not be decided (retried: OwnersUndecided)
    #: The complete results evaluated whose findings could be read, with their answer: what the Security Hub
    #: export (``handlers/findings.py``) sends, after the stage recorded them.
    evaluated: list[tuple[dict[str, Any], Observed]] = field(default_factory=list)

    def add(self, outcome: dict[str, Any], observed: Observed | None) -> None:
        self.outcomes.append((outcome, _suppressed(observed)))
        if observed is not None and observed.findings is not None and observed.section is not None:
            self.evaluated.append((outcome, observed))
        section = observed.section if observed is not None else None
        if section is not None and "suppressions_unavailable" in section.extra:
            self.suppressions_not_applied += 1


@dataclass
class BatchReport:
    """What :func:`report_finding_events` did with a batch: the messages to retry and the counts for its log."""

    failures: list[dict[str, str]] = field(default_factory=list)  # SQS batchItemFailures entries
    images: int = 0
    notified: int = 0
    ignored: int = 0  # events of repositories not selected
    failed: int = 0
    deferred: int = 0  # images left for a later invocation (out of time)


def image_fields(result: events.ScanResult) -> dict[str, Any]:
    """The image's identifying fields, for log lines and answers."""
    return {
        "repository": result.repository,
        "registry_id": result.registry_id,
        "image_digest": result.image_digest,
        "image_tags": list(result.image_tags),
        "scan_source": result.source,
        "scan_status": result.status,
    }


def ignore_reason(result: events.ScanResult, config: Settings) -> str | None:
    """Why this result is not reported (None: report it)."""
    if result.status not in (events.COMPLETE, events.FAILED):
        return f"scan status {result.status} is neither complete nor failed"
    if not selection.repository_selected(result.repository, config.include_regex, config.exclude_regex):
        return "repository not selected by REPOSITORY_INCLUDE_REGEX / REPOSITORY_EXCLUDE_REGEX"
    if result.status == events.FAILED and not config.notify_on_scan_failure:
        return "scan failed and NOTIFY_ON_SCAN_FAILURE is false"
    return None


def report_scan(
    result: events.ScanResult, config: Settings, tally: Tally, remaining: Remaining = None
) -> dict[str, Any]:
    """Report one complete or failed result that :func:`ignore_reason` lets through (see the module docstring).
    Raises :class:`routing.OwnerUndecided` (logged, counted in ``tally``) when its owner cannot be decided:
    nothing was sent or recorded for it, and Lambda's retry reports it."""
    try:
        route = routing.route(config, result.repository, result.registry_id, result.region)
        image = image_fields(result) | route.fields()
        observed = _observe(result, route) if result.status == events.COMPLETE else None
        response = _report(result, route, tally, remaining, image, observed)
    except routing.OwnerUndecided as exc:
        _undecided(exc, image_fields(result), tally)
        raise
    tally.add(response, observed)
    return response


def _undecided(exc: routing.OwnerUndecided, image: Mapping[str, Any], tally: Tally) -> None:
    """Log and count a result whose owner could not be decided (it is retried)."""
    tally.undecided += 1
    level = logging.ERROR if exc.permanent else logging.WARNING
    fields = {"reason": exc.reason, "permanent": exc.permanent, "error": str(exc), "hint": exc.hint}
    log.emit(logger, "owner_undecided", level, **fields, **image)


def _suppressed(observed: Observed | None) -> int:
    return observed.section.suppressed if observed is not None and observed.section is not None else 0


def _report(
    result: events.ScanResult,
    route: routing.Route,
    tally: Tally,
    remaining: Remaining,
    image: dict[str, Any],
    observed: Observed | None,
) -> dict[str, Any]:
    """Evaluate one image's result and notify (with the ledger: only news)."""
    config = route.config
    if config.ledger_table_name:
        return _with_ledger(result, route, tally, remaining, image, observed)

    if observed is None:
        failure_reason = _failure_reason(result)
        notification = notify.render(
            result, [], config.severity_thresholds, "scan_failed", failure_reason, team=route.message_team
        )
        breached: list[str] = []
    else:
        result = observed.result
        breached = thresholds.breached_severities(
            result.severity_counts, config.severity_thresholds, observed.exploitable
        )
        if not breached:
            counts = dict(result.severity_counts)
            log.emit(logger, "scan_below_threshold", severity_counts=counts, **image)
            return {"status": "below_threshold", **image}
        notification = notify.render(
            result,
            breached,
            config.severity_thresholds,
            "threshold_breached",
            section=observed.section,
            team=route.message_team,
        )

    message_id = _publish(route, notification, image)
    event_type = notification.attributes["event_type"]
    log.emit(
        logger,
        "scan_notified",
        event_type=event_type,
        breached=breached,
        severity_counts=dict(result.severity_counts),
        message_id=message_id,
        **image,
    )
    return {"status": "notified", "event_type": event_type, "breached": breached, "message_id": message_id, **image}


def _with_ledger(
    result: events.ScanResult,
    route: routing.Route,
    tally: Tally,
    remaining: Remaining,
    image: dict[str, Any],
    observed: Observed | None,
    finding_batch: bool = False,
) -> dict[str, Any]:
    """Read findings and record, decide what is news, claim, publish, confirm (see the module docstring).
    ``finding_batch``: the result of a batch of Inspector2 Finding events (``news.is_stale`` decides its staleness
    on the findings read, not on its one-second time). ``route``: the owner, its settings and topics; the owner's
    first result for an image notified to another owner is news for it (:func:`_for_owner`)."""
    config = route.config
    assert config.ledger_table_name is not None
    assert route.topics
    table, dynamodb = config.ledger_table_name, aws.client("dynamodb")
    now = datetime.now(UTC)
    failure_reason = _failure_reason(result) if result.status == events.FAILED else None
    if observed is not None:
        result = observed.result
    observation = news.Observation(
        status=result.status,
        completed_at=result.scan_completed_at,
        severity_counts=result.severity_counts,
        findings=observed.findings if observed is not None else None,
        failure_reason=failure_reason,
        fingerprint=observed.fingerprint if observed is not None else None,
        finding_batch=finding_batch,
        exploitable=observed.exploitable if observed is not None else {},
    )
    key = (result.registry_id, result.repository, result.image_digest)
    settings = news.NewsSettings.from_settings(config)
    for _ in range(WRITE_ATTEMPTS):
        previous = ledger.get_record(dynamodb, table, *key)
        if previous is not None and previous.pending_token:
            if previous.pending_until is not None and previous.pending_until > now:
                if previous.scan_completed_at == observation.completed_at and not finding_batch:
                    # A batch's one-second time says little: another batch of that second may carry another
                    # finding (news.is_stale), so a live claim means "retry later" for it, never "duplicate".
                    log.emit(logger, "scan_duplicate", reason="notification_in_flight", **image)
                    return {"status": "duplicate", "reason": "notification_in_flight", **image}
                raise NotificationInFlight(f"a notification for {result.image_digest} is being published; retry")
            _resend_claimed(dynamodb, table, previous, result, route.module_config, tally, remaining)
            continue  # read the record again, claim cleared
        decision = news.decide(_for_owner(previous, route), observation, settings, now)
        if decision.stale:
            log.emit(logger, "scan_duplicate", reason="not_newer_than_recorded", **image)
            return {"status": "duplicate", "reason": "not_newer_than_recorded", **image}
        token = str(uuid.uuid4()) if decision.notify else None
        completed_at = observation.completed_at
        if finding_batch and previous is not None and previous.scan_completed_at is not None:
            completed_at = max(completed_at, previous.scan_completed_at)  # a batch read now: never move back
        record = ledger.result_record(
            previous,
            registry_id=result.registry_id,
            repository=result.repository,
            digest=result.image_digest,
            image_tags=result.image_tags,
            source=result.source,
            status=result.status,
            completed_at=completed_at,
            severity_counts=result.severity_counts,
            findings=observation.findings,
            failure_reason=failure_reason,
            breached=decision.breached,
            notified_findings=decision.notified_findings,
            notify=decision.notify,
            now=now,
            ttl=ledger.expires_at(now, config.scan_expiry_days),
            pending_token=token,
            pending_until=_deadline(remaining) if token else None,
            pending_new_findings=dict(decision.new_findings),
            suppressed_findings=observed.suppressed if observed is not None else None,
            notified_digests=decision.notified_digests,
            findings_sha256=observation.fingerprint,
            team=route.recorded_team,
        )
        written = ledger.put_record(dynamodb, table, record, previous.revision if previous else None)
        if written is not None:
            break
    else:
        raise LedgerContention(f"the ledger record of {result.image_digest} changed {WRITE_ATTEMPTS} times; retry")
    if written.findings_omitted:
        log.emit(
            logger,
            "scan_record_fitted",
            logging.WARNING,
            findings_recorded=len(written.findings),
            findings_omitted=written.findings_omitted,
            notified_digests=len(written.notified_digests),
            reason=f"the record would exceed {ledger.ITEM_BUDGET} bytes (DynamoDB's item limit is 400 KB)",
            **image,
        )

    fields = {**image, "reason": decision.reason, "breached": list(decision.breached)}
    if decision.notify is None or token is None:
        log.emit(logger, "scan_not_news", severity_counts=dict(result.severity_counts), **fields)
        return {"status": "not_news", **fields}
    notification = notify.render(
        result,
        decision.breached,
        config.severity_thresholds,
        decision.notify,  # type: ignore[arg-type]
        failure_reason,
        decision.new_findings,
        section=observed.section if observed is not None and decision.notify != "resolved" else None,
        team=route.message_team,
    )
    message_id = _publish(route, notification, image)
    confirmed = ledger.confirm_notified(dynamodb, table, *key, token, message_id)
    log.emit(
        logger,
        "scan_notified",
        event_type=decision.notify,
        new_findings=[i for i, _ in decision.new_findings],
        severity_counts=dict(result.severity_counts),
        message_id=message_id,
        confirmed=confirmed,
        **fields,
    )
    return {"status": "notified", "event_type": decision.notify, "message_id": message_id, **fields}


def _resend_claimed(
    dynamodb: Any,
    table: str,
    claimed: ledger.LedgerRecord,
    result: events.ScanResult,
    config: Settings,
    tally: Tally,
    remaining: Remaining = None,
) -> None:
    """Publish the notification an invocation claimed and never confirmed (it died after its deadline), rendered
    from the record, and confirm it under a fresh claim of this invocation (valid until its own deadline, so a
    concurrent delivery sees a live claim and does not take it over again), so it goes out at least once (counted
    in ``tally``). Nothing is published when another invocation took the claim over first."""
    token = str(uuid.uuid4())
    kind = claimed.pending_type
    if kind not in notify.KINDS or claimed.scan_completed_at is None:
        kind = None  # nothing that can be rendered was claimed: clear the claim
    # Where it goes, before taking the claim over: an owner that cannot be decided now leaves the claim as it is.
    route = routing.recorded_route(config, claimed.notified_team) if kind is not None else None
    takeover = dataclasses.replace(claimed, pending_token=token, pending_until=_deadline(remaining))
    fresh = ledger.put_record(dynamodb, table, takeover, claimed.revision)
    if fresh is None:
        return  # someone else took it over first: read again
    if kind is None or route is None or claimed.scan_completed_at is None:
        ledger.confirm_notified(dynamodb, table, claimed.registry_id, claimed.repository, claimed.digest, token, "")
        return
    recorded = events.ScanResult(
        source=claimed.source if claimed.source in ("ecr", "inspector2") else result.source,  # type: ignore[arg-type]
        status=claimed.scan_status,
        repository=claimed.repository,
        registry_id=claimed.registry_id,
        region=result.region,
        image_digest=claimed.digest,
        image_tags=claimed.image_tags,
        severity_counts=claimed.severity_counts,
        scan_completed_at=claimed.scan_completed_at,
    )
    new_findings = sorted(claimed.pending_new_findings.items(), key=news.finding_order)
    notification = notify.render(
        recorded,
        claimed.breached,
        route.config.severity_thresholds,
        kind,  # type: ignore[arg-type]
        claimed.failure_reason,
        new_findings,
        team=route.message_team,
    )
    image = {"repository": claimed.repository, "image_digest": claimed.digest, **route.fields()}
    message_id = _publish(route, notification, image)
    tally.resent.append(kind)
    ledger.confirm_notified(dynamodb, table, claimed.registry_id, claimed.repository, claimed.digest, token, message_id)
    log.emit(
        logger,
        "scan_notified",
        event_type=kind,
        reason="claim_expired_resent",
        repository=claimed.repository,
        image_digest=claimed.digest,
        message_id=message_id,
    )


def _publish(route: routing.Route, notification: sns_message.Notification, image: Mapping[str, Any]) -> str:
    """Publish to the route's topics, the owner's first (and its chat topics); returns the first topic's message
    id. A message SNS refuses for good is replaced by a short notice (see the module docstring); any other error
    raises (Lambda retries the event: a topic that did receive it may receive it twice, none misses it)."""
    assert route.topics
    message_ids = [_publish_to(topic, notification, image) for topic in route.topics]
    for chat in route.chats:
        _publish_chat(chat, notification, image)
    return message_ids[0]


def _publish_to(topic_arn: str, notification: sns_message.Notification, image: Mapping[str, Any]) -> str:
    sns = aws.client("sns", region=topic_arn.split(":")[3])
    try:
        return sns_message.publish(sns, topic_arn, notification)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in UNDELIVERABLE_CODES:
            raise  # throttling, an outage: Lambda retries the event
        return _publish_notice(sns, topic_arn, notification, image, exc)


def _for_owner(previous: ledger.LedgerRecord | None, route: routing.Route) -> ledger.LedgerRecord | None:
    """The record as news sees it for this owner: when the last notification went to another owner (the
    repository changed hands, or teams were just configured), what was notified is forgotten, so the new owner's
    first result in breach is news for it; the record itself keeps everything."""
    if previous is None or route.recorded_team is None:
        return previous
    if (previous.notified_team or "") == route.recorded_team:
        return previous
    return dataclasses.replace(
        previous,
        notified_findings=frozenset(),
        notified_digests=frozenset(),
        breached=(),
        notified_type=None,
        notified_at=None,
    )


def _publish_notice(
    sns: Any, topic_arn: str, notification: sns_message.Notification, image: Mapping[str, Any], error: ClientError
) -> str:
    """Log the refused notification and send a short plain-text notice in its place; raise if that fails too."""
    reason = f"{error.response.get('Error', {}).get('Code')}: {error.response.get('Error', {}).get('Message', '')}"
    log.emit(
        logger,
        "notification_undeliverable",
        logging.ERROR,
        error=reason,
        retryable=False,
        subject=notification.subject,
        size=notify.message_size(notification),
        **image,
    )
    repository = str(image.get("repository", "?"))
    digest = str(image.get("image_digest", "?"))
    text = (
        f"A notification ({notification.attributes.get('event_type')}) about {repository}@{digest} could not be "
        f"delivered: SNS refused it ({reason}).\n\nSubject: {notification.subject}\n"
        "The findings function's log has the details (event notification_undeliverable).\n"
    )
    try:
        response = sns.publish(
            TopicArn=topic_arn,
            Subject=notification.subject[:80].rstrip() + " (undelivered)",
            Message=text,
            **(
                {"MessageGroupId": repository[:128], "MessageDeduplicationId": digest[-64:]}
                if topic_arn.endswith(".fifo")
                else {}
            ),
        )
    except (BotoCoreError, ClientError) as exc:
        raise UndeliverableNotification(f"SNS refused the notification ({reason}) and the notice ({exc})") from exc
    return str(response["MessageId"])


def _publish_chat(topic_arn: str, notification: sns_message.Notification, image: Mapping[str, Any]) -> None:
    """The chat form; a failure is logged (the notification itself went out) and does not fail the event."""
    try:
        sns = aws.client("sns", region=topic_arn.split(":")[3])
        message_id = notify.publish_chat(sns, topic_arn, notification)
    except (BotoCoreError, ClientError) as exc:
        log.emit(logger, "chat_notification_failed", logging.ERROR, error=str(exc), topic_arn=topic_arn, **image)
        return
    log.emit(logger, "chat_notified", message_id=message_id, **image)


def _claim_duration(remaining: Remaining) -> timedelta:
    """Until this invocation's deadline (``remaining``: Lambda's time left in milliseconds): after it, the claimant
    is known to be gone."""
    return timedelta(milliseconds=remaining()) if callable(remaining) else timedelta(seconds=DEFAULT_CLAIM_SECONDS)


def _deadline(remaining: Remaining) -> datetime:
    """A claim's ``pending_until``: this invocation's deadline."""
    return datetime.now(UTC) + _claim_duration(remaining)


def _observe(result: events.ScanResult, route: routing.Route) -> Observed:
    """Read the image's findings and the accepted risks; the counts to compare with the thresholds and what the
    message lists. Never raises for an unreadable findings list or suppressions: the reported counts then
    decide, and the message says what is missing. The owner's ``count_only_fixable`` leaves out of the counts the
    findings the scanner says have no fix; its ``alert_on_exploitable`` marks the findings with a known exploit
    (:attr:`Observed.exploitable`)."""
    config, team = route.config, route.team
    unavailable: str | None = None
    found: image_findings.ImageFindings | None = None
    try:
        found = _read_findings(result)
    except (BotoCoreError, ClientError, LookupError, RuntimeError) as exc:
        unavailable = _short_error(exc)
        log.emit(
            logger,
            "scan_findings_unavailable",
            logging.WARNING,
            error=str(exc),
            repository=result.repository,
            image_digest=result.image_digest,
        )
    extra: dict[str, Any] = {}
    if found is None:
        unknown = [
            s for s in SEVERITIES if config.severity_thresholds.get(s) is not None and s not in result.severity_counts
        ]
        if unknown:  # e.g. LOW of an Inspector2 Scan event: not reported, so not evaluated (never taken as 0)
            log.emit(
                logger,
                "threshold_not_evaluated",
                logging.WARNING,
                severities=unknown,
                reason="the scanner did not report these counts and its findings could not be read",
                repository=result.repository,
                image_digest=result.image_digest,
            )
        section = notify.FindingsSection(limit=config.findings_in_notification, unavailable=unavailable, extra=extra)
        return Observed(result, None, section)

    entries: tuple[suppressions.Suppression, ...] = ()
    if config.suppressions_sha256 and config.ledger_table_name:
        try:
            entries = suppression_store.load(
                aws.client("dynamodb"), config.ledger_table_name, config.suppressions_sha256
            )
        except (BotoCoreError, ClientError, suppression_store.SuppressionsUnavailable) as exc:
            extra["suppressions_unavailable"] = _short_error(exc)
            log.emit(logger, "suppressions_unavailable", logging.ERROR, error=str(exc), repository=result.repository)
    applied = suppressions.apply(found.findings, result.repository, entries, datetime.now(UTC).date())
    if team is not None and team.count_only_fixable:
        unfixable = [f for f in applied.kept if f.fix_available is False]
        if unfixable:
            extra["not_fixable"] = len(unfixable)  # left out of the counts: the scanner knows no fix
            applied = dataclasses.replace(applied, kept=tuple(f for f in applied.kept if f.fix_available is not False))
    else:
        unfixable = []
    counts = _effective_counts(result.severity_counts, found, applied, unfixable)
    kept = dict(sorted(((f.id, f.severity) for f in applied.kept if f.severity in SEVERITIES), key=news.finding_order))
    exploitable = (
        {f.id: f.severity for f in applied.kept if notify.exploitable(f)}
        if team is not None and team.alert_on_exploitable
        else {}
    )
    if applied.suppressed or applied.expired:
        log.emit(
            logger,
            "suppressions_applied",
            suppressed=sorted({f.id for f, _ in applied.suppressed}),
            expired=sorted({e.vulnerability_id for e in applied.expired}),
            repository=result.repository,
            image_digest=result.image_digest,
        )
    section = notify.FindingsSection(
        findings=applied.kept,
        limit=config.findings_in_notification,
        suppressed=applied.suppressed_count,
        expired=[e.describe() for e in applied.expired],
        extra=extra,
    )
    hidden = dict(
        sorted(((f.id, f.severity) for f, _ in applied.suppressed if f.severity in SEVERITIES), key=news.finding_order)
    )
    return Observed(
        dataclasses.replace(result, severity_counts=counts), kept, section, hidden, news.fingerprint(kept), exploitable
    )


def _read_findings(result: events.ScanResult) -> image_findings.ImageFindings:
    """Enhanced scanning: Inspector's active findings of the image (they include LOW); basic: ECR's list."""
    if result.source == "inspector2":
        client = aws.client("inspector2", region=result.region)
        return image_findings.read_inspector_findings(
            client, result.registry_id, result.repository, result.image_digest
        )
    client = aws.client("ecr", region=result.region)
    return image_findings.read_image_findings(client, result.registry_id, result.repository, result.image_digest)


def _effective_counts(
    reported: Mapping[str, int],
    found: image_findings.ImageFindings,
    applied: suppressions.Applied,
    uncounted: Sequence[image_findings.Finding] = (),
) -> dict[str, int]:
    """Per severity: the count the event reported, or (when it reported none for that severity, like LOW in an
    Inspector2 Scan event) the count of the findings read; less the suppressed findings of that severity and the
    ``uncounted`` ones (no fix, under ``count_only_fixable``)."""
    from_findings = image_findings.count_by_severity(found.findings)
    suppressed = image_findings.count_by_severity([*(f for f, _ in applied.suppressed), *uncounted])
    counts: dict[str, int] = {}
    for severity in image_findings.SEVERITY_ORDER:
        if severity in reported:
            base = reported[severity]
        elif severity in from_findings or severity in SEVERITIES:
            base = from_findings.get(severity, 0)  # the findings list is complete: absent there means none
        else:
            continue
        counts[severity] = max(base - suppressed.get(severity, 0), 0)
    return counts


def _short_error(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return str(exc) or type(exc).__name__


# --- Inspector2 Finding events: SQS batches from the buffer queue ---------------------------------------------------


def report_finding_events(
    parsed: Sequence[tuple[str, events.FindingEvent]], config: Settings, tally: Tally, remaining: Remaining = None
) -> BatchReport:
    """Group a batch's parsed events (SQS message id, event) by image; report each image once; the messages of
    images that failed (or had no time left) are the report's failures."""
    report = BatchReport()
    groups: dict[tuple[str, str, str, str], list[tuple[str, events.FindingEvent]]] = {}
    for message_id, parsed_event in parsed:
        if not selection.repository_selected(parsed_event.repository, config.include_regex, config.exclude_regex):
            report.ignored += 1
            continue
        groups.setdefault(parsed_event.image_key, []).append((message_id, parsed_event))

    for index, image_events in enumerate(groups.values()):
        if index and callable(remaining) and remaining() < FINDING_EVENTS_RESERVE_MS:
            # Out of time: the rest go back to the queue and come again (a large burst spans invocations).
            later = list(groups.values())[index:]
            report.deferred = len(later)
            report.failures += [{"itemIdentifier": m} for group in later for m, _ in group if m]
            log.emit(logger, "finding_events_deferred", images=len(later), reason="invocation running out of time")
            break
        report.images += 1
        latest = max((e for _, e in image_events), key=lambda e: e.time)
        result = events.ScanResult(
            source="inspector2",
            status=events.COMPLETE,
            repository=latest.repository,
            registry_id=latest.registry_id,
            region=latest.region,
            image_digest=latest.image_digest,
            image_tags=latest.image_tags,
            severity_counts={},  # Inspector's active findings of the image give every count
            scan_completed_at=latest.time,
        )
        image = {
            "repository": result.repository,
            "registry_id": result.registry_id,
            "image_digest": result.image_digest,
            "image_tags": list(result.image_tags),
            "scan_source": "inspector2",
            "finding_events": len(image_events),
            "finding_ids": sorted({e.finding_id for _, e in image_events})[:50],
        }
        try:
            route = routing.route(config, result.repository, result.registry_id, result.region)
            image |= route.fields()
            observed = _observe(result, route)
            if observed.findings is None:
                raise RuntimeError(
                    f"Inspector's findings could not be read ({observed.section and observed.section.unavailable})"
                )
            outcome = (
                _with_ledger(result, route, tally, remaining, image, observed, finding_batch=True)
                if config.ledger_table_name
                else _report_observed(observed, route, image)
            )
        except routing.OwnerUndecided as exc:  # retried with the image's messages: nothing sent or recorded
            report.failed += 1
            _undecided(exc, image, tally)
            report.failures += [{"itemIdentifier": m} for m, _ in image_events if m]
            continue
        except Exception as exc:  # one image's failure must not lose the others' reports
            report.failed += 1
            log.emit(logger, "finding_events_failed", logging.ERROR, error=str(exc), **image)
            report.failures += [{"itemIdentifier": m} for m, _ in image_events if m]
            continue
        tally.add(outcome, observed)
        if outcome.get("status") == "notified":
            report.notified += 1
    return report


def _report_observed(observed: Observed, route: routing.Route, image: dict[str, Any]) -> dict[str, Any]:
    """Without a ledger: notify when the image breaches (every batch that sees it)."""
    config = route.config
    breached = thresholds.breached_severities(
        observed.result.severity_counts, config.severity_thresholds, observed.exploitable
    )
    if not breached:
        return {"status": "below_threshold", **image}
    notification = notify.render(
        observed.result,
        breached,
        config.severity_thresholds,
        "threshold_breached",
        section=observed.section,
        team=route.message_team,
    )
    message_id = _publish(route, notification, image)
    log.emit(
        logger, "scan_notified", event_type="threshold_breached", breached=breached, message_id=message_id, **image
    )
    return {"status": "notified", "message_id": message_id, **image}


def _failure_reason(result: events.ScanResult) -> str:
    """ECR's description of the failed scan (findings.read_image_findings, the one reader of an image's scan), or
    ``"unknown"`` when ECR cannot say (the error is logged)."""
    try:
        found = image_findings.read_image_findings(
            aws.client("ecr", region=result.region), result.registry_id, result.repository, result.image_digest
        )
    except (BotoCoreError, ClientError, LookupError, RuntimeError) as exc:
        log.emit(
            logger,
            "scan_failure_reason_unavailable",
            logging.WARNING,
            error=str(exc),
            repository=result.repository,
            image_digest=result.image_digest,
        )
        return "unknown"
    return found.failure_reason or "unknown"
