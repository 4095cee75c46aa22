"""handlers.findings, issue 10, against moto: findings in the message, suppressions (stored in the ledger table)
keeping an image below its threshold until they expire, Inspector's LOW count, bursts of Inspector2 Finding events
reported once per image, the chat topic, and a notification SNS refuses."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table

from ecr_scan_reporter.alerts import notify, stage, suppression_store, suppressions
from ecr_scan_reporter.alerts.findings import Finding, FindingsNotFound, ImageFindings
from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.handlers import findings, load_settings

TABLE = "esr-ledger"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-findings"
CHAT_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-chat"
DIGEST = "sha256:" + "5e" * 32
OTHER = "sha256:" + "6f" * 32
FIXTURES = Path(__file__).parents[1] / "fixtures" / "events"
TODAY = datetime.now(UTC).date()
Inbox = Callable[[str], list[dict[str, Any]]]


class Reader:
    """The findings the image reads return, per digest (replaces ECR's and Inspector's API calls)."""

    def __init__(self) -> None:
        self.by_digest: dict[str, list[Finding]] = {}
        self.error: Exception | None = None
        self.calls: list[tuple[str, str]] = []

    def _read(self, kind: str, digest: str) -> ImageFindings:
        self.calls.append((kind, digest))
        if self.error:
            raise self.error
        found = tuple(self.by_digest.get(digest, []))
        return ImageFindings(found, "COMPLETE" if kind == "ecr" else "ACTIVE", None, {})

    def ecr(self, client: Any, registry_id: str | None, repository: str, digest: str) -> ImageFindings:
        return self._read("ecr", digest)

    def inspector(self, client: Any, registry_id: str, repository: str, digest: str) -> ImageFindings:
        return self._read("inspector2", digest)


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> Reader:
    fake = Reader()
    monkeypatch.setattr(stage.image_findings, "read_image_findings", fake.ecr)
    monkeypatch.setattr(stage.image_findings, "read_inspector_findings", fake.inspector)
    return fake


@pytest.fixture
def inbox(moto: None, monkeypatch: pytest.MonkeyPatch, reader: Reader) -> Iterator[Inbox]:
    """Ledger table, findings topic and chat topic in moto, each topic with an SQS subscriber (raw delivery)."""
    monkeypatch.setenv("SNS_TOPIC_ARN", TOPIC_ARN)
    monkeypatch.setenv("LEDGER_TABLE_NAME", TABLE)
    monkeypatch.setenv("SEVERITY_THRESHOLDS", json.dumps({"CRITICAL": 0, "HIGH": 1, "LOW": 2}))
    monkeypatch.setenv("FINDINGS_IN_NOTIFICATION", "2")
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    queues = {}
    for name in ("ecr-scan-findings", "ecr-scan-chat"):
        topic = sns.create_topic(Name=name)["TopicArn"]
        queue = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        queues[topic] = queue

    def delivered(topic: str = TOPIC_ARN) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=queues[topic], MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                body = m["Body"]
                out.append(json.loads(body) if body.startswith("{") else {"text": body})
                sqs.delete_message(QueueUrl=queues[topic], ReceiptHandle=m["ReceiptHandle"])
        return out

    load_settings.cache_clear()
    suppression_store.clear_cache()
    yield delivered
    load_settings.cache_clear()
    suppression_store.clear_cache()


def store_suppressions(
    monkeypatch: pytest.MonkeyPatch, entries: list[dict[str, Any]], env_hash: str | None = None
) -> None:
    """What the module's aws_dynamodb_table_item writes, and the hash it puts in the environment."""
    text = suppressions.document(entries)
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "config#suppressions"},
            "digest": {"S": "document"},
            "document": {"S": text},
            "sha256": {"S": suppressions.document_hash(text)},
        },
    )
    monkeypatch.setenv("SUPPRESSIONS_SHA256", env_hash or suppressions.document_hash(text))
    load_settings.cache_clear()


def suppression(vid: str, expires: date, regex: str | None = None) -> dict[str, Any]:
    return {"vulnerability_id": vid, "repository_regex": regex, "expires": expires.isoformat(), "reason": "accepted"}


def ecr_event(counts: dict[str, int], day: int = 0, digest: str = DIGEST) -> dict[str, Any]:
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
            "scan-status": "COMPLETE",
            "repository-name": "team/api",
            "finding-severity-counts": counts,
            "image-digest": digest,
            "image-tags": ["2.0"],
        },
    }


CRIT = Finding("CVE-2026-1000", "CRITICAL", "openssl", "3.0.1", "3.0.9", "https://nvd.example/1000", 9.8)
HIGH1 = Finding("CVE-2026-2000", "HIGH", "curl", "8.0", None, "https://nvd.example/2000", 7.5)
HIGH2 = Finding("CVE-2026-2001", "HIGH", "zlib", "1.2", "1.3", None, 8.1)


# --- findings and suppressions --------------------------------------------------------------------------------------


def test_the_message_lists_the_most_severe_findings(inbox: Inbox, reader: Reader) -> None:
    reader.by_digest[DIGEST] = [HIGH1, CRIT, HIGH2]
    response = findings.handler(ecr_event({"CRITICAL": 1, "HIGH": 2}), None)

    assert response["status"] == "notified"
    (doc,) = inbox()
    assert [f["id"] for f in doc["findings"]] == ["CVE-2026-1000", "CVE-2026-2001"]  # 2 listed, by severity, score
    assert (doc["findings_total"], doc["suppressed"], doc["expired_suppressions"]) == (3, 0, [])
    assert reader.calls == [("ecr", DIGEST)]


def test_a_suppressed_cve_keeps_the_image_below_its_threshold(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_suppressions(monkeypatch, [suppression("cve-2026-1000", TODAY + timedelta(days=1), regex="^team/")])
    reader.by_digest[DIGEST] = [CRIT, HIGH1]

    response = findings.handler(ecr_event({"CRITICAL": 1, "HIGH": 1}), None)

    assert (response["status"], response["reason"]) == ("not_news", "within_thresholds")
    assert inbox() == []
    # recorded apart: the decisions read the findings that count, the report sees the accepted ones too
    record = ledger.get_record(boto3.client("dynamodb", region_name=REGION), TABLE, ACCOUNT, "team/api", DIGEST)
    assert record is not None
    assert dict(record.findings) == {"CVE-2026-2000": "HIGH"}
    assert dict(record.suppressed_findings) == {"CVE-2026-1000": "CRITICAL"}

    reader.by_digest[DIGEST] = [HIGH1]  # the next result no longer has the accepted finding
    findings.handler(ecr_event({"HIGH": 1}, day=1), None)
    record = ledger.get_record(boto3.client("dynamodb", region_name=REGION), TABLE, ACCOUNT, "team/api", DIGEST)
    assert record is not None
    assert dict(record.suppressed_findings) == {}


def test_a_suppression_for_another_repository_does_not_apply(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_suppressions(monkeypatch, [suppression("CVE-2026-1000", TODAY + timedelta(days=30), regex="^other/")])
    reader.by_digest[DIGEST] = [CRIT]
    assert findings.handler(ecr_event({"CRITICAL": 1}), None)["status"] == "notified"


def test_an_expired_suppression_counts_again_and_is_named(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_suppressions(
        monkeypatch,
        [suppression("CVE-2026-1000", TODAY), suppression("CVE-2026-2000", TODAY + timedelta(days=1))],
    )  # the first expires today: it no longer applies
    reader.by_digest[DIGEST] = [CRIT, HIGH1, HIGH2]

    response = findings.handler(ecr_event({"CRITICAL": 1, "HIGH": 2}), None)

    assert response["status"] == "notified"
    (doc,) = inbox()
    assert doc["severity_counts"]["CRITICAL"] == 1
    assert doc["severity_counts"]["HIGH"] == 1  # one of the two HIGH is still suppressed
    assert doc["breached"] == ["CRITICAL"]
    assert (doc["findings_total"], doc["suppressed"]) == (2, 1)
    assert [e["vulnerability_id"] for e in doc["expired_suppressions"]] == ["CVE-2026-1000"]
    assert doc["expired_suppressions"][0]["expires"] == TODAY.isoformat()


def test_suppressions_that_cannot_be_read_are_said_so(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SUPPRESSIONS_SHA256", "0" * 64)  # no item stored
    reader.by_digest[DIGEST] = [CRIT]

    assert findings.handler(ecr_event({"CRITICAL": 1}), None)["status"] == "notified"
    (doc,) = inbox()
    assert "no suppressions item" in doc["suppressions_unavailable"]
    assert any(r.getMessage() == "suppressions_unavailable" and r.levelno == logging.ERROR for r in caplog.records)


def test_a_stored_list_of_another_version_is_not_applied_and_every_finding_counts(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Only the list SUPPRESSIONS_SHA256 names is used: a stored list with another hash (changed outside Terraform,
    or a deployment half done) applies nothing; the finding it would hide is alerted, the notification and a metric
    say suppressions were not applied, and the log says why."""
    store_suppressions(monkeypatch, [suppression("CVE-2026-1000", TODAY + timedelta(days=1))], env_hash="1" * 64)
    reader.by_digest[DIGEST] = [CRIT]

    response = findings.handler(ecr_event({"CRITICAL": 1}), None)

    assert (response["status"], response["breached"]) == ("notified", ["CRITICAL"])
    (doc,) = inbox()
    assert doc["suppressed"] == 0
    assert "not the version the function expects" in doc["suppressions_unavailable"]
    (line,) = [r for r in caplog.records if r.getMessage() == "suppressions_version_mismatch"]
    assert line.levelno == logging.ERROR
    assert line.expected_sha256 == "1" * 64  # type: ignore[attr-defined]


def test_suppressions_not_applied_are_counted_in_a_metric(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store_suppressions(monkeypatch, [suppression("CVE-2026-2000", TODAY + timedelta(days=1))], env_hash="2" * 64)
    reader.by_digest[DIGEST] = [HIGH1]  # within the HIGH threshold either way: nothing is sent
    capsys.readouterr()
    assert findings.handler(ecr_event({"HIGH": 1}), None)["status"] == "not_news"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [line.get("SuppressionsNotApplied") for line in lines if "SuppressionsNotApplied" in line] == [1]

    store_suppressions(monkeypatch, [suppression("CVE-2026-2000", TODAY + timedelta(days=1))])  # the right hash
    findings.handler(ecr_event({"HIGH": 1}, day=1), None)
    assert "SuppressionsNotApplied" not in capsys.readouterr().out


def test_findings_that_cannot_be_read_leave_the_counts_to_decide(inbox: Inbox, reader: Reader) -> None:
    reader.error = FindingsNotFound("DescribeImageScanFindings: ScanNotFoundException: none")
    assert findings.handler(ecr_event({"CRITICAL": 2}), None)["status"] == "notified"
    (doc,) = inbox()
    assert doc["findings_unavailable"].startswith("DescribeImageScanFindings: ScanNotFoundException")
    assert (doc["findings"], doc["findings_total"], doc["severity_counts"]["CRITICAL"]) == ([], None, 2)


# --- Inspector: the real LOW count ----------------------------------------------------------------------------------


def inspector_scan_event() -> dict[str, Any]:
    event = json.loads((FIXTURES / "ecr-enhanced-events-doc_inspector2-scan-initial.json").read_text())
    event["detail"]["finding-severity-counts"] = {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "TOTAL": 3}
    return event


def test_inspector_scan_low_threshold_uses_the_real_low_count(inbox: Inbox, reader: Reader) -> None:
    digest = inspector_scan_event()["detail"]["image-digest"]
    reader.by_digest[digest] = [Finding(f"CVE-2026-300{i}", "LOW") for i in range(3)]

    response = findings.handler(inspector_scan_event(), None)

    assert response["status"] == "notified"
    (doc,) = inbox()
    assert (doc["severity_counts"]["LOW"], doc["breached"]) == (3, ["LOW"])
    assert reader.calls == [("inspector2", digest)]


def test_inspector_low_not_read_as_zero_when_inspector_cannot_be_read(
    inbox: Inbox, reader: Reader, caplog: pytest.LogCaptureFixture
) -> None:
    reader.error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListFindings")
    assert findings.handler(inspector_scan_event(), None)["status"] == "not_news"  # CRITICAL/HIGH/MEDIUM are 0
    (line,) = [r for r in caplog.records if r.getMessage() == "threshold_not_evaluated"]
    assert line.severities == ["LOW"]  # type: ignore[attr-defined]
    record = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE)["Items"][0]
    assert "LOW" not in record["severity_counts"]["M"]  # never recorded as 0


# --- Inspector2 Finding bursts --------------------------------------------------------------------------------------


def finding_event(digest: str, cve: str, severity: str, minute: int, status: str = "ACTIVE") -> dict[str, Any]:
    event = json.loads((FIXTURES / "inspector-eventbridge-doc_inspector2-finding-ecr.json").read_text())
    event["region"] = REGION
    event["time"] = f"2026-11-02T10:{minute:02d}:00Z"
    detail = event["detail"]
    detail.update(severity=severity, status=status)
    detail["packageVulnerabilityDetails"]["vulnerabilityId"] = cve
    image = detail["resources"][0]["details"]["awsEcrContainerImage"]
    image.update(imageHash=digest, registry=ACCOUNT, repositoryName="team/api")
    detail["resources"][0]["region"] = REGION
    return event


def sqs_batch(bodies: list[Any]) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{i}", "body": b if isinstance(b, str) else json.dumps(b), "eventSource": "aws:sqs"}
            for i, b in enumerate(bodies)
        ]
    }


def test_a_burst_notifies_once_per_image(inbox: Inbox, reader: Reader) -> None:
    reader.by_digest[DIGEST] = [CRIT, HIGH1]
    reader.by_digest[OTHER] = [Finding("CVE-2026-9000", "MEDIUM")]
    ec2 = finding_event(DIGEST, "CVE-1", "HIGH", 0)
    ec2["detail"]["resources"] = [{"type": "AWS_EC2_INSTANCE", "id": "i-1", "details": {}}]
    burst = [finding_event(DIGEST, CRIT.id, "CRITICAL", m) for m in range(4)]
    burst += [finding_event(DIGEST, HIGH1.id, "HIGH", 5), finding_event(OTHER, "CVE-2026-9000", "MEDIUM", 6), ec2]
    burst += ["not json", {"source": "aws.inspector2", "detail-type": "Inspector2 Finding", "detail": {}}]

    response = findings.handler(sqs_batch(burst), None)

    assert response == {"batchItemFailures": [{"itemIdentifier": "m7"}, {"itemIdentifier": "m8"}]}  # the bad ones
    assert sorted(reader.calls) == [("inspector2", DIGEST), ("inspector2", OTHER)]  # one read per image
    (doc,) = inbox()  # OTHER is below its thresholds
    assert (doc["image_digest"], doc["breached"]) == (DIGEST, ["CRITICAL"])
    assert [f["id"] for f in doc["findings"]] == [CRIT.id, HIGH1.id]
    assert doc["scan_completed_at"] == "2026-11-02T10:05:00Z"  # the latest event of the image

    # The burst goes on in the next batch with nothing new: the ledger remembers, nothing is sent.
    findings.handler(sqs_batch([finding_event(DIGEST, HIGH1.id, "HIGH", 9)]), None)
    assert inbox() == []

    # A new CRITICAL later: one notification listing exactly it as new.
    reader.by_digest[DIGEST] = [CRIT, HIGH1, Finding("CVE-2026-1001", "CRITICAL")]
    findings.handler(sqs_batch([finding_event(DIGEST, "CVE-2026-1001", "CRITICAL", 30)]), None)
    (doc,) = inbox()
    assert doc["new_findings"] == [{"id": "CVE-2026-1001", "severity": "CRITICAL"}]


def test_closed_findings_resolve_the_image(inbox: Inbox, reader: Reader) -> None:
    reader.by_digest[DIGEST] = [CRIT]
    findings.handler(sqs_batch([finding_event(DIGEST, CRIT.id, "CRITICAL", 0)]), None)
    assert len(inbox()) == 1
    reader.by_digest[DIGEST] = []  # Inspector closed it
    findings.handler(sqs_batch([finding_event(DIGEST, CRIT.id, "CRITICAL", 10, status="CLOSED")]), None)
    (doc,) = inbox()
    assert doc["type"] == "resolved"


def test_an_image_that_cannot_be_read_is_retried_alone(inbox: Inbox, reader: Reader) -> None:
    reader.error = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "ListFindings")
    batch = sqs_batch([finding_event(DIGEST, CRIT.id, "CRITICAL", 0), finding_event(DIGEST, HIGH1.id, "HIGH", 1)])
    assert findings.handler(batch, None) == {"batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
    assert inbox() == []


def test_a_burst_larger_than_the_invocation_hands_the_rest_back(inbox: Inbox, reader: Reader) -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 50_000 if len(reader.calls) < 2 else 5_000  # time runs out once two images were read

    digests = [f"sha256:{i:064x}" for i in range(4)]
    for digest in digests:
        reader.by_digest[digest] = [Finding(f"CVE-2026-{digest[-4:]}", "CRITICAL")]
    batch = sqs_batch([finding_event(d, f"CVE-2026-{d[-4:]}", "CRITICAL", i) for i, d in enumerate(digests)])

    response = findings.handler(batch, Context())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert [d for _, d in reader.calls] == digests[:2]
    assert sorted(doc["image_digest"] for doc in inbox()) == digests[:2]


def test_finding_events_of_unselected_repositories_are_ignored(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPOSITORY_EXCLUDE_REGEX", "^team/")
    load_settings.cache_clear()
    assert findings.handler(sqs_batch([finding_event(DIGEST, CRIT.id, "CRITICAL", 0)]), None) == {
        "batchItemFailures": []
    }
    assert reader.calls == []


# --- delivery: the chat topic, a refused message ---------------------------------------------------------------------


def test_the_chat_topic_gets_the_custom_notification(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_TOPIC_ARN", CHAT_ARN)
    load_settings.cache_clear()
    reader.by_digest[DIGEST] = [CRIT]

    findings.handler(ecr_event({"CRITICAL": 1}), None)

    assert len(inbox()) == 1
    (chat,) = inbox(CHAT_ARN)
    assert (chat["version"], chat["source"], chat["content"]["textType"]) == ("1.0", "custom", "client-markdown")
    assert chat["content"]["title"] == ":rotating_light: ECR scan: 1 CRITICAL in team/api:2.0"
    assert "`CVE-2026-1000` openssl 3.0.1 -> 3.0.9" in chat["content"]["description"]


def test_a_chat_failure_does_not_lose_the_notification(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CHAT_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:deleted-chat")
    load_settings.cache_clear()
    reader.by_digest[DIGEST] = [CRIT]
    assert findings.handler(ecr_event({"CRITICAL": 1}), None)["status"] == "notified"
    assert len(inbox()) == 1
    assert any(r.getMessage() == "chat_notification_failed" for r in caplog.records)


def refuse(code: str) -> Callable[..., str]:
    def publish(*args: Any, **kwargs: Any) -> str:
        raise ClientError({"Error": {"Code": code, "Message": "Message too long"}}, "Publish")

    return publish


def test_a_refused_notification_is_logged_and_replaced_by_a_notice(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(stage.sns_message, "publish", refuse("InvalidParameter"))
    reader.by_digest[DIGEST] = [CRIT]

    response = findings.handler(ecr_event({"CRITICAL": 1}), None)

    assert response["status"] == "notified"
    (notice,) = inbox()
    assert "could not be delivered: SNS refused it (InvalidParameter: Message too long)" in notice["text"]
    assert f"team/api@{DIGEST}" in notice["text"]
    (line,) = [r for r in caplog.records if r.getMessage() == "notification_undeliverable"]
    assert (line.levelno, line.image_digest, line.retryable) == (logging.ERROR, DIGEST, False)  # type: ignore[attr-defined]
    # Recorded as sent: the same result delivered again changes nothing (no loop).
    assert findings.handler(ecr_event({"CRITICAL": 1}), None)["status"] == "duplicate"


def test_when_the_notice_is_refused_too_the_invocation_fails(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stage.sns_message, "publish", refuse("InvalidParameter"))
    monkeypatch.setenv("SNS_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:missing-topic")
    load_settings.cache_clear()
    reader.by_digest[DIGEST] = [CRIT]
    with pytest.raises(stage.UndeliverableNotification, match="InvalidParameter"):
        findings.handler(ecr_event({"CRITICAL": 1}), None)


def test_a_retryable_publish_error_raises_for_lambda_to_retry(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stage.sns_message, "publish", refuse("Throttling"))
    reader.by_digest[DIGEST] = [CRIT]
    with pytest.raises(ClientError, match="Throttling"):
        findings.handler(ecr_event({"CRITICAL": 1}), None)
    assert inbox() == []


def test_notify_render_is_what_is_sent(inbox: Inbox, reader: Reader) -> None:
    """The handler sends notify's rendering unchanged (subject, attributes): one renderer."""
    reader.by_digest[DIGEST] = [CRIT]
    findings.handler(ecr_event({"CRITICAL": 1}), None)
    (doc,) = inbox()
    assert doc["console_url"] == notify.console_url(findings.events.parse(ecr_event({"CRITICAL": 1})))
