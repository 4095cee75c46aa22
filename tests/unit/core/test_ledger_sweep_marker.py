"""core/ledger.py: the repository's sweep marker (RepositoryLedger.mark_complete) and the whole-table read of the report
(scan_records): moto DynamoDB, and a botocore Stubber for a Scan of several pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from conftest import ACCOUNT, REGION
from ecr_fakes import NOW, digest

from core.test_ledger import create_table
from ecr_scan_reporter.core import aws, ledger
from ecr_scan_reporter.core.ledger import LedgerRecord

TABLE = "esr-ledger"


@pytest.fixture
def ddb(moto: None) -> Iterator[Any]:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client, TABLE)
    return client


def part(ddb: Any, now: Any, read_only: bool = False) -> ledger.RepositoryLedger:
    records = ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, now, ledger.expires_at(now, 7), read_only=read_only)
    records.entry(digest(1))  # a sweep reads the records (and the marker) before it can be complete
    return records


def complete_at(ddb: Any) -> Any:
    return part(ddb, NOW).complete_at


def test_a_second_complete_sweep_advances_the_marker(ddb: Any) -> None:
    assert part(ddb, NOW).mark_complete()
    assert complete_at(ddb) == NOW
    later = NOW + timedelta(days=1)
    assert part(ddb, later).mark_complete()
    assert complete_at(ddb) == later


def test_an_earlier_part_finishing_late_does_not_move_the_marker_back(ddb: Any) -> None:
    early = part(ddb, NOW)  # started first, finishes last
    assert part(ddb, NOW + timedelta(hours=2)).mark_complete()
    assert not early.mark_complete()
    assert complete_at(ddb) == NOW + timedelta(hours=2)
    assert not part(ddb, NOW + timedelta(hours=2)).mark_complete()  # the same time again: no change either


def test_a_read_only_ledger_never_writes_the_marker(ddb: Any) -> None:
    plan = part(ddb, NOW, read_only=True)
    assert not plan.mark_complete()
    assert plan.writes == 0
    assert complete_at(ddb) is None
    assert ddb.scan(TableName=TABLE)["Items"] == []


def test_nothing_read_no_marker(ddb: Any) -> None:
    unread = ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, NOW, 9)  # no image was looked at
    assert not unread.mark_complete()
    assert complete_at(ddb) is None


def test_scan_records_leaves_the_sweep_markers_and_other_configuration_out(ddb: Any) -> None:
    for i in (1, 2):
        record = LedgerRecord(registry_id=ACCOUNT, repository="app", digest=digest(i), scan_status="COMPLETE")
        assert ledger.put_record(ddb, TABLE, record, None) is not None
    assert part(ddb, NOW).mark_complete()  # a config#sweep item
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "config#suppressions"}, "digest": {"S": "document"}})
    assert len(ddb.scan(TableName=TABLE)["Items"]) == 4
    records = list(ledger.scan_records(ddb, TABLE))
    assert sorted(r.digest for r in records) == [digest(1), digest(2)]
    assert {(r.registry_id, r.repository) for r in records} == {(ACCOUNT, "app")}


def _item(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"{ACCOUNT}#app"}, "digest": {"S": digest(i)}, "scan_status": {"S": "COMPLETE"}}


def test_scan_records_reads_every_page_of_the_scan() -> None:
    client = aws.client("dynamodb", region=REGION)
    pages = [
        ([_item(1), _item(2)], _item(2)),
        ([{"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": f"{ACCOUNT}#app"}}], {"pk": {"S": "x"}}),
        ([], {"pk": {"S": "y"}}),  # an empty page that is not the last (a filtered or throttled-size page)
        ([_item(3)], None),
    ]
    with Stubber(client) as stub:
        start = None
        for items, last in pages:
            expected: dict[str, Any] = {"TableName": TABLE}
            if start is not None:
                expected["ExclusiveStartKey"] = start
            response: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
            if last is not None:
                response["LastEvaluatedKey"] = {"pk": last["pk"], "digest": last.get("digest", {"S": "-"})}
            stub.add_response("scan", response, expected)
            start = response.get("LastEvaluatedKey")
        records = list(ledger.scan_records(client, TABLE))
        stub.assert_no_pending_responses()
    assert [r.digest for r in records] == [digest(1), digest(2), digest(3)]
