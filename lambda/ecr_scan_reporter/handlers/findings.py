"""Findings stage entry point: an ECR / Inspector scan event (EventBridge, asynchronous), or an SQS batch of
``Inspector2 Finding`` events from the buffer queue -> ``alerts/stage.py`` (what happens to a scan result).

A scan event is answered with a small dict, ``{"status": "notified" | "below_threshold" | "duplicate" |
"not_news" | "ignored" | "rejected", ...}``. A malformed event is logged (``scan_event_rejected``) and answered with
``rejected``, never raised: raising would make Lambda retry the same bad event. AWS errors while reporting do raise
(a retry may succeed), and so does a result whose owner cannot be decided (``alerts/routing.OwnerUndecided``:
the teams not the deployed version, the repository's tags throttled or denied; counted as ``OwnersUndecided``
before it raises), so that its owner is told once, by the retry; a bad configuration raises ConfigError on the
first invocation. A batch is answered with an
SQS partial batch response: malformed messages and the messages of images that could not be reported are its
failures (retried, then dead-lettered). Each invocation ends with one emit_metrics().

With ``SECURITY_HUB_PRODUCT_ARN`` (and the ledger), every complete result the stage evaluated and recorded is then
exported to Security Hub (``securityhub/export.py``: the findings in breach, updated on change, resolved when
gone). An export never costs the alert: it runs after the notification was published and confirmed; a failure is
logged (``securityhub_export_failed``) and counted (``SecurityHubExportFailures``, as is an image whose archived
findings' workflow could not be set). For a scan event a failure a retry can help (throttling, a 5xx, the network)
then raises, after the metrics: Lambda's retry finds the result recorded and its claim confirmed (``duplicate``:
nothing published again) and exports again. A batch never raises for it (its messages were reported): the image's
next result exports the difference again.

The export keeps :data:`export.DEADLINE_RESERVE_MS` of the invocation in hand: with less left it starts no call,
records what Security Hub took and hands the rest over as the findings function hands over work (not a failure,
logged ``securityhub_export_deferred``): a scan or deletion event raises after the metrics (Lambda's retry exports
the rest: ``duplicate`` for the alert), a batch lists the messages of the images not exported among its
``batchItemFailures`` (SQS delivers them again: the stage answers ``not_news``, the export sends the rest).

With the export, an ``ECR Image Action`` DELETE event (``securityhub/deletion.py``) resolves what was exported for
the deleted image (``export.resolve_deleted``), answered ``{"status": "resolved" | "not_exported" |
"image_remains" | "failed" | "deferred" | "ignored" | "rejected", ...}``; its failures are logged, counted and raised
the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecr_scan_reporter.alerts import events, routing, stage
from ecr_scan_reporter.core import aws, log, metrics
from ecr_scan_reporter.core.config import Settings
from ecr_scan_reporter.core.teams import UNOWNED
from ecr_scan_reporter.handlers import emit_metrics, load_settings
from ecr_scan_reporter.securityhub import asff, deletion, export

logger = log.get_logger(__name__)


def handler(event: Any, context: Any) -> dict[str, Any]:
    config = load_settings("sns_topic_arn")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    remaining = remaining if callable(remaining) else None
    tally = stage.Tally()
    batch = isinstance(event, dict) and isinstance(event.get("Records"), list)
    exports = _Exports(out_of_time=lambda: callable(remaining) and remaining() < export.DEADLINE_RESERVE_MS)
    messages: dict[tuple[str, str, str, str], list[str]] = {}
    if batch:
        response = _finding_events(event["Records"], config, remaining, tally, messages)
    elif deletion.is_image_action(event):
        response = _image_deleted(event, config, exports)
    else:
        try:
            response = _scan_event(event, config, remaining, tally)
        except routing.OwnerUndecided:
            emit_metrics(context, config, _measured(tally))  # OwnersUndecided: counted before Lambda retries
            raise
    _export_to_security_hub(config, tally, exports)
    failures = len(exports.failed) + exports.workflow_not_resolved
    counted = metrics.counts({metrics.SECURITY_HUB_EXPORT_FAILURES: failures}) if failures else []
    emit_metrics(context, config, _measured(tally) + counted)
    if batch:  # the images not exported in time: their messages come again
        listed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        later = [m for key in exports.handed_over for m in messages.get(key, []) if m not in listed]
        response["batchItemFailures"] += [{"itemIdentifier": m} for m in dict.fromkeys(later)]
        return response
    retry = [exc for exc in exports.failed if exc.retryable] + exports.deferred
    if retry:
        raise retry[0]  # the alert went out and is recorded: Lambda's retry only exports again
    return response


@dataclass
class _Exports:
    """What the invocation's Security Hub exports came to: the failures (each logged), the images handed over
    (out of time: by (region, registry, repository, digest)) and why, the images whose workflow was not set."""

    out_of_time: Callable[[], bool]
    failed: list[export.ExportFailed] = field(default_factory=list)
    deferred: list[export.OutOfTime] = field(default_factory=list)
    handed_over: list[tuple[str, str, str, str]] = field(default_factory=list)
    workflow_not_resolved: int = 0


def _export_to_security_hub(config: Settings, tally: stage.Tally, exports: _Exports) -> None:
    """Export each evaluated result (see the module docstring) until time runs short; the rest is handed over."""
    if not config.security_hub_product_arn or not config.ledger_table_name or not tally.evaluated:
        return
    product = config.security_hub_product_arn
    client = aws.client("securityhub", region=product.split(":")[3])
    dynamodb = aws.client("dynamodb")
    for response, observed in tally.evaluated:
        result = observed.result
        key = (result.region, result.registry_id, result.repository, result.image_digest)
        if exports.deferred:  # out of time: the images after it are the next invocation's too
            exports.handed_over.append(key)
            continue
        image = asff.Image(
            result.registry_id, result.repository, result.image_digest, result.region, tuple(result.image_tags), product
        )
        findings = observed.section.findings if observed.section is not None else ()
        try:
            exported = export.export_image(
                client,
                dynamodb,
                config.ledger_table_name,
                image,
                findings,
                None,  # the severities in breach as the stage recorded them
                observed.exploitable,
                datetime.now(UTC),
                result.scan_completed_at,
                exports.out_of_time,
            )
        except export.OutOfTime as exc:
            exports.deferred.append(exc)
            exports.handed_over.append(key)
        except export.ExportFailed as exc:
            exports.failed.append(exc)
            log.emit(
                logger,
                "securityhub_export_failed",
                logging.ERROR,
                error=str(exc),
                retryable=exc.retryable,
                stage_status=response.get("status"),
                repository=result.repository,
                registry_id=result.registry_id,
                image_digest=result.image_digest,
            )
        else:
            exports.workflow_not_resolved += 1 if exported.get("workflow_not_resolved") else 0


def _image_deleted(event: Any, config: Settings, exports: _Exports) -> dict[str, Any]:
    """An image deleted from ECR: resolve what was exported for it; a failure is logged and added to ``exports``.
    Without the export an image action is none of this function's business (no rule sends it): ignored unread."""
    if not config.security_hub_product_arn or not config.ledger_table_name:
        reason = "an ECR Image Action, but the Security Hub export is off (no SECURITY_HUB_PRODUCT_ARN or ledger)"
        log.emit(logger, "scan_event_ignored", reason=reason, **_envelope(event))
        return {"status": "ignored", "reason": reason}
    try:
        deleted = deletion.parse(event)
    except deletion.MalformedEvent as exc:
        log.emit(logger, "scan_event_rejected", logging.ERROR, problem=str(exc), **_envelope(event))
        return {"status": "rejected", "reason": str(exc)}
    except deletion.UnsupportedEvent as exc:
        log.emit(logger, "scan_event_ignored", reason=str(exc), **_envelope(event))
        return {"status": "ignored", "reason": str(exc)}
    fields = {
        "repository": deleted.repository,
        "registry_id": deleted.registry_id,
        "image_digest": deleted.image_digest,
    }
    product = config.security_hub_product_arn
    image = asff.Image(deleted.registry_id, deleted.repository, deleted.image_digest, deleted.region, (), product)
    try:
        resolved = export.resolve_deleted(
            aws.client("securityhub", region=product.split(":")[3]),
            aws.client("ecr"),
            aws.client("dynamodb"),
            config.ledger_table_name,
            image,
            datetime.now(UTC),
            exports.out_of_time,
        )
    except export.OutOfTime as exc:
        exports.deferred.append(exc)
        return {"status": "deferred", "reason": str(exc), **fields}
    except export.ExportFailed as exc:
        exports.failed.append(exc)
        log.emit(
            logger,
            "securityhub_export_failed",
            logging.ERROR,
            error=str(exc),
            retryable=exc.retryable,
            stage_status="image_deleted",
            image_tag=deleted.image_tag,
            **fields,
        )
        return {"status": "failed", "reason": str(exc), **fields}
    exports.workflow_not_resolved += 1 if resolved.get("workflow_not_resolved") else 0
    return resolved


def _measured(tally: stage.Tally) -> list[metrics.Metric]:
    """Notifications sent by type (claimed ones re-sent included); results in breach by severity; results in breach
    not sent because the image was already notified (held back); findings hidden by suppressions; evaluations
    that applied no suppression (the stored list unreadable or not the expected version: every finding counted);
    results whose owner could not be decided (retried: ``OwnersUndecided``).
    With teams, images in breach and notifications sent are counted by ``Team`` as well (``unowned``: nobody)."""
    found: list[metrics.Metric] = []
    for event_type in tally.resent:
        found += metrics.counts({metrics.NOTIFICATIONS_SENT: 1}, {metrics.EVENT_TYPE: event_type})
    for response, suppressed in tally.outcomes:
        status, breached = response.get("status"), response.get("breached") or []
        if status in ("notified", "not_news"):
            found += [m for s in breached for m in metrics.counts({metrics.IMAGES_IN_BREACH: 1}, {metrics.SEVERITY: s})]
        if status == "notified":
            event_type = str(response.get("event_type") or "threshold_breached")
            found += metrics.counts({metrics.NOTIFICATIONS_SENT: 1}, {metrics.EVENT_TYPE: event_type})
        if "team" in response:  # teams configured: the same counts by owner (images, not severities)
            team = {metrics.TEAM: str(response["team"] or UNOWNED)}
            if status in ("notified", "not_news") and breached:
                found += metrics.counts({metrics.IMAGES_IN_BREACH: 1}, team)
            if status == "notified":
                found += metrics.counts({metrics.NOTIFICATIONS_SENT: 1}, team)
        elif status == "not_news" and breached:
            found += metrics.counts({metrics.NOTIFICATIONS_HELD_BACK: 1})
        if suppressed:
            found += metrics.counts({metrics.FINDINGS_SUPPRESSED: suppressed})
    if tally.suppressions_not_applied:
        found += metrics.counts({metrics.SUPPRESSIONS_NOT_APPLIED: tally.suppressions_not_applied})
    if tally.undecided:
        found += metrics.counts({metrics.OWNERS_UNDECIDED: tally.undecided})
    return found


def _scan_event(event: Any, config: Settings, remaining: stage.Remaining, tally: stage.Tally) -> dict[str, Any]:
    try:
        result = events.parse(event)
    except events.MalformedEvent as exc:
        log.emit(logger, "scan_event_rejected", logging.ERROR, problem=str(exc), **_envelope(event))
        return {"status": "rejected", "reason": str(exc)}
    except events.UnsupportedEvent as exc:
        log.emit(logger, "scan_event_ignored", reason=str(exc), **_envelope(event))
        return {"status": "ignored", "reason": str(exc)}
    reason = stage.ignore_reason(result, config)
    if reason:
        image = stage.image_fields(result)
        log.emit(logger, "scan_event_ignored", reason=reason, **image)
        return {"status": "ignored", "reason": reason, **image}
    return stage.report_scan(result, config, tally, remaining)


def _finding_events(
    records: list[Any],
    config: Settings,
    remaining: stage.Remaining,
    tally: stage.Tally,
    messages: dict[tuple[str, str, str, str], list[str]],
) -> dict[str, Any]:
    """Parse each message; a malformed one is a batch item failure (retried, then dead-lettered: a person sees it).
    ``messages`` gets the message ids of each image (for the export to hand an image over)."""
    parsed: list[tuple[str, events.FindingEvent]] = []
    failures: list[dict[str, str]] = []
    rejected = ignored = 0
    for record in records:
        message_id = str(record.get("messageId", "")) if isinstance(record, dict) else ""
        try:
            parsed.append((message_id, events.parse_finding_event(json.loads(record["body"]))))
        except (KeyError, TypeError, ValueError) as exc:
            unsupported = isinstance(exc, events.UnsupportedEvent)
            name = "finding_event_ignored" if unsupported else "finding_event_rejected"
            log.emit(
                logger, name, logging.INFO if unsupported else logging.ERROR, problem=str(exc), message_id=message_id
            )
            if unsupported:
                ignored += 1
            else:
                rejected += 1
                failures += [{"itemIdentifier": message_id}] if message_id else []
    for message_id, parsed_event in parsed:
        messages.setdefault(parsed_event.image_key, []).extend([message_id] if message_id else [])
    report = stage.report_finding_events(parsed, config, tally, remaining)
    log.emit(
        logger,
        "finding_events_batch",
        records=len(records),
        images=report.images,
        notified=report.notified,
        ignored=ignored + report.ignored,
        rejected=rejected,
        failed=report.failed,
        deferred=report.deferred,
    )
    return {"batchItemFailures": failures + report.failures}


def _envelope(event: Any) -> dict[str, Any]:
    """The identifying envelope fields of a raw event, for the log line (whatever their shape)."""
    if not isinstance(event, dict):
        return {"event_python_type": type(event).__name__}
    names = {"id": "event_id", "source": "event_source", "detail-type": "detail_type"}
    return {field: event[key] for key, field in names.items() if key in event}
