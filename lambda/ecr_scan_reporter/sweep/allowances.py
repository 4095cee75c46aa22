"""The repositories stage's part of the scan budget: read the sweep markers, plan the day (sweep/budget.py, pure),
store each repository's allowance and the registry's budget state, and say what the registry looks like.

One paginated Query of the ``config#sweep`` partition (one item per repository), one UpdateItem per selected
repository (its allowance) and one for the budget state. A marker whose census, spend or state cannot be read is
logged (``sweep_marker_unreadable``) and its repository planned as one without a census: one bad item never costs
the whole plan.
"""

from __future__ import annotations

import json
import logging
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
    """Plan today's budget for the ``selected`` (registry id, repository) pairs and store the allowances."""
    keys = [ledger.partition_key(registry_id, name) for registry_id, name in selected]
    wanted = set(keys)
    censuses: dict[str, budget.Census] = {}
    spends: dict[str, budget.Spend] = {}
    state: budget.State | None = None
    for marker in ledger.sweep_markers(client, table):
        try:
            if marker.key == ledger.BUDGET_STATE:
                state = budget.State.from_json(marker.state) if marker.state else None
                continue
            if marker.key not in wanted:
                continue
            if marker.census:
                censuses[marker.key] = budget.Census.from_json(marker.census)
            if marker.spend:
                spends[marker.key] = budget.Spend.from_json(marker.spend)
        except (ValueError, TypeError, KeyError) as exc:  # json.JSONDecodeError is a ValueError
            log.emit(logger, "sweep_marker_unreadable", logging.ERROR, marker=marker.key, error=str(exc))
            censuses.pop(marker.key, None)
    today = budget.day_of(now)
    planned = budget.plan_registry(censuses, spends, keys, configured, state, today, expiry_days)
    writes = 0
    for key in keys:
        allowance = planned.allowances[key]
        ledger.write_sweep_marker(client, table, key, **{ledger.ALLOWANCE: json.dumps(allowance.to_json())})
        writes += 1
    seen = budget.staleness(censuses.values(), expiry_days)
    document = budget.staleness_document(
        seen,
        budget=planned.state.effective,
        configured=configured,
        planned=sum(a.total for a in planned.allowances.values()),
        spent=planned.last_spent,
        refused=bool(planned.last_refused),
        at=now.isoformat().replace("+00:00", "Z"),
    )
    ledger.write_sweep_marker(
        client, table, ledger.BUDGET_STATE, state=planned.state.to_json(), **{ledger.STALENESS: json.dumps(document)}
    )
    writes += 1
    log.emit(
        logger,
        "scan_budget_planned",
        budget=planned.state.effective,
        configured=configured,
        amount=planned.plan.amount,
        taken={budget.CLASS_NAMES[k]: v for k, v in planned.plan.taken.items()},
        due={budget.CLASS_NAMES[k]: v for k, v in planned.plan.due.items()},
        repositories_without_census=planned.unknown,
        last_spent=planned.last_spent,
        last_refused=planned.last_refused,
        headroom=seen.headroom.sentence(),
    )
    return Planned(planned, seen, writes)


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
