"""handlers.findings against moto: what is published (read back through an SQS subscription), what is not."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from conftest import ACCOUNT, REGION

from ecr_scan_reporter.core import log
from ecr_scan_reporter.core.config import ConfigError
from ecr_scan_reporter.handlers import findings, load_settings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "events"
TOPIC_NAME = "ecr-scan-findings"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC_NAME}"
Inbox = Callable[[], list[dict[str, Any]]]


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def ecr_scan(counts: dict[str, int] | None = None, tags: list[str] | None = None) -> dict[str, Any]:
    event = load("ecr-eventbridge-doc_ecr-image-scan-complete.json")  # repository team/app in eu-west-1
    if counts is not None:
        event["detail"]["finding-severity-counts"] = counts
    event["detail"]["image-tags"] = ["1.2.3"] if tags is None else tags
    return event


@pytest.fixture
def inbox(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """The findings topic in moto with an SQS queue subscribed (RawMessageDelivery false, as by default);
    returns a function giving the SNS envelopes delivered so far."""
    monkeypatch.setenv("SNS_TOPIC_ARN", TOPIC_ARN)
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")  # log.setup keeps pytest's handlers, as Lambda's
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"})

    def delivered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    load_settings.cache_clear()
    yield delivered
    load_settings.cache_clear()


def published_doc(envelope: dict[str, Any]) -> dict[str, Any]:
    return json.loads(envelope["Message"])


# --- thresholds ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "breached"),
    [
        ({}, []),
        ({"CRITICAL": 1}, ["CRITICAL"]),
        ({"HIGH": 1}, ["HIGH"]),
        ({"CRITICAL": 2, "HIGH": 4, "MEDIUM": 50}, ["CRITICAL", "HIGH"]),
        ({"MEDIUM": 500, "LOW": 900, "INFORMATIONAL": 3}, []),  # ignored by default
    ],
)
def test_default_thresholds(inbox: Inbox, counts: dict[str, int], breached: list[str]) -> None:
    response = findings.handler(ecr_scan(counts), None)
    envelopes = inbox()
    if breached:
        assert response["status"] == "notified"
        assert response["breached"] == breached
        assert len(envelopes) == 1
        assert published_doc(envelopes[0])["breached"] == breached
    else:
        assert response["status"] == "below_threshold"
        assert envelopes == []


CUSTOM = {"CRITICAL": None, "HIGH": 2, "MEDIUM": 5, "LOW": 10}


@pytest.mark.parametrize("severity", ["HIGH", "MEDIUM", "LOW"])
@pytest.mark.parametrize(("offset", "status"), [(-1, "below_threshold"), (0, "below_threshold"), (1, "notified")])
def test_custom_thresholds_tolerate_exactly_n(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch, severity: str, offset: int, status: str
) -> None:
    monkeypatch.setenv("SEVERITY_THRESHOLDS", json.dumps(CUSTOM))
    count = CUSTOM[severity] + offset  # type: ignore[operator]
    response = findings.handler(ecr_scan({severity: count}), None)
    assert response["status"] == status
    assert len(inbox()) == (status == "notified")
    if status == "notified":
        assert response["breached"] == [severity]


def test_custom_thresholds_null_ignores_critical(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEVERITY_THRESHOLDS", json.dumps(CUSTOM))
    assert findings.handler(ecr_scan({"CRITICAL": 1000, "HIGH": 2}), None)["status"] == "below_threshold"
    response = findings.handler(ecr_scan({"CRITICAL": 1000, "MEDIUM": 6}), None)
    assert response["breached"] == ["MEDIUM"]
    doc = published_doc(inbox()[0])
    assert doc["thresholds"] == CUSTOM
    assert doc["severity_counts"]["CRITICAL"] == 1000


# --- the message, end to end ---------------------------------------------------------------------------------


def test_sqs_subscriber_gets_the_json_document_and_attributes(inbox: Inbox) -> None:
    response = findings.handler(ecr_scan({"CRITICAL": 3, "HIGH": 5, "MEDIUM": 9}, ["1.2.3", "latest"]), None)
    (envelope,) = inbox()
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == response["message_id"]
    assert envelope["Subject"] == "ECR scan: 3 CRITICAL, 5 HIGH in team/app:1.2.3"
    doc = published_doc(envelope)  # the "sqs" key of the structured message, not the text
    assert doc["version"] == 1
    assert doc["type"] == "threshold_breached"
    assert (doc["repository"], doc["registry_id"], doc["region"]) == ("team/app", ACCOUNT, REGION)
    assert doc["image_tags"] == ["1.2.3", "latest"]
    assert doc["severity_counts"] == {"CRITICAL": 3, "HIGH": 5, "MEDIUM": 9, "LOW": 0}
    assert doc["thresholds"] == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": None}
    assert doc["breached"] == ["CRITICAL", "HIGH"]
    assert doc["scan_completed_at"] == "2019-10-29T02:36:48Z"
    assert doc["console_url"].startswith(f"https://{REGION}.console.aws.amazon.com/ecr/repositories/private/")
    attributes = {name: value["Value"] for name, value in envelope["MessageAttributes"].items()}
    assert attributes == {"repository": "team/app", "highest_severity": "CRITICAL", "event_type": "threshold_breached"}


# --- failed scans --------------------------------------------------------------------------------------------


def push_image(repository: str, tag: str, scanned: bool = True) -> str:
    """An image in moto's ECR (and a started scan, which moto needs before DescribeImageScanFindings)."""
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=repository)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + hashlib.sha256(b"config").hexdigest()},
            "layers": [],
        }
    )
    digest = ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag)["image"]["imageId"][
        "imageDigest"
    ]
    if scanned:
        ecr.start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
    return str(digest)


def set_scan_status(repository: str, digest: str, scan_status: dict[str, str]) -> None:
    """moto's documented hook for the DescribeImageScanFindings answer of one image."""
    result = {
        "registryId": ACCOUNT,
        "repositoryName": repository,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": scan_status,
        "imageScanFindings": {},
    }
    url = "http://motoapi.amazonaws.com/moto-api/static/ecr/scan-finding-results"
    requests.post(url, json={"results": [result], "region": REGION}, timeout=5).raise_for_status()


def failed_scan(digest: str) -> dict[str, Any]:
    event = load("ecr-eventbridge-doc_ecr-image-scan-failed.json")
    event["detail"]["image-digest"] = digest
    return event


def test_failed_scan_is_notified_with_ecr_reason(inbox: Inbox) -> None:
    digest = push_image("team/app", "1.2.3")
    reason = "UnsupportedImageError: The operating system and/or package manager are not supported."
    set_scan_status("team/app", digest, {"status": "FAILED", "description": reason})

    response = findings.handler(failed_scan(digest), None)

    assert (response["status"], response["event_type"]) == ("notified", "scan_failed")
    (envelope,) = inbox()
    doc = published_doc(envelope)
    assert (doc["type"], doc["failure_reason"], doc["image_digest"]) == ("scan_failed", reason, digest)
    assert envelope["Subject"] == "ECR scan FAILED for team/app:1.2.3"
    assert envelope["MessageAttributes"]["event_type"]["Value"] == "scan_failed"


def test_failed_scan_without_description_says_unknown(inbox: Inbox) -> None:
    digest = push_image("team/app", "1.2.3")
    set_scan_status("team/app", digest, {"status": "FAILED"})
    assert findings.handler(failed_scan(digest), None)["status"] == "notified"
    assert published_doc(inbox()[0])["failure_reason"] == "unknown"


def test_failed_scan_still_notified_when_ecr_cannot_answer(inbox: Inbox, caplog: pytest.LogCaptureFixture) -> None:
    digest = push_image("team/app", "1.2.3", scanned=False)  # moto: ScanNotFoundException
    with caplog.at_level(logging.INFO):
        response = findings.handler(failed_scan(digest), None)
    assert response["status"] == "notified"
    assert published_doc(inbox()[0])["failure_reason"] == "unknown"
    (warning,) = [r for r in caplog.records if r.getMessage() == "scan_failure_reason_unavailable"]
    assert warning.levelno == logging.WARNING
    assert "ScanNotFoundException" in warning.error  # type: ignore[attr-defined]


def test_failed_scan_not_notified_when_switched_off(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_ON_SCAN_FAILURE", "false")
    response = findings.handler(failed_scan("sha256:" + "0" * 64), None)
    assert response["status"] == "ignored"
    assert "NOTIFY_ON_SCAN_FAILURE" in response["reason"]
    assert inbox() == []


# --- Inspector -----------------------------------------------------------------------------------------------


def test_inspector_event_with_repository_arn(inbox: Inbox) -> None:
    response = findings.handler(load("ecr-enhanced-events-doc_inspector2-scan-initial.json"), None)
    assert response["status"] == "notified"
    assert response["repository"] == "amazon/amazon-ecs-sample"
    (envelope,) = inbox()
    doc = published_doc(envelope)
    assert doc["repository"] == "amazon/amazon-ecs-sample"
    # TOTAL dropped; LOW, which the event leaves out, is read from Inspector (moto holds no findings: 0)
    assert doc["severity_counts"] == {"CRITICAL": 7, "HIGH": 61, "MEDIUM": 62, "LOW": 0}
    assert doc["breached"] == ["CRITICAL", "HIGH"]
    assert "/private/123456789012/amazon/amazon-ecs-sample/_/image/sha256:" in doc["console_url"]
    assert envelope["Subject"] == "ECR scan: 7 CRITICAL, 61 HIGH in amazon/amazon-ecs-sample:latest"


def test_inspector_event_without_findings_is_below_threshold(inbox: Inbox) -> None:
    response = findings.handler(load("inspector-eventbridge-doc_inspector2-scan-ecr-initial.json"), None)
    assert (response["status"], response["repository"]) == ("below_threshold", "inspector2")
    assert inbox() == []


# --- ignored -------------------------------------------------------------------------------------------------


def test_irrelevant_status_is_ignored(inbox: Inbox) -> None:
    event = load("ecr-enhanced-events-doc_inspector2-scan-initial.json")
    event["detail"]["scan-status"] = "SCAN_ELIGIBILITY_EXPIRED"
    response = findings.handler(event, None)
    assert response["status"] == "ignored"
    assert "SCAN_ELIGIBILITY_EXPIRED" in response["reason"]
    assert inbox() == []


@pytest.mark.parametrize(
    ("variable", "regex"),
    [("REPOSITORY_EXCLUDE_REGEX", "^team/"), ("REPOSITORY_INCLUDE_REGEX", "^prod/")],
)
def test_repository_not_selected_is_ignored(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, variable: str, regex: str
) -> None:
    monkeypatch.setenv(variable, regex)
    with caplog.at_level(logging.INFO):
        response = findings.handler(ecr_scan({"CRITICAL": 9}), None)
    assert response["status"] == "ignored"
    assert "not selected" in response["reason"]
    assert inbox() == []
    assert [r.getMessage() for r in caplog.records if r.name == findings.logger.name] == ["scan_event_ignored"]


@pytest.mark.parametrize(
    "event",
    [
        load("inspector-eventbridge-doc_inspector2-scan-ec2-initial.json"),
        {**load("ecr-eventbridge-doc_ecr-image-scan-complete.json"), "detail-type": "ECR Image Action"},
    ],
    ids=["inspector-ec2", "ecr-image-action"],
)
def test_events_that_are_not_image_scans_are_ignored(inbox: Inbox, event: dict[str, Any]) -> None:
    assert findings.handler(event, None)["status"] == "ignored"
    assert inbox() == []


# --- rejected ------------------------------------------------------------------------------------------------


def _malformed(mutate: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    event = ecr_scan({"CRITICAL": 9})
    mutate(event)
    return event


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (_malformed(lambda e: e.pop("detail")), "detail is missing"),
        (_malformed(lambda e: e["detail"].pop("image-digest")), "detail.image-digest is missing"),
        (_malformed(lambda e: e["detail"].update({"finding-severity-counts": [9]})), "must be an object"),
        (_malformed(lambda e: e["detail"].update({"finding-severity-counts": {"HIGH": "9"}})), "non-negative"),
        (_malformed(lambda e: e["detail"].update({"repository-name": 12})), "detail.repository-name must be"),
        (_malformed(lambda e: e["detail"].update({"image-tags": "latest"})), "detail.image-tags must be a list"),
        ("not an event", "event must be a JSON object"),
    ],
    ids=["no-detail", "no-digest", "counts-list", "count-str", "repository-int", "tags-str", "string"],
)
def test_malformed_event_is_rejected_and_logged_not_raised(
    inbox: Inbox, caplog: pytest.LogCaptureFixture, event: Any, problem: str
) -> None:
    with caplog.at_level(logging.INFO):
        response = findings.handler(event, None)
    assert response["status"] == "rejected"
    assert problem in response["reason"]
    assert inbox() == []
    (record,) = [r for r in caplog.records if r.name == findings.logger.name]
    line = json.loads(log.JsonFormatter().format(record))
    assert (line["level"], line["message"]) == ("ERROR", "scan_event_rejected")
    assert problem in line["problem"]


# --- settings ------------------------------------------------------------------------------------------------


def test_topic_is_required(moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SNS_TOPIC_ARN", raising=False)
    load_settings.cache_clear()
    with pytest.raises(ConfigError, match="SNS_TOPIC_ARN"):
        findings.handler(ecr_scan(), None)


def test_settings_are_read_once(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings.handler(ecr_scan({"HIGH": 1}), None)["status"] == "notified"
    monkeypatch.setenv("SEVERITY_THRESHOLDS", json.dumps({"HIGH": 5}))
    assert findings.handler(ecr_scan({"HIGH": 1}), None)["status"] == "notified"  # still the cold-start settings
    load_settings.cache_clear()
    assert findings.handler(ecr_scan({"HIGH": 1}), None)["status"] == "below_threshold"
