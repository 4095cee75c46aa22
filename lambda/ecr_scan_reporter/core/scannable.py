"""Which images ECR's basic scanning cannot scan, and how the scan ledger records them (pure).

A registry holds more than container images: cosign signatures, attestations and SBOMs, Helm charts, in-toto
statements, image indexes (multi-platform manifest lists) and other OCI artifacts. StartImageScan refuses them
(``UnsupportedImageTypeException``) and no scan will ever come, so the sweep must neither ask again nor count them
as never scanned: they would be the stalest images of their class every day, and the scan budget would go to them
first. The sweep recognises them before asking, from what DescribeImages says (:func:`artifact_reason`), records
those and the ones ECR refuses in the ledger with the status :data:`NOT_SCANNABLE`, and counts them apart; the
exposure report leaves them out of its coverage and counts them apart too.

DescribeImages (``imageDetail``) gives ``imageManifestMediaType`` and ``artifactMediaType`` (the manifest's config
media type, or its ``artifactType``). An image is a container image ECR can scan when its config is one:

- ``application/vnd.docker.container.image.v1+json`` (Docker image manifest V2, schema 2);
- ``application/vnd.oci.image.config.v1+json`` (OCI image manifest).

Anything else names an artifact: Helm ``application/vnd.cncf.helm.config.v1+json``, cosign's OCI 1.1 referrers
``application/vnd.dev.cosign.artifact.sig.v1+json`` (and ``...sbom``/``...att``), in-toto
``application/vnd.in-toto+json``, SBOMs (``application/spdx+json``, ``application/vnd.cyclonedx+json``), Notation
``application/vnd.cncf.notary.signature``, the OCI empty config ``application/vnd.oci.empty.v1+json``, WebAssembly,
and the rest. An image index (``application/vnd.oci.image.index.v1+json``,
``application/vnd.docker.distribution.manifest.list.v2+json``) is not scanned either: it holds no layers, only the
platform images it lists, which DescribeImages lists (untagged) and the sweep scans on their own. The OCI artifact
manifest of the OCI 1.1 drafts (``application/vnd.oci.artifact.manifest.v1+json``) is never an image.

Cosign's tag-based scheme (its default) stores a signature, attestation or SBOM as an ordinary OCI image manifest
with an OCI image config: only its tag says what it is, ``sha256-<hex digest of the signed image>.sig`` (``.att``,
``.sbom``). An image whose every tag is one of those is taken for one. A signature that lost its tag (cosign moves
it when it signs again) cannot be told apart: ECR refuses it once and the ledger remembers.

Without a media type (an older image, an emulator) nothing is assumed: ECR is asked, and a refusal is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: The scan ledger's ``scan_status`` of an image ECR's basic scanning cannot scan (an artifact). The module's own
#: value, never one of ECR's: ECR's ``UNSUPPORTED_IMAGE`` is a scan that ran on an image whose operating system
#: basic scanning does not support, a gap in coverage the report shows as failed.
NOT_SCANNABLE = "NOT_SCANNABLE"

#: Config media types of container images (what basic scanning reads).
IMAGE_CONFIG_TYPES = frozenset(
    {
        "application/vnd.docker.container.image.v1+json",
        "application/vnd.oci.image.config.v1+json",
    }
)
#: Manifest media types that are never a scannable image: indexes (their platform images are listed on their own)
#: and the OCI 1.1 draft's artifact manifest.
INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
ARTIFACT_MANIFEST_TYPES = frozenset({"application/vnd.oci.artifact.manifest.v1+json"})
#: Cosign's tag-based scheme: ``sha256-<64 hex>.sig`` (signature), ``.att`` (attestation), ``.sbom`` (SBOM).
COSIGN_TAG = re.compile(r"sha256-[0-9a-f]{64}\.(sig|att|sbom)")
_COSIGN_KIND = {"sig": "cosign signature", "att": "cosign attestation", "sbom": "cosign SBOM"}


def _media_type(value: str | None) -> str:
    """A media type compared as RFC 6838 says: case-insensitive, without parameters."""
    return (value or "").split(";", 1)[0].strip().lower()


def artifact_reason(
    manifest_media_type: str | None, artifact_media_type: str | None, tags: Iterable[str] = ()
) -> str | None:
    """Why the image DescribeImages describes so is not a container image basic scanning can scan (a short phrase
    for logs and the ledger: ``image index``, ``artifact application/vnd.cncf.helm.config.v1+json``, ``cosign
    signature``, ...), or None when it may be one (ECR is asked; see the module docstring)."""
    manifest = _media_type(manifest_media_type)
    if manifest in INDEX_TYPES:
        return "image index"
    if manifest in ARTIFACT_MANIFEST_TYPES:
        return f"artifact manifest {manifest}"
    artifact = _media_type(artifact_media_type)
    if artifact and artifact not in IMAGE_CONFIG_TYPES:
        return f"artifact {artifact}"
    matches = [COSIGN_TAG.fullmatch(tag) for tag in tags]
    if matches and all(matches):
        kinds = {match.group(1) for match in matches if match}
        return _COSIGN_KIND[kinds.pop()] if len(kinds) == 1 else "cosign artifact"
    return None


def recorded_not_scannable(scan_status: str | None) -> bool:
    """Does the ledger record this image as one ECR cannot scan (:data:`NOT_SCANNABLE`)?"""
    return (scan_status or "").upper() == NOT_SCANNABLE
