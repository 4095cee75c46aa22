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
    ecr-scan-reporter route (REPOSITORY... | --all) (--table NAME | --function NAME) [--output text|json]
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

The modules: this one is the entry point (:func:`main`, :func:`build_parser`: the console script
``ecr_scan_reporter.cli:main`` and ``python -m ecr_scan_reporter``); ``common.py`` the parser class, the argument
types, the bad-option error, the clients and the printing helpers the subcommands share; one module per subcommand:
``sweep.py`` (``plan`` and ``scan``, one sweep path), ``report.py``, ``suppressions.py``, ``route.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter import __version__
from ecr_scan_reporter.alerts import suppression_store
from ecr_scan_reporter.cli import report, route, suppressions, sweep
from ecr_scan_reporter.cli.common import (
    _VERBOSE_HELP,
    BROKEN_PIPE,
    CLI_MAX_ATTEMPTS,
    PROG,
    _client,
    _one_line,
    _Parser,
    _Refused,
    _resolve_endpoints,
)
from ecr_scan_reporter.core import log, teams

__all__ = ["BROKEN_PIPE", "CLI_MAX_ATTEMPTS", "PROG", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Keep Amazon ECR image scans fresh: plan or start the scans due.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", dest="verbose_first", action="store_true", help=_VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{plan,scan,report,suppressions,route}")
    sweep._add_sweep_parsers(commands)
    report._add_report_parser(commands)
    suppressions._add_suppressions_parser(commands)
    route._add_route_parser(commands)
    return parser


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
        deprecation = _resolve_endpoints(args)
        if deprecation:
            print(deprecation, file=sys.stderr)
        if args.command == "report":
            return report._report(args, sys.stdout)
        if args.command == "suppressions":
            return suppressions._suppressions(args, sys.stdout)
        if args.command == "route":
            return route._route(args, sys.stdout)
        return sweep._run(args, _client(args, "ecr"), sys.stdout)
    except _Refused as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError, suppression_store.SuppressionsUnavailable, teams.TeamsUnavailable) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
