"""``ecr-scan-reporter``: the images stage from a terminal, over the same library as the Lambda functions.

    ecr-scan-reporter plan [options]   list the images a sweep would scan, and why; changes nothing
    ecr-scan-reporter scan [options]   start those scans and print a summary per repository
                                       (--table NAME: with the scan ledger, as the images function sweeps)
    ecr-scan-reporter report --table NAME [--output text|json|html]
                                       the exposure report, from the scan ledger (reads only)

Exit status: 0 done; 1 AWS error (no credentials, endpoint unreachable, access denied, ...); 2 bad options.
Errors are one line on stderr, without a traceback. There is no time budget here: every repository is swept
to the end, unless ECR refuses scans because the registry's daily quota is spent: then ``scan`` starts no more
and says so.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter import __version__
from ecr_scan_reporter.core import aws, ledger, log, selection
from ecr_scan_reporter.core.config import ConfigError, parse_thresholds
from ecr_scan_reporter.report import exposure
from ecr_scan_reporter.sweep import freshness, registry, scanning
from ecr_scan_reporter.sweep.stage import (
    COUNTERS,
    Candidate,
    SweepOptions,
    SweepSummary,
    plan_repository,
    sweep_repository,
)

PROG = "ecr-scan-reporter"
_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")  # us-east-1, us-gov-west-1, eusc-de-east-1, ...
CLI_MAX_ATTEMPTS = 3  # fail fast on an unreachable endpoint; throttling still gets adaptive retries


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _regex(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"invalid regular expression {value!r} ({exc})") from None


def _region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise argparse.ArgumentTypeError(f"must be an AWS region name such as eu-west-1, got {value!r}")
    return value


def _endpoint_url(value: str) -> str:
    """An http(s) URL with a host (and a valid port, if any): what botocore accepts as an endpoint."""
    try:
        parts = urlsplit(value)
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a malformed IPv6 host or a port out of range
        valid = False
    if not valid or any(c.isspace() for c in value):
        raise argparse.ArgumentTypeError(
            f"must be an http:// or https:// URL such as http://127.0.0.1:5000, got {value!r}"
        )
    return value


def _whole(low: int, high: int | None = None) -> Callable[[str], int]:
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(value: str) -> int:
        number = int(value) if re.fullmatch(r"[0-9]+", value.strip()) else None
        if number is None or number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"must be a whole number {bounds}, got {value!r}")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--include",
        type=_regex,
        default=re.compile(".*"),
        metavar="REGEX",
        help="repositories whose name matches (re.search; default: all)",
    )
    common.add_argument(
        "--exclude",
        type=_regex,
        default=None,
        metavar="REGEX",
        help="skip repositories whose name matches (write --exclude=REGEX if it starts with -)",
    )
    common.add_argument(
        "--expiry-days",
        type=_whole(1, 365),
        default=7,
        metavar="N",
        help="rescan when the last scan is older than N days (1-365, default 7)",
    )
    common.add_argument(
        "--only-pulled-within-days",
        type=_whole(1),
        default=None,
        metavar="N",
        help="only images pushed or pulled within N days",
    )
    common.add_argument(
        "--max-images", type=_whole(1), default=None, metavar="N", help="at most the N newest images per repository"
    )
    common.add_argument(
        "--region", type=_region, default=None, help="AWS region (default: the standard AWS configuration)"
    )
    common.add_argument(
        "--endpoint-url", type=_endpoint_url, default=None, metavar="URL", help="ECR endpoint (e.g. an emulator)"
    )
    common.add_argument(
        "--table",
        default=None,
        metavar="NAME",
        help="the scan ledger (output ledger_table_name): read the images' last scans from it, and with scan "
        "record what is learned and started; its endpoint is the standard one (AWS_ENDPOINT_URL_DYNAMODB)",
    )
    common.add_argument("--output", choices=("table", "json"), default="table")
    common.add_argument("-v", "--verbose", action="store_true", help="log each decision as JSON on stderr")

    parser = _Parser(prog=PROG, description="Keep Amazon ECR image scans fresh: plan or start the scans due.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{plan,scan,report}")
    commands.add_parser("plan", parents=[common], help="list the images a sweep would scan, and why")
    commands.add_parser("scan", parents=[common], help="start those scans and print a summary")
    _add_report_parser(commands)
    return parser


def _add_report_parser(commands: Any) -> None:
    sub = commands.add_parser("report", help="the exposure report, from the scan ledger (reads only)")
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
    sub.add_argument("--region", default=None, help="AWS region (default: the standard AWS configuration)")
    sub.add_argument("--endpoint-url", default=None, metavar="URL", help="DynamoDB endpoint (e.g. an emulator)")
    sub.add_argument("-v", "--verbose", action="store_true", help="log as JSON on stderr")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose:
        log.setup("INFO")
    if args.command == "report":
        return _report(args, sys.stdout)
    try:
        try:
            ecr = aws.client("ecr", region=args.region, endpoint_url=args.endpoint_url, max_attempts=CLI_MAX_ATTEMPTS)
        except ValueError as exc:  # botocore's word on a region or endpoint the checks above let through
            if isinstance(exc, BotoCoreError):
                raise
            print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        return _run(args, ecr, sys.stdout)
    except (BotoCoreError, ClientError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, ecr: Any, out: TextIO) -> int:
    scan_type = registry.registry_scan_type(ecr)
    enhanced = not freshness.manual_scans_apply(scan_type)
    listed = None if enhanced else registry.scans_listed(ecr)
    options = SweepOptions(args.expiry_days, args.only_pulled_within_days, args.max_images, listed)
    if enhanced:
        print(
            f"{PROG}: the registry uses {scan_type} scanning: Amazon Inspector rescans continuously, "
            "no manual scan applies",
            file=sys.stderr,
        )
    now = datetime.now(UTC)
    candidates: list[Candidate] = []
    summaries: list[SweepSummary] = []
    quota = scanning.ScanQuota()
    dynamodb = aws.client("dynamodb", region=args.region, max_attempts=CLI_MAX_ATTEMPTS) if args.table else None
    ttl, plan = ledger.expires_at(now, args.expiry_days), args.command == "plan"
    for repo in [] if enhanced else _repositories(ecr, args.include, args.exclude):
        if quota.exhausted:
            print(f"{PROG}: warning: repository {repo.name!r} skipped: the daily scan quota is spent", file=sys.stderr)
            continue
        records = None
        if dynamodb is not None:
            records = ledger.RepositoryLedger(dynamodb, args.table, repo.name, repo.registry_id, now, ttl, plan)
        kwargs: dict[str, Any] = {"now": now, "registry_id": repo.registry_id, "options": options, "ledger": records}
        try:
            if plan:
                candidates.extend(list(plan_repository(ecr, repo.name, **kwargs)))
            else:
                summaries.append(sweep_repository(ecr, repo.name, quota=quota, **kwargs))
        except registry.RepositoryNotFound:
            print(f"{PROG}: warning: repository {repo.name!r} no longer exists, skipped", file=sys.stderr)
    if args.command == "plan":
        _print_plan(candidates, args.output, out)
    else:
        _print_summaries(summaries, args.output, out)
    return 0


def _report(args: argparse.Namespace, out: TextIO) -> int:
    """The exposure report over the ledger table, printed in the chosen format (every row the report keeps)."""
    try:
        thresholds = parse_thresholds(args.thresholds, "--thresholds")
    except ConfigError as exc:
        print(f"{PROG} report: error: {exc}", file=sys.stderr)
        return 2
    try:
        dynamodb = aws.client(
            "dynamodb", region=args.region, endpoint_url=args.endpoint_url, max_attempts=CLI_MAX_ATTEMPTS
        )
        built = exposure.build(
            ledger.scan_records(dynamodb, args.table),
            datetime.now(UTC),
            scan_expiry_days=args.expiry_days,
            thresholds=thresholds,
            region=dynamodb.meta.region_name,
        )
    except (BotoCoreError, ClientError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    render = {
        "text": lambda r: exposure.render_text(r, None),
        "json": exposure.render_json,
        "html": exposure.render_html,
    }
    out.write(render[args.output](built).rstrip("\n") + "\n")
    return 0


def _repositories(
    ecr: Any, include: re.Pattern[str], exclude: re.Pattern[str] | None
) -> Iterator[registry.RepositoryRecord]:
    for repo in registry.iter_repositories(ecr):
        if selection.repository_selected(repo.name, include, exclude):
            yield repo


def _print_plan(candidates: list[Candidate], output: str, out: TextIO) -> None:
    if output == "json":
        json.dump([c.to_json() for c in candidates], out, indent=2)
        out.write("\n")
        return
    rows = [[c.repository, c.digest, ",".join(c.tags) or "<untagged>", c.reason, _iso(c.last_scan)] for c in candidates]
    _table(["REPOSITORY", "DIGEST", "TAGS", "REASON", "LAST SCAN"], rows, out)
    repositories = len({c.repository for c in candidates})
    out.write(f"{len(candidates)} image(s) in {repositories} repository(ies) would be scanned\n")


def _print_summaries(summaries: list[SweepSummary], output: str, out: TextIO) -> None:
    total = {name: sum(s.counts()[name] for s in summaries) for name in COUNTERS}
    if output == "json":
        doc = {
            "repositories": [
                {"repository": s.repository, "registry_id": s.registry_id, **s.counts()} for s in summaries
            ],
            "total": total,
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
        return
    rows = [[s.repository, *(str(v) for v in s.counts().values())] for s in summaries]
    rows.append(["TOTAL", *(str(total[name]) for name in COUNTERS)])
    _table(["REPOSITORY", *(name.upper() for name in COUNTERS)], rows, out)
    out.write(f"{total['scan_started']} scan(s) started in {len(summaries)} repository(ies)\n")


def _table(header: list[str], rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
