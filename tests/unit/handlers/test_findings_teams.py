"""handlers.findings with teams (issue 19), against moto: each team's thresholds and settings decide for its
repositories and its topic receives them; the tag decides before the regexes; an unowned repository goes to the
module's topic; the module's topic gets every notification or only the unowned ones; a repository that changes
owner alerts its new owner once; count_only_fixable and alert_on_exploitable; teams that cannot be read
(retried)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table

from ecr_scan_reporter.alerts import routing, suppression_store
from ecr_scan_reporter.alerts.findings import Finding
from ecr_scan_reporter.core import config_items, ledger, teams
from ecr_scan_reporter.handlers import findings, load_settings
from handlers.test_findings_alerts import TABLE, TOPIC_ARN, Reader

DIGEST = "sha256:" + "7a" * 32
STRICT_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:esr-payments"
LENIENT_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:esr-tools"
TOPICS = {"module": TOPIC_ARN, "payments": STRICT_ARN, "tools": LENIENT_ARN}
HIGH = Finding("CVE-2026-3000", "HIGH", "curl", "8.0", "8.1", None, 7.5)
Inbox = Callable[[str], list[dict[str, Any]]]


@pytest.fixture(name="reader")
def _reader(monkeypatch: pytest.MonkeyPatch) -> Reader:
    fake = Reader()
    monkeypatch.setattr(findings.stage.image_findings, "read_image_findings", fake.ecr)
    monkeypatch.setattr(findings.stage.image_findings, "read_inspector_findings", fake.inspector)
    return fake


@pytest.fixture
def inbox(moto: None, monkeypatch: pytest.MonkeyPatch, reader: Reader) -> Iterator[Inbox]:
    """The ledger table, the module's topic and two team topics in moto, each with an SQS subscriber."""
    monkeypatch.setenv("SNS_TOPIC_ARN", TOPIC_ARN)
    monkeypatch.setenv("LEDGER_TABLE_NAME", TABLE)
    monkeypatch.setenv("SEVERITY_THRESHOLDS", json.dumps({"CRITICAL": 0, "HIGH": 0}))
    monkeypatch.setenv("TEAM_TAG_CACHE_SECONDS", "0")
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    queues = {}
    for name, arn in TOPICS.items():
        sns.create_topic(Name=arn.rsplit(":", 1)[1])
        queue = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
        queues[name] = queue

    def delivered(name: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while messages := sqs.receive_message(
            QueueUrl=queues[name], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for m in messages:
                doc = json.loads(m["Body"])
                doc["_attributes"] = {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}
                out.append(doc)
                sqs.delete_message(QueueUrl=queues[name], ReceiptHandle=m["ReceiptHandle"])
        return out

    clear()
    yield delivered
    clear()


def clear() -> None:
    load_settings.cache_clear()
    suppression_store.clear_cache()
    config_items.clear_cache()
    routing.TAGS.clear()


def store_teams(monkeypatch: pytest.MonkeyPatch, entries: list[dict[str, Any]], **document: Any) -> str:
    """What the module's aws_dynamodb_table_item.teams writes, and the hash it puts in the environment."""
    text = teams.document(entries, **({"tag_key": "team"} | document))
    sha = config_items.document_hash(text)
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=TABLE,
        Item={**config_items.key("teams"), "document": {"S": text}, "sha256": {"S": sha}},
    )
    monkeypatch.setenv("TEAMS_SHA256", sha)
    load_settings.cache_clear()
    return sha


def team(name: str, regex: str | None, **fields: Any) -> dict[str, Any]:
    return {"name": name, "repository_regex": regex, "topic_arn": TOPICS[name], "settings": {}} | fields


TWO_TEAMS = [
    team("payments", "^pay", settings={"severity_thresholds": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": None}}),
    team(
        "tools", "^tools", settings={"severity_thresholds": {"CRITICAL": 0, "HIGH": None, "MEDIUM": None, "LOW": None}}
    ),
]


def repository(name: str, tags: dict[str, str] | None = None) -> None:
    boto3.client("ecr", region_name=REGION).create_repository(
        repositoryName=name, tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    )


def event(repo: str, counts: dict[str, int], day: int = 0, source: str = "aws.ecr") -> dict[str, Any]:
    time = (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=day)).isoformat().replace("+00:00", "Z")
    return {
        "version": "0",
        "id": f"event-{repo}-{day}",
        "detail-type": "ECR Image Scan",
        "source": source,
        "account": ACCOUNT,
        "time": time,
        "region": REGION,
        "resources": [],
        "detail": {
            "scan-status": "COMPLETE",
            "repository-name": repo,
            "finding-severity-counts": counts,
            "image-digest": DIGEST,
            "image-tags": ["1.0"],
        },
    }


def test_the_same_result_alerts_the_strict_team_and_not_the_lenient_one(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_teams(monkeypatch, TWO_TEAMS, module_topic="unowned")
    repository("payments/api")
    repository("tools/cli")
    reader.by_digest[DIGEST] = [HIGH]

    strict = findings.handler(event("payments/api", {"HIGH": 1}), None)
    lenient = findings.handler(event("tools/cli", {"HIGH": 1}), None)

    assert (strict["status"], strict["team"], strict["team_by"]) == ("notified", "payments", "repository_regex")
    assert (lenient["status"], lenient["team"]) == ("not_news", "tools")  # HIGH ignored by tools
    (doc,) = inbox("payments")
    assert doc["team"] == "payments"
    assert doc["_attributes"]["team"] == "payments"  # what an SNS filter policy selects on
    assert doc["thresholds"]["HIGH"] == 0
    assert inbox("tools") == []
    assert inbox("module") == []  # module_topic = unowned


def test_the_module_topic_receives_every_notification_by_default(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_teams(monkeypatch, TWO_TEAMS)
    repository("payments/api")
    reader.by_digest[DIGEST] = [HIGH]
    findings.handler(event("payments/api", {"HIGH": 1}), None)
    assert [d["team"] for d in inbox("payments")] == ["payments"]
    assert [d["team"] for d in inbox("module")] == ["payments"]  # the security team's view


def test_an_unowned_repository_goes_to_the_module_topic_with_the_module_thresholds(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_teams(monkeypatch, TWO_TEAMS, module_topic="unowned")
    repository("misc/thing")
    reader.by_digest[DIGEST] = [HIGH]
    response = findings.handler(event("misc/thing", {"HIGH": 1}), None)
    assert (response["status"], response["team"], response["team_by"]) == ("notified", None, "nobody")
    (doc,) = inbox("module")
    assert doc["team"] is None
    assert "team" not in doc["_attributes"]
    assert inbox("payments") == inbox("tools") == []


def test_the_tag_decides_before_the_regexes(inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch) -> None:
    store_teams(monkeypatch, TWO_TEAMS, module_topic="unowned")
    repository("payments/legacy", {"team": "tools"})  # matches payments' regex, tagged for tools
    reader.by_digest[DIGEST] = [HIGH]
    response = findings.handler(event("payments/legacy", {"HIGH": 1}), None)
    assert (response["status"], response["team"], response["team_by"]) == ("not_news", "tools", "tag")
    assert inbox("payments") == []


def test_a_repository_that_changes_owner_alerts_its_new_owner_once(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    both_strict = [
        team("payments", "^pay"),
        team("tools", "^tools"),
    ]
    store_teams(monkeypatch, both_strict, module_topic="unowned")
    repository("payments/api")
    reader.by_digest[DIGEST] = [HIGH]
    assert findings.handler(event("payments/api", {"HIGH": 1}), None)["status"] == "notified"
    assert findings.handler(event("payments/api", {"HIGH": 1}, day=1), None)["status"] == "not_news"
    assert len(inbox("payments")) == 1

    ecr = boto3.client("ecr", region_name=REGION)
    arn = ecr.describe_repositories(repositoryNames=["payments/api"])["repositories"][0]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "tools"}])

    moved = findings.handler(event("payments/api", {"HIGH": 1}, day=2), None)
    again = findings.handler(event("payments/api", {"HIGH": 1}, day=3), None)
    assert (moved["status"], moved["team"], moved["reason"]) == ("notified", "tools", "first_breach")
    assert (again["status"], again["team"]) == ("not_news", "tools")
    assert [d["new_findings"] for d in inbox("tools")] == [[{"id": "CVE-2026-3000", "severity": "HIGH"}]]
    assert inbox("payments") == []  # nothing sent twice, and no "resolved" to the old owner
    record = ledger.get_record(boto3.client("dynamodb", region_name=REGION), TABLE, ACCOUNT, "payments/api", DIGEST)
    assert record is not None
    assert record.notified_team == "tools"


def test_count_only_fixable_leaves_findings_without_a_fix_out(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_teams(monkeypatch, [team("payments", "^pay", count_only_fixable=True)], module_topic="unowned")
    repository("payments/api")
    no_fix = Finding(
        "CVE-2026-4000", "HIGH", "glibc", "2.36", None, None, 7.0, origin="inspector2", fix_available=False
    )
    reader.by_digest[DIGEST] = [no_fix]
    quiet = findings.handler(event("payments/api", {"HIGH": 1}), None)
    assert (quiet["status"], quiet["reason"]) == ("not_news", "within_thresholds")

    fixable = Finding("CVE-2026-4001", "HIGH", "curl", "8.0", "8.1", None, 7.0, origin="inspector2", fix_available=True)
    reader.by_digest[DIGEST] = [no_fix, fixable]
    loud = findings.handler(event("payments/api", {"HIGH": 2}, day=1), None)
    assert loud["status"] == "notified"
    (doc,) = inbox("payments")
    assert doc["severity_counts"]["HIGH"] == 1
    assert doc["not_fixable"] == 1
    assert [f["id"] for f in doc["findings"]] == ["CVE-2026-4001"]


def test_basic_scanning_gives_no_fix_information_so_every_finding_counts(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_teams(monkeypatch, [team("payments", "^pay", count_only_fixable=True)], module_topic="unowned")
    repository("payments/api")
    reader.by_digest[DIGEST] = [Finding("CVE-2026-4000", "HIGH", "glibc", "2.36")]  # basic: fix_available None
    assert findings.handler(event("payments/api", {"HIGH": 1}), None)["status"] == "notified"


def test_alert_on_exploitable_alerts_under_the_thresholds_and_lists_them_first(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    lenient = {"severity_thresholds": {"CRITICAL": 0, "HIGH": 5, "MEDIUM": None, "LOW": None}}
    store_teams(
        monkeypatch, [team("payments", "^pay", alert_on_exploitable=True, settings=lenient)], module_topic="unowned"
    )
    repository("payments/api")
    exploited = Finding("CVE-2026-5000", "MEDIUM", "libx", "1", None, None, 5.0, exploit_available=True)
    plain = Finding("CVE-2026-5001", "HIGH", "liby", "1", None, None, 8.0, exploit_available=False)
    other_medium = Finding("CVE-2026-5002", "MEDIUM", "libz", "1", None, None, 6.0)
    reader.by_digest[DIGEST] = [plain, exploited, other_medium]

    response = findings.handler(event("payments/api", {"HIGH": 1, "MEDIUM": 2}), None)

    assert response["status"] == "notified"
    (doc,) = inbox("payments")
    assert doc["breached"] == ["MEDIUM"]
    assert doc["new_findings"] == [{"id": "CVE-2026-5000", "severity": "MEDIUM"}]  # only the exploitable one
    assert doc["findings"][0]["id"] == "CVE-2026-5000"
    assert doc["findings"][0]["exploit_available"] is True


def test_teams_that_cannot_be_read_leave_the_result_undecided_and_retried(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 27: never the module's topic as if unowned (the owner would then never hear of it): the invocation
    fails, nothing is published or recorded, and Lambda retries it (tests/unit/handlers/test_findings_owner.py)."""
    store_teams(monkeypatch, TWO_TEAMS, module_topic="unowned")
    monkeypatch.setenv("TEAMS_SHA256", "0" * 64)  # not the stored version
    load_settings.cache_clear()
    repository("payments/api")
    reader.by_digest[DIGEST] = [HIGH]
    with pytest.raises(routing.OwnerUndecided, match="not the version the function expects") as raised:
        findings.handler(event("payments/api", {"HIGH": 1}), None)
    assert (raised.value.reason, raised.value.permanent) == ("teams_unavailable", False)
    assert inbox("module") == inbox("payments") == []
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    assert ledger.get_record(dynamodb, TABLE, ACCOUNT, "payments/api", DIGEST) is None


def test_metrics_by_team() -> None:
    tally = findings.stage.Tally()
    tally.add({"status": "notified", "breached": ["HIGH"], "team": "payments"}, None)
    tally.add({"status": "not_news", "breached": ["HIGH"], "team": None}, None)
    tally.add({"status": "notified", "breached": ["CRITICAL"]}, None)  # no teams configured
    by_team = [(m.name, dict(m.dimensions)["Team"]) for m in findings._measured(tally) if "Team" in dict(m.dimensions)]
    assert by_team == [("ImagesInBreach", "payments"), ("NotificationsSent", "payments"), ("ImagesInBreach", "unowned")]


def test_a_teams_notify_settings_decide_for_its_repositories(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = team("payments", "^pay", settings={"notify_on": "every_scan", "notify_on_resolved": False})
    store_teams(monkeypatch, [every, team("tools", "^tools")], module_topic="unowned")
    repository("payments/api")
    repository("tools/cli")
    reader.by_digest[DIGEST] = [HIGH]
    for day in (0, 1):  # every_scan: the same finding twice; the module's new_findings: once
        findings.handler(event("payments/api", {"HIGH": 1}, day=day), None)
        findings.handler(event("tools/cli", {"HIGH": 1}, day=day), None)
    assert len(inbox("payments")) == 2
    assert len(inbox("tools")) == 1

    reader.by_digest[DIGEST] = []  # clean again: resolved for tools only (payments: notify_on_resolved = false)
    quiet = findings.handler(event("payments/api", {}, day=2), None)
    resolved = findings.handler(event("tools/cli", {}, day=2), None)
    assert (quiet["status"], resolved["status"], resolved["event_type"]) == ("not_news", "notified", "resolved")
    assert inbox("payments") == []
    assert [d["type"] for d in inbox("tools")] == ["resolved"]


def test_a_teams_reminders_follow_its_renotify_after_days(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_teams(
        monkeypatch,
        [team("payments", "^pay", settings={"renotify_after_days": 1}), team("tools", "^tools", settings={})],
        module_topic="unowned",
    )
    monkeypatch.setenv("RENOTIFY_AFTER_DAYS", "never")
    load_settings.cache_clear()
    repository("payments/api")
    repository("tools/cli")
    reader.by_digest[DIGEST] = [HIGH]
    for name in ("payments/api", "tools/cli"):
        assert findings.handler(event(name, {"HIGH": 1}), None)["status"] == "notified"
    table = boto3.client("dynamodb", region_name=REGION)
    for name in ("payments/api", "tools/cli"):  # the last notification two days ago
        table.update_item(
            TableName=TABLE,
            Key=ledger.item_key(ACCOUNT, name, DIGEST),
            UpdateExpression="SET notified_at = :t",
            ExpressionAttributeValues={":t": {"N": str((datetime.now(UTC) - timedelta(days=2)).timestamp())}},
        )
    reminded = findings.handler(event("payments/api", {"HIGH": 1}, day=1), None)
    never = findings.handler(event("tools/cli", {"HIGH": 1}, day=1), None)
    assert (reminded["status"], reminded["event_type"]) == ("notified", "reminder")
    assert (never["status"], never["reason"]) == ("not_news", "already_notified")  # the module's: never


def test_a_spoke_publishes_a_teams_alert_and_chat_form_to_the_hubs_topics_in_another_region(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spoke of an organization hub (modules/hub's spoke_teams): the team's topic and chat topic are the hub's,
    in the hub's region; the module's topic is the hub's central one. The alert reaches the team's topic and the
    central topic, its chat form the team's chat topic, each in the hub's region."""
    hub = "us-east-1"
    sns, sqs = boto3.client("sns", region_name=hub), boto3.client("sqs", region_name=hub)
    hub_topics = {
        name: sns.create_topic(Name=f"ecr-scan-hub-{name}")["TopicArn"]
        for name in ("notifications", "payments", "payments-chat")
    }
    queues = {}
    for name, arn in hub_topics.items():
        queue = sqs.create_queue(QueueName=f"hub-{name}")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
        queues[name] = queue
    monkeypatch.setenv("SNS_TOPIC_ARN", hub_topics["notifications"])
    payments = team("payments", "^pay") | {
        "topic_arn": hub_topics["payments"],
        "chat_topic_arn": hub_topics["payments-chat"],
    }
    store_teams(monkeypatch, [payments])
    repository("payments/api")
    reader.by_digest[DIGEST] = [HIGH]

    response = findings.handler(event("payments/api", {"HIGH": 1}), None)

    def bodies(name: str) -> list[str]:
        return [
            m["Body"] for m in sqs.receive_message(QueueUrl=queues[name], MaxNumberOfMessages=10).get("Messages", [])
        ]

    assert (response["status"], response["team"]) == ("notified", "payments")
    assert [json.loads(body)["team"] for body in bodies("payments")] == ["payments"]
    assert [json.loads(body)["team"] for body in bodies("notifications")] == ["payments"]  # the security team's view
    (chat,) = bodies("payments-chat")
    assert "payments/api" in chat
    assert inbox("module") == inbox("payments") == []  # nothing in the spoke's own region
