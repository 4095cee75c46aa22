"""findings: reading an image's findings (ECR basic, ECR enhanced, Inspector) into typed records.

Fixtures (named after the page they follow):
- tests/unit/fixtures/api/ecr-api-doc_describe-image-scan-findings-basic.json: Amazon ECR API Reference,
  DescribeImageScanFindings, "Example" sample response (verbatim body).
- tests/unit/fixtures/api/ecr-api-doc_describe-image-scan-findings-enhanced.json: the same page, "Example for
  enhanced image scanning" sample response (verbatim body, minus two trailing commas that made it invalid JSON).
- tests/unit/fixtures/events/ecr-enhanced-events-doc_inspector2-finding.json: Amazon ECR User Guide, event for an
  image scan finding update (enhanced scanning); inspector-eventbridge-doc_inspector2-finding-ecr.json: Amazon
  Inspector User Guide, "Amazon ECR package vulnerability finding". Their ``detail`` is an Inspector finding, the
  shape ListFindings returns (the API gives timestamps as datetimes where the event shows display strings).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION

from ecr_scan_reporter.alerts import findings
from ecr_scan_reporter.alerts.findings import Finding, FindingsNotFound

FIXTURES = Path(__file__).parents[1] / "fixtures"
DIGEST = "sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6"


def api(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "api" / f"ecr-api-doc_describe-image-scan-findings-{name}.json").read_text())


def event_detail(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "events" / name).read_text())["detail"]


class PagedEcr:
    """DescribeImageScanFindings over prepared pages, recording every request."""

    def __init__(self, pages: list[dict[str, Any]], error: ClientError | None = None) -> None:
        self.pages, self.error, self.requests = pages, error, []

    def describe_image_scan_findings(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self.error:
            raise self.error
        index = int(request.get("nextToken", "page-0").removeprefix("page-"))
        page = copy.deepcopy(self.pages[index])
        if index + 1 < len(self.pages):
            page["nextToken"] = f"page-{index + 1}"
        return page


class PagedInspector:
    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages, self.requests = pages, []

    def list_findings(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        index = int(request.get("nextToken", "0"))
        page: dict[str, Any] = {"findings": copy.deepcopy(self.pages[index])}
        if index + 1 < len(self.pages):
            page["nextToken"] = str(index + 1)
        return page


def test_basic_scan_sample() -> None:
    ecr = PagedEcr([api("basic")])
    result = findings.read_image_findings(ecr, "012345678910", "sample-repo", DIGEST)

    assert result.findings == (
        Finding(
            id="CVE-2019-5188",
            severity="MEDIUM",
            package_name="e2fsprogs",
            package_version="1.44.1-1ubuntu1.1",
            fixed_in=None,
            url="http://people.ubuntu.com/~ubuntu-security/cve/CVE-2019-5188",
            score=4.6,
            origin="basic",
        ),
    )
    assert result.status == "COMPLETE"
    assert result.completed_at == datetime(2020, 1, 24, 4, 11, 45, tzinfo=UTC)
    assert dict(result.severity_counts) == {"MEDIUM": 1}
    assert result.failure_reason is None
    assert result.total == 1
    assert ecr.requests == [
        {
            "repositoryName": "sample-repo",
            "registryId": "012345678910",
            "imageId": {"imageDigest": DIGEST},
            "maxResults": 1000,
        }
    ]


def test_enhanced_scan_sample() -> None:
    result = findings.read_image_findings(PagedEcr([api("enhanced")]), "123456789012", "sample-repo", DIGEST)

    (finding,) = result.findings
    assert finding == Finding(
        id="CVE-2022-49043",
        severity="HIGH",
        package_name="libxml2",
        package_version="2.9.14+dfsg",
        fixed_in=None,  # "NotAvailable"
        url="https://security-tracker.debian.org/tracker/CVE-2022-49043",
        score=8.1,
        epss=None,
        origin="enhanced",
        finding_arn="arn:aws:inspector2:us-west-2:123456789012:finding/123456789012123456789012",
        fix_available=False,  # "fixAvailable": "NO"
        exploit_available=False,
    )
    assert result.status == "ACTIVE"
    assert result.completed_at == datetime(2025, 6, 9, 7, 8, 40, 144000, tzinfo=UTC)
    assert dict(result.severity_counts) == {"HIGH": 1}
    assert result.failure_reason is None


def test_basic_prefers_cvss3_and_reads_both_lists_of_one_page() -> None:
    page = api("basic")
    page["imageScanFindings"]["findings"][0]["attributes"].append({"key": "CVSS3_SCORE", "value": "7.8"})
    page["imageScanFindings"]["enhancedFindings"] = api("enhanced")["imageScanFindings"]["enhancedFindings"]

    result = findings.read_image_findings(PagedEcr([page]), None, "sample-repo", DIGEST)

    assert [(f.id, f.origin, f.score) for f in result.findings] == [
        ("CVE-2019-5188", "basic", 7.8),
        ("CVE-2022-49043", "enhanced", 8.1),
    ]


def test_every_page_is_read_by_digest_without_a_registry_when_none_given() -> None:
    def page(first: int) -> dict[str, Any]:
        body = api("basic")
        template = body["imageScanFindings"]["findings"][0]
        names = [f"CVE-2024-{n:05d}" for n in range(first, first + 1000)]
        body["imageScanFindings"]["findings"] = [{**template, "name": name} for name in names]
        return body

    ecr = PagedEcr([page(0), page(1000), page(2000)])
    result = findings.read_image_findings(ecr, None, "sample-repo", DIGEST)

    assert [f.id for f in result.findings] == [f"CVE-2024-{n:05d}" for n in range(3000)]
    assert [r.get("nextToken") for r in ecr.requests] == [None, "page-1", "page-2"]
    assert all("registryId" not in r and r["imageId"] == {"imageDigest": DIGEST} for r in ecr.requests)


def test_a_repeated_next_token_stops_with_an_error() -> None:
    class Looping(PagedEcr):
        def describe_image_scan_findings(self, **request: Any) -> dict[str, Any]:
            self.requests.append(request)
            return {**api("basic"), "nextToken": "same"}

    ecr = Looping([])
    with pytest.raises(RuntimeError, match="same nextToken twice"):
        findings.read_image_findings(ecr, None, "sample-repo", DIGEST)
    assert len(ecr.requests) == 2


def test_failed_scan_gives_its_reason() -> None:
    body = {"imageScanStatus": {"status": "FAILED", "description": "UnsupportedImageError: no package manager"}}
    result = findings.read_image_findings(PagedEcr([body]), None, "sample-repo", DIGEST)
    assert (result.status, result.failure_reason, result.findings) == (
        "FAILED",
        "UnsupportedImageError: no package manager",
        (),
    )
    assert dict(result.severity_counts) == {}
    assert result.completed_at is None


@pytest.mark.parametrize("code", ["ScanNotFoundException", "ImageNotFoundException", "RepositoryNotFoundException"])
def test_missing_scan_image_or_repository(code: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "gone"}}, "DescribeImageScanFindings")
    with pytest.raises(FindingsNotFound, match=code):
        findings.read_image_findings(PagedEcr([], error=error), None, "sample-repo", DIGEST)


def test_other_errors_propagate() -> None:
    error = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DescribeImageScanFindings")
    with pytest.raises(ClientError, match="ThrottlingException"):
        findings.read_image_findings(PagedEcr([], error=error), None, "sample-repo", DIGEST)


def test_inspector_event_details_parse_as_findings() -> None:
    ecr_guide = findings.parse_enhanced(event_detail("ecr-enhanced-events-doc_inspector2-finding.json"), "inspector2")
    inspector_guide = findings.parse_enhanced(event_detail("inspector-eventbridge-doc_inspector2-finding-ecr.json"))

    assert ecr_guide == Finding(
        id="CVE-2019-17498",
        severity="MEDIUM",
        package_name="libssh2",
        package_version="1.4.3",
        fixed_in=None,
        url="https://access.redhat.com/security/cve/CVE-2019-17498",
        score=6.5,  # inspectorScore, not the highest CVSS (8.1)
        origin="inspector2",
        finding_arn="arn:aws:inspector2:us-east-2:123456789012:finding/be674aaddd0f75ac632055EXAMPLE",
    )
    assert (inspector_guide.id, inspector_guide.package_name, inspector_guide.package_version) == (
        "CVE-2024-6119",
        "libssl3t64, openssl",
        "3.0.13",
    )
    assert (inspector_guide.fixed_in, inspector_guide.epss) == ("0:3.0.13-0ubuntu3.4", 0.00045)
    assert inspector_guide.score is None  # no inspectorScore and an empty cvss list
    assert (inspector_guide.fix_available, inspector_guide.exploit_available) == (True, False)
    assert ecr_guide.fix_available is None  # the ECR guide's sample says nothing of fixes


@pytest.mark.parametrize(
    ("fix", "exploit", "expected"),
    [
        ("YES", "YES", (True, True)),
        ("PARTIAL", "NO", (True, False)),
        ("NO", None, (False, None)),
        (None, "?", (None, None)),
    ],
)
def test_fix_and_exploit_availability(fix: str | None, exploit: str | None, expected: tuple[Any, Any]) -> None:
    raw = {"severity": "HIGH", "fixAvailable": fix, "exploitAvailable": exploit}
    parsed = findings.parse_enhanced(raw, "inspector2")
    assert (parsed.fix_available, parsed.exploit_available) == expected


def test_score_falls_back_to_the_highest_cvss() -> None:
    detail = event_detail("ecr-enhanced-events-doc_inspector2-finding.json")
    del detail["inspectorScore"]
    assert findings.parse_enhanced(detail).score == 8.1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("critical", "CRITICAL"), ("UNTRIAGED", "UNDEFINED"), (None, "UNDEFINED"), ("informational", "INFORMATIONAL")],
)
def test_severity_names(raw: Any, expected: str) -> None:
    assert findings.severity(raw) == expected


def _inspector_finding(name: str, severity: str, updated: datetime, status: str = "ACTIVE") -> dict[str, Any]:
    detail = event_detail("inspector-eventbridge-doc_inspector2-finding-ecr.json")
    detail["packageVulnerabilityDetails"]["vulnerabilityId"] = name
    detail.update(severity=severity, status=status, updatedAt=updated, lastObservedAt=updated)
    return detail


def test_inspector_findings_of_one_image_every_page() -> None:
    day = datetime(2024, 9, 4, tzinfo=UTC)
    pages = [
        [
            _inspector_finding("CVE-1", "HIGH", day.replace(hour=1)),
            _inspector_finding("CVE-2", "LOW", day.replace(hour=3)),
        ],
        [
            _inspector_finding("CVE-3", "LOW", day.replace(hour=2)),
            _inspector_finding("CVE-4", "CRITICAL", day.replace(hour=9), status="CLOSED"),
        ],
    ]
    client = PagedInspector(pages)

    result = findings.read_inspector_findings(client, ACCOUNT, "team/app", DIGEST)

    assert [(f.id, f.severity, f.origin) for f in result.findings] == [
        ("CVE-1", "HIGH", "inspector2"),
        ("CVE-2", "LOW", "inspector2"),
        ("CVE-3", "LOW", "inspector2"),
    ]
    assert dict(result.severity_counts) == {"HIGH": 1, "LOW": 2}  # LOW is counted, CLOSED is not
    assert (result.status, result.completed_at, result.failure_reason) == ("ACTIVE", day.replace(hour=3), None)
    equals = lambda value: [{"comparison": "EQUALS", "value": value}]  # noqa: E731
    assert client.requests[0] == {
        "filterCriteria": {
            "resourceType": equals("AWS_ECR_CONTAINER_IMAGE"),
            "ecrImageRegistry": equals(ACCOUNT),
            "ecrImageRepositoryName": equals("team/app"),
            "ecrImageHash": equals(DIGEST),
            "findingStatus": equals("ACTIVE"),
        },
        "maxResults": 100,
    }
    assert [r.get("nextToken") for r in client.requests] == [None, "1"]


# --- against moto: the requests are valid for the real API models ------------------------------------------------


@pytest.fixture
def ecr_image(moto: None) -> tuple[Any, str]:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName="sample-repo")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + "c" * 64},
            "layers": [],
        }
    )
    digest = ecr.put_image(repositoryName="sample-repo", imageManifest=manifest, imageTag="1.0")["image"]["imageId"]
    return ecr, digest["imageDigest"]


def test_moto_basic_scan(ecr_image: tuple[Any, str]) -> None:
    ecr, digest = ecr_image
    ecr.start_image_scan(repositoryName="sample-repo", imageId={"imageDigest": digest})
    body = api("basic")
    body.update(registryId=ACCOUNT, imageId={"imageDigest": digest})
    url = "http://motoapi.amazonaws.com/moto-api/static/ecr/scan-finding-results"
    requests.post(url, json={"results": [body], "region": REGION, "account_id": ACCOUNT}, timeout=5).raise_for_status()

    result = findings.read_image_findings(ecr, ACCOUNT, "sample-repo", digest)

    assert [(f.id, f.package_name, f.score) for f in result.findings] == [("CVE-2019-5188", "e2fsprogs", 4.6)]
    assert result.status == "COMPLETE"


def test_moto_image_never_scanned(ecr_image: tuple[Any, str]) -> None:
    ecr, digest = ecr_image
    with pytest.raises(FindingsNotFound, match="ScanNotFoundException"):
        findings.read_image_findings(ecr, ACCOUNT, "sample-repo", digest)


def test_moto_inspector_list_findings(moto: None) -> None:
    detail = event_detail("inspector-eventbridge-doc_inspector2-finding-ecr.json")
    when = "2024-09-04T16:55:38Z"  # the API's form (the event shows display strings)
    detail.update(updatedAt=when, lastObservedAt=when, firstObservedAt=when)
    url = "http://motoapi.amazonaws.com/moto-api/static/inspector2/findings-results"
    payload = {"results": [[detail]], "region": REGION, "account_id": ACCOUNT}
    requests.post(url, json=payload, timeout=5).raise_for_status()

    client = boto3.client("inspector2", region_name=REGION)
    result = findings.read_inspector_findings(client, ACCOUNT, "inspector2", detail["resources"][0]["id"][-71:])

    (finding,) = result.findings
    assert (finding.id, finding.severity, finding.fixed_in) == ("CVE-2024-6119", "MEDIUM", "0:3.0.13-0ubuntu3.4")
    assert dict(result.severity_counts) == {"MEDIUM": 1}
