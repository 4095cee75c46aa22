"""Reading the accepted-risk list the module stores in the ledger table (item ``config#suppressions``).

Lambda's 4 KB environment cannot hold hundreds of suppressions, so the module writes them as one ledger item and
puts only the SHA-256 of the stored text in the function's environment (``SUPPRESSIONS_SHA256``). A change of the
list therefore changes the function's configuration and reaches every execution environment; :func:`load` reads
the item once per hash and keeps it for the life of the execution environment. The decisions (which finding an
entry hides, expiry) are in ``alerts/suppressions.py``; nothing here decides.
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
    """The list could not be read or does not match the expected hash; the message says why."""


def load(dynamodb: Any, table: str, expected_sha256: str) -> tuple[Suppression, ...]:
    """The stored suppressions, cached per ``expected_sha256``. When the item holds another version (a deployment
    in progress: item and function are updated one after the other) that version is used, with a warning, and
    not cached, so the next invocation reads again. Raises SuppressionsUnavailable when the item is missing or
    invalid; AWS errors propagate."""
    with _lock:
        cached = _cache.get(expected_sha256)
    if cached is not None:
        return cached
    item = dynamodb.get_item(TableName=table, Key=KEY, ConsistentRead=True).get("Item")
    if item is None:
        raise SuppressionsUnavailable(f"no suppressions item in {table} (expected SHA-256 {expected_sha256[:12]}...)")
    text = (item.get("document") or {}).get("S")
    if not isinstance(text, str):
        raise SuppressionsUnavailable(f"the suppressions item in {table} has no document")
    try:
        parsed = suppressions.parse(text)
    except ValueError as exc:
        raise SuppressionsUnavailable(f"the suppressions item in {table} is invalid: {exc}") from None
    actual = suppressions.document_hash(text)
    if actual != expected_sha256:
        log.emit(
            logger,
            "suppressions_version_mismatch",
            logging.WARNING,
            stored_sha256=actual,
            expected_sha256=expected_sha256,
            hint="a deployment in progress: the stored version is used and read again next time",
        )
        return parsed
    with _lock:
        _cache[expected_sha256] = parsed
    return parsed


def clear_cache() -> None:
    """Forget loaded lists (tests)."""
    with _lock:
        _cache.clear()
