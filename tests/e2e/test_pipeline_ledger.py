"""The scan ledger, end to end on the deployed pipeline: notify on news, not on every scan; a sweep that makes no
per-image lookup for images the ledger knows.

Runs after test_pipeline.py (name order) on the same deployment: by then the first sweep has scanned the
seeded images and the ECR event bridge has delivered their results, so the ledger holds team/api:1.0 as notified
for CRITICAL 1, team/api@untagged for HIGH 3, and so on (tests/e2e/scenario.py). A later scan of the same image
with other findings needs moto to report another result for it: moto keeps the first result it served for an
image, so the suite runs moto in its own process and replaces that result (emulators.replace_scan_result).
Everything else goes through the AWS APIs: events to the deployed rule's target, notifications through SNS to an
SQS subscriber, the table through DynamoDB, the functions' ECR calls through moto's request recorder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from emulators import replace_scan_result

from e2e import bridge, observe, scenario
from e2e.conftest import Deployed, SweepObservation
from e2e.pipeline import Pipeline
from e2e.seeding import ScanReport
from e2e.subscribers import Delivered, SqsSubscriber

pytestmark = pytest.mark.e2e

QUIET = 12  # seconds a subscriber waits to be sure nothing (more) arrives


@pytest.fixture(scope="module")
def pipeline(deployed: Deployed, swept: SweepObservation) -> Pipeline:
    found = deployed.primary
    if found.registry is None or not found.registry.findings_injected or found.target.name != "emulators":
        pytest.skip("the ledger tests change scan results, which needs moto in the suite's process")
    return found


@pytest.fixture
def inbox(pipeline: Pipeline) -> Iterator[SqsSubscriber]:
    subscriber = SqsSubscriber(
        pipeline.client("sns"), pipeline.client("sqs"), pipeline.outputs["sns_topic_arn"], f"ledger-{time.time_ns()}"
    )
    try:
        yield subscriber
    finally:
        subscriber.close()


class Results:
    """Later scans of seeded images: each one reports what the test says, at a time later than any before."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.clock = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)

    def scan(self, label: str, counts: dict[str, int], extra: dict[str, str] | None = None) -> dict[str, Any]:
        """Make ECR report a new scan of ``label`` (the seeded findings for ``counts`` plus ``extra`` named
        findings) and return the event ECR would emit for it."""
        assert self.pipeline.registry is not None
        image = self.pipeline.registry.by_label(label)
        self.clock += timedelta(minutes=1)
        report = ScanReport("COMPLETE", self.clock, counts)
        response = report.as_response(self.pipeline.target.account_id, image.case.repository, image.digest, None)
        all_counts = dict(counts)
        for name, severity in (extra or {}).items():
            response["imageScanFindings"]["findings"].append({"name": name, "severity": severity})
            all_counts[severity] = all_counts.get(severity, 0) + 1
        response["imageScanFindings"]["findingSeverityCounts"] = all_counts
        replace_scan_result(self.pipeline.region, image.case.repository, image.digest, response)
        return bridge.scan_event(
            account=self.pipeline.target.account_id,
            region=self.pipeline.region,
            repository=image.case.repository,
            digest=image.digest,
            tags=[image.case.tag] if image.case.tag else [],
            status="COMPLETE",
            counts=all_counts,
            time=self.clock,
        )

    def deliver(self, event: dict[str, Any], times: int = 1) -> None:
        """Deliver ``event`` (``times`` times at once, as an at-least-once bus may) to the ecr_scan rule's
        target and wait until the findings function has handled every delivery."""
        p = self.pipeline
        before = p.invocations("findings")
        rule = p.outputs["event_rule_names"]["ecr_scan"]
        for _ in range(times):
            delivery = bridge.deliver(p.client("events"), p.client("lambda"), rule, event)
            assert delivery.matched, delivery.label
        observe.wait_until(
            "the findings function to handle the event",
            lambda: (p.invocations("findings") >= before + times, f"{p.invocations('findings') - before}"),
            90,
        )


def decisions(pipeline: Pipeline, digest: str) -> list[dict[str, Any]]:
    """The findings function's decision log lines for one image, oldest first."""
    names = {"scan_notified", "scan_not_news", "scan_duplicate", "scan_below_threshold"}
    found = observe.records(pipeline.logs("findings"))
    return [r for r in found if r.get("message") in names and r.get("image_digest") == digest]


def only(got: list[Delivered], digest: str) -> Delivered:
    mine = [d for d in got if d.document()["image_digest"] == digest]
    assert len(mine) == 1, [d.subject for d in got]
    return mine[0]


# The seeded results (scenario.py) and the finding names the seeding gives them (seeding._findings).
API_10 = {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 3}
UNTAGGED = {"HIGH": 3}


def test_the_ledger_table_is_deployed(pipeline: Pipeline) -> None:
    name = pipeline.outputs["ledger_table_name"]
    table = pipeline.client("dynamodb").describe_table(TableName=name)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "digest": "RANGE"}
    ttl = pipeline.client("dynamodb").describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == "expires_at"


def test_a_second_identical_result_sends_no_alert(pipeline: Pipeline, inbox: SqsSubscriber) -> None:
    results = Results(pipeline)
    image = pipeline.registry.by_label("team/api:1.0")  # type: ignore[union-attr]
    results.deliver(results.scan("team/api:1.0", API_10))
    assert inbox.collect(expected=1, timeout=QUIET) == []
    last = decisions(pipeline, image.digest)[-1]
    assert (last["message"], last["reason"]) == ("scan_not_news", "already_notified")


def test_one_more_cve_sends_one_alert_listing_exactly_it(pipeline: Pipeline, inbox: SqsSubscriber) -> None:
    results = Results(pipeline)
    image = pipeline.registry.by_label("team/api:1.0")  # type: ignore[union-attr]
    results.deliver(results.scan("team/api:1.0", API_10, {"CVE-2099-77777": "CRITICAL"}))
    delivered = only(inbox.collect(expected=1, timeout=30), image.digest)
    doc = delivered.document()
    assert doc["type"] == "threshold_breached"
    assert doc["new_findings"] == [{"id": "CVE-2099-77777", "severity": "CRITICAL"}]
    assert doc["severity_counts"]["CRITICAL"] == 2
    assert delivered.attributes["event_type"] == "threshold_breached"
    assert inbox.collect(expected=2, timeout=QUIET)[1:] == []  # one alert, not two


def test_a_result_within_thresholds_sends_resolved(pipeline: Pipeline, inbox: SqsSubscriber) -> None:
    results = Results(pipeline)
    image = pipeline.registry.by_label("team/api:1.0")  # type: ignore[union-attr]
    results.deliver(results.scan("team/api:1.0", {"HIGH": 1, "MEDIUM": 3}))
    delivered = only(inbox.collect(expected=1, timeout=30), image.digest)
    assert (delivered.document()["type"], delivered.document()["breached"]) == ("resolved", [])
    assert delivered.attributes["event_type"] == "resolved"


def test_the_same_event_delivered_twice_notifies_once(pipeline: Pipeline, inbox: SqsSubscriber) -> None:
    results = Results(pipeline)
    image = pipeline.registry.by_label("team/api@untagged")  # type: ignore[union-attr]
    event = results.scan("team/api@untagged", UNTAGGED, {"CVE-2099-88888": "HIGH"})
    results.deliver(event, times=2)
    got = inbox.collect(expected=2, timeout=QUIET + 10)
    delivered = only(got, image.digest)
    assert delivered.document()["new_findings"] == [{"id": "CVE-2099-88888", "severity": "HIGH"}]
    outcomes = [r["message"] for r in decisions(pipeline, image.digest)[-2:]]
    assert sorted(outcomes) == ["scan_duplicate", "scan_notified"]


def test_a_second_sweep_makes_no_per_image_lookup_for_images_the_ledger_knows(pipeline: Pipeline) -> None:
    """The first sweep looked every image up once and recorded it; the findings stage recorded every result
    since. Another scheduled sweep then lists the repositories and reads the ledger, and asks ECR about no image."""
    seeder = pipeline.target.seeder(pipeline.region)
    before = pipeline.invocations("repositories")
    seeder.start_request_log()  # from now on
    observe.wait_until(
        "the schedule to start another sweep",
        lambda: (pipeline.invocations("repositories") > before, f"{pipeline.invocations('repositories')}"),
        150,
        2,
    )
    pipeline.set_schedule(False)
    try:
        stable: list[bool] = []

        def quiet() -> tuple[bool, str]:
            drained, seen = pipeline.work_drained()
            stable.append(drained)
            return len(stable) >= 3 and all(stable[-3:]), seen

        observe.wait_until("the sweep to finish", quiet, 90)
        requests = seeder.requests()
    finally:
        pipeline.set_schedule(True)
    assert requests is not None
    mine = [r for r in requests if not r.harness and r.region == pipeline.region]
    listed = {r.repository for r in mine if r.operation == "DescribeImages"}
    assert listed == set(scenario.SELECTED_REPOSITORIES)
    lookups = [(r.repository, r.image_digest) for r in mine if r.operation == "DescribeImageScanFindings"]
    assert lookups == []
    # The expired image is still due (moto refuses its rescan today) and is asked for again; nothing else is.
    started = {r.image_digest for r in mine if r.operation == "StartImageScan"}
    assert started <= {pipeline.registry.by_label("team/api:0.9").digest}  # type: ignore[union-attr]
    swept = observe.records(pipeline.logs("images"), "repository_swept")
    assert swept
    assert swept[-1].get("looked_up") == 0
