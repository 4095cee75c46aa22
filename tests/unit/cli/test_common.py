"""cli/common.py: one meaning per endpoint flag. ``--ecr-endpoint-url`` is ECR's and ``--dynamodb-endpoint-url``
DynamoDB's (the ledger table's), on every subcommand; the old ``--endpoint-url`` (ECR's for plan, scan, route and
suppressions, DynamoDB's for report) keeps working with a deprecation message naming the flag to use."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from conftest import REGION
from core.test_ledger import create_table

from ecr_scan_reporter import cli
from ecr_scan_reporter.core import aws

TABLE = "esr-ledger"
ECR_URL, DYNAMODB_URL = "http://127.0.0.1:5001", "http://127.0.0.1:5002"


@pytest.fixture
def endpoints(moto: None, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None]]:
    """(service, endpoint_url) of every client the CLI builds; the clients themselves are moto's."""
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    boto3.client("ecr", region_name=REGION).create_repository(repositoryName="team/app")
    real, seen = aws.client, []

    def record(service: str, **kwargs: Any) -> Any:
        seen.append((service, kwargs.get("endpoint_url")))
        return real(service, **{**kwargs, "endpoint_url": None})

    monkeypatch.setattr(aws, "client", record)
    return seen


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv",
    [
        ["plan"],
        ["scan", "--table", TABLE],
        ["report", "--table", TABLE],
        ["suppressions", "--table", TABLE],
        ["route", "team/app", "--table", TABLE],
    ],
)
def test_each_service_gets_its_own_endpoint_on_every_subcommand(
    endpoints: list[tuple[str, str | None]], capsys: Any, argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv, "--ecr-endpoint-url", ECR_URL, "--dynamodb-endpoint-url", DYNAMODB_URL)
    assert code == 0, err
    assert "deprecated" not in err
    assert endpoints, "no client built"
    for service, url in endpoints:
        assert url == {"ecr": ECR_URL, "dynamodb": DYNAMODB_URL}[service], endpoints


@pytest.mark.parametrize(
    ("argv", "service", "flag"),
    [
        (["plan"], "ecr", "--ecr-endpoint-url"),
        (["suppressions", "--table", TABLE], "ecr", "--ecr-endpoint-url"),
        (["report", "--table", TABLE], "dynamodb", "--dynamodb-endpoint-url"),
    ],
)
def test_the_old_flag_keeps_its_meaning_and_says_it_is_deprecated(
    endpoints: list[tuple[str, str | None]], capsys: Any, argv: list[str], service: str, flag: str
) -> None:
    code, _, err = run(capsys, *argv, "--endpoint-url", ECR_URL)
    assert code == 0, err
    assert (service, ECR_URL) in endpoints
    assert all(url is None for other, url in endpoints if other != service), endpoints
    name = {"ecr": "ECR", "dynamodb": "DynamoDB"}[service]
    assert err.startswith(f"ecr-scan-reporter: warning: --endpoint-url is deprecated: here it is {name}'s endpoint;")
    assert f"use {flag}" in err


def test_the_old_flag_with_the_new_one_for_the_same_service_is_refused(capsys: Any) -> None:
    code, _, err = run(capsys, "plan", "--endpoint-url", ECR_URL, "--ecr-endpoint-url", ECR_URL)
    assert code == 2
    assert "--endpoint-url" in err
    assert "--ecr-endpoint-url" in err


def test_localstack_with_an_endpoint_flag_is_refused(capsys: Any) -> None:
    code, _, err = run(capsys, "report", "--table", TABLE, "--localstack", "--dynamodb-endpoint-url", DYNAMODB_URL)
    assert code == 2
    assert "--localstack" in err
    assert "--dynamodb-endpoint-url" in err


def test_a_bad_endpoint_is_a_bad_option(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["route", "team/app", "--table", TABLE, "--dynamodb-endpoint-url", "ftp://x"])
    assert exit_.value.code == 2
    assert "--dynamodb-endpoint-url: must be an http:// or https:// URL" in capsys.readouterr().err
