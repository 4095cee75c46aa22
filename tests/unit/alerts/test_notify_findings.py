"""notify.render with findings: the most severe listed, "and N more", suppressed/expired, counts not reported,
the chat format, and the SNS size limits at their worst (1,000 tags, 5,000 findings, 256-character names)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION

from ecr_scan_reporter.alerts import notify
from ecr_scan_reporter.alerts.events import ScanResult
from ecr_scan_reporter.alerts.findings import Finding
from ecr_scan_reporter.alerts.notify import FindingsSection
from ecr_scan_reporter.core import sns_message

DIGEST = "sha256:" + "cd" * 32
THRESHOLDS = MappingProxyType({"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": 5})


def scan(**overrides: Any) -> ScanResult:
    fields: dict[str, Any] = {
        "source": "ecr",
        "status": "COMPLETE",
        "repository": "team/api",
        "registry_id": ACCOUNT,
        "region": REGION,
        "image_digest": DIGEST,
        "image_tags": ("1.0",),
        "severity_counts": {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 1, "LOW": 0},
        "scan_completed_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    fields.update(overrides)
    return ScanResult(**fields)


FOUND = [
    Finding("CVE-2024-0003", "MEDIUM", "zlib", "1.2", None, "https://nvd.example/3", 9.9),
    Finding("CVE-2024-0002", "HIGH", "curl", "8.0", "8.1", "https://nvd.example/2", 7.5),
    Finding("CVE-2024-0004", "HIGH", "curl", "8.0", None, None, None, epss=0.9),
    Finding("CVE-2024-0001", "CRITICAL", "openssl", "3.0.13", "3.0.14", "https://nvd.example/1", 9.8),
    Finding("CVE-2024-0005", "HIGH", "glibc", "2.36", None, None, 8.8),
]
EXPIRED = [
    {"vulnerability_id": "CVE-2023-9999", "repository_regex": "^team/", "expires": "2026-01-01", "reason": "legacy"}
]


def doc_of(notification: sns_message.Notification) -> dict[str, Any]:
    return json.loads(notification.message["sqs"])


def test_the_most_severe_are_listed_by_severity_then_score_then_epss() -> None:
    section = FindingsSection(findings=FOUND, limit=3, suppressed=2, expired=EXPIRED)
    notification = notify.render(scan(), ["CRITICAL", "HIGH"], THRESHOLDS, "threshold_breached", section=section)
    doc = doc_of(notification)

    assert [f["id"] for f in doc["findings"]] == ["CVE-2024-0001", "CVE-2024-0005", "CVE-2024-0002"]
    assert doc["findings"][0] == {
        "id": "CVE-2024-0001",
        "severity": "CRITICAL",
        "package_name": "openssl",
        "package_version": "3.0.13",
        "fixed_in": "3.0.14",
        "url": "https://nvd.example/1",
        "score": 9.8,
        "epss": None,
    }
    assert (doc["findings_total"], doc["suppressed"], doc["expired_suppressions"]) == (5, 2, EXPIRED)
    text = notification.message["default"]
    assert "Findings: 5 (2 suppressed as accepted risks); the 3 most severe:" in text
    assert "  CRITICAL  CVE-2024-0001  openssl 3.0.13  (fixed in 3.0.14)  score 9.8" in text.splitlines()
    assert f"  and 2 more: {notify.console_url(scan())}" in text.splitlines()
    assert "  CVE-2023-9999 in repositories matching ^team/: expired 2026-01-01 (legacy)" in text.splitlines()
    assert notification.message["email"] == text


def test_unscored_findings_sort_after_scored_ones_and_epss_breaks_ties() -> None:
    ranked = notify.rank(
        [
            Finding("B", "HIGH", epss=0.1),
            Finding("A", "HIGH"),
            Finding("C", "HIGH", epss=0.5),
            Finding("D", "HIGH", score=1.0),
            Finding("E", "UNDEFINED", score=10.0),
        ]
    )
    assert [f.id for f in ranked] == ["D", "C", "B", "A", "E"]


def test_zero_listed_still_counts_and_links() -> None:
    section = FindingsSection(findings=FOUND, limit=0)
    notification = notify.render(scan(), ["CRITICAL"], THRESHOLDS, "threshold_breached", section=section)
    assert (doc_of(notification)["findings"], doc_of(notification)["findings_total"]) == ([], 5)
    assert f"  See them all: {notify.console_url(scan())}" in notification.message["default"].splitlines()


@pytest.mark.parametrize("limit", [-1, 51])
def test_the_limit_is_0_to_50(limit: int) -> None:
    with pytest.raises(ValueError, match=r"0\.\.50"):
        notify.render(scan(), ["HIGH"], THRESHOLDS, "threshold_breached", section=FindingsSection(limit=limit))


def test_findings_that_could_not_be_read_are_said_so() -> None:
    section = FindingsSection(unavailable="AccessDeniedException")
    notification = notify.render(scan(), ["CRITICAL"], THRESHOLDS, "threshold_breached", section=section)
    doc = doc_of(notification)
    assert (doc["findings"], doc["findings_total"], doc["findings_unavailable"]) == ([], None, "AccessDeniedException")
    assert "Findings could not be read (AccessDeniedException)" in notification.message["default"]
    assert "suppressions not applied" in json.loads(notification.chat)["content"]["description"]


def test_suppressions_that_could_not_be_read_are_said_so() -> None:
    section = FindingsSection(findings=FOUND, extra={"suppressions_unavailable": "AccessDeniedException: no"})
    notification = notify.render(scan(), ["CRITICAL"], THRESHOLDS, "threshold_breached", section=section)
    assert doc_of(notification)["suppressions_unavailable"] == "AccessDeniedException: no"
    expected = "Suppressions could not be read (AccessDeniedException: no): every finding counts."
    assert expected in notification.message["default"].splitlines()
    assert "every finding counts" in json.loads(notification.chat)["content"]["description"]


def test_a_count_the_scanner_did_not_report_is_never_shown_as_zero() -> None:
    result = scan(source="inspector2", severity_counts={"CRITICAL": 1, "HIGH": 0, "MEDIUM": 3})
    notification = notify.render(result, ["CRITICAL"], THRESHOLDS, "threshold_breached")

    assert "LOW" not in doc_of(notification)["severity_counts"]
    rows = [line.split() for line in notification.message["default"].splitlines()]
    assert ["LOW", "?", "5", "not", "reported", "by", "the", "scanner"] in rows
    assert not any(row[:2] == ["LOW", "0"] for row in rows)
    assert "LOW not reported / 5" in json.loads(notification.chat)["content"]["description"]


def test_chat_custom_notification() -> None:
    section = FindingsSection(findings=FOUND, limit=2, suppressed=1, expired=EXPIRED)
    notification = notify.render(scan(), ["CRITICAL", "HIGH"], THRESHOLDS, "threshold_breached", section=section)
    chat = json.loads(notification.chat)

    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    content = chat["content"]
    assert set(content) == {"textType", "title", "description", "nextSteps", "keywords"}
    assert content["textType"] == "client-markdown"
    assert content["title"] == ":rotating_light: ECR scan: 1 CRITICAL, 2 HIGH in team/api:1.0"
    description = content["description"]
    assert "- CRITICAL `CVE-2024-0001` openssl 3.0.13 -> 3.0.14" in description
    assert "- HIGH `CVE-2024-0005` glibc 2.36" in description
    assert "_and 3 more in the console_" in description
    assert "_1 suppressed as accepted risks_" in description
    assert "`CVE-2023-9999` expired 2026-01-01" in description
    assert content["nextSteps"][0] == f"Open the findings in the Amazon ECR console: {notify.console_url(scan())}"
    assert "Update openssl to 3.0.14 and rebuild the image" in content["nextSteps"]
    assert content["keywords"] == ["ECR", "threshold_breached", "CRITICAL", "team/api"]
    assert chat["metadata"]["eventType"] == "threshold_breached"
    assert chat["metadata"]["threadId"].endswith(f"team/api/{DIGEST}")


def test_chat_for_a_failed_scan() -> None:
    notification = notify.render(scan(status="FAILED"), [], THRESHOLDS, "scan_failed", "UnsupportedImageError")
    content = json.loads(notification.chat)["content"]
    assert content["title"].startswith(":x: ECR scan FAILED for team/api")
    assert "*Reason:* UnsupportedImageError" in content["description"]


# --- the SNS limits ------------------------------------------------------------------------------------------------


def worst_case() -> tuple[ScanResult, FindingsSection]:
    """Everything at or past the limits: 1,000 tags of 300 characters, a 256-character repository, 5,000 findings
    with long fields, 300 expired suppressions with long reasons, 50 findings listed."""
    repository = ("r" * 60 + "/") * 4 + "r" * 12
    assert len(repository) == 256
    tags = tuple(f"{n:04d}-" + "t" * 295 for n in range(1000))
    long = "x" * 2_000
    found = [
        Finding(f"CVE-2024-{n:05d}", "CRITICAL", long, long, long, "https://" + long, 9.0 + n / 10_000, 0.5)
        for n in range(5000)
    ]
    expired = [
        {"vulnerability_id": f"CVE-2020-{n:05d}", "repository_regex": long, "expires": "2026-01-01", "reason": long}
        for n in range(300)
    ]
    counts = {"CRITICAL": 5000, "HIGH": 0, "MEDIUM": 0, "LOW": 0}
    result = scan(repository=repository, image_tags=tags, severity_counts=counts)
    return result, FindingsSection(findings=found, limit=50, suppressed=300, expired=expired)


def test_the_worst_case_would_not_fit_unshortened() -> None:
    result, section = worst_case()
    unshortened = notify._render(
        result,
        ["CRITICAL"],
        THRESHOLDS,
        "threshold_breached",
        None,
        None,
        section,
        notify.rank(section.findings),
        (None,) * 3,
    )
    assert notify.message_size(unshortened) > sns_message.SNS_MAX_BYTES


@pytest.mark.parametrize("kind", ["threshold_breached", "scan_failed"])
def test_every_message_fits_sns_at_the_limits(kind: notify.Kind) -> None:
    result, section = worst_case()
    breached = ["CRITICAL"] if kind == "threshold_breached" else []
    notification = notify.render(result, breached, THRESHOLDS, kind, "r" * 10_000, section=section)

    assert notify.message_size(notification) <= notify.MESSAGE_BUDGET < sns_message.SNS_MAX_BYTES
    assert len(notification.chat.encode()) <= notify.MESSAGE_BUDGET
    assert len(notification.subject) < 100
    doc = doc_of(notification)
    assert (doc["findings_total"], doc["image_tags_total"], doc["expired_suppressions_total"]) == (5000, 1000, 300)
    assert 0 < len(doc["image_tags"]) < 1000
    text = notification.message["default"]
    assert f"and {1000 - len(doc['image_tags'])} more tags" in text
    assert f"and {5000 - len(doc['findings'])} more: {notify.console_url(result)}" in text
    content = json.loads(notification.chat)["content"]
    assert len(content["title"]) <= notify.CHAT_TITLE_MAX
    assert len(content["description"]) <= notify.CHAT_DESCRIPTION_MAX


@pytest.mark.usefixtures("moto")
def test_the_worst_case_is_accepted_by_sns() -> None:
    """moto refuses messages over 256 KB, like SNS: both forms of the worst case are published."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="findings")["TopicArn"]
    chat_topic = sns.create_topic(Name="chat")["TopicArn"]
    queue = sqs.create_queue(QueueName="chat-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=chat_topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    result, section = worst_case()
    notification = notify.render(result, ["CRITICAL"], THRESHOLDS, "threshold_breached", section=section)

    assert sns_message.publish(sns, topic, notification)
    assert notify.publish_chat(sns, chat_topic, notification)
    (received,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    assert json.loads(received["Body"]) == json.loads(notification.chat)

    too_big = {"default": "x" * sns_message.SNS_MAX_BYTES}
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=topic, Message=json.dumps(too_big), MessageStructure="json")


def test_findings_with_a_known_exploit_are_marked_and_listed_first() -> None:
    exploited = Finding("CVE-2026-5000", "MEDIUM", "libx", "1", None, None, 5.0, exploit_available=True)
    low_exploited = Finding("CVE-2026-5003", "LOW", "libw", "1", None, None, 2.0, exploit_available=True)
    critical = Finding("CVE-2026-5001", "CRITICAL", "liby", "1", None, None, 9.0, exploit_available=False)
    section = FindingsSection(findings=[critical, low_exploited, exploited], limit=3)
    notification = notify.render(scan(), ["CRITICAL"], THRESHOLDS, "threshold_breached", section=section)
    doc = json.loads(notification.message["sqs"])
    assert [f["id"] for f in doc["findings"]] == ["CVE-2026-5000", "CVE-2026-5001", "CVE-2026-5003"]  # LOW: not
    assert [f.get("exploit_available") for f in doc["findings"]] == [True, False, True]
    text = notification.message["default"]
    assert "CVE-2026-5000  libx 1  (no fix known)  score 5  [exploit available]" in text
    assert "CVE-2026-5003  libw 1  (no fix known)  score 2\n" in text  # a LOW exploit is not marked


def test_the_team_is_an_attribute_and_a_document_key_only_with_teams() -> None:
    args: tuple[Any, ...] = (scan(), ["CRITICAL"], THRESHOLDS, "threshold_breached")
    plain = notify.render(*args)
    owned = notify.render(*args, team="payments")
    unowned = notify.render(*args, team=None)
    assert "team" not in plain.attributes
    assert "team" not in json.loads(plain.message["sqs"])
    assert owned.attributes["team"] == "payments"
    assert json.loads(owned.message["sqs"])["team"] == "payments"
    assert "team" not in unowned.attributes
    assert json.loads(unowned.message["sqs"])["team"] is None
