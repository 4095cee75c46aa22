"""The deployed pipeline, end to end: Terraform applies the module (tests/e2e/root) to the emulators, the real
schedule starts a sweep of a seeded registry, the ECR event bridge plays ECR's scan events, and SNS delivers the
notifications to a test subscriber. Everything is asserted through the AWS APIs (ECR, SQS, Lambda, EventBridge,
SNS, CloudWatch Logs, IAM), never by importing the code under test.

The tests run in file order and share one deployment (see conftest.py); each names what it depends on.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime

import pytest

from e2e import bridge, observe, scenario
from e2e.conftest import SECOND_REGION, Deployed, SweepObservation
from e2e.pipeline import Pipeline
from e2e.subscribers import HttpSubscriber, SqsSubscriber

pytestmark = pytest.mark.e2e

HANDLERS = {
    "repositories": "ecr_scan_reporter.handlers.repositories.handler",
    "images": "ecr_scan_reporter.handlers.images.handler",
    "findings": "ecr_scan_reporter.handlers.findings.handler",
}
DOCUMENT_KEYS = {
    "version", "type", "repository", "registry_id", "region", "image_digest", "image_tags", "severity_counts",
    "thresholds", "breached", "scan_completed_at", "console_url",
}  # fmt: skip


# --- 1. the module deploys --------------------------------------------------------------------------------------------


def test_module_is_deployed_as_designed(deployed: Deployed) -> None:
    pipeline = deployed.primary
    lam, events = pipeline.client("lambda"), pipeline.client("events")
    for key, handler in HANDLERS.items():
        config = lam.get_function(FunctionName=pipeline.function_name(key))["Configuration"]
        assert config["Handler"] == handler
        assert config["Runtime"].startswith("python3.")
    mappings = lam.list_event_source_mappings(FunctionName=pipeline.function_name("images"))["EventSourceMappings"]
    assert [m["EventSourceArn"] for m in mappings] == [pipeline.outputs["work_queue_arn"]]
    assert "ReportBatchItemFailures" in mappings[0].get("FunctionResponseTypes", [])

    rules = pipeline.outputs["event_rule_names"]
    assert events.describe_rule(Name=rules["schedule"])["ScheduleExpression"] == "rate(1 minute)"
    targets = {
        key: [t["Arn"] for t in events.list_targets_by_rule(Rule=rules[key])["Targets"]]
        for key in ("schedule", "ecr_scan")
    }
    assert targets == {
        "schedule": [pipeline.outputs["function_arns"]["repositories"]],
        "ecr_scan": [pipeline.outputs["function_arns"]["findings"]],
    }


# --- 8. two regions side by side --------------------------------------------------------------------------------------


def test_two_regions_apply_side_by_side(deployed: Deployed) -> None:
    """The same root and prefix applied to two regions at once: IAM is global (ministack too), so a role name
    without the region would have collided and failed one of the applies."""
    first, second = deployed.all
    assert second.region == SECOND_REGION
    roles = [sorted(p.outputs["role_names"].values()) for p in deployed.all]
    assert not set(roles[0]) & set(roles[1]), roles
    iam = first.client("iam")
    existing = {r["RoleName"] for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]}
    assert set(roles[0]) | set(roles[1]) <= existing
    for pipeline in deployed.all:
        names = pipeline.outputs["function_names"]
        lam = pipeline.client("lambda")
        for name in names.values():
            arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
            assert f":{pipeline.region}:" in arn
        assert f":{pipeline.region}:" in pipeline.outputs["sns_topic_arn"]
    # Same names in both regions, different resources.
    assert deployed.primary.outputs["function_names"] == deployed.secondary.outputs["function_names"]
    assert deployed.primary.outputs["sns_topic_arn"] != deployed.secondary.outputs["sns_topic_arn"]


# --- 2-4. the scheduled sweep -----------------------------------------------------------------------------------------


def test_scheduled_sweep_scans_exactly_the_due_images(deployed: Deployed, swept: SweepObservation) -> None:
    pipeline = deployed.primary
    registry = pipeline.registry
    assert registry is not None
    assert swept.sweeps >= 1, "the schedule never started the repositories function"

    due = {i.case.label for i in registry.images if _due(i.case, registry.findings_injected)}
    # ECR's own state: a never-scanned image has a scan now exactly when the sweep was meant to scan it.
    for image in registry.images:
        if image.case.history != "never" and registry.findings_injected:
            continue
        scanned = swept.scans[image.case.label] is not None
        assert scanned == (image.case.label in due), f"{image.case.label}: scanned={scanned}, expected {not scanned}"

    if swept.requests is None:
        pytest.skip("the target keeps no request log: StartImageScan calls cannot be counted")
    label = {i.digest: i.case.label for i in registry.images}
    started = Counter(
        label.get(r.image_digest, r.image_digest) for r in swept.requests if r.operation == "StartImageScan"
    )
    # Exactly the due images, once each in all: a later sweep finds the never-scanned ones fresh, and the expired one,
    # whose rescan moto refuses as "already scanned today" (see e2e/seeding.py), counts as scanned within the day in
    # the scan budget's census (the root runs with daily_scan_budget's default), so no later sweep asks again.
    expected = {i.case.label: 1 for i in registry.images if i.case.label in due}
    assert dict(started) == expected

    # One work message per selected repository and sweep: each was described once per phase of the scan budget's
    # sweep (the in-use classes, then the others: docs/budget.md), no other was.
    described = Counter(r.repository for r in swept.requests if r.operation == "DescribeImages")
    listings = sum(1 for r in swept.requests if r.operation == "DescribeRepositories")
    assert listings == swept.sweeps
    assert set(described) == set(scenario.SELECTED_REPOSITORIES)
    assert all(swept.sweeps <= n <= 2 * swept.sweeps for n in described.values()), dict(described)

    # Nothing lost: the work queue drained, nothing dead-lettered, no failed invocation.
    assert swept.depths["work"] == {"visible": 0, "in_flight": 0, "delayed": 0}
    assert swept.depths["dead-letter"]["visible"] == 0
    assert swept.depths["failed-events"]["visible"] == 0


def test_the_scan_budget_is_planned_every_sweep_and_measured(deployed: Deployed, swept: SweepObservation) -> None:
    """The default daily_scan_budget: the repositories function planned the day from the ledger's sweep markers
    (an allowance per selected repository in the plan's chunks, the budget state), the images function left each
    repository's census and its spend under the plan,
    and the registry's staleness figures left the repositories function as EMF lines (CloudWatch's metrics). The
    emulators report no lastRecordedPullTime, so nothing is in use here: the in-use order is shown by the unit
    tests (tests/unit/handlers/test_budget.py) and the month's benchmark (bench/month.py)."""
    pipeline = deployed.primary
    records = [line.record() or {} for line in pipeline.logs("repositories")]
    planned = [r for r in records if r.get("message") == "scan_budget_planned"]
    assert len(planned) >= swept.sweeps >= 1
    assert planned[-1]["configured"] == 90000
    # EMF lines (a log event may hold more than one line: read the raw text, as test_pipeline_report.py does).
    emf = [line.message for line in pipeline.logs("repositories") if '"_aws"' in line.message]
    for metric in ("ScanBudget", "ScansPlanned", "ImagesInUse", "InUseImagesPastExpiryPlusOneDay", "ScansNeededPerDay"):
        assert any(f'"{metric}"' in text for text in emf), f"no {metric} EMF line from the repositories function"
    assert any('"ScanBudget":90000' in text for text in emf)

    items = pipeline.client("dynamodb").query(
        TableName=pipeline.outputs["ledger_table_name"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "config#sweep"}},
    )["Items"]
    markers = {item["digest"]["S"]: item for item in items}
    state = json.loads(markers["budget"]["state"]["S"])
    assert state["effective"] == 90000
    chunks = pipeline.client("dynamodb").query(
        TableName=pipeline.outputs["ledger_table_name"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "config#plan"}},
    )["Items"]
    allowances: dict[str, dict] = {}
    for chunk in chunks:
        if chunk["plan"]["S"] == state["plan"]:
            allowances.update(json.loads(chunk["allowances"]["S"]))
    for repository in scenario.SELECTED_REPOSITORIES:
        [(key, marker)] = [(key, m) for key, m in markers.items() if key.endswith(f"#{repository}")]
        allowance = allowances[key]
        assert allowance["day"] == int(time.time() // 86400), repository  # planned for today
        assert isinstance(allowance["total"], int), repository
        census = json.loads(marker["census"]["S"])
        assert census["images"] >= 1, repository
        spend = json.loads(marker["spend"]["S"])
        assert spend["day"] == allowance["day"], repository


def test_repositories_function_queues_one_message_per_selected_repository(
    deployed: Deployed, swept: SweepObservation
) -> None:
    """Invoked as EventBridge invokes it (async, a Scheduled Event), with the images function's trigger
    disabled so the work messages can be read from the queue; then the trigger is enabled again and the
    queue must drain."""
    pipeline = deployed.primary
    sqs, url = pipeline.client("sqs"), pipeline.queue_url("work")
    received: list[dict] = []
    pipeline.set_schedule(False)
    try:
        observe.wait_until("the work queue to be empty", pipeline.work_drained, 60)
        pipeline.set_work_consumer(False)
        before = pipeline.invocations("repositories")
        sent_after = int(time.time() * 1000) - 1000
        pipeline.invoke_like_schedule()
        observe.wait_until(
            "the repositories function to finish",
            lambda: (pipeline.invocations("repositories") > before, f"{pipeline.invocations('repositories')}"),
            30,
            0.5,
        )

        def read() -> tuple[bool, str]:
            found = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, AttributeNames=["SentTimestamp"]
            )
            received.extend(found.get("Messages", []))
            return len(received) >= len(scenario.SELECTED_REPOSITORIES), f"{len(received)} messages"

        observe.wait_until("the work messages", read, 15, 0.5)
        read()  # anything beyond the expected ones
        fresh = [m for m in received if int(m["Attributes"]["SentTimestamp"]) >= sent_after]
        bodies = sorted((json.loads(m["Body"]) for m in fresh), key=lambda b: b["repository"])
        assert bodies == [
            {"version": 1, "repository": name, "registry_id": pipeline.target.account_id, "continuation": None}
            for name in sorted(scenario.SELECTED_REPOSITORIES)
        ]
    finally:
        for message in received:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        pipeline.set_work_consumer(True)
        pipeline.set_schedule(True)
    observe.wait_until("the images function to drain the work queue", pipeline.work_drained, 60)
    depths = pipeline.depths()
    assert depths["dead-letter"]["visible"] == 0
    assert depths["failed-events"]["visible"] == 0


# --- 5-6. scan events and notifications -------------------------------------------------------------------------------


def test_scan_events_notify_exactly_the_breaching_and_failed_images(
    deployed: Deployed, swept: SweepObservation
) -> None:
    pipeline = deployed.primary
    registry = pipeline.registry
    assert registry is not None
    if not registry.findings_injected:
        pytest.skip("the target cannot inject scan findings, so the notifications cannot be predicted")
    sns, sqs = pipeline.client("sns"), pipeline.client("sqs")
    topic = pipeline.outputs["sns_topic_arn"]
    queue = SqsSubscriber(sns, sqs, topic, "probe-notifications")
    web = HttpSubscriber(sns, topic) if pipeline.target.can_reach_loopback_http else None
    try:
        if web:
            web.wait_confirmed()
        before = pipeline.invocations("findings")
        deliveries = pipeline.play_scan_events(since=registry.seeded_at)

        # ECR's half: one event per scan finished during the run (never for the fresh or the refused rescan).
        by_digest = {d.event["detail"]["image-digest"]: d for d in deliveries}
        expected_events = {i.digest for i in registry.images if i.case.expect_event}
        assert set(by_digest) == expected_events, [d.label for d in deliveries]
        # EventBridge's half: the deployed rule's pattern matches each, and its target is the findings function.
        findings_arn = pipeline.outputs["function_arns"]["findings"]
        assert all(d.matched and d.targets == [findings_arn] for d in deliveries), deliveries
        # ...and the pattern does discriminate: a scan still in progress is no match.
        probe = dict(deliveries[0].event, detail=dict(deliveries[0].event["detail"], **{"scan-status": "IN_PROGRESS"}))
        assert not bridge.deliver(
            pipeline.client("events"), pipeline.client("lambda"), deliveries[0].rule, probe
        ).matched

        observe.wait_until(
            "the findings function to handle every event",
            lambda: (
                pipeline.invocations("findings") >= before + len(deliveries),
                f"{pipeline.invocations('findings') - before}",
            ),
            60,
        )
        alerts = [i for i in registry.images if i.case.expect_alert]
        got = queue.collect(expected=len(alerts), timeout=30)
        assert pipeline.invocations("findings") == before + len(deliveries), "a findings invocation was retried"

        documents = {d.document()["image_digest"]: d for d in got}
        assert len(got) == len(documents), "more than one notification for an image"
        assert set(documents) == {i.digest for i in alerts}, [d.subject for d in got]
        for image in alerts:
            _check_notification(pipeline, image, documents[image.digest])

        if web:
            texts = web.collect(expected=len(alerts), timeout=15)
            assert len(texts) == len(alerts)
            for delivered in texts:
                digests = [digest for digest in documents if digest in delivered.message]
                assert len(digests) == 1, f"the text names no single notified image:\n{delivered.message}"
                doc = documents[digests[0]]
                assert delivered.subject == doc.subject
                assert doc.document()["repository"] in delivered.message
                assert not delivered.message.lstrip().startswith("{"), "the default/email text is not readable text"
        assert pipeline.depths()["failed-events"]["visible"] == 0
    finally:
        queue.close()
        if web:
            web.close()


# --- helpers ----------------------------------------------------------------------------------------------------------


def _due(case: scenario.ImageCase, findings_injected: bool) -> bool:
    """Should the sweep scan this image? Without injected scan history every image is 'never scanned'."""
    if findings_injected:
        return case.expect_scan
    return case.repository in scenario.SELECTED_REPOSITORIES


def _check_notification(pipeline: Pipeline, image: scenario.SeededImage, delivered) -> None:
    case = image.case
    doc = delivered.document()
    assert set(doc) >= DOCUMENT_KEYS, f"missing {DOCUMENT_KEYS - set(doc)}"
    assert doc["version"] == 1
    assert doc["type"] == case.expect_alert
    assert doc["repository"] == case.repository
    assert doc["registry_id"] == pipeline.target.account_id
    assert doc["region"] == pipeline.region
    assert doc["image_tags"] == ([case.tag] if case.tag else [])
    assert doc["breached"] == list(case.expect_breached)
    assert doc["thresholds"] == scenario.TEAM_THRESHOLDS.get(
        scenario.OWNERS.get(case.repository, ""), scenario.THRESHOLDS
    )
    counts = {k: v for k, v in doc["severity_counts"].items() if v}
    assert counts == ({} if case.failed else case.counts)
    assert {"CRITICAL", "HIGH", "MEDIUM", "LOW"} <= set(doc["severity_counts"])
    assert image.completes_at is not None
    assert datetime.fromisoformat(doc["scan_completed_at"].replace("Z", "+00:00")) == image.completes_at
    assert doc["console_url"].startswith("https://")
    assert image.digest in doc["console_url"]
    if case.failed:
        assert doc["failure_reason"] == scenario.FAILURE_REASON
    owner = scenario.OWNERS.get(case.repository)
    assert delivered.attributes == {
        "repository": case.repository,
        "highest_severity": case.expect_highest,
        "event_type": case.expect_alert,
        **({"team": owner} if owner else {}),
    }
    assert doc["team"] == owner
    assert delivered.subject, "no subject"
