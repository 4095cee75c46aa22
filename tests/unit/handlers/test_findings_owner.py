"""handlers.findings against moto, issue 27 "the owner is told exactly once": when a result's owner cannot be
decided (the repository's tags throttled or denied, the teams document missing or of another hash than
TEAMS_SHA256), nothing per owner advances and the result is retried; over the failure and the recovery the owner's
topic and the module's topic each receive each new finding exactly once.

Each test drives the function as Lambda does: an invocation that raises is retried (asynchronous invocations:
twice, then the failed-events queue, from which a person redrives it); a batch's item failures come back from the
buffer queue. A result that is answered is never delivered again."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION

import handlers.test_findings_teams as teams_tests
from ecr_scan_reporter.alerts.findings import Finding
from ecr_scan_reporter.core import aws, config_items, ledger, teams
from ecr_scan_reporter.handlers import findings, load_settings
from handlers.test_findings_alerts import finding_event, sqs_batch
from handlers.test_findings_teams import DIGEST, TABLE, Inbox, Reader, event, repository, store_teams, team

inbox, reader = teams_tests.inbox, teams_tests._reader  # the fixtures: moto's table and topics, the findings read

A = Finding("CVE-2026-7000", "CRITICAL", "openssl", "3.0", "3.1", None, 9.8)
B = Finding("CVE-2026-7001", "CRITICAL", "zlib", "1.2", "1.3", None, 9.1)
OWNED = [team("payments", None), team("tools", "^tools")]  # payments owns by tag only
REPO = "misc/api"


def attempt(scan_event: dict[str, Any]) -> dict[str, Any] | None:
    """One invocation; None when it raised (Lambda retries the event; past its retries the failed-events queue
    keeps it until a person redrives it)."""
    try:
        return findings.handler(scan_event, None)
    except Exception:  # whatever it raises, Lambda retries
        return None


def new_findings(docs: list[dict[str, Any]]) -> list[list[str]]:
    return [[f["id"] for f in doc["new_findings"]] for doc in docs]


def record() -> ledger.LedgerRecord:
    found = ledger.get_record(boto3.client("dynamodb", region_name=REGION), TABLE, ACCOUNT, REPO, DIGEST)
    assert found is not None
    return found


@contextmanager
def tags_failing(code: str, status: int = 400) -> Iterator[None]:
    """ECR answers ListTagsForResource with ``code`` (after botocore's own retries) while the block runs."""
    real = aws.client

    class Ecr:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def list_tags_for_resource(self, **_: Any) -> dict[str, Any]:
            error = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
            raise ClientError(error, "ListTagsForResource")  # type: ignore[arg-type]

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        found = real(service, *args, **kwargs)
        return Ecr(found) if service == "ecr" else found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws, "client", client)
        yield


def first_alert(inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch) -> str:
    """Teams stored, the repository tagged for payments, its image alerted for A: to payments and the module's
    topic (module_topic = all). Returns the teams' hash."""
    sha = store_teams(monkeypatch, OWNED)
    repository(REPO, {"team": "payments"})
    reader.by_digest[DIGEST] = [A]
    response = findings.handler(event(REPO, {"CRITICAL": 1}), None)
    assert (response["status"], response["team"], response["team_by"]) == ("notified", "payments", "tag")
    assert new_findings(inbox("payments")) == new_findings(inbox("module")) == [[A.id]]
    return sha


def over_failure_and_recovery(
    inbox: Inbox, failing: Callable[[], AbstractContextManager[Any]], attempts: int, recover: Callable[[], None]
) -> dict[str, list[list[str]]]:
    """A second result (A and the new B) delivered ``attempts`` times while the owner cannot be decided, then, if
    the last attempt raised, once more after ``recover`` (Lambda's retry or a redrive); then a third result with
    nothing new. Returns the new findings each topic received over the whole run, and asserts that nothing was
    published and nothing advanced in the record while the failure lasted."""
    second = event(REPO, {"CRITICAL": 2}, day=1)
    with failing():
        answers = [attempt(second) for _ in range(attempts)]
    during = {name: new_findings(inbox(name)) for name in ("payments", "module", "tools")}
    before = record()
    recover()
    if answers[-1] is None:
        assert attempt(second) is not None
    later = findings.handler(event(REPO, {"CRITICAL": 2}, day=2), None)
    after = {name: new_findings(inbox(name)) for name in ("payments", "module", "tools")}
    told = {name: during[name] + after[name] for name in during}
    assert told == {"payments": [[B.id]], "module": [[B.id]], "tools": []}  # exactly once, to its owner
    assert (later["status"], later["team"]) == ("not_news", "payments")
    assert answers == [None] * attempts  # retried, never answered as if decided
    assert during == {"payments": [], "module": [], "tools": []}
    assert (before.notified_findings, before.notified_team, before.pending_token) == ({A.id}, "payments", None)
    assert (record().notified_findings, record().notified_team) == ({A.id, B.id}, "payments")
    return told


def test_tags_throttled_the_result_is_retried_and_the_owner_told_once(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_alert(inbox, reader, monkeypatch)
    reader.by_digest[DIGEST] = [A, B]
    over_failure_and_recovery(inbox, lambda: tags_failing("ThrottlingException"), 1, lambda: None)


def test_tags_denied_fails_visibly_a_bounded_number_of_times_and_the_redriven_result_tells_the_owner_once(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Denied is permanent until someone grants ecr:ListTagsForResource: the invocation and Lambda's two retries
    fail (then the failed-events queue, alarmed, keeps the event); once granted, the redriven event tells the owner."""
    first_alert(inbox, reader, monkeypatch)
    reader.by_digest[DIGEST] = [A, B]
    capsys.readouterr()
    counted: list[dict[str, Any]] = []

    def granted() -> None:
        lines = capsys.readouterr().out.splitlines()
        counted.extend(json.loads(line) for line in lines if line.startswith('{"_aws"'))

    over_failure_and_recovery(inbox, lambda: tags_failing("AccessDeniedException"), 3, granted)
    assert sum(doc.get("OwnersUndecided", 0) for doc in counted) == 3


def test_tags_denied_is_logged_as_a_permanent_failure(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    first_alert(inbox, reader, monkeypatch)
    with caplog.at_level(logging.INFO), tags_failing("AccessDeniedException"):
        assert attempt(event(REPO, {"CRITICAL": 1}, day=1)) is None
    [logged] = [r for r in caplog.records if r.getMessage() == "owner_undecided"]
    assert logged.levelno == logging.ERROR
    fields = (logged.reason, logged.permanent, logged.repository)  # type: ignore[attr-defined]
    assert fields == ("tags_denied", True, REPO)
    assert "ecr:ListTagsForResource" in logged.hint  # type: ignore[attr-defined]


@pytest.mark.parametrize("change", ["missing", "another_hash"])
def test_a_teams_document_that_cannot_be_used_retries_the_result_and_the_owner_is_told_once(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """A deployment window: the function already names the new teams (TEAMS_SHA256) while the config#teams item is
    missing or still the previous version; Terraform then writes it."""
    first_alert(inbox, reader, monkeypatch)
    extra = {"name": "extra", "repository_regex": "^extra", "topic_arn": teams_tests.LENIENT_ARN, "settings": {}}
    new_text = teams.document([*OWNED, extra], tag_key="team")
    monkeypatch.setenv("TEAMS_SHA256", config_items.document_hash(new_text))
    load_settings.cache_clear()
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    if change == "missing":
        dynamodb.delete_item(TableName=TABLE, Key=config_items.key("teams"))
    reader.by_digest[DIGEST] = [A, B]

    def written() -> None:
        item = {**config_items.key("teams"), "document": {"S": new_text}, "sha256": {"S": "-"}}
        dynamodb.put_item(TableName=TABLE, Item=item)

    over_failure_and_recovery(inbox, nullcontext, 1, written)


def test_an_inspector_batch_whose_owner_cannot_be_decided_is_a_batch_item_failure_and_told_once(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_teams(monkeypatch, OWNED)
    repository("team/api", {"team": "payments"})  # the repository the Inspector fixtures name
    reader.by_digest[DIGEST] = [A]
    batch = sqs_batch([finding_event(DIGEST, A.id, "CRITICAL", 0)])
    with tags_failing("ThrottlingException"):
        assert findings.handler(batch, None) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert inbox("module") == inbox("payments") == []
    assert findings.handler(batch, None) == {"batchItemFailures": []}  # the buffer queue delivers it again
    assert new_findings(inbox("payments")) == new_findings(inbox("module")) == [[A.id]]
    assert findings.handler(batch, None) == {"batchItemFailures": []}  # an exact redelivery
    assert inbox("payments") == inbox("module") == []


def test_a_claim_whose_owner_cannot_be_decided_is_left_for_the_retry_and_resent_once(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invocation died after claiming an alert for payments; its retry meets teams it cannot use: the claim is
    left as it was (not taken over, not re-sent to the module's topic), and the next retry re-sends it to payments."""
    first_alert(inbox, reader, monkeypatch)
    reader.by_digest[DIGEST] = [A, B]
    second = event(REPO, {"CRITICAL": 2}, day=1)

    def crash(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("killed before SNS accepted the message")

    with monkeypatch.context() as patch:
        patch.setattr(findings.stage.sns_message, "publish", crash)
        assert attempt(second) is None
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    expired = replace(record(), pending_until=datetime.now(UTC) - timedelta(seconds=1))
    assert ledger.put_record(dynamodb, TABLE, expired, record().revision) is not None
    claimed = record()
    assert (claimed.pending_type, claimed.notified_team) == ("threshold_breached", "payments")

    monkeypatch.setenv("TEAMS_SHA256", "0" * 64)  # a deployment window
    load_settings.cache_clear()
    assert attempt(second) is None
    assert (record().pending_token, record().revision) == (claimed.pending_token, claimed.revision)  # untouched
    assert inbox("module") == inbox("payments") == []

    store_teams(monkeypatch, OWNED)  # the window closes
    assert attempt(second) is not None
    assert new_findings(inbox("payments")) == new_findings(inbox("module")) == [[B.id]]  # re-sent once
    assert record().pending_token is None
