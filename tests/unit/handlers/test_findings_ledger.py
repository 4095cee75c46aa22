"""handlers.findings with the scan ledger, against moto (SNS read back through an SQS subscription, DynamoDB):
notify on news, duplicates, resolved, the claim that keeps an alert from being lost or sent twice."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table

from ecr_scan_reporter.alerts import stage
from ecr_scan_reporter.alerts.findings import Finding, FindingsNotFound, ImageFindings
from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.handlers import findings, load_settings

TABLE = "esr-ledger"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-findings"
DIGEST = "sha256:" + "7f" * 32
Inbox = Callable[[], list[dict[str, Any]]]


class Scanner:
    """What the image's findings read returns (DescribeImageScanFindings through alerts/findings.py, replaced here)."""

    def __init__(self) -> None:
        self.findings: dict[str, str] | None = {}
        self.reads = 0

    def read(self, ecr: Any, registry_id: str | None, repository: str, digest: str) -> ImageFindings:
        self.reads += 1
        if self.findings is None:
            raise FindingsNotFound("no scan")
        found = tuple(Finding(id=i, severity=s) for i, s in self.findings.items())
        return ImageFindings(found, "COMPLETE", None, {})


@pytest.fixture
def scanner(monkeypatch: pytest.MonkeyPatch) -> Scanner:
    fake = Scanner()
    monkeypatch.setattr(stage.image_findings, "read_image_findings", fake.read)
    return fake


@pytest.fixture
def inbox(moto: None, monkeypatch: pytest.MonkeyPatch, scanner: Scanner) -> Iterator[Inbox]:
    monkeypatch.setenv("SNS_TOPIC_ARN", TOPIC_ARN)
    monkeypatch.setenv("LEDGER_TABLE_NAME", TABLE)
    monkeypatch.setenv("SEVERITY_THRESHOLDS", json.dumps({"CRITICAL": 0, "HIGH": 2}))
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="ecr-scan-findings")["TopicArn"]
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def delivered() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return out

    load_settings.cache_clear()
    yield delivered
    load_settings.cache_clear()


def scan_event(scanner: Scanner, found: dict[str, str], day: int = 0, status: str = "COMPLETE") -> dict[str, Any]:
    """An ECR Image Scan event for DIGEST whose counts match ``found`` (which the findings read will return)."""
    scanner.findings = dict(found)
    counts: dict[str, int] = {}
    for severity in found.values():
        counts[severity] = counts.get(severity, 0) + 1
    return {
        "version": "0",
        "id": f"event-{day}",
        "detail-type": "ECR Image Scan",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=day)).isoformat().replace("+00:00", "Z"),
        "region": REGION,
        "resources": [],
        "detail": {
            "scan-status": status,
            "repository-name": "team/app",
            "finding-severity-counts": counts,
            "image-digest": DIGEST,
            "image-tags": ["1.0"],
        },
    }


def doc(envelope: dict[str, Any]) -> dict[str, Any]:
    return json.loads(envelope["Message"])


def stored() -> ledger.LedgerRecord:
    record = ledger.get_record(boto3.client("dynamodb", region_name=REGION), TABLE, ACCOUNT, "team/app", DIGEST)
    assert record is not None
    return record


CVE1, CVE2, CVE3 = "CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003"


def test_first_breach_notifies_with_its_new_findings_and_records_them(inbox: Inbox, scanner: Scanner) -> None:
    response = findings.handler(scan_event(scanner, {CVE1: "CRITICAL", CVE2: "HIGH", CVE3: "MEDIUM"}), None)
    assert (response["status"], response["event_type"]) == ("notified", "threshold_breached")
    (envelope,) = inbox()
    assert doc(envelope)["new_findings"] == [{"id": CVE1, "severity": "CRITICAL"}]
    assert envelope["MessageAttributes"]["event_type"]["Value"] == "threshold_breached"
    record = stored()
    assert record.notified_findings == {CVE1}
    assert record.findings == {CVE1: "CRITICAL", CVE2: "HIGH", CVE3: "MEDIUM"}
    assert (record.pending_token, record.notified_type, record.breached) == (None, "threshold_breached", ("CRITICAL",))


def test_a_second_identical_result_sends_nothing(inbox: Inbox, scanner: Scanner) -> None:
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}, day=0), None)
    response = findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}, day=7), None)
    assert (response["status"], response["reason"]) == ("not_news", "already_notified")
    assert len(inbox()) == 1
    assert stored().scan_completed_at == datetime(2026, 11, 8, tzinfo=UTC)


def test_one_more_cve_sends_one_alert_listing_exactly_it(inbox: Inbox, scanner: Scanner) -> None:
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}, day=0), None)
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL", CVE2: "CRITICAL"}, day=7), None)
    _, second = inbox()
    assert doc(second)["new_findings"] == [{"id": CVE2, "severity": "CRITICAL"}]
    assert doc(second)["type"] == "threshold_breached"


def test_within_thresholds_sends_resolved(inbox: Inbox, scanner: Scanner) -> None:
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}, day=0), None)
    response = findings.handler(scan_event(scanner, {CVE2: "HIGH"}, day=7), None)
    assert response["event_type"] == "resolved"
    _, resolved = inbox()
    assert (doc(resolved)["type"], doc(resolved)["breached"]) == ("resolved", [])
    assert resolved["MessageAttributes"]["event_type"]["Value"] == "resolved"
    assert findings.handler(scan_event(scanner, {}, day=14), None)["status"] == "not_news"


def test_the_same_event_delivered_twice_notifies_once(inbox: Inbox, scanner: Scanner) -> None:
    event = scan_event(scanner, {CVE1: "CRITICAL"})
    assert findings.handler(event, None)["status"] == "notified"
    assert findings.handler(event, None)["status"] == "duplicate"
    assert len(inbox()) == 1


def test_a_late_older_event_changes_nothing(inbox: Inbox, scanner: Scanner) -> None:
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}, day=7), None)
    before = stored()
    assert findings.handler(scan_event(scanner, {CVE2: "CRITICAL"}, day=0), None)["status"] == "duplicate"
    assert stored() == before
    assert len(inbox()) == 1


def test_a_duplicate_while_the_first_delivery_is_publishing_is_dropped(inbox: Inbox, scanner: Scanner) -> None:
    """The concurrent case: the first delivery has claimed (written its record with a live claim) and not yet
    confirmed; the second delivery sees the live claim for the same scan and sends nothing."""
    event = scan_event(scanner, {CVE1: "CRITICAL"})
    findings.handler(event, None)
    client = boto3.client("dynamodb", region_name=REGION)
    live = replace(stored(), pending_token="other", pending_until=datetime.now(UTC) + timedelta(minutes=1))
    assert ledger.put_record(client, TABLE, live, live.revision) is not None
    inbox()
    response = findings.handler(event, None)
    assert (response["status"], response["reason"]) == ("duplicate", "notification_in_flight")
    assert inbox() == []


def test_a_newer_result_waits_for_a_live_claim(inbox: Inbox, scanner: Scanner) -> None:
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}), None)
    client = boto3.client("dynamodb", region_name=REGION)
    live = replace(stored(), pending_token="other", pending_until=datetime.now(UTC) + timedelta(minutes=1))
    ledger.put_record(client, TABLE, live, live.revision)
    with pytest.raises(stage.NotificationInFlight):
        findings.handler(scan_event(scanner, {CVE1: "CRITICAL", CVE2: "CRITICAL"}, day=7), None)


def test_a_claim_left_by_a_dead_invocation_is_sent_by_the_retry(
    inbox: Inbox, scanner: Scanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function dies after its claim and before SNS accepted the message: Lambda retries the event after
    the claim's deadline; the retry publishes the claimed notification once, and nothing else."""
    event = scan_event(scanner, {CVE1: "CRITICAL", CVE2: "CRITICAL"})

    def crash(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("killed before SNS accepted the message")

    monkeypatch.setattr(stage.sns_message, "publish", crash)
    with pytest.raises(RuntimeError):
        findings.handler(event, None)
    monkeypatch.undo()
    monkeypatch.setattr(stage.image_findings, "read_image_findings", scanner.read)
    claimed = stored()
    assert claimed.pending_type == "threshold_breached"
    assert claimed.pending_new_findings == {CVE1: "CRITICAL", CVE2: "CRITICAL"}
    assert inbox() == []

    client = boto3.client("dynamodb", region_name=REGION)
    expired = replace(claimed, pending_until=datetime.now(UTC) - timedelta(seconds=1))
    ledger.put_record(client, TABLE, expired, claimed.revision)  # time passes: the claim's deadline is over

    assert findings.handler(event, None)["status"] == "duplicate"  # the retry
    (envelope,) = inbox()
    assert doc(envelope)["new_findings"] == [{"id": CVE1, "severity": "CRITICAL"}, {"id": CVE2, "severity": "CRITICAL"}]
    assert stored().pending_token is None
    assert findings.handler(event, None)["status"] == "duplicate"
    assert inbox() == []


def test_when_findings_cannot_be_read_the_counts_decide(inbox: Inbox, scanner: Scanner) -> None:
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}, day=0), None)
    event = scan_event(scanner, {CVE1: "CRITICAL", CVE2: "CRITICAL"}, day=7)
    scanner.findings = None
    response = findings.handler(event, None)
    assert (response["status"], response["reason"]) == ("notified", "counts_grew")
    _, second = inbox()
    assert doc(second)["new_findings"] == []
    assert stored().findings == {CVE1: "CRITICAL"}  # the last known findings are kept


def test_a_failed_scan_notifies_once_per_reason(inbox: Inbox, scanner: Scanner) -> None:
    first = findings.handler(scan_event(scanner, {}, day=0, status="FAILED"), None)
    second = findings.handler(scan_event(scanner, {}, day=1, status="FAILED"), None)
    assert (first["event_type"], second["status"]) == ("scan_failed", "not_news")
    assert len(inbox()) == 1


def test_every_scan_restores_the_old_behaviour(inbox: Inbox, scanner: Scanner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_ON", "every_scan")
    load_settings.cache_clear()
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}, day=0), None)
    findings.handler(scan_event(scanner, {CVE1: "CRITICAL"}, day=7), None)
    assert [doc(e)["type"] for e in inbox()] == ["threshold_breached", "threshold_breached"]


def test_an_image_with_very_many_findings_keeps_the_most_severe_within_an_item(
    inbox: Inbox, scanner: Scanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger.record, "FINDINGS_BUDGET", 15 + 15 + 10)  # map entries: 1 + len(id) + len(severity)
    found = {"CVE-L": "LOW", "CVE-C2": "CRITICAL", "CVE-M": "MEDIUM", "CVE-C1": "CRITICAL", "CVE-H": "HIGH"}
    findings.handler(scan_event(scanner, found), None)
    assert stored().findings == {"CVE-C1": "CRITICAL", "CVE-C2": "CRITICAL", "CVE-H": "HIGH"}
    assert stored().findings_omitted == 2
