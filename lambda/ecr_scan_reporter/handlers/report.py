"""Scheduled entry point: the exposure report, built from the scan ledger, published and (optionally) stored.

scan the ledger (every image record, paginated) -> build the report (pure, report.py) -> publish it to the
notification topic (text for e-mail, the JSON document for SQS/Lambda/HTTPS, ``event_type`` = ``report``, within
SNS's 256 KB) -> with ``REPORT_BUCKET_NAME``, write its JSON and HTML to S3 -> log one ``report_published`` line
and emit the registry-wide ``RegistryImagesInBreach`` metric.

Requires ``LEDGER_TABLE_NAME`` and ``SNS_TOPIC_ARN``. AWS errors raise: EventBridge invokes this function
asynchronously, so Lambda retries it and then hands the event to the failed-events queue.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from ecr_scan_reporter import aws, ledger, log, metrics, notify, report, report_store
from ecr_scan_reporter.config import SEVERITIES
from ecr_scan_reporter.handlers import emit_metrics, load_settings

logger = log.get_logger(__name__)


def handler(event: Any, context: Any) -> dict[str, Any]:
    config = load_settings("ledger_table_name", "sns_topic_arn")
    assert config.ledger_table_name is not None  # required above
    assert config.sns_topic_arn is not None
    region = config.sns_topic_arn.split(":")[3]
    now = datetime.now(UTC)
    records = ledger.scan_records(aws.client("dynamodb"), config.ledger_table_name)
    built = report.build(
        records,
        now,
        scan_expiry_days=config.scan_expiry_days,
        thresholds=config.severity_thresholds,
        region=os.environ.get("AWS_REGION") or region,
    )
    message_id = notify.publish(aws.client("sns", region=region), config.sns_topic_arn, report.notification(built))
    stored = report_store.write(aws.client("s3"), config.report_bucket_name, built) if config.report_bucket_name else []
    summary = report.to_document(built, limit=0)["summary"]
    log.emit(logger, "report_published", message_id=message_id, stored=stored, **summary)
    emit_metrics(context, config, _measured(built))
    return {"status": "published", "message_id": message_id, "stored": stored, **summary}


def _measured(built: report.Report) -> list[metrics.Metric]:
    sent = metrics.counts({metrics.NOTIFICATIONS_SENT: 1}, {metrics.EVENT_TYPE: "report"})
    exposed = [
        metric
        for severity in SEVERITIES
        for metric in metrics.counts(
            {metrics.REGISTRY_IMAGES_IN_BREACH: built.breached[severity]}, {"Severity": severity}
        )
    ]
    return sent + exposed
