"""Who owns a repository (pure): the team whose alerts, thresholds and report cover it.

Resolution, deterministic, in this order:

1. the repository's ECR tag ``tag_key`` (module input ``team_tag_key``), when the document has one: a repository
   tagged ``team = payments`` belongs to team ``payments``, whatever the regexes say. The value is compared
   without surrounding spaces and case-insensitively (team names are lower case: ``Payments`` names ``payments``).
   A tag value that names no team is noted and resolution goes on, as it does when the tags were not read
   (``tags`` None: the CLI and the report, when ECR refused them; the findings function never guesses, it retries);
2. the first team, in the list's order, whose ``repository_regex`` matches (``re.search``, as every repository
   regex of the module);
3. nobody: the module's own settings and topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ecr_scan_reporter.core.teams import UNOWNED, Team, TeamsDocument

BY_TAG = "tag"
BY_REGEX = "repository_regex"
NOBODY = "nobody"


@dataclass(frozen=True)
class Owner:
    team: Team | None
    how: str  # BY_TAG, BY_REGEX or NOBODY
    note: str | None = None  # why the tag did not decide, when it could have

    @property
    def name(self) -> str | None:
        return self.team.name if self.team is not None else None

    @property
    def dimension(self) -> str:
        """The ``Team`` metric dimension value."""
        return self.team.name if self.team is not None else UNOWNED


def resolve(repository: str, tags: Mapping[str, str] | None, document: TeamsDocument) -> Owner:
    """The owner of ``repository`` given its tags (None: unknown, or not read because no tag key is set)."""
    note = None
    if document.tag_key is not None:
        if tags is None:
            note = f"the repository's tags could not be read: tag {document.tag_key} not consulted"
        elif document.tag_key in tags:
            value = tags[document.tag_key].strip()
            team = document.team(value.lower())  # team names are lower case: team=Payments names payments
            if team is not None:
                return Owner(team, BY_TAG)
            note = f"tag {document.tag_key}={value!r} names no team"
    for team in document.teams:
        if team.repository_regex is not None and team.repository_regex.search(repository):
            return Owner(team, BY_REGEX, note)
    return Owner(None, NOBODY, note)


def topics(owner: Owner, document: TeamsDocument, module_topic_arn: str | None) -> list[str]:
    """The topics a notification about the owner's repository goes to, the owner's first: the team's topic, and
    the module's topic when it receives every notification (``module_topic = all``) or nobody owns the
    repository. A topic named twice is named once."""
    found: list[str] = []
    if owner.team is not None:
        found.append(owner.team.topic_arn)
    if module_topic_arn and (owner.team is None or document.module_topic == "all"):
        found.append(module_topic_arn)
    return list(dict.fromkeys(found))
