"""The repositories stage's part of the scan budget (sweep/allowances.py): the markers read, the day planned, the
plan stored, the registry's staleness stored and sent as metrics. Against bench/dynamodb.py's in-memory DynamoDB
(the ledger's requests, answered as DynamoDB answers them: tests/unit/test_bench_dynamodb.py), which also counts
every call, so the size of a plan is counted in calls and simulated time, never in wall time."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bench import dynamodb as standin
from ecr_scan_reporter.core import ledger, metrics
from ecr_scan_reporter.sweep import allowances, budget

TABLE = "esr-ledger"
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
TODAY = budget.day_of(NOW)
ACCOUNT = "123456789012"
#: Simulated milliseconds per call: a write as the issue measured it (about 5 ms), a Query page of up to 1 MB.
LATENCY_MS = {"UpdateItem": 5.0, "PutItem": 5.0, "GetItem": 5.0, "BatchGetItem": 5.0, "Query": 10.0}
WRITES = ("UpdateItem", "PutItem", "BatchWriteItem", "DeleteItem")
#: The repositories function's timeout (lambda.tf), less the time its other work takes at 100,000 repositories.
PLAN_SECONDS = 60.0


class Paginator:
    def __init__(self, client: StoreClient) -> None:
        self.client = client

    def paginate(self, **request: Any) -> Any:
        start = None
        while True:
            page = self.client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
            yield page
            start = page.get("LastEvaluatedKey")
            if not start:
                return


class StoreClient:
    """A DynamoDB client over the in-memory store; ``calls`` counts each operation."""

    def __init__(self) -> None:
        self.store = standin.Store()
        self.table = self.store.create_table(TABLE, "pk", "digest")
        self.calls: Counter[str] = Counter()

    def _answer(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        self.calls[operation] += 1
        try:
            return self.store.answer(operation, request)
        except standin._Refused as refused:
            raise ClientError({"Error": {"Code": refused.code, "Message": refused.message}}, operation) from None

    def __getattr__(self, name: str) -> Any:
        operation = "".join(part.title() for part in name.split("_")).replace("Item", "Item")
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda **request: self._answer(operation, request)

    def get_paginator(self, name: str) -> Paginator:
        assert name == "query", name
        return Paginator(self)

    @property
    def writes(self) -> int:
        return sum(self.calls[op] for op in WRITES)

    def simulated_seconds(self) -> float:
        return sum(LATENCY_MS.get(op, 10.0) * n for op, n in self.calls.items()) / 1000.0

    def item(self, key: str) -> dict[str, Any]:
        found = self.table.get({"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": key}})
        assert found is not None, key
        return found


def key(name: str) -> str:
    return ledger.partition_key(ACCOUNT, name)


def census(
    day: int, images: int, *, due: dict[tuple[bool, bool, int], int], ages: dict[tuple[bool, int], int], pushed: int = 0
) -> str:
    tally = budget.Tally(dict(due), dict(ages))
    return json.dumps({"day": day, **tally.to_json(), "images": images, "pushed_1d": pushed})


def put_marker(client: StoreClient, name: str, **attributes: str) -> None:
    raw = name == ledger.BUDGET_STATE  # the registry's budget state item, not a repository's marker
    item = {"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": name if raw else key(name)}}
    item.update({k: {"S": v} for k, v in attributes.items()})
    client.table.put(item)


def plan(client: StoreClient, names: list[str], configured: int = 10, now: datetime = NOW) -> allowances.Planned:
    return allowances.plan_day(
        client, TABLE, [(ACCOUNT, n) for n in names], configured=configured, expiry_days=7, now=now
    )


def stored(client: StoreClient) -> dict[str, Any]:
    return json.loads(client.item(ledger.BUDGET_STATE)[ledger.STALENESS]["S"])


def figures(planned: allowances.Planned) -> dict[str, float]:
    return {m.name: m.value for m in allowances.measured(planned)}


# --- any registry size ECR allows ---------------------------------------------------------------------------


@pytest.mark.timeout(180)  # 100,000 repositories planned in process; the bound is on calls, not on this time
def test_a_plan_of_100000_repositories_fits_the_repositories_functions_time() -> None:
    """ECR allows 100,000 repositories a region. The plan's DynamoDB calls, at about 5 ms a write, must leave the
    repositories function (300 s) time to list the repositories and send the work: not one write per
    repository before any work is sent (100,000 x 5 ms = 500 s)."""
    client = StoreClient()
    names = [f"team-{i // 100:04d}/service-{i % 100:02d}" for i in range(100_000)]
    for i, name in enumerate(names):
        used = i % 5 == 0
        put_marker(
            client,
            name,
            census=census(
                TODAY - 1,
                3,
                due={(used, False, TODAY - 1 + i % 9): 2, (False, True, TODAY - 30): 1},
                ages={(used, 6): 2},
            ),
            spend=json.dumps({"day": TODAY - 1, "spent": 1, "refused": 0}),
        )
    client.calls.clear()
    planned = plan(client, names, configured=90_000)
    assert client.writes <= 1_100, client.calls  # a few per thousand repositories, not one each
    assert client.simulated_seconds() <= PLAN_SECONDS, client.calls
    assert sum(a.total for a in planned.registry.allowances.values()) <= 90_000
    assert len(planned.registry.allowances) == 100_000


# --- advice that the configured module can keep ---------------------------------------------------------------


def test_the_headroom_advises_the_expiry_the_configured_budget_keeps_levelling_included() -> None:
    """1,000,000 images, 3,000 pushes a day, the default budget (90,000): the rescans a day at an expiry E are
    N / (E - window / 2 - 1/2), since the levelling rescans up to two days early and a sweep takes what falls due
    during its day; the advice keeps a tenth of the budget for waves. 13 days would need 86,957 a day of 90,000;
    14 days need 80,000 (the quota less the pushes, 97,000, would say 11)."""
    client = StoreClient()
    put_marker(
        client,
        "team/big",
        census=census(
            TODAY - 1, 1_000_000, due={(True, False, TODAY + 3): 1_000_000}, ages={(True, 3): 1_000_000}, pushed=3_000
        ),
    )
    planned = plan(client, ["team/big"], configured=90_000)
    doc = stored(client)
    assert doc["affordable_expiry_days"] == 14
    assert doc["needed_per_day"] == math.ceil(1_000_000 / 5.625)  # at 7 days: window 1.75 days
    assert "the budget (90,000 a day) keeps an expiry of 14 days" in doc["headroom"]
    assert figures(planned)[metrics.AFFORDABLE_EXPIRY_DAYS] == 14
    # Without pushes or waves at all, a small registry the budget keeps easily: 7 days.
    small = StoreClient()
    put_marker(small, "team/a", census=census(TODAY - 1, 100, due={(True, False, TODAY): 100}, ages={(True, 3): 100}))
    plan(small, ["team/a"], configured=90_000)
    assert stored(small)["affordable_expiry_days"] == 1


# --- behaviours pinned (test gaps of 2026-12-07) ---------------------------------------------------------------


def test_a_second_run_of_the_day_keeps_the_previous_days_spend_and_refusal() -> None:
    """The day before: team/a started 2 scans, team/z 1 and was refused. The first run of today reports those; the
    images stage then stamps team/a's spend with today's day; a second run of today still reports the day before
    (3 scans, refused), in the stored document and in ScansSpent / ScansRefusedByQuota."""
    client = StoreClient()
    names = ["team/a", "team/z"]
    put_marker(client, "team/a", spend=json.dumps({"day": TODAY - 1, "spent": 2, "refused": 0}))
    put_marker(client, "team/z", spend=json.dumps({"day": TODAY - 1, "spent": 1, "refused": 3}))
    first = plan(client, names)
    assert (stored(client)["spent"], stored(client)["refused_by_quota"]) == (3, True)
    assert (figures(first)[metrics.SCANS_SPENT], figures(first)[metrics.SCANS_REFUSED_BY_QUOTA]) == (3, 1)
    put_marker(client, "team/a", spend=json.dumps({"day": TODAY, "spent": 1, "refused": 0}))
    second = plan(client, names, now=NOW + timedelta(hours=12))
    assert (stored(client)["spent"], stored(client)["refused_by_quota"]) == (3, True)
    assert (figures(second)[metrics.SCANS_SPENT], figures(second)[metrics.SCANS_REFUSED_BY_QUOTA]) == (3, 1)


def test_only_the_selected_repositories_count_in_the_staleness() -> None:
    """team/gone (excluded by the regexes since, or deleted) keeps its marker: its census counts nowhere."""
    client = StoreClient()
    put_marker(client, "team/a", census=census(TODAY - 1, 4, due={(True, False, TODAY): 4}, ages={(True, 9): 4}))
    put_marker(client, "team/gone", census=census(TODAY - 1, 50, due={(True, True, TODAY - 20): 50}, ages={}, pushed=7))
    planned = plan(client, ["team/a"])
    doc = stored(client)
    assert (doc["images"], doc["in_use"], doc["never_scanned"], doc["pushed_last_day"]) == (4, 4, 0, 0)
    assert (doc["past_expiry_in_use"], doc["in_use_past_expiry_plus_one_day"]) == (4, 4)
    assert doc["in_use_scan_age_days"] == {"p50": 9, "p95": 9, "max": 9}
    assert doc["headroom"].startswith("at 4 images and 7 days expiry")
    seen = figures(planned)
    assert (seen[metrics.IMAGES_IN_USE], seen[metrics.IMAGES_NEVER_SCANNED]) == (4, 0)
    assert seen[metrics.IN_USE_IMAGES_PAST_EXPIRY_PLUS_ONE_DAY] == 4


def test_a_marker_whose_spend_is_unreadable_is_planned_as_one_without_a_census() -> None:
    """team/b's census parses but its spend does not: it is planned as a repository without a census (an even
    share of what the known ones leave), and its census counts nowhere."""
    client = StoreClient()
    put_marker(client, "team/a", census=census(TODAY - 1, 2, due={(True, True, TODAY): 2}, ages={}))
    put_marker(client, "team/b", census=census(TODAY - 1, 6, due={(True, True, TODAY): 6}, ages={}), spend="{not json")
    planned = plan(client, ["team/a", "team/b"], configured=10)
    assert planned.registry.unknown == 1
    assert planned.registry.allowances[key("team/b")].total == 8  # what team/a (2) leaves of 10
    assert planned.registry.allowances[key("team/b")].cuts == {k: (None, 0) for k in (1, 2, 3, 4)}
    assert stored(client)["images"] == 2


def test_planned_is_every_allowance_the_shares_without_a_census_included() -> None:
    client = StoreClient()
    put_marker(client, "team/a", census=census(TODAY - 1, 3, due={(True, True, TODAY): 3}, ages={}))
    planned = plan(client, ["team/a", "team/new1", "team/new2"], configured=11)
    assert [planned.registry.allowances[key(n)].total for n in ("team/a", "team/new1", "team/new2")] == [3, 4, 4]
    assert stored(client)["planned"] == 11
    assert figures(planned)[metrics.SCANS_PLANNED] == 11


def test_the_stored_budget_is_the_days_budget_told_apart_from_the_configured_one() -> None:
    """The day's budget was planned at 4 this morning; daily_scan_budget is 10 since: the document says both."""
    client = StoreClient()
    put_marker(client, ledger.BUDGET_STATE, state=budget.State(TODAY, 4).to_json())
    planned = plan(client, ["team/a"], configured=10)
    doc = stored(client)
    assert (doc["budget"], doc["configured"]) == (4, 10)
    assert figures(planned)[metrics.SCAN_BUDGET] == 4


def test_the_in_use_p95_metric_is_the_in_use_images_own() -> None:
    """In use: 20 images scanned 1 day ago; not in use: 80 scanned 30 days ago. The p95 of the in-use images is 1
    day, that of all images 30."""
    client = StoreClient()
    put_marker(
        client,
        "team/a",
        census=census(
            TODAY - 1,
            100,
            due={(True, False, TODAY + 6): 20, (False, False, TODAY): 80},
            ages={(True, 1): 20, (False, 30): 80},
        ),
    )
    seen = figures(plan(client, ["team/a"]))
    assert seen[metrics.IN_USE_SCAN_AGE_P95] == 1
    assert seen[metrics.SCAN_AGE_P95] == 30
    assert seen[metrics.IN_USE_SCAN_AGE_P50] == 1
    assert seen[metrics.IN_USE_SCAN_AGE_MAX] == 1
