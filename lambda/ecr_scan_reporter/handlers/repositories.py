"""Scheduled entry point: one work message per selected repository.

Lists every repository (DescribeRepositories paginator), keeps those the include/exclude regexes select, and
sends ``{"version": 1, "repository", "registry_id", "continuation": null}`` to ``QUEUE_URL`` in batches of 10.
Entries SQS refuses are retried a bounded number of times; any still unsent are logged one by one and, after
everything else has been sent, the invocation raises so the asynchronous invocation is retried or reaches its
on-failure destination.

With a daily scan budget (``DAILY_SCAN_BUDGET`` and the ledger, ``LEDGER_TABLE_NAME``), the selected repositories
are listed first, then what is left of the UTC day's budget is planned registry-wide from the sweep markers and the
plan stored (sweep/allowances.py: every repository's allowance in at most 1,024 chunk items) before any work message
is sent; the registry's staleness figures are emitted as metrics. If the plan cannot be made (the ledger
unreachable), the invocation raises before sending anything, so it is retried as a whole; a retry, like a second
schedule run of the day, plans only what is left of the day's budget (the allowances still being spent are kept),
and the repositories' work messages it sends again spend nothing twice (sweep/budget.py). Past 1,000 repositories
the work messages are sent from four threads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from ecr_scan_reporter.core import aws, log, metrics, selection
from ecr_scan_reporter.handlers import emit_metrics, load_settings
from ecr_scan_reporter.sweep import allowances, registry
from ecr_scan_reporter.sweep.stage import WorkItem, send_work_items

logger = log.get_logger(__name__)

#: Past this many work messages (a listed registry: with a scan budget) they are sent from :data:`SEND_WORKERS`
#: threads: at ECR's 100,000 repositories the 10,000 SendMessageBatch calls' latencies overlap (their CPU does not).
SEND_IN_PARALLEL_FROM = 1_000
SEND_WORKERS = 4


class UnsentWorkError(RuntimeError):
    """Some work messages could not be sent (each is logged as ``work_message_unsent``)."""


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    config = load_settings("queue_url")
    counts = {"repositories_seen": 0, "filtered_out": 0}

    def selected() -> Iterator[WorkItem]:
        for repo in registry.iter_repositories(aws.client("ecr")):
            counts["repositories_seen"] += 1
            if selection.repository_selected(repo.name, config.include_regex, config.exclude_regex):
                yield WorkItem(repo.name, repo.registry_id)
            else:
                counts["filtered_out"] += 1
                log.emit(logger, "repository_filtered_out", logging.DEBUG, repository=repo.name)

    assert config.queue_url is not None  # required above
    items: Iterable[WorkItem] = selected()
    measured = []
    if config.daily_scan_budget and config.ledger_table_name:
        items = list(items)
        planned = allowances.plan_day(
            aws.client("dynamodb"),
            config.ledger_table_name,
            [(item.registry_id or "", item.repository) for item in items],
            configured=config.daily_scan_budget,
            expiry_days=config.scan_expiry_days,
            now=datetime.now(UTC),
        )
        measured = allowances.measured(planned)
    workers = SEND_WORKERS if isinstance(items, list) and len(items) > SEND_IN_PARALLEL_FROM else 1
    sent, failed = send_work_items(aws.client("sqs"), config.queue_url, items, workers=workers)
    summary = {**counts, "sent": sent, "failed": len(failed)}
    for failure in failed:
        log.emit(
            logger,
            "work_message_unsent",
            logging.ERROR,
            repository=failure.item.repository,
            registry_id=failure.item.registry_id,
            error_code=failure.code,
            error=failure.message,
        )
    log.emit(logger, "repositories_listed", **summary)
    emit_metrics(context, config, [*metrics.counts({metrics.REPOSITORIES_QUEUED: sent}), *measured])
    if failed:
        raise UnsentWorkError(f"{len(failed)} of {sent + len(failed)} work messages could not be sent to the queue")
    return summary
