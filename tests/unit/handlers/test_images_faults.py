"""The images and repositories handlers under faults and at their batch edges: a repository deleted before its
continuation, throttling left after botocore's retries, the first record's must_progress, a part handed over
untouched, malformed records among the handed-over ones, SQS refusing work messages (moto + the ECR fakes)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import emf
import pytest
from ecr_fakes import FakeContext, FakeEcr, client_error, fake_images, sqs_event, work_body

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.handlers import images, load_settings, repositories
from ecr_scan_reporter.sweep import registry, stage
from handlers.test_images import CountingEcr, pop_messages, repository
from handlers.test_repositories import FlakySqs, create_repositories, use_sqs

FN = ("FunctionName", FakeContext.function_name)


@pytest.fixture
def queue_url(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = aws.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")  # keep pytest's log capture handlers in place
    load_settings.cache_clear()
    yield url
    load_settings.cache_clear()


def use_ecr(monkeypatch: pytest.MonkeyPatch, ecr: Any) -> None:
    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: ecr if service == "ecr" else real(service, **kw))


class Throttled(CountingEcr):
    """moto's ECR whose StartImageScan calls number ``at`` are throttled (after botocore's retries)."""

    def __init__(self, real: Any, at: set[int]) -> None:
        super().__init__(real)
        self.at, self.calls = at, 0

    def start_image_scan(self, repositoryName: str, imageId: dict[str, str], **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls in self.at:
            raise client_error("ThrottlingException", "StartImageScan", "Rate exceeded")
        return super().start_image_scan(repositoryName=repositoryName, imageId=imageId, **kwargs)


class PagedEcr(FakeEcr):
    """The ECR fake (which pages like ECR) with the calls the images handler makes before sweeping."""

    def get_account_setting(self, name: str) -> Any:
        raise NotImplementedError(name)  # registry.scans_listed(): unknown


def test_a_repository_deleted_before_its_continuation_is_logged_counted_and_acknowledged(
    queue_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    ecr = CountingEcr(aws.client("ecr"))
    use_ecr(monkeypatch, ecr)
    repository(ecr, "team/app", 2)
    continued = {"mode": "pages", "part": 4, "next_token": None, "after_digest": None, "counts": {"considered": 9}}
    event = sqs_event([work_body("team/gone", continued), work_body("team/app")])
    assert images.handler(event, FakeContext()) == {"batchItemFailures": []}  # not retried into the DLQ
    [line] = [r for r in caplog.records if r.getMessage() == "repository_not_found"]
    assert (line.levelno, line.repository, line.part, line.message_id) == (logging.WARNING, "team/gone", 4, "m0")
    assert pop_messages(queue_url) == []  # nothing handed on for it
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert found[("RepositoriesNotFound", (FN,))] == 1
    assert found[("ScansStarted", (FN,))] == 2  # the other record was swept


def test_throttling_left_after_retries_hands_the_rest_over(
    queue_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ecr = Throttled(aws.client("ecr"), at={3})
    use_ecr(monkeypatch, ecr)
    digests = repository(ecr, "team/app", 5)
    assert images.handler(sqs_event([work_body("team/app")]), FakeContext()) == {"batchItemFailures": []}
    [handed] = pop_messages(queue_url)
    assert handed["continuation"]["part"] == 2
    assert images.handler(sqs_event([json.dumps(handed)]), FakeContext()) == {"batchItemFailures": []}
    assert pop_messages(queue_url) == []
    assert sorted(ecr.started) == sorted(digests)
    assert set(ecr.started.values()) == {1}  # none twice
    assert [r.stopped for r in caplog.records if r.getMessage() == "repository_swept"] == [stage.THROTTLED, None]


def test_throttling_before_any_image_fails_the_record_for_a_retry(
    queue_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ecr = Throttled(aws.client("ecr"), at={1})
    use_ecr(monkeypatch, ecr)
    repository(ecr, "team/app", 2)
    assert images.handler(sqs_event([work_body("team/app")]), FakeContext()) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}]
    }
    [line] = [r for r in caplog.records if r.getMessage() == "sweep_failed"]
    assert line.error_code == "ThrottlingException"


def test_only_the_first_record_of_a_batch_must_progress(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ecr = CountingEcr(aws.client("ecr"))
    use_ecr(monkeypatch, ecr)
    for name in ("team/a", "team/b", "team/c"):
        repository(ecr, name, 1)
    seen: list[tuple[str, bool]] = []
    real = images.sweep_repository

    def spy(ecr: Any, repository: str, **kwargs: Any) -> Any:
        seen.append((repository, kwargs["must_progress"]))
        return real(ecr, repository, **kwargs)

    monkeypatch.setattr(images, "sweep_repository", spy)
    event = sqs_event([work_body("team/a"), work_body("team/b"), work_body("team/c")])
    assert images.handler(event, FakeContext()) == {"batchItemFailures": []}
    assert seen == [("team/a", True), ("team/b", False), ("team/c", False)]


def test_a_part_handed_over_untouched_is_enqueued_again(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second record runs out of time while listing newest-first: it goes back to the queue as it came."""
    monkeypatch.setenv("MAX_IMAGES_PER_REPOSITORY", "1")
    monkeypatch.setattr(registry, "PAGE_SIZE", 3)
    load_settings.cache_clear()
    ecr = PagedEcr(fake_images(6))
    use_ecr(monkeypatch, ecr)
    # The first record: the newest image, no time read; the handler's check before the second record: in time;
    # the second record's listing deadline after its first page: out of time.
    event = sqs_event([work_body("app"), work_body("app")])
    assert images.handler(event, FakeContext(calls=1)) == {"batchItemFailures": []}
    assert len(ecr.started) == 1
    assert pop_messages(queue_url) == [json.loads(work_body("app"))]  # continuation null, as it came


def test_malformed_records_among_those_handed_over_keep_their_failure(
    queue_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ecr = CountingEcr(aws.client("ecr"))
    use_ecr(monkeypatch, ecr)
    repository(ecr, "team/a", 1)
    event = sqs_event([work_body("team/a"), '{"version": 1}', work_body("team/b"), "not json"])
    result = images.handler(event, FakeContext(calls=0))  # no time after the first record
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert [m["repository"] for m in pop_messages(queue_url)] == ["team/b"]
    bad = [r.message_id for r in caplog.records if r.getMessage() == "work_message_malformed"]
    assert bad == ["m1", "m3"]


def test_repositories_queued_does_not_count_messages_sqs_refused(
    queue_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [f"svc/app-{i:02d}" for i in range(12)]
    create_repositories(*names)
    use_sqs(monkeypatch, FlakySqs(aws.client("sqs"), always={"svc/app-02", "svc/app-07", "svc/app-11"}))

    class Context:
        function_name = "esr-repositories"

    with pytest.raises(repositories.UnsentWorkError, match="3 of 12"):
        repositories.handler({}, Context())
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert found == {("RepositoriesQueued", (("FunctionName", "esr-repositories"),)): 9}
