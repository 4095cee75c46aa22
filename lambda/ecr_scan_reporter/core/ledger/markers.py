"""The sweep markers: the items of the ``config#sweep`` partition (:data:`SWEEP_MARKERS`), one per repository
(range key ``<registry_id>#<repository>``: when the last sweep through the whole repository started, and its budget
census, spend and allowance) and the registry's budget state (range key :data:`BUDGET_STATE`). The images stage
writes its repository's marker through ``repository.RepositoryLedger``; the repositories stage reads them all
(:func:`sweep_markers`) and writes allowances and the budget state (:func:`write_sweep_marker`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecr_scan_reporter.core.ledger.config_keys import SWEEP_MARKERS
from ecr_scan_reporter.core.ledger.expressions import _Update
from ecr_scan_reporter.core.ledger.record import _s, _time

#: The marker's attributes for the scan budget (sweep/budget.py), each a JSON string: ``census`` (the images stage's
#: counts of the repository after a sweep through it) and ``spend`` (what it spent of its allowance, under the plan's
#: id); ``allowance`` is the older place of the allowance (read, no longer written: the plan is ``budget_plan.py``'s).
#: ``budget`` is the range key of the registry's budget state (its counters: sweep/budget.py Counters).
CENSUS, SPEND, ALLOWANCE = "census", "spend", "allowance"
BUDGET_STATE = "budget"
#: The budget state item's attribute the exposure report reads: the registry's staleness as the repositories stage
#: planned it (JSON, sweep/budget.staleness_document).
STALENESS = "staleness"


@dataclass(frozen=True, slots=True)
class SweepMarker:
    """One ``config#sweep`` item as the repositories stage reads it (JSON strings left to sweep/budget.py)."""

    key: str  # "<registry_id>#<repository>", or BUDGET_STATE
    complete_at: datetime | None
    census: str | None
    spend: str | None
    allowance: str | None
    state: str | None  # the budget state item's JSON


def sweep_markers(client: Any, table: str) -> Iterator[SweepMarker]:
    """Every item of the ``config#sweep`` partition (a paginated Query)."""
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": SWEEP_MARKERS}},
    }
    for page in client.get_paginator("query").paginate(**request):
        for item in page.get("Items", []):
            yield SweepMarker(
                item["digest"]["S"],
                _time(item, "complete_at"),
                _s(item, CENSUS),
                _s(item, SPEND),
                _s(item, ALLOWANCE),
                _s(item, "state"),
            )


def write_sweep_marker(client: Any, table: str, key: str, **attributes: str) -> None:
    """Set string attributes of one ``config#sweep`` item (the repositories stage: an allowance, the budget state)."""
    update = _Update()
    for name, value in attributes.items():
        update.set(name, {"S": value})
    client.update_item(TableName=table, Key={"pk": {"S": SWEEP_MARKERS}, "digest": {"S": key}}, **update.request())
