"""Scheduled entry point of the organization hub (modules/hub): the spokes' latest reports -> the organization report.

list the spokes in the hub's bucket (``<account>/`` then ``<account>/<region>/``, ListObjectsV2 with a delimiter)
-> read each ``<account>/<region>/latest.json`` -> merge (pure, report/org.py) with the expected spokes
(``EXPECTED_SPOKES``) and their report period (``SPOKE_REPORT_PERIOD_HOURS``) -> publish to the central topic
(``event_type`` ``organization_silent_spokes`` when a spoke is silent, else ``organization_report``; the chat form
to ``CHAT_TOPIC_ARN`` when set) -> write JSON and HTML under ``organization-report/`` -> one
``organization_report_published`` line and the metrics ``SpokesReporting``, ``SilentSpokes``,
``OrganizationImagesInBreach`` (by severity), ``NotificationsSent``, ``ReportsNotStored``.

Each silent spoke is logged (``spoke_silent``, WARNING), each document that cannot be read (``spoke_report_unreadable``,
WARNING, with the reason): it is listed in the report, never dropped. A listing the hub cannot make (after
botocore's retries) is logged (``report_failed``) and raised before anything is published: Lambda retries, then
publishes the failed invocation to the topic (the function's on-failure destination). Once published, a refused
S3 write is logged (``report_not_stored``) and counted, not raised (a retry would publish twice).

Requires ``REPORT_BUCKET_NAME`` (the hub's bucket) and ``SNS_TOPIC_ARN`` (the central topic).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import aws, log, metrics, sns_message
from ecr_scan_reporter.core.config import SEVERITIES
from ecr_scan_reporter.handlers import emit_metrics, load_settings
from ecr_scan_reporter.report import org, store

logger = log.get_logger(__name__)
_ACCOUNT = re.compile(r"^[0-9]{12}/$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]/$")


def handler(event: Any, context: Any) -> dict[str, Any]:
    config = load_settings("report_bucket_name", "sns_topic_arn")
    assert config.report_bucket_name is not None  # required above
    assert config.sns_topic_arn is not None
    bucket, region = config.report_bucket_name, config.sns_topic_arn.split(":")[3]
    s3 = aws.client("s3")
    try:
        inputs = list(spoke_reports(s3, bucket))
    except (ClientError, BotoCoreError) as exc:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        log.emit(logger, "report_failed", logging.ERROR, stage="list", bucket=bucket, error_code=code, error=str(exc))
        raise
    built = org.merge(
        inputs,
        datetime.now(UTC),
        expected=config.expected_spokes,
        report_period=timedelta(hours=config.spoke_report_period_hours),
    )
    for row in built.rows("silent"):
        log.emit(logger, "spoke_silent", logging.WARNING, spoke=row.spoke, reason=row.reason, expected=row.expected)
    for row in built.rows("unreadable"):
        log.emit(logger, "spoke_report_unreadable", logging.WARNING, spoke=row.spoke, reason=row.reason)

    message = org.notification(built)
    sns = aws.client("sns", region=region)
    message_id = sns_message.publish(sns, config.sns_topic_arn, message)
    if config.chat_topic_arn:
        sns.publish(TopicArn=config.chat_topic_arn, Subject=message.subject, Message=message.chat)
    stored = store.write_organization(s3, bucket, built)
    for refusal in stored.refused:
        log.emit(
            logger, "report_not_stored", logging.ERROR, bucket=bucket, key=refusal.key, error_code=refusal.code,
            error=refusal.message,
        )  # fmt: skip
    totals = built.totals
    kind = message.attributes["event_type"]
    log.emit(logger, "organization_report_published", message_id=message_id, event_type=kind, stored=stored.written,
             silent_spokes=[r.spoke for r in built.rows("silent")], **totals)  # fmt: skip
    measured = metrics.counts(
        {
            metrics.SPOKES_REPORTING: totals["spokes_reporting"],
            metrics.SILENT_SPOKES: totals["spokes_silent"],
            metrics.REPORTS_NOT_STORED: 1 if stored.refused else 0,
        }
    )
    measured += metrics.counts({metrics.NOTIFICATIONS_SENT: 1}, {metrics.EVENT_TYPE: kind})
    for severity in SEVERITIES:
        measured += metrics.counts(
            {metrics.ORGANIZATION_IMAGES_IN_BREACH: totals["breached"][severity]}, {metrics.SEVERITY: severity}
        )
    emit_metrics(context, config, measured)
    return {"status": "published", "message_id": message_id, "event_type": kind, "stored": stored.written, **totals}


def spoke_reports(s3: Any, bucket: str) -> Iterator[org.SpokeInput]:
    """Every ``<account>/<region>/latest.json`` of the bucket, parsed (or why not). A prefix without a
    ``latest.json`` (a spoke that never finished a report) yields nothing: the merge calls it silent if expected."""
    for account in _prefixes(s3, bucket, ""):
        if not _ACCOUNT.match(account):
            continue  # organization-report/, anything else a person put there
        for prefix in _prefixes(s3, bucket, account):
            if not _REGION.match(prefix[len(account) :]):
                continue
            spoke = prefix.rstrip("/")
            try:
                body = s3.get_object(Bucket=bucket, Key=f"{prefix}latest.json")["Body"].read()
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in ("NoSuchKey", "404"):
                    continue
                yield org.SpokeInput(spoke, error=f"could not be read: {code} {exc}")
                continue
            try:
                yield org.SpokeInput(spoke, json.loads(body))
            except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
                yield org.SpokeInput(spoke, error=f"not JSON: {exc}")


def _prefixes(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for common in page.get("CommonPrefixes") or []:
            yield str(common["Prefix"])
