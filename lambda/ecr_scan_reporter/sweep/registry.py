"""Reading ECR: repositories and images as a stream of typed records, and the per-image last-scan lookup.

Nothing here decides anything; it turns API pages into records (:class:`RepositoryRecord`,
:class:`ImageRecord`) and AWS error codes into two exceptions callers care about (:class:`RepositoryNotFound`,
:class:`ImageNotFound`). Any other ``ClientError`` propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.sweep.freshness import ScanState

PAGE_SIZE = 1000  # the DescribeImages / DescribeRepositories maximum


class RepositoryNotFound(LookupError):
    """The repository does not exist (any more)."""


class ImageNotFound(LookupError):
    """The image does not exist (any more)."""


@dataclass(frozen=True, slots=True)
class RepositoryRecord:
    name: str
    registry_id: str
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One DescribeImages ``imageDetail``. ``scan`` is None when DescribeImages carried no scan fields (basic
    AWS_NATIVE scanning leaves them out): ask :func:`last_scan` then."""

    repository: str
    registry_id: str | None
    digest: str
    tags: tuple[str, ...] = ()
    pushed_at: datetime | None = None
    last_pulled_at: datetime | None = None
    image_status: str | None = None
    scan: ScanState | None = None
    manifest_media_type: str | None = None  # imageManifestMediaType
    artifact_media_type: str | None = None  # artifactMediaType (core/scannable.py: is it an image ECR can scan?)

    @classmethod
    def from_detail(cls, detail: dict[str, Any], listed_scans: bool | None = None) -> ImageRecord:
        """``listed_scans`` (see :func:`scans_listed`): True when DescribeImages carries every image's scan, so an
        image without scan fields was never scanned; False when it carries none (fields, if any, are stale and
        ignored); None when unknown (fields are trusted when present, else the scan is looked up)."""
        scan = None
        if listed_scans is not False and ("imageScanStatus" in detail or "imageScanFindingsSummary" in detail):
            scan = ScanState(
                status=(detail.get("imageScanStatus") or {}).get("status"),
                completed_at=(detail.get("imageScanFindingsSummary") or {}).get("imageScanCompletedAt"),
            )
        elif listed_scans:
            scan = ScanState()
        return cls(
            repository=detail["repositoryName"],
            registry_id=detail.get("registryId"),
            digest=detail["imageDigest"],
            tags=tuple(detail.get("imageTags") or ()),
            pushed_at=detail.get("imagePushedAt"),
            last_pulled_at=detail.get("lastRecordedPullTime"),
            image_status=detail.get("imageStatus"),
            scan=scan,
            manifest_media_type=detail.get("imageManifestMediaType"),
            artifact_media_type=detail.get("artifactMediaType"),
        )


@dataclass(frozen=True, slots=True)
class ImagePage:
    """One DescribeImages page: ``token`` fetched it (None = first page), ``next_token`` fetches the next."""

    token: str | None
    images: tuple[ImageRecord, ...]
    next_token: str | None


#: Error codes that mean "slow down" (botocore's own throttling list, less LimitExceededException, which ECR's
#: StartImageScan uses for its quotas). botocore retries them first; one that is left after every retry is final.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def throttled(exc: BaseException) -> bool:
    """Is ``exc`` an AWS throttling error (what is left once botocore's retries gave up)?"""
    return isinstance(exc, ClientError) and error_code(exc) in THROTTLING_CODES


def iter_repositories(ecr: Any, registry_id: str | None = None) -> Iterator[RepositoryRecord]:
    """Every repository of the registry, streamed page by page (DescribeRepositories paginator)."""
    kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": PAGE_SIZE}}
    if registry_id:
        kwargs["registryId"] = registry_id
    for page in ecr.get_paginator("describe_repositories").paginate(**kwargs):
        for repo in page.get("repositories", []):
            yield RepositoryRecord(repo["repositoryName"], repo["registryId"], repo.get("repositoryUri"))


def iter_image_pages(
    ecr: Any,
    repository: str,
    registry_id: str | None = None,
    start_token: str | None = None,
    listed_scans: bool | None = None,
) -> Iterator[ImagePage]:
    """The repository's images, one DescribeImages page (<= 1000 images) at a time, from ``start_token``.

    Read by hand rather than with a botocore paginator because the raw ``nextToken`` of each page is what a
    continuation carries. Raises :class:`RepositoryNotFound`.
    """
    token = start_token
    while True:
        kwargs: dict[str, Any] = {"repositoryName": repository, "maxResults": PAGE_SIZE}
        if registry_id:
            kwargs["registryId"] = registry_id
        if token:
            kwargs["nextToken"] = token
        try:
            response = ecr.describe_images(**kwargs)
        except ClientError as exc:
            if error_code(exc) == "RepositoryNotFoundException":
                raise RepositoryNotFound(repository) from exc
            raise
        images = tuple(ImageRecord.from_detail(d, listed_scans) for d in response.get("imageDetails", []))
        next_token = response.get("nextToken") or None
        yield ImagePage(token, images, next_token)
        if next_token is None:
            return
        token = next_token


def iter_images(
    ecr: Any, repository: str, registry_id: str | None = None, listed_scans: bool | None = None
) -> Iterator[ImageRecord]:
    """Every image of the repository, streamed (memory stays at one page)."""
    for page in iter_image_pages(ecr, repository, registry_id, listed_scans=listed_scans):
        yield from page.images


def last_scan(ecr: Any, image: ImageRecord) -> ScanState:
    """The image's latest scan: from its DescribeImages fields when present, else one DescribeImageScanFindings
    call (by digest, maxResults=1). ScanNotFoundException means never scanned. Raises :class:`ImageNotFound`,
    :class:`RepositoryNotFound`."""
    if image.scan is not None:
        return image.scan
    kwargs: dict[str, Any] = {
        "repositoryName": image.repository,
        "imageId": {"imageDigest": image.digest},
        "maxResults": 1,
    }
    if image.registry_id:
        kwargs["registryId"] = image.registry_id
    try:
        response = ecr.describe_image_scan_findings(**kwargs)
    except ClientError as exc:
        code = error_code(exc)
        if code == "ScanNotFoundException":
            return ScanState()
        if code == "ImageNotFoundException":
            raise ImageNotFound(image.digest) from exc
        if code == "RepositoryNotFoundException":
            raise RepositoryNotFound(image.repository) from exc
        raise
    return ScanState(
        status=(response.get("imageScanStatus") or {}).get("status"),
        completed_at=(response.get("imageScanFindings") or {}).get("imageScanCompletedAt"),
    )


def registry_scan_type(ecr: Any) -> str:
    """``BASIC`` or ``ENHANCED`` (GetRegistryScanningConfiguration)."""
    config = ecr.get_registry_scanning_configuration().get("scanningConfiguration") or {}
    return str(config.get("scanType") or "BASIC").upper()


def scans_listed(ecr: Any) -> bool | None:
    """Does DescribeImages carry each image's basic scan? From the account setting ``BASIC_SCAN_TYPE_VERSION``:
    CLAIR lists every scan (no scan fields = never scanned): True; AWS_NATIVE lists none (results only through
    DescribeImageScanFindings): False; unreadable (no ecr:GetAccountSetting, an emulator without it): None.
    An optimisation probe: pass a client with few retry attempts, since every failure means "unknown"."""
    try:
        value = ecr.get_account_setting(name="BASIC_SCAN_TYPE_VERSION").get("value")
    except (ClientError, BotoCoreError, NotImplementedError):
        return None
    return {"CLAIR": True, "AWS_NATIVE": False}.get(str(value or "").upper())
