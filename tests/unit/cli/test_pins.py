"""cli.py: what ``report`` prints and what ``scan --table`` writes, pinned where no other test does (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from core.test_ledger import create_table
from ecr_fakes import push

from ecr_scan_reporter import cli
from ecr_scan_reporter.core import aws, ledger
from ecr_scan_reporter.core.ledger import LedgerRecord

TABLE = "esr-ledger"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ddb(moto: None) -> Any:
    client = aws.client("dynamodb")
    create_table(client, TABLE)
    return client


def test_the_text_report_prints_every_row_not_twenty_per_list(ddb: Any, capsys: Any) -> None:
    now = datetime.now(UTC)
    for i in range(25):
        record = LedgerRecord(
            registry_id="123456789012",
            repository=f"team/app-{i:02d}",
            digest=f"sha256:{i:064x}",
            image_tags=(f"v{i}",),
            source="ecr",
            scan_status="COMPLETE" if i % 2 else "IN_PROGRESS",
            scan_completed_at=now - timedelta(days=1) if i % 2 else None,
            breached=("HIGH",),
            findings={f"CVE-2026-{i:04d}": "HIGH"},
        )
        ledger.put_record(ddb, TABLE, record, None)
    code, out, err = run(capsys, "report", "--table", TABLE)
    assert (code, err) == (0, "")
    assert "... and" not in out
    lines = out.splitlines()
    for i in range(25):
        assert any(line.split()[:2] == [f"team/app-{i:02d}", "1"] for line in lines), i  # in breach, by repository
        assert any(line.split()[:1] == [f"CVE-2026-{i:04d}"] for line in lines), i  # every finding
    assert sum(line.split()[2:3] == ["never_scanned"] for line in lines) == 13  # every image not covered


@pytest.fixture
def repository(moto: None) -> str:
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/app")
    push(ecr, "team/app", 1, "v1")
    push(ecr, "team/app", 2, "v2")
    return "team/app"


@pytest.mark.parametrize(("expiry_days", "lifetime_days"), [(None, 30), ("30", 90), ("100", 300)])
def test_the_ledger_records_scan_writes_live_as_long_as_the_expiry_days_say(
    repository: str, ddb: Any, capsys: Any, expiry_days: str | None, lifetime_days: int
) -> None:
    extra = [] if expiry_days is None else ["--expiry-days", expiry_days]
    before = datetime.now(UTC)
    code, _, err = run(capsys, "scan", "--table", TABLE, "--output", "json", *extra)
    after = datetime.now(UTC)
    assert code == 0, err
    items = [i for i in ddb.scan(TableName=TABLE)["Items"] if not i["pk"]["S"].startswith("config#")]
    assert len(items) == 2
    days = int(expiry_days or 7)
    for item in items:
        expires = int(item["expires_at"]["N"])
        assert ledger.expires_at(before, days) <= expires <= ledger.expires_at(after, days)
        lifetime = datetime.fromtimestamp(expires, UTC) - before
        assert abs(lifetime - timedelta(days=lifetime_days)) < timedelta(minutes=1)
