"""moto's ECR, made to behave like ECR at scale: direct seeding, real pagination, optional scan status in
DescribeImages, and O(1) image look-ups.

moto 5.2.5 differs from ECR in ways that matter to a benchmark of API calls and memory:

- ``DescribeImages``, ``ListImages`` and ``DescribeRepositories`` ignore ``maxResults``/``nextToken`` and return
  everything in one response. ECR returns at most ``maxResults`` (1-1,000) items per page and 100 when it is not
  given. :func:`patched` adds exactly that, so pages are counted as ECR would bill them and a client that forgets
  ``PageSize=1000`` pays ten times the calls.
- ``DescribeImages`` never carries ``imageScanStatus``/``imageScanFindingsSummary`` (as with AWS_NATIVE basic
  scanning: the last scan must be read per image with ``DescribeImageScanFindings``). In the ``enriched`` scenario
  the patched response fills both from the image's scan state in moto's backend (``Image.last_scan``, the field
  moto's own ``StartImageScan`` writes and ``DescribeImageScanFindings`` reads), as ECR does for CLAIR basic
  scanning: status COMPLETE and ``imageScanCompletedAt`` for scanned images, nothing for never-scanned ones.
- ``Repository._get_image`` is a linear search, which makes per-image calls O(n) on a 20,000-image repository;
  it is replaced by an index with the same result (first image matching tag and/or digest).
- The per-image operations (``DescribeImages``, ``StartImageScan``, ``DescribeImageScanFindings``) call moto's
  backend as moto does but parse the request and render the JSON directly instead of through moto's generic
  request parser and serializer (same fields, same errors; several times faster), so that 100,000-image
  registries fit in a few minutes.
- ``GetAccountSetting(BASIC_SCAN_TYPE_VERSION)``, missing from moto, answers CLAIR in the enriched scenario and
  AWS_NATIVE otherwise, so a library that asks which basic scanning the registry uses gets a consistent answer.

Seeding writes moto's backend directly (``ecr_backends[account][region]``): ``PutImage`` through the API costs
about a millisecond per image plus a linear duplicate-manifest check, i.e. quadratic in a repository's size.
Scan state lives in ``Image.last_scan`` (naive local time, compared by calendar day for the once-a-day limit).
"""

from __future__ import annotations

import base64
import calendar
import contextlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from moto.core.botocore_stubber import BotocoreStubber
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr.exceptions import ImageNotFoundException, InvalidParameterException
from moto.ecr.models import Image, Repository, ecr_backends
from moto.ecr.responses import ECRResponse

from bench.truth import Registry

ACCOUNT = "123456789012"
REGION = "eu-west-1"
DEFAULT_PAGE = 100  # ECR's page size when maxResults is absent
MAX_PAGE = 1_000

# One shared manifest string: moto parses it for imageSizeInBytes; sharing keeps 120k images cheap in memory.
_MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": "sha256:c"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": "d"}],
    }
)
_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
_SIZE = 7023  # the manifest's config size, which moto reports as imageSizeInBytes


def seed(registry: Registry, create_repository: Any) -> float:
    """Create the repositories through ``create_repository(name)`` (the API) and their images in moto's backend.

    Returns the seconds spent on images."""
    backend = ecr_backends[ACCOUNT][REGION]
    started = time.perf_counter()
    for name, images in registry.repos.items():
        create_repository(name)
        repo = backend.repositories[name]
        for seeded in images:
            image = Image(ACCOUNT, None, _MANIFEST, name, _MEDIA_TYPE, seeded.digest)
            image.image_tags = list(seeded.tags)
            image.image_tag = seeded.tags[-1] if seeded.tags else None
            image.image_pushed_at = int(seeded.pushed_at.timestamp())
            image.last_scan = seeded.last_scan
            repo.images.append(image)
    return time.perf_counter() - started


def scanned_since(registry: Registry) -> set[tuple[str, str]]:
    """(repository, digest) of images whose moto scan state changed since seeding (i.e. a scan was started)."""
    backend = ecr_backends[ACCOUNT][REGION]
    changed = set()
    for name, images in registry.repos.items():
        seeded = {img.digest: img.last_scan for img in images}
        for image in backend.repositories[name].images:
            if image.last_scan != seeded.get(image.get_image_digest()):
                changed.add((name, image.get_image_digest()))
    return changed


# --- pagination ---------------------------------------------------------------------------------------------------


def _page(items: list[Any], params: dict[str, Any], what: str) -> tuple[list[Any], str | None]:
    max_results = params.get("maxResults")
    if max_results is None:
        size = DEFAULT_PAGE
    elif not 1 <= int(max_results) <= MAX_PAGE:
        raise InvalidParameterException(f"maxResults for {what} must be between 1 and {MAX_PAGE}")
    else:
        size = int(max_results)
    token = params.get("nextToken")
    start = 0
    if token:
        try:
            kind, offset = base64.b64decode(token).decode().split(":", 1)
            start = int(offset)
        except ValueError:
            raise InvalidParameterException(f"Invalid nextToken for {what}") from None
        if kind != what:
            raise InvalidParameterException(f"Invalid nextToken for {what}")
    end = start + size
    next_token = base64.b64encode(f"{what}:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], next_token


def _tag_filter(images: list[Image], params: dict[str, Any]) -> list[Image]:
    status = (params.get("filter") or {}).get("tagStatus", "ANY")
    if status == "TAGGED":
        return [i for i in images if i.image_tags]
    if status == "UNTAGGED":
        return [i for i in images if not i.image_tags]
    return images


def _epoch(value: datetime) -> float:
    """moto's naive scan time as epoch seconds, read as UTC like moto's DescribeImageScanFindings renders it."""
    return calendar.timegm(value.timetuple()) + value.microsecond / 1e6


def _scan_fields(image: Image) -> dict[str, Any]:
    """What ECR's DescribeImages carries for a basic (CLAIR) scan, from moto's scan state."""
    if image.last_scan is None:
        return {}
    completed = _epoch(image.last_scan)
    return {
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindingsSummary": {
            "imageScanCompletedAt": completed,
            "vulnerabilitySourceUpdatedAt": completed,
            "findingSeverityCounts": {"HIGH": 1},
        },
    }


def _image_detail(image: Image, registry_id: str, enrich: bool) -> dict[str, Any]:
    """One ``imageDetails`` entry, the fields moto's serializer would emit (plus scan status when enriched)."""
    detail: dict[str, Any] = {
        "registryId": registry_id,
        "repositoryName": image.repository_name,
        "imageDigest": image.get_image_digest(),
        "imageSizeInBytes": _SIZE,
        "imagePushedAt": image.image_pushed_at,
        "imageManifestMediaType": image.image_manifest_media_type,
    }
    if image.image_tags:
        detail["imageTags"] = list(image.image_tags)
    if enrich:
        detail.update(_scan_fields(image))
    return detail


def _make_describe_images(enrich: bool) -> Any:
    def describe_images(self: ECRResponse) -> Any:
        params = {k: self._get_param(k) for k in ("maxResults", "nextToken", "filter")}
        image_ids = self._get_param("imageIds")
        try:
            repo = self.ecr_backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
            token = None
            if image_ids:
                images = [repo._get_image(i.get("imageTag"), i.get("imageDigest")) for i in image_ids]
            else:
                images, token = _page(_tag_filter(repo.images, params), params, "DescribeImages")
        except ServiceException as exc:
            return _error(exc)
        result: dict[str, Any] = {"imageDetails": [_image_detail(i, repo.registry_id, enrich) for i in images]}
        if token:
            result["nextToken"] = token
        return json.dumps(result)

    return describe_images


def _error(exc: ServiceException) -> tuple[str, dict[str, Any]]:
    """moto's JSON error shape, without its generic (slow) serializer."""
    return json.dumps({"__type": exc.code, "message": exc.message}), {"status": 400}


def _start_image_scan(self: ECRResponse) -> Any:
    try:
        result = self.ecr_backend.start_image_scan(
            registry_id=self._get_param("registryId"),
            repository_name=self._get_param("repositoryName"),
            image_id=self._get_param("imageId"),
        )
    except ServiceException as exc:
        return _error(exc)
    return json.dumps(result)


def _describe_image_scan_findings(self: ECRResponse) -> Any:
    try:
        result = self.ecr_backend.describe_image_scan_findings(
            registry_id=self._get_param("registryId"),
            repository_name=self._get_param("repositoryName"),
            image_id=self._get_param("imageId"),
        )
    except ServiceException as exc:
        return _error(exc)
    findings = result.get("imageScanFindings", {})
    for key in ("imageScanCompletedAt", "vulnerabilitySourceUpdatedAt"):
        if isinstance(findings.get(key), str):  # moto's default response: ISO 8601 UTC
            findings[key] = calendar.timegm(time.strptime(findings[key], "%Y-%m-%dT%H:%M:%SZ"))
    return json.dumps(result, default=str)


def _list_images(self: ECRResponse) -> ActionResult:
    params = {k: self._get_param(k) for k in ("maxResults", "nextToken", "filter")}
    repo = self.ecr_backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    ids = [
        {"imageDigest": image.get_image_digest(), "imageTag": tag}
        for image in _tag_filter(repo.images, params)
        for tag in image.image_tags or [None]
    ]
    page, token = _page(ids, params, "ListImages")
    result: dict[str, Any] = {"imageIds": [{k: v for k, v in i.items() if v is not None} for i in page]}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def _describe_repositories(self: ECRResponse) -> ActionResult:
    names = self._get_param("repositoryNames")
    repos = self.ecr_backend.describe_repositories(repository_names=names, registry_id=self._get_param("registryId"))
    params = {k: self._get_param(k) for k in ("maxResults", "nextToken")}
    if names:
        page, token = repos, None
    else:
        page, token = _page(repos, params, "DescribeRepositories")
    result: dict[str, Any] = {"repositories": page}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def _indexed_get_image(self: Repository, image_tag: str | None, image_digest: str | None) -> Image:
    index = self.__dict__.get("_bench_index")
    if index is None or index[0] is not self.images or index[1] != len(self.images):
        by_digest: dict[str, Image] = {}
        by_tag: dict[str, Image] = {}
        for image in self.images:
            by_digest.setdefault(image.get_image_digest(), image)
            for tag in image.image_tags:
                by_tag.setdefault(tag, image)
        index = (self.images, len(self.images), by_digest, by_tag)
        self.__dict__["_bench_index"] = index
    _, _, by_digest, by_tag = index
    found = by_digest.get(image_digest) if image_digest else by_tag.get(image_tag) if image_tag else None
    if found is not None and image_tag and image_tag not in found.image_tags:
        found = None
    if found is None:
        raise ImageNotFoundException(
            image_id=f"{{imageDigest:'{image_digest or 'null'}', imageTag:'{image_tag or 'null'}'}}",
            repository_name=self.name,
            registry_id=self.registry_id,
        )
    return found


def _make_get_account_setting(enrich: bool) -> Any:
    """``GetAccountSetting`` (moto 5.2.5 lacks it): ``BASIC_SCAN_TYPE_VERSION`` is CLAIR in the enriched scenario
    (DescribeImages carries scan status) and AWS_NATIVE otherwise, as in ECR."""

    def get_account_setting(self: Any) -> Any:
        name = self._get_param("name")
        if name != "BASIC_SCAN_TYPE_VERSION":
            return json.dumps({"__type": "ValidationException", "message": f"unsupported setting {name}"}), {
                "status": 400
            }
        return json.dumps({"name": name, "value": "CLAIR" if enrich else "AWS_NATIVE"})

    return get_account_setting


class _FastRequest:
    """Just enough of an ``ECRResponse`` for the handlers above: parameters and the backend."""

    def __init__(self, params: dict[str, Any]) -> None:
        self._params = params
        self.ecr_backend = ecr_backends[ACCOUNT][REGION]

    def _get_param(self, key: str) -> Any:
        return self._params.get(key)


_TARGET = "AmazonEC2ContainerRegistry_V20150921."
_ECR_HOST = f"api.ecr.{REGION}.amazonaws.com"


def _make_fast_path(enrich: bool, original: Any) -> Any:
    """Answer the per-image ECR operations straight from moto's backend, skipping moto's generic request parsing
    (werkzeug request, class introspection) that costs about a millisecond per call; anything else goes through
    moto unchanged."""
    operations = {
        "DescribeImages": _make_describe_images(enrich),
        "StartImageScan": _start_image_scan,
        "DescribeImageScanFindings": _describe_image_scan_findings,
        "GetAccountSetting": _make_get_account_setting(enrich),
    }

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target") or b""
        if isinstance(target, bytes):
            target = target.decode()
        operation = operations.get(target[len(_TARGET) :]) if target.startswith(_TARGET) else None
        if operation is None or urlsplit(request.url).hostname != _ECR_HOST:
            return original(self, request)
        body = request.body or b"{}"
        result = operation(_FastRequest(json.loads(body)))
        headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "bench-fast-path"}
        if isinstance(result, tuple):
            text, extra = result
            return int(extra.get("status", 200)), headers, text
        return 200, headers, result

    return process_request


@contextlib.contextmanager
def patched(enrich: bool) -> Iterator[None]:
    """Apply the ECR-fidelity patches to moto for the duration of a scenario."""
    fast_path = _make_fast_path(enrich, BotocoreStubber.process_request)
    with (
        mock.patch.object(BotocoreStubber, "process_request", fast_path),
        mock.patch.object(ECRResponse, "describe_images", _make_describe_images(enrich)),
        mock.patch.object(ECRResponse, "list_images", _list_images),
        mock.patch.object(ECRResponse, "start_image_scan", _start_image_scan),
        mock.patch.object(ECRResponse, "describe_image_scan_findings", _describe_image_scan_findings),
        mock.patch.object(ECRResponse, "describe_repositories", _describe_repositories),
        mock.patch.object(Repository, "_get_image", _indexed_get_image),
    ):
        yield
