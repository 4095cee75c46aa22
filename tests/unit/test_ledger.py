"""core/ledger.py on moto's DynamoDB: records round-trip, the per-repository Query pages, every write's condition."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION

from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.core.ledger import LedgerRecord

TABLE = "esr-ledger"
T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
DIGEST = "sha256:" + "a" * 64


def create_table(client: Any, name: str = TABLE) -> None:
    """The table as ledger.tf declares it."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "digest", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "digest", "AttributeType": "S"},
        ],
    )


@pytest.fixture
def ddb(moto: None) -> Iterator[Any]:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client)
    return client


def record(**changes: Any) -> LedgerRecord:
    base = LedgerRecord(
        registry_id=ACCOUNT,
        repository="team/app",
        digest=DIGEST,
        image_tags=("1.2.3", "latest"),
        source="ecr",
        scan_status="COMPLETE",
        scan_started_at=None,
        scan_completed_at=T0,
        severity_counts={"CRITICAL": 1, "HIGH": 2, "INFORMATIONAL": 3},
        findings={"CVE-2024-0001": "CRITICAL", "CVE-2024-0002": "HIGH", "CVE-2024-0003": "HIGH"},
        suppressed_findings={"CVE-2024-0009": "CRITICAL"},
        breached=("CRITICAL", "HIGH"),
        notified_type="threshold_breached",
        notified_at=T0 + timedelta(seconds=1, milliseconds=250),
        notified_findings=frozenset({"CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"}),
        failure_reason=None,
        expires_at=int((T0 + timedelta(days=30)).timestamp()),
    )
    return replace(base, **changes)


def test_a_record_round_trips(ddb: Any) -> None:
    written = ledger.put_record(ddb, TABLE, record(), expected_revision=None)
    assert written is not None
    assert written.revision == 1
    assert ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST) == written


def test_empty_collections_and_missing_times_round_trip(ddb: Any) -> None:
    empty = record(
        image_tags=(),
        scan_completed_at=None,
        scan_started_at=T0,
        scan_status="IN_PROGRESS",
        severity_counts={},
        findings={},
        suppressed_findings={},
        breached=(),
        notified_type=None,
        notified_at=None,
        notified_findings=frozenset(),
        failure_reason="UNSUPPORTED_IMAGE",
    )
    written = ledger.put_record(ddb, TABLE, empty, expected_revision=None)
    assert ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST) == written


def test_the_item_follows_the_contract(ddb: Any) -> None:
    ledger.put_record(ddb, TABLE, record(), expected_revision=None)
    item = ddb.get_item(TableName=TABLE, Key=ledger.item_key(ACCOUNT, "team/app", DIGEST))["Item"]
    assert item["pk"] == {"S": f"{ACCOUNT}#team/app"}
    assert item["digest"] == {"S": DIGEST}
    assert item["expires_at"] == {"N": str(int((T0 + timedelta(days=30)).timestamp()))}
    assert item["scan_completed_at"] == {"N": str(int(T0.timestamp()))}
    assert item["notified_at"] == {"N": f"{T0.timestamp() + 1.25:.2f}"}
    assert item["suppressed_findings"] == {"M": {"CVE-2024-0009": {"S": "CRITICAL"}}}


def test_a_write_expecting_a_revision_fails_when_someone_wrote_first(ddb: Any) -> None:
    first = ledger.put_record(ddb, TABLE, record(), expected_revision=None)
    assert first is not None
    assert ledger.put_record(ddb, TABLE, record(), expected_revision=None) is None  # created meanwhile
    second = ledger.put_record(ddb, TABLE, record(breached=("CRITICAL",)), expected_revision=1)
    assert second is not None
    assert second.revision == 2
    assert ledger.put_record(ddb, TABLE, record(breached=()), expected_revision=1) is None  # stale read
    assert ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST) == second


def test_a_full_write_removes_attributes_that_became_empty(ddb: Any) -> None:
    ledger.put_record(ddb, TABLE, record(failure_reason="boom", pending_token="t", pending_until=T0), None)
    cleared = ledger.put_record(ddb, TABLE, record(notified_findings=frozenset()), expected_revision=1)
    item = ddb.get_item(TableName=TABLE, Key=ledger.item_key(ACCOUNT, "team/app", DIGEST))["Item"]
    assert not {"failure_reason", "pending_token", "pending_until", "notified_findings"} & set(item)
    assert ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST) == cleared


def test_confirm_clears_only_its_own_claim(ddb: Any) -> None:
    ledger.put_record(ddb, TABLE, record(pending_token="claim-1", pending_until=T0), expected_revision=None)
    assert not ledger.confirm_notified(ddb, TABLE, ACCOUNT, "team/app", DIGEST, "claim-2", "m-2")
    assert ledger.confirm_notified(ddb, TABLE, ACCOUNT, "team/app", DIGEST, "claim-1", "m-1")
    stored = ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST)
    assert stored is not None
    assert stored.pending_token is None
    assert stored.pending_until is None
    assert stored.revision == 2
    assert not ledger.confirm_notified(ddb, TABLE, ACCOUNT, "team/app", DIGEST, "claim-1", "m-1")  # once only


def test_scan_started_keeps_history_and_creates_unknown_images(ddb: Any) -> None:
    ledger.put_record(ddb, TABLE, record(), expected_revision=None)
    started = T0 + timedelta(days=8)
    assert ledger.record_scan_started(ddb, TABLE, ACCOUNT, "team/app", DIGEST, ("1.2.3",), started, ttl=99)
    stored = ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST)
    assert stored is not None
    assert (stored.scan_status, stored.scan_started_at, stored.source) == ("IN_PROGRESS", started, "sweep")
    assert stored.scan_completed_at == T0
    assert stored.notified_findings == record().notified_findings
    assert stored.revision == 2
    assert stored.expires_at == 99

    other = "sha256:" + "b" * 64
    assert ledger.record_scan_started(ddb, TABLE, ACCOUNT, "team/app", other, (), started, ttl=99)
    new = ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", other)
    assert new is not None
    assert new.scan_status == "IN_PROGRESS"
    assert new.scan_completed_at is None


def test_scan_started_never_overwrites_a_result_that_arrived_first(ddb: Any) -> None:
    ledger.put_record(ddb, TABLE, record(scan_completed_at=T0), expected_revision=None)
    assert not ledger.record_scan_started(ddb, TABLE, ACCOUNT, "team/app", DIGEST, (), T0 - timedelta(seconds=5), 9)
    stored = ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST)
    assert stored is not None
    assert stored.scan_status == "COMPLETE"
    assert stored.revision == 1


def test_a_learned_state_is_recorded_unless_a_newer_result_is_known(ddb: Any) -> None:
    other = "sha256:" + "c" * 64
    assert ledger.record_scan_state(ddb, TABLE, ACCOUNT, "team/app", other, ("v1",), "COMPLETE", T0, T0, ttl=9)
    learned = ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", other)
    assert learned is not None
    assert (learned.scan_status, learned.scan_completed_at) == ("COMPLETE", T0)
    assert learned.notified_type is None
    assert learned.breached == ()

    older = T0 - timedelta(days=1)
    assert not ledger.record_scan_state(ddb, TABLE, ACCOUNT, "team/app", other, (), "COMPLETE", older, T0, ttl=9)
    assert not ledger.record_scan_state(ddb, TABLE, ACCOUNT, "team/app", other, (), "COMPLETE", T0, T0, ttl=9)
    newer = T0 + timedelta(days=1)
    assert ledger.record_scan_state(ddb, TABLE, ACCOUNT, "team/app", other, (), "FAILED", newer, newer, ttl=9)

    pending = "sha256:" + "d" * 64
    assert ledger.record_scan_state(ddb, TABLE, ACCOUNT, "team/app", pending, (), "PENDING", None, T0, ttl=9)
    in_flight = ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", pending)
    assert in_flight is not None
    assert (in_flight.scan_status, in_flight.scan_started_at) == ("IN_PROGRESS", T0)


def test_query_reads_one_repository_across_pages_and_skips_nothing(ddb: Any) -> None:
    padding = "x" * 30_000  # ~30 KB per item: DynamoDB pages at 1 MB, so 300 items take several pages
    digests = {f"sha256:{i:064x}" for i in range(300)}
    for digest in digests:
        ledger.put_record(ddb, TABLE, record(digest=digest, failure_reason=padding), expected_revision=None)
    ledger.put_record(ddb, TABLE, record(repository="team/other"), expected_revision=None)
    ledger.put_record(ddb, TABLE, record(registry_id="210987654321"), expected_revision=None)

    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb.Query", lambda **kw: calls.append("q"))
    found = {r.digest for r in ledger.query_repository(ddb, TABLE, ACCOUNT, "team/app")}
    assert found == digests
    assert len(calls) > 1, "the fixture must span several Query pages"

    entries = list(ledger.query_scan_entries(ddb, TABLE, ACCOUNT, "team/app"))
    assert {e.digest for e in entries} == digests
    assert all(e.scan_status == "COMPLETE" and e.scan_completed_at == T0 for e in entries)


def test_scan_records_skips_configuration_items(ddb: Any) -> None:
    ledger.put_record(ddb, TABLE, record(), expected_revision=None)
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "config#suppressions"}, "digest": {"S": "CVE-2024-0001"}})
    assert [r.digest for r in ledger.scan_records(ddb, TABLE)] == [DIGEST]


def test_expires_at_outlives_three_expiry_periods() -> None:
    assert ledger.expires_at(T0, 7) == int((T0 + timedelta(days=30)).timestamp())  # the floor
    assert ledger.expires_at(T0, 30) == int((T0 + timedelta(days=90)).timestamp())
