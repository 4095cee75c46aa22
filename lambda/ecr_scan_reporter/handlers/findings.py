"""Findings stage: an ECR / Inspector scan event -> maybe one SNS notification.

parse (events.py) -> decide (policy.py) -> act (ECR for a failure reason, SNS via notify.py) -> a small dict:
``{"status": "notified" | "below_threshold" | "ignored" | "rejected", ...}`` and one JSON log line per decision.

A malformed event is logged and answered with ``rejected``, never raised: EventBridge invokes this function
asynchronously, and raising would retry the same bad event. AWS errors while publishing do raise (a retry may
succeed); a bad configuration raises ConfigError on the first invocation.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter import aws, events, log, metrics, notify, policy
from ecr_scan_reporter.config import Settings
from ecr_scan_reporter.handlers import emit_metrics, load_settings

logger = log.get_logger(__name__)


def handler(event: Any, context: Any) -> dict[str, Any]:
    config = load_settings("sns_topic_arn")
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
    emit_metrics(context, config, _measured(breached, event_type))
    return {"status": "notified", "event_type": event_type, "breached": breached, "message_id": message_id, **image}


def _measured(breached: list[str], event_type: str) -> list[metrics.Metric]:
    sent = metrics.counts({metrics.NOTIFICATIONS_SENT: 1}, {metrics.EVENT_TYPE: event_type})
    return sent + [m for s in breached for m in metrics.counts({metrics.IMAGES_IN_BREACH: 1}, {metrics.SEVERITY: s})]


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
