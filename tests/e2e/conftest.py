"""Session fixtures of the end-to-end suite.

- ``target``: the emulators (moto + ministack on 127.0.0.1, stopped by PID whatever happens) or LocalStack
  (``E2E_TARGET=localstack``; skipped with the reason when unreachable).
- ``deployed``: the sample registry seeded, then the test root applied twice side by side, in the target's
  region and in ``SECOND_REGION`` (same name prefix), each with its own data directory and state; destroyed at
  the end of the session if a test has not done it (or failed half way).
- ``swept``: waits for the real schedule to fire the repositories function and for the sweep to finish, and
  records what it did.

When a test fails, the report gets a section with what the pipeline looked like: queue depths, the dead-letter
and failed-events messages, the functions' CloudWatch logs, ECR's scan state of every seeded image, the ECR
calls the functions made (moto's request log), and the emulators' log tails.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e import observe, scenario
from e2e.deploy import Deployment
from e2e.pipeline import Pipeline
from e2e.seeding import EcrRequest
from e2e.targets import Target, TargetUnavailable, open_target

REPO = Path(__file__).resolve().parents[2]
PREFIX = "e2e-esr"
SECOND_REGION = "eu-west-1"
# ministack checks schedules every 10 s: rate(1 minute) fires 60-70 s after the rule is created, then every minute.
# The rule is created first, its target last: the first tick may find no target yet, the next one will.
FIRST_FIRE_AFTER_START = 150  # seconds after the apply started
FIRST_FIRE_AFTER_APPLY = 80  # seconds after it finished (the target exists), if that is later
SWEEP_TIMEOUT = 90

_active: list[Pipeline] = []  # what the failure dump describes


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call") and item.get_closest_marker("e2e") and _active:
        for pipeline in _active:
            report.sections.append((f"e2e state: {pipeline.deployment.name} ({pipeline.region})", pipeline.dump()))


@dataclass
class Deployed:
    primary: Pipeline
    secondary: Pipeline
    apply_started: float  # time.monotonic() when the primary apply began (the schedule rule exists from then on)
    apply_finished: float

    @property
    def all(self) -> tuple[Pipeline, Pipeline]:
        return self.primary, self.secondary


@dataclass
class SweepObservation:
    sweeps: int  # finished invocations of the repositories function (all started by the schedule)
    waited: float  # seconds from the primary apply's start to the first scheduled sweep
    scans: dict[str, dict | None]  # label -> ECR scan state after the sweep
    requests: list[EcrRequest] | None  # ECR calls by the functions in the primary region (None: not observable)
    depths: dict[str, dict[str, int]]


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with contextlib.ExitStack() as stack:
        try:
            found = stack.enter_context(open_target(tmp_path_factory.mktemp("emulators")))
        except TargetUnavailable as exc:
            pytest.skip(f"e2e target unavailable: {exc}")
        yield found


@pytest.fixture(scope="session")
def deployed(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    _require_current_zip()
    work = tmp_path_factory.mktemp("terraform")
    variables = {"region": target.region, "name_prefix": PREFIX}
    primary = Deployment("primary", work / target.region, target.env, variables)
    secondary = Deployment("secondary", work / SECOND_REGION, target.env, variables | {"region": SECOND_REGION})
    pipelines = Pipeline(target, primary), Pipeline(target, secondary)
    _active.extend(pipelines)
    try:
        seeder = target.seeder(target.region)
        pipelines[0].registry = scenario.seed(seeder)
        seeder.start_request_log()
        primary.init()
        secondary.init()
        secondary.start_apply()  # the second region applies while the first does: they must not collide
        started = time.monotonic()
        try:
            primary.apply()
        finally:
            secondary.wait()
        yield Deployed(*pipelines, apply_started=started, apply_finished=started + primary.timings["apply"])
    finally:
        _active.clear()
        with ThreadPoolExecutor(2) as pool:
            pending = [pool.submit(d.destroy) for d in (primary, secondary) if d.has_resources()]
        failures = [str(f.exception()) for f in pending if f.exception() is not None]
        if failures:
            message = "terraform destroy at the end of the session failed:\n" + "\n".join(failures)
            if sys.exc_info()[1] is not None:  # already failing: report it without hiding the first error
                print(message, file=sys.stderr)
            else:
                pytest.fail(message)


@pytest.fixture(scope="session")
def swept(deployed: Deployed) -> SweepObservation:
    """The first sweep, started by the schedule rule itself. The schedule is paused while the sweep is counted
    (so a second tick cannot land half way) and resumed before returning."""
    pipeline = deployed.primary
    deadline = max(deployed.apply_started + FIRST_FIRE_AFTER_START, deployed.apply_finished + FIRST_FIRE_AFTER_APPLY)
    observe.wait_until(
        "the schedule rule to fire the repositories function",
        lambda: (pipeline.invocations("repositories") >= 1, f"{pipeline.invocations('repositories')} invocations"),
        max(deadline - time.monotonic(), 5),
        interval=2,
    )
    waited = time.monotonic() - deployed.apply_started
    pipeline.set_schedule(False)
    try:
        stable: list[bool] = []

        def quiet() -> tuple[bool, str]:
            drained, seen = pipeline.work_drained()
            stable.append(drained)
            return len(stable) >= 3 and all(stable[-3:]), seen

        observe.wait_until("the sweep to finish (work queue drained for 3 polls)", quiet, SWEEP_TIMEOUT)
        registry = pipeline.registry
        assert registry is not None
        ecr = pipeline.client("ecr")
        scans = {
            image.case.label: observe.scan_state(ecr, image.case.repository, image.digest) for image in registry.images
        }
        seen = pipeline.target.seeder(pipeline.region).requests()
        requests = None if seen is None else [r for r in seen if not r.harness and r.region == pipeline.region]
        return SweepObservation(pipeline.invocations("repositories"), waited, scans, requests, pipeline.depths())
    finally:
        pipeline.set_schedule(True)


def _require_current_zip() -> None:
    check = subprocess.run(
        [sys.executable, str(REPO / "lambda" / "build_zip.py"), "--check"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        pytest.fail(f"the deployed code would not be the sources: {check.stderr.strip() or check.stdout.strip()}")
