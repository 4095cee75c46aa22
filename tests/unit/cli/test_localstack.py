"""`--localstack`: every client of the CLI comes from localstack-client (the optional extra), without a LocalStack
here: a moto server on 127.0.0.1 stands in for it at LOCALSTACK_HOST, and the sessions built are recorded."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import localstack_client.session
import pytest
from conftest import REGION
from ecr_fakes import push

from ecr_scan_reporter import cli
from ecr_scan_reporter.core import aws

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def localstack(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server as the LocalStack localstack-client finds at LOCALSTACK_HOST; yields its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("LOCALSTACK_HOST", f"{host}:{port}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str]]:
    """Every (localstack-client session, service) a client is built from."""
    built: list[tuple[Any, str]] = []

    class Recording(localstack_client.session.Session):  # type: ignore[misc]
        def client(self, service_name: str, **kwargs: Any) -> Any:
            built.append((self, service_name))
            return super().client(service_name, **kwargs)

    monkeypatch.setattr(localstack_client.session, "Session", Recording)
    return built


def test_plan_reads_the_registry_and_the_ledger_through_localstack_client(
    localstack: str, sessions: list[tuple[Any, str]], capsys: Any
) -> None:
    from core.test_ledger import create_table

    ecr = boto3.client("ecr", endpoint_url=localstack, region_name=REGION)
    ecr.create_repository(repositoryName="team/app")
    digest = push(ecr, "team/app", 1, "v1")
    create_table(boto3.client("dynamodb", endpoint_url=localstack, region_name=REGION), "esr-ledger")

    code = cli.main(["plan", "--localstack", "--table", "esr-ledger", "--output", "json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert [item["digest"] for item in json.loads(out)["images"]] == [digest]
    assert sorted(service for _, service in sessions) == ["dynamodb", "ecr"]
    assert {session.region_name for session, _ in sessions} == {REGION}  # the standard configuration's


def test_the_clients_are_localstack_clients_with_the_cli_retries(sessions: list[tuple[Any, str]]) -> None:
    client = aws.localstack_client("ecr", region="us-west-2", max_attempts=cli.CLI_MAX_ATTEMPTS)
    assert client.meta.endpoint_url == "http://localhost:4566"  # localstack-client's default, no LOCALSTACK_HOST
    assert client.meta.region_name == "us-west-2"
    usual = aws.client("ecr", region="us-west-2", max_attempts=cli.CLI_MAX_ATTEMPTS).meta.config
    assert client.meta.config.retries == usual.retries  # adaptive, the CLI's few attempts
    assert client.meta.config.user_agent_extra == usual.user_agent_extra
    assert [service for _, service in sessions] == ["ecr"]


def test_without_a_region_anywhere_localstack_uses_us_east_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert aws.localstack_client("dynamodb").meta.region_name == "us-east-1"


@pytest.mark.parametrize("command", [["plan"], ["report", "--table", "t"], ["suppressions", "--table", "t"]])
def test_without_localstack_client_the_error_says_what_to_install(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setitem(sys.modules, "localstack_client.session", None)  # import fails, as when not installed
    code = cli.main([*command, "--localstack"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "ecr-scan-reporter: error: --localstack needs the localstack-client package: "
        "pip install 'ecr-scan-reporter[localstack]'\n"
    )


def test_the_default_profile_never_imports_localstack_client(moto: None, capsys: Any) -> None:
    """Without --localstack (moto here; an emulator through --endpoint-url or AWS_ENDPOINT_URL_*), the CLI works
    with localstack-client unimportable, as do the functions."""
    code = (
        "import sys\n"
        "sys.modules['localstack_client'] = None\n"
        "import ecr_scan_reporter.cli, ecr_scan_reporter.handlers.findings, ecr_scan_reporter.handlers.images\n"
        "import ecr_scan_reporter.handlers.repositories, ecr_scan_reporter.handlers.report\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT / "lambda")
    assert run.returncode == 0, run.stderr
    aws.client("ecr").create_repository(repositoryName="team/app")
    assert cli.main(["plan"]) == 0
    assert "0 image(s) in 0 repository(ies) would be scanned" in capsys.readouterr().out


def test_localstack_client_is_an_optional_extra_pinned_as_in_the_dev_requirements() -> None:
    project = tomllib.loads((ROOT / "lambda" / "pyproject.toml").read_text())["project"]
    assert [d.split(">")[0] for d in project["dependencies"]] == ["boto3"]  # the runtime stays boto3 only
    assert project["optional-dependencies"] == {"localstack": ["localstack-client==2.12"]}
    pins = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "localstack-client==2.12" in pins
