"""suppressions: matching, expiry at the date boundary, and the document's validation (pure, no mocks)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ecr_scan_reporter.alerts import suppressions
from ecr_scan_reporter.alerts.findings import Finding
from ecr_scan_reporter.alerts.suppressions import Suppression
from ecr_scan_reporter.core.config import ConfigError

EXPIRES = date(2026, 3, 1)
# What the module's jsonencode renders for a list of suppressions (tests/alerts.tftest.hcl asserts the same file).
TERRAFORM_RENDERED = json.loads((Path(__file__).parents[1] / "fixtures" / "suppressions_document.json").read_text())


def entry(vid: str = "CVE-2024-0001", regex: str | None = None, expires: str = "2026-03-01") -> dict[str, object]:
    return {"vulnerability_id": vid, "repository_regex": regex, "expires": expires, "reason": "no exploit path"}


def parsed(*entries: dict[str, object]) -> tuple[Suppression, ...]:
    return suppressions.parse(json.dumps(list(entries)))


def finding(vid: str, severity: str = "HIGH") -> Finding:
    return Finding(id=vid, severity=severity)


@pytest.mark.parametrize(
    ("today", "applies"),
    [
        (date(2026, 2, 28), True),  # the last day before expires
        (date(2026, 3, 1), False),  # on expires: no longer applies
        (date(2026, 3, 2), False),
        (date(2025, 3, 1), True),
    ],
)
def test_expiry_boundary(today: date, applies: bool) -> None:
    (rule,) = parsed(entry())
    result = suppressions.apply([finding("CVE-2024-0001")], "team/api", [rule], today)
    if applies:
        assert (result.kept, result.suppressed_count, result.expired) == ((), 1, ())
        assert result.suppressed[0][1] is rule
    else:
        assert (result.kept, result.suppressed_count, result.expired) == ((finding("CVE-2024-0001"),), 0, (rule,))


def test_only_the_named_finding_in_matching_repositories() -> None:
    rules = parsed(entry("cve-2024-0001", regex="^team/"))  # ids compare case-insensitively
    found = [finding("CVE-2024-0001"), finding("CVE-2024-0002")]

    in_team = suppressions.apply(found, "team/api", rules, date(2026, 1, 1))
    elsewhere = suppressions.apply(found, "other/team/api", rules, date(2026, 1, 1))

    assert [f.id for f in in_team.kept] == ["CVE-2024-0002"]
    assert [f.id for f, _ in in_team.suppressed] == ["CVE-2024-0001"]
    assert [f.id for f in elsewhere.kept] == ["CVE-2024-0001", "CVE-2024-0002"]
    assert elsewhere.expired == ()  # not expired, simply not for this repository


def test_no_regex_means_every_repository_and_search_semantics() -> None:
    (anywhere,) = parsed(entry())
    (partial,) = parsed(entry(regex="api"))
    assert anywhere.covers("CVE-2024-0001", "x/y")
    assert anywhere.repository_regex is None
    assert partial.covers("CVE-2024-0001", "team/api-gateway")
    assert not partial.covers("CVE-2024-0001", "team/web")


def test_an_active_entry_wins_over_an_expired_one_and_expired_entries_are_named_once() -> None:
    old, current = parsed(entry(expires="2025-01-01"), entry(expires="2027-01-01"))
    result = suppressions.apply([finding("CVE-2024-0001")], "team/api", [old, current], date(2026, 1, 1))
    assert (result.suppressed_count, result.expired) == (1, ())

    twice = suppressions.apply([finding("CVE-2024-0001")] * 2, "team/api", [old], date(2026, 1, 1))
    assert (len(twice.kept), twice.expired) == (2, (old,))


def test_expired_entries_that_name_no_finding_here_are_not_mentioned() -> None:
    (old,) = parsed(entry("CVE-2019-0001", expires="2025-01-01"))
    result = suppressions.apply([finding("CVE-2024-0001")], "team/api", [old], date(2026, 1, 1))
    assert result.expired == ()


def test_describe() -> None:
    (rule,) = parsed(entry(regex="^team/"))
    assert rule.describe() == {
        "vulnerability_id": "CVE-2024-0001",
        "repository_regex": "^team/",
        "expires": "2026-03-01",
        "reason": "no exploit path",
    }


def test_wrapped_document_and_hash() -> None:
    text = suppressions.document([entry()])
    assert suppressions.parse(json.dumps({"suppressions": [entry()]})) == suppressions.parse(text)
    assert suppressions.document_hash(text) == suppressions.document_hash(suppressions.document([entry()]))
    assert suppressions.document_hash(text) != suppressions.document_hash(suppressions.document([entry("CVE-1")]))


def test_terraform_rendered_document_reads_and_renders_back_identically() -> None:
    """The text Terraform stores (with <, >, & and U+2028 escaped as Go escapes them, non-ASCII as is) parses to the
    entries it lists, hashes to the hash Terraform computed, and Python renders those entries to the same text."""
    text, sha256 = TERRAFORM_RENDERED["document"], TERRAFORM_RENDERED["sha256"]
    rules = suppressions.parse(text)
    assert [rule.describe() for rule in rules] == [
        {
            "vulnerability_id": "CVE-2024-0001",
            "repository_regex": "^team-a/(app|api)$",
            "expires": "2026-06-30",
            "reason": 'Not reachable: <b> & "quoted", \u00fcn\u00efcode,\u2028line separator',
        },
        {
            "vulnerability_id": "GHSA-xxxx-yyyy-zzzz",
            "repository_regex": None,
            "expires": "2027-01-01",
            "reason": "every repository (empty regex)",
        },
        {
            "vulnerability_id": "cve-2023-4911",
            "repository_regex": None,
            "expires": "2026-12-31",
            "reason": "no regex given",
        },
    ]
    assert suppressions.document_hash(text) == sha256
    assert suppressions.document([rule.describe() for rule in rules]) == text
    assert suppressions.document_hash(suppressions.document([rule.describe() for rule in rules])) == sha256


def test_three_hundred_entries() -> None:
    rules = parsed(*(entry(f"CVE-2024-{n:04d}") for n in range(300)))
    found = [finding(f"CVE-2024-{n:04d}") for n in range(0, 600, 2)]
    result = suppressions.apply(found, "team/api", rules, date(2026, 1, 1))
    assert (result.suppressed_count, len(result.kept)) == (150, 150)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({**entry(), "vulnerability_id": " "}, r"suppressions\[0\]\.vulnerability_id must be a non-empty string"),
        ({**entry(), "vulnerability_id": None}, r"vulnerability_id must be a non-empty string"),
        ({**entry(), "reason": ""}, r"suppressions\[0\]\.reason is required"),
        ({k: v for k, v in entry().items() if k != "reason"}, r"reason is required"),
        ({**entry(), "expires": "2026-02-30"}, r"expires '2026-02-30' is not a real date"),
        ({**entry(), "expires": "1/3/2026"}, r"expires must be a date YYYY-MM-DD"),
        ({**entry(), "expires": None}, r"expires must be a date YYYY-MM-DD"),
        ({**entry(), "repository_regex": "team/("}, r"repository_regex='team/\(' is not a valid regular expression"),
        ({**entry(), "repository_regex": 3}, r"repository_regex must be a string or null"),
        ({**entry(), "severity": "HIGH"}, r"unknown field\(s\) severity"),
        ("CVE-2024-0001", r"suppressions\[0\] must be an object"),
    ],
)
def test_bad_entries_are_refused_with_their_place(bad: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        suppressions.parse(json.dumps([bad]))


@pytest.mark.parametrize("text", ["{", '{"not": "a list"}', '"text"'])
def test_bad_documents(text: str) -> None:
    with pytest.raises(ConfigError, match="suppressions"):
        suppressions.parse(text)
