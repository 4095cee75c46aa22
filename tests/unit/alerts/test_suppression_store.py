"""suppression_store: the stored list is read once per hash; a missing or invalid item is refused with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ecr_scan_reporter.alerts import suppression_store, suppressions

ENTRY = {"vulnerability_id": "CVE-1", "repository_regex": None, "expires": "2030-01-01", "reason": "ok"}


class Table:
    def __init__(self, text: str | None) -> None:
        self.text, self.reads = text, 0

    def get_item(self, **request: Any) -> dict[str, Any]:
        self.reads += 1
        assert request["Key"] == suppression_store.KEY
        assert request["ConsistentRead"] is True
        return {} if self.text is None else {"Item": {"document": {"S": self.text}}}


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    suppression_store.clear_cache()
    yield
    suppression_store.clear_cache()


def test_read_once_per_hash() -> None:
    text = suppressions.document([ENTRY])
    table = Table(text)
    first = suppression_store.load(table, "t", suppressions.document_hash(text))
    second = suppression_store.load(table, "t", suppressions.document_hash(text))
    assert first == second
    assert [s.vulnerability_id for s in first] == ["CVE-1"]
    assert table.reads == 1


def test_another_version_is_refused_and_read_again_next_time() -> None:
    """Integrity: a stored list whose hash is not SUPPRESSIONS_SHA256 is never used (nor cached)."""
    text = suppressions.document([ENTRY])
    table = Table(text)
    for _ in range(2):
        with pytest.raises(suppression_store.SuppressionsUnavailable, match="not the version the function expects"):
            suppression_store.load(table, "t", "f" * 64)
    assert table.reads == 2
    assert len(suppression_store.load(table, "t", suppressions.document_hash(text))) == 1


@pytest.mark.parametrize(
    ("text", "message"), [(None, "no suppressions item"), ("[{}]", "invalid: suppressions\\[0\\].vulnerability_id")]
)
def test_missing_or_invalid(text: str | None, message: str) -> None:
    expected = suppressions.document_hash(text) if text is not None else "f" * 64
    with pytest.raises(suppression_store.SuppressionsUnavailable, match=message):
        suppression_store.load(Table(text), "t", expected)
