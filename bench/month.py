"""``make bench-month``: the scan budget's month (issue 21). A registry lives 30 simulated days under ECR's quotas;
today's sweep (every due image, repository order, stop at the quota) and the scan budget run side by side on
identical registries, and the targets are checked.

- **Full size, pure**: 300,000 images in 1,000 repositories of uneven size (Zipf-like), 3,000 pushes a day (each
  scanned on push, consuming quota), 20 % of the images pulled (in use), a bulk re-push of 50,000 images on day
  10; ECR's 100,000 scans a day and one scan per image per day enforced by the fake (:class:`World`). The budget's
  decisions come from ``sweep/budget.py``'s ``select`` (the whole registry ranked at once), today's from the same
  rule the sweep applies without a budget (``freshness.decide_scan``: never scanned or expired).
- **Whole stack, 1/10**: 30,000 images in 100 repositories, 300 pushes a day, 5,000 re-pushed on day 10, a quota of
  10,000 and a budget of 9,000: the real repositories and images handlers run every simulated day (their clocks set
  to the simulated day) over an in-memory ECR that enforces the same quotas (:class:`FakeEcr`, DescribeImages
  carrying the scans as CLAIR basic scanning does), the ledger in ``bench.dynamodb``'s stand-in, the work queue in
  memory; and, on an identical registry, the pure decision function at the same size: both must agree.

Targets (``evaluate``): no day over the quota; from day 8 every in-use image younger than ``scan_expiry_days`` + 1
day at every sweep (the budget; today's: reported); the sweep's daily scans after day 10 within 20 % of their mean
(the budget; today's: reported); the p95 scan age of all images reported for both; the whole stack and the pure
function agree (the same targets met, daily scans from day 4, once the catch-up of days 1-3 is over, within 15 % of
each other: the stages' first sweep has no census yet and spends an even share per repository in listing order).

Environment: ``BENCH_MONTH_OUTPUT`` (default ``bench/month_results.json``), ``BENCH_MONTH_QUICK=1`` (1/100 pure and
1/100 stack: a quick development run, written to ``bench/month_results.quick.json``).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DAY = 86_400
START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
SWEEP_HOUR = 6 * 3600
EXPIRY_DAYS = 7
DAYS = 30
PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
LEVEL_TOLERANCE = 0.20
AGREE_TOLERANCE = 0.15
AGREE_FROM_DAY = 4  # after the catch-up of days 1-3 (see evaluate)


@dataclass(frozen=True)
class Shape:
    name: str
    images: int
    repositories: int
    pushes_per_day: int
    bulk_day: int
    bulk_images: int
    quota: int
    budget: int

    def scaled(self, factor: int, name: str) -> Shape:
        return Shape(
            name,
            self.images // factor,
            max(10, self.repositories // factor),
            self.pushes_per_day // factor,
            self.bulk_day,
            self.bulk_images // factor,
            self.quota // factor,
            self.budget // factor,
        )


FULL = Shape("300,000 images, 1,000 repositories", 300_000, 1_000, 3_000, 10, 50_000, 100_000, 90_000)


# --- the registry and ECR's quotas ------------------------------------------------------------------------------


@dataclass
class World:
    """The registry as ECR knows it, and ECR's quotas. Images are parallel lists (index = image)."""

    shape: Shape
    seed: int = 21
    repo_names: list[str] = field(default_factory=list)
    repo_of: list[int] = field(default_factory=list)
    digest: list[str] = field(default_factory=list)
    pushed: list[float] = field(default_factory=list)
    scanned: list[float | None] = field(default_factory=list)
    pulled: list[float | None] = field(default_factory=list)
    used_today: int = 0  # quota used in the current 24 hours (scans on push included)
    refused_registry: int = 0
    refused_image: int = 0
    serial: int = 0

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.rng = rng
        shape = self.shape
        self.repo_names = [f"team-{i:04d}/service" for i in range(shape.repositories)]
        weights = [1 / (i + 1) ** 0.9 for i in range(shape.repositories)]
        rng.shuffle(weights)  # big and small repositories anywhere in the listing order
        total = sum(weights)
        sizes = [max(1, int(shape.images * w / total)) for w in weights]
        sizes[0] += shape.images - sum(sizes)
        for repo, size in enumerate(sizes):
            for _ in range(size):
                self.repo_of.append(repo)
                self.digest.append(self._new_digest())
                self.pushed.append(START - rng.uniform(30, 400) * DAY)
                never = rng.random() < 0.05
                self.scanned.append(None if never else START - rng.uniform(0, 14) * DAY)
                self.pulled.append(None)
        in_use = rng.sample(range(len(self.digest)), len(self.digest) // 5)  # pulls on 20 % of the images
        self.in_use = set(in_use)
        self.by_repo: list[list[int]] = [[] for _ in range(shape.repositories)]
        for i, repo in enumerate(self.repo_of):
            self.by_repo[repo].append(i)

    def _new_digest(self) -> str:
        self.serial += 1
        return f"sha256:{self.seed:08x}{self.serial:056x}"

    def sweep_time(self, day: int) -> float:
        return START + day * DAY + SWEEP_HOUR

    def new_day(self, day: int) -> int:
        """The 24 hours before day ``day``'s sweep: pulls, pushes (each scanned on push, consuming quota), the bulk
        re-push; the quota window starts again. Returns the scans on push."""
        now = self.sweep_time(day)
        self.used_today = 0
        for i in self.in_use:
            self.pulled[i] = now - self.rng.uniform(0, DAY)
        pushes = self.shape.pushes_per_day + (self.shape.bulk_images if day == self.shape.bulk_day else 0)
        for i in self.rng.sample(range(len(self.digest)), pushes):
            at = now - self.rng.uniform(0, DAY)
            self.digest[i] = self._new_digest()  # a new image replaces the old one (its tag moves on)
            self.pushed[i] = at
            self.scanned[i] = at  # scan on push
        self.used_today = pushes
        return pushes

    def start_scan(self, i: int, now: float) -> str:
        """ECR's answer: "started", "per_image" (scanned within 24 hours) or "registry" (the quota is spent)."""
        last = self.scanned[i]
        if last is not None and now - last < DAY:
            self.refused_image += 1
            return "per_image"
        if self.used_today >= self.shape.quota:
            self.refused_registry += 1
            return "registry"
        self.used_today += 1
        self.scanned[i] = now
        return "started"

    def measure(self, now: float) -> dict[str, Any]:
        """Scan ages (days) of the in-use images and of all, at ``now`` (never scanned: since the push)."""
        ages = sorted((now - (s if s is not None else p)) / DAY for s, p in zip(self.scanned, self.pushed, strict=True))
        in_use = sorted((now - (self.scanned[i] or self.pushed[i])) / DAY for i in self.in_use)
        return {
            "in_use_max_age": round(in_use[-1], 2),
            "in_use_p95_age": round(in_use[int(0.95 * (len(in_use) - 1))], 2),
            "in_use_over_expiry_plus_1": sum(1 for a in in_use if a >= EXPIRY_DAYS + 1),
            "p95_age": round(ages[int(0.95 * (len(ages) - 1))], 2),
            "never_scanned": sum(1 for s in self.scanned if s is None),
        }


# --- the schedulers, pure ------------------------------------------------------------------------------------


def today_sweep(world: World, day: int) -> int:
    """Without a budget: repository by repository in listing order, every never-scanned or expired image, until ECR
    refuses for the registry's quota (the sweep stops there)."""
    now = world.sweep_time(day)
    started = 0
    for repo in sorted(range(len(world.repo_names)), key=lambda r: world.repo_names[r]):
        for i in world.by_repo[repo]:
            last = world.scanned[i]
            if last is not None and now - last <= EXPIRY_DAYS * DAY:
                continue
            answer = world.start_scan(i, now)
            if answer == "registry":
                return started
            started += answer == "started"
    return started


@dataclass
class BudgetState:
    configured: int
    effective: int | None = None
    last_spent: int = 0
    refused: bool = False


def budget_sweep(world: World, day: int, state: BudgetState) -> tuple[int, dict[str, int]]:
    """The scan budget, the whole registry ranked at once (sweep/budget.py's select), spent in listing order."""
    from ecr_scan_reporter.sweep import budget

    now = world.sweep_time(day)
    today = int(now // DAY)
    effective = state.configured  # a UTC day's budget (sweep/budget.py plan_registry: one sweep a day here)
    window = budget.window_seconds(EXPIRY_DAYS)
    items = []
    for i in range(len(world.digest)):
        last = world.scanned[i]
        used = world.pulled[i] is not None and now - world.pulled[i] <= budget.DEFAULT_IN_USE_DAYS * DAY
        if last is None:
            due = world.pushed[i]
        else:
            due = last + EXPIRY_DAYS * DAY - (budget.jitter_seconds(world.digest[i], EXPIRY_DAYS) if window else 0)
        items.append(budget.Item(world.repo_names[world.repo_of[i]], str(i), used, last is None, int(due // DAY)))
    plan, chosen = budget.select(items, effective, today, EXPIRY_DAYS)
    started = refused = 0
    for item in chosen:
        answer = world.start_scan(int(item.digest), now)
        if answer == "registry":
            refused = 1
            break
        started += answer == "started"
    state.effective, state.last_spent, state.refused = effective, started, bool(refused)
    return started, {budget.CLASS_NAMES[k]: v for k, v in plan.taken.items()} | {"budget": effective}


def simulate(shape: Shape, scheduler: str, progress: Callable[[str], None]) -> dict[str, Any]:
    world = World(shape)
    state = BudgetState(shape.budget)
    days = []
    started_s = time.perf_counter()
    for day in range(1, DAYS + 1):
        pushes = world.new_day(day)
        before = world.measure(world.sweep_time(day))
        if scheduler == "today":
            scans, plan = today_sweep(world, day), {}
        else:
            scans, plan = budget_sweep(world, day, state)
        days.append(
            {"day": day, "pushes": pushes, "sweep_scans": scans, "quota_used": world.used_today, **before, **plan}
        )
    progress(f"{scheduler} {shape.name}: {time.perf_counter() - started_s:.0f} s")
    return {
        "scheduler": scheduler,
        "shape": shape.__dict__,
        "days": days,
        "wall_s": round(time.perf_counter() - started_s, 1),
    }


# --- the whole stack --------------------------------------------------------------------------------------------


class _ClientError(Exception):
    pass


class FakeEcr:
    """ECR's API as the handlers use it, over a :class:`World`: DescribeRepositories, DescribeImages (1,000 a page,
    ``lastRecordedPullTime``, the scan as CLAIR lists it), StartImageScan with both quotas."""

    def __init__(self, world: World, clock: Callable[[], float]) -> None:
        self.world, self.clock = world, clock
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def get_registry_scanning_configuration(self) -> dict[str, Any]:
        return {"scanningConfiguration": {"scanType": "BASIC"}}

    def get_account_setting(self, name: str) -> dict[str, Any]:
        return {"name": name, "value": "CLAIR"}

    def get_paginator(self, name: str) -> Any:
        assert name == "describe_repositories", name
        world = self.world

        class Pages:
            def paginate(self, **_: Any) -> Any:
                names = sorted(world.repo_names)
                for start in range(0, len(names), 1000):
                    yield {
                        "repositories": [
                            {"repositoryName": n, "registryId": "123456789012", "repositoryUri": n}
                            for n in names[start : start + 1000]
                        ]
                    }

        return Pages()

    def describe_images(
        self, repositoryName: str, maxResults: int = 100, nextToken: str | None = None, **_: Any
    ) -> Any:
        self._count("DescribeImages")
        world = self.world
        repo = world.repo_names.index(repositoryName) if not hasattr(self, "_index") else self._index[repositoryName]
        members = world.by_repo[repo]
        start = int(nextToken or 0)
        page = members[start : start + maxResults]
        details = []
        for i in page:
            detail: dict[str, Any] = {
                "registryId": "123456789012",
                "repositoryName": repositoryName,
                "imageDigest": world.digest[i],
                "imageTags": [f"v{i}"],
                "imagePushedAt": datetime.fromtimestamp(world.pushed[i], UTC),
            }
            if world.pulled[i] is not None:
                detail["lastRecordedPullTime"] = datetime.fromtimestamp(world.pulled[i], UTC)
            if world.scanned[i] is not None:
                detail["imageScanStatus"] = {"status": "COMPLETE"}
                detail["imageScanFindingsSummary"] = {
                    "imageScanCompletedAt": datetime.fromtimestamp(world.scanned[i], UTC)
                }
            details.append(detail)
        response: dict[str, Any] = {"imageDetails": details}
        if start + maxResults < len(members):
            response["nextToken"] = str(start + maxResults)
        return response

    def start_image_scan(self, repositoryName: str, imageId: dict[str, str], **_: Any) -> Any:
        from botocore.exceptions import ClientError

        self._count("StartImageScan")
        i = self._digests[imageId["imageDigest"]]
        answer = self.world.start_scan(i, self.clock())
        if answer == "per_image":
            raise ClientError(
                {"Error": {"Code": "LimitExceededException", "Message": "The scan quota per image has been exceeded"}},
                "StartImageScan",
            )
        if answer == "registry":
            raise ClientError(
                {
                    "Error": {
                        "Code": "LimitExceededException",
                        "Message": "The basic scan quota of the registry (100,000 per 24 hours) has been exceeded",
                    }
                },
                "StartImageScan",
            )
        return {"imageScanStatus": {"status": "IN_PROGRESS"}}

    def reindex(self) -> None:
        self._index = {name: r for r, name in enumerate(self.world.repo_names)}
        self._digests = {d: i for i, d in enumerate(self.world.digest)}


class FakeSqs:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.bodies += [e["MessageBody"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class _Context:
    function_name = "bench-month"
    aws_request_id = "bench-month"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def stack(shape: Shape, progress: Callable[[str], None]) -> dict[str, Any]:
    """The real handlers, one sweep a simulated day."""
    import contextlib
    import io

    import boto3

    from bench import dynamodb
    from ecr_scan_reporter.core import aws
    from ecr_scan_reporter.handlers import images, load_settings, repositories

    for key in list(os.environ):
        if key.startswith("AWS_"):
            del os.environ[key]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_CONFIG_FILE="/nonexistent/bench-aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/bench-aws-credentials",
        QUEUE_URL="https://sqs.eu-west-1.amazonaws.com/123456789012/work",
        LEDGER_TABLE_NAME="bench-ledger",
        SCAN_EXPIRY_DAYS=str(EXPIRY_DAYS),
        DAILY_SCAN_BUDGET=str(shape.budget),
        LOG_LEVEL="ERROR",
    )
    store = dynamodb.Store()
    dynamodb.install(store)
    store.create_table("bench-ledger", "pk", "digest")
    world = World(shape)
    sim = {"now": world.sweep_time(0)}
    ecr, sqs = FakeEcr(world, lambda: sim["now"]), FakeSqs()
    ddb = boto3.client("dynamodb", region_name="eu-west-1")

    def client(service: str, **_: Any) -> Any:
        return {"ecr": ecr, "sqs": sqs, "dynamodb": ddb}[service]

    aws.client = client  # type: ignore[assignment]

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.fromtimestamp(sim["now"], tz or UTC)

    images.datetime = Clock  # type: ignore[attr-defined]
    repositories.datetime = Clock  # type: ignore[attr-defined]
    load_settings.cache_clear()
    days = []
    started_s = time.perf_counter()
    invocations = 0
    for day in range(1, DAYS + 1):
        pushes = world.new_day(day)
        sim["now"] = world.sweep_time(day)
        ecr.reindex()
        before = world.measure(sim["now"])
        scans_before = ecr.calls.get("StartImageScan", 0) - world.refused_image - world.refused_registry
        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' EMF lines
            repositories.handler({"detail-type": "Scheduled Event"}, _Context())
            while sqs.bodies:
                batch, sqs.bodies = sqs.bodies[:5], sqs.bodies[5:]
                event = {"Records": [{"messageId": f"m{n}", "body": b} for n, b in enumerate(batch)]}
                response = images.handler(event, _Context())
                invocations += 1
                assert not response["batchItemFailures"], response
        scans = ecr.calls.get("StartImageScan", 0) - world.refused_image - world.refused_registry - scans_before
        days.append({"day": day, "pushes": pushes, "sweep_scans": scans, "quota_used": world.used_today, **before})
    progress(f"stack {shape.name}: {time.perf_counter() - started_s:.0f} s, {invocations} images invocations")
    return {
        "scheduler": "budget (whole stack)",
        "shape": shape.__dict__,
        "days": days,
        "wall_s": round(time.perf_counter() - started_s, 1),
        "images_invocations": invocations,
        "ecr_calls": dict(ecr.calls),
    }


# --- targets ----------------------------------------------------------------------------------------------------


def _target(name: str, scope: str, ok: bool | None, value: str, bound: str) -> dict[str, Any]:
    return {
        "target": name,
        "scope": scope,
        "status": SKIP if ok is None else PASS if ok else FAIL,
        "value": value,
        "bound": bound,
    }


def summary(run: dict[str, Any]) -> dict[str, Any]:
    days = run["days"]
    quota = run["shape"]["quota"]
    bulk = run["shape"]["bulk_day"]
    late = [d["sweep_scans"] for d in days if d["day"] > bulk]
    mean = sum(late) / len(late)
    return {
        "max_quota_used": max(d["quota_used"] for d in days),
        "quota": quota,
        "in_use_max_age_from_day_8": max(d["in_use_max_age"] for d in days if d["day"] >= 8),
        "in_use_stale_days_from_day_8": sum(1 for d in days if d["day"] >= 8 and d["in_use_over_expiry_plus_1"]),
        "after_bulk_mean": round(mean),
        "after_bulk_max_deviation": round(max(abs(s - mean) for s in late) / mean, 3) if mean else 0.0,
        "p95_age_median": sorted(d["p95_age"] for d in days)[len(days) // 2],
        "p95_age_max": max(d["p95_age"] for d in days),
    }


def evaluate(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    targets = []
    for key, run in runs.items():
        s = run["summary"] = summary(run)
        judged = key != "today"  # today's behaviour: reported only
        scope = f"{run['scheduler']}, {run['shape']['name']}"
        targets.append(
            _target(
                "no day over the quota",
                scope,
                s["max_quota_used"] <= s["quota"],
                f"max {s['max_quota_used']:,} a day",
                f"<= {s['quota']:,}",
            )
        )
        targets.append(
            _target(
                "from day 8, every in-use image younger than expiry + 1 day",
                scope,
                s["in_use_stale_days_from_day_8"] == 0 if judged else None,
                f"oldest in-use scan {s['in_use_max_age_from_day_8']:.2f} days; "
                f"{s['in_use_stale_days_from_day_8']} day(s) with one older",
                f"< {EXPIRY_DAYS + 1} days, every day",
            )
        )
        targets.append(
            _target(
                "daily scans after the bulk push within 20 % of their mean",
                scope,
                s["after_bulk_max_deviation"] <= LEVEL_TOLERANCE if judged else None,
                f"mean {s['after_bulk_mean']:,}, max deviation {100 * s['after_bulk_max_deviation']:.0f} %",
                f"<= {100 * LEVEL_TOLERANCE:.0f} %",
            )
        )
        targets.append(
            _target(
                "p95 scan age of all images",
                scope,
                None,
                f"median {s['p95_age_median']:.2f} days, max {s['p95_age_max']:.2f}",
                "reported",
            )
        )
    if "stack" in runs and "pure_small" in runs:
        a, b = runs["stack"]["days"], runs["pure_small"]["days"]
        # The catch-up (the registry starts half expired) runs on days 1-3: the stages' first sweep has no census
        # yet (an even share per repository, in listing order), so their catch-up differs from the whole view's.
        gaps = {
            x["day"]: abs(x["sweep_scans"] - y["sweep_scans"]) / max(1, y["sweep_scans"])
            for x, y in zip(a, b, strict=True)
        }
        worst = max(g for day, g in gaps.items() if day >= AGREE_FROM_DAY)
        catch_up = max(g for day, g in gaps.items() if day < AGREE_FROM_DAY)
        same = all(t["status"] == PASS for t in targets if t["scope"].startswith(runs["stack"]["scheduler"])) == all(
            t["status"] == PASS
            for t in targets
            if t["scope"].startswith(runs["pure_small"]["scheduler"])
            and runs["pure_small"]["shape"]["name"] in t["scope"]
        )
        targets.append(
            _target(
                "whole stack and pure decision function agree",
                f"{runs['stack']['shape']['name']}",
                same and worst <= AGREE_TOLERANCE,
                f"daily scans from day {AGREE_FROM_DAY} differ by at most {100 * worst:.0f} % (days 1-3, the "
                f"catch-up: {100 * catch_up:.0f} %); the same targets met: {same}",
                f"<= {100 * AGREE_TOLERANCE:.0f} %, the same targets",
            )
        )
    return targets


def main() -> int:
    quick = os.environ.get("BENCH_MONTH_QUICK", "").strip() == "1"
    output = Path(
        os.environ.get("BENCH_MONTH_OUTPUT")
        or ROOT / "bench" / ("month_results.quick.json" if quick else "month_results.json")
    )
    full = FULL.scaled(100, "3,000 images, 100 repositories (quick)") if quick else FULL
    small = FULL.scaled(
        100 if quick else 10, "1/100: 3,000 images" if quick else "1/10: 30,000 images, 100 repositories"
    )

    def progress(text: str) -> None:
        print(f"    done: {text}", flush=True)

    print(
        f"==> bench month: {DAYS} days, expiry {EXPIRY_DAYS} days; {full.name} (pure), {small.name} (whole stack)",
        flush=True,
    )
    started = time.perf_counter()
    runs = {
        "today": simulate(full, "today", progress),
        "budget": simulate(full, "budget", progress),
        "pure_small": simulate(small, "budget", progress),
        "stack": stack(small, progress),
    }
    targets = evaluate(runs)
    for t in targets:
        print(f"{t['status']:4}  {t['target']} [{t['scope']}]: {t['value']} ({t['bound']})")
    from bench.run import _git, _machine

    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": _git(),
        "machine": _machine(),
        "runtime_s": round(time.perf_counter() - started, 1),
        "targets": targets,
        "runs": runs,
    }
    output.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 1 if any(t["status"] == FAIL for t in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
