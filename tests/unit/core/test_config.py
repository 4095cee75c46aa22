"""config.Settings.from_env: every environment variable's default, accepted forms and refused forms.

A value outside the accepted form must raise ConfigError naming the variable (the function then fails its first
invocation, loudly) and must never be "repaired" into something else (an invalid regex escaped, ``true`` read
as a threshold of 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from ecr_fakes import NOW, FakeEcr, FakeImage, digest

from ecr_scan_reporter.core import config, selection
from ecr_scan_reporter.core.config import DEFAULT_THRESHOLDS, ConfigError, Settings, parse_regex, parse_thresholds
from ecr_scan_reporter.sweep.stage import SweepOptions, plan_repository

ARN = "arn:aws:sns:eu-west-1:123456789012:findings"
KEY_ARN = "arn:aws:kms:eu-west-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
HUB = "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"
GOV_HUB = HUB.replace("arn:aws:", "arn:aws-us-gov:")
NOT_HUB = "is not the account's default Security Hub product"
TEAM_PREFIX = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-"

#: Every variable Settings.from_env reads -> (settings field, value with nothing set).
DEFAULTS: Mapping[str, tuple[str, Any]] = {
    "QUEUE_URL": ("queue_url", None),
    "SNS_TOPIC_ARN": ("sns_topic_arn", None),
    "REPOSITORY_INCLUDE_REGEX": ("include_regex", ".*"),  # compared by pattern
    "REPOSITORY_EXCLUDE_REGEX": ("exclude_regex", None),
    "SCAN_EXPIRY_DAYS": ("scan_expiry_days", 7),
    "SEVERITY_THRESHOLDS": ("severity_thresholds", {"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": None}),
    "NOTIFY_ON_SCAN_FAILURE": ("notify_on_scan_failure", True),
    "ONLY_IMAGES_PULLED_WITHIN_DAYS": ("only_images_pulled_within_days", None),
    "MAX_IMAGES_PER_REPOSITORY": ("max_images_per_repository", None),
    "IN_USE_DAYS": ("in_use_days", 30),
    "DAILY_SCAN_BUDGET": ("daily_scan_budget", None),
    "TIME_BUDGET_RESERVE_SECONDS": ("time_budget_reserve_seconds", 20),
    "LOG_LEVEL": ("log_level", "INFO"),
    "LEDGER_TABLE_NAME": ("ledger_table_name", None),
    "NOTIFY_ON": ("notify_on", "new_findings"),
    "NOTIFY_ON_RESOLVED": ("notify_on_resolved", True),
    "RENOTIFY_AFTER_DAYS": ("renotify_after_days", 30),
    "FINDINGS_IN_NOTIFICATION": ("findings_in_notification", 10),
    "SUPPRESSIONS_SHA256": ("suppressions_sha256", None),
    "CHAT_TOPIC_ARN": ("chat_topic_arn", None),
    "TEAMS_SHA256": ("teams_sha256", None),
    "TEAM_TAG_CACHE_SECONDS": ("team_tag_cache_seconds", 300),
    "METRICS_NAMESPACE": ("metrics_namespace", "ECRScanReporter"),
    "REPORT_BUCKET_NAME": ("report_bucket_name", None),
    "HUB_REPORT_BUCKET_NAME": ("hub_report_bucket_name", None),
    "HUB_REPORT_PREFIX": ("hub_report_prefix", None),
    "HUB_REPORT_KMS_KEY_ARN": ("hub_report_kms_key_arn", None),
    "EXPECTED_SPOKES": ("expected_spokes", ()),
    "SPOKE_REPORT_PERIOD_HOURS": ("spoke_report_period_hours", 168),
    "SECURITY_HUB_PRODUCT_ARN": ("security_hub_product_arn", None),
    "TEAM_NAMES": ("team_names", ()),
    "TEAM_TOPIC_ARN_PREFIX": ("team_topic_arn_prefix", None),
}


class RecordingEnv(dict[str, str]):
    """An environment that records every variable name looked up in it."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def value(settings: Settings, field: str) -> Any:
    found = getattr(settings, field)
    if isinstance(found, re.Pattern):
        return found.pattern
    if isinstance(found, Mapping):
        return dict(found)
    return found


def refused(name: str, raw: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: raw})
    assert str(caught.value).startswith(f"{name}"), "the error names the variable first"
    return caught.value


# --- which variables, and their defaults ------------------------------------------------------------------------------


def test_every_variable_read_is_covered_here_and_documented() -> None:
    env = RecordingEnv()
    Settings.from_env(env)
    assert env.read == set(DEFAULTS), "a new variable needs its default, accepted and refused forms in this file"
    doc = config.__doc__ or ""
    assert all(re.search(rf"^{name}\s", doc, re.MULTILINE) for name in env.read), "document it in core/config.py"


def test_defaults_with_nothing_set() -> None:
    settings = Settings.from_env({})
    assert {name: value(settings, field) for name, (field, _) in DEFAULTS.items()} == {
        name: default for name, (_, default) in DEFAULTS.items()
    }
    assert settings == Settings()  # the dataclass defaults say the same
    assert settings.include_regex.search("any/repository-name")


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_a_blank_value_means_the_default(name: str, blank: str) -> None:
    field, default = DEFAULTS[name]
    assert value(Settings.from_env({name: blank}), field) == default


# --- accepted forms -------------------------------------------------------------------------------------------------

ACCEPTED = [
    ("QUEUE_URL", " https://sqs.eu-west-1.amazonaws.com/123456789012/work ", "queue_url",
     "https://sqs.eu-west-1.amazonaws.com/123456789012/work"),
    ("SNS_TOPIC_ARN", ARN, "sns_topic_arn", ARN),
    ("SNS_TOPIC_ARN", f" {ARN}\n", "sns_topic_arn", ARN),
    ("SNS_TOPIC_ARN", "arn:aws-cn:sns:cn-north-1:123456789012:t", "sns_topic_arn",
     "arn:aws-cn:sns:cn-north-1:123456789012:t"),
    ("SNS_TOPIC_ARN", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t", "sns_topic_arn",
     "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t"),
    ("SNS_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:findings.fifo", "sns_topic_arn",
     "arn:aws:sns:eu-west-1:123456789012:findings.fifo"),
    ("SNS_TOPIC_ARN", f"arn:aws:sns:eu-west-1:123456789012:{'a' * 256}", "sns_topic_arn",
     f"arn:aws:sns:eu-west-1:123456789012:{'a' * 256}"),
    ("REPOSITORY_INCLUDE_REGEX", "^team/", "include_regex", "^team/"),
    ("REPOSITORY_INCLUDE_REGEX", "a.c", "include_regex", "a.c"),
    ("REPOSITORY_EXCLUDE_REGEX", "-tmp$", "exclude_regex", "-tmp$"),
    ("SCAN_EXPIRY_DAYS", "1", "scan_expiry_days", 1),
    ("SCAN_EXPIRY_DAYS", "365", "scan_expiry_days", 365),
    ("SCAN_EXPIRY_DAYS", " 14 ", "scan_expiry_days", 14),
    ("SCAN_EXPIRY_DAYS", "030", "scan_expiry_days", 30),
    ("NOTIFY_ON_SCAN_FAILURE", "true", "notify_on_scan_failure", True),
    ("NOTIFY_ON_SCAN_FAILURE", "TRUE", "notify_on_scan_failure", True),
    ("NOTIFY_ON_SCAN_FAILURE", "1", "notify_on_scan_failure", True),
    ("NOTIFY_ON_SCAN_FAILURE", "yes", "notify_on_scan_failure", True),
    ("NOTIFY_ON_SCAN_FAILURE", "false", "notify_on_scan_failure", False),
    ("NOTIFY_ON_SCAN_FAILURE", " False ", "notify_on_scan_failure", False),
    ("NOTIFY_ON_SCAN_FAILURE", "0", "notify_on_scan_failure", False),
    ("NOTIFY_ON_SCAN_FAILURE", "no", "notify_on_scan_failure", False),
    ("ONLY_IMAGES_PULLED_WITHIN_DAYS", "1", "only_images_pulled_within_days", 1),
    ("ONLY_IMAGES_PULLED_WITHIN_DAYS", "36500", "only_images_pulled_within_days", 36500),
    ("MAX_IMAGES_PER_REPOSITORY", "1", "max_images_per_repository", 1),
    ("IN_USE_DAYS", "1", "in_use_days", 1),
    ("IN_USE_DAYS", "3650", "in_use_days", 3650),
    ("ONLY_IMAGES_PULLED_WITHIN_DAYS", "90", "in_use_days", 90),  # the deprecated filter sets "in use" too
    ("DAILY_SCAN_BUDGET", "1", "daily_scan_budget", 1),
    ("DAILY_SCAN_BUDGET", "100000", "daily_scan_budget", 100000),
    ("MAX_IMAGES_PER_REPOSITORY", "100000", "max_images_per_repository", 100000),
    ("TIME_BUDGET_RESERVE_SECONDS", "1", "time_budget_reserve_seconds", 1),
    ("TIME_BUDGET_RESERVE_SECONDS", "600", "time_budget_reserve_seconds", 600),
    ("LOG_LEVEL", "DEBUG", "log_level", "DEBUG"),
    ("LOG_LEVEL", "warning", "log_level", "WARNING"),
    ("LOG_LEVEL", " error ", "log_level", "ERROR"),
    ("SEVERITY_THRESHOLDS", '{"CRITICAL": 0, "HIGH": 3, "MEDIUM": null, "LOW": 100}', "severity_thresholds",
     {"CRITICAL": 0, "HIGH": 3, "MEDIUM": None, "LOW": 100}),
    ("LEDGER_TABLE_NAME", " esr-ledger ", "ledger_table_name", "esr-ledger"),
    ("NOTIFY_ON", "every_scan", "notify_on", "every_scan"),
    ("NOTIFY_ON", "NEW_FINDINGS", "notify_on", "new_findings"),
    ("NOTIFY_ON_RESOLVED", "false", "notify_on_resolved", False),
    ("RENOTIFY_AFTER_DAYS", "1", "renotify_after_days", 1),
    ("RENOTIFY_AFTER_DAYS", "365", "renotify_after_days", 365),
    ("RENOTIFY_AFTER_DAYS", "never", "renotify_after_days", None),
    ("RENOTIFY_AFTER_DAYS", " NEVER ", "renotify_after_days", None),  # any case, trimmed
    ("FINDINGS_IN_NOTIFICATION", "0", "findings_in_notification", 0),
    ("FINDINGS_IN_NOTIFICATION", "50", "findings_in_notification", 50),
    ("SUPPRESSIONS_SHA256", " " + "ab" * 32 + " ", "suppressions_sha256", "ab" * 32),
    ("CHAT_TOPIC_ARN", f"{ARN}-chat", "chat_topic_arn", f"{ARN}-chat"),
    ("TEAMS_SHA256", "cd" * 32, "teams_sha256", "cd" * 32),
    ("TEAM_TAG_CACHE_SECONDS", "0", "team_tag_cache_seconds", 0),
    ("TEAM_TAG_CACHE_SECONDS", "3600", "team_tag_cache_seconds", 3600),
    ("METRICS_NAMESPACE", " Platform/ECR ", "metrics_namespace", "Platform/ECR"),
    ("METRICS_NAMESPACE", "a.b-c_d/e#f:g", "metrics_namespace", "a.b-c_d/e#f:g"),
    ("METRICS_NAMESPACE", "x" * 255, "metrics_namespace", "x" * 255),
    ("REPORT_BUCKET_NAME", "acme-reports-eu-west-1", "report_bucket_name", "acme-reports-eu-west-1"),
    ("REPORT_BUCKET_NAME", "a.b", "report_bucket_name", "a.b"),
    ("REPORT_BUCKET_NAME", "x" * 63, "report_bucket_name", "x" * 63),
    ("HUB_REPORT_BUCKET_NAME", "acme-security-reports", "hub_report_bucket_name", "acme-security-reports"),
    ("HUB_REPORT_PREFIX", "123456789012/eu-west-1/", "hub_report_prefix", "123456789012/eu-west-1/"),
    ("HUB_REPORT_PREFIX", " spokes/a_b.c/ ", "hub_report_prefix", "spokes/a_b.c/"),
    ("HUB_REPORT_KMS_KEY_ARN", KEY_ARN, "hub_report_kms_key_arn", KEY_ARN),
    ("EXPECTED_SPOKES", "111111111111/eu-west-1", "expected_spokes", ("111111111111/eu-west-1",)),
    ("EXPECTED_SPOKES", " 111111111111/eu-west-1\n222222222222/us-gov-west-1 ,111111111111/eu-west-1 ",
     "expected_spokes", ("111111111111/eu-west-1", "222222222222/us-gov-west-1")),
    ("SPOKE_REPORT_PERIOD_HOURS", "1", "spoke_report_period_hours", 1),
    ("SPOKE_REPORT_PERIOD_HOURS", "8760", "spoke_report_period_hours", 8760),
    ("SECURITY_HUB_PRODUCT_ARN", f" {HUB} ", "security_hub_product_arn", HUB),
    ("SECURITY_HUB_PRODUCT_ARN", GOV_HUB, "security_hub_product_arn", GOV_HUB),
    ("TEAM_NAMES", "payments", "team_names", ("payments",)),
    ("TEAM_NAMES", " payments, web_2 ,0ps-team", "team_names", ("payments", "web_2", "0ps-team")),
    ("TEAM_NAMES", "a" * 40, "team_names", ("a" * 40,)),
    ("TEAM_TOPIC_ARN_PREFIX", f" {TEAM_PREFIX} ", "team_topic_arn_prefix", TEAM_PREFIX),
    ("TEAM_TOPIC_ARN_PREFIX", "arn:aws-us-gov:sns:us-gov-west-1:111111111111:", "team_topic_arn_prefix",
     "arn:aws-us-gov:sns:us-gov-west-1:111111111111:"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "raw", "field", "expected"), ACCEPTED)
def test_accepted_forms(name: str, raw: str, field: str, expected: Any) -> None:
    assert value(Settings.from_env({name: raw}), field) == expected


def test_every_variable_has_an_accepted_and_a_refused_form_here() -> None:
    assert {case[0] for case in ACCEPTED} == set(DEFAULTS)
    refused_names = {case.values[0] if hasattr(case, "values") else case[0] for case in REFUSED}
    assert refused_names == set(DEFAULTS) - {"QUEUE_URL"}  # any non-blank text is a queue URL


# --- refused forms --------------------------------------------------------------------------------------------------

REFUSED = [
    ("SNS_TOPIC_ARN", "findings", "is not an SNS topic ARN"),
    ("SNS_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:findings", "is not an SNS topic ARN"),
    ("SNS_TOPIC_ARN", "arn:aws:sns:eu-west-1:12345678901:findings", "is not an SNS topic ARN"),
    ("SNS_TOPIC_ARN", "arn:aws:sns:eu-west-1:\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661"
     "\u0662:findings", "is not an SNS topic ARN"),  # Arabic-Indic digits are not an account id
    ("SNS_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:", "is not an SNS topic ARN"),
    ("SNS_TOPIC_ARN", f"arn:aws:sns:eu-west-1:123456789012:{'a' * 257}", "is not an SNS topic ARN"),
    ("SNS_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:a.b", "is not an SNS topic ARN"),
    ("REPOSITORY_INCLUDE_REGEX", "(", "is not a valid regular expression"),
    ("REPOSITORY_INCLUDE_REGEX", "team/[a-", "is not a valid regular expression"),
    ("REPOSITORY_EXCLUDE_REGEX", "*tmp", "is not a valid regular expression"),
    ("SCAN_EXPIRY_DAYS", "0", "must be a whole number from 1 to 365"),
    ("IN_USE_DAYS", "0", "must be a whole number from 1 to 3650"),
    ("IN_USE_DAYS", "1.5", "must be a whole number from 1 to 3650"),
    ("DAILY_SCAN_BUDGET", "0", "must be a whole number from 1 to 100000"),
    ("DAILY_SCAN_BUDGET", "100001", "must be a whole number from 1 to 100000"),
    ("SCAN_EXPIRY_DAYS", "366", "must be a whole number from 1 to 365"),
    ("SCAN_EXPIRY_DAYS", "-1", "must be a whole number from 1 to 365"),
    ("SCAN_EXPIRY_DAYS", "7d", "must be a whole number from 1 to 365"),
    ("SCAN_EXPIRY_DAYS", "1.5", "must be a whole number from 1 to 365"),
    ("SCAN_EXPIRY_DAYS", "\u0667", "must be a whole number from 1 to 365"),  # Arabic-Indic seven
    ("SEVERITY_THRESHOLDS", "{not json", "is not valid JSON"),
    ("SEVERITY_THRESHOLDS", "[0, 0]", "must be a JSON object"),
    ("SEVERITY_THRESHOLDS", "0", "must be a JSON object"),
    ("SEVERITY_THRESHOLDS", '{"CRITICAL": true}', "[CRITICAL]=True must be a non-negative whole number or null"),
    ("SEVERITY_THRESHOLDS", '{"HIGH": false}', "[HIGH]=False must be a non-negative whole number or null"),
    ("SEVERITY_THRESHOLDS", '{"HIGH": -1}', "must be a non-negative whole number or null"),
    ("SEVERITY_THRESHOLDS", '{"HIGH": 1.5}', "must be a non-negative whole number or null"),
    ("SEVERITY_THRESHOLDS", '{"HIGH": 1.0}', "must be a non-negative whole number or null"),
    ("SEVERITY_THRESHOLDS", '{"HIGH": "3"}', "must be a non-negative whole number or null"),
    ("SEVERITY_THRESHOLDS", '{"HIGH": NaN}', "must be a non-negative whole number or null"),
    pytest.param("SEVERITY_THRESHOLDS", '{"HIGH": ' + "9" * 5000 + "}", "is not valid JSON", id="over-the-digit-limit"),
    ("SEVERITY_THRESHOLDS", '{"CRTICAL": 0}', "unknown severity 'CRTICAL'; accepted: CRITICAL, HIGH, MEDIUM, LOW"),
    ("SEVERITY_THRESHOLDS", '{"INFORMATIONAL": 0}', "unknown severity"),
    ("SEVERITY_THRESHOLDS", '{"CRITICAL": 5, "critical": 0}', "names CRITICAL twice"),
    ("NOTIFY_ON_SCAN_FAILURE", "2", "must be true or false"),
    ("NOTIFY_ON_SCAN_FAILURE", "maybe", "must be true or false"),
    ("ONLY_IMAGES_PULLED_WITHIN_DAYS", "0", "must be a whole number of at least 1"),
    ("ONLY_IMAGES_PULLED_WITHIN_DAYS", "x", "must be a whole number of at least 1"),
    ("MAX_IMAGES_PER_REPOSITORY", "0", "must be a whole number of at least 1"),
    ("MAX_IMAGES_PER_REPOSITORY", "-5", "must be a whole number of at least 1"),
    ("MAX_IMAGES_PER_REPOSITORY", "ten", "must be a whole number of at least 1"),
    ("TIME_BUDGET_RESERVE_SECONDS", "0", "must be a whole number from 1 to 600"),
    ("TIME_BUDGET_RESERVE_SECONDS", "601", "must be a whole number from 1 to 600"),
    ("LOG_LEVEL", "TRACE", "must be one of DEBUG, INFO, WARNING, ERROR"),
    ("LOG_LEVEL", "CRITICAL", "must be one of DEBUG, INFO, WARNING, ERROR"),
    ("LEDGER_TABLE_NAME", "no spaces", "is not a DynamoDB table name"),
    ("NOTIFY_ON", "always", "must be one of new_findings, every_scan"),
    ("NOTIFY_ON_RESOLVED", "maybe", "must be true or false"),
    ("RENOTIFY_AFTER_DAYS", "0", "must be a whole number from 1 to 365, or never"),
    ("RENOTIFY_AFTER_DAYS", "366", "must be a whole number from 1 to 365, or never"),
    ("FINDINGS_IN_NOTIFICATION", "51", "must be a whole number from 0 to 50"),
    ("FINDINGS_IN_NOTIFICATION", "-1", "must be a whole number from 0 to 50"),
    ("SUPPRESSIONS_SHA256", "AB" * 32, "must be a SHA-256 in lower-case hex"),
    ("SUPPRESSIONS_SHA256", "abc", "must be a SHA-256 in lower-case hex"),
    ("SUPPRESSIONS_SHA256", "ab" * 32 + "a", "must be a SHA-256 in lower-case hex"),  # 65: one too many
    ("CHAT_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:chat", "is not an SNS topic ARN"),
    ("TEAMS_SHA256", "xyz", "must be a SHA-256 in lower-case hex"),
    ("TEAM_TAG_CACHE_SECONDS", "3601", "must be a whole number from 0 to 3600"),
    ("METRICS_NAMESPACE", "AWS/ECR", "must not start with AWS/"),
    ("METRICS_NAMESPACE", "Team ECR", "letters, digits and"),
    ("METRICS_NAMESPACE", "x" * 256, "1-255 characters"),
    ("METRICS_NAMESPACE", "\u00e9cr", "1-255 characters"),
    ("REPORT_BUCKET_NAME", "Acme-Reports", "is not an S3 bucket name"),
    ("REPORT_BUCKET_NAME", "ab", "is not an S3 bucket name"),
    ("REPORT_BUCKET_NAME", "x" * 64, "is not an S3 bucket name"),
    ("REPORT_BUCKET_NAME", "acme..reports", "is not an S3 bucket name"),
    ("REPORT_BUCKET_NAME", "192.168.1.20", "is not an S3 bucket name"),
    ("REPORT_BUCKET_NAME", "xn--reports", "is not an S3 bucket name"),
    ("REPORT_BUCKET_NAME", "reports-s3alias", "is not an S3 bucket name"),
    ("REPORT_BUCKET_NAME", "-reports", "is not an S3 bucket name"),
    ("HUB_REPORT_BUCKET_NAME", "Security_Reports", "is not an S3 bucket name"),
    ("HUB_REPORT_PREFIX", "123456789012/eu-west-1", "each ending in /"),
    ("HUB_REPORT_PREFIX", "/123456789012/", "each ending in /"),
    ("HUB_REPORT_PREFIX", "a//b/", "each ending in /"),
    ("HUB_REPORT_PREFIX", "a b/", "each ending in /"),
    ("HUB_REPORT_KMS_KEY_ARN", "alias/hub", "is not a KMS key ARN"),
    ("HUB_REPORT_KMS_KEY_ARN", "arn:aws:kms:eu-west-1:210987654321:alias/hub", "is not a KMS key ARN"),
    ("EXPECTED_SPOKES", "111111111111", "not <12-digit account>/<region>"),
    ("EXPECTED_SPOKES", "11111111111/eu-west-1", "not <12-digit account>/<region>"),
    ("EXPECTED_SPOKES", "111111111111/eu_west_1", "not <12-digit account>/<region>"),
    ("SPOKE_REPORT_PERIOD_HOURS", "0", "must be a whole number from 1 to 8760"),
    ("SPOKE_REPORT_PERIOD_HOURS", "8761", "must be a whole number from 1 to 8760"),
    ("SECURITY_HUB_PRODUCT_ARN", HUB.replace("product/123456789012", "product/210987654321"), NOT_HUB),
    ("SECURITY_HUB_PRODUCT_ARN", "arn:aws:securityhub:eu-west-1::product/aws/inspector", NOT_HUB),
    ("SECURITY_HUB_PRODUCT_ARN", f"{HUB}/x", NOT_HUB),
    ("TEAM_NAMES", "Payments", "not a team name"),  # lower case, as the module's teams
    ("TEAM_NAMES", "payments,,web", "not a team name (1-40 of a-z 0-9 _ - starting with a letter or digit"),
    ("TEAM_NAMES", "unowned", "not a team name"),
    ("TEAM_NAMES", "-ops", "not a team name"),
    ("TEAM_NAMES", "a" * 41, "not a team name"),
    ("TEAM_NAMES", "pay ments", "not a team name"),
    ("TEAM_NAMES", "web,payments,web", "each team once; given more than once: web"),
    ("TEAM_TOPIC_ARN_PREFIX", "ecr-scan-hub-", "is not the start of an SNS topic ARN"),
    ("TEAM_TOPIC_ARN_PREFIX", "arn:aws:sqs:eu-west-1:111111111111:ecr-scan-hub-", "is not the start of an SNS topic"),
    ("TEAM_TOPIC_ARN_PREFIX", f"{TEAM_PREFIX}{'a' * 203}", "the name prefix at most 215"),
    ("TEAM_TOPIC_ARN_PREFIX", "arn:aws:sns:eu-west-1:111111111111:hub.", "is not the start of an SNS topic ARN"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "raw", "complaint"), REFUSED)
def test_refused_forms_name_the_variable_and_the_accepted_form(name: str, raw: str, complaint: str) -> None:
    assert complaint in str(refused(name, raw))


# --- the edge values that matter -----------------------------------------------------------------------------------


def test_a_threshold_of_zero_is_accepted_as_the_documented_default_spells_it() -> None:
    documented = '{"CRITICAL": 0, "HIGH": 0, "MEDIUM": null, "LOW": null}'
    assert dict(parse_thresholds(documented)) == dict(DEFAULT_THRESHOLDS)
    assert parse_thresholds('{"LOW": 0}')["LOW"] == 0


def test_threshold_keys_are_case_insensitive() -> None:
    assert dict(parse_thresholds('{"critical": 2, "High": 3, "mEdIuM": 4, "low": null}')) == {
        "CRITICAL": 2,
        "HIGH": 3,
        "MEDIUM": 4,
        "LOW": None,
    }


def test_absent_severities_are_ignored_not_defaulted() -> None:
    assert dict(parse_thresholds('{"HIGH": 1}')) == {"CRITICAL": None, "HIGH": 1, "MEDIUM": None, "LOW": None}
    assert dict(parse_thresholds("{}")) == dict.fromkeys(config.SEVERITIES)
    assert parse_thresholds(None) is DEFAULT_THRESHOLDS


@pytest.mark.parametrize("raw", ["true", "false"])
def test_a_json_boolean_is_not_a_threshold(raw: str) -> None:
    with pytest.raises(ConfigError, match="must be a non-negative whole number or null"):
        parse_thresholds(f'{{"CRITICAL": {raw}}}')


def test_thresholds_are_read_only() -> None:
    thresholds = Settings.from_env({"SEVERITY_THRESHOLDS": '{"HIGH": 1}'}).severity_thresholds
    with pytest.raises(TypeError):
        thresholds["HIGH"] = 5  # type: ignore[index]


def test_an_invalid_regex_is_refused_not_escaped() -> None:
    with pytest.raises(ConfigError, match=r"REPOSITORY_INCLUDE_REGEX='\(' is not a valid regular expression"):
        Settings.from_env({"REPOSITORY_INCLUDE_REGEX": "("})
    with pytest.raises(ConfigError, match="MY_REGEX"):
        parse_regex("[a-", "MY_REGEX")
    # a valid regex is a regex, not a literal: "." matches any character
    assert Settings.from_env({"REPOSITORY_INCLUDE_REGEX": "a.c"}).include_regex.search("team/abc")


def test_the_repository_regexes_are_searched_not_anchored() -> None:
    settings = Settings.from_env({"REPOSITORY_INCLUDE_REGEX": "app", "REPOSITORY_EXCLUDE_REGEX": "tmp"})
    assert selection.repository_selected("team/app", settings.include_regex, settings.exclude_regex)
    assert not selection.repository_selected("team/app-tmp", settings.include_regex, settings.exclude_regex)
    assert not selection.repository_selected("team/api", settings.include_regex, settings.exclude_regex)


def test_zero_is_read_as_false_and_one_as_true() -> None:
    assert Settings.from_env({"NOTIFY_ON_SCAN_FAILURE": "0"}).notify_on_scan_failure is False
    assert Settings.from_env({"NOTIFY_ON_SCAN_FAILURE": "1"}).notify_on_scan_failure is True


def test_max_images_per_repository_zero_is_refused_not_read_as_no_limit() -> None:
    assert "must be a whole number of at least 1" in str(refused("MAX_IMAGES_PER_REPOSITORY", "0"))


def test_required_fields() -> None:
    with pytest.raises(ConfigError, match="QUEUE_URL is required for this function and is not set"):
        Settings.from_env({}, require=["queue_url"])
    with pytest.raises(ConfigError, match="SNS_TOPIC_ARN is required"):
        Settings.from_env({"SNS_TOPIC_ARN": "  "}, require=["sns_topic_arn"])
    assert Settings.from_env({"SNS_TOPIC_ARN": ARN}, require=["sns_topic_arn"]).sns_topic_arn == ARN


def test_settings_are_immutable() -> None:
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.scan_expiry_days = 1  # type: ignore[misc]


# --- the defaults at work -------------------------------------------------------------------------------------------


@pytest.fixture
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DEFAULTS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_environment")
def test_a_sweep_with_no_environment_set_rescans_a_10_day_old_scan_and_leaves_a_6_day_old_one() -> None:
    day = timedelta(days=1)
    images = [
        FakeImage(digest(1), scan_status="COMPLETE", scan_completed_at=NOW - 10 * day),
        FakeImage(digest(2), scan_status="COMPLETE", scan_completed_at=NOW - 6 * day),
        FakeImage(digest(3), scan_status="COMPLETE", scan_completed_at=NOW - 7 * day),  # exactly the expiry: fresh
        FakeImage(digest(4)),  # never scanned
    ]
    options = SweepOptions.from_settings(Settings.from_env())
    assert options == SweepOptions(expiry_days=7, pulled_within_days=None, max_images=None)
    plan = {c.digest: c.reason for c in plan_repository(FakeEcr(images), "app", now=NOW, options=options)}
    assert plan == {digest(1): "expired", digest(4): "never_scanned"}


# --- the hub's teams ------------------------------------------------------------------------------------------------


def test_the_hubs_team_name_rule_is_the_modules() -> None:
    from ecr_scan_reporter.core import teams

    assert (config._TEAM_NAME.pattern, config._UNOWNED) == (teams.TEAM_NAME.pattern, teams.UNOWNED)


def test_a_teams_topic_is_the_prefix_and_its_name() -> None:
    settings = Settings.from_env({"TEAM_NAMES": "payments", "TEAM_TOPIC_ARN_PREFIX": TEAM_PREFIX})
    assert settings.team_topic_arn("payments") == f"{TEAM_PREFIX}payments"
    assert config.is_sns_arn(settings.team_topic_arn("a" * 40))
    assert config.is_sns_arn(Settings.from_env({"TEAM_TOPIC_ARN_PREFIX": f"{TEAM_PREFIX}{'a' * 202}"})
                             .team_topic_arn("b" * 40))  # fmt: skip
    with pytest.raises(ConfigError, match="TEAM_TOPIC_ARN_PREFIX is not set"):
        Settings.from_env({"TEAM_NAMES": "payments"}).team_topic_arn("payments")
