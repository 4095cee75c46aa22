"""Scheduled entry point of the organization hub (modules/hub): the spokes' latest reports -> the organization report.

list the spokes in the hub's bucket (``<account>/`` then ``<account>/<region>/``, ListObjectsV2 with a delimiter)
-> read each ``<account>/<region>/latest.json`` (at most report/org.MAX_SPOKE_REPORT_BYTES, one at a time) -> merge
(pure, report/org.py) with the expected spokes (``EXPECTED_SPOKES``), their report period
(``SPOKE_REPORT_PERIOD_HOURS``) and the hub's teams (``TEAM_NAMES``) -> **store** the JSON and HTML under
``organization-report/`` -> **publish** to each destination once a period (report/org_delivery.py): the central
topic (``event_type`` ``organization_silent_spokes`` when a spoke is silent, else ``organization_report``), the chat
form to ``CHAT_TOPIC_ARN`` when set, and each team's own organization-wide report to its topic
(``TEAM_TOPIC_ARN_PREFIX`` + its name; ``event_type`` ``organization_report``, attribute ``team``) -> one
``organization_report_published`` line and the metrics ``SpokesReporting``, ``SilentSpokes``,
``OrganizationImagesInBreach`` (by severity), ``NotificationsSent`` (by event type), ``ReportsNotStored``,
``OrganizationReportsNotPublished``.

Each silent spoke is logged (``spoke_silent``, WARNING), each document that cannot be read (``spoke_report_unreadable``,
WARNING, with the reason: not JSON, too large, a read that failed, a malformed field): it is listed in the report,
never fatal. A listing the hub cannot make (after botocore's retries) is logged (``report_failed``) and raised before
anything is stored or published: Lambda retries, then publishes the failed invocation to the topic (the function's
on-failure destination). A refused S3 write of the report is logged (``report_not_stored``) and counted, not raised.
A destination that refuses the report is logged (``organization_report_not_published``, ERROR) and counted
(``OrganizationReportsNotPublished``, alarmed); the others are still published, then the invocation fails
(:class:`ReportNotPublished`) so that Lambda's retry publishes to what failed, and only to that: what went is
recorded per period and skipped (``organization_report_already_published`` when everything went).

Requires ``REPORT_BUCKET_NAME`` (the hub's bucket) and ``SNS_TOPIC_ARN`` (the central topic).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import aws, log, metrics
from ecr_scan_reporter.core.config import SEVERITIES, ConfigError, Settings
from ecr_scan_reporter.handlers import emit_metrics, load_settings
from ecr_scan_reporter.report import org, org_delivery, store

logger = log.get_logger(__name__)
_ACCOUNT = re.compile(r"^[0-9]{12}/$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]/$")


class ReportNotPublished(RuntimeError):
    """At least one destination refused the organization report: Lambda retries the invocation, which publishes to
    the destinations that failed only."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    config = load_settings("report_bucket_name", "sns_topic_arn")
    assert config.report_bucket_name is not None  # required above
    assert config.sns_topic_arn is not None
    _check_teams(config)
    bucket, region = config.report_bucket_name, config.sns_topic_arn.split(":")[3]
    s3 = aws.client("s3")
    period = org_delivery.period(event, getattr(context, "aws_request_id", None))
    destinations = _destinations(config)
    checked = org_delivery.check(s3, bucket, period, list(destinations))
    if not checked.pending and not checked.unknown:
        log.emit(logger, "organization_report_already_published", period=period, destinations=checked.already)
        emit_metrics(context, config, metrics.counts({metrics.ORGANIZATION_REPORTS_NOT_PUBLISHED: 0}))
        return {"status": "already_published", "period": period, "published": [], "already_published": checked.already}

    try:
        built = org.merge(
            spoke_reports(s3, bucket),
            datetime.now(UTC),
            expected=config.expected_spokes,
            report_period=timedelta(hours=config.spoke_report_period_hours),
            teams=config.team_names,
        )
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        log.emit(logger, "report_failed", logging.ERROR, stage="list", bucket=bucket, error_code=code, error=str(exc))
        raise
    for row in built.rows("silent"):
        log.emit(logger, "spoke_silent", logging.WARNING, spoke=row.spoke, reason=row.reason, expected=row.expected)
    for row in built.rows("unreadable"):
        log.emit(logger, "spoke_report_unreadable", logging.WARNING, spoke=row.spoke, reason=row.reason)

    # Stored first: whatever a destination answers, the period's report is in the bucket.
    stored = store.write_organization(s3, bucket, built)
    for refusal in stored.refused:
        log.emit(
            logger, "report_not_stored", logging.ERROR, bucket=bucket, key=refusal.key, error_code=refusal.code,
            error=refusal.message,
        )  # fmt: skip

    message = org.notification(built)
    kind = message.attributes["event_type"]
    sns = aws.client("sns", region=region)
    pending = [destinations[name] for name in checked.pending]
    delivery = org_delivery.deliver(s3, sns, bucket, period, pending, built, message, datetime.now(UTC))
    for refused in delivery.not_recorded:
        log.emit(logger, "organization_report_publication_not_recorded", logging.WARNING, period=period,
                 destination=refused.destination, error_code=refused.code, error=refused.message)  # fmt: skip
    failures = [*checked.unknown, *delivery.failures]
    for failed in failures:
        log.emit(logger, "organization_report_not_published", logging.ERROR, period=period,
                 destination=failed.destination, error_code=failed.code, error=failed.message)  # fmt: skip

    totals = built.totals
    published = list(delivery.message_ids)
    log.emit(logger, "organization_report_published", message_id=delivery.message_ids.get(org_delivery.TOPIC),
             event_type=kind, stored=stored.written, period=period, published=published,
             already_published=checked.already, not_published=[f.destination for f in failures],
             silent_spokes=[r.spoke for r in built.rows("silent")], **totals)  # fmt: skip
    measured = metrics.counts(
        {
            metrics.SPOKES_REPORTING: totals["spokes_reporting"],
            metrics.SILENT_SPOKES: totals["spokes_silent"],
            metrics.REPORTS_NOT_STORED: 1 if stored.refused else 0,
            metrics.ORGANIZATION_REPORTS_NOT_PUBLISHED: len(failures),
        }
    )
    for event_type, count in delivery.sent.items():
        measured += metrics.counts({metrics.NOTIFICATIONS_SENT: count}, {metrics.EVENT_TYPE: event_type})
    for severity in SEVERITIES:
        measured += metrics.counts(
            {metrics.ORGANIZATION_IMAGES_IN_BREACH: totals["breached"][severity]}, {metrics.SEVERITY: severity}
        )
    emit_metrics(context, config, measured)
    if failures:
        names = ", ".join(f"{f.destination} ({f.code})" for f in failures)
        raise ReportNotPublished(
            f"the organization report was stored but not published to {names}: Lambda retries the invocation, which"
            f" publishes only there (period {period})"
        )
    return {
        "status": "published",
        "message_id": delivery.message_ids.get(org_delivery.TOPIC),
        "event_type": kind,
        "stored": stored.written,
        "period": period,
        "published": published,
        "already_published": checked.already,
        **totals,
    }


def _destinations(config: Settings) -> dict[str, org_delivery.Destination]:
    teams = [(team, config.team_topic_arn(team)) for team in config.team_names]
    return org_delivery.destinations(str(config.sns_topic_arn), config.chat_topic_arn, teams)


def _check_teams(config: Settings) -> None:
    """Teams need their topics' prefix (modules/hub sets both): refused before anything is read or published."""
    if config.team_names and not config.team_topic_arn_prefix:
        raise ConfigError(
            "TEAM_NAMES is set but TEAM_TOPIC_ARN_PREFIX is not: a team's organization report goes to the topic"
            " TEAM_TOPIC_ARN_PREFIX + its name"
        )


def spoke_reports(s3: Any, bucket: str) -> Iterator[org.SpokeInput]:
    """Every ``<account>/<region>/latest.json`` of the bucket, parsed (or why not), one at a time. A prefix without a
    ``latest.json`` (a spoke that never finished a report) yields nothing: the merge calls it silent if expected."""
    for account in _prefixes(s3, bucket, ""):
        if not _ACCOUNT.match(account):
            continue  # organization-report/, anything else a person put there
        for prefix in _prefixes(s3, bucket, account):
            if not _REGION.match(prefix[len(account) :]):
                continue
            found = _spoke_report(s3, bucket, prefix.rstrip("/"), f"{prefix}latest.json")
            if found is not None:
                yield found


def _spoke_report(s3: Any, bucket: str, spoke: str, key: str) -> org.SpokeInput | None:
    """One spoke's latest.json, never more than org.MAX_SPOKE_REPORT_BYTES + 1 bytes of it; None when there is none."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("NoSuchKey", "404"):
            return None
        return org.SpokeInput(spoke, error=f"could not be read: {code} {exc}")
    except BotoCoreError as exc:
        return org.SpokeInput(spoke, error=f"could not be read: {type(exc).__name__} {exc}")
    body = response["Body"]
    try:
        length = response.get("ContentLength")
        if isinstance(length, int) and length > org.MAX_SPOKE_REPORT_BYTES:
            return org.SpokeInput(spoke, error=org.too_large(length))
        data = body.read(org.MAX_SPOKE_REPORT_BYTES + 1)
    except (ClientError, BotoCoreError) as exc:
        return org.SpokeInput(spoke, error=f"could not be read: {type(exc).__name__} {exc}")
    finally:
        body.close()
    return org.parse(spoke, data)


def _prefixes(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes") or []:
            yield str(common["Prefix"])
