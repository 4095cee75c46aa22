"""events: ``Inspector2 Finding`` events (continuous enhanced scanning) and Inspector's missing LOW count.

Fixtures (tests/unit/fixtures/events/): ecr-enhanced-events-doc_inspector2-finding.json (Amazon ECR User Guide,
event for an image scan finding update, verbatim: its resource region is "N/A") and
inspector-eventbridge-doc_inspector2-finding-ecr.json (Amazon Inspector User Guide, "Amazon ECR package
vulnerability finding", verbatim); the EC2 sample of the same page is built from the ECR one's envelope.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecr_scan_reporter.alerts import events, thresholds
from ecr_scan_reporter.alerts.events import FindingEvent, MalformedEvent, ScanResult, UnsupportedEvent

FIXTURES = Path(__file__).parents[1] / "fixtures" / "events"
ECR_GUIDE = "ecr-enhanced-events-doc_inspector2-finding.json"
INSPECTOR_GUIDE = "inspector-eventbridge-doc_inspector2-finding-ecr.json"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def test_ecr_guide_finding_event() -> None:
    parsed = events.parse_any(load(ECR_GUIDE))
    assert parsed == FindingEvent(
        repository="amazon/amazon-ecs-sample",
        registry_id="123456789012",
        region="us-east-2",  # the resource says "N/A": the envelope's region
        image_digest="sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE",
        image_tags=("latest",),
        finding_id="CVE-2019-17498",
        severity="MEDIUM",
        status="ACTIVE",
        finding_arn="arn:aws:inspector2:us-east-2:123456789012:finding/be674aaddd0f75ac632055EXAMPLE",
        time=datetime(2021, 12, 3, 18, 2, 30, tzinfo=UTC),
    )
    assert parsed.image_key == ("us-east-2", "123456789012", "amazon/amazon-ecs-sample", parsed.image_digest)


def test_inspector_guide_finding_event() -> None:
    parsed = events.parse_finding_event(load(INSPECTOR_GUIDE))
    assert (parsed.repository, parsed.region, parsed.image_tags) == ("inspector2", "eu-central-1", ("ubuntu_latest",))
    assert (parsed.finding_id, parsed.severity, parsed.status) == ("CVE-2024-6119", "MEDIUM", "ACTIVE")


def test_a_closed_finding_is_parsed_as_closed() -> None:
    event = load(INSPECTOR_GUIDE)
    event["detail"]["status"] = "closed"
    assert events.parse_finding_event(event).status == "CLOSED"


def test_finding_about_an_ec2_instance_is_unsupported() -> None:
    event = load(INSPECTOR_GUIDE)
    event["detail"]["resources"] = [{"type": "AWS_EC2_INSTANCE", "id": "i-12345678901234567", "details": {}}]
    with pytest.raises(UnsupportedEvent, match=r"not about an ECR image \(resources: AWS_EC2_INSTANCE\)"):
        events.parse_any(event)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("resources"), "detail.resources must be a list"),
        (lambda d: d["resources"][0]["details"].pop("awsEcrContainerImage"), "awsEcrContainerImage is missing"),
        (lambda d: d["resources"][0]["details"]["awsEcrContainerImage"].pop("imageHash"), "imageHash is missing"),
        (lambda d: d["resources"][0]["details"]["awsEcrContainerImage"].update(registry="abc"), "12-digit"),
        (lambda d: d["resources"][0]["details"]["awsEcrContainerImage"].update(imageTags=[""]), "imageTags"),
        (lambda d: d.pop("severity"), "detail.severity is missing"),
        (lambda d: (d.pop("packageVulnerabilityDetails"), d.pop("title")), "neither"),
    ],
)
def test_malformed_finding_events_name_the_field(change: Any, message: str) -> None:
    event = load(INSPECTOR_GUIDE)
    change(event["detail"])
    with pytest.raises(MalformedEvent, match=message):
        events.parse_finding_event(event)


def test_scan_events_still_go_to_parse() -> None:
    event = load("inspector-eventbridge-doc_inspector2-scan-ecr-initial.json")
    assert isinstance(events.parse_any(event), ScanResult)


def test_inspector_scan_low_is_absent_never_zero_and_cannot_breach_by_accident() -> None:
    result = events.parse(load("ecr-enhanced-events-doc_inspector2-scan-initial.json"))
    assert "LOW" not in result.severity_counts
    assert thresholds.evaluate_thresholds(result.severity_counts, {"LOW": 0}) == []


def test_an_inspector_scan_that_reports_low_keeps_it() -> None:
    event = load("ecr-enhanced-events-doc_inspector2-scan-initial.json")
    event["detail"]["finding-severity-counts"]["LOW"] = 4
    assert events.parse(event).severity_counts["LOW"] == 4
