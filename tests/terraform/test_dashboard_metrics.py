"""Every metric the functions emit (core/metrics.py's NAMES) is drawn on the dashboard (dashboard.tf): a metric added
to the code without a graph is a metric nobody looks at."""

from __future__ import annotations

import json
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


# Issue 19: with teams, these are also emitted by Team (a team's name, or "unowned"), the findings function's two
# and the report function's one. The dashboard draws them by that dimension, whatever the teams are: a SEARCH over
# the schema the functions really emit (every metric also carries FunctionName: handlers.emit_metrics).
TEAM_DIMENSION_METRICS = {"NotificationsSent": "Sum", "ImagesInBreach": "Sum", "RegistryImagesInBreach": "Maximum"}


def test_the_team_metrics_are_drawn_by_team() -> None:
    from datetime import UTC, datetime

    emitted = metrics.render(
        metrics.counts(dict.fromkeys(TEAM_DIMENSION_METRICS, 1), {metrics.TEAM: "payments"}),
        "ECRScanReporter",
        datetime.now(UTC),
        {metrics.FUNCTION_NAME: "esr-findings"},
    )
    schemas = {
        ",".join(sorted(d)) for line in emitted for d in json.loads(line)["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    }
    assert schemas == {"FunctionName,Team"}, schemas
    team_search = r"SEARCH\('\{\$\{local\.ns\},FunctionName,Team\} MetricName=\\\"([A-Za-z]+)\\\"[^']*', '([A-Za-z]+)'"
    searches = re.findall(team_search, DASHBOARD)
    assert dict(searches) == TEAM_DIMENSION_METRICS
    assert set(TEAM_DIMENSION_METRICS) <= set(metrics.NAMES)


def test_every_metric_of_the_hubs_function_is_on_the_hubs_dashboard() -> None:
    hub = (ROOT / "modules" / "hub" / "alarms.tf").read_text()
    drawn = set(re.findall(r'\\?"([A-Z][A-Za-z]+)\\?"', hub))
    missing = sorted(set(metrics.HUB_NAMES) - drawn)
    assert not missing, f"metrics the organization report emits but not on the hub's dashboard: {missing}"
