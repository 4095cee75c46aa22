"""Where an image's result goes (issue: every team gets its own alerts): the owner of its repository
(``core/ownership.py``: tag, then the first matching regex, else nobody), the settings it is evaluated with (the
team's over the module's, ``core/teams.settings_for``) and the topics its notification is published to.

The teams document is read from the ledger table once per hash (``TEAMS_SHA256``, ``core/teams.load``); a
repository's tags once per ``TEAM_TAG_CACHE_SECONDS`` (``core/repository_tags.TagReader``, one per execution
environment), and only when the document names a tag key. When the document cannot be read, or is not the version
the function expects, every result goes to the module's topic with the module's settings, the notification says
teams were not applied, and an ERROR is logged: an alert to the wrong audience, never a lost one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.alerts import notify
from ecr_scan_reporter.core import aws, log, ownership, repository_tags, teams
from ecr_scan_reporter.core.config import Settings

logger = log.get_logger(__name__)
#: One per execution environment: repositories' tags, kept for ``TEAM_TAG_CACHE_SECONDS``.
TAGS = repository_tags.TagReader()


@dataclass(frozen=True)
class Route:
    """``config``: the settings the result is evaluated with; ``topics`` (the owner's first) and ``chats``: where
    its notification goes. ``owner`` None: no teams are configured, or they could not be read
    (``teams_unavailable`` says why)."""

    config: Settings
    topics: tuple[str, ...]
    chats: tuple[str, ...] = ()
    owner: ownership.Owner | None = None
    teams_unavailable: str | None = None
    module: Settings | None = None  # the module's own settings (``config`` is the team's over them)

    @property
    def module_config(self) -> Settings:
        return self.module if self.module is not None else self.config

    @property
    def team(self) -> teams.Team | None:
        return self.owner.team if self.owner is not None else None

    @property
    def team_name(self) -> str | None:
        return self.owner.name if self.owner is not None else None

    @property
    def recorded_team(self) -> str | None:
        """What the ledger records as the notified team: the name, "" for nobody, None without teams."""
        return None if self.owner is None else (self.owner.name or "")

    @property
    def message_team(self) -> str | notify.Unowned | None:
        """``notify.render``'s ``team``."""
        return notify.NO_TEAMS if self.owner is None else self.owner.name

    def fields(self) -> dict[str, Any]:
        """The owner, for log lines and answers (nothing without teams)."""
        if self.owner is None:
            return {}
        return {"team": self.owner.name, "team_by": self.owner.how}


def module_route(config: Settings, unavailable: str | None = None) -> Route:
    """The module's own topic and settings."""
    topics = (config.sns_topic_arn,) if config.sns_topic_arn else ()
    chats = (config.chat_topic_arn,) if config.chat_topic_arn else ()
    return Route(config, topics, chats, teams_unavailable=unavailable)


def route(config: Settings, repository: str, registry_id: str, region: str) -> Route:
    """The route of a result of ``repository`` (see the module docstring)."""
    document = _document(config)
    if isinstance(document, str) or document is None:
        return module_route(config, document)
    tags = None
    if document.tag_key is not None:
        TAGS.ttl_seconds = config.team_tag_cache_seconds
        arn = repository_tags.repository_arn(notify.partition(region), region, registry_id, repository)
        tags = TAGS.tags(aws.client("ecr", region=region), arn)
    owner = ownership.resolve(repository, tags, document)
    if owner.note and tags is not None:
        log.emit(logger, "team_tag_not_applied", logging.WARNING, note=owner.note, repository=repository)
    return _route(config, document, owner)


def recorded_route(config: Settings, team: str | None) -> Route:
    """The route of a notification claimed for ``team`` (the ledger's ``notified_team``): re-sent where it was
    meant to go; a team no longer configured (or unreadable teams) gives the module's route."""
    document = _document(config)
    if isinstance(document, str) or document is None or team is None:
        return module_route(config, document if isinstance(document, str) else None)
    found = document.team(team) if team else None
    if team and found is None:
        return module_route(config)
    return _route(config, document, ownership.Owner(found, ownership.BY_REGEX if found else ownership.NOBODY))


def _route(config: Settings, document: teams.TeamsDocument, owner: ownership.Owner) -> Route:
    effective = teams.settings_for(config, owner.team)
    topics = tuple(ownership.topics(owner, document, config.sns_topic_arn))
    chats = [owner.team.chat_topic_arn] if owner.team is not None and owner.team.chat_topic_arn else []
    if config.chat_topic_arn and config.sns_topic_arn in topics:
        chats.append(config.chat_topic_arn)  # the module's chat topic follows the module's topic
    return Route(effective, topics, tuple(dict.fromkeys(chats)), owner, module=config)


def _document(config: Settings) -> teams.TeamsDocument | str | None:
    """The teams document; None without teams; a string saying why when it cannot be used (logged)."""
    if not config.teams_sha256:
        return None
    if not config.ledger_table_name:
        return "TEAMS_SHA256 is set but LEDGER_TABLE_NAME is not: the teams document cannot be read"
    try:
        return teams.load(aws.client("dynamodb"), config.ledger_table_name, config.teams_sha256)
    except (BotoCoreError, ClientError, teams.TeamsUnavailable) as exc:
        log.emit(
            logger,
            "teams_unavailable",
            logging.ERROR,
            error=str(exc),
            hint="every result goes to the module's topic with the module's settings until the teams can be read",
        )
        return str(exc)
