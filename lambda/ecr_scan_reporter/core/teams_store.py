"""The teams a function applies: the ``config#teams`` item of the ledger table, the version ``TEAMS_SHA256`` names.

One loader for the findings function (``alerts/routing.py``) and the report (``handlers/report.py``), which differ
only in what they do when the teams cannot be used: the findings function leaves the owner undecided and retries
the result (an owner is told exactly once, docs/teams.md); the report goes out without a section per team, saying
so. This module may import botocore (AWS errors are caught here), which the pure ``core/teams.py`` must not.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import aws, log, teams
from ecr_scan_reporter.core.config import Settings

logger = log.get_logger(__name__)


class TeamsUnavailable(teams.TeamsUnavailable):
    """The teams are configured (``TEAMS_SHA256``) but cannot be used now; the message says why. ``aws_error``: an
    AWS error while reading the item (throttled, denied, the network), rather than an item missing, invalid or of
    another version."""

    def __init__(self, message: str, aws_error: bool = False) -> None:
        super().__init__(message)
        self.aws_error = aws_error


def load(config: Settings, hint: str, dynamodb: Any | None = None) -> teams.TeamsDocument | None:
    """The teams the function's environment names (``core/teams.load``: read once per hash), None without teams
    (``TEAMS_SHA256`` empty). Raises :class:`TeamsUnavailable` when they cannot be used: the item missing, invalid
    or of another version (a deployment in progress: Terraform updates the item and the functions one after the
    other), ``TEAMS_SHA256`` without ``LEDGER_TABLE_NAME``, or an AWS error reading it; each is logged first
    (``teams_unavailable``, ERROR) with ``hint``: what the caller does instead."""
    if not config.teams_sha256:
        return None
    try:
        if not config.ledger_table_name:
            raise TeamsUnavailable("TEAMS_SHA256 is set but LEDGER_TABLE_NAME is not: the teams cannot be read")
        client = dynamodb if dynamodb is not None else aws.client("dynamodb")
        try:
            return teams.load(client, config.ledger_table_name, config.teams_sha256)
        except (BotoCoreError, ClientError) as exc:
            raise TeamsUnavailable(f"the teams item could not be read: {exc}", aws_error=True) from exc
        except teams.TeamsUnavailable as exc:
            raise TeamsUnavailable(str(exc)) from exc
    except TeamsUnavailable as exc:
        log.emit(logger, "teams_unavailable", logging.ERROR, error=str(exc), hint=hint)
        raise
