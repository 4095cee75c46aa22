"""What the subcommands share: the argument parser's class and argument types (a bad value is a bad option, with
Terraform's message where Terraform refuses it too), the bad option found after parsing (:class:`_Refused`), the
clients (:func:`_client`), the repositories the regexes select (:func:`_select`) and the printing helpers."""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError

from ecr_scan_reporter.core import aws, log, regex_subset, selection
from ecr_scan_reporter.sweep import registry

PROG = "ecr-scan-reporter"
_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")  # us-east-1, us-gov-west-1, eusc-de-east-1, ...
CLI_MAX_ATTEMPTS = 3  # fail fast on an unreachable endpoint; throttling still gets adaptive retries
#: The status when stdout is closed before the output ends (``plan | head``): 128 + SIGPIPE, what a shell reports
#: for a tool the signal stopped. Python ignores SIGPIPE (its sockets need that), so the write fails instead.
BROKEN_PIPE = 141
logger = log.get_logger("ecr_scan_reporter.cli")  # the name the decisions were always logged under


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


#: The services whose endpoint a flag sets (``--ecr-endpoint-url``, ``--dynamodb-endpoint-url``), by display name.
ENDPOINT_SERVICES = {"ecr": "ECR", "dynamodb": "DynamoDB", "lambda": "Lambda"}


def _connection(old_endpoint_service: str) -> argparse.ArgumentParser:
    """--region, one endpoint flag per service, --localstack, -v. ``old_endpoint_service``: what the deprecated
    ``--endpoint-url`` meant for this subcommand ("ecr", or "dynamodb" for report), which it keeps meaning."""
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--region", type=_region, default=None, help="AWS region (default: the standard AWS configuration)"
    )
    for service, name in ENDPOINT_SERVICES.items():
        parent.add_argument(
            f"--{service}-endpoint-url",
            type=_endpoint_url,
            default=None,
            metavar="URL",
            help=f"{name}'s endpoint (e.g. an emulator; default: the standard one, AWS_ENDPOINT_URL_{service.upper()})",
        )
    where = parent.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url",
        type=_endpoint_url,
        default=None,
        metavar="URL",
        help=f"deprecated: {ENDPOINT_SERVICES[old_endpoint_service]}'s endpoint here; use "
        f"--{old_endpoint_service}-endpoint-url",
    )
    where.add_argument(
        "--localstack",
        action="store_true",
        help="every client from localstack-client: LocalStack at LOCALSTACK_HOST (default localhost:4566) or "
        "AWS_ENDPOINT_URL (pip install 'ecr-scan-reporter[localstack]')",
    )
    parent.add_argument("-v", "--verbose", action="store_true", help=_VERBOSE_HELP)
    parent.set_defaults(old_endpoint_service=old_endpoint_service)
    return parent


def _resolve_endpoints(args: argparse.Namespace) -> str | None:
    """Fold the deprecated ``--endpoint-url`` into its service's flag; refuse contradictions (status 2). The
    deprecation message to print, if any."""
    given = [f"--{service}-endpoint-url" for service in ENDPOINT_SERVICES if getattr(args, f"{service}_endpoint_url")]
    if args.localstack and given:
        raise _Refused(f"--localstack takes every endpoint from localstack-client: not with {', '.join(given)}")
    if not args.endpoint_url:
        return None
    service = args.old_endpoint_service
    flag = f"--{service}-endpoint-url"
    if flag in given:
        raise _Refused(
            f"--endpoint-url (deprecated) and {flag} both set {ENDPOINT_SERVICES[service]}'s endpoint: give {flag}"
        )
    setattr(args, f"{service}_endpoint_url", args.endpoint_url)
    return (
        f"{PROG}: warning: --endpoint-url is deprecated: here it is {ENDPOINT_SERVICES[service]}'s endpoint; "
        f"use {flag} (" + ", ".join(f"--{s}-endpoint-url: {n}'s" for s, n in ENDPOINT_SERVICES.items()) + ")"
    )


def _client(args: argparse.Namespace, service: str) -> Any:
    """The client for ``service``: from localstack-client with --localstack, else aws.client (its
    ``--<service>-endpoint-url``, else the standard endpoint). A region or endpoint botocore refuses is a bad
    option."""
    endpoint_url = getattr(args, f"{service}_endpoint_url", None)
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


def _table(header: list[str], rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "-"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
