"""events.parse: the documented ECR / Inspector scan events -> ScanResult; malformed events -> MalformedEvent.

Fixtures (tests/unit/fixtures/events/, named after the page they follow; account/region adapted where noted):
- ecr-eventbridge-doc_*: Amazon ECR User Guide, "Amazon ECR events and EventBridge", event for a completed image
  scan (basic scanning); the FAILED one is that shape with scan-status FAILED and no counts.
- ecr-enhanced-events-doc_*: Amazon ECR User Guide, "EventBridge events sent for enhanced scanning", event for an
  initial image scan (region eu-west-1 instead of us-east-2).
- inspector-eventbridge-doc_*: Amazon Inspector User Guide, "EventBridge event schema", initial scan complete for
  an ECR image and for an EC2 instance (verbatim values).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecr_scan_reporter.alerts import events
from ecr_scan_reporter.alerts.events import MalformedEvent, ScanResult, UnsupportedEvent

FIXTURES = Path(__file__).parents[1] / "fixtures" / "events"
ECR_COMPLETE = "ecr-eventbridge-doc_ecr-image-scan-complete.json"
ECR_FAILED = "ecr-eventbridge-doc_ecr-image-scan-failed.json"
INSPECTOR_ECR_GUIDE = "ecr-enhanced-events-doc_inspector2-scan-initial.json"
INSPECTOR_GUIDE_ECR = "inspector-eventbridge-doc_inspector2-scan-ecr-initial.json"
INSPECTOR_GUIDE_EC2 = "inspector-eventbridge-doc_inspector2-scan-ec2-initial.json"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def test_ecr_complete_event() -> None:
    result = events.parse(load(ECR_COMPLETE))
    assert result == ScanResult(
        source="ecr",
        status="COMPLETE",
        repository="team/app",
        registry_id="123456789012",
        region="eu-west-1",
        image_digest="sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
        image_tags=(),
        severity_counts={"CRITICAL": 10, "HIGH": 0, "MEDIUM": 9, "LOW": 0},
        scan_completed_at=datetime(2019, 10, 29, 2, 36, 48, tzinfo=UTC),
    )
    assert result.display_name == result.image_digest  # untagged


def test_display_name_joins_tags() -> None:
    event = load(ECR_COMPLETE)
    event["detail"]["image-tags"] = ["1.2.3", "latest"]
    result = events.parse(event)
    assert result.image_tags == ("1.2.3", "latest")
    assert result.display_name == "1.2.3, latest"


def test_ecr_failed_event_without_counts() -> None:
    result = events.parse(load(ECR_FAILED))
    assert result.status == events.FAILED
    assert result.image_tags == ("1.2.3",)
    assert dict(result.severity_counts) == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0}


def test_inspector_event_repository_arn_with_slashes_and_total_dropped() -> None:
    result = events.parse(load(INSPECTOR_ECR_GUIDE))
    assert (result.source, result.status) == ("inspector2", "COMPLETE")
    assert result.repository == "amazon/amazon-ecs-sample"
    assert (result.registry_id, result.region) == ("123456789012", "eu-west-1")
    assert dict(result.severity_counts) == {"CRITICAL": 7, "HIGH": 61, "MEDIUM": 62}  # no LOW: not reported
    assert result.image_tags == ("latest",)
    assert result.scan_completed_at == datetime(2021, 12, 3, 18, 3, 16, tzinfo=UTC)


def test_inspector_guide_ecr_event() -> None:
    result = events.parse(load(INSPECTOR_GUIDE_ECR))
    assert (result.repository, result.registry_id, result.region) == ("inspector2", "111122223333", "us-east-1")
    assert dict(result.severity_counts) == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0}  # LOW absent, never 0


def test_repository_arn_wins_over_the_envelope() -> None:
    event = load(INSPECTOR_ECR_GUIDE)
    event["account"], event["region"] = "999999999999", "us-west-2"
    event["detail"]["repository-name"] = "arn:aws-cn:ecr:cn-north-1:210987654321:repository/a/b/c"
    result = events.parse(event)
    assert (result.repository, result.registry_id, result.region) == ("a/b/c", "210987654321", "cn-north-1")


def test_counts_are_upper_cased_and_limited_to_ecr_severities() -> None:
    event = load(ECR_COMPLETE)
    event["detail"]["finding-severity-counts"] = {"critical": 1, "Low": 4, "INFORMATIONAL": 2, "UNTRIAGED": 9}
    counts = events.parse(event).severity_counts
    assert dict(counts) == {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 4, "INFORMATIONAL": 2}
    assert list(counts) == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]


@pytest.mark.parametrize(
    "counts",
    [
        {"CRITICAL": 5, "critical": 0},
        {"critical": 0, "CRITICAL": 5},
        {"Critical": 0, "CRITICAL": 5, "critical": 2},
    ],
)
def test_case_folded_duplicate_counts_cannot_hide_a_breach(counts: dict[str, int]) -> None:
    event = load(ECR_COMPLETE)
    event["detail"]["finding-severity-counts"] = counts
    assert events.parse(event).severity_counts["CRITICAL"] == 5


def test_a_bad_value_under_a_duplicate_key_is_still_malformed() -> None:
    event = load(ECR_COMPLETE)
    event["detail"]["finding-severity-counts"] = {"CRITICAL": 5, "critical": -1}
    with pytest.raises(MalformedEvent, match=r"counts\.critical must be a non-negative integer"):
        events.parse(event)


def test_result_is_immutable() -> None:
    result = events.parse(load(ECR_COMPLETE))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.repository = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.severity_counts["CRITICAL"] = 0  # type: ignore[index]


def test_event_time_with_offset_is_normalised_to_utc() -> None:
    event = load(ECR_COMPLETE)
    event["time"] = "2024-03-01T12:00:00+02:00"
    assert events.parse(event).scan_completed_at == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


def test_a_complete_scan_without_counts_has_no_findings() -> None:
    """AWS reports a severity only when it has findings: a clean image may come without the counts object."""
    event = load(ECR_COMPLETE)
    del event["detail"]["finding-severity-counts"]
    result = events.parse(event)
    assert result.status == events.COMPLETE
    assert dict(result.severity_counts) == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0}


@pytest.mark.parametrize(
    ("fixture", "raw"), [(INSPECTOR_ECR_GUIDE, "SCAN_ELIGIBILITY_EXPIRED"), (ECR_COMPLETE, "Pending")]
)
def test_other_statuses_are_kept_and_need_no_counts(fixture: str, raw: str) -> None:
    event = load(fixture)
    event["detail"]["scan-status"] = raw
    del event["detail"]["finding-severity-counts"]
    assert events.parse(event).status == raw.upper()


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda e: e.update(source="aws.s3"), "source 'aws.s3'"),
        (lambda e: e.update({"detail-type": "ECR Image Action"}), "detail-type 'ECR Image Action'"),
        (lambda e: e.update({"detail-type": "Inspector2 Scan"}), "detail-type 'Inspector2 Scan'"),
    ],
)
def test_events_of_other_kinds_are_unsupported(mutate: Any, problem: str) -> None:
    event = load(ECR_COMPLETE)
    mutate(event)
    with pytest.raises(UnsupportedEvent, match=problem):
        events.parse(event)


def test_inspector_scan_of_an_ec2_instance_is_unsupported() -> None:
    with pytest.raises(UnsupportedEvent, match="not for an ECR image"):
        events.parse(load(INSPECTOR_GUIDE_EC2))


def test_inspector_event_with_an_image_digest_but_no_repository_is_malformed_not_unsupported() -> None:
    """Either field says "an ECR image": a missing repository then is a broken event to report, not one to skip."""
    event = load(INSPECTOR_ECR_GUIDE)
    del event["detail"]["repository-name"]
    with pytest.raises(MalformedEvent, match=r"detail\.repository-name is missing"):
        events.parse(event)
    event = load(INSPECTOR_ECR_GUIDE)
    del event["detail"]["image-digest"]
    with pytest.raises(MalformedEvent, match=r"detail\.image-digest is missing"):
        events.parse(event)
    del event["detail"]["repository-name"]
    with pytest.raises(UnsupportedEvent, match="not for an ECR image"):
        events.parse(event)


def _without(path: str) -> Any:
    def mutate(event: dict[str, Any]) -> None:
        *parents, key = path.split(".")
        target = event
        for parent in parents:
            target = target[parent]
        del target[key]

    return mutate


def _set(path: str, value: Any) -> Any:
    def mutate(event: dict[str, Any]) -> None:
        *parents, key = path.split(".")
        target = event
        for parent in parents:
            target = target[parent]
        target[key] = value

    return mutate


MALFORMED = [
    pytest.param(_without("detail"), "detail is missing", id="missing-detail"),
    pytest.param(_set("detail", ["x"]), "detail is not an object", id="detail-list"),
    pytest.param(_without("source"), "event.source is missing", id="missing-source"),
    pytest.param(_without("detail.scan-status"), "detail.scan-status is missing", id="missing-status"),
    pytest.param(_set("detail.scan-status", 1), "detail.scan-status must be a non-empty string", id="status-int"),
    pytest.param(_without("detail.image-digest"), "detail.image-digest is missing", id="missing-digest"),
    pytest.param(_set("detail.image-digest", ""), "detail.image-digest must be a non-empty string", id="empty-digest"),
    pytest.param(_set("detail.image-digest", 42), "detail.image-digest must be a non-empty string", id="digest-int"),
    pytest.param(_without("detail.repository-name"), "detail.repository-name is missing", id="missing-repository"),
    pytest.param(
        _set("detail.repository-name", ["team/app"]), "detail.repository-name must be a non-empty", id="repo-list"
    ),
    pytest.param(
        _set("detail.repository-name", "arn:aws:s3:::bucket"), "not an ECR repository ARN", id="repo-foreign-arn"
    ),
    pytest.param(
        _set("detail.finding-severity-counts", [10, 9]), "finding-severity-counts must be an object", id="counts-list"
    ),
    pytest.param(
        _set("detail.finding-severity-counts", "CRITICAL=1"),
        "finding-severity-counts must be an object",
        id="counts-str",
    ),
    pytest.param(
        _set("detail.finding-severity-counts", {"HIGH": "3"}), "counts.HIGH must be a non-negative", id="count-str"
    ),
    pytest.param(
        _set("detail.finding-severity-counts", {"LOW": -1}), "counts.LOW must be a non-negative", id="count-negative"
    ),
    pytest.param(
        _set("detail.finding-severity-counts", {"CRITICAL": True}), "counts.CRITICAL must be", id="count-bool"
    ),
    pytest.param(_set("detail.image-tags", "latest"), "detail.image-tags must be a list", id="tags-str"),
    pytest.param(_set("detail.image-tags", ["ok", 7]), "detail.image-tags must be a list", id="tags-int"),
    pytest.param(_without("time"), "event.time is missing", id="missing-time"),
    pytest.param(_set("time", "yesterday"), "event.time 'yesterday' is not an ISO-8601", id="bad-time"),
    pytest.param(_without("account"), "event.account is missing", id="missing-account"),
    pytest.param(_set("account", "12345"), "event.account '12345' is not a 12-digit", id="bad-account"),
    pytest.param(_without("region"), "event.region is missing", id="missing-region"),
]


@pytest.mark.parametrize(("mutate", "problem"), MALFORMED)
def test_malformed_events_name_the_problem(mutate: Any, problem: str) -> None:
    event = load(ECR_COMPLETE)
    mutate(event)
    with pytest.raises(MalformedEvent) as caught:
        events.parse(event)
    assert problem in str(caught.value)


@pytest.mark.parametrize("event", [None, "not an event", ["list"], 3])
def test_non_object_events_are_malformed(event: Any) -> None:
    with pytest.raises(MalformedEvent, match="event must be a JSON object"):
        events.parse(event)
