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
    padding = "x" * 100_000  # ~100 KB per item (at most 400 KB): DynamoDB pages at 1 MB, so 40 take 4 pages
    digests = sorted(f"sha256:{i:064x}" for i in range(40))
    # One record written as the findings stage writes it, then copied under the other digests in batches: the same
    # items as 40 put_record calls would write (moto checks every UpdateItem expression slowly).
    ledger.put_record(ddb, TABLE, record(digest=digests[0], failure_reason=padding), expected_revision=None)
    item = ddb.get_item(TableName=TABLE, Key=record(digest=digests[0]).key, ConsistentRead=True)["Item"]
    for start in range(1, len(digests), 25):
        copies = [{**item, "digest": {"S": digest}} for digest in digests[start : start + 25]]
        ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": copy}} for copy in copies]})
    ledger.put_record(ddb, TABLE, record(repository="team/other"), expected_revision=None)
    ledger.put_record(ddb, TABLE, record(registry_id="210987654321"), expected_revision=None)

    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb.Query", lambda **kw: calls.append("q"))
    found = [r for r in ledger.query_repository(ddb, TABLE, ACCOUNT, "team/app")]
    assert sorted(r.digest for r in found) == digests  # each once
    assert all(r.failure_reason == padding for r in found)
    assert len(calls) > 2, "the fixture must span several Query pages"

    calls.clear()
    entries = list(ledger.query_scan_entries(ddb, TABLE, ACCOUNT, "team/app"))
    assert len(calls) > 2, "the 1 MB of a page is counted before the projection"
    assert sorted(e.digest for e in entries) == digests
    assert all(e.scan_status == "COMPLETE" and e.scan_completed_at == T0 for e in entries)


def test_scan_records_skips_configuration_items(ddb: Any) -> None:
    ledger.put_record(ddb, TABLE, record(), expected_revision=None)
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "config#suppressions"}, "digest": {"S": "CVE-2024-0001"}})
    assert [r.digest for r in ledger.scan_records(ddb, TABLE)] == [DIGEST]


def test_expires_at_outlives_three_expiry_periods() -> None:
    assert ledger.expires_at(T0, 7) == int((T0 + timedelta(days=30)).timestamp())  # the floor
    assert ledger.expires_at(T0, 30) == int((T0 + timedelta(days=90)).timestamp())


# --- issue 17: conditions pinned, the record's size bounded ------------------------------------------------------


def test_an_older_learned_result_never_overwrites_a_newer_one_whenever_it_is_learned(ddb: Any) -> None:
    """The condition compares the learned result's own completion time, not when it was learned."""
    assert ledger.put_record(ddb, TABLE, record(), expected_revision=None) is not None  # completed at T0
    later = T0 + timedelta(days=2)  # learned long after, about a scan that completed before T0
    older = T0 - timedelta(hours=1)
    assert not ledger.record_scan_state(ddb, TABLE, ACCOUNT, "team/app", DIGEST, (), "FAILED", older, later, ttl=9)
    stored = ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST)
    assert stored is not None
    assert (stored.scan_status, stored.scan_completed_at) == ("COMPLETE", T0)
    newer = T0 + timedelta(hours=1)
    assert ledger.record_scan_state(ddb, TABLE, ACCOUNT, "team/app", DIGEST, (), "FAILED", newer, later, ttl=9)


def result(previous: LedgerRecord | None, **changes: Any) -> LedgerRecord:
    kwargs: dict[str, Any] = {
        "registry_id": ACCOUNT,
        "repository": "team/app",
        "digest": DIGEST,
        "image_tags": ("1",),
        "source": "ecr",
        "status": "COMPLETE",
        "completed_at": T0 + timedelta(days=1),
        "severity_counts": {"CRITICAL": 5},
        "findings": {"CVE-2024-0005": "CRITICAL"},
        "failure_reason": None,
        "breached": ("CRITICAL",),
        "notified_findings": frozenset(),
        "notify": None,
        "now": T0 + timedelta(days=1),
        "ttl": 9,
    }
    return ledger.result_record(previous, **{**kwargs, **changes})


def test_a_failed_result_keeps_the_previous_counts_and_findings() -> None:
    previous = record()
    failed = result(previous, status="FAILED", severity_counts={}, findings=None, failure_reason="UnsupportedImage")
    assert failed.severity_counts == previous.severity_counts
    assert failed.findings == previous.findings
    assert (failed.scan_status, failed.failure_reason) == ("FAILED", "UnsupportedImage")
    complete = result(failed)
    assert (dict(complete.severity_counts), complete.failure_reason) == ({"CRITICAL": 5}, None)


def test_a_result_records_its_evaluation_and_fingerprint_and_a_failure_keeps_the_fingerprint() -> None:
    first = result(None, findings_sha256="f" * 64)
    assert (first.evaluated_completed_at, first.findings_sha256) == (T0 + timedelta(days=1), "f" * 64)
    failed = result(first, status="FAILED", findings=None, completed_at=T0 + timedelta(days=2))
    assert (failed.evaluated_completed_at, failed.findings_sha256) == (T0 + timedelta(days=2), "f" * 64)


def test_the_new_attributes_round_trip_and_an_older_item_reads_with_their_defaults(ddb: Any) -> None:
    digests = frozenset({ledger.finding_digest("CVE-2024-0007"), ledger.finding_digest("CVE-2024-0008")})
    full = record(
        evaluated_completed_at=T0,
        findings_sha256="a" * 64,
        findings_omitted=12,
        notified_digests=digests,
    )
    ledger.put_record(ddb, TABLE, full, expected_revision=None)
    stored = ledger.get_record(ddb, TABLE, ACCOUNT, "team/app", DIGEST)
    assert stored == replace(full, revision=1)
    assert stored.was_notified("CVE-2024-0007")  # by digest
    assert stored.was_notified("CVE-2024-0001")  # by id
    assert not stored.was_notified("CVE-2024-0006")

    old = ledger.to_item(record())  # as a deployed table holds it: none of the new attributes
    for name in ("evaluated_completed_at", "findings_sha256", "findings_omitted", "notified_digests"):
        assert name not in old
    read = ledger.from_item(old)
    assert (read.evaluated_completed_at, read.findings_sha256, read.findings_omitted) == (None, None, 0)
    assert read.notified_digests == frozenset()


def test_item_size_follows_the_developer_guide_as_the_bench_stand_in_does() -> None:
    import sys

    from conftest import ROOT

    sys.path.insert(0, str(ROOT))
    from bench import dynamodb

    item = ledger.to_item(record(pending_token="t", pending_until=T0, pending_new_findings={"CVE-1": "HIGH"}))
    assert ledger.item_size(item) == dynamodb.item_size(item)
    assert ledger.item_size({"d": {"B": b"\x00" * 16}}) == 1 + 16


def many(n: int, width: int = 60) -> dict[str, str]:
    """``n`` findings with ``width``-character ids, most severe first (CRITICAL, then HIGH)."""
    half = n // 2
    return {f"CVE-{i:0{width - 4}d}": "CRITICAL" if i < half else "HIGH" for i in range(n)}


def test_a_record_that_fits_is_written_unchanged_and_keeps_every_notified_finding() -> None:
    previous = record(notified_findings=frozenset({"CVE-GONE"}))  # notified, no longer present: remembered
    fitted = result(previous, notified_findings=frozenset({"CVE-GONE", "CVE-2024-0005"}))
    assert fitted.notified_findings == {"CVE-GONE", "CVE-2024-0005"}
    assert (fitted.notified_digests, fitted.findings_omitted) == (frozenset(), 0)


def test_a_record_over_budget_keeps_every_notified_finding_present_as_a_digest_and_the_most_severe_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    findings = many(400)
    notified = frozenset(findings) | {"CVE-GONE"}
    pending = {f"C{i:03d}": "CRITICAL" for i in range(300)}  # more than a notification lists
    monkeypatch.setattr(ledger.record, "ITEM_BUDGET", 20_000)
    fitted = result(
        record(),
        findings=findings,
        severity_counts={"CRITICAL": 200, "HIGH": 200},
        notified_findings=notified,
        suppressed_findings={"CVE-SUPPRESSED": "CRITICAL"},
        notify="threshold_breached",
        pending_token="tok",
        pending_until=T0,
        pending_new_findings=pending,
    )
    assert ledger.item_size(ledger.to_item(fitted)) <= 20_000
    assert all(fitted.was_notified(i) for i in findings)  # nothing still present is news again
    assert not fitted.was_notified("CVE-GONE")  # notified but gone: pruned
    assert fitted.notified_findings == frozenset()
    assert list(fitted.pending_new_findings) == list(pending)[: ledger.PENDING_NEW_MAX]
    assert 0 < len(fitted.findings) < 400
    assert list(fitted.findings) == list(findings)[: len(fitted.findings)]  # the most severe first
    assert fitted.findings_omitted == 400 - len(fitted.findings)
    assert fitted.findings_sha256 is None  # as given

    again = result(
        fitted,
        status="FAILED",
        findings=None,
        notified_findings=fitted.notified_findings,
        notified_digests=fitted.notified_digests,
    )  # the findings kept: every digest is kept
    assert again.notified_digests == fitted.notified_digests
    assert again.findings_omitted == fitted.findings_omitted


def test_when_even_the_digests_do_not_fit_the_least_severe_are_notified_again(monkeypatch: pytest.MonkeyPatch) -> None:
    findings = many(4_000)
    monkeypatch.setattr(ledger.record, "ITEM_BUDGET", 16_000)
    fitted = result(None, findings=findings, notified_findings=frozenset(findings))
    assert ledger.item_size(ledger.to_item(fitted)) <= 16_000
    kept = [i for i in findings if fitted.was_notified(i)]
    assert 0 < len(kept) < 4_000
    assert kept == list(findings)[: len(kept)]  # the most severe keep their memory; the rest fail toward an alert
