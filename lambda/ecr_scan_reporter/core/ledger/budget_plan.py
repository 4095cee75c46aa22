"""The scan budget's plan and state (sweep/budget.py, sweep/allowances.py): the plan's allowances in chunk items of
the ``config#plan`` partition (:data:`~ecr_scan_reporter.core.ledger.config_keys.PLAN_PARTITION`: a few items, not
one per repository; a chunk whose ``plan`` is not the state's is of an earlier plan, its repositories gone), and the
registry's budget state item of ``config#sweep`` (``markers.BUDGET_STATE``: the state, the staleness, the counters
the images stage adds to). The repositories stage writes the chunks and the state; the images stage reads its
repository's chunk and the state in one BatchGetItem (:func:`budget_view`) and adds to the counters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from ecr_scan_reporter.core.ledger.config_keys import PLAN_PARTITION, SWEEP_MARKERS
from ecr_scan_reporter.core.ledger.expressions import _condition_failed, _Update
from ecr_scan_reporter.core.ledger.markers import BUDGET_STATE
from ecr_scan_reporter.core.ledger.record import _s


def plan_chunk_key(chunk: int) -> str:
    return f"chunk#{chunk:04d}"


def write_plan_chunks(client: Any, table: str, plan: str, chunks: Mapping[int, str] | Iterable[tuple[int, str]]) -> int:
    """Store a plan's allowances ((chunk number, JSON) pairs); returns the writes made (one per chunk)."""
    writes = 0
    for chunk, text in chunks.items() if isinstance(chunks, Mapping) else chunks:
        update = _Update()
        update.set("plan", {"S": plan})
        update.set("allowances", {"S": text})
        key = {"pk": {"S": PLAN_PARTITION}, "digest": {"S": plan_chunk_key(chunk)}}
        client.update_item(TableName=table, Key=key, **update.request())
        writes += 1
    return writes


def plan_chunks(client: Any, table: str) -> Iterator[tuple[str | None, str | None]]:
    """Every stored chunk of the plan partition as (plan, allowances JSON) (a paginated Query)."""
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": PLAN_PARTITION}},
        "ConsistentRead": True,
    }
    for page in client.get_paginator("query").paginate(**request):
        for item in page.get("Items", []):
            yield _s(item, "plan"), _s(item, "allowances")


def _attributes(item: Mapping[str, Any] | None) -> dict[str, str | float] | None:
    """An item's string and number attributes, keys left out (None: no item)."""
    if item is None:
        return None
    out: dict[str, str | float] = {}
    for name, value in item.items():
        if name in ("pk", "digest"):
            continue
        if "S" in value:
            out[name] = value["S"]
        elif "N" in value:
            out[name] = float(value["N"])
    return out


def budget_state(client: Any, table: str) -> dict[str, str | float] | None:
    """The budget state item's attributes (``state``, ``staleness``, the counters), read consistently."""
    key = {"pk": {"S": SWEEP_MARKERS}, "digest": {"S": BUDGET_STATE}}
    return _attributes(client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item"))


def budget_view(
    client: Any, table: str, chunk: int, attempts: int = 5
) -> tuple[dict[str, str | float] | None, str | None, str | None]:
    """What a part of a budgeted sweep reads of the plan, in one BatchGetItem: the budget state item's attributes
    and the chunk ``chunk``'s plan id and allowances (None each when missing)."""
    state_key = {"pk": {"S": SWEEP_MARKERS}, "digest": {"S": BUDGET_STATE}}
    chunk_key = {"pk": {"S": PLAN_PARTITION}, "digest": {"S": plan_chunk_key(chunk)}}
    wanted: dict[str, Any] = {table: {"Keys": [state_key, chunk_key], "ConsistentRead": True}}
    found: dict[str, Mapping[str, Any]] = {}
    for _ in range(attempts):
        response = client.batch_get_item(RequestItems=wanted)
        for item in response.get("Responses", {}).get(table, []):
            found[item["pk"]["S"]] = item
        wanted = response.get("UnprocessedKeys") or {}
        if not wanted:
            break
    else:
        raise RuntimeError(f"BatchGetItem left keys unprocessed {attempts} times: {wanted}")
    chunk_item = found.get(PLAN_PARTITION)
    plan = _s(chunk_item, "plan") if chunk_item else None
    allowances = _s(chunk_item, "allowances") if chunk_item else None
    return _attributes(found.get(SWEEP_MARKERS)), plan, allowances


def write_budget_state(
    client: Any,
    table: str,
    strings: Mapping[str, str],
    numbers: Mapping[str, float] | None = None,
    add: Mapping[str, float] | None = None,
    remove: Iterable[str] = (),
) -> None:
    """Update the budget state item: set ``strings`` and ``numbers``, add to the counters ``add``, remove
    ``remove`` (one UpdateItem)."""
    update = _Update()
    for name, text in strings.items():
        update.set(name, {"S": text})
    for name, number in (numbers or {}).items():
        update.set(name, {"N": _number(number)})
    for name, number in (add or {}).items():
        update.add(name, {"N": _number(number)})
    for name in remove:
        update.remove(name)
    key = {"pk": {"S": SWEEP_MARKERS}, "digest": {"S": BUDGET_STATE}}
    client.update_item(TableName=table, Key=key, **update.request())


def set_budget_once(client: Any, table: str, name: str, text: str) -> bool:
    """Set the state item's string ``name`` unless it is set already; False when it was (read it back: the first
    writer's value holds)."""
    key = {"pk": {"S": SWEEP_MARKERS}, "digest": {"S": BUDGET_STATE}}
    try:
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #n = :v",
            ConditionExpression="attribute_not_exists(#n)",
            ExpressionAttributeNames={"#n": name},
            ExpressionAttributeValues={":v": {"S": text}},
        )
        return True
    except ClientError as exc:
        if not _condition_failed(exc):
            raise
    return False


def _number(value: float) -> str:
    return format(Decimal(str(round(value, 3))).normalize(), "f")
