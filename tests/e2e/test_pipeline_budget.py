"""The scan budget, end to end (issue 21): with a budget smaller than the images needing a scan, the in-use images
are scanned before the others, and the budget's figures reach CloudWatch.

A repository of the test's own, ``team/budget`` (selected by the test root's ``^team/``), gets six fresh images,
pushed in this order (DescribeImages lists them so):

=================  ======================================  ============================================
images             DescribeImages                          with DAILY_SCAN_BUDGET=2
=================  ======================================  ============================================
idle-1 .. idle-4   no ``lastRecordedPullTime``: not in use  the second sweep: class 3, what the in-use
                                                           images leave of the budget, listing order
used-1, used-2     pulled an hour ago: in use (30 days)     the first sweep's even share: its first phase
                                                           (in use) takes them, although listed last
=================  ======================================  ============================================

moto reports no ``lastRecordedPullTime``; it runs in the suite's process (tests/emulators.py), so the test sets
the attribute its DescribeImages serializes from (``Image.last_recorded_pull_time``) on the two moto images, for
the test only (monkeypatch). The deployed repositories function gets ``DAILY_SCAN_BUDGET=2`` through the Lambda
API for the test (the images function only needs a budget to be set: it spends the allowance the repositories
function stored), and the registry's budget state is taken out of the ledger before each sweep, so each plans a
new budget day (a day's budget is kept for the day, and its sweeps spend it once between them: sweep/budget.py
plan_registry). Both are put back afterwards.

A sweep spends in two phases, the in-use classes registry-wide first (docs/budget.md). The first sweep of the new
repository has no census and spends its even share of what the known repositories leave, its in-use images first
although they are listed last; the second plans from that census: what is left of the in-use images (class 1),
then the idle ones (class 3) in listing order, in the repository's second phase. The repositories function's EMF
lines are then put into CloudWatch as CloudWatch Logs would (tests/e2e/emf.py), and the metric the
``in_use_images_stale`` alarm watches is read back through CloudWatch.

Runs after test_pipeline.py (name order) on the same deployment; pauses the schedule while it works, and deletes
its repository afterwards so the files after it see the seeded registry only.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from emulators import ACCOUNT_ID

from e2e import emf, observe
from e2e.conftest import Deployed, SweepObservation
from e2e.pipeline import Pipeline
from e2e.seeding import MotoSeeder

pytestmark = pytest.mark.e2e

REPOSITORY = "team/budget"
BUDGET = 2
IDLE = ("idle-1", "idle-2", "idle-3", "idle-4")
USED = ("used-1", "used-2")
SWEEP_TIMEOUT = 120


def _sweep(pipeline: Pipeline) -> list[dict[str, Any]]:
    """One sweep as the schedule starts it; waits for the repositories function to finish, for the images
    function's ``repository_swept`` line of REPOSITORY and for the work queue to stay drained (the second phase's
    follow-up message included); returns the lines of REPOSITORY (one per phase)."""
    since_ms = int(time.time() * 1000) - 1000
    before = pipeline.invocations("repositories")
    pipeline.invoke_like_schedule()
    observe.wait_until(
        "the repositories function to finish",
        lambda: (pipeline.invocations("repositories") > before, f"{pipeline.invocations('repositories')} invocations"),
        SWEEP_TIMEOUT,
    )
    group = pipeline.outputs["log_group_names"]["images"]

    def swept() -> list[dict[str, Any]]:
        lines = observe.log_lines(pipeline.client("logs"), group, since_ms)
        return [r for r in observe.records(lines, "repository_swept") if r.get("repository") == REPOSITORY]

    observe.wait_until(f"the images function to sweep {REPOSITORY}", lambda: (bool(swept()), "not yet"), SWEEP_TIMEOUT)
    stable: list[bool] = []

    def quiet() -> tuple[bool, str]:
        drained, seen = pipeline.work_drained()
        stable.append(drained)
        return len(stable) >= 3 and all(stable[-3:]), seen

    observe.wait_until("the work queue to stay drained", quiet, SWEEP_TIMEOUT)
    lines = swept()
    assert 1 <= len(lines) <= 2, lines  # the in-use phase, and the other classes' when the allowance has some
    return lines


def _set_budget(pipeline: Pipeline, variables: dict[str, str]) -> None:
    lam, name = pipeline.client("lambda"), pipeline.function_name("repositories")
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})

    def updated() -> tuple[bool, str]:
        config = lam.get_function_configuration(FunctionName=name)
        status = (config.get("State"), config.get("LastUpdateStatus"))
        return status == ("Active", "Successful"), f"{status}"

    observe.wait_until("the repositories function's update", updated, 60, 0.5)


def _scanned(pipeline: Pipeline, digests: dict[str, str]) -> set[str]:
    ecr = pipeline.client("ecr")
    return {tag for tag, digest in digests.items() if observe.scan_state(ecr, REPOSITORY, digest) is not None}


def test_a_small_budget_scans_the_in_use_images_first_and_its_figures_reach_cloudwatch(
    deployed: Deployed, swept: SweepObservation, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = deployed.primary
    seeder = pipeline.target.seeder(pipeline.region)
    if not isinstance(seeder, MotoSeeder) or pipeline.target.name != "emulators":
        pytest.skip("in-use images need moto in the suite's process (lastRecordedPullTime set on moto's images)")
    from moto.ecr.models import ecr_backends

    lam, ddb, ecr = pipeline.client("lambda"), pipeline.client("dynamodb"), pipeline.client("ecr")
    table = pipeline.outputs["ledger_table_name"]
    state_key = {"pk": {"S": "config#sweep"}, "digest": {"S": "budget"}}
    function = pipeline.function_name("repositories")
    original = dict(lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"])
    assert original["DAILY_SCAN_BUDGET"] == "90000"  # the test root: the default

    pipeline.set_schedule(False)
    observe.wait_until("the work queue to drain", pipeline.work_drained, 90)
    saved_state = ddb.get_item(TableName=table, Key=state_key, ConsistentRead=True).get("Item")
    try:
        seeder.create_repository(REPOSITORY)
        digests = {tag: seeder.put_image(REPOSITORY, tag, seed=f"budget-{tag}") for tag in IDLE + USED}
        pulled = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
        for image in ecr_backends[ACCOUNT_ID][pipeline.region].repositories[REPOSITORY].images:
            if image.image_digest in (digests[tag] for tag in USED):
                monkeypatch.setattr(image, "last_recorded_pull_time", pulled, raising=False)
        listed = ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"]
        assert [d["imageTags"][0] for d in listed] == list(IDLE + USED)  # the listing order the sweep meets
        assert {d["imageTags"][0] for d in listed if "lastRecordedPullTime" in d} == set(USED)

        _set_budget(pipeline, original | {"DAILY_SCAN_BUDGET": str(BUDGET)})
        ddb.delete_item(TableName=table, Key=state_key)  # a new budget day: today's at 90,000 is kept for the day

        # 1. No census of team/budget yet: its even share of what the known repositories leave, the in-use images
        #    first (the sweep's first phase), although they are listed after the idle ones.
        first = _sweep(pipeline)
        share = sum(line["scan_started"] for line in first)
        assert 0 <= share <= BUDGET, first
        after_first = _scanned(pipeline, digests)
        assert after_first == set(USED[:share]), f"the first sweep scans the in-use images first: {after_first}"

        # 2. A new budget day, planned from that census: the in-use images left (class 1), then the idle ones
        #    (class 3) in listing order, in the repository's second phase.
        ddb.delete_item(TableName=table, Key=state_key)
        started_ms = int(time.time() * 1000) - 1000
        second = _sweep(pipeline)
        after_second = _scanned(pipeline, digests)
        assert after_second == set(USED) | set(IDLE[:share]), f"in-use images first: scanned {sorted(after_second)}"
        assert sum(line["scan_started"] for line in second) == BUDGET, second
        started = [
            r
            for r in observe.records(pipeline.logs("images"), "scan_started")
            if r.get("repository") == REPOSITORY and r.get("digest") in (digests[tag] for tag in USED)
        ]
        assert sorted(r["reason"] for r in started) == ["never_scanned", "never_scanned"], started  # both sweeps

        planned = [
            r
            for r in observe.records(
                observe.log_lines(
                    pipeline.client("logs"), pipeline.outputs["log_group_names"]["repositories"], started_ms
                )
            )
            if r.get("message") == "scan_budget_planned"
        ]
        assert planned, "no scan_budget_planned line for the second sweep"
        assert (planned[-1]["configured"], planned[-1]["budget"]) == (BUDGET, BUDGET), planned[-1]
        assert planned[-1]["taken"].get("never_scanned_in_use") == len(USED) - share, planned[-1]

        # 3. The second sweep's figures, as CloudWatch Logs would extract them, read back through CloudWatch.
        lines = observe.log_lines(
            pipeline.client("logs"), pipeline.outputs["log_group_names"]["repositories"], started_ms
        )
        points = [p for doc in emf.documents(lines) for p in emf.data_points(doc)]
        figures = {p.name: p.value for p in points}
        assert figures["ScanBudget"] == BUDGET, figures
        assert figures["ScansPlanned"] == BUDGET, figures
        assert figures["ImagesInUse"] == len(USED), figures  # team/budget's census: the two pulled images
        assert figures["InUseImagesPastExpiryPlusOneDay"] == 0, figures
        assert figures["ImagesNeverScanned"] == len(IDLE + USED) - share, figures  # the first sweep's census
        cloudwatch = pipeline.client("cloudwatch")
        assert emf.publish(cloudwatch, points) == len(points)
        alarm_arn = pipeline.outputs["alarm_arns"]["in_use_images_stale"]
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=[alarm_arn.rsplit(":", 1)[1]])["MetricAlarms"]
        for name, expected in (("ScanBudget", BUDGET), ("ImagesInUse", len(USED)), (alarm["MetricName"], 0)):
            stats = cloudwatch.get_metric_statistics(
                Namespace=alarm["Namespace"],
                MetricName=name,
                Dimensions=alarm["Dimensions"],  # the repositories function, as the alarm watches it
                StartTime=datetime.fromtimestamp(started_ms / 1000, UTC) - timedelta(minutes=1),
                EndTime=datetime.now(UTC) + timedelta(minutes=1),
                Period=60,
                Statistics=["Maximum"],
            )["Datapoints"]
            assert [d["Maximum"] for d in stats] == [expected], f"{name}: {stats}"
    finally:
        _set_budget(pipeline, original)
        if saved_state is not None:
            ddb.put_item(TableName=table, Item=saved_state)
        else:
            ddb.delete_item(TableName=table, Key=state_key)
        # The other files expect the seeded registry only (e.g. which repositories a later sweep lists).
        with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):
            ecr.delete_repository(repositoryName=REPOSITORY, force=True)
        pipeline.set_schedule(True)
