"""Where an image's result goes (issue: every team gets its own alerts): the owner of its repository
(``core/ownership.py``: tag, then the first matching regex, else nobody), the settings it is evaluated with (the
team's over the module's, ``core/teams.settings_for``) and the topics its notification is published to.

The teams document is read from the ledger table once per hash (``TEAMS_SHA256``, ``core/teams_store.load``); a
repository's tags once per ``TEAM_TAG_CACHE_SECONDS`` (``core/repository_tags.TagReader``, one per execution
environment), and only when the document names a tag key.

The owner is told exactly once (issue 27, docs/teams.md): when the owner cannot be decided, :func:`route` and
:func:`recorded_route` raise :class:`OwnerUndecided` instead of guessing (by regex, or the module's topic), so
nothing is published, claimed or recorded for that result, and the result is retried: the invocation fails
(Lambda retries an event; a batch's messages come back from the buffer queue) and, past the retries, waits in the
failed-events queue (or the buffer's dead-letter queue) to be redriven. That happens when the document cannot be
used (missing, invalid, of another version than ``TEAMS_SHA256``: a deployment in progress; an AWS error reading
it) or the repository's tags cannot be read: throttled (transient) or denied (permanent until the role may
``ecr:ListTagsForResource``; logged as an ERROR, counted like every undecided owner, ``OwnersUndecided``, alarmed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ecr_scan_reporter.alerts import notify
from ecr_scan_reporter.core import aws, log, ownership, repository_tags, teams, teams_store
from ecr_scan_reporter.core.config import Settings

logger = log.get_logger(__name__)
#: One per execution environment: repositories' tags, kept for ``TEAM_TAG_CACHE_SECONDS``.
TAGS = repository_tags.TagReader()

#: :attr:`OwnerUndecided.reason` values.
TAGS_UNAVAILABLE = "tags_unavailable"  # throttled, a 5xx, the network: a retry may succeed
TAGS_DENIED = "tags_denied"  # AccessDenied or another refusal: until a person acts
TEAMS_UNAVAILABLE = "teams_unavailable"  # the document missing, invalid, of another version, or unreadable
_HINTS = {
    TAGS_UNAVAILABLE: "retried (the event by Lambda, a batch's messages by the buffer queue): nothing is sent or "
    "recorded for the owner until the repository's tags can be read",
    TAGS_DENIED: "the findings function's role may not ecr:ListTagsForResource this repository: grant it (the module "
    "does with team_tag_key, on the account's repositories in the region), then redrive the failed-events queue "
    "(a batch: the Inspector findings dead-letter queue); nothing is sent or recorded for the owner until then",
    TEAMS_UNAVAILABLE: "retried until the stored teams are the version TEAMS_SHA256 names (a deployment in progress "
    "settles by itself; otherwise apply again); nothing is sent or recorded for the owner until then",
}


class OwnerUndecided(RuntimeError):
    """The owner of a result cannot be decided now: nothing may be sent or recorded for it; retry the result.
    ``reason``: :data:`TAGS_UNAVAILABLE`, :data:`TAGS_DENIED` or :data:`TEAMS_UNAVAILABLE`; ``permanent``: no
    retry will help until a person acts (the failure is then an ERROR and the redrive is theirs)."""

    def __init__(self, message: str, reason: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.permanent = permanent

    @property
    def hint(self) -> str:
        return _HINTS[self.reason]


@dataclass(frozen=True)
class Route:
    """``config``: the settings the result is evaluated with; ``topics`` (the owner's first) and ``chats``: where
    its notification goes. ``owner`` None: no teams are configured (with teams, nobody is ``Owner(None, NOBODY)``)."""

    config: Settings
    topics: tuple[str, ...]
    chats: tuple[str, ...] = ()
    owner: ownership.Owner | None = None
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


def module_route(config: Settings) -> Route:
    """The module's own topic and settings (no teams configured)."""
    topics = (config.sns_topic_arn,) if config.sns_topic_arn else ()
    chats = (config.chat_topic_arn,) if config.chat_topic_arn else ()
    return Route(config, topics, chats)


def route(config: Settings, repository: str, registry_id: str, region: str) -> Route:
    """The route of a result of ``repository``; raises :class:`OwnerUndecided` (see the module docstring)."""
    document = _document(config)
    if document is None:
        return module_route(config)
    tags = None
    if document.tag_key is not None:
        TAGS.ttl_seconds = config.team_tag_cache_seconds
        arn = repository_tags.repository_arn(notify.partition(region), region, registry_id, repository)
        try:
            tags = TAGS.read(aws.client("ecr", region=region), arn)
        except repository_tags.TagsUnavailable as exc:
            reason = TAGS_UNAVAILABLE if exc.transient else TAGS_DENIED
            raise OwnerUndecided(str(exc), reason, permanent=not exc.transient) from exc
    owner = ownership.resolve(repository, tags, document)
    if owner.note:
        log.emit(logger, "team_tag_not_applied", logging.WARNING, note=owner.note, repository=repository)
    return _route(config, document, owner)


def recorded_route(config: Settings, team: str | None) -> Route:
    """The route of a notification claimed for ``team`` (the ledger's ``notified_team``), re-sent where it was meant
    to go: None (claimed without teams), or teams no longer configured: the module's route; "" (nobody) or a team
    no longer in the document: unowned, the module's topic. Raises :class:`OwnerUndecided` when the teams cannot
    be used now (the claim is left for the retry)."""
    if team is None:
        return module_route(config)
    document = _document(config)
    if document is None:
        return module_route(config)
    found = document.team(team) if team else None
    how = ownership.BY_REGEX if found is not None else ownership.NOBODY
    return _route(config, document, ownership.Owner(found, how))


def _route(config: Settings, document: teams.TeamsDocument, owner: ownership.Owner) -> Route:
    effective = teams.settings_for(config, owner.team)
    topics = tuple(ownership.topics(owner, document, config.sns_topic_arn))
    chats = [owner.team.chat_topic_arn] if owner.team is not None and owner.team.chat_topic_arn else []
    if config.chat_topic_arn and config.sns_topic_arn in topics:
        chats.append(config.chat_topic_arn)  # the module's chat topic follows the module's topic
    return Route(effective, topics, tuple(dict.fromkeys(chats)), owner, module=config)


def _document(config: Settings) -> teams.TeamsDocument | None:
    """The teams document; None without teams; raises :class:`OwnerUndecided` when it cannot be used now."""
    try:
        return teams_store.load(config, hint=_HINTS[TEAMS_UNAVAILABLE])
    except teams_store.TeamsUnavailable as exc:
        raise OwnerUndecided(str(exc), TEAMS_UNAVAILABLE) from exc
