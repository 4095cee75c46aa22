"""Accepted risks and the chat topic, end to end (issue 10): the test root deploys two suppressions for
``team/alerts`` (CVE-2026-7001 accepted until 2099, CVE-2026-7002 expired in 2020) and the chat topic. Two images of
that repository, its own so the other files' expectations stay untouched, are scanned with findings:

==================  ===================================  ==============================================
image               its scan reports                     expected
==================  ===================================  ==============================================
team/alerts:kept    CRITICAL CVE-2026-7001, HIGH 1        below thresholds (the CRITICAL is accepted)
team/alerts:lapsed  CRITICAL CVE-2026-7002, HIGH 1        threshold_breached naming the expired entry,
                                                          on the topic and, as a chat message, on the chat topic
==================  ===================================  ==============================================

Runs after test_pipeline.py (name order) on the same deployment; pauses the schedule while it works so no
sweep scans these images first (moto allows one scan per image and day), and deletes its repository afterwards so
the files after it see the seeded registry only.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

import pytest

from e2e import bridge, observe
from e2e.conftest import Deployed
from e2e.seeding import MotoSeeder, ScanReport
from e2e.subscribers import SqsSubscriber

pytestmark = pytest.mark.e2e

REPOSITORY = "team/alerts"
ACCEPTED, LAPSED = "CVE-2026-7001", "CVE-2026-7002"  # tests/e2e/root: suppressions
THRESHOLDS = {"CRITICAL": 0, "HIGH": 2, "MEDIUM": None, "LOW": None}  # tests/e2e/root: severity_thresholds


def _report(cve: str, now: datetime) -> ScanReport:
    findings = (
        {
            "name": cve,
            "uri": f"https://nvd.nist.gov/vuln/detail/{cve}",
            "severity": "CRITICAL",
            "attributes": [
                {"key": "package_name", "value": "openssl"},
                {"key": "package_version", "value": "3.0.1"},
                {"key": "CVSS3_SCORE", "value": "9.8"},
            ],
        },
        {"name": "CVE-2026-7100", "severity": "HIGH", "attributes": [{"key": "package_name", "value": "curl"}]},
    )
    return ScanReport("COMPLETE", now, {"CRITICAL": 1, "HIGH": 1}, findings=findings)


def test_suppressions_are_stored_where_the_function_reads_them(deployed: Deployed) -> None:
    pipeline = deployed.primary
    table = pipeline.outputs["ledger_table_name"]
    item = pipeline.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": "config#suppressions"}, "digest": {"S": "document"}}
    )["Item"]
    environment = pipeline.client("lambda").get_function_configuration(FunctionName=pipeline.function_name("findings"))
    variables = environment["Environment"]["Variables"]
    assert item["sha256"]["S"] == variables["SUPPRESSIONS_SHA256"]
    assert ACCEPTED in item["document"]["S"]
    assert LAPSED in item["document"]["S"]
    assert variables["CHAT_TOPIC_ARN"] == pipeline.outputs["chat_topic_arn"]


def test_a_suppressed_cve_keeps_an_image_below_its_threshold_an_expired_one_does_not(deployed: Deployed) -> None:
    pipeline = deployed.primary
    seeder = pipeline.target.seeder(pipeline.region)
    if not isinstance(seeder, MotoSeeder):
        pytest.skip("scan findings can only be injected on moto")
    sns, sqs, ecr = pipeline.client("sns"), pipeline.client("sqs"), pipeline.client("ecr")
    topic, chat_topic = pipeline.outputs["sns_topic_arn"], pipeline.outputs["chat_topic_arn"]
    assert chat_topic
    assert chat_topic != topic

    pipeline.set_schedule(False)
    observe.wait_until("the work queue to drain", pipeline.work_drained, 90)
    alerts = SqsSubscriber(sns, sqs, topic, "probe-alerts")
    chat = SqsSubscriber(sns, sqs, chat_topic, "probe-chat")
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        seeder.create_repository(REPOSITORY)
        digests = {}
        for tag, cve in (("kept", ACCEPTED), ("lapsed", LAPSED)):
            digests[tag] = seeder.put_image(REPOSITORY, tag, seed=f"alerts-{tag}")
            seeder.set_next_scan_result(REPOSITORY, digests[tag], tag, _report(cve, now))
            ecr.start_image_scan(repositoryName=REPOSITORY, imageId={"imageDigest": digests[tag]})

        before = pipeline.invocations("findings")
        started_ms = int(time.time() * 1000) - 5000
        rule = pipeline.outputs["event_rule_names"]["ecr_scan"]
        mine = [
            e
            for e in bridge.finished_scans(ecr, account=pipeline.target.account_id, region=pipeline.region, since=now)
            if e["detail"]["repository-name"] == REPOSITORY
        ]
        assert sorted(e["detail"]["image-digest"] for e in mine) == sorted(digests.values())
        for event in mine:
            assert bridge.deliver(pipeline.client("events"), pipeline.client("lambda"), rule, event).matched
        observe.wait_until(
            "the findings function to handle both events",
            lambda: (pipeline.invocations("findings") >= before + 2, f"{pipeline.invocations('findings') - before}"),
            90,
        )

        got = alerts.collect(expected=1, timeout=30, quiet=5)
        assert [d.document()["image_digest"] for d in got] == [digests["lapsed"]], [d.subject for d in got]
        doc = got[0].document()
        assert (doc["type"], doc["breached"]) == ("threshold_breached", ["CRITICAL"])
        assert doc["severity_counts"]["CRITICAL"] == 1
        assert [f["id"] for f in doc["findings"]] == [LAPSED, "CVE-2026-7100"]
        assert doc["findings"][0] | {"url": None} == {
            "id": LAPSED,
            "severity": "CRITICAL",
            "package_name": "openssl",
            "package_version": "3.0.1",
            "fixed_in": None,
            "url": None,
            "score": 9.8,
            "epss": None,
        }
        assert (doc["findings_total"], doc["suppressed"]) == (2, 0)
        assert doc["expired_suppressions"] == [
            {
                "vulnerability_id": LAPSED,
                "repository_regex": "^team/alerts$",
                "expires": "2020-01-01",
                "reason": "e2e: accepted until 2020",
            }
        ]
        assert doc["thresholds"] == THRESHOLDS

        # The accepted CVE kept the other image below its thresholds: evaluated, recorded, not notified.
        lines = observe.records(
            observe.log_lines(pipeline.client("logs"), pipeline.outputs["log_group_names"]["findings"], started_ms)
        )
        applied = [
            r for r in lines if r.get("message") == "suppressions_applied" and r.get("image_digest") == digests["kept"]
        ]
        assert applied, "no suppressions_applied line for the image with the accepted CVE"
        assert applied[-1]["suppressed"] == [ACCEPTED], applied
        quiet = [r for r in lines if r.get("message") == "scan_not_news" and r.get("image_digest") == digests["kept"]]
        assert quiet, "no scan_not_news line for the image with the accepted CVE"
        assert quiet[-1]["reason"] == "within_thresholds", quiet
        # ... and its ledger record keeps the accepted CVE apart from the findings that count (for the report).
        kept = pipeline.client("dynamodb").get_item(
            TableName=pipeline.outputs["ledger_table_name"],
            Key={"pk": {"S": f"{pipeline.target.account_id}#{REPOSITORY}"}, "digest": {"S": digests["kept"]}},
            ConsistentRead=True,
        )["Item"]
        assert kept["suppressed_findings"] == {"M": {ACCEPTED: {"S": "CRITICAL"}}}, kept
        assert ACCEPTED not in kept["findings"]["M"], kept

        # The chat topic got the same notification in the custom-notification format.
        (delivered,) = chat.collect(expected=1, timeout=30)
        message = delivered.document()
        assert (message["version"], message["source"]) == ("1.0", "custom")
        content = message["content"]
        assert content["textType"] == "client-markdown"
        assert content["title"] == f":rotating_light: ECR scan: 1 CRITICAL in {REPOSITORY}:lapsed"
        assert f"`{LAPSED}`" in content["description"]
        assert f"Suppression of `{LAPSED}` expired 2020-01-01" in content["description"]
        assert content["nextSteps"][0].startswith("Open the findings in the Amazon ECR console: https://")
        assert "ECR" in content["keywords"]
        assert pipeline.depths()["failed-events"]["visible"] == 0
    finally:
        alerts.close()
        chat.close()
        # The other files expect the seeded registry only (e.g. which repositories a later sweep lists).
        with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):
            ecr.delete_repository(repositoryName=REPOSITORY, force=True)
        pipeline.set_schedule(True)
