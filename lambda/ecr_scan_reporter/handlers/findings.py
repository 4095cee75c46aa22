"""Findings stage: an ECR / Inspector scan event -> maybe one SNS notification.

parse (events.py) -> decide (policy.py) -> act (ECR for a failure reason, SNS via notify.py) -> a small dict:
``{"status": "notified" | "below_threshold" | "ignored" | "rejected", ...}`` and one JSON log line per decision.

With the scan ledger (``LEDGER_TABLE_NAME``): parse -> read the image's findings (findings.py) -> read the image's
record (ledger.py) -> decide (news.py, pure) -> claim -> publish -> confirm. Statuses then also include
``"duplicate"`` (not newer than the recorded result) and ``"not_news"`` (recorded, nothing to notify).

No alert lost, none duplicated: the record is written *before* publishing, with a pending claim (token, type,
new findings, valid until this invocation's deadline), conditionally on the revision that was read, so of two
concurrent deliveries of one event exactly one claims it; the other answers ``duplicate``. After SNS accepts the
message the claim is confirmed (cleared). If the function dies between claim and confirm, Lambda retries the event
after the deadline has passed: the retry finds the expired claim and publishes the claimed notification (rendered
from the record) before anything else, so it is sent at least once; it is sent twice only if the function died
after SNS accepted it and before the confirm. A different, newer result arriving while a claim is live raises
(Lambda retries it later), so results are evaluated in order.

A malformed event is logged and answered with ``rejected``, never raised: EventBridge invokes this function
asynchronously, and raising would retry the same bad event. AWS errors while publishing do raise (a retry may
succeed); a bad configuration raises ConfigError on the first invocation.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter import aws, events, ledger, log, metrics, news, notify, policy
from ecr_scan_reporter import findings as image_findings
from ecr_scan_reporter.config import SEVERITIES, Settings
from ecr_scan_reporter.handlers import emit_metrics, load_settings

logger = log.get_logger(__name__)
#: How long a claim lasts when the invocation's deadline is unknown (no Lambda context): the function's timeout.
DEFAULT_CLAIM_SECONDS = 60
WRITE_ATTEMPTS = 3
#: Findings recorded per image at most (the most severe first): a DynamoDB item holds 400 KB, and the record
#: keeps the findings and the notified ones.
RECORDED_FINDINGS_MAX = 4_000


class NotificationInFlight(RuntimeError):
    """Another invocation is publishing a notification for an older result of this image: retry later."""


class LedgerContention(RuntimeError):
    """The image's record kept changing between read and write: retry later."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    config = load_settings("sns_topic_arn")
    response = _handle(event, context, config)
    emit_metrics(context, config, _measured(response))
    return response


def _measured(response: dict[str, Any]) -> list[metrics.Metric]:
    """Notifications sent by type; results in breach by severity; results in breach already notified (held back)."""
    status, breached = response["status"], response.get("breached") or []
    if status not in ("notified", "not_news"):
        return []
    found = [m for s in breached for m in metrics.counts({metrics.IMAGES_IN_BREACH: 1}, {metrics.SEVERITY: s})]
    if status == "notified":
        return found + metrics.counts({metrics.NOTIFICATIONS_SENT: 1}, {metrics.EVENT_TYPE: response["event_type"]})
    return found + metrics.counts({metrics.NOTIFICATIONS_HELD_BACK: 1}) if breached else []


def _handle(event: Any, context: Any, config: Settings) -> dict[str, Any]:
    try:
        result = events.parse(event)
    except events.MalformedEvent as exc:
        log.emit(logger, "scan_event_rejected", logging.ERROR, problem=str(exc), **_envelope(event))
        return {"status": "rejected", "reason": str(exc)}
    except events.UnsupportedEvent as exc:
        log.emit(logger, "scan_event_ignored", reason=str(exc), **_envelope(event))
        return {"status": "ignored", "reason": str(exc)}

    image = {
        "repository": result.repository,
        "registry_id": result.registry_id,
        "image_digest": result.image_digest,
        "image_tags": list(result.image_tags),
        "scan_source": result.source,
        "scan_status": result.status,
    }
    reason = _ignore_reason(result, config)
    if reason:
        log.emit(logger, "scan_event_ignored", reason=reason, **image)
        return {"status": "ignored", "reason": reason, **image}

    if config.ledger_table_name:
        return _with_ledger(result, config, context, image)

    if result.status == events.FAILED:
        failure_reason = _failure_reason(result)
        notification = notify.render(result, [], config.severity_thresholds, "scan_failed", failure_reason)
        breached: list[str] = []
    else:
        breached = policy.evaluate_thresholds(result.severity_counts, config.severity_thresholds)
        if not breached:
            counts = dict(result.severity_counts)
            log.emit(logger, "scan_below_threshold", severity_counts=counts, **image)
            return {"status": "below_threshold", **image}
        notification = notify.render(result, breached, config.severity_thresholds, "threshold_breached")

    assert config.sns_topic_arn is not None  # required by load_settings()
    sns = aws.client("sns", region=config.sns_topic_arn.split(":")[3])
    message_id = notify.publish(sns, config.sns_topic_arn, notification)
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


def _with_ledger(result: events.ScanResult, config: Settings, context: Any, image: dict[str, Any]) -> dict[str, Any]:
    """Read findings and record, decide what is news, claim, publish, confirm (see the module docstring)."""
    assert config.ledger_table_name is not None
    assert config.sns_topic_arn is not None
    table, dynamodb = config.ledger_table_name, aws.client("dynamodb")
    now = datetime.now(UTC)
    failure_reason = _failure_reason(result) if result.status == events.FAILED else None
    observation = news.Observation(
        status=result.status,
        completed_at=result.scan_completed_at,
        severity_counts=result.severity_counts,
        findings=_read_findings(result) if result.status == events.COMPLETE else None,
        failure_reason=failure_reason,
    )
    key = (result.registry_id, result.repository, result.image_digest)
    settings = news.NewsSettings.from_settings(config)
    for _ in range(WRITE_ATTEMPTS):
        previous = ledger.get_record(dynamodb, table, *key)
        if previous is not None and previous.pending_token:
            if previous.pending_until is not None and previous.pending_until > now:
                if previous.scan_completed_at == observation.completed_at:
                    log.emit(logger, "scan_duplicate", reason="notification_in_flight", **image)
                    return {"status": "duplicate", "reason": "notification_in_flight", **image}
                raise NotificationInFlight(f"a notification for {result.image_digest} is being published; retry")
            _resend_claimed(dynamodb, table, previous, result, config)
            continue  # read the record again, claim cleared
        decision = news.decide(previous, observation, settings, now)
        if decision.stale:
            log.emit(logger, "scan_duplicate", reason="not_newer_than_recorded", **image)
            return {"status": "duplicate", "reason": "not_newer_than_recorded", **image}
        token = str(uuid.uuid4()) if decision.notify else None
        record = ledger.result_record(
            previous,
            registry_id=result.registry_id,
            repository=result.repository,
            digest=result.image_digest,
            image_tags=result.image_tags,
            source=result.source,
            status=result.status,
            completed_at=observation.completed_at,
            severity_counts=result.severity_counts,
            findings=observation.findings,
            failure_reason=failure_reason,
            breached=decision.breached,
            notified_findings=decision.notified_findings,
            notify=decision.notify,
            now=now,
            ttl=ledger.expires_at(now, config.scan_expiry_days),
            pending_token=token,
            pending_until=now + _claim_duration(context) if token else None,
            pending_new_findings=dict(decision.new_findings),
        )
        written = ledger.put_record(dynamodb, table, record, previous.revision if previous else None)
        if written is not None:
            break
    else:
        raise LedgerContention(f"the ledger record of {result.image_digest} changed {WRITE_ATTEMPTS} times; retry")

    fields = {**image, "reason": decision.reason, "breached": list(decision.breached)}
    if decision.notify is None or token is None:
        log.emit(logger, "scan_not_news", severity_counts=dict(result.severity_counts), **fields)
        return {"status": "not_news", **fields}
    notification = notify.render(
        result, decision.breached, config.severity_thresholds, decision.notify, failure_reason, decision.new_findings
    )
    message_id = _publish(config, notification)
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
    dynamodb: Any, table: str, claimed: ledger.LedgerRecord, result: events.ScanResult, config: Settings
) -> None:
    """Publish the notification an invocation claimed and never confirmed (it died after its deadline), rendered
    from the record, and confirm it under a fresh claim, so it goes out at least once."""
    token = str(uuid.uuid4())
    kind = claimed.pending_type
    if kind not in notify.KINDS or claimed.scan_completed_at is None:
        kind = None  # nothing that can be rendered was claimed: clear the claim
    fresh = ledger.put_record(dynamodb, table, dataclasses.replace(claimed, pending_token=token), claimed.revision)
    if fresh is None:
        return  # someone else took it over first: read again
    if kind is None or claimed.scan_completed_at is None:
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
        config.severity_thresholds,
        kind,  # type: ignore[arg-type]
        claimed.failure_reason,
        new_findings,
    )
    message_id = _publish(config, notification)
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


def _publish(config: Settings, notification: notify.Notification) -> str:
    assert config.sns_topic_arn is not None
    sns = aws.client("sns", region=config.sns_topic_arn.split(":")[3])
    return notify.publish(sns, config.sns_topic_arn, notification)


def _claim_duration(context: Any) -> timedelta:
    """Until this invocation's deadline: after it, the claimant is known to be gone."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return timedelta(milliseconds=remaining()) if callable(remaining) else timedelta(seconds=DEFAULT_CLAIM_SECONDS)


def _read_findings(result: events.ScanResult) -> dict[str, str] | None:
    """The image's findings at thresholded severities (id -> severity), or None when they cannot be read (the
    decision then falls back to the counts; the problem is logged)."""
    try:
        found = image_findings.read_image_findings(
            aws.client("ecr", region=result.region), result.registry_id, result.repository, result.image_digest
        )
    except (BotoCoreError, ClientError, LookupError) as exc:
        log.emit(
            logger,
            "scan_findings_unavailable",
            logging.WARNING,
            error=str(exc),
            repository=result.repository,
            image_digest=result.image_digest,
        )
        return None
    tracked = {f.id: f.severity.upper() for f in found.findings if f.severity.upper() in SEVERITIES}
    if len(tracked) > RECORDED_FINDINGS_MAX:
        kept = sorted(tracked.items(), key=news.finding_order)[:RECORDED_FINDINGS_MAX]
        log.emit(
            logger,
            "scan_findings_truncated",
            logging.WARNING,
            findings=len(tracked),
            kept=RECORDED_FINDINGS_MAX,
            repository=result.repository,
            image_digest=result.image_digest,
        )
        tracked = dict(kept)
    return tracked


def _ignore_reason(result: events.ScanResult, config: Settings) -> str | None:
    if result.status not in (events.COMPLETE, events.FAILED):
        return f"scan status {result.status} is neither complete nor failed"
    if not policy.repository_selected(result.repository, config.include_regex, config.exclude_regex):
        return "repository not selected by REPOSITORY_INCLUDE_REGEX / REPOSITORY_EXCLUDE_REGEX"
    if result.status == events.FAILED and not config.notify_on_scan_failure:
        return "scan failed and NOTIFY_ON_SCAN_FAILURE is false"
    return None


def _failure_reason(result: events.ScanResult) -> str:
    """ECR's description of the failed scan, or ``"unknown"`` when ECR cannot say (the error is logged)."""
    try:
        response = aws.client("ecr", region=result.region).describe_image_scan_findings(
            repositoryName=result.repository,
            registryId=result.registry_id,
            imageId={"imageDigest": result.image_digest},
            maxResults=1,
        )
    except (BotoCoreError, ClientError) as exc:
        log.emit(
            logger,
            "scan_failure_reason_unavailable",
            logging.WARNING,
            error=str(exc),
            repository=result.repository,
            image_digest=result.image_digest,
        )
        return "unknown"
    description = (response.get("imageScanStatus") or {}).get("description")
    return description.strip() if isinstance(description, str) and description.strip() else "unknown"


def _envelope(event: Any) -> dict[str, Any]:
    """The identifying envelope fields of a raw event, for the log line (whatever their shape)."""
    if not isinstance(event, dict):
        return {"event_python_type": type(event).__name__}
    names = {"id": "event_id", "source": "event_source", "detail-type": "detail_type"}
    return {field: event[key] for key, field in names.items() if key in event}
