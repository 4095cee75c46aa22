"""Seeding a registry: repositories, images, and what their scans report.

:class:`RegistrySeeder` creates repositories and pushes images through the ECR API only (blobs through the
layer-upload calls, then PutImage with a docker schema-2 manifest), so the same code works on any ECR. What a
scan reports cannot be set through ECR's API; that part is emulator-specific:

- :class:`MotoSeeder` sets scan results through moto's ``/moto-api/static/ecr/scan-finding-results`` and reads
  moto's request recorder (``/moto-api/recorder/...``) to see which ECR calls the deployed functions made;
- :class:`LocalStackSeeder` cannot inject findings or past scan times (LocalStack scans images itself): those
  methods raise :class:`Unsupported`, which the suite turns into a skip with the reason.

moto specifics worth knowing (moto 5.2.5, ``moto/ecr/models.py``):

- a scan only "exists" after StartImageScan (DescribeImageScanFindings raises ScanNotFoundException before),
  and StartImageScan is refused with LimitExceededException for an image already scanned that (local) day;
- a queued result is handed to the first DescribeImageScanFindings of a matching image and then stays bound to
  that exact ``imageId`` request shape; the functions, the bridge and this module all ask by
  ``{"imageDigest": ...}``, so they all see the same result;
- there is no way to backdate moto's own scan time, so a "scanned 30 days ago" image is seeded by starting a
  scan now and queueing a result whose ``imageScanCompletedAt`` is 30 days old. The sweep then (rightly) asks
  for a rescan, which moto refuses as "already scanned today" (LimitExceededException); the request is still
  visible in the recorder. Real ECR would accept it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
#: What our own clients add to their user agent, to tell their requests from the functions' in a request log.
HARNESS_USER_AGENT = "e2e-harness/1"


class Unsupported(Exception):
    """The target cannot do this (the message says why); the suite skips what depends on it."""


@dataclass(frozen=True)
class ScanReport:
    """What ECR reports for one finished scan of an image."""

    status: str  # COMPLETE or FAILED
    completed_at: datetime
    counts: dict[str, int] = field(default_factory=dict)  # findingSeverityCounts
    description: str = "The scan was completed successfully."
    findings: tuple[dict[str, Any], ...] | None = None  # the finding entries; None: plausible ones for the counts

    def as_response(self, account_id: str, repository: str, digest: str, tag: str | None) -> dict[str, Any]:
        """The DescribeImageScanFindings response for this scan."""
        image_id = {"imageDigest": digest} | ({"imageTag": tag} if tag else {})
        findings: dict[str, Any] = {"imageScanCompletedAt": self.completed_at.timestamp()}
        if self.status == "COMPLETE":
            findings["vulnerabilitySourceUpdatedAt"] = self.completed_at.timestamp()
            findings["findingSeverityCounts"] = dict(self.counts)
            findings["findings"] = list(self.findings) if self.findings is not None else _findings(self.counts)
        return {
            "registryId": account_id,
            "repositoryName": repository,
            "imageId": image_id,
            "imageScanStatus": {"status": self.status, "description": self.description},
            "imageScanFindings": findings,
        }


@dataclass(frozen=True)
class EcrRequest:
    """One ECR API call seen by the registry (from the request log)."""

    operation: str  # e.g. StartImageScan
    region: str
    repository: str | None
    image_digest: str | None
    harness: bool  # made by the suite's own clients (seeding, bridge, diagnostics), not by the deployed functions


class RegistrySeeder(ABC):
    """Creates repositories and images through the ECR API; what scans report is up to the subclass."""

    name = "ecr"

    def __init__(self, ecr: Any, account_id: str, region: str) -> None:
        self.ecr = ecr
        self.account_id = account_id
        self.region = region

    def create_repository(self, name: str) -> None:
        try:
            self.ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": False})
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "RepositoryAlreadyExistsException":
                raise

    def put_image(self, repository: str, tag: str | None, seed: str) -> str:
        """Push a small, unique image (``seed`` makes its content) and return its digest."""
        layer = _layer_tarball(seed)
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"e2e.seed": seed}},
                "rootfs": {"type": "layers", "diff_ids": [_sha256(gzip.decompress(layer))]},
            },
            sort_keys=True,
        ).encode()
        for blob in (layer, config):
            self._upload_blob(repository, blob)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "size": len(config), "digest": _sha256(config)},
            "layers": [{"mediaType": LAYER_MEDIA_TYPE, "size": len(layer), "digest": _sha256(layer)}],
        }
        kwargs: dict[str, Any] = {
            "repositoryName": repository,
            "imageManifest": json.dumps(manifest),
            "imageManifestMediaType": MANIFEST_MEDIA_TYPE,
        }
        if tag:
            kwargs["imageTag"] = tag
        return str(self.ecr.put_image(**kwargs)["image"]["imageId"]["imageDigest"])

    def _upload_blob(self, repository: str, blob: bytes) -> None:
        digest = _sha256(blob)
        found = self.ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=[digest])
        if any(layer.get("layerAvailability") == "AVAILABLE" for layer in found.get("layers", [])):
            return
        upload = self.ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
        self.ecr.upload_layer_part(
            repositoryName=repository, uploadId=upload, partFirstByte=0, partLastByte=len(blob) - 1, layerPartBlob=blob
        )
        self.ecr.complete_layer_upload(repositoryName=repository, uploadId=upload, layerDigests=[digest])

    @abstractmethod
    def set_past_scan(self, repository: str, digest: str, tag: str | None, report: ScanReport) -> None:
        """Make the image look scanned before the sweep, with this report (its time may lie in the past)."""

    @abstractmethod
    def set_next_scan_result(self, repository: str, digest: str, tag: str | None, report: ScanReport) -> None:
        """What the image's next scan (started by the sweep) will report."""

    def start_request_log(self) -> None:  # noqa: B027 - optional: only some targets keep a request log
        """Start recording ECR requests (when the target can)."""

    def requests(self) -> list[EcrRequest] | None:
        """ECR requests recorded since :meth:`start_request_log`, or None when the target cannot tell."""
        return None


class MotoSeeder(RegistrySeeder):
    """moto: scan results through moto-api, the deployed functions' calls through moto's request recorder."""

    name = "moto"

    def __init__(self, ecr: Any, account_id: str, region: str, moto_url: str) -> None:
        super().__init__(ecr, account_id, region)
        self.moto_url = moto_url.rstrip("/")

    def set_past_scan(self, repository: str, digest: str, tag: str | None, report: ScanReport) -> None:
        # moto only knows a scan after StartImageScan; the queued result carries the (past) completion time.
        self.ecr.start_image_scan(repositoryName=repository, imageId={"imageDigest": digest})
        self.set_next_scan_result(repository, digest, tag, report)
        self._push_before(repository, digest, report.completed_at)

    def _push_before(self, repository: str, digest: str, scanned_at: datetime) -> None:
        """A real image is pushed before it is scanned, but moto's push time is always "now": move it an hour
        before the past scan, as ECR's would be (the sweep distrusts a record older than the image's push: a digest
        pushed again). Only where moto runs in this process (the e2e suite); elsewhere the push time stays."""
        try:
            from moto.ecr.models import ecr_backends

            images = ecr_backends[self.account_id][self.region].repositories[repository].images
        except (ImportError, KeyError):
            return
        for image in images:
            if image.image_digest == digest:
                image.image_pushed_at = min(image.image_pushed_at, int(scanned_at.timestamp()) - 3600)

    def set_next_scan_result(self, repository: str, digest: str, tag: str | None, report: ScanReport) -> None:
        body = {
            "account_id": self.account_id,
            "region": self.region,
            "results": [report.as_response(self.account_id, repository, digest, tag)],
        }
        self._post("/moto-api/static/ecr/scan-finding-results", body)

    def start_request_log(self) -> None:
        self._post("/moto-api/recorder/reset-recording", None)
        self._post("/moto-api/recorder/start-recording", None)

    def requests(self) -> list[EcrRequest]:
        with urllib.request.urlopen(f"{self.moto_url}/moto-api/recorder/download-recording", timeout=10) as resp:  # noqa: S310
            text = resp.read().decode()
        return [r for r in (_parse_recorded(line) for line in text.splitlines() if line.strip()) if r is not None]

    def _post(self, path: str, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the emulator's loopback http URL
            f"{self.moto_url}{path}", data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback only
            if resp.status >= 300:
                raise RuntimeError(f"moto-api {path} answered {resp.status}")


class LocalStackSeeder(RegistrySeeder):
    """LocalStack (Pro, for ECR): images through the ECR API; scan results are LocalStack's own."""

    name = "localstack"
    _why = (
        "LocalStack runs its own image scanner: findings and past scan times cannot be injected "
        "(only moto's /moto-api can), so this case needs the embedded emulators"
    )

    def set_past_scan(self, repository: str, digest: str, tag: str | None, report: ScanReport) -> None:
        raise Unsupported(self._why)

    def set_next_scan_result(self, repository: str, digest: str, tag: str | None, report: ScanReport) -> None:
        raise Unsupported(self._why)


# --- internals ----------------------------------------------------------------------------------------------------

_CREDENTIAL_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")


def _parse_recorded(line: str) -> EcrRequest | None:
    entry = json.loads(line)
    headers = {k.lower(): v for k, v in (entry.get("headers") or {}).items()}
    target = headers.get("x-amz-target", "")
    if "." not in target:
        return None  # not an ECR JSON call (moto-api, ...)
    body_text = entry.get("body") or ""
    if entry.get("body_encoded"):
        body_text = base64.b64decode(body_text).decode(errors="replace")
    try:
        body = json.loads(body_text) if body_text else {}
    except json.JSONDecodeError:
        body = {}
    region = _CREDENTIAL_REGION.search(headers.get("authorization", ""))
    return EcrRequest(
        operation=target.rsplit(".", 1)[1],
        region=region.group(1) if region else "",
        repository=body.get("repositoryName"),
        image_digest=(body.get("imageId") or {}).get("imageDigest"),
        harness=HARNESS_USER_AGENT in headers.get("user-agent", ""),
    )


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer_tarball(seed: str) -> bytes:
    """A reproducible gzipped tar with one file whose content is ``seed``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        content = f"e2e image {seed}\n".encode()
        info = tarfile.TarInfo("etc/e2e-seed")
        info.size, info.mtime, info.mode = len(content), 0, 0o644
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def _findings(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Plausible finding entries for the counts (names only; nothing reads more)."""
    out: list[dict[str, Any]] = []
    for severity, count in sorted(counts.items()):
        out += [{"name": f"CVE-2099-{len(out) + i:05d}", "severity": severity} for i in range(count)]
    return out
