"""`ecr-scan-reporter suppressions` (issue 17 item 8): which repositories of the registry each suppression covers,
from the ledger's stored list (--table) or a file (--file), with the ones probably not meant flagged."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from ecr_scan_reporter import cli
from ecr_scan_reporter.alerts import suppressions
from ecr_scan_reporter.alerts.suppression_store import KEY
from ecr_scan_reporter.core import aws, regex_subset

REPOSITORIES = ("prod-api", "prod-web", "nonprod-x", "team/app")
ENTRIES = [
    {"vulnerability_id": "CVE-2024-0001", "repository_regex": "prod-*", "expires": "2099-01-01", "reason": "glob"},
    {"vulnerability_id": "CVE-2024-0002", "repository_regex": "^sandbox/", "expires": "2099-01-01", "reason": "none"},
    {"vulnerability_id": "CVE-2024-0003", "repository_regex": None, "expires": "2099-01-01", "reason": "all, meant"},
    {"vulnerability_id": "CVE-2024-0004", "repository_regex": "-*", "expires": "2099-01-01", "reason": "all"},
    {"vulnerability_id": "CVE-2024-0005", "repository_regex": "^team/", "expires": "2020-01-01", "reason": "old"},
]


@pytest.fixture
def registry(moto: None) -> None:
    ecr = aws.client("ecr")
    for name in REPOSITORIES:
        ecr.create_repository(repositoryName=name)


@pytest.fixture
def listing(tmp_path: Path) -> Path:
    path = tmp_path / "suppressions.json"
    path.write_text(json.dumps(ENTRIES))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lists_each_suppressions_repositories_and_flags(registry: None, listing: Path, capsys: Any) -> None:
    code, out, err = run(capsys, "suppressions", "--file", str(listing), "--output", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["repositories"] == 4
    found = {item["vulnerability_id"]: item for item in doc["suppressions"]}
    assert found["CVE-2024-0001"] == {
        "name": "suppressions[0]",
        "vulnerability_id": "CVE-2024-0001",
        "expires": "2099-01-01",
        "expired": False,
        "reason": "glob",
        "repository_regex": "prod-*",
        "count": 3,
        "repositories": ["nonprod-x", "prod-api", "prod-web"],  # "prod" anywhere in the name
        "flags": ["looks_like_a_glob"],
    }
    assert (found["CVE-2024-0002"]["count"], found["CVE-2024-0002"]["flags"]) == (0, ["matches_no_repository"])
    assert (found["CVE-2024-0003"]["count"], found["CVE-2024-0003"]["flags"]) == (4, [])  # no regex: all, meant
    assert found["CVE-2024-0004"]["flags"] == ["matches_every_repository", "looks_like_a_glob"]
    assert (found["CVE-2024-0005"]["expired"], found["CVE-2024-0005"]["repositories"]) == (True, ["team/app"])
    assert doc["counts"] == {
        "suppressions": 5,
        "matches_no_repository": 1,
        "matches_every_repository": 1,
        "looks_like_a_glob": 2,
    }


def test_text_names_the_repositories_and_warns(registry: None, listing: Path, capsys: Any) -> None:
    code, out, _ = run(capsys, "suppressions", "--file", str(listing))
    lines = out.splitlines()
    assert code == 0
    assert lines[:6] == [
        "suppressions[0] CVE-2024-0001 (expires 2099-01-01): repository_regex 'prod-*': 3 of 4 repositories",
        "  warning: 'prod-*' is a regular expression, not a glob: '*' repeats the character before it, and the "
        "match may be anywhere in the name; for names starting with prod- write ^prod-",
        "    nonprod-x",
        "    prod-api",
        "    prod-web",
        "suppressions[1] CVE-2024-0002 (expires 2099-01-01): repository_regex '^sandbox/': 0 of 4 repositories",
    ]
    assert lines[6] == "  warning: matches no repository"
    assert "suppressions[2] CVE-2024-0003 (expires 2099-01-01): no repository_regex (every repository): 4 of 4" in out
    assert "  warning: matches every repository" in lines
    assert "suppressions[4] CVE-2024-0005 (expired 2020-01-01): repository_regex '^team/': 1 of 4" in out
    assert lines[-1] == (
        "5 suppression(s) over 4 repositories: 1 match no repository, 1 match every repository, 2 look like a glob"
    )


def test_include_and_exclude_narrow_the_repositories(registry: None, listing: Path, capsys: Any) -> None:
    code, out, _ = run(
        capsys, "suppressions", "--file", str(listing), "--include", "prod", "--exclude", "^non", "--output", "json"
    )
    doc = json.loads(out)
    assert (code, doc["repositories"]) == (0, 2)
    assert doc["suppressions"][0]["flags"] == ["matches_every_repository", "looks_like_a_glob"]


def test_the_table_holds_what_the_module_stored(registry: None, capsys: Any) -> None:
    from core.test_ledger import create_table

    ddb = aws.client("dynamodb")
    create_table(ddb, "esr-ledger")
    text = suppressions.document(ENTRIES[:2])
    item = {**KEY, "document": {"S": text}, "sha256": {"S": suppressions.document_hash(text)}}
    ddb.put_item(TableName="esr-ledger", Item=item)
    code, out, err = run(capsys, "suppressions", "--table", "esr-ledger", "--output", "json")
    assert (code, err) == (0, "")
    assert [(s["vulnerability_id"], s["count"]) for s in json.loads(out)["suppressions"]] == [
        ("CVE-2024-0001", 3),
        ("CVE-2024-0002", 0),
    ]


def test_a_table_without_suppressions_says_so(registry: None, capsys: Any) -> None:
    from core.test_ledger import create_table

    create_table(aws.client("dynamodb"), "esr-ledger")
    code, out, err = run(capsys, "suppressions", "--table", "esr-ledger")
    assert (code, out) == (0, "0 suppression(s) over 4 repositories\n")
    assert err.startswith("ecr-scan-reporter: no suppressions in esr-ledger")


def test_a_missing_table_is_an_aws_error(registry: None, capsys: Any) -> None:
    code, out, err = run(capsys, "suppressions", "--table", "nope")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert "ResourceNotFoundException" in err


def test_stdin(registry: None, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"suppressions": ENTRIES[1:2], "other": 1})))
    code, out, _ = run(capsys, "suppressions", "--file", "-", "--output", "json")
    assert (code, [s["vulnerability_id"] for s in json.loads(out)["suppressions"]]) == (0, ["CVE-2024-0002"])


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (None, "--file: cannot read"),
        ("[{", "suppressions are not valid JSON"),
        ('[{"vulnerability_id": "CVE-1", "expires": "2099-01-01"}]', "suppressions[0].reason is required"),
        (
            json.dumps([{**ENTRIES[0], "repository_regex": "(?U)prod"}]),
            f"suppressions[0].repository_regex '(?U)prod' {regex_subset.NOT_COMMON}",
        ),
        (
            json.dumps([{**ENTRIES[0], "repository_regex": "^(?!sandbox/)"}]),
            f"suppressions[0].repository_regex '^(?!sandbox/)' {regex_subset.INVALID}",
        ),
    ],
)
def test_a_bad_file_is_status_2_in_one_line(
    content: str | None, complaint: str, tmp_path: Path, registry: None, capsys: Any
) -> None:
    path = tmp_path / "s.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "suppressions", "--file", str(path))
    assert (code, out) == (2, "")
    assert err.startswith("ecr-scan-reporter: error: --file")
    assert err.count("\n") == 1
    assert complaint in err


@pytest.mark.parametrize(
    "argv", [["suppressions"], ["suppressions", "--table", "t", "--file", "f"], ["suppressions", "--output", "html"]]
)
def test_bad_options_are_status_2(argv: list[str], capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
