"""Reading Embedded Metric Format lines back, validated against the specification's required structure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "emf-schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def validate(document: dict[str, Any]) -> None:
    """Raise AssertionError unless ``document`` is a valid EMF document: the schema, plus the rules a schema cannot
    say (every dimension and metric a root member; dimension values strings; metric values numbers or arrays of at
    most 100 numbers)."""
    errors = [e.message for e in _VALIDATOR.iter_errors(document)]
    assert not errors, errors
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert isinstance(document.get(name), str), f"dimension {name} is not a string root member"
                assert 1 <= len(document[name]) <= 1024
        for metric in directive["Metrics"]:
            value = document.get(metric["Name"])
            numbers = value if isinstance(value, list) else [value]
            assert len(numbers) <= 100, f"metric {metric['Name']}: more than 100 values"
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers), metric


def parse(text: str) -> list[dict[str, Any]]:
    """The EMF documents among ``text``'s lines (each validated); other lines are ignored."""
    documents = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        if "_aws" in document:
            validate(document)
            documents.append(document)
    return documents


def values(documents: list[dict[str, Any]]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(metric name, sorted dimension items) -> summed value, over ``documents``."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            dims = tuple(sorted((name, document[name]) for s in directive["Dimensions"] for name in s))
            for metric in directive["Metrics"]:
                key = (metric["Name"], dims)
                found[key] = found.get(key, 0) + document[metric["Name"]]
    return found
