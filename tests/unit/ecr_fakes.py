"""Test helpers for the images stage: an in-memory ECR fake that pages like ECR (moto ignores maxResults and
never fills DescribeImages' scan fields), moto helpers, SQS event and Lambda context builders."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def digest(i: int) -> str:
    return f"sha256:{i:064x}"


#: ECR's own messages where the code alone is ambiguous (LimitExceededException: the per-image quota).
MESSAGES = {"LimitExceededException": "The scan quota per image has been exceeded. Wait and try again."}


def client_error(code: str, operation: str, message: str | None = None) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or MESSAGES.get(code, "test")}}, operation)


@dataclass
class FakeImage:
    digest: str
    tags: tuple[str, ...] = ()
    pushed_at: datetime = NOW - timedelta(days=1)
    pulled_at: datetime | None = None
    scan_status: str | None = None  # None: never scanned
    scan_completed_at: datetime | None = None
    image_status: str | None = None
    manifest_media_type: str | None = None  # DescribeImages imageManifestMediaType (None: left out, as moto does)
    artifact_media_type: str | None = None  # ... artifactMediaType


@dataclass
class FakeEcr:
    """The ECR calls the sweep makes. ``scan_fields`` puts scan status/time into DescribeImages (as ECR does
    outside basic AWS_NATIVE scanning). ``remember_scans`` False keeps scan state unchanged after
    StartImageScan, so a test sees every repeated start. ``resumable``: the test runs a sweep in parts (see
    :meth:`describe_images`)."""

    images: list[FakeImage]
    repository: str = "app"
    scan_fields: bool = False
    remember_scans: bool = True
    start_errors: dict[str, str] = field(default_factory=dict)
    scan_type: str = "BASIC"
    resumable: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    started: list[str] = field(default_factory=list)
    max_results: list[int] = field(default_factory=list)
    # paging checks (describe_images): the last request (token, nextToken, images) and how often it came in a row
    _last_request: tuple[str | None, str | None, int] | None = field(default=None, repr=False)
    _repeats: int = field(default=0, repr=False)

    def _check_repository(self, name: str, operation: str) -> None:
        if name != self.repository:
            raise client_error("RepositoryNotFoundException", operation)

    def _find(self, wanted: str, operation: str) -> FakeImage:
        for image in self.images:
            if image.digest == wanted:
                return image
        raise client_error("ImageNotFoundException", operation)

    def describe_images(self, repositoryName: str, maxResults: int, nextToken: str | None = None, **_: Any) -> Any:
        """A page of ``maxResults`` images. Fails the test loudly (AssertionError, which no product code catches)
        when the caller does not page: a token this fake never hands out, or the same page asked for again right
        after it handed out a ``nextToken`` (a loop that drops or never updates ``nextToken`` does that forever).
        With ``resumable`` (a sweep run in parts on this fake) a new part may ask again for the page the last
        part stopped in, as it should, handling at least one more of its images each time: so no more times in
        a row than the page has images."""
        self.calls["describe_images"] += 1
        self._check_repository(repositoryName, "DescribeImages")
        assert 1 <= maxResults <= 1000
        self.max_results.append(maxResults)
        if nextToken is not None and not self._valid_token(nextToken):
            raise AssertionError(f"DescribeImages got nextToken {nextToken!r}, which this fake never hands out")
        ignored = self._last_request is not None and self._last_request[1] is not None
        if ignored and self._last_request is not None and self._last_request[0] == nextToken:
            self._repeats += 1
            if self._repeats > (self._last_request[2] if self.resumable else 0):
                raise AssertionError(
                    f"DescribeImages asked {self._repeats + 1} times in a row for the page of nextToken "
                    f"{nextToken!r} and never for its nextToken {self._last_request[1]!r}: the caller does not page"
                )
        else:
            self._repeats = 0
        start = int(nextToken.removeprefix("token-")) if nextToken else 0
        page = self.images[start : start + maxResults]
        response: dict[str, Any] = {"imageDetails": [self._detail(image) for image in page]}
        if start + maxResults < len(self.images):
            response["nextToken"] = f"token-{start + maxResults}"
        self._last_request = (nextToken, response.get("nextToken"), len(page))
        return response

    def _valid_token(self, token: str) -> bool:
        """Tokens are ``token-<offset>`` for an offset inside the image list (what an earlier page handed out)."""
        offset = token.removeprefix("token-")
        return (
            token.startswith("token-") and offset.isascii() and offset.isdigit() and 0 < int(offset) < len(self.images)
        )

    def _detail(self, image: FakeImage) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "registryId": ACCOUNT,
            "repositoryName": self.repository,
            "imageDigest": image.digest,
            "imagePushedAt": image.pushed_at,
        }
        if image.tags:
            detail["imageTags"] = list(image.tags)
        if image.pulled_at:
            detail["lastRecordedPullTime"] = image.pulled_at
        if image.image_status:
            detail["imageStatus"] = image.image_status
        if image.manifest_media_type:
            detail["imageManifestMediaType"] = image.manifest_media_type
        if image.artifact_media_type:
            detail["artifactMediaType"] = image.artifact_media_type
        if self.scan_fields and image.scan_status:
            detail["imageScanStatus"] = {"status": image.scan_status}
            if image.scan_completed_at:
                detail["imageScanFindingsSummary"] = {
                    "imageScanCompletedAt": image.scan_completed_at,
                    "vulnerabilitySourceUpdatedAt": NOW,
                    "findingSeverityCounts": {},
                }
        return detail

    def describe_image_scan_findings(self, repositoryName: str, imageId: dict[str, str], **kwargs: Any) -> Any:
        self.calls["describe_image_scan_findings"] += 1
        self._check_repository(repositoryName, "DescribeImageScanFindings")
        assert kwargs.get("maxResults") == 1
        assert set(imageId) == {"imageDigest"}
        image = self._find(imageId["imageDigest"], "DescribeImageScanFindings")
        if image.scan_status is None:
            raise client_error("ScanNotFoundException", "DescribeImageScanFindings")
        findings: dict[str, Any] = {"vulnerabilitySourceUpdatedAt": NOW, "findings": []}
        if image.scan_completed_at:
            findings["imageScanCompletedAt"] = image.scan_completed_at
        return {"imageScanStatus": {"status": image.scan_status}, "imageScanFindings": findings}

    def start_image_scan(self, repositoryName: str, imageId: dict[str, str], **_: Any) -> Any:
        self.calls["start_image_scan"] += 1
        self._check_repository(repositoryName, "StartImageScan")
        assert set(imageId) == {"imageDigest"}, "scans are started by digest"
        wanted = imageId["imageDigest"]
        if wanted in self.start_errors:
            raise client_error(self.start_errors[wanted], "StartImageScan")
        image = self._find(wanted, "StartImageScan")
        self.started.append(wanted)
        if self.remember_scans:
            image.scan_status, image.scan_completed_at = "IN_PROGRESS", None
        return {"imageScanStatus": {"status": "IN_PROGRESS"}}

    def get_registry_scanning_configuration(self) -> Any:
        return {"registryId": ACCOUNT, "scanningConfiguration": {"scanType": self.scan_type, "rules": []}}


def fake_images(count: int, *, start: int = 0, **kwargs: Any) -> list[FakeImage]:
    return [FakeImage(digest(start + i), tags=(f"v{start + i}",), **kwargs) for i in range(count)]


# --- moto ---------------------------------------------------------------------------------------------------------


def manifest(i: int) -> str:
    """A distinct schemaVersion 2 Docker manifest (moto derives the digest from the layer digests)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1000,
                "digest": f"sha256:{2 * i:064x}",
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 2000,
                    "digest": f"sha256:{2 * i + 1:064x}",
                }
            ],
        }
    )


def push(ecr: Any, repository: str, i: int, tag: str | None = None) -> str:
    """PutImage a manifest (untagged when ``tag`` is None); returns the image digest."""
    kwargs: dict[str, Any] = {"repositoryName": repository, "imageManifest": manifest(i)}
    if tag is not None:
        kwargs["imageTag"] = tag
    return str(ecr.put_image(**kwargs)["image"]["imageId"]["imageDigest"])


def set_last_scan(repository: str, image_digest: str, when: datetime | None) -> None:
    """Set moto's record of an image's last scan (moto keeps a naive UTC time; None = never scanned)."""
    from moto.ecr.models import ecr_backends

    for image in ecr_backends[ACCOUNT][REGION].repositories[repository].images:
        if image.image_digest == image_digest:
            image.last_scan = None if when is None else when.astimezone(UTC).replace(tzinfo=None)
            return
    raise KeyError(image_digest)


def set_pushed_at(repository: str, image_digest: str, when: datetime) -> None:
    """Set moto's push time of an image (moto keeps whole epoch seconds, so images pushed together tie)."""
    from moto.ecr.models import ecr_backends

    for image in ecr_backends[ACCOUNT][REGION].repositories[repository].images:
        if image.image_digest == image_digest:
            image.image_pushed_at = int(when.timestamp())
            return
    raise KeyError(image_digest)


# --- Lambda ---------------------------------------------------------------------------------------------------------


class FakeContext:
    """A Lambda context whose remaining time runs out after ``calls`` reads (None: never)."""

    aws_request_id = "c0ffee00-0000-4000-8000-000000000000"
    function_name = "ecr-scan-reporter-images"

    def __init__(self, calls: int | None = None, plenty_ms: int = 600_000, low_ms: int = 1_000) -> None:
        self.left, self.plenty_ms, self.low_ms, self.reads = calls, plenty_ms, low_ms, 0

    def get_remaining_time_in_millis(self) -> int:
        self.reads += 1
        return self.plenty_ms if self.left is None or self.reads <= self.left else self.low_ms


def sqs_event(bodies: Iterable[str], queue: str = "ecr-scan-reporter-work") -> dict[str, Any]:
    """An SQS event as Lambda delivers it (one record per body; messageId ``m0``, ``m1``, ...)."""
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"AQEB{i}==",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1717243200000",
                    "SenderId": "AROAEXAMPLE:ecr-scan-reporter-repositories",
                    "ApproximateFirstReceiveTimestamp": "1717243200001",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for i, body in enumerate(bodies)
        ]
    }


def work_body(repository: str, continuation: Any = None, registry_id: str | None = ACCOUNT) -> str:
    return json.dumps(
        {"version": 1, "repository": repository, "registry_id": registry_id, "continuation": continuation}
    )
