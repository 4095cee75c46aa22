"""``report``: the exposure report, from the scan ledger (reads only)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from ecr_scan_reporter.cli.common import PROG, _client, _connection, _whole
from ecr_scan_reporter.core import ledger, repository_tags, teams
from ecr_scan_reporter.core.config import ConfigError, parse_thresholds
from ecr_scan_reporter.report import exposure


def _add_report_parser(commands: Any) -> None:
    connection = _connection("dynamodb")
    sub = commands.add_parser(
        "report", parents=[connection], help="the exposure report, from the scan ledger (reads only)"
    )
    sub.add_argument("--table", required=True, help="the scan ledger's DynamoDB table (output ledger_table_name)")
    sub.add_argument("--output", choices=("text", "json", "html"), default="text")
    sub.add_argument(
        "--expiry-days",
        type=_whole(1, 365),
        default=7,
        metavar="N",
        help="images whose scan is older than N days count as not covered (1-365, default 7)",
    )
    sub.add_argument(
        "--thresholds",
        default=None,
        metavar="JSON",
        help='thresholds shown in the report, as the module sets them (default {"CRITICAL": 0, "HIGH": 0})',
    )


def _report(args: argparse.Namespace, out: TextIO) -> int:
    """The exposure report over the ledger table, printed in the chosen format (every row the report keeps)."""
    try:
        thresholds = parse_thresholds(args.thresholds, "--thresholds")
    except ConfigError as exc:
        print(f"{PROG} report: error: {exc}", file=sys.stderr)
        return 2
    dynamodb = _client(args, "dynamodb")
    built = exposure.build(
        ledger.scan_records(dynamodb, args.table),
        datetime.now(UTC),
        scan_expiry_days=args.expiry_days,
        thresholds=thresholds,
        region=dynamodb.meta.region_name,
        **_report_teams(args, dynamodb),
    )
    render = {
        "text": lambda r: exposure.render_text(r, None),
        "json": exposure.render_json,
        "html": exposure.render_html,
    }
    out.write(render[args.output](built).rstrip("\n") + "\n")
    return 0


def _report_teams(args: argparse.Namespace, dynamodb: Any) -> dict[str, Any]:
    """The report's team sections when the module stores teams in the table: the stored document and, when it
    names a tag key, the repositories' tags from ECR (its standard endpoint), read once per repository."""
    stored = teams.read(dynamodb, args.table)
    if stored is None:
        return {}
    if stored.tag_key is None:
        return {"teams": stored}
    ecr, reader = _client(args, "ecr"), repository_tags.TagReader()

    def tags(registry_id: str, repository: str) -> Any:
        arn = repository_tags.repository_arn(ecr.meta.partition, ecr.meta.region_name, registry_id, repository)
        return reader.tags(ecr, arn)

    return {"teams": stored, "tags": tags}
