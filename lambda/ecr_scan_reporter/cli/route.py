"""``route`` (issue 19): who owns each repository, which settings apply to it and where its notifications go
(reads only)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from botocore.exceptions import ClientError

from ecr_scan_reporter.cli.common import PROG, _client, _connection, _Refused, _whole
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
    ecr = _client(args, "ecr") if document.tag_key is not None else None
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
