"""handlers.report with teams (issue 19), against moto: the teams item written as Terraform writes it, repository
tags in ECR, one SNS topic per team with an SQS subscriber. Each team's topic receives only its own team's report,
the module's topic the whole one; RegistryImagesInBreach per Team; teams that cannot be read are said."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import emf
import pytest
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table

from ecr_scan_reporter.core import config_items, teams
from ecr_scan_reporter.handlers import load_settings
from ecr_scan_reporter.handlers import report as report_handler
from handlers.test_report import TABLE, Context, put

MODULE_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:esr-notifications"


def topic(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"


DOCUMENT = teams.document(
    [
        {
            "name": "payments",
            "repository_regex": "^payments/",
            "topic_arn": topic("esr-payments"),
            "chat_topic_arn": None,
            "count_only_fixable": False,
            "alert_on_exploitable": False,
            "settings": {"severity_thresholds": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": None}},
        },
        {
            "name": "tools",
            "repository_regex": "^tools/",
            "topic_arn": topic("esr-tools"),
            "chat_topic_arn": None,
            "count_only_fixable": False,
            "alert_on_exploitable": False,
            "settings": {"severity_thresholds": {"CRITICAL": 0, "HIGH": None, "MEDIUM": None, "LOW": None}},
        },
    ],
    tag_key="team",
)
Inbox = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def inbox(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """Ledger table with the teams item, the module's topic and one per team, each with an SQS subscriber; returns
    the envelopes delivered to a topic's subscriber (by topic name)."""
    for name, value in {
        "LEDGER_TABLE_NAME": TABLE,
        "SNS_TOPIC_ARN": MODULE_TOPIC,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": REGION,
        "TEAMS_SHA256": config_items.document_hash(DOCUMENT),
    }.items():
        monkeypatch.setenv(name, value)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_table(dynamodb, TABLE)
    dynamodb.put_item(  # as alerts.tf / teams.tf write it
        TableName=TABLE,
        Item={
            **config_items.key("teams"),
            "document": {"S": DOCUMENT},
            "sha256": {"S": config_items.document_hash(DOCUMENT)},
            "count": {"N": "2"},
        },
    )
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    queues = {}
    for name in ("esr-notifications", "esr-payments", "esr-tools"):
        sns.create_topic(Name=name)
        queue = sqs.create_queue(QueueName=f"{name}-subscriber")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic(name), Protocol="sqs", Endpoint=arn)
        queues[name] = queue

    def delivered(name: str) -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queues[name], MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    config_items.clear_cache()
    load_settings.cache_clear()
    yield delivered
    load_settings.cache_clear()
    config_items.clear_cache()


def seed() -> None:
    now = datetime.now(UTC)
    fresh = {"source": "ecr", "scan_status": "COMPLETE", "scan_completed_at": now - timedelta(days=1)}
    high = {"breached": ("HIGH",), "findings": {"CVE-H": "HIGH"}, "severity_counts": {"HIGH": 1}}
    put("payments/api", 1, **high, **fresh)
    put("payments/api", 2, findings={"CVE-M": "MEDIUM"}, severity_counts={"MEDIUM": 1}, **fresh)
    put("tools/ci", 3, **high, **fresh)  # HIGH: in breach for the module, not for tools
    put("platform/base", 4, breached=("CRITICAL",), severity_counts={"CRITICAL": 1}, **fresh)  # tagged team=tools
    put("misc/web", 5, **high, **fresh)  # nobody's
    ecr = boto3.client("ecr", region_name=REGION)
    arn = ecr.describe_repositories(repositoryNames=["platform/base"])["repositories"][0]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "tools"}])


def test_each_team_topic_receives_only_its_report_and_the_module_topic_the_whole(
    inbox: Inbox, capsys: pytest.CaptureFixture[str]
) -> None:
    seed()
    response = report_handler.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())

    assert response["status"] == "published"
    assert set(response["team_reports"]) == {"payments", "tools"}
    assert "team_reports_not_published" not in response
    assert response["tag_reads"] == 4  # one ListTagsForResource per repository, payments/api's two images or not
    [whole] = inbox("esr-notifications")
    doc = json.loads(whole["Message"])
    assert "team" not in whole["MessageAttributes"]
    assert doc["summary"]["images"] == 5
    assert [t["team"] for t in doc["teams"]] == ["payments", "tools"]
    assert [r["repository"] for r in doc["unowned"]["repositories"]] == ["misc/web"]

    [payments] = inbox("esr-payments")
    assert payments["MessageAttributes"]["team"]["Value"] == "payments"
    assert payments["Subject"] == f"ECR exposure report ({REGION}) for payments: 2 of 2 images in breach"
    report = json.loads(payments["Message"])
    assert report["team"] == "payments"
    assert [r["repository"] for r in report["repositories"]] == ["payments/api"]
    assert report["summary"]["breached"] == {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 1, "LOW": 0}

    [tools] = inbox("esr-tools")
    report = json.loads(tools["Message"])
    assert sorted(r["repository"] for r in report["repositories"]) == ["platform/base", "tools/ci"]  # by its tag
    assert report["summary"]["images_in_breach"] == 1  # tools/ci's HIGH is under the tools team's thresholds
    assert "misc/web" not in json.dumps(report)

    found = emf.values(emf.parse(capsys.readouterr().out))
    fn = ("FunctionName", "esr-report")
    assert found[("RegistryImagesInBreach", (fn, ("Team", "payments")))] == 2
    assert found[("RegistryImagesInBreach", (fn, ("Team", "tools")))] == 1
    assert found[("RegistryImagesInBreach", (fn, ("Team", "unowned")))] == 1
    assert found[("RegistryImagesInBreach", (fn, ("Severity", "HIGH")))] == 3  # the registry's, as without teams


def test_teams_that_cannot_be_read_leave_the_report_as_without_them_and_say_so(
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    seed()
    monkeypatch.setenv("TEAMS_SHA256", "0" * 64)  # not the stored document's hash
    response = report_handler.handler({}, Context())

    assert response["status"] == "published"
    assert "team_reports" not in response
    [whole] = inbox("esr-notifications")
    doc = json.loads(whole["Message"])
    assert "teams" not in doc
    assert "not the version the function expects" in doc["teams_unavailable"]
    assert inbox("esr-payments") == []
    assert inbox("esr-tools") == []
    [logged] = [r for r in caplog.records if r.getMessage() == "teams_unavailable"]
    assert logged.levelname == "ERROR"
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert not [key for key in found if "Team" in dict(key[1])]


def test_a_team_topic_that_refuses_does_not_stop_the_others(inbox: Inbox) -> None:
    seed()
    boto3.client("sns", region_name=REGION).delete_topic(TopicArn=topic("esr-payments"))
    response = report_handler.handler({}, Context())
    assert response["team_reports_not_published"] == ["payments"]
    assert set(response["team_reports"]) == {"tools"}
    assert len(inbox("esr-tools")) == 1
    assert len(inbox("esr-notifications")) == 1
