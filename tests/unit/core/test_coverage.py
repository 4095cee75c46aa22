"""core/coverage.py (pure): which repositories a named regex selects, and the flags for the ones probably not meant."""

from __future__ import annotations

import re
from datetime import date

import pytest

from ecr_scan_reporter.alerts import suppressions
from ecr_scan_reporter.alerts.suppressions import Suppression
from ecr_scan_reporter.core import coverage

NAMES = ["team/app", "team/web", "prod-api", "nonprod-x", "team/app"]  # a duplicate is one repository


def scope(name: str, pattern: str | None) -> coverage.Scope:
    return coverage.Scope(name, re.compile(pattern) if pattern is not None else None)


def test_matches_are_sorted_and_counted_over_distinct_names() -> None:
    [found] = coverage.coverage([scope("team", "^team/")], NAMES)
    assert (found.repositories, found.count, found.total, found.flags) == (("team/app", "team/web"), 2, 4, ())


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        ("^sandbox/", (coverage.NO_REPOSITORY,)),
        ("", (coverage.EVERY_REPOSITORY,)),
        ("[a-z]", (coverage.EVERY_REPOSITORY,)),
        ("prod-*", (coverage.GLOB_LIKE,)),
        ("-*", (coverage.EVERY_REPOSITORY, coverage.GLOB_LIKE)),
        ("^qa-*", (coverage.NO_REPOSITORY, coverage.GLOB_LIKE)),
        (None, ()),  # no regex: every repository is what was asked for
    ],
)
def test_flags(pattern: str | None, flags: tuple[str, ...]) -> None:
    assert coverage.coverage([scope("s", pattern)], NAMES)[0].flags == flags


def test_an_empty_registry_matches_nothing_whatever_the_regex() -> None:
    found = coverage.coverage([scope("a", None), scope("b", ".*")], [])
    assert [c.flags for c in found] == [(coverage.NO_REPOSITORY,), (coverage.NO_REPOSITORY,)]
    assert coverage.flag_counts(found) == {
        coverage.NO_REPOSITORY: 2,
        coverage.EVERY_REPOSITORY: 0,
        coverage.GLOB_LIKE: 0,
    }


@pytest.mark.parametrize("pattern", ["prod-*", "team/*", "app*", "^a_*", "x|y9*"])
def test_glob_like(pattern: str) -> None:
    assert coverage.glob_like(pattern)


@pytest.mark.parametrize("pattern", [".*", "^prod-.*", "[a-z]*", "(-x)*", "\\w*", "\\-*", "[*]", "[]*]", "a+", ""])
def test_not_glob_like(pattern: str) -> None:
    assert not coverage.glob_like(pattern)


def test_glob_hint_suggests_the_anchored_prefix() -> None:
    assert coverage.glob_hint("team.prod-*").endswith("for names starting with team.prod- write ^team\\.prod-")
    assert "write" not in coverage.glob_hint("(a|b)-x*")


def test_suppressions_as_scopes() -> None:
    entries = [
        Suppression("CVE-1", date(2026, 1, 2), "why", re.compile("^team/")),
        Suppression("CVE-2", date(2026, 1, 1), "why not", None),
    ]
    scopes = suppressions.scopes(entries, date(2026, 1, 1))
    assert [s.name for s in scopes] == ["suppressions[0]", "suppressions[1]"]
    assert [s.details["expired"] for s in scopes] == [False, True]  # on the expiry day it no longer applies
    found = coverage.coverage(scopes, NAMES)
    assert found[0].to_json() == {
        "name": "suppressions[0]",
        "vulnerability_id": "CVE-1",
        "expires": "2026-01-02",
        "expired": False,
        "reason": "why",
        "repository_regex": "^team/",
        "count": 2,
        "repositories": ["team/app", "team/web"],
        "flags": [],
    }
    assert found[1].to_json()["repository_regex"] is None
