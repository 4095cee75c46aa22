"""alerts/routing.py: a result's route (owner, settings, topics, chat topics), a claimed notification's route, and
the owner left undecided (OwnerUndecided, retried) when the teams or the repository's tags cannot be read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecr_scan_reporter.alerts import notify, routing
from ecr_scan_reporter.core import config_items, ownership, teams, teams_store
from ecr_scan_reporter.core.config import Settings

ARN = "arn:aws:sns:eu-west-1:123456789012:esr-"
MODULE, MODULE_CHAT = ARN + "notifications", ARN + "chat"
CONFIG = Settings(
    sns_topic_arn=MODULE, chat_topic_arn=MODULE_CHAT, ledger_table_name="esr-ledger", teams_sha256="a" * 64
)


def document(module_topic: str = "all", tag_key: str | None = None) -> teams.TeamsDocument:
    entries = [
        {"name": "payments", "repository_regex": "^pay", "topic_arn": ARN + "payments", "chat_topic_arn": ARN + "pc"},
        {"name": "tools", "repository_regex": "^tools", "topic_arn": ARN + "tools", "settings": {}},
    ]
    return teams.parse(teams.document(entries, tag_key=tag_key, module_topic=module_topic))


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[teams.TeamsDocument]]:
    """The teams the function loads (teams_store.load answers the first of the list)."""
    found: list[teams.TeamsDocument] = [document()]
    monkeypatch.setattr(teams_store, "load", lambda *_, **__: found[0])
    routing.TAGS.clear()
    yield found
    routing.TAGS.clear()


def test_an_unowned_result_is_recorded_as_nobody_not_as_without_teams(stored: list[teams.TeamsDocument]) -> None:
    """Test gap (Route.recorded_team): "" for nobody, so a claim re-sent later keeps the unowned route."""
    route = routing.route(CONFIG, "misc/thing", "123456789012", "eu-west-1")
    assert (route.recorded_team, route.message_team, route.topics) == ("", None, (MODULE,))
    assert routing.module_route(CONFIG).recorded_team is None  # without teams: nothing recorded


def test_a_claim_recorded_for_nobody_is_resent_as_unowned(stored: list[teams.TeamsDocument]) -> None:
    """Test gap (recorded_route): the re-sent message says unowned (team null), not "no teams"."""
    route = routing.recorded_route(CONFIG, "")
    assert route.owner is not None
    assert (route.owner.how, route.recorded_team, route.message_team) == (ownership.NOBODY, "", None)
    assert route.message_team is not notify.NO_TEAMS
    assert (route.topics, route.chats) == ((MODULE,), (MODULE_CHAT,))


def test_a_claim_is_resent_to_its_team_or_as_unowned_when_the_team_is_gone(stored: list[teams.TeamsDocument]) -> None:
    assert routing.recorded_route(CONFIG, "tools").topics == (ARN + "tools", MODULE)
    gone = routing.recorded_route(CONFIG, "ghosts")
    assert (gone.recorded_team, gone.message_team, gone.topics) == ("", None, (MODULE,))
    assert routing.recorded_route(CONFIG, None).message_team is notify.NO_TEAMS  # claimed before teams


@pytest.mark.parametrize(
    ("module_topic", "repository", "chats"),
    [
        ("unowned", "payments/api", (ARN + "pc",)),  # the module's topic does not get it: nor its chat topic
        ("all", "payments/api", (ARN + "pc", MODULE_CHAT)),
        ("unowned", "misc/thing", (MODULE_CHAT,)),
    ],
)
def test_the_modules_chat_topic_follows_the_modules_topic(
    stored: list[teams.TeamsDocument], module_topic: str, repository: str, chats: tuple[str, ...]
) -> None:
    """Test gap (_route): the module's chat topic gets what the module's SNS topic gets, no more."""
    stored[0] = document(module_topic)
    assert routing.route(CONFIG, repository, "123456789012", "eu-west-1").chats == chats


def test_an_aws_error_reading_the_teams_leaves_the_owner_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test gap (_document): a DynamoDB error is no more a reason to guess than an unusable document: the result is
    retried (formerly: routed to the module's topic, the owner never told)."""

    class Refusing:
        def get_item(self, **_: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem")

    config_items.clear_cache()
    monkeypatch.setattr(teams_store.aws, "client", lambda *_, **__: Refusing())
    for call in (
        lambda: routing.route(CONFIG, "payments/api", "123456789012", "eu-west-1"),
        lambda: routing.recorded_route(CONFIG, "payments"),
    ):
        with pytest.raises(routing.OwnerUndecided, match="ProvisionedThroughputExceeded") as raised:
            call()
        assert (raised.value.reason, raised.value.permanent) == (routing.TEAMS_UNAVAILABLE, False)


def test_without_teams_the_module_route_reads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teams_store.aws, "client", lambda *_, **__: pytest.fail("nothing to read"))
    plain = Settings(sns_topic_arn=MODULE, chat_topic_arn=MODULE_CHAT)
    route = routing.route(plain, "payments/api", "123456789012", "eu-west-1")
    assert (route.topics, route.chats, route.owner, route.message_team) == (
        (MODULE,),
        (MODULE_CHAT,),
        None,
        notify.NO_TEAMS,
    )


@pytest.mark.parametrize(
    ("code", "reason", "permanent"),
    [("ThrottlingException", routing.TAGS_UNAVAILABLE, False), ("AccessDeniedException", routing.TAGS_DENIED, True)],
)
def test_tags_that_cannot_be_read_leave_the_owner_undecided(
    stored: list[teams.TeamsDocument], monkeypatch: pytest.MonkeyPatch, code: str, reason: str, permanent: bool
) -> None:
    """Never resolved by regex (payments' ^pay) or to nobody instead: the tag might name another team."""
    stored[0] = document(tag_key="team")

    class Ecr:
        def list_tags_for_resource(self, **_: Any) -> dict[str, Any]:
            raise ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "ListTags")

    monkeypatch.setattr(routing.aws, "client", lambda *_, **__: Ecr())
    with pytest.raises(routing.OwnerUndecided) as raised:
        routing.route(CONFIG, "payments/api", "123456789012", "eu-west-1")
    assert (raised.value.reason, raised.value.permanent) == (reason, permanent)
    assert raised.value.hint
