"""``route`` (issue 19): who owns each repository, which settings apply to it and where its notifications go
(reads only). ``route --all`` (issue 29): every repository of the registry, one line each, the unowned ones and
the tags naming no team flagged. The module's settings come from the deployed findings function's environment
(``--function``: its thresholds, notify settings, topic and ledger table), or from the options."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from botocore.exceptions import ClientError

from ecr_scan_reporter.cli.common import PROG, _client, _connection, _Refused, _table, _whole
from ecr_scan_reporter.core import ownership, repository_tags, teams
from ecr_scan_reporter.core.config import (
    NOTIFY_ON_CHOICES,
    SEVERITIES,
    ConfigError,
    Settings,
    is_sns_arn,
    parse_thresholds,
)
from ecr_scan_reporter.sweep import registry

_UNSET: Any = object()  # --renotify-after-days not given (None is "never")


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
    connection = _connection("ecr")
    sub = commands.add_parser(
        "route",
        parents=[connection],
        help="who owns each repository, which thresholds apply, where its notifications go (reads only)",
    )
    sub.add_argument("repositories", nargs="*", metavar="REPOSITORY")
    sub.add_argument("--all", action="store_true", help="every repository of the registry, one line each")
    sub.add_argument(
        "--table", default=None, metavar="NAME", help="the scan ledger (output ledger_table_name): the stored teams"
    )
    sub.add_argument(
        "--function",
        default=None,
        metavar="NAME",
        help="the module's findings function (output function_names.findings): the module's settings and its "
        "ledger table are read from its environment (lambda:GetFunctionConfiguration) instead of the options below",
    )
    sub.add_argument("--output", choices=("text", "json"), default="text")
    module = sub.add_argument_group(
        "the module's own settings (what a repository no team owns gets), without --function"
    )
    module.add_argument(
        "--thresholds",
        default=None,
        metavar="JSON",
        help='the module\'s severity_thresholds (default {"CRITICAL": 0, "HIGH": 0})',
    )
    module.add_argument("--notify-on", choices=NOTIFY_ON_CHOICES, default=None, help="default new_findings")
    module.add_argument(
        "--renotify-after-days",
        type=_renotify,
        default=_UNSET,
        metavar="N|never",
        help="1-365 or never (default 30)",
    )
    module.add_argument("--notify-on-resolved", type=_boolean, default=None, metavar="true|false")
    module.add_argument("--topic", type=_topic, default=None, metavar="ARN", help="the module's topic (sns_topic_arn)")


_MODULE_OPTIONS = ("thresholds", "notify_on", "renotify_after_days", "notify_on_resolved", "topic")


def _module_settings(args: argparse.Namespace) -> tuple[Settings, str, str]:
    """The module's settings, where they come from ("options" or "function NAME") and the ledger table."""
    given = [f"--{name.replace('_', '-')}" for name in _MODULE_OPTIONS if getattr(args, name) not in (None, _UNSET)]
    if args.function is not None:
        if given:
            raise _Refused(f"--function reads the module's settings from the function: not with {', '.join(given)}")
        configuration = _client(args, "lambda").get_function_configuration(FunctionName=args.function)
        environment = configuration.get("Environment", {}).get("Variables", {})
        try:
            deployed = Settings.from_env(environment)
        except ConfigError as exc:
            raise _Refused(f"function {args.function}'s environment: {exc}") from None
        table = args.table or deployed.ledger_table_name
        if table is None:
            raise _Refused(f"function {args.function} has no LEDGER_TABLE_NAME: give --table NAME")
        return deployed, f"function {args.function}", table
    if args.table is None:
        raise _Refused(
            "give --table NAME (output ledger_table_name) or --function NAME (output function_names.findings)"
        )
    try:
        thresholds = parse_thresholds(args.thresholds, "--thresholds")
    except ConfigError as exc:
        raise _Refused(str(exc)) from None
    module = Settings(
        severity_thresholds=thresholds,
        notify_on=args.notify_on or "new_findings",
        renotify_after_days=30 if args.renotify_after_days is _UNSET else args.renotify_after_days,
        notify_on_resolved=True if args.notify_on_resolved is None else args.notify_on_resolved,
        sns_topic_arn=args.topic,
    )
    return module, "options", args.table


_ROUTED_SETTINGS = ("severity_thresholds", "notify_on", "renotify_after_days", "notify_on_resolved")


def _route(args: argparse.Namespace, out: TextIO) -> int:
    """Each repository's owner (core/ownership.py, over the stored teams and the repository's ECR tags), the
    settings its images are evaluated with (teams.settings_for) and the topics its notifications go to."""
    if args.all and args.repositories:
        raise _Refused("route takes REPOSITORY names or --all, not both")
    if not args.all and not args.repositories:
        raise _Refused("route: name one or more REPOSITORY, or --all (every repository of the registry)")
    module, source, table = _module_settings(args)
    stored = teams.read(_client(args, "dynamodb"), table)
    if stored is None:
        print(
            f"{PROG}: no teams in {table} (the module stores none while its teams input is empty): every "
            "repository has the module's settings",
            file=sys.stderr,
        )
    document = stored or teams.NO_TEAMS
    ecr = _client(args, "ecr") if document.tag_key is not None or args.all else None
    reader = repository_tags.TagReader()
    names = sorted(repo.name for repo in registry.iter_repositories(ecr)) if args.all else args.repositories
    routes = [_route_one(ecr if document.tag_key else None, reader, name, document, module) for name in names]
    if args.output == "json":
        doc = {
            "teams_document": stored is not None,
            "tag_key": document.tag_key,
            "module_topic": document.module_topic,
            "module_settings_from": source,
            "repositories": routes,
        }
        if args.all:
            doc["counts"] = _counts(routes)
        json.dump(doc, out, indent=2)
        out.write("\n")
    elif args.all:
        _print_all(routes, module, source, out)
    else:
        for route in routes:
            _print_route(route, module.sns_topic_arn, out)
    return 0


def _counts(routes: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "repositories": len(routes),
        "by_tag": sum(1 for r in routes if r["how"] == ownership.BY_TAG),
        "by_repository_regex": sum(1 for r in routes if r["how"] == ownership.BY_REGEX),
        "unowned": sum(1 for r in routes if "unowned" in r["flags"]),
        "tag_names_no_team": sum(1 for r in routes if "tag_names_no_team" in r["flags"]),
    }


def _thresholds(thresholds: Any) -> str:
    return ", ".join(f"{s} > {thresholds[s]}" if thresholds.get(s) is not None else f"{s} ignored" for s in SEVERITIES)


def _print_all(routes: list[dict[str, Any]], module: Settings, source: str, out: TextIO) -> None:
    """One line a repository: owner, why, the thresholds its images are judged by, flags; then the counts."""
    topic = module.sns_topic_arn or "not named (--topic ARN or --function)"
    out.write(f"module settings ({source}): {_thresholds(module.severity_thresholds)}; topic {topic}\n")
    rows = []
    for route in routes:
        if route["how"] == ownership.BY_TAG:
            why = f"tag {route['tag']}"
        elif route["how"] == ownership.BY_REGEX:
            why = f"repository_regex {route['repository_regex']!r}"
        else:
            why = "no team's tag or repository_regex"
        thresholds = route["settings"]["severity_thresholds"]
        compact = " ".join(f"{s[0]}>{thresholds[s]}" for s in SEVERITIES if thresholds[s] is not None) or "none"
        flags = ["UNOWNED"] if "unowned" in route["flags"] else []
        flags += [note for note in route["notes"] if "names no team" in note or "does not exist" in note]
        rows.append([route["repository"], route["team"] or "-", why, compact, "; ".join(flags)])
    _table(["REPOSITORY", "OWNER", "WHY", "THRESHOLDS", "FLAGS"], rows, out)
    counts = _counts(routes)
    out.write(
        f"{counts['repositories']} repositories: {counts['by_tag']} owned by tag, {counts['by_repository_regex']} "
        f"by repository_regex, {counts['unowned']} unowned; {counts['tag_names_no_team']} tag naming no team\n"
    )


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
    flags = [] if team is not None else ["unowned"]
    if tags is not None and document.tag_key is not None and document.tag_key in tags and owner.how != ownership.BY_TAG:
        flags.append("tag_names_no_team")
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
        "flags": flags,
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
