"""core/scannable.py (pure): which images DescribeImages shows ECR's basic scanning cannot scan (issue 26)."""

from __future__ import annotations

import pytest

from ecr_scan_reporter.core.scannable import NOT_SCANNABLE, artifact_reason, recorded_not_scannable

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SIGNED = "sha256-" + "ab" * 32


@pytest.mark.parametrize(
    ("manifest", "config", "tags"),
    [
        (DOCKER_MANIFEST, DOCKER_CONFIG, ("v1",)),
        (OCI_MANIFEST, OCI_CONFIG, ("v1", "latest")),
        (OCI_MANIFEST, "Application/VND.OCI.Image.Config.v1+JSON; charset=utf-8", ()),  # case, parameters
        (None, None, ()),  # no media type (an older image, an emulator): ECR is asked
        (OCI_MANIFEST, OCI_CONFIG, (f"{SIGNED}.sig", "v1")),  # one ordinary tag: an image someone tagged so
        (OCI_MANIFEST, OCI_CONFIG, (f"{SIGNED}.signature",)),  # not cosign's suffix
        (OCI_MANIFEST, OCI_CONFIG, ("sha256-abc.sig",)),  # not a digest
        (OCI_MANIFEST, OCI_CONFIG, (f"{SIGNED.upper()}.sig",)),  # cosign writes lower-case hex
        ("application/vnd.docker.distribution.manifest.v1+prettyjws", None, ("old",)),  # schema 1: ECR decides
    ],
)
def test_container_images_may_be_scanned(manifest: str | None, config: str | None, tags: tuple[str, ...]) -> None:
    assert artifact_reason(manifest, config, tags) is None


@pytest.mark.parametrize(
    ("manifest", "config", "tags", "reason"),
    [
        ("application/vnd.oci.image.index.v1+json", None, ("v1",), "image index"),
        ("application/vnd.docker.distribution.manifest.list.v2+json", None, ("v1",), "image index"),
        (
            "application/vnd.oci.artifact.manifest.v1+json",
            None,
            (),
            "artifact manifest application/vnd.oci.artifact.manifest.v1+json",
        ),
        (
            OCI_MANIFEST,
            "application/vnd.cncf.helm.config.v1+json",
            ("1.2.3",),
            "artifact application/vnd.cncf.helm.config.v1+json",
        ),
        (
            OCI_MANIFEST,
            "application/vnd.dev.cosign.artifact.sig.v1+json",
            (),
            "artifact application/vnd.dev.cosign.artifact.sig.v1+json",
        ),  # cosign's OCI 1.1 referrers: untagged, its artifactType says it
        (OCI_MANIFEST, "application/vnd.in-toto+json", (), "artifact application/vnd.in-toto+json"),
        (OCI_MANIFEST, "application/spdx+json", (), "artifact application/spdx+json"),
        (OCI_MANIFEST, "application/vnd.cyclonedx+json", (), "artifact application/vnd.cyclonedx+json"),
        (OCI_MANIFEST, "application/vnd.cncf.notary.signature", (), "artifact application/vnd.cncf.notary.signature"),
        (OCI_MANIFEST, "application/vnd.oci.empty.v1+json", (), "artifact application/vnd.oci.empty.v1+json"),
        (OCI_MANIFEST, "application/vnd.wasm.config.v0+json", ("v1",), "artifact application/vnd.wasm.config.v0+json"),
        # cosign's tag scheme: an OCI image manifest with an OCI image config; only the tag says what it is
        (OCI_MANIFEST, OCI_CONFIG, (f"{SIGNED}.sig",), "cosign signature"),
        (OCI_MANIFEST, OCI_CONFIG, (f"{SIGNED}.att",), "cosign attestation"),
        (OCI_MANIFEST, OCI_CONFIG, (f"{SIGNED}.sbom",), "cosign SBOM"),
        (None, None, (f"{SIGNED}.sig", f"sha256-{'cd' * 32}.sig"), "cosign signature"),  # one digest signs two
        (None, None, (f"{SIGNED}.sig", f"{SIGNED}.att"), "cosign artifact"),
    ],
)
def test_artifacts_are_recognised_before_ecr_is_asked(
    manifest: str | None, config: str | None, tags: tuple[str, ...], reason: str
) -> None:
    assert artifact_reason(manifest, config, tags) == reason


def test_the_ledger_status_is_the_modules_own_never_ecrs() -> None:
    assert recorded_not_scannable(NOT_SCANNABLE)
    assert recorded_not_scannable("not_scannable")
    for status in ("UNSUPPORTED_IMAGE", "COMPLETE", "FAILED", "", None):
        assert not recorded_not_scannable(status)
