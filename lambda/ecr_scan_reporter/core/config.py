"""Environment -> one validated, typed settings object.

Every Lambda reads its configuration once, at cold start, through :func:`Settings.from_env`. An invalid
value raises :class:`ConfigError` naming the variable and the accepted form, so a misconfigured function
fails loudly on its first invocation instead of misbehaving quietly.

Variables (all optional unless a handler requires them):

==================================  ==========================================================  =========
variable                            accepted form                                               default
==================================  ==========================================================  =========
QUEUE_URL                           SQS queue URL (repositories: where to send; images: where   --
                                    to re-enqueue a continuation)
SNS_TOPIC_ARN                       arn:<partition>:sns:<region>:<account>:<name>               --
REPOSITORY_INCLUDE_REGEX            Python regex, searched in the repository name               ``.*``
REPOSITORY_EXCLUDE_REGEX            Python regex, searched in the repository name; empty = none  empty
SCAN_EXPIRY_DAYS                    whole number of days, 1-365                                 7
SEVERITY_THRESHOLDS                 JSON object, keys CRITICAL/HIGH/MEDIUM/LOW (any case, each  see below
                                    once), values a non-negative integer or null (null or
                                    absent = ignored)
NOTIFY_ON_SCAN_FAILURE              true/false                                                  true
ONLY_IMAGES_PULLED_WITHIN_DAYS      whole number of days >= 1; empty = no filter (deprecated:    empty
                                    IN_USE_DAYS ranks images instead of leaving them out)
IN_USE_DAYS                         whole number of days >= 1: an image pulled within it is in   30
                                    use (the scan budget scans those first); empty: ONLY_IMAGES_
                                    PULLED_WITHIN_DAYS when set, else 30
DAILY_SCAN_BUDGET                   whole number 1-100000: scans a day, registry-wide, spent by  empty
                                    priority (sweep/budget.py; needs LEDGER_TABLE_NAME); empty =
                                    no budget (every due image, until ECR's quota refuses)
MAX_IMAGES_PER_REPOSITORY           whole number >= 1; empty = no limit                         empty
TIME_BUDGET_RESERVE_SECONDS         whole number of seconds >= 1 kept in reserve before a       20
                                    Lambda hands the rest of a repository to a continuation
LEDGER_TABLE_NAME                   DynamoDB table name of the scan ledger; empty = no ledger    empty
                                    (every result notifies, every sweep looks each image up)
NOTIFY_ON                           new_findings or every_scan                                  new_findings
NOTIFY_ON_RESOLVED                  true/false: one ``resolved`` notification when an image     true
                                    that breached is within every threshold again
RENOTIFY_AFTER_DAYS                 whole number of days 1-365 after which an image still in    30
                                    breach is reminded, or ``never``
FINDINGS_IN_NOTIFICATION            whole number 0-50: findings listed in a notification        10
SUPPRESSIONS_SHA256                 SHA-256 (hex) of the suppressions document stored in the    empty
                                    ledger table (config#suppressions); empty = none
CHAT_TOPIC_ARN                      SNS topic ARN for the chat (custom-notification) form       --
TEAMS_SHA256                        SHA-256 (hex) of the teams document stored in the ledger    empty
                                    table (config#teams); empty = no teams
TEAM_TAG_CACHE_SECONDS              whole number of seconds 0-3600 a function keeps a           300
                                    repository's tags (a team tag change takes effect within)
LOG_LEVEL                           DEBUG, INFO, WARNING or ERROR                               INFO
METRICS_NAMESPACE                   CloudWatch namespace of the metrics (1-255 of letters,      see below
                                    digits and . - _ / # :; not starting with AWS/)
REPORT_BUCKET_NAME                  S3 bucket the exposure report is also written to (S3's      empty
                                    naming rules); empty = none
HUB_REPORT_BUCKET_NAME              the organization hub's report bucket (another account's,    empty
                                    S3's naming rules) the report is also written to; empty =
                                    none (needs HUB_REPORT_PREFIX and HUB_REPORT_KMS_KEY_ARN)
HUB_REPORT_PREFIX                   where in the hub's bucket: ``<account>/<region>/`` (path     empty
                                    segments of letters, digits and ! - _ . * ' ( ), each
                                    ending in /)
HUB_REPORT_KMS_KEY_ARN              the hub's KMS key (arn:<partition>:kms:<region>:<account>:   empty
                                    key/<id>): the objects are written SSE-KMS with it
EXPECTED_SPOKES                     the hub's organization report: the spokes it expects,        empty
                                    ``<12-digit account>/<region>``, comma- or space-separated
SPOKE_REPORT_PERIOD_HOURS           the hub: how often the spokes report, whole hours 1-8760;    168
                                    a spoke silent for more than two periods is an alert
TEAM_NAMES                          the hub: its teams, comma-separated (each as a team's name:  empty
                                    1-40 of a-z 0-9 _ - starting with a letter or digit, not
                                    ``unowned``; each once); each receives its own organization
                                    report (needs TEAM_TOPIC_ARN_PREFIX); empty = no teams
TEAM_TOPIC_ARN_PREFIX               the hub: a team's topic is this + its name (arn:<partition>:  empty
                                    sns:<region>:<account>:<name prefix>, e.g. ending in ``-``)
SECURITY_HUB_PRODUCT_ARN            arn:<partition>:securityhub:<region>:<account>:product/     empty
                                    <account>/default: export images in breach to Security
                                    Hub (ASFF, needs the ledger); empty = no export
==================================  ==========================================================  =========

Default thresholds: CRITICAL 0, HIGH 0, MEDIUM and LOW ignored. A threshold N tolerates N findings; the image
breaches when its count is greater than N. Default metrics namespace: ``ECRScanReporter``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ecr_scan_reporter.core import regex_subset
from ecr_scan_reporter.core.metrics import DEFAULT_NAMESPACE, MetricError, validate_namespace

SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
DEFAULT_THRESHOLDS: Mapping[str, int | None] = MappingProxyType({"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": None})
_SNS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
NOTIFY_ON_CHOICES = ("new_findings", "every_scan")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_SECURITY_HUB_PRODUCT = re.compile(
    r"^arn:aws[a-zA-Z-]*:securityhub:[a-z0-9-]+:([0-9]{12}):product/([0-9]{12})/default$"
)


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable and the accepted form."""


@dataclass(frozen=True)
class Settings:
    queue_url: str | None = None
    sns_topic_arn: str | None = None
    include_regex: re.Pattern[str] = field(default_factory=lambda: re.compile(".*"))
    exclude_regex: re.Pattern[str] | None = None
    scan_expiry_days: int = 7
    severity_thresholds: Mapping[str, int | None] = field(default_factory=lambda: DEFAULT_THRESHOLDS)
    notify_on_scan_failure: bool = True
    only_images_pulled_within_days: int | None = None
    in_use_days: int = 30
    daily_scan_budget: int | None = None
    max_images_per_repository: int | None = None
    time_budget_reserve_seconds: int = 20
    log_level: str = "INFO"
    ledger_table_name: str | None = None
    notify_on: str = "new_findings"
    notify_on_resolved: bool = True
    renotify_after_days: int | None = 30
    metrics_namespace: str = DEFAULT_NAMESPACE
    report_bucket_name: str | None = None
    findings_in_notification: int = 10
    suppressions_sha256: str | None = None
    chat_topic_arn: str | None = None
    teams_sha256: str | None = None
    team_tag_cache_seconds: int = 300
    hub_report_bucket_name: str | None = None
    hub_report_prefix: str | None = None
    hub_report_kms_key_arn: str | None = None
    expected_spokes: tuple[str, ...] = ()
    spoke_report_period_hours: int = 168
    security_hub_product_arn: str | None = None
    team_names: tuple[str, ...] = ()
    team_topic_arn_prefix: str | None = None

    def team_topic_arn(self, team: str) -> str:
        """The hub's topic of ``team`` (TEAM_TOPIC_ARN_PREFIX + the team's name)."""
        if self.team_topic_arn_prefix is None:
            raise ConfigError(f"TEAM_TOPIC_ARN_PREFIX is not set: team {team}'s topic is unknown")
        return f"{self.team_topic_arn_prefix}{team}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, require: Iterable[str] = ()) -> Settings:
        """Build settings from ``env`` (default ``os.environ``); ``require`` names fields that must be set."""
        env = os.environ if env is None else env
        settings = cls(
            queue_url=_optional_str(env, "QUEUE_URL"),
            sns_topic_arn=_sns_arn(env, "SNS_TOPIC_ARN"),
            include_regex=_regex(env, "REPOSITORY_INCLUDE_REGEX") or re.compile(".*"),
            exclude_regex=_regex(env, "REPOSITORY_EXCLUDE_REGEX"),
            scan_expiry_days=_int(env, "SCAN_EXPIRY_DAYS", 7, low=1, high=365),
            severity_thresholds=parse_thresholds(env.get("SEVERITY_THRESHOLDS", "").strip() or None),
            notify_on_scan_failure=_bool(env, "NOTIFY_ON_SCAN_FAILURE", True),
            only_images_pulled_within_days=_optional_int(env, "ONLY_IMAGES_PULLED_WITHIN_DAYS", low=1),
            in_use_days=_optional_int(env, "IN_USE_DAYS", low=1, high=3650)
            or _optional_int(env, "ONLY_IMAGES_PULLED_WITHIN_DAYS", low=1)
            or 30,
            daily_scan_budget=_optional_int(env, "DAILY_SCAN_BUDGET", low=1, high=100_000),
            max_images_per_repository=_optional_int(env, "MAX_IMAGES_PER_REPOSITORY", low=1),
            time_budget_reserve_seconds=_int(env, "TIME_BUDGET_RESERVE_SECONDS", 20, low=1, high=600),
            log_level=_choice(env, "LOG_LEVEL", "INFO", _LOG_LEVELS),
            ledger_table_name=_table_name(env, "LEDGER_TABLE_NAME"),
            notify_on=_notify_on(env, "NOTIFY_ON"),
            notify_on_resolved=_bool(env, "NOTIFY_ON_RESOLVED", True),
            renotify_after_days=_renotify(env, "RENOTIFY_AFTER_DAYS"),
            metrics_namespace=_namespace(env, "METRICS_NAMESPACE"),
            report_bucket_name=_bucket_name(env, "REPORT_BUCKET_NAME"),
            findings_in_notification=_int(env, "FINDINGS_IN_NOTIFICATION", 10, low=0, high=50),
            suppressions_sha256=_sha256(env, "SUPPRESSIONS_SHA256"),
            chat_topic_arn=_sns_arn(env, "CHAT_TOPIC_ARN"),
            teams_sha256=_sha256(env, "TEAMS_SHA256"),
            team_tag_cache_seconds=_int(env, "TEAM_TAG_CACHE_SECONDS", 300, low=0, high=3600),
            hub_report_bucket_name=_bucket_name(env, "HUB_REPORT_BUCKET_NAME"),
            hub_report_prefix=_prefix(env, "HUB_REPORT_PREFIX"),
            hub_report_kms_key_arn=_kms_key_arn(env, "HUB_REPORT_KMS_KEY_ARN"),
            expected_spokes=_spokes(env, "EXPECTED_SPOKES"),
            spoke_report_period_hours=_int(env, "SPOKE_REPORT_PERIOD_HOURS", 168, low=1, high=8760),
            security_hub_product_arn=_security_hub_product(env, "SECURITY_HUB_PRODUCT_ARN"),
            team_names=_team_names(env, "TEAM_NAMES"),
            team_topic_arn_prefix=_topic_arn_prefix(env, "TEAM_TOPIC_ARN_PREFIX"),
        )
        for name in require:
            if getattr(settings, name) in (None, ""):
                raise ConfigError(f"{name.upper()} is required for this function and is not set")
        return settings


def is_sns_arn(value: str) -> bool:
    """True for an SNS topic ARN (the shape variables.tf checks)."""
    return _SNS_ARN.match(value) is not None


def parse_regex(value: str, name: str = "regex") -> re.Pattern[str]:
    """Compile a repository regex, or raise ConfigError naming ``name``: one Python cannot compile, or one that
    could hang the function (``regex_subset.nested_quantifier``, the rule Terraform applies at plan time)."""
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ConfigError(f"{name}={value!r} is not a valid regular expression ({exc})") from None
    if regex_subset.nested_quantifier(value):
        raise ConfigError(f"{name}={value!r} {regex_subset.HANGS}")
    return compiled


def parse_thresholds(raw: str | None, name: str = "SEVERITY_THRESHOLDS") -> Mapping[str, int | None]:
    """Parse the JSON thresholds object; ``None`` gives the defaults. Absent severities are ignored (None)."""
    if raw is None:
        return DEFAULT_THRESHOLDS
    form = 'a JSON object such as {"CRITICAL": 0, "HIGH": 0, "MEDIUM": null, "LOW": null}'
    try:
        data = json.loads(raw, object_pairs_hook=_Pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not valid JSON ({exc.msg}); expected {form}") from None
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit conversion limit
        raise ConfigError(f"{name} is not valid JSON ({exc}); expected {form}") from None
    if not isinstance(data, _Pairs):
        raise ConfigError(f"{name} must be {form}")
    thresholds: dict[str, int | None] = dict.fromkeys(SEVERITIES)
    seen: set[str] = set()
    for key, value in data:
        severity = str(key).upper()
        if severity not in SEVERITIES:
            raise ConfigError(f"{name} has unknown severity {key!r}; accepted: {', '.join(SEVERITIES)}")
        if severity in seen:  # {"CRITICAL": 5, "critical": 0}: which one was meant cannot be known
            raise ConfigError(f"{name} names {severity} twice (keys are case-insensitive); give each severity once")
        seen.add(severity)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name}[{severity}]={value!r} must be a non-negative whole number or null")
        thresholds[severity] = value
    return MappingProxyType(thresholds)


class _Pairs(list[tuple[str, object]]):
    """A JSON object as its (key, value) pairs in order, duplicates kept (json.loads keeps only the last)."""


def _optional_str(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _table_name(env: Mapping[str, str], name: str) -> str | None:
    value = _optional_str(env, name)
    if value is not None and not _TABLE_NAME.match(value):
        raise ConfigError(f"{name}={value!r} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
    return value


def _notify_on(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return NOTIFY_ON_CHOICES[0]
    if raw not in NOTIFY_ON_CHOICES:
        raise ConfigError(f"{name}={raw!r} must be one of {', '.join(NOTIFY_ON_CHOICES)}")
    return raw


def _renotify(env: Mapping[str, str], name: str) -> int | None:
    """``never``: no reminders (None); empty: the default, 30; else a whole number of days 1-365."""
    if env.get(name, "").strip().lower() == "never":
        return None
    try:
        return _int(env, name, 30, low=1, high=365)
    except ConfigError as exc:
        raise ConfigError(f"{exc}, or never") from None


def _sha256(env: Mapping[str, str], name: str) -> str | None:
    value = _optional_str(env, name)
    if value is not None and not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ConfigError(f"{name}={value!r} must be a SHA-256 in lower-case hex (64 characters)")
    return value


def _sns_arn(env: Mapping[str, str], name: str) -> str | None:
    value = _optional_str(env, name)
    if value is not None and not _SNS_ARN.match(value):
        raise ConfigError(f"{name}={value!r} is not an SNS topic ARN (arn:aws:sns:<region>:<account-id>:<name>)")
    return value


def _security_hub_product(env: Mapping[str, str], name: str) -> str | None:
    """The account's own product subscription (``product/<account>/default`` of that account), or None."""
    value = _optional_str(env, name)
    if value is None:
        return None
    match = _SECURITY_HUB_PRODUCT.match(value)
    if match is None or match.group(1) != match.group(2):
        raise ConfigError(
            f"{name}={value!r} is not the account's default Security Hub product "
            "(arn:aws:securityhub:<region>:<account-id>:product/<account-id>/default, the same account twice)"
        )
    return value


def _regex(env: Mapping[str, str], name: str) -> re.Pattern[str] | None:
    value = env.get(name, "")
    return parse_regex(value, name) if value.strip() else None


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    value = _optional_int(env, name, low=low, high=high)
    return default if value is None else value


def _optional_int(env: Mapping[str, str], name: str, low: int, high: int | None = None) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
    if not re.fullmatch(r"[0-9]+", raw):
        raise ConfigError(f"{name}={raw!r} must be a whole number {bounds}")
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise ConfigError(f"{name}={raw!r} must be a whole number {bounds}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip().upper()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def _namespace(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return DEFAULT_NAMESPACE
    try:
        return validate_namespace(raw)
    except MetricError as exc:
        raise ConfigError(f"{name}: {exc}") from None


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BUCKET_RESERVED = re.compile(
    r"\.\.|^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$|^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$"
)


def _bucket_name(env: Mapping[str, str], name: str) -> str | None:
    """An S3 general purpose bucket name (the rules variables.tf's report_bucket_name applies), or None."""
    value = _optional_str(env, name)
    if value is not None and (not _BUCKET.match(value) or _BUCKET_RESERVED.search(value)):
        raise ConfigError(f"{name}={value!r} is not an S3 bucket name (3-63 of a-z 0-9 . -, S3's naming rules)")
    return value


_PREFIX = re.compile(r"^([A-Za-z0-9!_.*'()-]+/)+$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$")


def _prefix(env: Mapping[str, str], name: str) -> str | None:
    """An S3 key prefix of safe characters whose every segment ends in ``/`` (``123456789012/eu-west-1/``)."""
    value = _optional_str(env, name)
    if value is not None and (len(value) > 512 or not _PREFIX.match(value)):
        raise ConfigError(
            f"{name}={value!r} must be path segments of letters, digits and ! - _ . * ' ( ), each ending in /"
            " (such as 123456789012/eu-west-1/)"
        )
    return value


def _kms_key_arn(env: Mapping[str, str], name: str) -> str | None:
    """A KMS key ARN (not an alias: another account's alias cannot be named)."""
    value = _optional_str(env, name)
    if value is not None and not _KMS_KEY_ARN.match(value):
        raise ConfigError(f"{name}={value!r} is not a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)")
    return value


_SPOKE = re.compile(r"^[0-9]{12}/[a-z]{2}(-[a-z]+)+-[0-9]$")


def _spokes(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """``<account>/<region>`` entries, comma- or whitespace-separated, each once (in the order given)."""
    spokes = tuple(dict.fromkeys(part for part in re.split(r"[\s,]+", env.get(name, "").strip()) if part))
    bad = [spoke for spoke in spokes if not _SPOKE.match(spoke)]
    if bad:
        raise ConfigError(f"{name}: not <12-digit account>/<region> (such as 123456789012/eu-west-1): {', '.join(bad)}")
    return spokes


#: The module's team-name rule (variables.tf's teams, core/teams.TEAM_NAME; a test keeps them equal): core/teams.py
#: imports this module, so the rule is repeated here rather than imported.
_TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_UNOWNED = "unowned"
_TOPIC_ARN_PREFIX = re.compile(r"^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{0,215}$")


def _team_names(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Team names, comma-separated (blanks around them ignored), each once, in the order given."""
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    names = tuple(part.strip() for part in raw.split(","))
    bad = [team for team in names if not _TEAM_NAME.match(team) or team == _UNOWNED]
    if bad:
        raise ConfigError(
            f"{name}: not a team name (1-40 of a-z 0-9 _ - starting with a letter or digit, not {_UNOWNED!r}):"
            f" {', '.join(repr(team) for team in bad)}"
        )
    twice = sorted({team for team in names if names.count(team) > 1})
    if twice:
        raise ConfigError(f"{name}: each team once; given more than once: {', '.join(twice)}")
    return names


def _topic_arn_prefix(env: Mapping[str, str], name: str) -> str | None:
    """The start of SNS topic ARNs (``arn:aws:sns:<region>:<account>:<name prefix>``) a team's name completes: room
    is left for a 40-character name within SNS's 256-character topic name."""
    value = _optional_str(env, name)
    if value is not None and not _TOPIC_ARN_PREFIX.match(value):
        raise ConfigError(
            f"{name}={value!r} is not the start of an SNS topic ARN (arn:aws:sns:<region>:<account-id>:<name prefix>,"
            " the name prefix at most 215 of A-Z a-z 0-9 _ -)"
        )
    return value
