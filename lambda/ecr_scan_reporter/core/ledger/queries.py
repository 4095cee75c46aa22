"""Reading image records: one image (:func:`get_record`, strongly consistent), one repository (a paginated Query:
:func:`query_repository`, or only the scan state the images stage reads: :func:`query_scan_entries`) or the whole
table (a paginated Scan: :func:`scan_records`, ``config#`` items skipped)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ecr_scan_reporter.core.ledger.config_keys import CONFIG_PREFIX
from ecr_scan_reporter.core.ledger.record import (
    IN_PROGRESS,
    LedgerRecord,
    _s,
    _time,
    from_item,
    item_key,
    partition_key,
)

_ENTRY_ATTRIBUTES = ("digest", "scan_status", "scan_started_at", "scan_completed_at", "expires_at")


@dataclass(frozen=True, slots=True)
class ScanEntry:
    """The few fields the images stage needs from each record of a repository (see :func:`query_scan_entries`)."""

    digest: str
    scan_status: str
    scan_started_at: datetime | None
    scan_completed_at: datetime | None
    expires_at: int | None = None  # the record's TTL (epoch seconds)


def get_record(client: Any, table: str, registry_id: str, repository: str, digest: str) -> LedgerRecord | None:
    """The image's record (strongly consistent read), or None."""
    item = client.get_item(TableName=table, Key=item_key(registry_id, repository, digest), ConsistentRead=True).get(
        "Item"
    )
    return None if item is None else from_item(item)


def query_repository(client: Any, table: str, registry_id: str, repository: str) -> Iterator[LedgerRecord]:
    """Every record of one repository: a paginated Query of its partition."""
    for item in _query(client, table, registry_id, repository):
        yield from_item(item)


def query_scan_entries(client: Any, table: str, registry_id: str, repository: str) -> Iterator[ScanEntry]:
    """The scan state of every image of one repository the ledger knows: the same paginated Query, fetching only
    the attributes the images stage reads."""
    for item in _query(client, table, registry_id, repository, _ENTRY_ATTRIBUTES):
        yield _entry(item)


def scan_records(
    client: Any,
    table: str,
    on_unreadable: Callable[[Mapping[str, Any], Exception], None] | None = None,
    on_config: Callable[[Mapping[str, Any]], None] | None = None,
) -> Iterator[LedgerRecord]:
    """Every image record of the table (a paginated Scan, every page; ``config#`` items skipped, or handed to
    ``on_config``). An item that is not a record of this schema (an attribute of another type, e.g. written by hand
    or by an older version) raises, or, with ``on_unreadable``, is handed to it and skipped: one bad item does not
    cost the whole report."""
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page.get("Items", []):
            if str((item.get("pk") or {}).get("S", "")).startswith(CONFIG_PREFIX):
                if on_config is not None:
                    on_config(item)
                continue
            try:
                record = from_item(item)
            except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
                if on_unreadable is None:
                    raise
                on_unreadable(item, exc)
                continue
            yield record


def _entry(item: Mapping[str, Any]) -> ScanEntry:
    return ScanEntry(
        digest=item["digest"]["S"],
        scan_status=_s(item, "scan_status") or IN_PROGRESS,
        scan_started_at=_time(item, "scan_started_at"),
        scan_completed_at=_time(item, "scan_completed_at"),
        expires_at=int(Decimal(item["expires_at"]["N"])) if "N" in (item.get("expires_at") or {}) else None,
    )


def _query(
    client: Any, table: str, registry_id: str, repository: str, projection: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("query").paginate(**_query_request(table, registry_id, repository, projection)):
        yield from page.get("Items", [])


def _query_request(table: str, registry_id: str, repository: str, projection: tuple[str, ...]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": partition_key(registry_id, repository)}},
    }
    if projection:
        names = {f"#p{i}": name for i, name in enumerate(projection)}
        kwargs["ProjectionExpression"] = ", ".join(names)
        kwargs["ExpressionAttributeNames"] = names
    return kwargs
