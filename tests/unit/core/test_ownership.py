"""core/ownership.py: who owns a repository. Tag first, then the first matching regex in list order, else nobody."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_scan_reporter.core import ownership, teams

ARN = "arn:aws:sns:us-east-1:123456789012:esr-"
MODULE = "arn:aws:sns:us-east-1:123456789012:esr-notifications"


def doc(
    *entries: tuple[str, str | None], tag_key: str | None = "team", module_topic: str = "all"
) -> teams.TeamsDocument:
    listed: list[dict[str, Any]] = [
        {"name": name, "repository_regex": regex, "topic_arn": ARN + name, "settings": {}} for name, regex in entries
    ]
    return teams.parse(teams.document(listed, tag_key=tag_key, module_topic=module_topic))


DOC = doc(("payments", "^pay"), ("platform", "^p"), ("tools", None))


@pytest.mark.parametrize(
    ("repository", "tags", "owner", "how"),
    [
        ("payments/api", {}, "payments", ownership.BY_REGEX),  # first in list order, though platform matches too
        ("platform/base", {}, "platform", ownership.BY_REGEX),
        ("payments/api", {"team": "tools"}, "tools", ownership.BY_TAG),  # the tag wins over every regex
        ("misc/thing", {"team": " tools "}, "tools", ownership.BY_TAG),  # the value is trimmed
        ("misc/thing", {}, None, ownership.NOBODY),
        ("misc/thing", {"Team": "tools"}, None, ownership.NOBODY),  # tag keys are case-sensitive, as in ECR
        ("misc/thing", None, None, ownership.NOBODY),  # tags unreadable
        ("prod/payments", {}, "platform", ownership.BY_REGEX),  # search semantics: ^p anchors, pay does not match
    ],
)
def test_resolution(repository: str, tags: dict[str, str] | None, owner: str | None, how: str) -> None:
    found = ownership.resolve(repository, tags, DOC)
    assert (found.name, found.how) == (owner, how)
    assert found.dimension == (owner or "unowned")


@pytest.mark.parametrize("value", ["Payments", "PAYMENTS", " Payments "])
def test_a_tag_value_names_its_team_whatever_its_case(value: str) -> None:
    """Issue 29: team names are lower case; a repository tagged team=Payments belongs to payments, not to nobody."""
    found = ownership.resolve("misc/thing", {"team": value}, DOC)
    assert (found.name, found.how, found.note) == ("payments", ownership.BY_TAG, None)


def test_a_team_regex_matches_anywhere_in_the_name() -> None:
    """Test gap: search semantics (re.search, as every repository regex of the module), not re.match."""
    document = doc(("services", "/service$"), ("legacy", "legacy"))
    assert ownership.resolve("payments/service", {}, document).name == "services"
    assert ownership.resolve("team/legacy-api", {}, document).name == "legacy"


def test_a_tag_naming_no_team_falls_back_to_the_regexes_with_a_note() -> None:
    found = ownership.resolve("payments/api", {"team": "ghosts"}, DOC)
    assert (found.name, found.how) == ("payments", ownership.BY_REGEX)
    assert found.note == "tag team='ghosts' names no team"


def test_unreadable_tags_are_noted() -> None:
    assert "could not be read" in (ownership.resolve("payments/api", None, DOC).note or "")


def test_without_a_tag_key_tags_are_ignored() -> None:
    plain = doc(("payments", "^pay"), ("tools", "^tools"), tag_key=None)
    found = ownership.resolve("payments/api", {"team": "tools"}, plain)
    assert (found.name, found.how, found.note) == ("payments", ownership.BY_REGEX, None)


def test_no_teams_nobody_owns_anything() -> None:
    assert ownership.resolve("payments/api", {"team": "payments"}, teams.NO_TEAMS).team is None


@pytest.mark.parametrize(
    ("module_topic", "repository", "expected"),
    [
        ("all", "payments/api", [ARN + "payments", MODULE]),
        ("unowned", "payments/api", [ARN + "payments"]),
        ("all", "misc", [MODULE]),
        ("unowned", "misc", [MODULE]),
    ],
)
def test_topics(module_topic: str, repository: str, expected: list[str]) -> None:
    document = doc(("payments", "^pay"), module_topic=module_topic)
    owner = ownership.resolve(repository, {}, document)
    assert ownership.topics(owner, document, MODULE) == expected


def test_a_team_publishing_to_the_module_topic_is_published_once() -> None:
    document = teams.parse(
        teams.document([{"name": "sec", "repository_regex": ".", "topic_arn": MODULE, "settings": {}}])
    )
    assert ownership.topics(ownership.resolve("x", {}, document), document, MODULE) == [MODULE]
