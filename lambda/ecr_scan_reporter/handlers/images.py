"""SQS-triggered entry point: sweep the repository named by each work message.

Returns an SQS partial batch response (``{"batchItemFailures": [{"itemIdentifier": messageId}]}``; the event
source mapping must enable ``ReportBatchItemFailures``), so one bad record never fails its neighbours:

- malformed message (not JSON, wrong version, no repository, invalid continuation): logged as
  ``work_message_malformed`` with what is wrong, and reported as a failure, so SQS redelivers it until
  ``maxReceiveCount`` moves it to the dead-letter queue, where it can be inspected;
- repository not found (deleted since it was listed, or mid-sweep: a continuation's repository is gone): logged
  as ``repository_not_found``, counted (``RepositoriesNotFound``) and treated as done; retrying could never
  succeed;
- any other AWS error: logged as ``sweep_failed`` and reported as a failure (SQS retries the message; work
  already done is not repeated, since just-scanned images are no longer due).

When the remaining time drops below ``TIME_BUDGET_RESERVE_SECONDS``, or ECR (or the ledger) still throttles after
botocore's retries once an image was handled, the sweep stops and the rest of the repository is re-enqueued to
``QUEUE_URL`` as a work message with a ``continuation``; the record then counts as done (if that message cannot
be sent, the record fails and is retried instead). The budget holds for the whole batch: only the first record
is swept whatever the time (so every invocation makes progress); once the budget is spent, every later record is
re-enqueued as it came, without listing its repository (``work_handed_over``). A continuation whose DescribeImages
token ECR refuses (expired) restarts the repository's sweep from the first page (``continuation_restarted``).

With the scan ledger (``LEDGER_TABLE_NAME``) each repository's records are read with one paginated Query per
part; only images the ledger does not know cost a DescribeImageScanFindings (and are recorded), and the scans
started are recorded. When ECR refuses scans because the registry's daily quota is spent, the invocation logs
``scan_quota_exhausted`` once, starts no more scans and ends its remaining records (the next scheduled sweep
resumes). With a daily scan budget (``DAILY_SCAN_BUDGET``, sweep/budget.py) each repository spends the allowance
the repositories function stored in its sweep marker (missing or stale: logged as ``budget_allowance_missing``, and
the repository is swept as without a budget) and stores its census. An ENHANCED registry gets no
manual scans (Amazon Inspector rescans continuously): logged once per invocation, every record succeeds. If
the registry scanning configuration cannot be read, the invocation raises and the whole batch is retried.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import aws, ledger, log, metrics
from ecr_scan_reporter.core.config import Settings
from ecr_scan_reporter.handlers import emit_metrics, load_settings
from ecr_scan_reporter.sweep import budget, freshness, registry, scanning
from ecr_scan_reporter.sweep.stage import (
    HANDED_OVER,
    BudgetRun,
    Continuation,
    MalformedMessage,
    SweepOptions,
    SweepSummary,
    WorkItem,
    parse_work_message,
    send_work_items,
    sweep_repository,
)

logger = log.get_logger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    config = load_settings("queue_url")
    ecr = aws.client("ecr")
    records = event.get("Records") or []
    scan_type = registry.registry_scan_type(ecr)
    if not freshness.manual_scans_apply(scan_type):
        log.emit(logger, "manual_scans_skipped", scan_type=scan_type, records=len(records))
        return {"batchItemFailures": []}

    now = datetime.now(UTC)
    # One cheap probe per invocation; one attempt, since a failure only means "unknown" (look scans up).
    listed_scans = registry.scans_listed(aws.client("ecr", max_attempts=1))
    options = dataclasses.replace(SweepOptions.from_settings(config), listed_scans=listed_scans)

    def remaining() -> float:
        return float(context.get_remaining_time_in_millis()) / 1000.0

    quota = scanning.ScanQuota()
    failures, handed_over = [], []
    swept: list[tuple[Continuation | None, SweepSummary]] = []
    gone: list[str] = []  # repositories not found
    for index, record in enumerate(records):
        message_id = str(record.get("messageId", ""))
        if index and remaining() < config.time_budget_reserve_seconds:
            handed_over.append(record)
            continue
        if quota.exhausted:
            log.emit(logger, "repository_skipped", message_id=message_id, reason="scan_quota_exhausted")
            continue
        done = _handle(
            record,
            message_id,
            ecr,
            config,
            options,
            now,
            remaining,
            quota,
            must_progress=index == 0,
            swept=swept,
            gone=gone,
        )
        if not done:
            failures.append({"itemIdentifier": message_id})
    failures += _hand_over(handed_over, config)
    emit_metrics(context, config, metrics.counts({**_measured(swept), metrics.REPOSITORIES_NOT_FOUND: len(gone)}))
    return {"batchItemFailures": failures}


def _measured(swept: list[tuple[Continuation | None, SweepSummary]]) -> dict[str, int]:
    """This invocation's counts: a continued sweep's summary also counts its earlier parts, which are taken off."""
    counters = {
        metrics.IMAGES_CONSIDERED: "considered",
        metrics.SCANS_STARTED: "scan_started",
        metrics.SCANS_REFUSED_BY_DAILY_LIMIT: "limit_exceeded",
        metrics.IMAGES_NOT_SCANNABLE: "not_scannable",
    }
    totals = dict.fromkeys(counters, 0)
    for resumed, summary in swept:
        before = resumed.counts if resumed is not None and resumed.part == summary.part else {}
        for name, counter in counters.items():
            totals[name] += getattr(summary, counter) - before.get(counter, 0)
    return totals


def _hand_over(records: list[dict[str, Any]], config: Settings) -> list[dict[str, str]]:
    """Re-enqueue records the budget left no time for, as they came (continuation included); the ones that cannot
    be sent (or parsed) are reported as failures, so SQS delivers them again."""
    if not records:
        return []
    items, by_item, failures = [], {}, []
    for record in records:
        message_id = str(record.get("messageId", ""))
        try:
            item = parse_work_message(record.get("body"))
        except MalformedMessage as exc:
            log.emit(logger, "work_message_malformed", logging.ERROR, message_id=message_id, error=str(exc))
            failures.append({"itemIdentifier": message_id})
            continue
        items.append(item)
        by_item[id(item)] = message_id
    assert config.queue_url is not None  # required by load_settings()
    sent, failed = send_work_items(aws.client("sqs"), config.queue_url, items)
    failures += [{"itemIdentifier": by_item[id(f.item)]} for f in failed]
    log.emit(logger, "work_handed_over", records=len(records), sent=sent, failed=len(failed))
    return failures


def _budget_run(
    records: ledger.RepositoryLedger | None, config: Settings, item: WorkItem, now: datetime, fields: dict[str, Any]
) -> BudgetRun | None:
    """The repository's share of today's scan budget (its marker's allowance, sweep/budget.py), or None without a
    budget. An allowance missing, unreadable or older than yesterday's: logged, and the repository is swept as
    without a budget (every due image, until ECR's quota refuses)."""
    if not config.daily_scan_budget or records is None:
        return None
    records.load(item.registry_id)
    today = budget.day_of(now)
    allowance = None
    try:
        allowance = budget.Allowance.from_json(json.loads(records.allowance)) if records.allowance else None
    except ValueError as exc:
        log.emit(logger, "budget_allowance_unreadable", logging.ERROR, **fields, error=str(exc))
    if allowance is not None and allowance.day not in (today, today - 1):
        allowance = None
    if allowance is None:
        log.emit(logger, "budget_allowance_missing", logging.WARNING, **fields, day=today)
    return BudgetRun(budget.Spender(allowance), allowance.day if allowance else today)


def _handle(
    record: dict[str, Any],
    message_id: str,
    ecr: Any,
    config: Settings,
    options: SweepOptions,
    now: datetime,
    remaining: Callable[[], float],
    quota: scanning.ScanQuota | None = None,
    must_progress: bool = True,
    swept: list[tuple[Continuation | None, SweepSummary]] | None = None,
    gone: list[str] | None = None,
) -> bool:
    """Sweep one record's repository; True when the record is done (success or nothing more to do)."""
    try:
        item = parse_work_message(record.get("body"))
    except MalformedMessage as exc:
        log.emit(logger, "work_message_malformed", logging.ERROR, message_id=message_id, error=str(exc))
        return False
    fields = {"message_id": message_id, "repository": item.repository, "registry_id": item.registry_id}
    records = None
    if config.ledger_table_name:
        ttl = ledger.expires_at(now, config.scan_expiry_days)
        records = ledger.RepositoryLedger(
            aws.client("dynamodb"), config.ledger_table_name, item.repository, item.registry_id, now, ttl
        )
    try:
        run = _budget_run(records, config, item, now, fields)
        summary = sweep_repository(
            ecr,
            item.repository,
            now=now,
            registry_id=item.registry_id,
            options=options,
            continuation=item.continuation,
            remaining=remaining,
            reserve_seconds=config.time_budget_reserve_seconds,
            ledger=records,
            quota=quota,
            must_progress=must_progress,
            run=run,
        )
    except registry.RepositoryNotFound:
        part = item.continuation.part if item.continuation else 1
        log.emit(logger, "repository_not_found", logging.WARNING, **fields, part=part)
        if gone is not None:
            gone.append(item.repository)
        return True
    except (ClientError, BotoCoreError) as exc:
        code = registry.error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        log.emit(logger, "sweep_failed", logging.ERROR, **fields, error_code=code, error=str(exc))
        return False
    if swept is not None:
        swept.append((item.continuation, summary))
    if summary.continuation is not None or summary.stopped == HANDED_OVER:
        follow_up = WorkItem(item.repository, item.registry_id, summary.continuation)
        assert config.queue_url is not None  # required by load_settings()
        _, failed = send_work_items(aws.client("sqs"), config.queue_url, [follow_up])
        if failed:
            log.emit(logger, "continuation_unsent", logging.ERROR, **fields, error_code=failed[0].code)
            return False
    ledger_reads = {"ledger_queries": records.queries, "ledger_writes": records.writes} if records else {}
    log.emit(logger, "repository_swept", **summary.as_dict(), **ledger_reads, message_id=message_id)
    return True
