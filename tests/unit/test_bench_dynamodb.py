"""The benchmark's in-memory DynamoDB (``bench/dynamodb.py``) answers the ledger's requests as moto does.

The same script of ledger reads and conditional writes runs against moto's DynamoDB and against the stand-in; every
return value, record and page must agree. The stand-in's item sizes follow the DynamoDB developer guide, and what
it does not implement fails loudly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION, ROOT
from core.test_ledger import TABLE, create_table, record

from ecr_scan_reporter.core import ledger

sys.path.insert(0, str(ROOT))
from bench import dynamodb

T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
TTL = int((T0 + timedelta(days=30)).timestamp())


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def script(client: Any) -> list[Any]:
    """Every ledger operation the pipeline uses, including each kind of refused write; what each one returned."""
    seen: list[Any] = []
    first = record(digest=digest(1))
    seen.append(ledger.put_record(client, TABLE, first, expected_revision=None))
    seen.append(ledger.put_record(client, TABLE, first, expected_revision=None))  # exists: refused
    claimed = record(digest=digest(1), pending_token="tok", pending_until=T0, pending_type="threshold_breached")
    seen.append(ledger.put_record(client, TABLE, claimed, expected_revision=1))
    seen.append(ledger.put_record(client, TABLE, claimed, expected_revision=1))  # stale revision: refused
    seen.append(ledger.confirm_notified(client, TABLE, ACCOUNT, "team/app", digest(1), "other", "m-0"))
    seen.append(ledger.confirm_notified(client, TABLE, ACCOUNT, "team/app", digest(1), "tok", "m-1"))
    seen.append(ledger.confirm_notified(client, TABLE, ACCOUNT, "team/app", digest(1), "tok", "m-1"))
    # the sweep: started before the recorded result (refused), after it, then learned states
    start = ledger.record_scan_started
    seen.append(start(client, TABLE, ACCOUNT, "team/app", digest(1), ("a",), T0 - timedelta(hours=1), TTL))
    seen.append(start(client, TABLE, ACCOUNT, "team/app", digest(1), ("a",), T0 + timedelta(hours=1), TTL))
    seen.append(start(client, TABLE, ACCOUNT, "team/app", digest(2), (), T0, TTL))  # no record yet
    state = ledger.record_scan_state
    seen.append(state(client, TABLE, ACCOUNT, "team/app", digest(3), ("b",), "COMPLETE", T0, T0, TTL))
    seen.append(state(client, TABLE, ACCOUNT, "team/app", digest(3), ("b",), "COMPLETE", T0, T0, TTL))  # not newer
    later = T0 + timedelta(days=1)
    seen.append(state(client, TABLE, ACCOUNT, "team/app", digest(3), ("b",), "FAILED", later, later, TTL))
    seen.append(state(client, TABLE, ACCOUNT, "team/app", digest(4), (), "IN_PROGRESS", None, T0, TTL))
    seen.append(state(client, TABLE, ACCOUNT, "team/app", digest(5), (), "PENDING", None, T0, TTL))
    for n in range(6, 60):  # enough records for several Query pages when the page size is small
        seen.append(state(client, TABLE, ACCOUNT, "team/app", digest(n), ("t",) * (n % 4), "COMPLETE", T0, T0, TTL))
    seen.append(state(client, TABLE, ACCOUNT, "other/app", digest(1), (), "COMPLETE", T0, T0, TTL))
    # a part of a sweep: the repository read, the sweep marker moved (once per part start time)
    part = ledger.RepositoryLedger(client, TABLE, "team/app", ACCOUNT, T0, TTL)
    seen.append(part.entry(digest(3)))
    seen.append(part.entry(digest(99)))
    seen.append((len(part), part.complete_at, part.queries))
    seen.append((part.mark_complete(), part.mark_complete()))
    again = ledger.RepositoryLedger(client, TABLE, "team/app", ACCOUNT, later, TTL)
    seen.append((again.entry(digest(2)), again.complete_at, again.mark_complete()))
    seen.append(ledger.RepositoryLedger(client, TABLE, "team/app", ACCOUNT, T0, TTL).entry(digest(2)))
    seen.append(ledger.RepositoryLedger(client, TABLE, "team/app", ACCOUNT, T0, TTL).complete_at)
    # the scan budget: the plan's chunks, the state and its counters, what a part of a budgeted sweep reads
    seen.append(ledger.budget_view(client, TABLE, 7))  # nothing planned yet
    seen.append(ledger.write_plan_chunks(client, TABLE, "p1", {7: '{"a": 1}', 9: '{"b": 2}'}))
    ledger.write_budget_state(client, TABLE, {"state": '{"day": 1}'}, {"p1_at.1": 12.5}, {"spent.1": 3})
    ledger.write_budget_state(client, TABLE, {}, None, {"spent.1": 2, "pushes.p1": 40}, remove=["p1_at.1"])
    seen.append(ledger.budget_state(client, TABLE))
    seen.append(ledger.budget_view(client, TABLE, 7))
    seen.append(ledger.budget_view(client, TABLE, 8))  # a chunk the plan did not write
    seen.append(sorted(ledger.plan_chunks(client, TABLE)))
    seen.append(
        (
            ledger.set_budget_once(client, TABLE, "phase2.p1", "x"),
            ledger.set_budget_once(client, TABLE, "phase2.p1", "y"),
        )
    )
    seen.append(ledger.budget_state(client, TABLE))  # the first value holds
    part.record_census('{"day": 1}', '{"day": 1, "spent": 2, "refused": 0}')
    marker = ledger.RepositoryLedger(client, TABLE, "team/app", ACCOUNT, T0, TTL)
    marker.load()
    seen.append(marker.spend)
    # every record as stored
    seen.append([ledger.get_record(client, TABLE, ACCOUNT, "team/app", digest(n)) for n in range(1, 8)])
    seen.append(list(ledger.query_repository(client, TABLE, ACCOUNT, "team/app")))
    seen.append(list(ledger.query_scan_entries(client, TABLE, ACCOUNT, "other/app")))
    seen.append(list(ledger.query_scan_entries(client, TABLE, ACCOUNT, "no/such")))
    return seen


@pytest.fixture
def standin() -> Iterator[dynamodb.Store]:
    store = dynamodb.Store()
    dynamodb.install(store)
    try:
        yield store
    finally:
        dynamodb.uninstall()


def _client() -> Any:
    """A client of a new session (a session registers the stand-in's handler, if installed, when it is created)."""
    client = boto3.session.Session().client("dynamodb", region_name=REGION)
    create_table(client)
    return client


@pytest.fixture
def from_moto(moto: None) -> list[Any]:
    return script(_client())


def test_the_stand_in_answers_the_ledger_as_moto_does(from_moto: list[Any], standin: dynamodb.Store) -> None:
    from_standin = script(_client())
    assert len(standin.tables[TABLE].partitions[f"{ACCOUNT}#team/app"]) == 59  # the stand-in answered, not moto
    assert len(from_standin) == len(from_moto)
    for i, (mine, theirs) in enumerate(zip(from_standin, from_moto, strict=True)):
        assert mine == theirs, f"step {i}"
    assert from_moto[1] is None  # the script does exercise refused writes
    assert from_moto[3] is None


def test_query_pages_stop_at_the_page_size_and_resume_after_the_last_key(
    standin: dynamodb.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client()
    for n in range(40):
        ledger.record_scan_state(client, TABLE, ACCOUNT, "team/app", digest(n), (), "COMPLETE", T0, T0, TTL)
    size = dynamodb.item_size(standin.tables[TABLE].partitions[f"{ACCOUNT}#team/app"][digest(0)])
    monkeypatch.setattr(dynamodb, "PAGE_BYTES", 10 * size)  # ten records a page
    part = ledger.RepositoryLedger(client, TABLE, "team/app", ACCOUNT, T0, TTL)
    part.entry(digest(0))
    assert len(part) == 40
    assert part.queries == 4 + 1  # four pages of ten (the last without LastEvaluatedKey) and the sweep marker
    request = {"TableName": TABLE, "KeyConditionExpression": "pk = :p", "Limit": 7}
    request["ExpressionAttributeValues"] = {":p": {"S": f"{ACCOUNT}#team/app"}}
    page = client.query(**request)
    assert [i["digest"]["S"] for i in page["Items"]] == [digest(n) for n in range(7)]
    assert page["LastEvaluatedKey"] == {"pk": {"S": f"{ACCOUNT}#team/app"}, "digest": {"S": digest(6)}}
    nxt = client.query(**request, ExclusiveStartKey=page["LastEvaluatedKey"])
    assert nxt["Items"][0]["digest"]["S"] == digest(7)


def test_item_sizes_follow_the_developer_guide() -> None:
    # "Item sizes and formats": names and strings in UTF-8 bytes; a number is 1 byte per two significant digits
    # plus 1; a list or map 3 bytes plus 1 per element; a set the sum of its elements.
    assert dynamodb.item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert dynamodb.item_size({"n": {"N": "12345"}}) == 1 + 3 + 1
    assert dynamodb.item_size({"n": {"N": "-0.0012300"}}) == 1 + 2 + 1  # leading/trailing zeros trimmed: 123
    assert dynamodb.item_size({"é": {"S": "ü"}}) == 2 + 2
    assert dynamodb.item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert dynamodb.item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert dynamodb.item_size({"s": {"SS": ["a", "bc"]}, "b": {"BOOL": True}}) == 1 + 3 + 1 + 1


@pytest.mark.parametrize(
    ("request_changes", "needle"),
    [
        ({"FilterExpression": "x = :p"}, "FilterExpression"),
        ({"IndexName": "by-status"}, "IndexName"),
        ({"KeyConditionExpression": "pk = :p AND begins_with(digest, :p)"}, "key condition"),
        ({"KeyConditionExpression": "pk = :p AND digest > :p"}, "key condition"),
    ],
)
def test_what_it_does_not_implement_fails_loudly(
    standin: dynamodb.Store, request_changes: dict[str, Any], needle: str
) -> None:
    client = _client()
    request = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "x"}},
        **request_changes,
    }
    with pytest.raises(dynamodb.Unsupported, match=needle):
        client.query(**request)


def test_update_expressions_beyond_plain_values_fail_loudly(standin: dynamodb.Store) -> None:
    client = _client()
    key = {"pk": {"S": "p"}, "digest": {"S": "d"}}
    with pytest.raises(dynamodb.Unsupported, match="SET n"):
        client.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET n = n + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    with pytest.raises(dynamodb.Unsupported, match="NOT"):
        client.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET n = :one",
            ConditionExpression="NOT attribute_exists(n)",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )


def test_an_unused_placeholder_is_refused_as_dynamodb_does(standin: dynamodb.Store) -> None:
    client = _client()
    with pytest.raises(ClientError, match="unused placeholders: :two"):
        client.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "p"}, "digest": {"S": "d"}},
            UpdateExpression="SET n = :one",
            ExpressionAttributeValues={":one": {"N": "1"}, ":two": {"N": "2"}},
        )
