"""Reading ECR (sweep/registry.py): typed records streamed from pages, and the per-image last-scan lookup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.stub import Stubber
from conftest import ACCOUNT
from ecr_fakes import NOW, FakeEcr, FakeImage, digest, fake_images, push

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.sweep import registry
from ecr_scan_reporter.sweep.freshness import ScanState


@pytest.mark.usefixtures("moto")
def test_repositories_are_streamed_as_records() -> None:
    ecr = aws.client("ecr")
    for name in ("team/app", "team/api", "infra/proxy"):
        ecr.create_repository(repositoryName=name)
    records = list(registry.iter_repositories(ecr))
    assert {r.name for r in records} == {"team/app", "team/api", "infra/proxy"}
    assert {r.registry_id for r in records} == {ACCOUNT}


def test_images_are_read_a_page_of_1000_at_a_time() -> None:
    ecr = FakeEcr(fake_images(1050))
    pages = list(registry.iter_image_pages(ecr, "app"))
    assert [len(p.images) for p in pages] == [1000, 50]
    assert ecr.max_results == [1000, 1000]
    assert pages[0].token is None
    assert pages[1].token == pages[0].next_token == "token-1000"
    assert pages[1].next_token is None
    assert [i.digest for p in pages for i in p.images] == [digest(i) for i in range(1050)]


def test_image_pages_resume_from_a_token() -> None:
    ecr = FakeEcr(fake_images(2500))
    pages = list(registry.iter_image_pages(ecr, "app", start_token="token-2000"))
    assert [(p.token, len(p.images)) for p in pages] == [("token-2000", 500)]


@pytest.mark.usefixtures("moto")
def test_untagged_image_record_and_moto_fallback_lookup() -> None:
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/app")
    untagged = push(ecr, "team/app", 1)
    [image] = registry.iter_images(ecr, "team/app")
    assert image.digest == untagged
    assert image.tags == ()
    assert image.registry_id == ACCOUNT
    assert image.scan is None  # moto, like basic AWS_NATIVE scanning, leaves DescribeImages' scan fields empty
    assert registry.last_scan(ecr, image) == ScanState()  # ScanNotFoundException: never scanned
    ecr.start_image_scan(repositoryName="team/app", imageId={"imageDigest": untagged})
    state = registry.last_scan(ecr, image)
    assert state.status == "COMPLETE"
    assert state.completed_at is not None


@pytest.mark.usefixtures("moto")
def test_lookup_of_a_deleted_image_or_repository() -> None:
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/app")
    ghost = registry.ImageRecord("team/app", ACCOUNT, digest(99))
    with pytest.raises(registry.ImageNotFound):
        registry.last_scan(ecr, ghost)
    with pytest.raises(registry.RepositoryNotFound):
        list(registry.iter_image_pages(ecr, "team/gone"))
    with pytest.raises(registry.RepositoryNotFound):
        registry.last_scan(ecr, registry.ImageRecord("team/gone", ACCOUNT, digest(1)))


def test_scan_fields_of_describe_images_are_used_without_a_lookup() -> None:
    ecr = aws.client("ecr")
    completed, source_updated = NOW - timedelta(days=3), NOW - timedelta(hours=1)
    detail = {
        "registryId": ACCOUNT,
        "repositoryName": "team/app",
        "imageDigest": digest(1),
        "imageTags": ["v1"],
        "imagePushedAt": NOW - timedelta(days=30),
        "lastRecordedPullTime": NOW - timedelta(days=2),
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindingsSummary": {
            "imageScanCompletedAt": completed,
            "vulnerabilitySourceUpdatedAt": source_updated,
            "findingSeverityCounts": {"HIGH": 1},
        },
    }
    with Stubber(ecr) as stub:
        stub.add_response(
            "describe_images", {"imageDetails": [detail]}, {"repositoryName": "team/app", "maxResults": 1000}
        )
        [image] = registry.iter_images(ecr, "team/app")
        # no DescribeImageScanFindings response is stubbed: a lookup call would raise here
        assert registry.last_scan(ecr, image) == ScanState("COMPLETE", completed)
        stub.assert_no_pending_responses()
    assert image.last_pulled_at == NOW - timedelta(days=2)
    assert image.tags == ("v1",)


def test_the_media_types_of_describe_images_are_read() -> None:
    """Issue 26: what tells an artifact from an image (core/scannable.py), as ECR's own API model names it (the
    Stubber refuses a field the model does not have)."""
    ecr = aws.client("ecr")
    detail = {
        "registryId": ACCOUNT,
        "repositoryName": "charts/app",
        "imageDigest": digest(1),
        "imageTags": ["1.2.3"],
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactMediaType": "application/vnd.cncf.helm.config.v1+json",
    }
    with Stubber(ecr) as stub:
        stub.add_response(
            "describe_images", {"imageDetails": [detail]}, {"repositoryName": "charts/app", "maxResults": 1000}
        )
        [image] = registry.iter_images(ecr, "charts/app")
    assert image.manifest_media_type == "application/vnd.oci.image.manifest.v1+json"
    assert image.artifact_media_type == "application/vnd.cncf.helm.config.v1+json"
    bare = registry.ImageRecord.from_detail({"repositoryName": "app", "imageDigest": digest(2)})
    assert (bare.manifest_media_type, bare.artifact_media_type) == (None, None)


@pytest.mark.usefixtures("moto")
def test_registry_scan_type() -> None:
    ecr = aws.client("ecr")
    assert registry.registry_scan_type(ecr) == "BASIC"
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[])
    assert registry.registry_scan_type(ecr) == "ENHANCED"


@pytest.mark.parametrize(
    ("setting", "listed"), [("CLAIR", True), ("AWS_NATIVE", False), ("aws_native", False), ("SOMETHING_NEW", None)]
)
def test_scans_listed_follows_the_basic_scan_type_setting(setting: str, listed: bool | None) -> None:
    ecr = aws.client("ecr")
    with Stubber(ecr) as stub:
        stub.add_response(
            "get_account_setting",
            {"name": "BASIC_SCAN_TYPE_VERSION", "value": setting},
            {"name": "BASIC_SCAN_TYPE_VERSION"},
        )
        assert registry.scans_listed(ecr) is listed


def test_scans_listed_is_unknown_when_the_setting_cannot_be_read() -> None:
    ecr = aws.client("ecr")
    with Stubber(ecr) as stub:
        stub.add_client_error("get_account_setting", "AccessDeniedException", "no ecr:GetAccountSetting")
        assert registry.scans_listed(ecr) is None


def test_listed_scans_decides_what_missing_or_present_scan_fields_mean() -> None:
    """Clair-style listings: no fields = never scanned, no lookup. AWS_NATIVE: fields are stale, look it up."""
    scanned = FakeImage(digest(1), scan_status="COMPLETE", scan_completed_at=NOW - timedelta(days=2))
    never = FakeImage(digest(2))
    ecr = FakeEcr([scanned, never], scan_fields=True)

    images = list(registry.iter_images(ecr, "app", listed_scans=True))
    assert [registry.last_scan(ecr, image) for image in images] == [
        ScanState("COMPLETE", scanned.scan_completed_at),
        ScanState(),
    ]
    assert ecr.calls["describe_image_scan_findings"] == 0

    images = list(registry.iter_images(ecr, "app", listed_scans=False))
    assert all(image.scan is None for image in images)
    assert [registry.last_scan(ecr, image).status for image in images] == ["COMPLETE", None]
    assert ecr.calls["describe_image_scan_findings"] == 2

    images = list(registry.iter_images(ecr, "app"))  # unknown: trust fields when present, else look up
    assert images[0].scan == ScanState("COMPLETE", scanned.scan_completed_at)
    assert images[1].scan is None


def test_the_paging_fake_fails_loudly_when_a_caller_does_not_page() -> None:
    """A loop that drops or never updates nextToken must fail the test, not hang it."""
    ecr = FakeEcr(fake_images(3))
    assert ecr.describe_images(repositoryName="app", maxResults=1)["nextToken"] == "token-1"
    with pytest.raises(AssertionError, match="does not page"):
        ecr.describe_images(repositoryName="app", maxResults=1)

    ecr = FakeEcr(fake_images(3), resumable=True)  # a sweep in parts: each part resumes in the page it stopped in
    ecr.describe_images(repositoryName="app", maxResults=2)
    ecr.describe_images(repositoryName="app", maxResults=2)
    ecr.describe_images(repositoryName="app", maxResults=2)  # ...at most once per image of the page...
    with pytest.raises(AssertionError, match="asked 4 times in a row"):
        ecr.describe_images(repositoryName="app", maxResults=2)
    ecr.describe_images(repositoryName="app", maxResults=2, nextToken="token-2")  # following the token is fine
    for forged in ("token-0", "token-3", "token-x", "next"):
        with pytest.raises(AssertionError, match="never hands out"):
            ecr.describe_images(repositoryName="app", maxResults=1, nextToken=forged)
