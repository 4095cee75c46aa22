"""The repositories stage's part of the scan budget: read the sweep markers, plan the day (sweep/budget.py, pure),
store the plan's allowances and the registry's budget state, and say what the registry looks like.

Reads: the budget state item (one GetItem: the day's budget, the plan in force, the counters the images stage adds
to), the ``config#sweep`` markers (one paginated Query: a census and a spend per repository) and, for a second
plan of the same day, the plan in force (one paginated Query of ``config#plan``). Writes: the plan's allowances in
at most :data:`budget.PLAN_CHUNKS` chunk items (one UpdateItem each, about one per 100 repositories at ECR's
100,000: not one per repository) and the state (one UpdateItem). A marker whose census, spend or state cannot be
read is logged (``sweep_marker_unreadable``) and its repository planned as one without a census: one bad item
never costs the whole plan.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecr_scan_reporter.core import ledger, log, metrics
from ecr_scan_reporter.sweep import budget

logger = log.get_logger(__name__)


@dataclass(frozen=True)
class Planned:
    registry: budget.RegistryPlan
    staleness: budget.Staleness
    writes: int


def plan_day(
    client: Any,
    table: str,
    selected: Iterable[tuple[str, str]],
    *,
    configured: int,
    expiry_days: int,
    now: datetime,
) -> Planned:
    """Plan today's budget for the ``selected`` (registry id, repository) pairs and store the plan."""
    keys = [ledger.partition_key(registry_id, name) for registry_id, name in selected]
    wanted = {key: key for key in keys}  # the markers' keys are kept as these strings: one copy of each
    today = budget.day_of(now)
    item = ledger.budget_state(client, table) or {}
    state: budget.State | None = None
    try:
        text = item.get("state")
        state = budget.State.from_json(text) if isinstance(text, str) and text else None
    except (ValueError, TypeError, KeyError) as exc:  # json.JSONDecodeError is a ValueError
        log.emit(logger, "sweep_marker_unreadable", logging.ERROR, marker=ledger.BUDGET_STATE, error=str(exc))
    counters = budget.Counters({name: value for name, value in item.items() if "." in name})
    censuses: dict[str, budget.Census] = {}
    spends: dict[str, budget.Spend] = {}
    # The spends matter to a later plan of the same day (the allowances still being spent) and, without the day's
    # counters (a state older than them), for the day before's figures; otherwise they are only checked.
    keep_spends = state is None or state.day == today or not counters.has(budget.SPENT, state.day)
    seen = budget.Seen(expiry_days)
    for marker in ledger.sweep_markers(client, table):
        key = wanted.get(marker.key)
        if key is None:
            continue  # only the selected repositories count (a repository excluded since, or deleted, does not)
        try:
            census = budget.Census.from_json(marker.census) if marker.census else None
            spend = budget.Spend.from_json(marker.spend) if marker.spend else None
        except (ValueError, TypeError, KeyError) as exc:
            log.emit(logger, "sweep_marker_unreadable", logging.ERROR, marker=key, error=str(exc))
            continue  # planned as a repository without a census
        if census is not None:
            seen.add(census)  # the staleness, summed as the markers come: no repository's ages are kept
            censuses[key] = budget.Census(census.day, budget.Tally(census.tally.due), census.images, 0)
        if spend is not None and keep_spends:
            spends[key] = spend
    current = {}
    if state is not None and state.day == today:
        current = _plan_in_force(client, table, state, spends, wanted)
    plan_id = f"{today}.{int(now.timestamp() * 1000):x}.{secrets.token_hex(3)}"
    planned = budget.plan_registry(
        censuses,
        spends,
        keys,
        configured,
        state,
        today,
        expiry_days,
        plan_id=plan_id,
        now=now.timestamp(),
        counters=counters,
        current=current,
    )
    writes = ledger.write_plan_chunks(client, table, plan_id, budget.chunked(planned.allowances))
    staleness = seen.result(configured)
    document = budget.staleness_document(
        staleness,
        budget=planned.state.effective,
        configured=configured,
        planned=sum(a.total for a in planned.allowances.values()),
        spent=planned.last_spent,
        refused=bool(planned.last_refused),
        at=now.isoformat().replace("+00:00", "Z"),
    )
    keep_days = range(today - budget.OTHER_DAYS - 1, today + 2)
    hour = int(now.timestamp() // budget.HOUR)
    previous = [state.plan] if state is not None and state.plan else []
    ledger.write_budget_state(
        client,
        table,
        {"state": planned.state.to_json(), ledger.STALENESS: json.dumps(document)},
        add={budget.counter(budget.EXPECTED, today): planned.fresh},
        remove=counters.stale(keep_days, [plan_id, *previous], range(hour - 48, hour + 2)),
    )
    writes += 1
    log.emit(
        logger,
        "scan_budget_planned",
        budget=planned.state.effective,
        configured=configured,
        plan=plan_id,
        left=planned.left,
        amount=planned.plan.amount,
        taken={budget.CLASS_NAMES[k]: v for k, v in planned.plan.taken.items()},
        due={budget.CLASS_NAMES[k]: v for k, v in planned.plan.due.items()},
        repositories_without_census=planned.unknown,
        repositories_kept=planned.kept,
        last_spent=planned.last_spent,
        last_refused=planned.last_refused,
        headroom=staleness.headroom.sentence(),
        writes=writes,
    )
    return Planned(planned, staleness, writes)


def _plan_in_force(
    client: Any, table: str, state: budget.State, spends: dict[str, budget.Spend], wanted: dict[str, str]
) -> dict[str, budget.Allowance]:
    """The allowances of the plan in force that the selected repositories have not finished (a later plan of the
    same day keeps those; the finished ones are planned again from what is left, so they are not even read)."""
    out: dict[str, budget.Allowance] = {}
    for plan, text in ledger.plan_chunks(client, table):
        if plan != state.plan or not text:
            continue  # a chunk an earlier plan wrote and the one in force did not: its repositories are gone
        try:
            entries = json.loads(text)
            if not isinstance(entries, dict):
                raise ValueError("a plan chunk must be an object")
            for text_key, entry in entries.items():
                key = wanted.get(text_key)
                if key is None:
                    continue  # not selected any more
                spend = spends.get(key)
                if spend is not None and spend.done and isinstance(entry, dict) and spend.plan == entry.get("plan"):
                    continue
                out[key] = budget.Allowance.from_json(entry)
        except (ValueError, TypeError) as exc:
            log.emit(logger, "plan_chunk_unreadable", logging.ERROR, plan=plan, error=str(exc))
    return out


def measured(planned: Planned) -> list[metrics.Metric]:
    """The budget's and the registry's figures as metrics (core/metrics.py's BUDGET_NAMES)."""
    seen, plan = planned.staleness, planned.registry
    counts = {
        metrics.IMAGES_IN_USE: seen.in_use,
        metrics.IMAGES_PAST_EXPIRY_IN_USE: seen.past_expiry_in_use,
        metrics.IMAGES_PAST_EXPIRY_NOT_IN_USE: seen.past_expiry_not_in_use,
        metrics.IN_USE_IMAGES_PAST_EXPIRY_PLUS_ONE_DAY: seen.in_use_past_expiry_plus_one_day,
        metrics.IMAGES_NEVER_SCANNED: seen.never_scanned,
        metrics.SCAN_BUDGET: plan.state.effective,
        metrics.SCANS_PLANNED: sum(plan.allowances[k].total for k in plan.allowances),
        metrics.SCANS_SPENT: plan.last_spent,
        metrics.SCANS_REFUSED_BY_QUOTA: int(plan.last_refused),
        metrics.SCANS_NEEDED_PER_DAY: seen.headroom.needed_per_day,
        metrics.IMAGES_PUSHED_LAST_DAY: seen.pushed_1d,
    }
    out = metrics.counts(counts)
    days = {
        metrics.IN_USE_SCAN_AGE_P50: seen.in_use_age_p50,
        metrics.IN_USE_SCAN_AGE_P95: seen.in_use_age_p95,
        metrics.IN_USE_SCAN_AGE_MAX: seen.in_use_age_max,
        metrics.SCAN_AGE_P95: seen.age_p95,
        metrics.AFFORDABLE_EXPIRY_DAYS: seen.headroom.affordable_expiry_days,
    }
    out += [metrics.Metric(name, value, "None") for name, value in days.items() if value is not None]
    out.append(metrics.Metric(metrics.QUOTA_NEEDED_PERCENT, round(seen.headroom.quota_percent, 2), "Percent"))
    return out
