"""alerts/suppressions.py: the validation and the canonical document no other test pins (issue 17).

The document's SHA-256 is compared with Terraform's own ``sha256(jsonencode(...))`` (``alerts.tf`` stores
``jsonencode(local.suppressions)`` and puts its ``sha256`` in the findings function's environment): the
``terraform`` binary the repository's tooling needs (``make lint``, ``make tf-test``) evaluates it offline, without a
configuration or a provider."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ecr_scan_reporter.alerts import suppressions
from ecr_scan_reporter.alerts.findings import Finding
from ecr_scan_reporter.core.config import ConfigError


def entry(**changes: Any) -> dict[str, Any]:
    return {
        "vulnerability_id": "CVE-2024-0001",
        "repository_regex": None,
        "expires": "2026-03-01",
        "reason": "no exploit path",
        **changes,
    }


# --- _entry / parse ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [" ", "   ", "\t", "\n", " \t\r\n "])
def test_a_whitespace_only_reason_is_refused(reason: str) -> None:
    with pytest.raises(ConfigError, match=r"suppressions\[1\]\.reason is required \(why the risk is accepted\)"):
        suppressions.parse(json.dumps([entry(), entry(reason=reason)]))


@pytest.mark.parametrize("reason", [3, None, ["why"], {"why": "no"}])
def test_a_reason_that_is_not_text_is_refused(reason: Any) -> None:
    with pytest.raises(ConfigError, match=r"suppressions\[0\]\.reason is required"):
        suppressions.parse(json.dumps([entry(reason=reason)]))


def test_id_and_reason_are_trimmed_and_an_empty_regex_means_every_repository() -> None:
    (rule,) = suppressions.parse(json.dumps([entry(vulnerability_id=" CVE-1 ", reason=" why\n", repository_regex="")]))
    assert (rule.vulnerability_id, rule.reason, rule.repository_regex) == ("CVE-1", "why", None)
    assert rule.covers("cve-1", "any/repository")


def test_an_entry_expires_on_its_date_and_is_named_once_it_has() -> None:
    (rule,) = suppressions.parse(json.dumps([entry(expires="2026-03-01")]))
    found = [Finding("CVE-2024-0001", "HIGH")]
    before = suppressions.apply(found, "team/app", [rule], date(2026, 2, 28))
    assert (before.kept, before.suppressed_count, before.expired) == ((), 1, ())
    on = suppressions.apply(found, "team/app", [rule], date(2026, 3, 1))
    assert (on.kept, on.suppressed_count, on.expired) == (tuple(found), 0, (rule,))


def test_a_finding_id_matches_case_insensitively_and_ignoring_surrounding_space() -> None:
    (rule,) = suppressions.parse(json.dumps([entry(vulnerability_id="cve-2024-0001", repository_regex="^team/")]))
    assert rule.covers(" CVE-2024-0001 ", "team/app")
    assert not rule.covers("CVE-2024-0001", "ops/team/app")  # search semantics, anchored by the regex itself
    assert not rule.covers("CVE-2024-00011", "team/app")


def test_the_first_active_entry_that_covers_a_finding_is_the_one_recorded() -> None:
    rules = suppressions.parse(
        json.dumps([entry(repository_regex="^ops/", reason="ops"), entry(reason="all"), entry(reason="later")])
    )
    applied = suppressions.apply([Finding("CVE-2024-0001", "HIGH")], "team/app", rules, date(2026, 1, 1))
    [(_, which)] = applied.suppressed
    assert which.reason == "all"


# --- document: the canonical text and its hash ----------------------------------------------------------------


def test_the_document_sorts_keys_and_has_no_spaces() -> None:
    reordered = {"reason": "why", "expires": "2026-03-01", "vulnerability_id": "CVE-1", "repository_regex": None}
    text = suppressions.document([reordered])
    assert text == '[{"expires":"2026-03-01","reason":"why","repository_regex":null,"vulnerability_id":"CVE-1"}]'
    assert suppressions.document([dict(sorted(reordered.items()))]) == text
    assert suppressions.document_hash(text) == suppressions.document_hash(suppressions.document([reordered]))


def test_the_document_parses_back_to_the_same_entries() -> None:
    entries = [entry(reason="risk <accepted> & noted, café"), entry(vulnerability_id="CVE-2", repository_regex="^a/")]
    assert suppressions.parse(suppressions.document(entries)) == suppressions.parse(json.dumps(entries))


ENTRIES: list[dict[str, Any]] = [
    # as alerts.tf's local.suppressions builds them (trimmed, an empty regex as null), in the order Terraform keeps
    {"vulnerability_id": "CVE-2024-0001", "repository_regex": None, "expires": "2026-03-01", "reason": "no exploit"},
    {"reason": "vendor says <not affected> & we agree", "expires": "2027-01-31", "vulnerability_id": "GHSA-xxxx-yyyy",
     "repository_regex": "^team/(app|api)$"},
    {"vulnerability_id": "ALAS-2024-1234", "repository_regex": "\\.tmp$", "expires": "2026-12-31",
     "reason": "naïve café — \"quoted\" \\ back\u2028slash\ttab"},
]  # fmt: skip


def terraform(expression: str, cwd: Path) -> str:
    """Evaluate ``expression`` with ``terraform console`` in an empty directory (no configuration, no provider)."""
    binary = shutil.which("terraform")
    assert binary, "terraform is needed (make lint and make tf-test use it too)"
    env = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    run = subprocess.run(
        [binary, "console"], input=expression, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return run.stdout.strip()


def test_the_document_hash_is_the_one_terraform_puts_in_the_environment(tmp_path: Path) -> None:
    (tmp_path / "entries.json").write_text(json.dumps(ENTRIES))
    expected = terraform('sha256(jsonencode(jsondecode(file("entries.json"))))', tmp_path)
    text = suppressions.document(ENTRIES)
    assert f'"{suppressions.document_hash(text)}"' == expected, text
    assert suppressions.parse(text) == suppressions.parse(json.dumps(ENTRIES))


def test_the_document_of_a_plain_entry_is_terraforms_text(tmp_path: Path) -> None:
    (tmp_path / "entries.json").write_text(json.dumps(ENTRIES[:1]))
    shown = terraform('jsonencode(jsondecode(file("entries.json")))', tmp_path)
    assert json.loads(shown) == suppressions.document(ENTRIES[:1])  # console prints the string quoted


def test_an_entry_for_every_repository_describes_its_regex_as_null() -> None:
    (rule,) = suppressions.parse(json.dumps([entry()]))
    assert rule.describe() == {
        "vulnerability_id": "CVE-2024-0001",
        "repository_regex": None,
        "expires": "2026-03-01",
        "reason": "no exploit path",
    }


def test_an_expired_entry_is_named_only_for_the_repositories_it_covered() -> None:
    (rule,) = suppressions.parse(json.dumps([entry(repository_regex="^team/")]))
    found = [Finding("CVE-2024-0001", "HIGH")]
    assert suppressions.apply(found, "ops/app", [rule], date(2026, 6, 1)).expired == ()
    assert suppressions.apply(found, "team/app", [rule], date(2026, 6, 1)).expired == (rule,)


def test_an_entry_that_is_not_an_object_is_named_with_its_type() -> None:
    with pytest.raises(ConfigError, match=r"^suppressions\[0\] must be an object, got str$"):
        suppressions.parse(json.dumps(["CVE-2024-0001"]))


def test_unknown_fields_are_all_named() -> None:
    with pytest.raises(ConfigError, match=r"^suppressions\[0\] has unknown field\(s\) severity, team$"):
        suppressions.parse(json.dumps([entry(team="x", severity="HIGH")]))
