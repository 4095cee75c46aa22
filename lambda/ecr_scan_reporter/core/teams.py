"""The teams document (module input ``teams``), as the module stores it in the ledger table (``config#teams``),
parsed and validated. Pure, except :func:`load` and :func:`read`, which read the item (``core/config_items.py``).

The document is JSON: ``{"version": 1, "tag_key": "team" | null, "module_topic": "all" | "unowned",
"teams": [...]}``, each team ``{"name", "repository_regex", "topic_arn", "chat_topic_arn", "count_only_fixable",
"alert_on_exploitable", "settings"}`` where ``settings`` holds only the keys the team set (``severity_thresholds``,
``notify_on``, ``renotify_after_days``, ``notify_on_resolved``); a key left out means the module's own value, and
``renotify_after_days: null`` means never remind, as for the module. Terraform validates the input at plan time
with the same rules :func:`parse` applies, so a document that fails here was written outside Terraform.
:func:`settings_for` gives the settings a team's images are evaluated with.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecr_scan_reporter.core import config_items
from ecr_scan_reporter.core.config import (
    NOTIFY_ON_CHOICES,
    ConfigError,
    Settings,
    is_sns_arn,
    parse_regex,
    parse_thresholds,
)

NAME = "teams"
VERSION = 1
#: A team's name: part of topic names (``<name_prefix>-<team>-chat``) and a metric dimension value.
TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: The ``Team`` dimension value of repositories no team owns (no team may be called so).
UNOWNED = "unowned"
MODULE_TOPIC_CHOICES = ("all", "unowned")
_TEAM_KEYS = frozenset(
    {"name", "repository_regex", "topic_arn", "chat_topic_arn", "count_only_fixable", "alert_on_exploitable"}
    | {"settings"}
)
_SETTING_KEYS = frozenset({"severity_thresholds", "notify_on", "renotify_after_days", "notify_on_resolved"})
_DOCUMENT_KEYS = frozenset({"version", "tag_key", "module_topic", "teams"})


class TeamsUnavailable(config_items.DocumentUnavailable):
    """The stored teams could not be read, are invalid, or are not the version the function expects
    (``TEAMS_SHA256``); the message says why."""


@dataclass(frozen=True)
class Team:
    name: str
    topic_arn: str
    repository_regex: re.Pattern[str] | None = None
    chat_topic_arn: str | None = None
    count_only_fixable: bool = False
    alert_on_exploitable: bool = False
    #: Only the settings the team set (absent: the module's); validated values.
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamsDocument:
    teams: tuple[Team, ...] = ()
    tag_key: str | None = None
    module_topic: str = "all"  # "all": the module's topic receives every notification; "unowned": only those

    def team(self, name: str) -> Team | None:
        return next((t for t in self.teams if t.name == name), None)


NO_TEAMS = TeamsDocument()


def parse(text: str) -> TeamsDocument:
    """Parse and validate the stored document; raises ConfigError (a ValueError) naming the team and field."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"teams document is not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ConfigError("teams document must be a JSON object with version, tag_key, module_topic and teams")
    _no_unknown(data, _DOCUMENT_KEYS, "teams document")
    if data.get("version") != VERSION:
        raise ConfigError(f"teams document version {data.get('version')!r} is not supported (expected {VERSION})")
    tag_key = data.get("tag_key")
    if tag_key is not None and (not isinstance(tag_key, str) or not 1 <= len(tag_key) <= 128):
        raise ConfigError(f"teams document tag_key={tag_key!r} must be null or a tag key of 1-128 characters")
    module_topic = data.get("module_topic", "all")
    if module_topic not in MODULE_TOPIC_CHOICES:
        raise ConfigError(f"teams document module_topic={module_topic!r} must be one of all, unowned")
    raw_teams = data.get("teams")
    if not isinstance(raw_teams, list):
        raise ConfigError("teams document teams must be a list")
    teams = tuple(_team(raw, i) for i, raw in enumerate(raw_teams))
    names = [t.name for t in teams]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"teams document names these teams more than once: {', '.join(duplicates)}")
    return TeamsDocument(teams=teams, tag_key=tag_key, module_topic=module_topic)


def _team(raw: Any, index: int) -> Team:
    where = f"teams[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be an object")
    name = raw.get("name")
    _no_unknown(raw, _TEAM_KEYS, f"{where} ({name})" if isinstance(name, str) else where)
    if not isinstance(name, str) or not TEAM_NAME.match(name) or name == UNOWNED:
        raise ConfigError(
            f"{where}.name={name!r} must be 1-40 of a-z 0-9 _ - starting with a letter or digit, and not {UNOWNED!r}"
        )
    where = f"teams[{index}] ({name})"
    regex = raw.get("repository_regex")
    if regex is not None and not isinstance(regex, str):
        raise ConfigError(f"{where}.repository_regex must be a string or null")
    topic = raw.get("topic_arn")
    if not isinstance(topic, str) or not is_sns_arn(topic):
        raise ConfigError(f"{where}.topic_arn={topic!r} is not an SNS topic ARN")
    chat = raw.get("chat_topic_arn")
    if chat is not None and (not isinstance(chat, str) or not is_sns_arn(chat)):
        raise ConfigError(f"{where}.chat_topic_arn={chat!r} is not an SNS topic ARN")
    flags = {}
    for flag in ("count_only_fixable", "alert_on_exploitable"):
        value = raw.get(flag, False)
        if not isinstance(value, bool):
            raise ConfigError(f"{where}.{flag}={value!r} must be true or false")
        flags[flag] = value
    return Team(
        name=name,
        topic_arn=topic,
        repository_regex=parse_regex(regex, f"{where}.repository_regex") if regex else None,
        chat_topic_arn=chat,
        settings=_settings(raw.get("settings") or {}, where),
        **flags,
    )


def _settings(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}.settings must be an object")
    _no_unknown(raw, _SETTING_KEYS, f"{where}.settings")
    out: dict[str, Any] = {}
    if "severity_thresholds" in raw:
        out["severity_thresholds"] = parse_thresholds(
            json.dumps(raw["severity_thresholds"]), f"{where}.settings.severity_thresholds"
        )
    if "notify_on" in raw:
        if raw["notify_on"] not in NOTIFY_ON_CHOICES:
            choices = ", ".join(NOTIFY_ON_CHOICES)
            raise ConfigError(f"{where}.settings.notify_on={raw['notify_on']!r} must be one of {choices}")
        out["notify_on"] = raw["notify_on"]
    if "renotify_after_days" in raw:
        days = raw["renotify_after_days"]
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365):
            raise ConfigError(f"{where}.settings.renotify_after_days={days!r} must be 1-365, or null (never)")
        out["renotify_after_days"] = days
    if "notify_on_resolved" in raw:
        if not isinstance(raw["notify_on_resolved"], bool):
            raise ConfigError(f"{where}.settings.notify_on_resolved must be true or false")
        out["notify_on_resolved"] = raw["notify_on_resolved"]
    return out


def _no_unknown(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{where} has unknown keys {', '.join(unknown)}; accepted: {', '.join(sorted(allowed))}")


def settings_for(settings: Settings, team: Team | None) -> Settings:
    """The settings an image of ``team`` is evaluated with: the team's own where it set them, the module's
    otherwise (no team: ``settings`` unchanged). Where notifications go is ``core/ownership.topics``."""
    if team is None:
        return settings
    return dataclasses.replace(settings, **team.settings)


def load(dynamodb: Any, table: str, expected_sha256: str) -> TeamsDocument:
    """The stored teams, cached per ``expected_sha256`` (``core/config_items.load``)."""
    return config_items.load(dynamodb, table, NAME, expected_sha256, parse, TeamsUnavailable)


def read(dynamodb: Any, table: str) -> TeamsDocument | None:
    """The stored teams whatever their hash, uncached (the CLI); None when the module stores none."""
    return config_items.read(dynamodb, table, NAME, parse, TeamsUnavailable)


def document(teams: list[dict[str, Any]], tag_key: str | None = None, module_topic: str = "all") -> str:
    """The stored text for these teams (as Terraform writes it; tests and the CLI)."""
    return json.dumps({"version": VERSION, "tag_key": tag_key, "module_topic": module_topic, "teams": teams})
