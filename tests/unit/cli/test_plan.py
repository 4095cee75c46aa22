"""The dry-run CLI as a process (issue 16): `plan -v` prints one JSON line per decision on stderr, before or after
the command; `plan` ends with its counts; `plan | head` stops quietly. The registry is moto, in the CLI's own
process (the driver below), so what is checked is the real stdout, stderr and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ACCOUNT, REGION
from ecr_fakes import push, set_last_scan

from ecr_scan_reporter import cli
from ecr_scan_reporter.core import aws
from ecr_scan_reporter.sweep import plan_counts

UNIT = Path(__file__).resolve().parents[1]
PIPE_CAPACITY = 65536  # Linux's default
IMAGES = 700  # about 150 KB of plan JSON
LAMBDA = UNIT.parents[1] / "lambda"

#: A CLI process over moto: the registry is seeded (argv[1]: images in team/big), then cli.main runs on the rest.
DRIVER = """
import sys
from datetime import UTC, datetime, timedelta
from moto import mock_aws
from ecr_fakes import push, set_last_scan
from ecr_scan_reporter import cli
from ecr_scan_reporter.core import aws
with mock_aws():
    ecr = aws.client("ecr")
    for name in ("team/app", "team/big", "other/x"):
        ecr.create_repository(repositoryName=name)
    push(ecr, "team/app", 1, "v1")
    fresh = push(ecr, "team/app", 2, "v2")
    set_last_scan("team/app", fresh, datetime.now(UTC) - timedelta(days=1))
    for i in range(int(sys.argv[1])):
        push(ecr, "team/big", 100 + i)
    status = cli.main(sys.argv[2:])
sys.exit(status)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(LAMBDA), str(UNIT)]),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        MOTO_ACCOUNT_ID=ACCOUNT,
    )
    return env


def cli_process(images: int, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", DRIVER, str(images), *argv],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
        timeout=25,
    )


def _decisions(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines()]


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "-v", "--exclude", "^other/"],
        ["-v", "plan", "--exclude", "^other/"],
        ["--verbose", "plan", "--exclude=^other/"],
    ],
)
def test_plan_verbose_prints_one_json_line_per_decision_on_stderr(argv: list[str]) -> None:
    run = cli_process(1, *argv)
    assert run.returncode == 0, run.stderr
    decisions = _decisions(run.stderr)  # every stderr line is JSON (json.loads above)
    seen = {(d["message"], d.get("repository"), d.get("reason") or d.get("verdict")) for d in decisions}
    assert seen == {
        ("repository_selected", "team/app", None),
        ("repository_selected", "team/big", None),
        ("repository_filtered_out", "other/x", None),
        ("scan_needed", "team/app", "never_scanned"),
        ("scan_not_needed", "team/app", "fresh"),
        ("scan_needed", "team/big", "never_scanned"),
    }
    assert len(decisions) == 6  # one line each
    assert all(d["level"] in ("DEBUG", "INFO") for d in decisions)
    assert "team/app" in run.stdout  # the plan itself stays on stdout


def test_plan_without_verbose_prints_no_decision() -> None:
    run = cli_process(1, "plan")
    assert (run.returncode, run.stderr) == (0, "")


def test_plan_ends_with_the_counts_in_both_forms(moto: None, capsys: Any) -> None:
    ecr = aws.client("ecr")
    for name in ("team/app", "team/big", "other/x"):
        ecr.create_repository(repositoryName=name)
    push(ecr, "team/app", 1, "v1")
    set_last_scan("team/app", push(ecr, "team/app", 2, "v2"), datetime.now(UTC) - timedelta(days=1))
    push(ecr, "team/big", 3)
    push(ecr, "team/big", 4)
    assert cli.main(["plan", "--exclude", "^other/"]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "3 image(s) in 2 repository(ies) would be scanned",
        "repositories: 2 matched, 1 filtered out",
        "images: 4 considered, 3 to scan (3 never scanned, 0 expired), 1 fresh, 0 in flight",
    ]
    assert cli.main(["plan", "--exclude", "^other/", "--output", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"]["repositories"] == {"matched": 2, "filtered_out": 1, "gone": 0}
    assert doc["counts"]["images"] == {
        "considered": 4,
        "to_scan": 3,
        "never_scanned": 3,
        "expired": 0,
        "fresh": 1,
        "in_progress": 0,
        **dict.fromkeys(plan_counts.OTHER, 0),
    }
    assert len(doc["images"]) == 3


@pytest.mark.timeout(90)  # seeding 700 images and planning them takes seconds on a busy machine
def test_plan_into_a_pipe_closed_early_stops_quietly() -> None:
    """More output than a pipe holds: the CLI is still writing when the reader goes away (`plan | head -1`)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(IMAGES), "plan", "--output", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    first = proc.stdout.readline()  # like head -1
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=80) == cli.BROKEN_PIPE
    assert first.strip()
    assert stderr == ""  # no traceback, no "Exception ignored" at exit


def test_the_plan_above_is_more_than_a_pipe_holds() -> None:
    """The premise of the test above: the CLI cannot have written everything before the reader goes away."""
    image = {"repository": "team/big", "digest": "sha256:" + "0" * 64, "tags": [], "reason": "never_scanned"}
    assert len(json.dumps({"images": [{**image, "last_scan": None}] * IMAGES}, indent=2)) > 2 * PIPE_CAPACITY


# --- the counts, in process ------------------------------------------------------------------------------------


def test_the_counts_add_up_with_expired_in_flight_and_filtered_images(moto: None, capsys: Any) -> None:
    from core.test_ledger import create_table

    from ecr_scan_reporter.core import ledger

    ecr, ddb = aws.client("ecr"), aws.client("dynamodb")
    create_table(ddb, "esr-ledger")
    for name in ("team/app", "sandbox/x"):
        ecr.create_repository(repositoryName=name)
    now = datetime.now(UTC)
    push(ecr, "team/app", 1, "new")
    set_last_scan("team/app", push(ecr, "team/app", 2, "old"), now - timedelta(days=30))
    set_last_scan("team/app", push(ecr, "team/app", 3, "fresh"), now - timedelta(days=1))
    busy = push(ecr, "team/app", 4, "busy")
    push(ecr, "sandbox/x", 5)
    ledger.record_scan_state(
        ddb, "esr-ledger", ACCOUNT, "team/app", busy, ("busy",), "IN_PROGRESS", None, now, ledger.expires_at(now, 7)
    )  # the ledger knows its scan as started just now: in flight
    code = cli.main(["plan", "--exclude", "^sandbox/", "--table", "esr-ledger", "--output", "json"])
    doc = json.loads(capsys.readouterr().out)
    images = doc["counts"]["images"]
    assert code == 0
    assert doc["counts"]["repositories"] == {"matched": 1, "filtered_out": 1, "gone": 0}
    assert (images["never_scanned"], images["expired"], images["to_scan"]) == (1, 1, 2)
    assert (images["fresh"], images["in_progress"]) == (1, 1)
    not_to_scan = images["fresh"] + images["in_progress"] + sum(images[name] for name in plan_counts.OTHER)
    assert images["considered"] == images["to_scan"] + not_to_scan == 4
    assert {item["reason"] for item in doc["images"]} == {"never_scanned", "expired"}


def test_render_text_names_the_other_reasons_only_when_there_are_some() -> None:
    counts = plan_counts.plan_counts(
        matched=3,
        filtered_out=0,
        gone=1,
        summaries=[{"considered": 5, "fresh": 1, "archived": 2}, {"considered": 1, "in_progress": 1}],
        reasons=["expired", "never_scanned"],
    )
    assert plan_counts.render_text(counts) == [
        "repositories: 3 matched, 0 filtered out (1 of those matched gone while planned)",
        "images: 6 considered, 2 to scan (1 never scanned, 1 expired), 1 fresh, 1 in flight, 2 archived",
    ]
