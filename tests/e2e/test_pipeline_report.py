"""The exposure report, end to end on the session's deployment: after the sweep and the scan events, the report
function (invoked as its schedule rule would) reads the scan ledger and publishes a report whose content is the
scenario's, written out by hand below from tests/e2e/scenario.py and the test root's settings; the same report
lands in the report bucket as JSON and HTML; the dashboard exists. Everything is asserted through the AWS APIs.

Runs after test_pipeline.py (and the other pipeline files) in name order. Run alone (``-k report``), it plays the
scan events itself first: with the ledger, events already handled change nothing.
"""

from __future__ import annotations

import json

import pytest

from e2e import observe, scenario
from e2e.conftest import Deployed, SweepObservation
from e2e.pipeline import Pipeline
from e2e.subscribers import SqsSubscriber

pytestmark = pytest.mark.e2e

# The ledger after the sweep and the scan events (scenario.py; thresholds CRITICAL 0, HIGH 2, expiry 7 days):
# team/api: 1.0 (CRITICAL 1 > 0: in breach), 1.1 (HIGH 2: at its threshold), untagged (HIGH 3 > 2: in breach),
# 0.9 (last result 30 days old: not covered); team/web: stable (fresh), edge (FAILED: not covered), legacy (below).
# team/scratch (excluded) and tools/builder (not included) are never swept nor recorded.
EXPECTED_SUMMARY = {
    "repositories": 2,
    "images": 7,
    "images_in_breach": 2,
    "breached": {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 0},
    "coverage": {"never_scanned": 0, "failed": 1, "stale": 1, "fresh": 5},
}
EXPECTED_REPOSITORIES = [  # most exposed first
    ("team/api", 4, 2, {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 0}),
    ("team/web", 3, 0, {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0}),
]
EXPECTED_NOT_COVERED = {("team/web:edge", "failed"), ("team/api:0.9", "stale")}
# The seeding names findings by position (CVE-2099-00000 first): the first finding of every scanned image that has
# findings, so 4 images in 2 repositories, CRITICAL in team/api:1.0 (the most severe rating counts).
EXPECTED_TOP_FINDING = {
    "id": "CVE-2099-00000",
    "severity": "CRITICAL",
    "images": 4,
    "repositories": 2,
    "suppressed_images": 0,
}


def test_report_function_schedule_bucket_and_dashboard_are_deployed(deployed: Deployed) -> None:
    pipeline = deployed.primary
    lam, events = pipeline.client("lambda"), pipeline.client("events")
    config = lam.get_function(FunctionName=pipeline.function_name("report"))["Configuration"]
    assert config["Handler"] == "ecr_scan_reporter.handlers.report.handler"
    rule = pipeline.outputs["event_rule_names"]["report"]
    assert events.describe_rule(Name=rule)["ScheduleExpression"] == "cron(0 6 ? * MON *)"
    targets = [t["Arn"] for t in events.list_targets_by_rule(Rule=rule)["Targets"]]
    assert targets == [pipeline.outputs["function_arns"]["report"]]

    s3, bucket = pipeline.client("s3"), pipeline.outputs["report_bucket_name"]
    assert bucket == f"e2e-esr-reports-{pipeline.region}"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert {s["Sid"] for s in policy["Statement"] if s["Effect"] == "Deny"} == {
        "DenyInsecureTransport",
        "DenyOutdatedTLS",
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    name = pipeline.outputs["dashboard_name"]
    assert name == f"e2e-esr-{pipeline.region}"
    body = json.loads(pipeline.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"])
    graphed = json.dumps(body)
    for metric in ("RepositoriesQueued", "ScansStarted", "NotificationsSent", "ApproximateNumberOfMessagesVisible"):
        assert metric in graphed
    assert pipeline.function_name("findings") in graphed


def test_report_after_the_sweep_matches_the_scenario(deployed: Deployed, swept: SweepObservation) -> None:
    pipeline = deployed.primary
    registry = pipeline.registry
    assert registry is not None
    if not registry.findings_injected:
        pytest.skip("the target cannot inject scan findings, so the report cannot be predicted")
    _scan_events_handled(pipeline)

    sns, sqs = pipeline.client("sns"), pipeline.client("sqs")
    subscriber = SqsSubscriber(sns, sqs, pipeline.outputs["sns_topic_arn"], "probe-report")
    try:
        response = pipeline.invoke_report()
        delivered = [
            d for d in subscriber.collect(expected=1, timeout=30) if d.attributes.get("event_type") == "report"
        ]
    finally:
        subscriber.close()

    assert response["status"] == "published", response
    assert len(delivered) == 1, [d.subject for d in delivered]
    [message] = delivered
    assert message.attributes == {"event_type": "report", "highest_severity": "CRITICAL"}
    assert message.subject == f"ECR exposure report ({pipeline.region}): 2 of 7 images in breach"
    doc = message.document()
    assert (doc["version"], doc["type"], doc["region"]) == (1, "report", pipeline.region)
    assert doc["thresholds"] == scenario.THRESHOLDS
    assert {k: v for k, v in doc["summary"].items() if k in EXPECTED_SUMMARY} == EXPECTED_SUMMARY
    assert [
        (r["repository"], r["images"], r["images_in_breach"], r["breached"]) for r in doc["repositories"]
    ] == EXPECTED_REPOSITORIES
    labels = {image.digest: image.case.label for image in registry.images}
    assert {(labels[i["digest"]], i["state"]) for i in doc["not_covered"]} == EXPECTED_NOT_COVERED
    assert doc["top_findings"][0] == EXPECTED_TOP_FINDING, doc["top_findings"][:3]

    # The same report in the bucket: JSON (every row) and the HTML page, dated and as latest.
    s3, bucket = pipeline.client("s3"), pipeline.outputs["report_bucket_name"]
    stored = response["stored"]
    assert {k for k in stored if "latest" in k} == {"exposure-report/latest.json", "exposure-report/latest.html"}
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="exposure-report/").get("Contents", [])}
    assert set(stored) <= listed
    latest = json.loads(s3.get_object(Bucket=bucket, Key="exposure-report/latest.json")["Body"].read())
    assert latest["summary"] == doc["summary"]
    page = s3.get_object(Bucket=bucket, Key="exposure-report/latest.html")
    assert page["ContentType"].startswith("text/html")
    html = page["Body"].read().decode()
    assert html.startswith("<!DOCTYPE html>")
    assert "team/api" in html
    assert "<script" not in html

    # The function's metrics reached its log as EMF lines.
    lines = [line for line in pipeline.logs("report") if '"_aws"' in line.message]
    assert any('"RegistryImagesInBreach"' in line.message for line in lines), "no RegistryImagesInBreach EMF line"


# --- helpers ----------------------------------------------------------------------------------------------------------


def _scan_events_handled(pipeline: Pipeline) -> None:
    """Play the scan events (again, when test_pipeline.py already did: the ledger keeps duplicates harmless) and
    wait until the findings function has handled them, so the ledger holds every result."""
    registry = pipeline.registry
    assert registry is not None
    before = pipeline.invocations("findings")
    deliveries = pipeline.play_scan_events(since=registry.seeded_at)
    observe.wait_until(
        "the findings function to handle every scan event",
        lambda: (
            pipeline.invocations("findings") >= before + len(deliveries),
            f"{pipeline.invocations('findings') - before} of {len(deliveries)}",
        ),
        60,
    )
