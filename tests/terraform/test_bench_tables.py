"""docs/benchmarks.md shows the committed results: the two tables ``python -m bench.readme`` renders from
bench/results.json, the commit that measured them, and its count of passed and reported-only targets."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import readme  # noqa: E402  (bench/readme.py)

DOCUMENT = ROOT / "docs" / "benchmarks.md"
RESULTS = json.loads((ROOT / "bench" / "results.json").read_text())


def test_both_tables_are_rendered_from_the_committed_results() -> None:
    text = DOCUMENT.read_text()
    assert readme.results_table(RESULTS) in text, "docs/benchmarks.md: results table stale: python -m bench.readme"
    assert readme.ledger_table(RESULTS) in text, "docs/benchmarks.md: ledger table stale: python -m bench.readme"


def test_the_commit_and_the_targets_are_the_results_ones() -> None:
    text = DOCUMENT.read_text()
    commit = RESULTS["git"]["commit"][:7]
    assert set(re.findall(r"commit `([0-9a-f]{7})`", text)) == {commit}
    statuses = Counter(target["status"] for target in RESULTS["targets"])
    assert f"At `{commit}` {statuses['PASS']} targets pass and {statuses['SKIP']} are reported only" in text


def test_the_teams_table_is_rendered_from_the_committed_teams_results() -> None:
    from bench import teams

    results = json.loads((ROOT / "bench" / "teams_results.json").read_text())
    text = DOCUMENT.read_text()
    assert teams.markdown(results) in text, "docs/benchmarks.md: teams table stale: python -m bench.teams --markdown"
    assert f"Measured at `{results['git']['commit'][:7]}`" in text
    assert all(t["status"] in ("PASS", "SKIP") for t in results["targets"]), results["targets"]


def test_the_scan_budgets_month_is_rendered_from_its_committed_results() -> None:
    month = json.loads((ROOT / "bench" / "month_results.json").read_text())
    text = DOCUMENT.read_text()
    assert readme.month_table(month) in text, "docs/benchmarks.md: month table stale: python -m bench.readme"
    assert all(t["status"] != "FAIL" for t in month["targets"]), "bench/month_results.json has a failed target"
    assert f"measured at `{month['git']['commit'][:7]}`" in text


def test_the_scan_budgets_plan_is_rendered_from_its_committed_results() -> None:
    from bench import plan_scale

    results = json.loads((ROOT / "bench" / "plan_results.json").read_text())
    text = DOCUMENT.read_text()
    assert plan_scale.markdown(results) in text, (
        "docs/benchmarks.md: plan table stale: python -m bench.plan_scale --markdown"
    )
    assert all(t["status"] == "PASS" for t in results["targets"]), results["targets"]
    assert (
        f"Measured at `{results['git']['commit'][:7]}`, Python 3.11 on 2 shared cores (`bench/plan_results.json`"
        in text
    )
    assert {s["repositories"] for s in results["scenarios"]} == {100_000}
