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
resumes).

With a daily scan budget (``DAILY_SCAN_BUDGET``, sweep/budget.py) each repository spends the allowance the
repositories function planned for it (read with the budget state in one BatchGetItem), in two phases: first its
in-use classes, counting its pushes of the last 24 hours; then, once every repository of the day's plan is through its
first phase (the ``gate``), the lower classes, in a follow-up message sent to itself
(:data:`FOLLOW_UP_DELAY_SECONDS` later; while the gate is closed the message goes back to the queue, without listing
the repository, for as long as the plan has been running: 30 s to 15 minutes). What a repository spent is recorded
in its marker under the plan's id after every part, so a repeated delivery spends nothing twice
(``budget_spent_already``); the scans started, the first phases through, the pushes counted and the registry-quota
refusals are added to the budget state's counters. An allowance missing (the repository is not in the plan in force)
is logged (``budget_allowance_missing``): the repository is listed for its census and nothing is scanned. An
ENHANCED registry gets no manual scans (Amazon Inspector rescans continuously): logged once per invocation, every
record succeeds, no census, spend or counter is written. If the registry scanning configuration cannot be read, the
invocation raises and the whole batch is retried.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import aws, ledger, log, metrics
from ecr_scan_reporter.core.config import Settings
from ecr_scan_reporter.handlers import emit_metrics, load_settings
from ecr_scan_reporter.sweep import budget, freshness, registry, scanning
from ecr_scan_reporter.sweep.stage import (
    HANDED_OVER,
    QUOTA_EXHAUSTED,
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

#: A repository through its in-use phase sends its second phase to itself this much later (SQS DelaySeconds).
FOLLOW_UP_DELAY_SECONDS = 10
#: A second phase whose gate is still closed goes back to the queue for as long as the plan has been running, at
#: least :data:`GATE_WAIT_MIN_SECONDS` and at most this (SQS's longest delay): a small registry's second phase
#: follows within a minute, a long first phase is not polled every few seconds.
GATE_WAIT_SECONDS = 900
GATE_WAIT_MIN_SECONDS = 30


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


@dataclass
class BudgetPart:
    """A record's part of a budgeted sweep: the run to sweep with, or why there is nothing to sweep now (``done``:
    the allowance is spent already; ``wait``: its second phase waits for the gate; ``refused``: ECR refused the
    registry's quota today, the second phase is dropped)."""

    run: BudgetRun | None = None
    allowance: budget.Allowance | None = None
    state: budget.State | None = None
    done: bool = False
    wait: bool = False
    refused: bool = False


def _budget_run(
    records: ledger.RepositoryLedger | None, config: Settings, item: WorkItem, now: datetime, fields: dict[str, Any]
) -> BudgetPart | None:
    """The repository's share of the day's scan budget (its allowance in the plan in force, sweep/budget.py) and
    the phase its sweep is in, or None without a budget."""
    if not config.daily_scan_budget or records is None:
        return None
    records.load(item.registry_id)
    today = budget.day_of(now)
    nothing = BudgetPart(BudgetRun(budget.Spender(budget.Allowance(today, 0)), today))
    if not records.registry_id:
        log.emit(logger, "budget_allowance_missing", logging.WARNING, **fields, day=today, reason="no registry id")
        return nothing
    key = ledger.partition_key(records.registry_id, item.repository)
    assert config.ledger_table_name is not None  # records exist
    client = aws.client("dynamodb")
    attributes, chunk_plan, chunk = ledger.budget_view(client, config.ledger_table_name, budget.chunk_of(key))
    state, allowance, spend = None, None, None
    try:
        text = (attributes or {}).get("state")
        state = budget.State.from_json(text) if isinstance(text, str) and text else None
        if state is not None and chunk is not None and chunk_plan == state.plan:
            allowance = budget.unchunked(chunk).get(key)
        spend = budget.Spend.from_json(records.spend) if records.spend else None
    except (ValueError, TypeError) as exc:
        log.emit(logger, "budget_allowance_unreadable", logging.ERROR, **fields, error=str(exc))
    if state is None or allowance is None or allowance.day not in (today, today - 1):
        log.emit(logger, "budget_allowance_missing", logging.WARNING, **fields, day=today)
        return nothing
    counters = budget.Counters({k: v for k, v in (attributes or {}).items() if "." in k})
    turn = budget.turn(allowance, spend)
    if turn.done:
        log.emit(logger, "budget_spent_already", **fields, plan=allowance.plan, spent=turn.spent)
        return BudgetPart(allowance=allowance, done=True)
    caps, limit = None, None
    if turn.phase == 2:
        why = budget.gate(state, counters, allowance, now.timestamp())
        if why is None:
            return BudgetPart(allowance=allowance, state=state, wait=True)
        if why == "refused":
            return BudgetPart(allowance=allowance, refused=True)
        if allowance.plan == state.plan:
            factors = _second_phase_cut(client, config.ledger_table_name, state, counters, now)
            caps, limit = budget.second_phase(allowance, factors, key, turn.spent)
    spender = budget.Spender(
        allowance,
        turn.spent,
        dict(turn.ties),
        classes=budget.IN_USE_CLASSES if turn.phase == 1 else None,
        caps=caps,
        limit=limit,
        taken=dict(turn.taken),
    )
    return BudgetPart(BudgetRun(spender, allowance.day, phase=turn.phase, plan=allowance.plan), allowance)


def _second_phase_cut(
    client: Any, table: str, state: budget.State, counters: budget.Counters, now: datetime
) -> dict[str, float]:
    """The plan's second-phase cut: set once, by the first repository to start its second phase, from the room
    the quota has then (sweep/budget.py room); every other repository reads it."""
    name = budget.counter(budget.PHASE2, state.plan)
    stored = counters.text(budget.PHASE2, state.plan)
    if stored is None:
        room = budget.room(state, counters, now.timestamp())
        proposed = json.dumps({"room": room, "factors": budget.lower_factors(state, room)})
        if ledger.set_budget_once(client, table, name, proposed):
            stored = proposed
            log.emit(logger, "scan_budget_room", plan=state.plan, room=room, lower=dict(state.lower))
        else:  # another repository set it first: its cut holds
            attributes, _, _ = ledger.budget_view(client, table, 0)
            value = (attributes or {}).get(name)
            stored = value if isinstance(value, str) else proposed
    try:
        factors = json.loads(stored)["factors"]
        return {str(k): float(v) for k, v in factors.items()}
    except (ValueError, TypeError, KeyError) as exc:
        log.emit(logger, "budget_room_unreadable", logging.ERROR, plan=state.plan, error=str(exc))
        return {}


def _budget_progress(
    part: BudgetPart | None,
    summary: SweepSummary | None,
    config: Settings,
    now: datetime,
    gone: bool = False,
) -> bool:
    """Add this part to the budget state's counters (scans started, refusals, a first phase through and its
    pushes); True when the repository goes on to its second phase."""
    if part is None or part.run is None or part.allowance is None or part.run.phase == 0:
        return False
    run, allowance = part.run, part.allowance
    today = budget.day_of(now)
    add: dict[str, float] = {}
    numbers: dict[str, float] = {}
    refused = summary is not None and summary.stopped == QUOTA_EXHAUSTED
    complete = gone or (summary is not None and summary.continuation is None and summary.stopped is None)
    if run.started:
        add[budget.counter(budget.SPENT, today)] = run.started
        add[budget.counter(budget.HOURLY, int(now.timestamp() // budget.HOUR))] = run.started
    if refused:
        add[budget.counter(budget.REFUSED, today)] = 1
    if complete and run.phase == 1:
        add[budget.counter(budget.DONE, allowance.day)] = 1
        add[budget.counter(budget.PUSHES, allowance.plan)] = 0 if gone else run.pushed_1d
        numbers[budget.counter(budget.PROGRESS, allowance.day)] = now.timestamp()
    if add or numbers:
        assert config.ledger_table_name is not None
        ledger.write_budget_state(aws.client("dynamodb"), config.ledger_table_name, {}, numbers, add)
    return not gone and complete and not refused and run.spend(complete=True, refused=False).phase == 2


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
    budgeted: BudgetPart | None = None
    try:
        budgeted = _budget_run(records, config, item, now, fields)
        if budgeted is not None and budgeted.run is None:
            return _budget_idle(budgeted, item, records, config, fields, now)
        run = budgeted.run if budgeted is not None else None
        continuation = item.continuation
        carried = continuation.budget if continuation is not None else None
        if (
            run is not None
            and carried is not None
            and (carried.get("phase", run.phase), carried.get("plan", run.plan)) != (run.phase, run.plan)
        ):
            # A part of a phase another delivery has finished since, or of another plan: the phase now running
            # starts over from the first page (its census must see every image).
            log.emit(logger, "continuation_restarted", **fields, reason=f"the sweep is in phase {run.phase} now")
            continuation = None
        summary = sweep_repository(
            ecr,
            item.repository,
            now=now,
            registry_id=item.registry_id,
            options=options,
            continuation=continuation,
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
        _budget_progress(budgeted, None, config, now, gone=True)  # through its first phase: nothing to wait for
        if gone is not None:
            gone.append(item.repository)
        return True
    except (ClientError, BotoCoreError) as exc:
        code = registry.error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        log.emit(logger, "sweep_failed", logging.ERROR, **fields, error_code=code, error=str(exc))
        return False
    if swept is not None:
        swept.append((continuation, summary))
    second = _budget_progress(budgeted, summary, config, now)
    if summary.continuation is not None or summary.stopped == HANDED_OVER:
        follow_up = WorkItem(item.repository, item.registry_id, summary.continuation)
        assert config.queue_url is not None  # required by load_settings()
        _, failed = send_work_items(aws.client("sqs"), config.queue_url, [follow_up])
        if failed:
            log.emit(logger, "continuation_unsent", logging.ERROR, **fields, error_code=failed[0].code)
            return False
    elif second and not _send_later(item, config, FOLLOW_UP_DELAY_SECONDS, fields):
        return False
    ledger_reads = {"ledger_queries": records.queries, "ledger_writes": records.writes} if records else {}
    phase = {"phase": budgeted.run.phase} if budgeted is not None and budgeted.run is not None else {}
    log.emit(logger, "repository_swept", **summary.as_dict(), **ledger_reads, **phase, message_id=message_id)
    return True


def _budget_idle(
    part: BudgetPart,
    item: WorkItem,
    records: ledger.RepositoryLedger | None,
    config: Settings,
    fields: dict[str, Any],
    now: datetime,
) -> bool:
    """A budgeted record with nothing to sweep now: spent already (done), a second phase that waits for the gate
    (back to the queue, unlisted), or one ECR's refusal of the registry's quota today drops (recorded as done)."""
    if part.wait:
        elapsed = now.timestamp() - (part.state.planned_at if part.state is not None else 0.0)
        wait = int(min(GATE_WAIT_SECONDS, max(GATE_WAIT_MIN_SECONDS, elapsed)))
        log.emit(
            logger, "budget_phase_waiting", **fields, plan=part.allowance.plan if part.allowance else None, wait=wait
        )
        return _send_later(item, config, wait, fields)
    if part.refused and records is not None and part.allowance is not None:
        recorded = budget.Spend.from_json(records.spend) if records.spend else None
        spent = recorded.spent if recorded is not None else 0
        spend = budget.Spend(part.allowance.day, spent, 0, part.allowance.plan, 2, True)
        records.record_census(None, spend.to_json())
        log.emit(logger, "budget_phase_dropped", **fields, plan=part.allowance.plan, reason="scan_quota_refused")
    return True


def _send_later(item: WorkItem, config: Settings, delay: int, fields: dict[str, Any]) -> bool:
    """Send the repository's work again (from its first page) in ``delay`` seconds; False when it cannot be sent
    (the record then fails and SQS delivers it again)."""
    assert config.queue_url is not None  # required by load_settings()
    again = WorkItem(item.repository, item.registry_id, None)
    _, failed = send_work_items(aws.client("sqs"), config.queue_url, [again], delay_seconds=delay)
    if failed:
        log.emit(logger, "follow_up_unsent", logging.ERROR, **fields, error_code=failed[0].code)
        return False
    return True
