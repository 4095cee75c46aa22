"""core/ledger.py: an image ECR cannot scan, recorded by the sweep (issue 26): the conditional write, what it keeps,
and RepositoryLedger's renewal of a still-listed artifact's record (moto DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION
from ecr_fakes import NOW, digest

from core.test_ledger import create_table, record
from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.core.scannable import NOT_SCANNABLE

TABLE = "esr-ledger"
DAY = timedelta(days=1)


@pytest.fixture
def ddb(moto: None) -> Iterator[Any]:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client, TABLE)
    return client


def part(ddb: Any, now: Any, read_only: bool = False) -> ledger.RepositoryLedger:
    return ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, now, ledger.expires_at(now, 7), read_only=read_only)


def test_a_refusal_is_recorded_with_why_and_keeps_the_records_history(ddb: Any) -> None:
    old = record(repository="app", digest=digest(1), scan_status="UNSUPPORTED_IMAGE", scan_completed_at=NOW - DAY)
    ledger.put_record(ddb, TABLE, old, expected_revision=None)
    assert ledger.record_not_scannable(ddb, TABLE, ACCOUNT, "app", digest(1), ("x.sig",), "cosign signature", NOW, 99)
    stored = ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(1))
    assert stored is not None
    assert (stored.scan_status, stored.failure_reason, stored.source) == (NOT_SCANNABLE, "cosign signature", "sweep")
    assert (stored.image_tags, stored.expires_at, stored.revision) == (("x.sig",), 99, 2)
    assert stored.notified_findings == old.notified_findings  # history kept

    assert ledger.record_not_scannable(ddb, TABLE, ACCOUNT, "app", digest(2), (), "image index", NOW, 99)  # unknown
    new = ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(2))
    assert new is not None
    assert (new.scan_status, new.scan_completed_at, new.failure_reason) == (NOT_SCANNABLE, None, "image index")


def test_a_result_newer_than_the_refusal_is_never_overwritten(ddb: Any) -> None:
    scanned = record(repository="app", digest=digest(1), scan_status="COMPLETE", scan_completed_at=NOW + DAY)
    ledger.put_record(ddb, TABLE, scanned, expected_revision=None)
    assert not ledger.record_not_scannable(ddb, TABLE, ACCOUNT, "app", digest(1), (), "refused", NOW, 99)
    stored = ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(1))
    assert stored is not None
    assert (stored.scan_status, stored.revision) == ("COMPLETE", 1)


def test_the_sweep_renews_a_record_only_past_half_its_life_and_keeps_its_reason(ddb: Any) -> None:
    first = part(ddb, NOW)
    assert first.record_not_scannable(digest(1), (), "UnsupportedImageTypeException", ACCOUNT)
    assert first.writes == 1
    life = first.ttl - int(NOW.timestamp())

    soon = part(ddb, NOW + DAY)  # a day later: the record has most of its life left, no write
    assert not soon.record_not_scannable(digest(1), (), None)
    assert soon.writes == 0

    late = NOW + timedelta(seconds=life // 2 + 1)  # past half its life: renewed, the reason kept
    renewing = part(ddb, late)
    assert renewing.record_not_scannable(digest(1), (), None)
    stored = ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(1))
    assert stored is not None
    assert (stored.expires_at, stored.failure_reason) == (renewing.ttl, "UnsupportedImageTypeException")
    [entry] = ledger.query_scan_entries(ddb, TABLE, ACCOUNT, "app")
    assert (entry.scan_status, entry.expires_at) == (NOT_SCANNABLE, renewing.ttl)


def test_a_plan_records_nothing(ddb: Any) -> None:
    assert not part(ddb, NOW, read_only=True).record_not_scannable(digest(1), (), "image index", ACCOUNT)
    assert ledger.get_record(ddb, TABLE, ACCOUNT, "app", digest(1)) is None
