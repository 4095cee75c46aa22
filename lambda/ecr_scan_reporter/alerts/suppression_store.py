"""Reading the accepted-risk list the module stores in the ledger table (item ``config#suppressions``), through
``core/config_items.py``: read once per hash (``SUPPRESSIONS_SHA256``), refused when missing, invalid or not the
version the function's environment names. The findings stage then applies no suppression at all, so every finding
counts and the notification says suppressions were not applied (fail open: an extra alert, never a missed one).
The decisions (which finding an entry hides, expiry) are in ``alerts/suppressions.py``; nothing here decides.
"""

from __future__ import annotations

from typing import Any

from ecr_scan_reporter.alerts import suppressions
from ecr_scan_reporter.alerts.suppressions import Suppression
from ecr_scan_reporter.core import config_items

NAME = "suppressions"
KEY = config_items.key(NAME)


class SuppressionsUnavailable(config_items.DocumentUnavailable):
    """The stored list could not be read, is invalid, or is not the version the function expects (its SHA-256
    differs from ``SUPPRESSIONS_SHA256``); the message says why."""


def load(dynamodb: Any, table: str, expected_sha256: str) -> tuple[Suppression, ...]:
    """The stored suppressions, cached per ``expected_sha256`` (see ``core/config_items.load``)."""
    return config_items.load(dynamodb, table, NAME, expected_sha256, suppressions.parse, SuppressionsUnavailable)


def read(dynamodb: Any, table: str) -> tuple[Suppression, ...] | None:
    """The stored suppressions, whatever their hash, uncached (the CLI); None when there is no item (the module
    writes none while its ``suppressions`` input is empty). Raises SuppressionsUnavailable when it is invalid."""
    return config_items.read(dynamodb, table, NAME, suppressions.parse, SuppressionsUnavailable)


def clear_cache() -> None:
    """Forget loaded documents (tests)."""
    config_items.clear_cache()
