"""Documents the module stores in the ledger table for the functions: one item each (``config#suppressions``,
``config#teams``), read by content hash.

Lambda's 4 KB environment cannot hold hundreds of suppressions or fifty teams, so the module writes each document
as one ledger item (``pk = config#<name>``, ``digest = document``, attribute ``document``: the JSON text) and puts
only the SHA-256 of the text in the functions' environment. A change of the document therefore changes the
functions' configuration and reaches every execution environment; :func:`load` reads the item once per hash and
keeps the parsed value for the life of the execution environment.

Integrity: only the document whose SHA-256 is the one the environment names is ever used. A stored document with
another hash (changed outside Terraform, or a deployment in progress: item and function are updated one after the
other) is refused like a missing one, never cached, so the next invocation reads again. What a caller does then is
its own decision (suppressions: apply none; teams: route to the module's topic), always toward an extra alert,
never a missed one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ecr_scan_reporter.core import log

T = TypeVar("T")
logger = log.get_logger(__name__)
_lock = threading.Lock()
_cache: dict[tuple[str, str], Any] = {}


class DocumentUnavailable(RuntimeError):
    """The stored document could not be read, is invalid, or is not the version the function expects; the
    message says why."""


def key(name: str) -> dict[str, dict[str, str]]:
    """The item's key in the ledger table."""
    return {"pk": {"S": f"config#{name}"}, "digest": {"S": "document"}}


def document_hash(text: str) -> str:
    """SHA-256 (hex) of a stored document's text: what the functions' environment carries."""
    return hashlib.sha256(text.encode()).hexdigest()


def load(
    dynamodb: Any,
    table: str,
    name: str,
    expected_sha256: str,
    parse: Callable[[str], T],
    error: type[DocumentUnavailable] = DocumentUnavailable,
) -> T:
    """The stored document ``name`` parsed, cached per ``(name, expected_sha256)``. Raises ``error`` when the item
    is missing, invalid (``parse`` raised ValueError) or holds another version than ``expected_sha256``; AWS errors
    propagate."""
    with _lock:
        if (name, expected_sha256) in _cache:
            return _cache[(name, expected_sha256)]  # type: ignore[no-any-return]
    text = fetch(dynamodb, table, name, error)
    if text is None:
        raise error(f"no {name} item in {table} (expected SHA-256 {expected_sha256[:12]}...)")
    actual = document_hash(text)
    if actual != expected_sha256:
        log.emit(
            logger,
            f"{name}_version_mismatch",
            logging.ERROR,
            stored_sha256=actual,
            expected_sha256=expected_sha256,
            hint=f"not used until the stored {name} document is the one the function's environment names (a "
            "deployment in progress settles by itself; otherwise the item was changed outside Terraform)",
        )
        raise error(
            f"the stored {name} (SHA-256 {actual[:12]}...) are not the version the function expects "
            f"({expected_sha256[:12]}...): not applied"
        )
    parsed = _parse(text, parse, name, table, error)
    with _lock:
        _cache[(name, expected_sha256)] = parsed
    return parsed


def read(
    dynamodb: Any,
    table: str,
    name: str,
    parse: Callable[[str], T],
    error: type[DocumentUnavailable] = DocumentUnavailable,
) -> T | None:
    """The stored document whatever its hash, uncached (the CLI); None when there is no item. Raises ``error``
    when it is invalid; AWS errors propagate."""
    text = fetch(dynamodb, table, name, error)
    return None if text is None else _parse(text, parse, name, table, error)


def fetch(dynamodb: Any, table: str, name: str, error: type[DocumentUnavailable] = DocumentUnavailable) -> str | None:
    """The stored text (consistent read), None when there is no item."""
    item = dynamodb.get_item(TableName=table, Key=key(name), ConsistentRead=True).get("Item")
    if item is None:
        return None
    text = (item.get("document") or {}).get("S")
    if not isinstance(text, str):
        raise error(f"the {name} item in {table} has no document")
    return text


def _parse(text: str, parse: Callable[[str], T], name: str, table: str, error: type[DocumentUnavailable]) -> T:
    try:
        return parse(text)
    except ValueError as exc:
        raise error(f"the {name} item in {table} is invalid: {exc}") from None


def clear_cache() -> None:
    """Forget loaded documents (tests)."""
    with _lock:
        _cache.clear()
