"""Shared fixtures for the unit tests: moto in-process, fake credentials, a clean client cache."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import botocore.loaders
import botocore.session
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


class _SearchPaths(list[str]):
    """A loader's search paths to which a path is added once: boto3 appends its own data path to the loader of
    every Session it creates, and the loader below is shared by every Session of the run."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    loader = botocore.loaders.create_loader(search_path_string)
    loader._search_paths = _SearchPaths(loader.search_paths)
    return loader


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_loader() -> Iterator[None]:
    """Every botocore Session of the run reads the service models through one loader, so each JSON model is
    parsed once per run instead of once per Session: aws.client() builds a Session per client, the client cache
    is cleared before every test, and moto forgets boto3's default Session at every start. What the models say
    is unchanged (a Session shares its loader between all of its clients the same way); this is speed only
    (about 0.1 s per client created)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", _shared_loader)
        yield


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
