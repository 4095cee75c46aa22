"""config: the alerts settings (findings listed, the suppressions hash, the chat topic)."""

from __future__ import annotations

import pytest

from ecr_scan_reporter.config import ConfigError, Settings

HASH = "a" * 64


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.findings_in_notification == 10
    assert (settings.suppressions_sha256, settings.chat_topic_arn) == (None, None)


def test_values() -> None:
    settings = Settings.from_env(
        {
            "FINDINGS_IN_NOTIFICATION": "0",
            "SUPPRESSIONS_SHA256": HASH,
            "CHAT_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-chat",
        }
    )
    assert settings.findings_in_notification == 0
    assert settings.suppressions_sha256 == HASH
    assert settings.chat_topic_arn == "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-chat"


def test_empty_means_unset() -> None:
    settings = Settings.from_env({"FINDINGS_IN_NOTIFICATION": "", "SUPPRESSIONS_SHA256": "", "CHAT_TOPIC_ARN": ""})
    assert settings.findings_in_notification == 10
    assert (settings.suppressions_sha256, settings.chat_topic_arn) == (None, None)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FINDINGS_IN_NOTIFICATION", "51", "FINDINGS_IN_NOTIFICATION='51' must be a whole number from 0 to 50"),
        ("FINDINGS_IN_NOTIFICATION", "-1", "FINDINGS_IN_NOTIFICATION"),
        ("SUPPRESSIONS_SHA256", "A" * 64, "SUPPRESSIONS_SHA256"),
        ("SUPPRESSIONS_SHA256", "abc", "SUPPRESSIONS_SHA256"),
        ("CHAT_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:q", "CHAT_TOPIC_ARN"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})
