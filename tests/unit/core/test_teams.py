"""core/teams.py: the stored teams document, parsed and validated; a team's settings over the module's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_scan_reporter.core import config_items, teams
from ecr_scan_reporter.core.config import ConfigError, Settings

TOPIC = "arn:aws:sns:us-east-1:123456789012:esr-payments"


def team(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "payments",
        "repository_regex": "^payments/",
        "topic_arn": TOPIC,
        "chat_topic_arn": None,
        "count_only_fixable": False,
        "alert_on_exploitable": False,
        "settings": {},
    } | overrides


def test_parses_the_document_terraform_writes() -> None:
    text = teams.document(
        [
            team(settings={"severity_thresholds": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": None}}),
            team(name="tools", repository_regex=None, topic_arn=TOPIC + "-2", settings={"renotify_after_days": None}),
        ],
        tag_key="team",
        module_topic="unowned",
    )
    parsed = teams.parse(text)
    assert [t.name for t in parsed.teams] == ["payments", "tools"]
    assert parsed.tag_key == "team"
    assert parsed.module_topic == "unowned"
    assert parsed.teams[0].repository_regex is not None
    assert parsed.teams[0].repository_regex.pattern == "^payments/"
    assert dict(parsed.teams[0].settings["severity_thresholds"]) == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": None}
    assert parsed.teams[1].settings == {"renotify_after_days": None}  # explicit null kept: never remind
    assert parsed.team("tools") is parsed.teams[1]
    assert parsed.team("nope") is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("[]", "must be a JSON object"),
        ("{", "not valid JSON"),
        (json.dumps({"version": 2, "teams": []}), "version 2 is not supported"),
        (json.dumps({"version": 1, "teams": [], "extra": 1}), "unknown keys extra"),
        (teams.document([team(name="Payments")]), "name='Payments' must be"),
        (teams.document([team(name="unowned")]), "and not 'unowned'"),
        (teams.document([team(), team()]), "more than once: payments"),
        (teams.document([team(repository_regex="(")]), r"repository_regex='\(' is not a valid regular expression"),
        (teams.document([team(topic_arn="arn:aws:sqs:us-east-1:123456789012:q")]), "is not an SNS topic ARN"),
        (teams.document([team(colour="red")]), r"teams\[0\] \(payments\) has unknown keys colour"),
        (teams.document([team(settings={"thresholds": {}})]), "settings has unknown keys thresholds"),
        (teams.document([team(settings={"severity_thresholds": {"SEVERE": 1}})]), "unknown severity 'SEVERE'"),
        (teams.document([team(settings={"notify_on": "always"})]), "must be one of new_findings, every_scan"),
        (teams.document([team(settings={"renotify_after_days": 0})]), "must be 1-365, or null"),
        (teams.document([team(settings={"notify_on_resolved": "yes"})]), "must be true or false"),
        (teams.document([team(count_only_fixable="yes")]), "count_only_fixable='yes' must be true or false"),
        (teams.document([], module_topic="some"), "module_topic='some'"),
    ],
)
def test_refuses_what_terraform_would_refuse(doc: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        teams.parse(doc)


def test_settings_for_a_team_override_only_what_it_set() -> None:
    module = Settings(sns_topic_arn="arn:aws:sns:us-east-1:123456789012:esr", renotify_after_days=30)
    doc = teams.parse(teams.document([team(settings={"notify_on": "every_scan", "renotify_after_days": None})]))
    effective = teams.settings_for(module, doc.teams[0])
    assert effective.notify_on == "every_scan"
    assert effective.renotify_after_days is None
    assert effective.severity_thresholds == module.severity_thresholds  # not set: the module's
    assert effective.sns_topic_arn == module.sns_topic_arn  # topics: ownership.topics
    assert teams.settings_for(module, None) is module


class Table:
    def __init__(self, text: str | None) -> None:
        self.text, self.reads = text, 0

    def get_item(self, **request: Any) -> dict[str, Any]:
        self.reads += 1
        assert request["Key"] == config_items.key("teams")
        return {} if self.text is None else {"Item": {"document": {"S": self.text}}}


def test_loaded_once_per_hash_and_refused_in_another_version() -> None:
    config_items.clear_cache()
    text = teams.document([team()])
    table = Table(text)
    sha = config_items.document_hash(text)
    assert teams.load(table, "t", sha) == teams.load(table, "t", sha)
    assert table.reads == 1
    with pytest.raises(teams.TeamsUnavailable, match="not the version the function expects"):
        teams.load(table, "t", "0" * 64)
    with pytest.raises(teams.TeamsUnavailable, match="no teams item"):
        teams.load(Table(None), "t", "1" * 64)
    assert teams.read(Table(None), "t") is None
    config_items.clear_cache()
