"""``ecr-scan-reporter``: the images stage from a terminal, over the same library as the Lambda functions.

    ecr-scan-reporter plan [options]   list the images a sweep would scan, and why; changes nothing; ends with
                                       the counts (repositories matched / filtered out, images to scan / fresh /
                                       in flight)
    ecr-scan-reporter scan [options]   start those scans and print a summary per repository
                                       (--table NAME: with the scan ledger, as the images function sweeps)
    ecr-scan-reporter report --table NAME [--output text|json|html]
                                       the exposure report, from the scan ledger (reads only)
    ecr-scan-reporter suppressions (--table NAME | --file PATH) [--output text|json]
                                       which repositories of the registry each suppression covers (reads only)
    ecr-scan-reporter route REPOSITORY [REPOSITORY...] --table NAME [--output text|json]
                                       who owns each repository (teams), which thresholds and notify settings
                                       apply and which topics its notifications go to (reads only)

    -v / --verbose (before or after the command): one JSON log line per decision on stderr
    --localstack: every client from localstack-client (pip install 'ecr-scan-reporter[localstack]')

``--include``/``--exclude`` refuse what Terraform refuses (regex_subset: the common subset of RE2 and Python), with
Terraform's message. Exit status: 0 done; 1 AWS error (no credentials, endpoint unreachable, access denied, ...);
2 bad options (or --localstack without localstack-client); 141 stdout closed early (``... | head``: the output
stops there, quietly, as a tool killed by SIGPIPE stops). Errors are one line on stderr, without a traceback.
There is no time budget here: every repository is swept to the end, unless ECR refuses scans because the
registry's daily quota is spent: then ``scan`` starts no more and says so.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter import __version__
from ecr_scan_reporter.alerts import suppression_store, suppressions
from ecr_scan_reporter.core import (
    aws,
    coverage,
    ledger,
    log,
    ownership,
    regex_subset,
    repository_tags,
    selection,
    teams,
)
from ecr_scan_reporter.core.config import (
    NOTIFY_ON_CHOICES,
    SEVERITIES,
    ConfigError,
    Settings,
    is_sns_arn,
    parse_thresholds,
)
from ecr_scan_reporter.report import exposure
from ecr_scan_reporter.sweep import budget, freshness, plan_counts, registry, scanning
from ecr_scan_reporter.sweep.stage import (
    COUNTERS,
    BudgetRun,
    Candidate,
    SweepOptions,
    SweepSummary,
    plan_repository,
    sweep_repository,
)

PROG = "ecr-scan-reporter"
_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")  # us-east-1, us-gov-west-1, eusc-de-east-1, ...
CLI_MAX_ATTEMPTS = 3  # fail fast on an unreachable endpoint; throttling still gets adaptive retries
#: The status when stdout is closed before the output ends (``plan | head``): 128 + SIGPIPE, what a shell reports
#: for a tool the signal stopped. Python ignores SIGPIPE (its sockets need that), so the write fails instead.
BROKEN_PIPE = 141

logger = log.get_logger(__name__)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Refused(Exception):
    """A bad option found after parsing (status 2); the message is the line to print."""


def _regex(value: str) -> re.Pattern[str]:
    """A repository regex as Terraform accepts it (regex_subset), with Terraform's message otherwise."""
    try:
        return regex_subset.check(value, repr(value))
    except regex_subset.RegexRefused as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _exclude(value: str) -> re.Pattern[str] | None:
    """As :func:`_regex`; empty excludes nothing (like the module's ``repository_exclude_regex = ""``)."""
    return _regex(value) if value else None


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


_VERBOSE_HELP = "log each decision as JSON on stderr (also accepted before the command)"


def _selection() -> argparse.ArgumentParser:
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--include",
        type=_regex,
        default=re.compile(".*"),
        metavar="REGEX",
        help="repositories whose name matches (re.search; default: all); refused as Terraform refuses "
        "repository_include_regex",
    )
    parent.add_argument(
        "--exclude",
        type=_exclude,
        default=None,
        metavar="REGEX",
        help="skip repositories whose name matches (empty: none; write --exclude=REGEX if it starts with -)",
    )
    return parent


def _connection(endpoint_help: str) -> argparse.ArgumentParser:
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--region", type=_region, default=None, help="AWS region (default: the standard AWS configuration)"
    )
    where = parent.add_mutually_exclusive_group()
    where.add_argument("--endpoint-url", type=_endpoint_url, default=None, metavar="URL", help=endpoint_help)
    where.add_argument(
        "--localstack",
        action="store_true",
        help="every client from localstack-client: LocalStack at LOCALSTACK_HOST (default localhost:4566) or "
        "AWS_ENDPOINT_URL (pip install 'ecr-scan-reporter[localstack]')",
    )
    parent.add_argument("-v", "--verbose", action="store_true", help=_VERBOSE_HELP)
    return parent


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
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
        "--table",
        default=None,
        metavar="NAME",
        help="the scan ledger (output ledger_table_name): read the images' last scans from it, and with scan "
        "record what is learned and started; its endpoint is the standard one (AWS_ENDPOINT_URL_DYNAMODB)",
    )
    common.add_argument("--output", choices=("table", "json"), default="table")
    parents = [_selection(), common, _connection("ECR endpoint (e.g. an emulator)")]

    parser = _Parser(prog=PROG, description="Keep Amazon ECR image scans fresh: plan or start the scans due.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", dest="verbose_first", action="store_true", help=_VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{plan,scan,report,suppressions,route}")
    plan = commands.add_parser("plan", parents=parents, help="list the images a sweep would scan, and why")
    plan.add_argument(
        "--budget",
        type=_whole(1, budget.REGISTRY_QUOTA),
        default=None,
        metavar="N",
        help="what a daily scan budget of N (daily_scan_budget, 1-100000) would scan today, registry-wide, by "
        "class (docs/budget.md): in-use images first, levelled",
    )
    plan.add_argument(
        "--in-use-days",
        type=_whole(1, 3650),
        default=budget.DEFAULT_IN_USE_DAYS,
        metavar="N",
        help="with --budget: an image pulled within N days is in use (in_use_days, default 30)",
    )
    commands.add_parser("scan", parents=parents, help="start those scans and print a summary")
    _add_report_parser(commands)
    _add_suppressions_parser(commands)
    _add_route_parser(commands)
    return parser


def _renotify(value: str) -> int | None:
    if value.strip().lower() == "never":
        return None
    return _whole(1, 365)(value)


def _boolean(value: str) -> bool:
    if value.strip().lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"must be true or false, got {value!r}")
    return value.strip().lower() == "true"


def _topic(value: str) -> str:
    if not is_sns_arn(value):
        raise argparse.ArgumentTypeError(f"must be an SNS topic ARN (output sns_topic_arn), got {value!r}")
    return value


def _add_route_parser(commands: Any) -> None:
    connection = _connection("ECR endpoint (e.g. an emulator); the table's is the standard one")
    sub = commands.add_parser(
        "route",
        parents=[connection],
        help="who owns each repository, which thresholds apply, where its notifications go (reads only)",
    )
    sub.add_argument("repositories", nargs="+", metavar="REPOSITORY")
    sub.add_argument(
        "--table", required=True, metavar="NAME", help="the scan ledger (output ledger_table_name): the stored teams"
    )
    sub.add_argument("--output", choices=("text", "json"), default="text")
    module = sub.add_argument_group("the module's own settings (what a repository no team owns gets)")
    module.add_argument(
        "--thresholds",
        default=None,
        metavar="JSON",
        help='the module\'s severity_thresholds (default {"CRITICAL": 0, "HIGH": 0})',
    )
    module.add_argument("--notify-on", choices=NOTIFY_ON_CHOICES, default="new_findings")
    module.add_argument(
        "--renotify-after-days", type=_renotify, default=30, metavar="N|never", help="1-365 or never (default 30)"
    )
    module.add_argument("--notify-on-resolved", type=_boolean, default=True, metavar="true|false")
    module.add_argument("--topic", type=_topic, default=None, metavar="ARN", help="the module's topic (sns_topic_arn)")


def _add_report_parser(commands: Any) -> None:
    connection = _connection("DynamoDB endpoint (e.g. an emulator)")
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


def _add_suppressions_parser(commands: Any) -> None:
    connection = _connection("ECR endpoint (e.g. an emulator); the table's is the standard one")
    sub = commands.add_parser(
        "suppressions",
        parents=[_selection(), connection],
        help="which repositories of the registry each suppression covers (reads only)",
    )
    source = sub.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--table",
        metavar="NAME",
        help="the scan ledger (output ledger_table_name): the suppressions the module stored in it",
    )
    source.add_argument(
        "--file",
        type=Path,
        metavar="PATH",
        help="a JSON list as the module's suppressions input (or an object with a suppressions key, such as a "
        "*.tfvars.json file); - reads stdin",
    )
    sub.add_argument("--output", choices=("text", "json"), default="text")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the exit status. Bad options raise SystemExit(2) from argparse, as usual."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
        return code
    except BrokenPipeError:
        # The reader went away (``| head``). The Python documentation's recipe: point stdout at devnull, so the
        # interpreter's last flush does not fail again, and stop without a word.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    if args.verbose or args.verbose_first:
        log.setup("INFO")
        logging.getLogger("ecr_scan_reporter").setLevel(logging.DEBUG)  # the decisions; botocore stays quiet
    try:
        if args.command == "report":
            return _report(args, sys.stdout)
        if args.command == "suppressions":
            return _suppressions(args, sys.stdout)
        if args.command == "route":
            return _route(args, sys.stdout)
        return _run(args, _client(args, "ecr", args.endpoint_url), sys.stdout)
    except _Refused as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError, suppression_store.SuppressionsUnavailable, teams.TeamsUnavailable) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _client(args: argparse.Namespace, service: str, endpoint_url: str | None = None) -> Any:
    """The client for ``service``: from localstack-client with --localstack, else aws.client (``endpoint_url``,
    else the standard endpoint). A region or endpoint botocore refuses is a bad option."""
    try:
        if args.localstack:
            return aws.localstack_client(service, region=args.region, max_attempts=CLI_MAX_ATTEMPTS)
        return aws.client(service, region=args.region, endpoint_url=endpoint_url, max_attempts=CLI_MAX_ATTEMPTS)
    except aws.LocalStackClientMissing as exc:
        raise _Refused(str(exc)) from None
    except ValueError as exc:  # botocore's word on a region or endpoint the checks above let through
        if isinstance(exc, BotoCoreError):
            raise
        raise _Refused(_one_line(exc)) from None


def _run(args: argparse.Namespace, ecr: Any, out: TextIO) -> int:
    scan_type = registry.registry_scan_type(ecr)
    enhanced = not freshness.manual_scans_apply(scan_type)
    listed = None if enhanced else registry.scans_listed(ecr)
    budgeted = args.command == "plan" and args.budget is not None
    in_use_days = args.in_use_days if budgeted else budget.DEFAULT_IN_USE_DAYS
    options = SweepOptions(args.expiry_days, args.only_pulled_within_days, args.max_images, listed, in_use_days)
    items: list[budget.Item] = []
    today = budget.day_of(datetime.now(UTC))
    if enhanced:
        print(
            f"{PROG}: the registry uses {scan_type} scanning: Amazon Inspector rescans continuously, "
            "no manual scan applies",
            file=sys.stderr,
        )
    now = datetime.now(UTC)
    candidates: list[Candidate] = []
    summaries: list[SweepSummary] = []
    repositories, filtered_out = ([], 0) if enhanced else _select(ecr, args.include, args.exclude)
    gone = 0
    quota = scanning.ScanQuota()
    dynamodb = _client(args, "dynamodb") if args.table else None
    ttl, plan = ledger.expires_at(now, args.expiry_days), args.command == "plan"
    for repo in repositories:
        if quota.exhausted:
            print(f"{PROG}: warning: repository {repo.name!r} skipped: the daily scan quota is spent", file=sys.stderr)
            continue
        records = None
        if dynamodb is not None:
            records = ledger.RepositoryLedger(dynamodb, args.table, repo.name, repo.registry_id, now, ttl, plan)
        kwargs: dict[str, Any] = {"now": now, "registry_id": repo.registry_id, "options": options, "ledger": records}
        try:
            if plan:
                summary = SweepSummary(repo.name, repo.registry_id)
                # With --budget every schedulable image is collected (an allowance of nothing takes none) and
                # ranked registry-wide afterwards, as the repositories function ranks the censuses.
                run = BudgetRun(budget.Spender(budget.Allowance(today, 0)), today, collect=items) if budgeted else None
                found = list(plan_repository(ecr, repo.name, summary=summary, run=run, **kwargs))
                for candidate in found:
                    log.emit(logger, "scan_needed", logging.DEBUG, **candidate.to_json())
                candidates.extend(found)
                summaries.append(summary)
            else:
                summaries.append(sweep_repository(ecr, repo.name, quota=quota, **kwargs))
        except registry.RepositoryNotFound:
            gone += 1
            print(f"{PROG}: warning: repository {repo.name!r} no longer exists, skipped", file=sys.stderr)
    if budgeted:
        matched = len(summaries) + gone
        counts = plan_counts.plan_counts(
            matched=matched, filtered_out=filtered_out, gone=gone, summaries=[s.counts() for s in summaries], reasons=[]
        )
        _print_budget_plan(budget.select(items, args.budget, today, args.expiry_days), counts, args.output, out)
    elif plan:
        matched = len(summaries) + gone
        counts = plan_counts.plan_counts(
            matched=matched,
            filtered_out=filtered_out,
            gone=gone,
            summaries=[s.counts() for s in summaries],
            reasons=[c.reason for c in candidates],
        )
        owners = _plan_owners(ecr, dynamodb, args.table, candidates) if dynamodb is not None else None
        _print_plan(candidates, counts, args.output, out, owners)
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
    dynamodb = _client(args, "dynamodb", args.endpoint_url)
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


def _suppressions(args: argparse.Namespace, out: TextIO) -> int:
    """Which repositories of the registry (those --include/--exclude select) each suppression covers."""
    entries = _suppressions_file(args.file) if args.file is not None else None
    if entries is None:
        stored = suppression_store.read(_client(args, "dynamodb"), args.table)
        if stored is None:
            print(
                f"{PROG}: no suppressions in {args.table} (the module stores none while its suppressions input "
                "is empty)",
                file=sys.stderr,
            )
        entries = stored or ()
    ecr = _client(args, "ecr", args.endpoint_url)
    names = [repo.name for repo in _select(ecr, args.include, args.exclude)[0]]
    found = coverage.coverage(suppressions.scopes(entries, datetime.now(UTC).date()), names)
    if args.output == "json":
        doc = {
            "repositories": len(names),
            "suppressions": [c.to_json() for c in found],
            "counts": {"suppressions": len(found), **coverage.flag_counts(found)},
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
    else:
        _print_coverage(found, len(names), out)
    return 0


# --- route (issue 19): who owns a repository ----------------------------------------------------------------------

_ROUTED_SETTINGS = ("severity_thresholds", "notify_on", "renotify_after_days", "notify_on_resolved")


def _route(args: argparse.Namespace, out: TextIO) -> int:
    """Each repository's owner (core/ownership.py, over the stored teams and the repository's ECR tags), the
    settings its images are evaluated with (teams.settings_for) and the topics its notifications go to."""
    try:
        thresholds = parse_thresholds(args.thresholds, "--thresholds")
    except ConfigError as exc:
        raise _Refused(str(exc)) from None
    module = Settings(
        severity_thresholds=thresholds,
        notify_on=args.notify_on,
        renotify_after_days=args.renotify_after_days,
        notify_on_resolved=args.notify_on_resolved,
        sns_topic_arn=args.topic,
    )
    stored = teams.read(_client(args, "dynamodb"), args.table)
    if stored is None:
        print(
            f"{PROG}: no teams in {args.table} (the module stores none while its teams input is empty): every "
            "repository has the module's settings",
            file=sys.stderr,
        )
    document = stored or teams.NO_TEAMS
    ecr = _client(args, "ecr", args.endpoint_url) if document.tag_key is not None else None
    reader = repository_tags.TagReader()
    routes = [_route_one(ecr, reader, name, document, module) for name in args.repositories]
    if args.output == "json":
        doc = {
            "teams_document": stored is not None,
            "tag_key": document.tag_key,
            "module_topic": document.module_topic,
            "repositories": routes,
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
    else:
        for route in routes:
            _print_route(route, module.sns_topic_arn, out)
    return 0


def _route_one(
    ecr: Any, reader: repository_tags.TagReader, name: str, document: teams.TeamsDocument, module: Settings
) -> dict[str, Any]:
    tags, notes = None, []
    if ecr is not None:
        try:
            [repo] = ecr.describe_repositories(repositoryNames=[name])["repositories"]
            tags = reader.tags(ecr, repo["repositoryArn"])
        except ClientError as exc:
            if registry.error_code(exc) != "RepositoryNotFoundException":
                raise
            notes.append(f"repository {name} does not exist in the registry")
    owner = ownership.resolve(name, tags, document)
    if owner.note:
        notes.insert(0, owner.note)
    applied = teams.settings_for(module, owner.team)
    team = owner.team
    topics = ownership.topics(owner, document, module.sns_topic_arn)
    return {
        "repository": name,
        "team": owner.name,
        "how": owner.how,
        "tag": f"{document.tag_key}={tags[document.tag_key]}" if owner.how == ownership.BY_TAG and tags else None,
        "repository_regex": team.repository_regex.pattern if owner.how == ownership.BY_REGEX and team else None,
        "notes": notes,
        "settings": {
            "severity_thresholds": {s: applied.severity_thresholds.get(s) for s in SEVERITIES},
            "notify_on": applied.notify_on,
            "renotify_after_days": applied.renotify_after_days,
            "notify_on_resolved": applied.notify_on_resolved,
            "count_only_fixable": team.count_only_fixable if team else False,
            "alert_on_exploitable": team.alert_on_exploitable if team else False,
        },
        "team_settings": sorted(team.settings) if team else [],
        "topics": topics,
        "module_topic": team is None or document.module_topic == "all",
        "chat_topic": team.chat_topic_arn if team else None,
    }


def _print_route(route: dict[str, Any], module_arn: str | None, out: TextIO) -> None:
    if route["how"] == ownership.BY_TAG:
        owner = f"team {route['team']} (tag {route['tag']})"
    elif route["how"] == ownership.BY_REGEX:
        owner = f"team {route['team']} (repository_regex {route['repository_regex']!r})"
    else:
        owner = "nobody (no team's tag or repository_regex): the module's settings"
    settings = route["settings"]
    thresholds = settings["severity_thresholds"]
    shown = {
        "severity_thresholds": ", ".join(
            f"{s} > {thresholds[s]}" if thresholds[s] is not None else f"{s} ignored" for s in SEVERITIES
        ),
        "notify_on": settings["notify_on"],
        "renotify_after_days": "never" if settings["renotify_after_days"] is None else settings["renotify_after_days"],
        "notify_on_resolved": str(settings["notify_on_resolved"]).lower(),
    }
    lines = [f"{route['repository']}: {owner}"]
    lines += [f"  note: {note}" for note in route["notes"]]
    for key in _ROUTED_SETTINGS:
        source = "team" if key in route["team_settings"] else "module"
        lines.append(f"  {key + ':':<22}{shown[key]} ({source})")
    if route["team"] is not None:
        lines.append(f"  {'count_only_fixable:':<22}{str(settings['count_only_fixable']).lower()}")
        lines.append(f"  {'alert_on_exploitable:':<22}{str(settings['alert_on_exploitable']).lower()}")
    topics = list(route["topics"])
    if route["module_topic"] and module_arn is None:
        topics.append("the module's topic (--topic ARN names it)")
    lines.append(f"  {'topics:':<22}{', '.join(topics)}")
    if route["chat_topic"]:
        lines.append(f"  {'chat topic:':<22}{route['chat_topic']}")
    out.write("\n".join(lines) + "\n")


def _suppressions_file(path: Path) -> tuple[suppressions.Suppression, ...]:
    """The file's suppressions, each regex refused as Terraform refuses it (and with its message); a bad file is a
    bad option."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"--file: cannot read {str(path)!r} ({_one_line(exc)})") from None
    for index, pattern in _file_regexes(text):  # before parsing, which compiles them with Python's rules
        problem = regex_subset.problem(pattern)
        if problem is not None:
            raise _Refused(f"--file {str(path)!r}: suppressions[{index}].repository_regex {pattern!r} {problem}")
    try:
        return suppressions.parse(text)
    except ConfigError as exc:
        raise _Refused(f"--file {str(path)!r}: {exc}") from None


def _file_regexes(text: str) -> list[tuple[int, str]]:
    """The (index, repository_regex) of each entry of a suppressions document that has one; what is not a
    document yields nothing (suppressions.parse says what is wrong with it)."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if isinstance(data, dict):
        data = data.get("suppressions")
    if not isinstance(data, list):
        return []
    items = [(i, item.get("repository_regex")) for i, item in enumerate(data) if isinstance(item, dict)]
    return [(i, regex) for i, regex in items if isinstance(regex, str) and regex]


def _select(
    ecr: Any, include: re.Pattern[str], exclude: re.Pattern[str] | None
) -> tuple[list[registry.RepositoryRecord], int]:
    """The repositories the regexes select, and how many they filter out (each decision logged at DEBUG)."""
    selected, filtered_out = [], 0
    for repo in registry.iter_repositories(ecr):
        if selection.repository_selected(repo.name, include, exclude):
            log.emit(logger, "repository_selected", logging.DEBUG, repository=repo.name)
            selected.append(repo)
        else:
            filtered_out += 1
            log.emit(logger, "repository_filtered_out", logging.DEBUG, repository=repo.name)
    return selected, filtered_out


def _plan_owners(ecr: Any, dynamodb: Any, table: str, candidates: list[Candidate]) -> dict[str, str | None] | None:
    """The owning team of each repository with an image to scan, when the module stores teams (else None): the
    resolution the findings function applies (core/ownership.py), the tags read once per repository."""
    document = teams.read(dynamodb, table)
    if document is None:
        return None
    reader, owners = repository_tags.TagReader(), {}
    for candidate in candidates:
        if candidate.repository in owners:
            continue
        tags = None
        if document.tag_key is not None and candidate.registry_id:
            arn = repository_tags.repository_arn(
                ecr.meta.partition, ecr.meta.region_name, candidate.registry_id, candidate.repository
            )
            tags = reader.tags(ecr, arn)
        owners[candidate.repository] = ownership.resolve(candidate.repository, tags, document).name
    return owners


def _print_plan(
    candidates: list[Candidate],
    counts: dict[str, Any],
    output: str,
    out: TextIO,
    owners: dict[str, str | None] | None = None,
) -> None:
    if output == "json":
        images = [c.to_json() | ({"team": owners[c.repository]} if owners is not None else {}) for c in candidates]
        json.dump({"images": images, "counts": counts}, out, indent=2)
        out.write("\n")
        return
    rows = [[c.repository, c.digest, ",".join(c.tags) or "<untagged>", c.reason, _iso(c.last_scan)] for c in candidates]
    header = ["REPOSITORY", "DIGEST", "TAGS", "REASON", "LAST SCAN"]
    if owners is not None:
        header.insert(1, "TEAM")
        for row, candidate in zip(rows, candidates, strict=True):
            row.insert(1, owners[candidate.repository] or "-")
    _table(header, rows, out)
    repositories = len({c.repository for c in candidates})
    out.write(f"{len(candidates)} image(s) in {repositories} repository(ies) would be scanned\n")
    for line in plan_counts.render_text(counts):
        out.write(line + "\n")


def _print_budget_plan(
    selected: tuple[budget.Plan, list[budget.Item]], counts: dict[str, Any], output: str, out: TextIO
) -> None:
    """``plan --budget``: the images today's budget would scan, and the plan by class."""
    plan, chosen = selected
    by_class = {budget.CLASS_NAMES[k]: {"due": plan.due[k], "would_scan": plan.taken[k]} for k in budget.CLASSES}
    if output == "json":
        doc = {
            "images": [
                {
                    "repository": i.repository,
                    "digest": i.digest,
                    "class": budget.CLASS_NAMES[_klass(i, plan.day)],
                    "in_use": i.used,
                    "due_day": i.due_day,
                }
                for i in chosen
            ],
            "budget": {"budget": plan.budget, "levelled_amount": plan.amount, "classes": by_class},
            "counts": {"repositories": counts["repositories"], "images": _budget_left_out(counts)},
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
        return
    rows = [
        [i.repository, i.digest, budget.CLASS_NAMES[_klass(i, plan.day)], "yes" if i.used else "no"] for i in chosen
    ]
    _table(["REPOSITORY", "DIGEST", "CLASS", "IN USE"], rows, out)
    out.write(
        f"budget {plan.budget:,}: today's levelled amount {plan.amount:,}, {len(chosen):,} image(s) would be scanned\n"
    )
    for name, figures in by_class.items():
        out.write(f"  {name}: {figures['due']:,} due, {figures['would_scan']:,} would be scanned\n")
    out.write(plan_counts.render_text(counts)[0] + "\n")
    if left_out := _budget_left_out(counts)["not_scannable"]:
        out.write(f"{left_out:,} image(s) not scannable (artifacts ECR cannot scan): never in the budget\n")


def _budget_left_out(counts: dict[str, Any]) -> dict[str, int]:
    """What a budget plan leaves out of its ranking: the artifacts ECR cannot scan (issue 26)."""
    return {"not_scannable": counts["images"]["not_scannable"]}


def _klass(item: budget.Item, today: int) -> int:
    return budget.priority(never=item.never, used=item.used, due_day=item.due_day, today=today)


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


_FLAG_WORDS = {
    coverage.NO_REPOSITORY: "matches no repository",
    coverage.EVERY_REPOSITORY: "matches every repository",
    coverage.GLOB_LIKE: "looks like a glob",
}
_FLAG_TOTALS = {
    coverage.NO_REPOSITORY: "match no repository",
    coverage.EVERY_REPOSITORY: "match every repository",
    coverage.GLOB_LIKE: "look like a glob",
}


def _print_coverage(found: list[coverage.Coverage], total: int, out: TextIO) -> None:
    for item in found:
        details, regex = item.scope.details, item.scope.regex
        when = f"expired {details['expires']}" if details["expired"] else f"expires {details['expires']}"
        scope = f"repository_regex {regex.pattern!r}" if regex else "no repository_regex (every repository)"
        out.write(
            f"{item.scope.name} {details['vulnerability_id']} ({when}): {scope}: {item.count} of {total} repositories\n"
        )
        for flag in item.flags:
            note = coverage.glob_hint(regex.pattern) if flag == coverage.GLOB_LIKE and regex else _FLAG_WORDS[flag]
            out.write(f"  warning: {note}\n")
        for name in item.repositories:
            out.write(f"    {name}\n")
    notes = [f"{n} {_FLAG_TOTALS[flag]}" for flag, n in coverage.flag_counts(found).items() if n]
    out.write(f"{len(found)} suppression(s) over {total} repositories" + (": " + ", ".join(notes) if notes else ""))
    out.write("\n")


def _table(header: list[str], rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
