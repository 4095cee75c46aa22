"""notify.render (pure): the three message formats, the attributes, the subject; notify.publish against moto."""

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
from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.core.config import DEFAULT_THRESHOLDS

DIGEST = "sha256:" + "ab" * 32
THRESHOLDS = MappingProxyType({"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": None})


def scan(**overrides: Any) -> ScanResult:
    fields: dict[str, Any] = {
        "source": "ecr",
        "status": "COMPLETE",
        "repository": "team/app",
        "registry_id": ACCOUNT,
        "region": REGION,
        "image_digest": DIGEST,
        "image_tags": ("1.2.3", "latest"),
        "severity_counts": {"CRITICAL": 3, "HIGH": 5, "MEDIUM": 7, "LOW": 0},
        "scan_completed_at": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
    }
    fields.update(overrides)
    return ScanResult(**fields)


CONSOLE_URL = (
    f"https://{REGION}.console.aws.amazon.com/ecr/repositories/private/{ACCOUNT}/team/app/_/image/{DIGEST}"
    f"/scan-results?region={REGION}"
)


def test_message_has_text_for_default_and_email_and_one_json_document_for_the_rest() -> None:
    message = notify.render(scan(), ["CRITICAL", "HIGH"], THRESHOLDS, "threshold_breached").message
    assert set(message) == {"default", "email", "sqs", "lambda", "https"}
    assert message["default"] == message["email"]
    assert message["sqs"] == message["lambda"] == message["https"]
    assert json.loads(message["sqs"]) == {
        "version": 1,
        "type": "threshold_breached",
        "repository": "team/app",
        "registry_id": ACCOUNT,
        "region": REGION,
        "image_digest": DIGEST,
        "image_tags": ["1.2.3", "latest"],
        "severity_counts": {"CRITICAL": 3, "HIGH": 5, "MEDIUM": 7, "LOW": 0},
        "thresholds": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": None},
        "breached": ["CRITICAL", "HIGH"],
        "scan_completed_at": "2024-05-06T07:08:09Z",
        "console_url": CONSOLE_URL,
    }


def test_breached_is_listed_most_severe_first() -> None:
    message = notify.render(scan(), ["HIGH", "CRITICAL"], THRESHOLDS, "threshold_breached").message
    assert json.loads(message["lambda"])["breached"] == ["CRITICAL", "HIGH"]


def test_text_shows_image_table_breaches_time_and_link() -> None:
    result = scan(severity_counts={"CRITICAL": 3, "HIGH": 5, "MEDIUM": 7, "LOW": 0, "INFORMATIONAL": 2})
    text = notify.render(result, ["CRITICAL", "HIGH"], THRESHOLDS, "threshold_breached").message["default"]
    lines = text.splitlines()
    assert "Repository:  team/app" in lines
    assert "Image:       1.2.3, latest" in lines
    assert f"Digest:      {DIGEST}" in lines
    assert "Scanned at:  2024-05-06T07:08:09Z" in lines
    table = [line.split() for line in lines]
    assert ["CRITICAL", "3", "0", "BREACHED"] in table
    assert ["HIGH", "5", "0", "BREACHED"] in table
    assert ["MEDIUM", "7", "ignored"] in table
    assert ["LOW", "0", "ignored"] in table
    assert ["INFORMATIONAL", "2", "-"] in table
    assert not any(row[:1] == ["UNDEFINED"] for row in table)  # only shown when reported
    assert "Breached:    CRITICAL, HIGH" in lines
    assert CONSOLE_URL in lines


def test_untagged_image_is_named_by_digest() -> None:
    notification = notify.render(scan(image_tags=()), ["CRITICAL"], THRESHOLDS, "threshold_breached")
    assert f"Image:       {DIGEST}" in notification.message["email"].splitlines()
    assert notification.subject == f"ECR scan: 3 CRITICAL in team/app@{DIGEST[:19]}"


def test_subject_names_breached_counts_and_image() -> None:
    notification = notify.render(scan(), ["CRITICAL", "HIGH"], THRESHOLDS, "threshold_breached")
    assert notification.subject == "ECR scan: 3 CRITICAL, 5 HIGH in team/app:1.2.3"


def test_scan_failed_carries_the_reason() -> None:
    result = scan(status="FAILED", severity_counts={"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0})
    reason = "UnsupportedImageError: The operating system and/or package manager are not supported."
    notification = notify.render(result, [], THRESHOLDS, "scan_failed", reason)
    doc = json.loads(notification.message["https"])
    assert (doc["type"], doc["failure_reason"], doc["breached"]) == ("scan_failed", reason, [])
    assert f"Reason:      {reason}" in notification.message["default"].splitlines()
    assert notification.subject == "ECR scan FAILED for team/app:1.2.3"
    assert notification.attributes == {
        "repository": "team/app",
        "highest_severity": "NONE",
        "event_type": "scan_failed",
    }


def test_scan_failed_without_a_reason_says_unknown() -> None:
    notification = notify.render(scan(status="FAILED"), [], THRESHOLDS, "scan_failed")
    assert json.loads(notification.message["sqs"])["failure_reason"] == "unknown"


def test_threshold_breached_has_no_failure_reason() -> None:
    message = notify.render(scan(), ["CRITICAL"], THRESHOLDS, "threshold_breached").message
    assert "failure_reason" not in json.loads(message["sqs"])
    assert "Reason:" not in message["default"]


@pytest.mark.parametrize(
    ("counts", "highest"),
    [
        ({"CRITICAL": 1, "HIGH": 9, "MEDIUM": 0, "LOW": 0}, "CRITICAL"),
        ({"CRITICAL": 0, "HIGH": 0, "MEDIUM": 2, "LOW": 1}, "MEDIUM"),
        ({"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 1}, "LOW"),
        ({"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "INFORMATIONAL": 4}, "NONE"),
    ],
)
def test_attributes(counts: dict[str, int], highest: str) -> None:
    notification = notify.render(scan(severity_counts=counts), ["LOW"], DEFAULT_THRESHOLDS, "threshold_breached")
    assert notification.attributes == {
        "repository": "team/app",
        "highest_severity": highest,
        "event_type": "threshold_breached",
    }


LONG_REPOSITORY = "platform/" + "very-long-namespace-segment/" * 8 + "service-api"


@pytest.mark.parametrize(
    ("repository", "tags", "counts"),
    [
        (LONG_REPOSITORY, ("1.2.3",), {"CRITICAL": 3, "HIGH": 5, "MEDIUM": 0, "LOW": 0}),
        (LONG_REPOSITORY, ("t" * 128,), {"CRITICAL": 12345, "HIGH": 67890, "MEDIUM": 11111, "LOW": 22222}),
        (LONG_REPOSITORY, (), {"CRITICAL": 3, "HIGH": 0, "MEDIUM": 0, "LOW": 0}),
        ("a" * 256, ("v\u00e9rsion\nx",), {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 1, "LOW": 1}),
    ],
)
def test_subject_fits_sns_limits(repository: str, tags: tuple[str, ...], counts: dict[str, int]) -> None:
    breached = [s for s, n in counts.items() if n]
    result = scan(repository=repository, image_tags=tags, severity_counts=counts)
    for kind, sev in (("threshold_breached", breached), ("scan_failed", [])):
        subject = notify.render(result, sev, DEFAULT_THRESHOLDS, kind).subject  # type: ignore[arg-type]
        assert len(subject) < 100
        assert subject.isascii()
        assert subject.isprintable()
        assert "..." in subject


def test_long_repository_keeps_its_leaf_and_the_tag() -> None:
    subject = notify.render(scan(repository=LONG_REPOSITORY), ["CRITICAL"], THRESHOLDS, "threshold_breached").subject
    assert subject.startswith("ECR scan: 3 CRITICAL in platform/")
    assert subject.endswith("service-api:1.2.3")
    assert len(subject) == sns_message.SUBJECT_MAX


@pytest.mark.parametrize(
    ("tag", "subject"),
    [
        # room for the repository: 99 - len("ECR scan: 3 CRITICAL in ") - len(":1.2.3") = 69 = 33 + "..." + 33
        (
            "1.2.3",
            "ECR scan: 3 CRITICAL in platform/very-long-namespace-segm...ong-namespace-segment/service-api:1.2.3",
        ),
        # one less (an odd 65 around the "..."): the tail, which holds the leaf name, keeps the extra character
        (
            "1.2.34",
            "ECR scan: 3 CRITICAL in platform/very-long-namespace-seg...ong-namespace-segment/service-api:1.2.34",
        ),
    ],
)
def test_a_long_repository_is_shortened_to_exactly_this_subject(tag: str, subject: str) -> None:
    result = scan(repository=LONG_REPOSITORY, image_tags=(tag,))
    assert notify.render(result, ["CRITICAL"], THRESHOLDS, "threshold_breached").subject == subject
    assert len(subject) == sns_message.SUBJECT_MAX


def test_console_url() -> None:
    assert notify.console_url(scan()) == CONSOLE_URL


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "us-east-1.console.aws.amazon.com"),
        ("il-central-1", "il-central-1.console.aws.amazon.com"),
        ("cn-north-1", "cn-north-1.console.amazonaws.cn"),
        ("cn-northwest-1", "cn-northwest-1.console.amazonaws.cn"),
        ("us-gov-west-1", "us-gov-west-1.console.amazonaws-us-gov.com"),
        ("us-gov-east-1", "us-gov-east-1.console.amazonaws-us-gov.com"),
        ("eusc-de-east-1", "eusc-de-east-1.console.amazonaws-eusc.eu"),
    ],
)
def test_console_links_are_on_the_console_of_the_region_partition(region: str, host: str) -> None:
    url = notify.console_url(scan(region=region))
    assert url == (
        f"https://{host}/ecr/repositories/private/{ACCOUNT}/team/app/_/image/{DIGEST}/scan-results?region={region}"
    )


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("eu-west-1", "aws"),
        ("us-east-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("eusc-de-east-1", "aws-eusc"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("us-isof-south-1", "aws-iso-f"),
        ("eu-isoe-west-1", "aws-iso-e"),
    ],
)
def test_partition_of_a_region(region: str, partition: str) -> None:
    assert notify.partition(region) == partition


@pytest.mark.parametrize("region", ["eu-west-1.evil.example#", "EU-WEST-1", "", "eu west 1"])
def test_a_region_that_is_not_one_never_becomes_part_of_the_host(region: str) -> None:
    url = notify.console_url(scan(region=region))
    assert url.startswith("https://console.aws.amazon.com/ecr/repositories/private/")
    assert url.count("#") == 0
    assert " " not in url


def test_an_odd_region_of_another_partition_keeps_that_partition_console_without_a_region_host() -> None:
    assert notify.console_url(scan(region="cn-north-1.example")).startswith("https://console.amazonaws.cn/ecr/")


def test_a_region_without_a_public_console_keeps_the_commercial_form() -> None:
    """The ISO partitions have no console reachable from outside them, and no documented host to link to."""
    assert notify.console_url(scan(region="us-iso-east-1")).startswith("https://us-iso-east-1.console.aws.amazon.com/")


def test_repository_and_digest_are_quoted_in_the_link() -> None:
    url = notify.console_url(scan(repository="team/a?b#c", image_digest="sha256:ab cd"))
    assert "/private/123456789012/team/a%3Fb%23c/_/image/sha256:ab%20cd/scan-results?region=" in url


def test_render_rejects_an_unknown_kind_or_an_empty_breach() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        notify.render(scan(), ["CRITICAL"], THRESHOLDS, "other")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one breached severity"):
        notify.render(scan(), [], THRESHOLDS, "threshold_breached")


@pytest.mark.usefixtures("moto")
@pytest.mark.parametrize("fifo", [False, True])
def test_publish_sends_structured_json_with_attributes(fifo: bool) -> None:
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    suffix = ".fifo" if fifo else ""
    topic_attributes = {"FifoTopic": "true"} if fifo else {}
    queue_attributes = {"FifoQueue": "true"} if fifo else {}
    topic = sns.create_topic(Name=f"findings{suffix}", Attributes=topic_attributes)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"inbox{suffix}", Attributes=queue_attributes)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    notification = notify.render(scan(), ["CRITICAL", "HIGH"], THRESHOLDS, "threshold_breached")

    message_id = sns_message.publish(sns, topic, notification)

    received = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert message_id
    assert len(received) == 1
    assert received[0]["Body"] == notification.message["sqs"]  # the sqs variant, delivered raw
    attributes = {k: v["StringValue"] for k, v in received[0]["MessageAttributes"].items()}
    assert attributes == dict(notification.attributes)
