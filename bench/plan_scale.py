"""``make bench`` (fifth part) and ``make bench-plan``: the repositories function at ECR's 100,000 repositories with a
scan budget (issue 26). The real ``handlers.repositories.handler`` lists the repositories, plans the day's budget
from their sweep markers (sweep/allowances.py), stores the plan and sends one work message per repository, over:

- ECR: DescribeRepositories pages of 1,000 repositories (in memory);
- DynamoDB: ``bench.dynamodb``'s in-memory stand-in (the ledger's requests answered as DynamoDB does), the
  ``config#sweep`` partition seeded with one marker per repository as a day of sweeps leaves it: a census
  (1,000,000 images spread over the repositories, Zipf-like), a spend, and the budget state with its counters;
- SQS: SendMessageBatch counted (10 messages a call).

Two runs: the first plan of a UTC day (the day before's state), and a second plan the same day (the first plan's
allowances read back, half of them spent: those kept, the rest planned from what is left).

The Lambda's time is simulated, not measured on this machine: every call costs its latency (:data:`LATENCY_MS`:
a write about 5 ms, as the issue measured; the SendMessageBatch calls from the handler's four threads overlap)
plus the client's CPU to build and parse it (:data:`CLIENT_CPU_MS`, measured with botocore against canned
responses on this machine: 1 ms a request, 68 ms a 1 MB Query page, 35 ms a page of 1,000 repositories), and the
handler's own CPU (measured, ``time.process_time``, less the stand-ins' answering) is scaled to the function's
memory (Lambda gives one vCPU at 1,769 MB: 256 MB, the module's default, is 0.145 of one).

Targets (``bench/plan_results.json``, exit status 1 when one fails):

- the plan's writes do not grow with the repositories: at most one per plan chunk and one for the state
  (``budget.PLAN_CHUNKS`` + 1), not one per repository;
- the whole invocation (listing, plan, sends) within the repositories function's 300 s timeout less a tenth, at the
  module's default 256 MB;
- the memory the invocation allocates (tracemalloc's peak, the stand-ins' answers and stored plan included) within
  160 MiB: the function's 256 MB less about 90 MB that the runtime, boto3 and the modules take.

Environment: ``BENCH_PLAN_REPOSITORIES`` (default 100,000), ``BENCH_PLAN_OUTPUT`` (default
``bench/plan_results.json``; other sizes ``bench/plan_results.quick.json``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda"))

ACCOUNT, TABLE = "123456789012", "bench-ledger"
REPOSITORIES = 100_000
IMAGES = 1_000_000
BUDGET = 90_000
EXPIRY_DAYS = 7
TIMEOUT_S = 300.0
TIME_SHARE = 0.9  # the invocation must fit in this share of the timeout
DEFAULT_MEMORY_MB = 256
FULL_CPU_MB = 1_769  # Lambda gives one vCPU at this memory size
MEMORY_MIB = 160.0  # the 256 MB function less about 90 MB the runtime, boto3 and the modules take
#: Simulated latency of one call (ms): the network and the service.
LATENCY_MS = {
    "DescribeRepositories": 100.0,
    "Query": 20.0,
    "GetItem": 5.0,
    "UpdateItem": 5.0,
    "SendMessageBatch": 10.0,
}
#: The client's CPU per call (ms at one full vCPU): serializing, signing, parsing (botocore, measured on canned
#: responses); a Query page costs by its size.
CLIENT_CPU_MS = {"DescribeRepositories": 35.0, "per_request": 1.0, "query_per_mb": 68.0}
NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
PASS, FAIL = "PASS", "FAIL"


class Pages:
    def __init__(self, names: list[str], calls: Counter[str]) -> None:
        self.names, self.calls = names, calls

    def paginate(self, **_: Any) -> Any:
        for start in range(0, len(self.names), 1000):
            self.calls["DescribeRepositories"] += 1
            yield {
                "repositories": [
                    {"repositoryName": n, "registryId": ACCOUNT, "repositoryUri": f"{ACCOUNT}.dkr.ecr/{n}"}
                    for n in self.names[start : start + 1000]
                ]
            }


class FakeEcr:
    def __init__(self, names: list[str], calls: Counter[str]) -> None:
        self.names, self.calls = names, calls

    def get_paginator(self, name: str) -> Pages:
        assert name == "describe_repositories", name
        return Pages(self.names, self.calls)


class FakeSqs:
    def __init__(self, calls: Counter[str]) -> None:
        self.calls, self.sent = calls, 0

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls["SendMessageBatch"] += 1
        self.sent += len(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class Paginator:
    def __init__(self, client: DynamoDB) -> None:
        self.client = client

    def paginate(self, **request: Any) -> Any:
        start = None
        while True:
            page = self.client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
            yield page
            start = page.get("LastEvaluatedKey")
            if not start:
                return


class DynamoDB:
    """A DynamoDB client over the in-memory stand-in, counting calls and the bytes of the Query pages."""

    def __init__(self, store: Any, calls: Counter[str]) -> None:
        self.store, self.calls = store, calls
        self.query_bytes = 0
        self.cpu = 0.0  # the stand-in's own CPU answering (not the function's: the client's is estimated instead)

    def _answer(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        from bench import dynamodb

        self.calls[operation] += 1
        started = time.process_time()
        try:
            answer = self.store.answer(operation, request)
        except dynamodb._Refused as refused:
            raise ClientError({"Error": {"Code": refused.code, "Message": refused.message}}, operation) from None
        finally:
            self.cpu += time.process_time() - started
        if operation == "Query":
            self.query_bytes += len(json.dumps(answer))
        return answer

    def query(self, **request: Any) -> dict[str, Any]:
        return self._answer("Query", request)

    def get_item(self, **request: Any) -> dict[str, Any]:
        return self._answer("GetItem", request)

    def update_item(self, **request: Any) -> dict[str, Any]:
        return self._answer("UpdateItem", request)

    def get_paginator(self, name: str) -> Paginator:
        assert name == "query", name
        return Paginator(self)


def repository_names(count: int) -> list[str]:
    return [f"team-{i // 100:04d}/service-{i % 100:02d}" for i in range(count)]


def seed(store: Any, names: list[str], images: int, rng: random.Random) -> None:
    """One marker per repository as a day of sweeps leaves it (census and spend), and the day before's state."""
    from ecr_scan_reporter.core import ledger
    from ecr_scan_reporter.sweep import budget

    table = store.create_table(TABLE, "pk", "digest")
    today = budget.day_of(NOW)
    weights = [1 / (i + 1) ** 0.9 for i in range(len(names))]
    rng.shuffle(weights)
    total = sum(weights)
    for name, weight in zip(names, weights, strict=True):
        size = max(1, round(images * weight / total))
        tally = budget.Tally()
        for _ in range(min(size, 40)):  # the census's shape: up to 40 (in use, never, due day) groups
            used = rng.random() < 0.2
            never = rng.random() < 0.05
            share = max(1, size // 40)
            key = (used, never, today - 30 if never else today - 1 + rng.randint(0, EXPIRY_DAYS))
            tally.due[key] = tally.due.get(key, 0) + share
            if not never:
                age = (used, rng.randint(0, EXPIRY_DAYS))
                tally.ages[age] = tally.ages.get(age, 0) + share
        census = json.dumps(
            {"day": today - 1, **tally.to_json(), "images": size, "pushed_1d": size // 100}, separators=(",", ":")
        )
        spend = budget.Spend(today - 1, min(size, 3), 0, "p0", 2, True).to_json()
        key = ledger.partition_key(ACCOUNT, name)
        table.put(
            {
                "pk": {"S": ledger.SWEEP_MARKERS},
                "digest": {"S": key},
                "census": {"S": census},
                "spend": {"S": spend},
                "complete_at": {"N": str(NOW.timestamp() - 86_400)},
            }
        )
    state = budget.State(today - 1, BUDGET, "p0", NOW.timestamp() - 86_400)
    table.put(
        {
            "pk": {"S": ledger.SWEEP_MARKERS},
            "digest": {"S": ledger.BUDGET_STATE},
            "state": {"S": state.to_json()},
            budget.counter(budget.SPENT, today - 1): {"N": "88000"},
            budget.counter(budget.PUSHES, "p0"): {"N": "3000"},
        }
    )


def spend_half(store: Any) -> int:
    """After the first plan: half of the repositories spent their allowance (done), the others are still going."""
    from ecr_scan_reporter.core import ledger
    from ecr_scan_reporter.sweep import budget

    table = store.tables[TABLE]
    state = budget.State.from_json(
        table.get({"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": "budget"}})["state"]["S"]
    )
    allowances: dict[str, budget.Allowance] = {}
    for item in table.partitions.get(ledger.PLAN_PARTITION, {}).values():
        if item["plan"]["S"] == state.plan:
            allowances.update(budget.unchunked(item["allowances"]["S"]))
    spent = 0
    for i, (key, allowance) in enumerate(sorted(allowances.items())):
        if i % 2 == 0:
            item = table.get({"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": key}})
            spend = budget.Spend(allowance.day, allowance.total, 0, allowance.plan, 2, True)
            item["spend"] = {"S": spend.to_json()}
            spent += allowance.total
    day = budget.counter(budget.SPENT, state.day)
    table.get({"pk": {"S": ledger.SWEEP_MARKERS}, "digest": {"S": "budget"}})[day] = {"N": str(spent)}
    return spent


def invoke(store: Any, names: list[str], now: datetime, trace: bool) -> dict[str, Any]:
    """One repositories invocation over the stand-ins: calls, CPU, peak traced memory (``trace``), the plan."""
    from ecr_scan_reporter.core import aws
    from ecr_scan_reporter.handlers import load_settings, repositories

    calls: Counter[str] = Counter()
    ecr, sqs, dynamo = FakeEcr(names, calls), FakeSqs(calls), DynamoDB(store, calls)
    aws.client = lambda service, **_: {"ecr": ecr, "sqs": sqs, "dynamodb": dynamo}[service]  # type: ignore[assignment]

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return now if tz is None else now.astimezone(tz)

    repositories.datetime = Clock  # type: ignore[attr-defined]
    load_settings.cache_clear()
    out = io.StringIO()
    if trace:
        tracemalloc.start()
    started = time.process_time()
    with contextlib.redirect_stdout(out):
        summary = repositories.handler({"detail-type": "Scheduled Event"}, None)
    cpu = time.process_time() - started - dynamo.cpu
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    if trace:
        tracemalloc.stop()
    assert summary["sent"] == len(names) == sqs.sent, summary
    return {"calls": dict(sorted(calls.items())), "cpu_s": cpu, "peak_mib": peak, "query_mb": dynamo.query_bytes / 1e6}


def simulated(calls: dict[str, int], cpu_s: float, query_mb: float, memory_mb: int, workers: int = 1) -> float:
    """Seconds the invocation takes on Lambda at ``memory_mb``: latencies (SendMessageBatch's from ``workers``
    threads overlap), plus the CPU (the handler's measured, the client's per call) scaled to the memory's share of
    a vCPU."""
    latency = sum(
        LATENCY_MS.get(op, 10.0) * n / (workers if op == "SendMessageBatch" else 1) for op, n in calls.items()
    )
    latency /= 1000
    client = sum(
        CLIENT_CPU_MS["DescribeRepositories"] * n if op == "DescribeRepositories" else CLIENT_CPU_MS["per_request"] * n
        for op, n in calls.items()
    )
    client += CLIENT_CPU_MS["query_per_mb"] * query_mb
    share = min(1.0, memory_mb / FULL_CPU_MB)
    return latency + (cpu_s + client / 1000) / share


def run(count: int) -> dict[str, Any]:
    from bench import dynamodb
    from ecr_scan_reporter.handlers import repositories

    os.environ.update(
        AWS_DEFAULT_REGION="eu-west-1",
        QUEUE_URL=f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/work",
        LEDGER_TABLE_NAME=TABLE,
        DAILY_SCAN_BUDGET=str(BUDGET),
        SCAN_EXPIRY_DAYS=str(EXPIRY_DAYS),
        LOG_LEVEL="ERROR",
    )
    names = repository_names(count)
    images = IMAGES * count // REPOSITORIES
    scenarios = []
    for label, later in (("the first plan of a day", False), ("a second plan the same day", True)):
        measured: dict[str, Any] = {}
        for trace in (False, True):  # CPU without the tracer, memory with it: the tracer slows Python down 3x
            store = dynamodb.Store()
            seed(store, names, images, random.Random(26))
            if later:
                invoke(store, names, NOW, trace=False)
                spend_half(store)
            result = invoke(store, names, NOW + timedelta(hours=12) if later else NOW, trace)
            if trace:
                measured["peak_mib"] = result["peak_mib"]
            else:
                measured.update(result)
        calls = measured["calls"]
        workers = repositories.SEND_WORKERS if count > repositories.SEND_IN_PARALLEL_FROM else 1
        writes = sum(n for op, n in calls.items() if op in ("UpdateItem", "PutItem", "BatchWriteItem"))
        scenarios.append(
            {
                "scenario": label,
                "repositories": count,
                "images": images,
                "calls": calls,
                "writes": writes,
                "cpu_s": round(measured["cpu_s"], 2),
                "query_mb": round(measured["query_mb"], 1),
                "peak_mib": round(measured["peak_mib"], 1),
                "send_workers": workers,
                "simulated_s": {
                    str(mb): round(simulated(calls, measured["cpu_s"], measured["query_mb"], mb, workers), 1)
                    for mb in (DEFAULT_MEMORY_MB, 512, 1_024, FULL_CPU_MB)
                },
            }
        )
        print(f"    done: {label}, {count:,} repositories", flush=True)
    return {"scenarios": scenarios}


def evaluate(document: dict[str, Any]) -> list[dict[str, Any]]:
    from ecr_scan_reporter.sweep import budget

    targets = []
    for s in document["scenarios"]:
        most_writes = budget.PLAN_CHUNKS + 1
        seconds = s["simulated_s"][str(DEFAULT_MEMORY_MB)]
        targets += [
            {
                "target": "the plan's writes do not grow with the repositories",
                "scope": s["scenario"],
                "status": PASS if s["writes"] <= most_writes else FAIL,
                "value": f"{s['writes']:,} writes for {s['repositories']:,} repositories",
                "bound": f"<= {most_writes:,} (a chunk each, and the state)",
            },
            {
                "target": f"the invocation within {TIME_SHARE:.0%} of the {TIMEOUT_S:.0f} s timeout "
                f"at {DEFAULT_MEMORY_MB} MB",
                "scope": s["scenario"],
                "status": PASS if seconds <= TIME_SHARE * TIMEOUT_S else FAIL,
                "value": f"{seconds:.0f} s simulated",
                "bound": f"<= {TIME_SHARE * TIMEOUT_S:.0f} s",
            },
            {
                "target": f"memory within {MEMORY_MIB:.0f} MiB of the function's {DEFAULT_MEMORY_MB} MB",
                "scope": s["scenario"],
                "status": PASS if s["peak_mib"] <= MEMORY_MIB else FAIL,
                "value": f"{s['peak_mib']:.0f} MiB traced peak",
                "bound": f"<= {MEMORY_MIB:.0f} MiB",
            },
        ]
    return targets


def markdown(document: dict[str, Any]) -> str:
    """The table docs/benchmarks.md shows (``python -m bench.plan_scale --markdown``)."""
    lines = [
        "| plan | repositories | writes | calls (DescribeRepositories / Query / GetItem / UpdateItem / "
        "SendMessageBatch) | handler CPU | traced peak | simulated at 256 / 1,024 / 1,769 MB |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for s in document["scenarios"]:
        c = s["calls"]
        ops = " / ".join(
            f"{c.get(op, 0):,}" for op in ("DescribeRepositories", "Query", "GetItem", "UpdateItem", "SendMessageBatch")
        )
        t = s["simulated_s"]
        lines.append(
            f"| {s['scenario']} | {s['repositories']:,} | {s['writes']:,} | {ops} | {s['cpu_s']:.1f} s | "
            f"{s['peak_mib']:.0f} MiB | {t['256']:.0f} / {t['1024']:.0f} / {t['1769']:.0f} s |"
        )
    return "\n".join(lines)


def main() -> int:
    if "--markdown" in sys.argv:
        print(markdown(json.loads((ROOT / "bench" / "plan_results.json").read_text())))
        return 0
    count = int(os.environ.get("BENCH_PLAN_REPOSITORIES", REPOSITORIES))
    output = Path(
        os.environ.get("BENCH_PLAN_OUTPUT")
        or ROOT / "bench" / ("plan_results.json" if count == REPOSITORIES else "plan_results.quick.json")
    )
    print(f"==> bench plan: the repositories function at {count:,} repositories with a scan budget", flush=True)
    started = time.perf_counter()
    document = run(count)
    targets = evaluate(document)
    for t in targets:
        print(f"{t['status']:4}  {t['target']} [{t['scope']}]: {t['value']} ({t['bound']})")
    from bench.run import _git, _machine

    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": _git(),
        "machine": _machine(),
        "runtime_s": round(time.perf_counter() - started, 1),
        "targets": targets,
        **document,
    }
    output.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    print(markdown(document))
    return 1 if any(t["status"] == FAIL for t in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
