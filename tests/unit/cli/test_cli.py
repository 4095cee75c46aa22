"""The dry-run CLI (cli.py): plan/scan output, and one-line errors with the right exit status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from ecr_fakes import push, set_last_scan, set_pushed_at

from ecr_scan_reporter import cli
from ecr_scan_reporter.core import aws


@pytest.fixture
def images(moto: None) -> dict[str, str]:
    """team/app: tagged never scanned, untagged never scanned, expired, fresh; team/app-tmp and other/x: one
    never scanned image each."""
    ecr = aws.client("ecr")
    for name in ("team/app", "team/app-tmp", "other/x"):
        ecr.create_repository(repositoryName=name)
    found = {
        "tagged": push(ecr, "team/app", 1, "v1"),
        "untagged": push(ecr, "team/app", 2),
        "expired": push(ecr, "team/app", 3, "v3"),
        "fresh": push(ecr, "team/app", 4, "v4"),
        "tmp": push(ecr, "team/app-tmp", 5, "v5"),
        "other": push(ecr, "other/x", 6, "v6"),
    }
    now = datetime.now(UTC).replace(microsecond=0)
    set_last_scan("team/app", found["expired"], now - timedelta(days=10))
    set_last_scan("team/app", found["fresh"], now - timedelta(days=1))
    return found


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_json_lists_what_would_be_scanned_and_why(images: dict[str, str], capsys: Any) -> None:
    code, out, _ = run(capsys, "plan", "--include", "^team/", "--exclude=-tmp$", "--output", "json")
    assert code == 0
    plan = {item["digest"]: item for item in json.loads(out)["images"]}
    assert set(plan) == {images["tagged"], images["untagged"], images["expired"]}
    assert plan[images["tagged"]] == {
        "repository": "team/app",
        "digest": images["tagged"],
        "tags": ["v1"],
        "reason": "never_scanned",
        "last_scan": None,
    }
    assert plan[images["untagged"]]["tags"] == []
    expired = plan[images["expired"]]
    assert expired["reason"] == "expired"
    assert datetime.now(UTC) - datetime.fromisoformat(expired["last_scan"]) > timedelta(days=9)


def test_plan_changes_nothing(images: dict[str, str], capsys: Any) -> None:
    run(capsys, "plan", "--output", "json")
    code, out, _ = run(capsys, "plan", "--output", "json")
    assert code == 0
    assert len(json.loads(out)["images"]) == 5


def test_plan_table(images: dict[str, str], capsys: Any) -> None:
    code, out, _ = run(capsys, "plan", "--include", "^team/app$", "--expiry-days", "14")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["REPOSITORY", "DIGEST", "TAGS", "REASON", "LAST", "SCAN"]
    assert any(images["untagged"] in line and "<untagged>" in line for line in lines)
    assert not any(images["expired"] in line for line in lines)  # 10 days old: fresh with a 14-day expiry
    assert lines[-3] == "2 image(s) in 1 repository(ies) would be scanned"
    assert lines[-2] == "repositories: 1 matched, 2 filtered out"
    assert lines[-1] == "images: 4 considered, 2 to scan (2 never scanned, 0 expired), 2 fresh, 0 in flight"


def test_scan_starts_the_scans_and_summarises(images: dict[str, str], capsys: Any) -> None:
    code, out, _ = run(capsys, "scan", "--include", "^team/app$", "--output", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["total"]["scan_started"] == 3
    assert doc["total"]["fresh"] == 1
    assert [r["repository"] for r in doc["repositories"]] == ["team/app"]
    code, out, _ = run(capsys, "plan", "--include", "^team/app$", "--output", "json")
    assert json.loads(out)["images"] == []


def test_scan_table_has_a_total_row(images: dict[str, str], capsys: Any) -> None:
    # team/app's newest image is one never scanned, whichever second each push fell in (moto keeps whole seconds)
    set_pushed_at("team/app", images["tagged"], datetime.now(UTC) + timedelta(hours=1))
    code, out, _ = run(capsys, "scan", "--max-images", "1")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split()[:3] == ["REPOSITORY", "CONSIDERED", "SCAN_STARTED"]
    assert lines[-2].split()[:3] == ["TOTAL", "6", "3"]  # at most one newest image per repository
    assert lines[-1] == "3 scan(s) started in 3 repository(ies)"


def test_enhanced_registry_plans_nothing(images: dict[str, str], capsys: Any) -> None:
    aws.client("ecr").put_registry_scanning_configuration(scanType="ENHANCED", rules=[])
    code, out, err = run(capsys, "plan", "--output", "json")
    assert (code, json.loads(out)["images"]) == (0, [])
    assert "ENHANCED" in err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["plan", "--include", "("], "'(' is not a valid regular expression (Terraform checks it with RE2"),
        (["plan", "--exclude", "[a-"], "Here: unterminated character set at position 0."),
        (["plan", "--include", "^(?!sandbox/)"], "Here: negative look-ahead, which only Python has."),
        (["scan", "--exclude", "a{,3}"], "argument --exclude: 'a{,3}' uses RE2 syntax that Python's re"),
        (["plan", "--include", "^([a-z0-9]+-?)+/service$"], "repeats a group that holds a quantifier"),  # issue 27
        (["scan", "--exclude", "(a|aa)+"], "argument --exclude: '(a|aa)+' repeats a group"),
        (["plan", "--endpoint-url", "http://127.0.0.1:5000", "--localstack"], "not allowed with argument"),
        (["plan", "--expiry-days", "0"], "--expiry-days: must be a whole number from 1 to 365"),
        (["plan", "--expiry-days", "-3"], "--expiry-days"),
        (["scan", "--expiry-days", "366"], "--expiry-days"),
        (["plan", "--expiry-days", "7d"], "--expiry-days"),
        (["plan", "--max-images", "0"], "--max-images"),
        (["plan", "--only-pulled-within-days", "x"], "--only-pulled-within-days"),
        (["plan", "--output", "yaml"], "--output"),
        (["destroy"], "invalid choice"),
        ([], "required"),
        (["plan", "--endpoint-url", "notaurl"], "--endpoint-url: must be an http:// or https:// URL"),
        (["plan", "--region", "eu-west-1", "--endpoint-url", "notaurl"], "--endpoint-url"),
        (["scan", "--endpoint-url="], "--endpoint-url"),
        (["plan", "--endpoint-url", "ftp://127.0.0.1:21"], "--endpoint-url"),
        (["plan", "--endpoint-url", "http://"], "--endpoint-url"),
        (["plan", "--endpoint-url", "http://[::1"], "--endpoint-url"),
        (["plan", "--endpoint-url", "http://127.0.0.1:99999"], "--endpoint-url"),
        (["plan", "--endpoint-url", "http://127.0.0.1:5000 x"], "--endpoint-url"),
        (["plan", "--region="], "--region: must be an AWS region name such as eu-west-1"),
        (["plan", "--region", "EU-WEST-1"], "--region"),
        (["plan", "--region", "bad_region!"], "--region"),
        (["plan", "--region", "eu-west-1.example.com"], "--region"),
    ],
)
def test_bad_options_exit_2_with_one_line(argv: list[str], complaint: str, capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    out, err = capsys.readouterr()
    assert exited.value.code == 2
    assert out == ""
    assert err.startswith("ecr-scan-reporter")
    assert err.count("\n") == 1
    assert complaint in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("us-gov-west-1", "http://127.0.0.1:5000"),
        ("eusc-de-east-1", "https://localhost:4566/"),
        ("cn-north-1", "http://[::1]:5000"),
        ("eu-west-1", "HTTP://Example.com"),
    ],
)
def test_good_region_and_endpoint_options_are_accepted(region: str, endpoint: str) -> None:
    args = cli.build_parser().parse_args(["plan", "--region", region, "--endpoint-url", endpoint])
    assert (args.region, args.endpoint_url) == (region, endpoint)


def test_a_value_error_from_the_client_factory_is_a_bad_option_too(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    def refuse(service: str, **_: Any) -> None:
        raise ValueError("Invalid endpoint: https://api.ecr..amazonaws.com")

    monkeypatch.setattr(aws, "client", refuse)
    code, out, err = run(capsys, "plan", "--region", "eu-west-1")
    assert (code, out) == (2, "")
    assert err == "ecr-scan-reporter: error: Invalid endpoint: https://api.ecr..amazonaws.com\n"


def test_an_endpoint_botocore_refuses_exits_2_with_one_line(capsys: Any) -> None:
    code, out, err = run(capsys, "plan", "--region", "eu-west-1", "--ecr-endpoint-url", "http://under_score:5000")
    assert (code, out) == (2, "")
    assert err == "ecr-scan-reporter: error: Invalid endpoint: http://under_score:5000\n"


def test_no_credentials_exit_1_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, out, err = run(capsys, "plan", "--region", "eu-west-1")
    assert (code, out) == (1, "")
    assert err == "ecr-scan-reporter: error: Unable to locate credentials\n"


def test_unreachable_endpoint_exit_1(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    class Unreachable:
        def get_registry_scanning_configuration(self) -> None:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    seen = []
    monkeypatch.setattr(aws, "client", lambda service, **kw: seen.append((service, kw)) or Unreachable())
    code, _, err = run(capsys, "plan", "--ecr-endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1")
    assert seen == [("ecr", {"region": "us-east-1", "endpoint_url": "http://127.0.0.1:9", "max_attempts": 3})]
    assert code == 1
    assert err.count("\n") == 1
    assert "Could not connect to the endpoint URL" in err


def test_access_denied_exit_1(capsys: Any) -> None:
    ecr = aws.client("ecr", max_attempts=cli.CLI_MAX_ATTEMPTS)
    with Stubber(ecr) as stub:
        stub.add_client_error("get_registry_scanning_configuration", "AccessDeniedException", "not allowed")
        code, _, err = run(capsys, "scan")
    assert code == 1
    assert err.count("\n") == 1
    assert "AccessDeniedException" in err


# --- with the scan ledger (--table) and the registry's daily scan quota ---------------------------------------


@pytest.fixture
def table(images: dict[str, str]) -> Any:
    """The scan ledger (moto), knowing team/app's tagged image as scanned an hour ago."""
    from core.test_ledger import create_table

    from ecr_scan_reporter.core import ledger

    ddb = aws.client("dynamodb")
    create_table(ddb, "esr-ledger")
    now = datetime.now(UTC)
    set_pushed_at("team/app", images["tagged"], now - timedelta(hours=2))  # a record older than the push: ask ECR
    registry_id = aws.client("ecr").describe_repositories()["repositories"][0]["registryId"]
    ledger.record_scan_state(
        ddb, "esr-ledger", registry_id, "team/app", images["tagged"], ("v1",), "COMPLETE",
        now - timedelta(hours=1), now, ledger.expires_at(now, 7),
    )  # fmt: skip
    return ddb


def _items(ddb: Any) -> list[dict[str, Any]]:
    return sorted(ddb.scan(TableName="esr-ledger")["Items"], key=lambda item: (item["pk"]["S"], item["digest"]["S"]))


def test_plan_with_the_ledger_reads_it_and_writes_nothing(images: dict[str, str], table: Any, capsys: Any) -> None:
    before = _items(table)
    code, out, _ = run(capsys, "plan", "--include", "^team/app$", "--table", "esr-ledger", "--output", "json")
    assert code == 0
    # the ledger says the tagged image was scanned an hour ago (ECR has no scan of it): not planned
    assert {item["digest"] for item in json.loads(out)["images"]} == {images["untagged"], images["expired"]}
    assert _items(table) == before


def test_scan_with_the_ledger_records_what_it_learns_and_starts(
    images: dict[str, str], table: Any, capsys: Any
) -> None:
    code, out, _ = run(capsys, "scan", "--include", "^team/app$", "--table", "esr-ledger", "--output", "json")
    assert code == 0
    assert json.loads(out)["total"]["scan_started"] == 2
    status = {item["digest"]["S"]: item.get("scan_status", {}).get("S") for item in _items(table)}
    assert status[images["untagged"]] == "IN_PROGRESS"
    assert status[images["expired"]] == "IN_PROGRESS"
    assert status[images["fresh"]] == "COMPLETE"  # learned from ECR, so the next sweep need not ask
    assert status[images["tagged"]] == "COMPLETE"
    assert any(item["pk"]["S"] == "config#sweep" for item in _items(table))  # the repository was swept through


def test_scan_stops_when_the_registry_quota_is_spent(
    images: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from ecr_scan_reporter.sweep import scanning

    real = scanning.attempt_scan
    calls: list[str] = []

    def attempt_scan(ecr: Any, repository: str, digest: str, registry_id: str | None = None) -> Any:
        calls.append(digest)
        if len(calls) > 1:
            return scanning.ScanAttempt(scanning.ScanOutcome.QUOTA_EXHAUSTED)
        return real(ecr, repository, digest, registry_id)

    monkeypatch.setattr(scanning, "attempt_scan", attempt_scan)
    code, out, err = run(capsys, "scan", "--output", "json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["total"]["scan_started"], doc["total"]["quota_exhausted"]) == (1, 1)
    assert len(calls) == 2  # one started, one refused, then no more attempts in any repository
    assert len(doc["repositories"]) == 1
    assert err.count("skipped: the daily scan quota is spent") == 2  # the two other repositories


def test_an_empty_exclude_excludes_nothing_as_in_the_module(images: dict[str, str], capsys: Any) -> None:
    code, out, _ = run(capsys, "plan", "--exclude", "", "--output", "json")
    assert code == 0
    assert json.loads(out)["counts"]["repositories"] == {"matched": 3, "filtered_out": 0, "gone": 0}


def test_plan_with_a_budget_shows_what_todays_budget_would_scan_by_class(images: dict[str, str], capsys: Any) -> None:
    code, out, _ = run(capsys, "plan", "--budget", "3", "--output", "json")
    assert code == 0
    doc = json.loads(out)
    classes = doc["budget"]["classes"]
    # 4 never scanned (none pulled: class 3), 1 expired (class 4), 1 fresh; 3 scans: the never-scanned first.
    assert classes["never_scanned"] == {"due": 4, "would_scan": 3}
    assert classes["expired"] == {"due": 1, "would_scan": 0}
    assert classes["never_scanned_in_use"] == {"due": 0, "would_scan": 0}
    assert len(doc["images"]) == 3
    assert {i["class"] for i in doc["images"]} == {"never_scanned"}
    assert images["expired"] not in {i["digest"] for i in doc["images"]}
    assert doc["counts"]["repositories"] == {"matched": 3, "filtered_out": 0, "gone": 0}
    code, out, _ = run(capsys, "plan", "--budget", "100000")
    assert code == 0
    assert "5 image(s) would be scanned" in out  # what is due; the fresh image is not needed to level the load
    assert "  expired: 1 due, 1 would be scanned" in out
    assert "  levelling: 1 due, 0 would be scanned" in out
    assert not any(
        aws.client("ecr").describe_images(repositoryName="team/app")["imageDetails"][0].get(k)
        for k in ("imageScanStatus",)
    )


def test_plan_refuses_a_budget_over_the_quota(images: dict[str, str], capsys: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["plan", "--budget", "100001"])
    assert exit_.value.code == 2
    assert "--budget" in capsys.readouterr().err
