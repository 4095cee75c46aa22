"""handlers.org_report against moto: spokes' latest reports in the hub's bucket -> the organization report,
published (read back through an SQS subscription), stored under organization-report/, logged and measured."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import emf
import pytest
from conftest import ACCOUNT, REGION
from report.test_org import Rec, spoke_document

from ecr_scan_reporter.core.config import ConfigError
from ecr_scan_reporter.handlers import load_settings, org_report
from handlers.test_report_faults import use_s3

BUCKET = "acme-security-ecr-reports"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-hub-notifications"
A, B, C = "111111111111/eu-west-1", "111111111111/us-east-1", "222222222222/eu-west-1"
FN = ("FunctionName", "ecr-scan-hub-org-report")


class Context:
    function_name = "ecr-scan-hub-org-report"


@pytest.fixture
def hub(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    for name, value in {
        "REPORT_BUCKET_NAME": BUCKET,
        "SNS_TOPIC_ARN": TOPIC_ARN,
        "EXPECTED_SPOKES": f"{A},{B},{C}",
        "SPOKE_REPORT_PERIOD_HOURS": "168",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    sns.create_topic(Name="ecr-scan-hub-notifications")
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=TOPIC_ARN, Protocol="sqs", Endpoint=queue_arn)

    def delivered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    load_settings.cache_clear()
    yield delivered
    load_settings.cache_clear()


def put(key: str, body: Any) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=data)


def seed_two_spokes() -> None:
    now = datetime.now(UTC)
    put(f"{A}/latest.json", spoke_document("eu-west-1", [Rec("team/app", 1, now - timedelta(days=1), ("CRITICAL",),
                                                             {"CVE-1": "CRITICAL"})], generated=now))  # fmt: skip
    put(f"{A}/2026/11/30/2026-11-30T060000Z.json", {"a dated copy": "not read"})
    put(f"{B}/latest.json", spoke_document("us-east-1", [Rec("web", 2, now - timedelta(days=2))], generated=now))
    put(f"{B}/latest.html", b"<html></html>")


def test_both_spokes_are_merged_the_third_named_silent_published_and_stored(
    hub: Callable[[], list[dict[str, Any]]], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_two_spokes()
    put("organization-report/latest.json", {"type": "organization_report"})  # its own output: not a spoke

    response = org_report.handler({"source": "aws.events"}, Context())

    assert (response["status"], response["event_type"]) == ("published", "organization_silent_spokes")
    assert (response["spokes_reporting"], response["spokes_silent"], response["images"]) == (2, 1, 2)
    [envelope] = hub()
    assert envelope["MessageAttributes"]["event_type"]["Value"] == "organization_silent_spokes"
    assert envelope["Subject"].startswith("1 SILENT SPOKE(S).")
    doc = json.loads(envelope["Message"])
    assert (doc["version"], doc["type"]) == (1, "organization_report")
    assert [s["spoke"] for s in doc["silent_spokes"]] == [C]
    assert sorted(s["spoke"] for s in doc["spokes"]) == [A, B]
    assert doc["top_findings"][0]["id"] == "CVE-1"
    s3 = boto3.client("s3", region_name=REGION)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="organization-report/")["Contents"]}
    assert set(response["stored"]) <= keys
    assert {"organization-report/latest.json", "organization-report/latest.html"} <= set(response["stored"])
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key="organization-report/latest.json")["Body"].read())
    assert stored["summary"] == doc["summary"]
    silent = [r for r in caplog.records if r.getMessage() == "spoke_silent"]
    assert [(r.spoke, r.reason, r.levelno) for r in silent] == [(C, "never reported", logging.WARNING)]
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert (found[("SpokesReporting", (FN,))], found[("SilentSpokes", (FN,))]) == (2, 1)
    assert found[("OrganizationImagesInBreach", (FN, ("Severity", "CRITICAL")))] == 1
    assert found[("NotificationsSent", (("EventType", "organization_silent_spokes"), FN))] == 1
    assert found[("ReportsNotStored", (FN,))] == 0


def test_every_spoke_reporting_is_a_plain_report(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPECTED_SPOKES", f"{A},{B}")
    load_settings.cache_clear()
    seed_two_spokes()
    assert org_report.handler({}, Context())["event_type"] == "organization_report"
    assert hub()[0]["MessageAttributes"]["event_type"]["Value"] == "organization_report"


def test_a_document_that_is_not_json_or_not_a_known_version_is_listed_and_logged(
    hub: Callable[[], list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    seed_two_spokes()
    put(f"{C}/latest.json", b"{not json")
    put("333333333333/eu-west-1/latest.json", {"version": 2, "type": "report", "summary": {}})
    response = org_report.handler({}, Context())
    assert response["spokes_unreadable"] == 2
    logged = {r.spoke: r.reason for r in caplog.records if r.getMessage() == "spoke_report_unreadable"}
    assert logged[C].startswith("not JSON")
    assert "report version 2" in logged["333333333333/eu-west-1"]
    doc = json.loads(hub()[0]["Message"])
    assert sorted(s["spoke"] for s in doc["unreadable_spokes"]) == [C, "333333333333/eu-west-1"]


def test_a_prefix_without_latest_is_not_a_report_and_an_expected_one_stays_silent(
    hub: Callable[[], list[dict[str, Any]]],
) -> None:
    put(f"{C}/2026/11/30/2026-11-30T060000Z.json", {"dated": True})
    response = org_report.handler({}, Context())
    assert (response["spokes_reporting"], response["spokes_silent"]) == (0, 3)


def test_a_refused_write_is_logged_and_counted_after_publishing(
    hub: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_two_spokes()
    use_s3(monkeypatch, lambda key: key.startswith("organization-report/"))
    response = org_report.handler({}, Context())
    assert (response["status"], response["stored"]) == ("published", [])
    assert len(hub()) == 1
    assert len([r for r in caplog.records if r.getMessage() == "report_not_stored"]) == 4
    assert emf.values(emf.parse(capsys.readouterr().out))[("ReportsNotStored", (FN,))] == 1


def test_a_bucket_the_hub_cannot_list_fails_before_publishing(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REPORT_BUCKET_NAME", "acme-security-gone")
    load_settings.cache_clear()
    with pytest.raises(Exception, match="NoSuchBucket"):
        org_report.handler({}, Context())
    assert hub() == []
    assert [r.error_code for r in caplog.records if r.getMessage() == "report_failed"] == ["NoSuchBucket"]


def test_the_chat_form_goes_to_the_chat_topic(hub: Callable[[], list[dict[str, Any]]], monkeypatch: Any) -> None:
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    chat_arn = sns.create_topic(Name="ecr-scan-hub-chat")["TopicArn"]
    queue = sqs.create_queue(QueueName="chat")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=chat_arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("CHAT_TOPIC_ARN", chat_arn)
    load_settings.cache_clear()
    seed_two_spokes()
    org_report.handler({}, Context())
    [message] = sqs.receive_message(QueueUrl=queue).get("Messages", [])
    chat = json.loads(json.loads(message["Body"])["Message"])
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    assert C in chat["content"]["description"]


@pytest.mark.parametrize("missing", ["REPORT_BUCKET_NAME", "SNS_TOPIC_ARN"])
def test_bucket_and_topic_are_required(hub: Any, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.delenv(missing)
    load_settings.cache_clear()
    with pytest.raises(ConfigError, match=missing):
        org_report.handler({}, Context())
