"""``suppressions``: which repositories of the registry each suppression covers (reads only), from the table or a
file."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from ecr_scan_reporter.alerts import suppression_store, suppressions
from ecr_scan_reporter.cli.common import PROG, _client, _connection, _one_line, _Refused, _select, _selection
from ecr_scan_reporter.core import coverage, regex_subset
from ecr_scan_reporter.core.config import ConfigError


def _add_suppressions_parser(commands: Any) -> None:
    connection = _connection("ecr")
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
    ecr = _client(args, "ecr")
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
