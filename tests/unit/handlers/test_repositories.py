"""The scheduled repositories handler against moto: selection, the work-message contract, batching, retries."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ACCOUNT
from ecr_fakes import client_error

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.core.config import ConfigError
from ecr_scan_reporter.handlers import load_settings, repositories


class FlakySqs:
    """Wraps the moto SQS client: entries whose repository is in ``always`` fail every time; ``once`` fail
    the first time; ``raise_first`` makes the first SendMessageBatch call fail outright."""

    def __init__(
        self, real: Any, always: set[str] = frozenset(), once: set[str] = frozenset(), raise_first: bool = False
    ):
        self.real, self.always, self.once, self.raise_first = real, set(always), set(once), raise_first
        self.batch_sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.batch_sizes.append(len(Entries))
        if self.raise_first:
            self.raise_first = False
            raise client_error("InternalError", "SendMessageBatch")
        failing = []
        for entry in Entries:
            name = json.loads(entry["MessageBody"])["repository"]
            if name in self.always or name in self.once:
                self.once.discard(name)
                failing.append(entry)
        passing = [e for e in Entries if e not in failing]
        response = self.real.send_message_batch(QueueUrl=QueueUrl, Entries=passing) if passing else {}
        failed = [
            {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"} for e in failing
        ]
        return {"Successful": response.get("Successful", []), "Failed": [*response.get("Failed", []), *failed]}


@pytest.fixture
def queue_url(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = aws.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")  # keep pytest's log capture handlers in place
    load_settings.cache_clear()
    yield url
    load_settings.cache_clear()


def create_repositories(*names: str) -> None:
    ecr = aws.client("ecr")
    for name in names:
        ecr.create_repository(repositoryName=name)


def received(url: str) -> list[dict[str, Any]]:
    sqs, bodies = aws.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    return bodies


def use_sqs(monkeypatch: pytest.MonkeyPatch, sqs: Any) -> None:
    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: sqs if service == "sqs" else real(service, **kw))


def test_include_and_exclude_select_repositories_and_messages_follow_the_contract(
    queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPOSITORY_INCLUDE_REGEX", "^team/")
    monkeypatch.setenv("REPOSITORY_EXCLUDE_REGEX", "-tmp$")
    create_repositories("team/app", "team/api", "team/app-tmp", "other/app")
    summary = repositories.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, None)
    assert summary == {"repositories_seen": 4, "filtered_out": 2, "sent": 2, "failed": 0}
    bodies = sorted(received(queue_url), key=lambda b: b["repository"])
    assert bodies == [
        {"version": 1, "repository": "team/api", "registry_id": ACCOUNT, "continuation": None},
        {"version": 1, "repository": "team/app", "registry_id": ACCOUNT, "continuation": None},
    ]


def test_all_repositories_by_default_sent_ten_per_call(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"svc/app-{i:02d}" for i in range(23)]
    create_repositories(*names)
    sqs = FlakySqs(aws.client("sqs"))
    use_sqs(monkeypatch, sqs)
    assert repositories.handler({}, None)["sent"] == 23
    assert sqs.batch_sizes == [10, 10, 3]
    assert sorted(b["repository"] for b in received(queue_url)) == names


def test_failed_entries_are_retried(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"svc/app-{i:02d}" for i in range(12)]
    create_repositories(*names)
    sqs = FlakySqs(aws.client("sqs"), once={"svc/app-03", "svc/app-11"}, raise_first=True)
    use_sqs(monkeypatch, sqs)
    assert repositories.handler({}, None) == {"repositories_seen": 12, "filtered_out": 0, "sent": 12, "failed": 0}
    assert sorted(b["repository"] for b in received(queue_url)) == names
    assert len(sqs.batch_sizes) > 2  # the failing call and entries were sent again


def test_entries_that_keep_failing_are_logged_and_raised_after_the_rest_is_sent(
    queue_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    names = [f"svc/app-{i:02d}" for i in range(15)]
    create_repositories(*names)
    use_sqs(monkeypatch, FlakySqs(aws.client("sqs"), always={"svc/app-04"}))
    with pytest.raises(repositories.UnsentWorkError, match="1 of 15"):
        repositories.handler({}, None)
    assert sorted(b["repository"] for b in received(queue_url)) == [n for n in names if n != "svc/app-04"]
    unsent = [r for r in caplog.records if r.getMessage() == "work_message_unsent"]
    assert [(r.levelno, r.repository, r.error_code) for r in unsent] == [(logging.ERROR, "svc/app-04", "InternalError")]


def test_queue_url_is_required(moto: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUEUE_URL", raising=False)
    load_settings.cache_clear()
    with pytest.raises(ConfigError, match="QUEUE_URL"):
        repositories.handler({}, None)
    load_settings.cache_clear()
