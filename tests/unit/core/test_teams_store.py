"""core/teams_store.py: the one loader of the teams a function applies (findings and report functions). None without
teams; every reason the teams cannot be used (missing, another version, invalid, no table, an AWS error) raises
TeamsUnavailable after one ERROR line naming the caller's fallback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from core.test_teams import Table, team
from ecr_scan_reporter.core import config_items, teams, teams_store
from ecr_scan_reporter.core.config import Settings

TEXT = teams.document([team()])
SHA = config_items.document_hash(TEXT)
HINT = "what the caller does instead"


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    config_items.clear_cache()
    yield
    config_items.clear_cache()


def settings(sha: str | None = SHA, table: str | None = "esr-ledger") -> Settings:
    return Settings(teams_sha256=sha, ledger_table_name=table)


def test_without_teams_nothing_is_read() -> None:
    table = Table(TEXT)
    assert teams_store.load(settings(sha=None), HINT, table) is None
    assert table.reads == 0


def test_the_teams_the_environment_names_are_loaded_once() -> None:
    table = Table(TEXT)
    loaded = teams_store.load(settings(), HINT, table)
    assert loaded is not None
    assert [t.name for t in loaded.teams] == ["payments"]
    assert teams_store.load(settings(), HINT, table) == loaded
    assert table.reads == 1


class Refusing:
    def get_item(self, **_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "kms"}}, "GetItem")


@pytest.mark.parametrize(
    ("config", "table", "message", "aws_error"),
    [
        (settings(), Table(None), "no teams item", False),  # a deployment window: the item not written yet
        (settings(sha="0" * 64), Table(TEXT), "not the version the function expects", False),
        (settings(sha=config_items.document_hash("{}")), Table("{}"), "is invalid", False),
        (settings(table=None), Table(TEXT), "LEDGER_TABLE_NAME is not", False),
        (settings(), Refusing(), "AccessDeniedException", True),
    ],
    ids=["missing", "another_hash", "invalid", "no_table", "aws_error"],
)
def test_teams_that_cannot_be_used_raise_after_one_error_line(
    caplog: pytest.LogCaptureFixture, config: Settings, table: Any, message: str, aws_error: bool
) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(teams_store.TeamsUnavailable, match=message) as raised:
        teams_store.load(config, HINT, table)
    assert raised.value.aws_error is aws_error
    assert isinstance(raised.value, teams.TeamsUnavailable)
    [logged] = [r for r in caplog.records if r.getMessage() == "teams_unavailable"]
    assert logged.levelno == logging.ERROR
    assert logged.hint == HINT  # type: ignore[attr-defined]
    assert message in logged.error  # type: ignore[attr-defined]
