"""Every metric the functions emit (core/metrics.py's NAMES) is drawn on the dashboard (dashboard.tf): a metric added
to the code without a graph is a metric nobody looks at."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lambda"))

from ecr_scan_reporter.core import metrics  # noqa: E402 - after the path above

DASHBOARD = (ROOT / "dashboard.tf").read_text()


def test_every_emitted_metric_is_on_the_dashboard() -> None:
    drawn = set(re.findall(r'\\?"([A-Z][A-Za-z0-9]+)\\?"', DASHBOARD))  # a name in quotes, or in a SEARCH's \"...\"
    missing = sorted(set(metrics.NAMES) - drawn)
    assert not missing, f"metrics emitted but not on the dashboard (dashboard.tf): {missing}"
