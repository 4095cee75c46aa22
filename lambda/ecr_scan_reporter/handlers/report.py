"""Scheduled entry point: the exposure report, built from the scan ledger, published and (optionally) stored.

scan the ledger (every image record, paginated) -> build the report (pure, report/exposure.py) -> publish it to the
notification topic (text for e-mail, the JSON document for SQS/Lambda/HTTPS, ``event_type`` = ``report``, within
SNS's 256 KB) -> with ``REPORT_BUCKET_NAME``, write its JSON and HTML to S3 -> log one ``report_published`` line
and emit the registry-wide ``RegistryImagesInBreach`` metric.

Records of repositories that no longer exist (ECR's DescribeRepositories, one call per 1,000 repositories) are
left out: the ledger keeps them until their TTL. The suppressions the module stores in the ledger
(``SUPPRESSIONS_SHA256``, see alerts/suppression_store.py) feed the report's "expiring within 14 days" list and set
suppressed findings apart.

Requires ``LEDGER_TABLE_NAME`` and ``SNS_TOPIC_ARN``. An AWS error while the report is read (e.g. a Scan still
throttled after botocore's retries) is logged (``report_failed``) and raised before anything is published or
stored; one while it is published is raised too: EventBridge invokes this function asynchronously, so Lambda
retries it and then hands the event to the failed-events queue. Once published, a refused S3 write is not raised
(a retry would publish the report again): it is logged (``report_not_stored``) and counted (``ReportsNotStored``).
With ``HUB_REPORT_BUCKET_NAME`` (a spoke of an organization hub, modules/hub), the same JSON and HTML are also
written to the hub's bucket under ``HUB_REPORT_PREFIX`` (``<account>/<region>/``), SSE-KMS with
``HUB_REPORT_KMS_KEY_ARN``, after the local copy: a write the hub refuses (its policy, its key, the bucket gone) is
logged (``hub_report_not_stored``, with the key, S3's error code and the local copies kept) and counted
(``HubReportsNotStored``), never raised: the report is published and stored locally all the same.
A ledger item that is not a record of this schema is logged (``ledger_record_unreadable``), counted in the
response (``unreadable_records``) and left out.

Teams (``TEAMS_SHA256`` set: the document the module stores in the ledger, core/teams.py): every repository is
resolved to its owner (core/ownership.py; its tags read once per run, only when the document has a tag key), the
report gains a section per team and ``unowned``, each team's topic receives its own team's report (its repositories
only; a refusal is logged, ``team_report_not_published``, and the other topics are still tried) and
``RegistryImagesInBreach`` is also emitted per ``Team``. Teams that cannot be read are logged
(``teams_unavailable``) and the report goes out without sections, saying so.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.alerts import suppression_store
from ecr_scan_reporter.core import aws, ledger, log, metrics, repository_tags, sns_message, teams, teams_store
from ecr_scan_reporter.core.config import SEVERITIES, ConfigError, Settings
from ecr_scan_reporter.handlers import emit_metrics, load_settings
from ecr_scan_reporter.report import exposure, store
from ecr_scan_reporter.sweep import registry

logger = log.get_logger(__name__)


def handler(event: Any, context: Any) -> dict[str, Any]:
    config = load_settings("ledger_table_name", "sns_topic_arn")
    assert config.ledger_table_name is not None  # required above
    assert config.sns_topic_arn is not None
    _check_hub(config)
    region = config.sns_topic_arn.split(":")[3]
    now = datetime.now(UTC)
    dynamodb = aws.client("dynamodb")
    unreadable = 0

    def skip(item: Mapping[str, Any], exc: Exception) -> None:
        nonlocal unreadable
        unreadable += 1
        key = {name: (item.get(name) or {}).get("S") for name in ("pk", "digest")}
        log.emit(logger, "ledger_record_unreadable", logging.WARNING, **key, error=f"{type(exc).__name__}: {exc}")

    budget_state: dict[str, Any] = {}

    def config_item(item: Mapping[str, Any]) -> None:  # the scan budget's state, met on the way (one Scan)
        pk, key = (item.get("pk") or {}).get("S"), (item.get("digest") or {}).get("S")
        if pk == ledger.SWEEP_MARKERS and key == ledger.BUDGET_STATE:
            budget_state.update(item)

    document, unavailable = _teams(config, dynamodb)
    try:
        ecr = aws.client("ecr")
        team_options, reader = _team_options(ecr, config, document, unavailable)
        built = exposure.build(
            ledger.scan_records(dynamodb, config.ledger_table_name, on_unreadable=skip, on_config=config_item),
            now,
            scan_expiry_days=config.scan_expiry_days,
            thresholds=config.severity_thresholds,
            suppressions=_suppressions(dynamodb, config.ledger_table_name, config.suppressions_sha256),
            region=os.environ.get("AWS_REGION") or region,
            existing_repositories={(r.registry_id, r.name) for r in registry.iter_repositories(ecr)},
            **team_options,
        )
    except (ClientError, BotoCoreError) as exc:
        # After botocore's retries (adaptive, core/aws.py). Nothing was published or stored yet: the retry starts over.
        code = registry.error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        log.emit(logger, "report_failed", logging.ERROR, stage="read", error_code=code, error=str(exc))
        raise
    built = dataclasses.replace(built, scan_budget=_scan_budget(budget_state))
    message_id = sns_message.publish(
        aws.client("sns", region=region), config.sns_topic_arn, exposure.notification(built)
    )
    fields: dict[str, Any] = {"unreadable_records": unreadable} if unreadable else {}
    fields |= _publish_team_reports(built, document, config.sns_topic_arn)
    if reader is not None:
        fields["tag_reads"] = reader.calls
    stored = _store(config.report_bucket_name, built)
    hub = _store_in_hub(config, built, stored)
    summary = exposure.to_document(built, limit=0)["summary"]
    if config.hub_report_bucket_name:
        fields["hub_stored"] = hub.written
    log.emit(logger, "report_published", message_id=message_id, stored=stored.written, **fields, **summary)
    measured = _measured(built, stored if config.report_bucket_name else None)
    if config.hub_report_bucket_name:
        measured += metrics.counts({metrics.HUB_REPORTS_NOT_STORED: 1 if hub.refused else 0})
    emit_metrics(context, config, measured)
    return {"status": "published", "message_id": message_id, "stored": stored.written, **fields, **summary}


def _check_hub(config: Settings) -> None:
    """A hub bucket needs its prefix and key (the module sets all three): refused before anything is published."""
    if config.hub_report_bucket_name and not (config.hub_report_prefix and config.hub_report_kms_key_arn):
        raise ConfigError(
            "HUB_REPORT_BUCKET_NAME is set but HUB_REPORT_PREFIX or HUB_REPORT_KMS_KEY_ARN is not: the hub's bucket"
            " takes a spoke's report only under its <account>/<region>/ prefix, encrypted with the hub's key"
        )


def _store_in_hub(config: Settings, built: exposure.Report, local: store.Stored) -> store.Stored:
    """Write the report to the organization hub's bucket (if any), after the local copy. A refusal is logged with
    what was kept locally and counted (``HubReportsNotStored``), never raised: the hub is another account's, and
    its being unreachable must not cost the spoke its own report or a second publication."""
    bucket = config.hub_report_bucket_name
    if not bucket:
        return store.Stored()
    assert config.hub_report_prefix is not None  # _check_hub
    assert config.hub_report_kms_key_arn is not None
    # The hub's bucket is in its key's region (modules/hub creates both): ask S3 there, not in the spoke's region.
    s3 = aws.client("s3", region=config.hub_report_kms_key_arn.split(":")[3])
    written = store.write_to_hub(s3, bucket, config.hub_report_prefix, config.hub_report_kms_key_arn, built)
    for refusal in written.refused:
        log.emit(
            logger,
            "hub_report_not_stored",
            logging.ERROR,
            bucket=bucket,
            key=refusal.key,
            error_code=refusal.code,
            error=refusal.message,
            kept_locally=local.written,
            published=True,
        )
    return written


def _store(bucket: str | None, built: exposure.Report) -> store.Stored:
    """Write the report to ``bucket`` (if any). The report is already published: a refused write is logged (and
    counted, ``ReportsNotStored``) rather than raised, which would make Lambda retry and publish it again."""
    if not bucket:
        return store.Stored()
    stored = store.write(aws.client("s3"), bucket, built)
    for refusal in stored.refused:
        log.emit(
            logger,
            "report_not_stored",
            logging.ERROR,
            bucket=bucket,
            key=refusal.key,
            error_code=refusal.code,
            error=refusal.message,
        )
    return stored


def _suppressions(dynamodb: Any, table: str, sha256: str | None) -> tuple[Any, ...]:
    """The accepted risks the module stored in the ledger (SUPPRESSIONS_SHA256 set), or none. Unreadable ones are
    logged and the report goes out without them: one section missing beats no report."""
    if not sha256:
        return ()
    try:
        return suppression_store.load(dynamodb, table, sha256)
    except (BotoCoreError, ClientError, suppression_store.SuppressionsUnavailable) as exc:
        log.emit(logger, "suppressions_unavailable", logging.ERROR, error=str(exc))
        return ()


def _measured(built: exposure.Report, stored: store.Stored | None) -> list[metrics.Metric]:
    sent = metrics.counts({metrics.NOTIFICATIONS_SENT: 1}, {metrics.EVENT_TYPE: "report"})
    if stored is not None:
        sent += metrics.counts({metrics.REPORTS_NOT_STORED: 1 if stored.refused else 0})
    exposed = [
        metric
        for severity in SEVERITIES
        for metric in metrics.counts(
            {metrics.REGISTRY_IMAGES_IN_BREACH: built.breached[severity]}, {"Severity": severity}
        )
    ]
    by_team = [
        metric
        for section in built.sections
        for metric in metrics.counts(
            {metrics.REGISTRY_IMAGES_IN_BREACH: section.images_in_breach}, {metrics.TEAM: str(section.team)}
        )
    ]
    return sent + exposed + by_team


# --- teams (issue 19): the report per team --------------------------------------------------------------------------


def _teams(config: Settings, dynamodb: Any) -> tuple[teams.TeamsDocument | None, str | None]:
    """The stored teams (TEAMS_SHA256 set), or none; and, when they are configured but cannot be used, why
    (core/teams_store.py logs it). The report then goes out as without teams, saying so: one missing view beats no
    report."""
    try:
        return teams_store.load(config, _TEAMS_HINT, dynamodb), None
    except teams_store.TeamsUnavailable as exc:
        return None, str(exc)


_TEAMS_HINT = "the report goes to the module's topic only, without a section per team"


def _team_options(
    ecr: Any, config: Settings, document: teams.TeamsDocument | None, unavailable: str | None
) -> tuple[dict[str, Any], repository_tags.TagReader | None]:
    """exposure.build's team arguments: the document, and the repositories' tags (read once per repository per run,
    only when the document names a tag key); and the run's tag reader (None: no tags read)."""
    if document is None:
        return ({"teams_unavailable": unavailable} if unavailable else {}), None
    if document.tag_key is None:
        return {"teams": document}, None
    assert config.sns_topic_arn is not None
    partition, region = config.sns_topic_arn.split(":")[1], ecr.meta.region_name
    reader = repository_tags.TagReader(ttl_seconds=24 * 3600)  # this run's: exposure.build asks once per repository

    def tags(registry_id: str, repository: str) -> Any:
        return reader.tags(ecr, repository_tags.repository_arn(partition, region, registry_id, repository))

    return {"teams": document, "tags": tags}, reader


def _publish_team_reports(
    built: exposure.Report, document: teams.TeamsDocument | None, module_topic: str
) -> dict[str, Any]:
    """Each team's own report (its repositories only) to its topic; the module's topic has the whole one. A topic
    that refuses is logged (``team_report_not_published``) and the others are still tried: the whole report is
    already published, and a retry would publish it again."""
    if document is None:
        return {}
    sent: dict[str, str] = {}
    refused: list[str] = []
    for section in exposure.team_reports(built):
        team = document.team(str(section.team))
        if team is None or team.topic_arn == module_topic:
            continue  # the module's topic already has the whole report
        try:
            sns = aws.client("sns", region=team.topic_arn.split(":")[3])
            sent[team.name] = sns_message.publish(sns, team.topic_arn, exposure.notification(section))
        except (ClientError, BotoCoreError) as exc:
            refused.append(team.name)
            code = registry.error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            log.emit(
                logger,
                "team_report_not_published",
                logging.ERROR,
                team=team.name,
                topic_arn=team.topic_arn,
                error_code=code,
                error=str(exc),
            )
    fields: dict[str, Any] = {"team_reports": sent}
    if refused:
        fields["team_reports_not_published"] = refused
    return fields


def _scan_budget(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The scan budget's ``staleness`` (sweep/budget.staleness_document) from its state item, None when there is
    none (no budget, or before its first plan); an unreadable one is logged and left out of the report."""
    text = (item.get(ledger.STALENESS) or {}).get("S")
    if not text:
        return None
    try:
        found = json.loads(text)
        if not isinstance(found, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        log.emit(logger, "scan_budget_unreadable", logging.WARNING, error=str(exc))
        return None
    return found
