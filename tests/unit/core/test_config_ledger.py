"""core/config.py: the ledger's and notify-on-news settings, their defaults and the errors naming the variable."""

from __future__ import annotations

import pytest

from ecr_scan_reporter.core.config import ConfigError, Settings


def test_defaults_without_the_variables() -> None:
    settings = Settings.from_env({})
    assert settings.ledger_table_name is None
    assert (settings.notify_on, settings.notify_on_resolved, settings.renotify_after_days) == ("new_findings", True, 30)


def test_values_as_the_module_sets_them() -> None:
    settings = Settings.from_env(
        {
            "LEDGER_TABLE_NAME": "esr-ledger",
            "NOTIFY_ON": "every_scan",
            "NOTIFY_ON_RESOLVED": "false",
            "RENOTIFY_AFTER_DAYS": "365",
        }
    )
    assert settings.ledger_table_name == "esr-ledger"
    assert (settings.notify_on, settings.notify_on_resolved, settings.renotify_after_days) == ("every_scan", False, 365)


def test_never_means_no_reminders_and_blank_means_the_defaults() -> None:
    assert Settings.from_env({"RENOTIFY_AFTER_DAYS": "never"}).renotify_after_days is None
    settings = Settings.from_env({"RENOTIFY_AFTER_DAYS": "", "LEDGER_TABLE_NAME": " "})
    assert settings.renotify_after_days == 30
    assert settings.ledger_table_name is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NOTIFY_ON", "always"),
        ("NOTIFY_ON_RESOLVED", "maybe"),
        ("RENOTIFY_AFTER_DAYS", "0"),
        ("RENOTIFY_AFTER_DAYS", "366"),
        ("RENOTIFY_AFTER_DAYS", "1.5"),
        ("LEDGER_TABLE_NAME", "no spaces allowed"),
        ("LEDGER_TABLE_NAME", "ab"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
