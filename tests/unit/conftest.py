"""Shared fixtures for the unit tests: moto in-process, fake credentials, a clean client cache."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "lambda"))

from ecr_scan_reporter.core import aws  # noqa: E402

REGION = "eu-west-1"
ACCOUNT = "123456789012"
#: Seconds any one unit test (setup, call and teardown) may take before it fails with the stack of where it hung.
#: The slowest takes well under a second; the margin is for a busy machine. pytest-timeout, see pyproject.toml.
UNIT_TEST_TIMEOUT = 30
UNIT_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every unit test the tight per-test timeout (a marker set on the test itself wins)."""
    for item in items:
        if UNIT_DIR in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(UNIT_TEST_TIMEOUT))


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test ever reaches a real endpoint or a developer's credentials."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    aws.reset_clients()
    yield
    aws.reset_clients()


@pytest.fixture
def moto() -> Iterator[None]:
    """moto's in-process mock of every AWS service, for the duration of a test."""
    from moto import mock_aws

    with mock_aws():
        yield
