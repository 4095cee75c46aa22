"""`ecr-scan-reporter route` (issue 19): who owns a repository (tag, then the teams' regexes in order, else
nobody), which thresholds and notify settings apply (the team's over the module's) and which topics the
notifications go to; the teams document read from the ledger table (moto), the tags from ECR (moto)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table
from ecr_fakes import push

from ecr_scan_reporter import cli
from ecr_scan_reporter.core import config_items, ledger, teams
from ecr_scan_reporter.core.ledger import LedgerRecord

TABLE = "esr-ledger"
MODULE_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:esr-notifications"
PAYMENTS_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:esr-payments"
TOOLS_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:esr-tools"
DOCUMENT = teams.document(
    [
        {
            "name": "payments",
            "repository_regex": "^payments/",
            "topic_arn": PAYMENTS_TOPIC,
            "chat_topic_arn": None,
            "count_only_fixable": True,
            "alert_on_exploitable": False,
            "settings": {
                "severity_thresholds": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": None},
                "notify_on": "every_scan",
                "renotify_after_days": None,
            },
        },
        {
            "name": "tools",
            "repository_regex": "^(payments|tools)/",  # after payments: payments/* stays payments'
            "topic_arn": TOOLS_TOPIC,
            "chat_topic_arn": None,
            "count_only_fixable": False,
            "alert_on_exploitable": True,
            "settings": {"severity_thresholds": {"CRITICAL": 0, "HIGH": None, "MEDIUM": None, "LOW": None}},
        },
    ],
    tag_key="team",
    module_topic="all",
)


@pytest.fixture
def world(moto: None) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_table(dynamodb, TABLE)
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            **config_items.key("teams"),
            "document": {"S": DOCUMENT},
            "sha256": {"S": config_items.document_hash(DOCUMENT)},
            "count": {"N": "2"},
        },
    )
    ecr = boto3.client("ecr", region_name=REGION)
    for name, tags in {
        "payments/api": [],
        "payments/legacy": [{"Key": "team", "Value": "tools"}],
        "misc/web": [{"Key": "team", "Value": "ghost"}],
        "misc/cli": [],
    }.items():
        ecr.create_repository(repositoryName=name, **({"tags": tags} if tags else {}))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def routes(capsys: pytest.CaptureFixture[str], *names: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    code, out, err = run(capsys, "route", *names, "--table", TABLE, "--output", "json", *extra)
    assert (code, err) == (0, "")
    return {r["repository"]: r for r in json.loads(out)["repositories"]}


def test_a_tag_routes_the_repository_whatever_the_regexes_say(world: None, capsys: Any) -> None:
    found = routes(capsys, "payments/legacy", extra=("--topic", MODULE_TOPIC))["payments/legacy"]
    assert (found["team"], found["how"], found["tag"]) == ("tools", "tag", "team=tools")
    assert found["settings"]["severity_thresholds"] == {"CRITICAL": 0, "HIGH": None, "MEDIUM": None, "LOW": None}
    assert found["settings"]["notify_on"] == "new_findings"  # the module's: tools set no notify_on
    assert found["settings"]["alert_on_exploitable"] is True
    assert found["team_settings"] == ["severity_thresholds"]
    assert found["topics"] == [TOOLS_TOPIC, MODULE_TOPIC]  # module_topic = all


def test_the_first_matching_regex_in_list_order_routes(world: None, capsys: Any) -> None:
    found = routes(capsys, "payments/api", extra=("--renotify-after-days", "7", "--notify-on-resolved", "false"))
    route = found["payments/api"]
    assert (route["team"], route["how"], route["repository_regex"]) == ("payments", "repository_regex", "^payments/")
    assert route["settings"] == {
        "severity_thresholds": {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": None},
        "notify_on": "every_scan",
        "renotify_after_days": None,  # the team's explicit null: never, over the module's 7
        "notify_on_resolved": False,  # the module's
        "count_only_fixable": True,
        "alert_on_exploitable": False,
    }
    assert route["topics"] == [PAYMENTS_TOPIC]  # no --topic: the module's is not named
    assert route["module_topic"] is True


def test_nobody_owns_it_the_module_settings_apply(world: None, capsys: Any) -> None:
    found = routes(capsys, "misc/web", "misc/cli", extra=("--thresholds", '{"CRITICAL": 1}', "--topic", MODULE_TOPIC))
    web, cli_repo = found["misc/web"], found["misc/cli"]
    assert (web["team"], web["how"]) == (None, "nobody")
    assert web["notes"] == ["tag team='ghost' names no team"]
    assert web["settings"]["severity_thresholds"] == {"CRITICAL": 1, "HIGH": None, "MEDIUM": None, "LOW": None}
    assert web["topics"] == [MODULE_TOPIC]
    assert (cli_repo["how"], cli_repo["notes"]) == ("nobody", [])


def test_text_says_who_how_and_where(world: None, capsys: Any) -> None:
    code, out, err = run(
        capsys, "route", "payments/legacy", "payments/api", "misc/web", "--table", TABLE, "--topic", MODULE_TOPIC
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[:8] == [
        "payments/legacy: team tools (tag team=tools)",
        "  severity_thresholds:  CRITICAL > 0, HIGH ignored, MEDIUM ignored, LOW ignored (team)",
        "  notify_on:            new_findings (module)",
        "  renotify_after_days:  30 (module)",
        "  notify_on_resolved:   true (module)",
        "  count_only_fixable:   false",
        "  alert_on_exploitable: true",
        f"  topics:               {TOOLS_TOPIC}, {MODULE_TOPIC}",
    ]
    assert "payments/api: team payments (repository_regex '^payments/')" in out
    assert "  renotify_after_days:  never (team)" in out
    assert (
        "misc/web: nobody (no team's tag or repository_regex): the module's settings\n  note: tag team='ghost'" in out
    )


def test_a_repository_missing_from_the_registry_is_said_and_resolved_by_regex(world: None, capsys: Any) -> None:
    route = routes(capsys, "tools/gone")["tools/gone"]
    assert (route["team"], route["how"]) == ("tools", "repository_regex")
    assert route["notes"] == [
        "the repository's tags could not be read: tag team not consulted",
        "repository tools/gone does not exist in the registry",
    ]


def test_without_a_teams_document_every_repository_is_the_modules(moto: None, capsys: Any) -> None:
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    code, out, err = run(capsys, "route", "payments/api", "--table", TABLE, "--output", "json")
    assert code == 0
    assert "no teams in esr-ledger" in err
    doc = json.loads(out)
    assert doc["teams_document"] is False
    [route] = doc["repositories"]
    assert (route["team"], route["how"], route["topics"]) == (None, "nobody", [])
    assert route["settings"]["severity_thresholds"] == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": None}


def test_an_invalid_stored_document_is_an_error(moto: None, capsys: Any) -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    create_table(dynamodb, TABLE)
    dynamodb.put_item(TableName=TABLE, Item={**config_items.key("teams"), "document": {"S": "{"}})
    code, _, err = run(capsys, "route", "x", "--table", TABLE)
    assert code == 1
    assert "teams item in esr-ledger is invalid" in err


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["route", "x", "--table", "t", "--topic", "arn:aws:sqs:eu-west-1:123456789012:q"], "--topic"),
        (["route", "x", "--table", "t", "--renotify-after-days", "0"], "--renotify-after-days"),
        (["route", "x", "--table", "t", "--notify-on-resolved", "yes"], "--notify-on-resolved"),
    ],
)
def test_bad_options_exit_2(argv: list[str], option: str, capsys: Any) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 2
    assert option in capsys.readouterr().err


def test_bad_thresholds_exit_2(moto: None, capsys: Any) -> None:
    code, _, err = run(capsys, "route", "x", "--table", TABLE, "--thresholds", '{"SEVERE": 1}')
    assert code == 2
    assert "--thresholds has unknown severity 'SEVERE'" in err


def test_docs_show_the_command(world: None, capsys: Any) -> None:
    """docs/cli.md's sample is what the command prints for the registry above (topics aside)."""
    docs = (Path(__file__).resolve().parents[3] / "docs" / "cli.md").read_text()
    code, out, _ = run(capsys, "route", "payments/legacy", "misc/web", "--table", TABLE, "--topic", MODULE_TOPIC)
    assert code == 0
    for line in out.splitlines():
        assert line.replace(ACCOUNT, "123456789012").replace(REGION, "eu-west-1") in docs


def test_plan_with_the_ledger_shows_each_images_team(world: None, capsys: Any) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    for i, name in enumerate(("payments/legacy", "payments/api", "misc/web")):
        push(ecr, name, i, tag="v1")
    code, out, _ = run(capsys, "plan", "--table", TABLE, "--output", "json")
    assert code == 0
    teams_of = {image["repository"]: image["team"] for image in json.loads(out)["images"]}
    assert teams_of == {"payments/legacy": "tools", "payments/api": "payments", "misc/web": None}
    code, out, _ = run(capsys, "plan", "--table", TABLE, "--include", "^misc/")
    assert out.splitlines()[0].split() == ["REPOSITORY", "TEAM", "DIGEST", "TAGS", "REASON", "LAST", "SCAN"]
    assert out.splitlines()[1].split()[:2] == ["misc/web", "-"]


def test_plan_without_teams_has_no_team_column(moto: None, capsys: Any) -> None:
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName="misc/web")
    push(ecr, "misc/web", 1, tag="v1")
    code, out, _ = run(capsys, "plan", "--table", TABLE, "--output", "json")
    assert code == 0
    assert "team" not in json.loads(out)["images"][0]


def test_report_has_a_section_per_team_when_the_module_stores_teams(world: None, capsys: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    now = datetime.now(UTC)
    for i, repository in enumerate(("payments/api", "payments/legacy", "misc/web")):
        record = LedgerRecord(
            registry_id=ACCOUNT,
            repository=repository,
            digest=f"sha256:{i:064x}",
            source="ecr",
            scan_status="COMPLETE",
            scan_completed_at=now - timedelta(days=1),
            breached=("HIGH",),
            severity_counts={"HIGH": 1},
            findings={"CVE-H": "HIGH"},
        )
        ledger.put_record(client, TABLE, record, None)
    code, out, _ = run(capsys, "report", "--table", TABLE, "--output", "json")
    assert code == 0
    doc = json.loads(out)
    sections = {t["team"]: t for t in doc["teams"]}
    assert [r["repository"] for r in sections["payments"]["repositories"]] == ["payments/api"]
    assert [r["repository"] for r in sections["tools"]["repositories"]] == ["payments/legacy"]  # its tag
    assert sections["tools"]["summary"]["images_in_breach"] == 0  # HIGH is ignored by the tools team
    assert [r["repository"] for r in doc["unowned"]["repositories"]] == ["misc/web"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["route", "--table", TABLE], "name one or more REPOSITORY, or --all"),
        (["route", "x", "--all", "--table", TABLE], "REPOSITORY names or --all, not both"),
        (["route", "x"], "--table NAME (output ledger_table_name) or --function NAME"),
        (["route", "--all", "--function", "esr-findings", "--thresholds", "{}"], "--function reads the module"),
    ],
)
def test_what_to_route_and_from_where_exit_2(moto: None, argv: list[str], message: str, capsys: Any) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err


FINDINGS_FUNCTION = "esr-findings"


def _findings_function(environment: dict[str, str]) -> None:
    """The module's findings function as deployed: only its environment matters here."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="esr-findings", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=FINDINGS_FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="ecr_scan_reporter.handlers.findings.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Environment={"Variables": environment},
    )


def _all(capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, out, err = run(capsys, "route", "--all", "--output", "json", *extra)
    assert (code, err) == (0, ""), err
    return json.loads(out)


def test_all_lists_every_repository_with_its_owner_and_flags_the_unowned_and_unknown_tags(
    world: None, capsys: Any
) -> None:
    found = _all(capsys, "--table", TABLE, "--topic", MODULE_TOPIC)
    by_name = {r["repository"]: r for r in found["repositories"]}
    assert sorted(by_name) == ["misc/cli", "misc/web", "payments/api", "payments/legacy"]
    assert {name: (r["team"], r["how"], r["flags"]) for name, r in by_name.items()} == {
        "misc/cli": (None, "nobody", ["unowned"]),
        "misc/web": (None, "nobody", ["unowned", "tag_names_no_team"]),
        "payments/api": ("payments", "repository_regex", []),
        "payments/legacy": ("tools", "tag", []),
    }
    assert found["counts"] == {
        "repositories": 4,
        "by_tag": 1,
        "by_repository_regex": 1,
        "unowned": 2,
        "tag_names_no_team": 1,
    }
    assert found["module_settings_from"] == "options"


def test_all_text_is_one_line_a_repository_and_the_counts(world: None, capsys: Any) -> None:
    code, out, err = run(capsys, "route", "--all", "--table", TABLE)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("module settings (options): CRITICAL > 0, HIGH > 0, MEDIUM ignored, LOW ignored")
    assert lines[1].split() == ["REPOSITORY", "OWNER", "WHY", "THRESHOLDS", "FLAGS"]
    rows = {line.split()[0]: line for line in lines[2:6]}
    assert "UNOWNED" in rows["misc/cli"]
    assert "UNOWNED; tag team='ghost' names no team" in rows["misc/web"]
    assert "tag team=tools" in rows["payments/legacy"]
    assert "repository_regex '^payments/'" in rows["payments/api"]
    assert lines[6] == ("4 repositories: 1 owned by tag, 1 by repository_regex, 2 unowned; 1 tag naming no team")


def test_all_reads_the_deployed_settings_from_the_findings_function(world: None, capsys: Any) -> None:
    _findings_function(
        {
            "LEDGER_TABLE_NAME": TABLE,
            "SNS_TOPIC_ARN": MODULE_TOPIC,
            "SEVERITY_THRESHOLDS": '{"CRITICAL": 1, "HIGH": 3}',
            "NOTIFY_ON": "every_scan",
            "NOTIFY_ON_RESOLVED": "false",
            "RENOTIFY_AFTER_DAYS": "never",
        }
    )
    found = _all(capsys, "--function", FINDINGS_FUNCTION)  # no --table: the function's LEDGER_TABLE_NAME
    assert found["module_settings_from"] == f"function {FINDINGS_FUNCTION}"
    by_name = {r["repository"]: r for r in found["repositories"]}
    unowned = by_name["misc/cli"]
    assert unowned["settings"] == {
        "severity_thresholds": {"CRITICAL": 1, "HIGH": 3, "MEDIUM": None, "LOW": None},
        "notify_on": "every_scan",
        "renotify_after_days": None,
        "notify_on_resolved": False,
        "count_only_fixable": False,
        "alert_on_exploitable": False,
    }
    assert unowned["topics"] == [MODULE_TOPIC]
    assert by_name["payments/legacy"]["topics"] == [TOOLS_TOPIC, MODULE_TOPIC]
    # One repository by name reads the same deployed settings.
    code, out, err = run(capsys, "route", "misc/cli", "--function", FINDINGS_FUNCTION, "--output", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["repositories"][0]["settings"] == unowned["settings"]


def test_all_with_a_function_that_does_not_exist_is_an_error(world: None, capsys: Any) -> None:
    code, _, err = run(capsys, "route", "--all", "--function", "nope")
    assert code == 1
    assert "nope" in err


def test_docs_show_route_all(world: None, capsys: Any) -> None:
    """docs/cli.md's sample of route --all is what the command prints for the registry above (topics aside)."""
    docs = (Path(__file__).resolve().parents[3] / "docs" / "cli.md").read_text()
    code, out, _ = run(capsys, "route", "--all", "--table", TABLE, "--topic", MODULE_TOPIC)
    assert code == 0
    for line in out.splitlines():
        assert line.replace(ACCOUNT, "123456789012").replace(REGION, "eu-west-1") in docs, line
