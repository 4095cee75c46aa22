"""The scan ledger: one DynamoDB item per image, its latest scan and what was notified about it.

Table (``ledger.tf``): hash key ``pk`` = ``"<registry_id>#<repository>"``, range key ``digest``, TTL attribute
``expires_at`` (epoch seconds). Items whose ``pk`` starts with ``config#`` are not image records (configuration the
module may store); every reader here skips them. Every write is conditional, so a late, repeated or concurrent
event is harmless.

The modules, by what they hold (none imports this package, and none imports one that imports it):

- ``record.py``: the image record (:class:`LedgerRecord`), its keys, the record a scan result makes
  (``result_record``), its size bound (``fit``, ``item_size``) and its DynamoDB form (``to_item``, ``from_item``);
- ``config_keys.py``: the ``config#`` keys (``CONFIG_PREFIX``, ``SWEEP_MARKERS``);
- ``markers.py``: the sweep markers and the budget state (``SweepMarker``, ``sweep_markers``,
  ``write_sweep_marker``, ``BUDGET_STATE``, ``STALENESS``);
- ``queries.py``: the reads (``get_record``, ``query_repository``, ``query_scan_entries``, ``scan_records``);
- ``writes.py``: the conditional writes (``put_record``, ``confirm_notified``, ``record_exported``,
  ``record_scan_started``, ``record_scan_state``, ``record_not_scannable``);
- ``repository.py``: one repository's records as a sweep sees them (``RepositoryLedger``);
- ``budget_plan.py``: the scan budget's plan (chunk items of ``config#plan``) and the budget state's counters
  (``write_plan_chunks``, ``plan_chunks``, ``budget_state``, ``budget_view``, ``write_budget_state``,
  ``set_budget_once``);
- ``expressions.py``: the UpdateItem expressions the writers build.

Callers use the package: ``from ecr_scan_reporter.core import ledger; ledger.put_record(...)``. A name is read where it
is defined: to change a constant (a test's ``monkeypatch``), set it on its module (``ledger.record.ITEM_BUDGET``).
"""

from __future__ import annotations

from ecr_scan_reporter.core.ledger.budget_plan import (
    budget_state,
    budget_view,
    plan_chunk_key,
    plan_chunks,
    set_budget_once,
    write_budget_state,
    write_plan_chunks,
)
from ecr_scan_reporter.core.ledger.config_keys import CONFIG_PREFIX, PLAN_PARTITION, SWEEP_MARKERS
from ecr_scan_reporter.core.ledger.markers import (
    ALLOWANCE,
    BUDGET_STATE,
    CENSUS,
    SPEND,
    STALENESS,
    SweepMarker,
    sweep_markers,
    write_sweep_marker,
)
from ecr_scan_reporter.core.ledger.queries import (
    ScanEntry,
    get_record,
    query_repository,
    query_scan_entries,
    scan_records,
)
from ecr_scan_reporter.core.ledger.record import (
    DIGEST_BYTES,
    FINDINGS_BUDGET,
    IN_PROGRESS,
    ITEM_BUDGET,
    MIN_TTL_DAYS,
    PENDING_NEW_MAX,
    SECURITYHUB_TRACKED_MAX,
    SOURCES,
    LedgerRecord,
    expires_at,
    finding_digest,
    fit,
    from_item,
    item_key,
    item_size,
    partition_key,
    result_record,
    to_attributes,
    to_item,
)
from ecr_scan_reporter.core.ledger.repository import RepositoryLedger
from ecr_scan_reporter.core.ledger.writes import (
    confirm_notified,
    put_record,
    record_exported,
    record_not_scannable,
    record_scan_started,
    record_scan_state,
)

__all__ = [
    "ALLOWANCE",
    "BUDGET_STATE",
    "CENSUS",
    "CONFIG_PREFIX",
    "DIGEST_BYTES",
    "FINDINGS_BUDGET",
    "IN_PROGRESS",
    "ITEM_BUDGET",
    "MIN_TTL_DAYS",
    "PENDING_NEW_MAX",
    "PLAN_PARTITION",
    "SECURITYHUB_TRACKED_MAX",
    "SOURCES",
    "SPEND",
    "STALENESS",
    "SWEEP_MARKERS",
    "LedgerRecord",
    "RepositoryLedger",
    "ScanEntry",
    "SweepMarker",
    "budget_state",
    "budget_view",
    "confirm_notified",
    "expires_at",
    "finding_digest",
    "fit",
    "from_item",
    "get_record",
    "item_key",
    "item_size",
    "partition_key",
    "plan_chunk_key",
    "plan_chunks",
    "put_record",
    "query_repository",
    "query_scan_entries",
    "record_exported",
    "record_not_scannable",
    "record_scan_started",
    "record_scan_state",
    "result_record",
    "scan_records",
    "set_budget_once",
    "sweep_markers",
    "to_attributes",
    "to_item",
    "write_budget_state",
    "write_plan_chunks",
    "write_sweep_marker",
]
