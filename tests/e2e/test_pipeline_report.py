"""The exposure report, end to end on the session's deployment: after the sweep and the scan events, the report
function (invoked as its schedule rule would) reads the scan ledger and publishes a report whose content is the
scenario's, written out by hand below (per image, from tests/e2e/scenario.py and the test root's settings, and
what the earlier files of the suite change); the same report lands in the report bucket as JSON and HTML; the
dashboard exists. Everything is asserted through the AWS APIs.

Runs after test_pipeline*.py in name order. Run alone (``-k report``), it plays the scan events itself first: with
the ledger, events already handled change nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from e2e import observe, scenario
from e2e.conftest import Deployed, SweepObservation
from e2e.pipeline import Pipeline
from e2e.subscribers import SqsSubscriber

pytestmark = pytest.mark.e2e

# What each image's latest recorded result is, written out by hand from scenario.py (thresholds CRITICAL 0, HIGH 2,
# expiry 7 days): label -> (severities in breach, coverage state). team/scratch (excluded) and tools/builder (not
# included) are never swept nor recorded.
SEEDED = {
    "team/api:1.0": (("CRITICAL",), "fresh"),  # CRITICAL 1 > 0
    "team/api:1.1": ((), "fresh"),  # HIGH 2: at its threshold
    "team/api@untagged": (("HIGH",), "fresh"),  # HIGH 3 > 2
    "team/api:0.9": ((), "stale"),  # last result 30 days old (moto refuses today's rescan)
    "team/web:stable": ((), "fresh"),  # scanned yesterday
    "team/web:edge": ((), "failed"),  # the scan FAILED
    "team/web:legacy": ((), "fresh"),  # HIGH 1, below
}
# Earlier files of the suite change the registry on the same deployment (name order: alerts, ledger, report):
# test_pipeline_alerts.py adds team/alerts (its own scans, today) and test_pipeline_ledger.py ends team/api:1.0 with
# a result within thresholds (HIGH 1, MEDIUM 3: "resolved").
AFTER_ALERTS = {"team/alerts:kept": ((), "fresh"), "team/alerts:lapsed": (("CRITICAL",), "fresh")}
AFTER_LEDGER = {"team/api:1.0": ((), "fresh")}
LEDGER_FINAL_API_10 = {"HIGH": 1, "MEDIUM": 3}
# The seeding names findings by position (CVE-2099-00000 first): the first finding of every image whose result came
# from a scan event with findings (1.0, 1.1, untagged in team/api; legacy in team/web). Images the sweep learned
# from ECR (team/web:stable) carry no findings in the ledger.
TOP_FINDING = {"id": "CVE-2099-00000", "images": 4, "repositories": 2, "suppressed_images": 0}


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

    expected, ledger_ran = _expected(pipeline)
    breached = [sev for sev in ("CRITICAL", "HIGH", "MEDIUM", "LOW") for b, _ in expected.values() if sev in b]
    in_breach = sum(1 for b, _ in expected.values() if b)
    assert response["status"] == "published", response
    assert len(delivered) == 1, [d.subject for d in delivered]
    [message] = delivered
    assert message.attributes == {"event_type": "report", "highest_severity": breached[0]}
    assert (
        message.subject == f"ECR exposure report ({pipeline.region}): {in_breach} of {len(expected)} images in breach"
    )
    doc = message.document()
    assert (doc["version"], doc["type"], doc["region"]) == (1, "report", pipeline.region)
    assert doc["thresholds"] == scenario.THRESHOLDS
    summary = doc["summary"]
    assert (summary["images"], summary["images_in_breach"]) == (len(expected), in_breach)
    assert summary["breached"] == {sev: breached.count(sev) for sev in ("CRITICAL", "HIGH", "MEDIUM", "LOW")}
    states = [state for _, state in expected.values()]
    assert summary["coverage"] == {k: states.count(k) for k in ("never_scanned", "failed", "stale", "fresh")}

    rows = {r["repository"]: (r["images"], r["images_in_breach"], r["breached"]) for r in doc["repositories"]}
    assert rows == _by_repository(expected)
    ranks = [[-r["breached"][sev] for sev in ("CRITICAL", "HIGH")] for r in doc["repositories"]]
    assert ranks == sorted(ranks), "repositories are not listed most exposed first"

    labels = {image.digest: image.case.label for image in registry.images}
    assert {(labels.get(i["digest"], i["digest"]), i["state"]) for i in doc["not_covered"]} == {
        (label, state) for label, (_, state) in expected.items() if state != "fresh"
    }
    severity = "HIGH" if ledger_ran else "CRITICAL"  # 00000 was CRITICAL in team/api:1.0 until its last result
    assert doc["top_findings"][0] == TOP_FINDING | {"severity": severity}, doc["top_findings"][:3]

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


def _expected(pipeline: Pipeline) -> tuple[dict[str, tuple[tuple[str, ...], str]], bool]:
    """The hand-written expectations that apply to the registry as the earlier files left it, and whether the
    ledger file changed team/api:1.0 (told by ECR's own latest result of that image)."""
    registry = pipeline.registry
    assert registry is not None
    ecr = pipeline.client("ecr")
    expected = dict(SEEDED)
    if _repository_exists(ecr, "team/alerts"):
        expected.update(AFTER_ALERTS)
    api_10 = observe.scan_state(ecr, "team/api", registry.by_label("team/api:1.0").digest)
    ledger_ran = api_10 is not None and api_10["counts"] == LEDGER_FINAL_API_10
    if ledger_ran:
        expected.update(AFTER_LEDGER)
    return expected, ledger_ran


def _by_repository(expected: dict[str, tuple[tuple[str, ...], str]]) -> dict[str, tuple[int, int, dict[str, int]]]:
    rows: dict[str, tuple[int, int, dict[str, int]]] = {}
    for label, (breached, _) in expected.items():
        repository = label.split(":")[0].split("@")[0]
        images, in_breach, by_severity = rows.get(
            repository, (0, 0, dict.fromkeys(("CRITICAL", "HIGH", "MEDIUM", "LOW"), 0))
        )
        for severity in breached:
            by_severity[severity] += 1
        rows[repository] = (images + 1, in_breach + bool(breached), by_severity)
    return rows


def _repository_exists(ecr: Any, name: str) -> bool:
    try:
        ecr.describe_repositories(repositoryNames=[name])
    except ecr.exceptions.RepositoryNotFoundException:
        return False
    return True
