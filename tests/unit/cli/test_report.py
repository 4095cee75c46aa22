"""`ecr-scan-reporter report`: the exposure report from a ledger table, in three formats; errors in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table

from ecr_scan_reporter import cli
from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.core.ledger import LedgerRecord

TABLE = "esr-ledger"


@pytest.fixture
def table(moto: None) -> str:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client, TABLE)
    now = datetime.now(UTC)
    for i, (repository, breached, completed) in enumerate(
        [("team/app", ("HIGH",), now - timedelta(days=1)), ("team/app", (), now - timedelta(days=20))]
    ):
        record = LedgerRecord(
            registry_id=ACCOUNT,
            repository=repository,
            digest=f"sha256:{i:064x}",
            image_tags=(f"v{i}",),
            source="ecr",
            scan_status="COMPLETE",
            scan_completed_at=completed,
            breached=breached,
            findings={"CVE-2026-0001": "HIGH"} if breached else {},
        )
        ledger.put_record(client, TABLE, record, None)
    return TABLE


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text(table: str, capsys: Any) -> None:
    code, out, err = run(capsys, "report", "--table", table)
    assert (code, err) == (0, "")
    assert out.startswith(f"ECR exposure report ({REGION}), ")
    assert "In breach:        1 image(s) (1 HIGH)" in out
    assert "Not covered:      1 image(s): 0 never scanned, 0 failed, 1 older than 7 day(s)" in out
    assert "  CVE-2026-0001  HIGH      1       1" in out


def test_json_with_expiry_and_thresholds(table: str, capsys: Any) -> None:
    code, out, _ = run(
        capsys, "report", "--table", table, "--output", "json", "--expiry-days", "30", "--thresholds", '{"HIGH": 3}'
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["summary"]["coverage"]["fresh"] == 2
    assert doc["thresholds"] == {"CRITICAL": None, "HIGH": 3, "MEDIUM": None, "LOW": None}


def test_html(table: str, capsys: Any) -> None:
    code, out, _ = run(capsys, "report", "--table", table, "--output", "html")
    assert code == 0
    assert out.startswith("<!DOCTYPE html>")
    assert out.rstrip().endswith("</html>")


def test_missing_table_is_one_line_and_status_1(moto: None, capsys: Any) -> None:
    code, out, err = run(capsys, "report", "--table", "nope")
    assert (code, out) == (1, "")
    assert err.startswith("ecr-scan-reporter: error: ")
    assert "ResourceNotFoundException" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["report"], "--table"),
        (["report", "--table", "t", "--output", "pdf"], "--output"),
        (["report", "--table", "t", "--expiry-days", "0"], "--expiry-days"),
    ],
)
def test_bad_options_are_status_2(moto: None, capsys: Any, argv: list[str], problem: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert problem in capsys.readouterr().err


@pytest.mark.parametrize("thresholds", ["{", '{"URGENT": 1}', '{"HIGH": -1}'])
def test_bad_thresholds_are_status_2_in_one_line(moto: None, capsys: Any, thresholds: str) -> None:
    code, out, err = run(capsys, "report", "--table", "t", "--thresholds", thresholds)
    assert (code, out) == (2, "")
    assert err.startswith("ecr-scan-reporter report: error: --thresholds")
    assert err.count("\n") == 1
