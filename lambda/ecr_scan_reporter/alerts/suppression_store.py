"""Reading the accepted-risk list the module stores in the ledger table (item ``config#suppressions``).

Lambda's 4 KB environment cannot hold hundreds of suppressions, so the module writes them as one ledger item and
puts only the SHA-256 of the stored text in the function's environment (``SUPPRESSIONS_SHA256``). A change of the
list therefore changes the function's configuration and reaches every execution environment; :func:`load` reads
the item once per hash and keeps it for the life of the execution environment. The decisions (which finding an
entry hides, expiry) are in ``alerts/suppressions.py``; nothing here decides.

Integrity: only the list whose SHA-256 is the one the function's environment names is ever used. A stored list
with another hash (changed outside Terraform, or a deployment in progress: item and function are updated one after
the other) is refused like a missing one: the findings stage then applies no suppression at all, so every finding
counts and the notification says suppressions were not applied (fail open: an extra alert, never a missed one).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ecr_scan_reporter.alerts import suppressions
from ecr_scan_reporter.alerts.suppressions import Suppression
from ecr_scan_reporter.core import log

KEY = {"pk": {"S": "config#suppressions"}, "digest": {"S": "document"}}

logger = log.get_logger(__name__)
_lock = threading.Lock()
_cache: dict[str, tuple[Suppression, ...]] = {}


class SuppressionsUnavailable(RuntimeError):
    """The stored list could not be read, is invalid, or is not the version the function expects (its SHA-256
    differs from ``SUPPRESSIONS_SHA256``); the message says why."""


def load(dynamodb: Any, table: str, expected_sha256: str) -> tuple[Suppression, ...]:
    """The stored suppressions, cached per ``expected_sha256``. Raises SuppressionsUnavailable when the item is
    missing, invalid, or holds another version than ``expected_sha256`` (never used, never cached: the next
    invocation reads again); AWS errors propagate."""
    with _lock:
        cached = _cache.get(expected_sha256)
    if cached is not None:
        return cached
    fetched = _fetch(dynamodb, table)
    if fetched is None:
        raise SuppressionsUnavailable(f"no suppressions item in {table} (expected SHA-256 {expected_sha256[:12]}...)")
    text, parsed = fetched
    actual = suppressions.document_hash(text)
    if actual != expected_sha256:
        log.emit(
            logger,
            "suppressions_version_mismatch",
            logging.ERROR,
            stored_sha256=actual,
            expected_sha256=expected_sha256,
            hint="not applied: every finding counts until the stored list is the one SUPPRESSIONS_SHA256 names "
            "(a deployment in progress settles by itself; otherwise the item was changed outside Terraform)",
        )
        raise SuppressionsUnavailable(
            f"the stored suppressions (SHA-256 {actual[:12]}...) are not the version the function expects "
            f"({expected_sha256[:12]}...): not applied"
        )
    with _lock:
        _cache[expected_sha256] = parsed
    return parsed


def read(dynamodb: Any, table: str) -> tuple[Suppression, ...] | None:
    """The stored suppressions, whatever their hash, uncached (the CLI); None when there is no item (the module
    writes none while its ``suppressions`` input is empty). Raises SuppressionsUnavailable when the item is
    invalid; AWS errors propagate."""
    fetched = _fetch(dynamodb, table)
    return None if fetched is None else fetched[1]


def _fetch(dynamodb: Any, table: str) -> tuple[str, tuple[Suppression, ...]] | None:
    item = dynamodb.get_item(TableName=table, Key=KEY, ConsistentRead=True).get("Item")
    if item is None:
        return None
    text = (item.get("document") or {}).get("S")
    if not isinstance(text, str):
        raise SuppressionsUnavailable(f"the suppressions item in {table} has no document")
    try:
        return text, suppressions.parse(text)
    except ValueError as exc:
        raise SuppressionsUnavailable(f"the suppressions item in {table} is invalid: {exc}") from None


def clear_cache() -> None:
    """Forget loaded lists (tests)."""
    with _lock:
        _cache.clear()
