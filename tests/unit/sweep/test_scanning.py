"""Starting scans and classifying StartImageScan errors (sweep/scanning.py)."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from ecr_fakes import digest, push

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.sweep import registry, scanning
from ecr_scan_reporter.sweep.scanning import ScanOutcome


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("LimitExceededException", ScanOutcome.LIMIT_EXCEEDED),
        ("UnsupportedImageTypeException", ScanOutcome.UNSUPPORTED),
        ("ImageNotFoundException", ScanOutcome.NOT_FOUND),
        ("ImageArchivedException", ScanOutcome.ARCHIVED),
        ("ImageStorageClassUpdateNotSupportedException", ScanOutcome.ARCHIVED),
        ("AccessDeniedException", None),
        ("ThrottlingException", None),
        ("ServerException", None),
    ],
)
def test_classify_error(code: str, outcome: ScanOutcome | None) -> None:
    assert scanning.classify_error(code) is outcome


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("LimitExceededException", ScanOutcome.LIMIT_EXCEEDED),
        ("UnsupportedImageTypeException", ScanOutcome.UNSUPPORTED),
        ("ImageArchivedException", ScanOutcome.ARCHIVED),
    ],
)
def test_expected_errors_become_outcomes(code: str, outcome: ScanOutcome) -> None:
    ecr = aws.client("ecr")
    with Stubber(ecr) as stub:
        stub.add_client_error("start_image_scan", code)
        assert scanning.start_scan(ecr, "team/app", digest(1)) is outcome


def test_other_errors_propagate_and_a_missing_repository_is_typed() -> None:
    ecr = aws.client("ecr")
    with Stubber(ecr) as stub:
        stub.add_client_error("start_image_scan", "AccessDeniedException")
        stub.add_client_error("start_image_scan", "RepositoryNotFoundException")
        with pytest.raises(ClientError, match="AccessDenied"):
            scanning.start_scan(ecr, "team/app", digest(1))
        with pytest.raises(registry.RepositoryNotFound):
            scanning.start_scan(ecr, "team/app", digest(1))


def test_scan_is_started_by_digest_with_the_registry_id() -> None:
    ecr = aws.client("ecr")
    with Stubber(ecr) as stub:
        expected = {"repositoryName": "team/app", "imageId": {"imageDigest": digest(1)}, "registryId": "210987654321"}
        stub.add_response("start_image_scan", {}, expected)
        assert scanning.start_scan(ecr, "team/app", digest(1), "210987654321") is ScanOutcome.STARTED
        stub.assert_no_pending_responses()


@pytest.mark.usefixtures("moto")
def test_limit_exceeded_is_final_at_once_not_retried_as_throttling(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore treats LimitExceededException as throttling: unhooked, adaptive retries would sleep and slow
    the client down for about a minute per image."""
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/app")
    digests = [push(ecr, "team/app", i, tag=None if i % 2 else f"v{i}") for i in range(5)]
    assert [scanning.start_scan(ecr, "team/app", d) for d in digests] == [ScanOutcome.STARTED] * 5

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s")

    monkeypatch.setattr(time, "sleep", no_sleep)
    started = time.monotonic()
    # moto allows one scan per image per day, like ECR
    assert [scanning.start_scan(ecr, "team/app", d) for d in digests] == [ScanOutcome.LIMIT_EXCEEDED] * 5
    assert time.monotonic() - started < 5  # the adaptive rate limiter waits without time.sleep
