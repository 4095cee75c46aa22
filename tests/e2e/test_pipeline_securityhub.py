"""The Security Hub export, end to end on the deployed pipeline (the test root sets enable_security_hub_export; the
functions reach Security Hub on moto, ``AWS_ENDPOINT_URL_SECURITYHUB``): one image in breach is imported once, not
imported again on an identical rescan, and archived (its workflow resolved) when it is clean; an image of its own
repository (deleted afterwards, so the files after it see the seeded registry only) exported, then deleted from ECR:
the deletion event, delivered through the deployed ``ecr_image_deleted`` rule, archives and resolves its finding.

Runs after test_pipeline_ledger.py (name order) on the same deployment, with its helper for later scans of a
seeded image (moto in the suite's process replaces the result it serves). team/api:1.0 is left as that module
leaves it: within its thresholds (HIGH 1, MEDIUM 3). What Security Hub holds is read back with GetFindings on
moto; what the function did, from its log lines (``securityhub_exported``, ``securityhub_unchanged``).
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import pytest

from e2e import bridge, observe
from e2e.conftest import Deployed, SweepObservation
from e2e.pipeline import Pipeline
from e2e.seeding import MotoSeeder, ScanReport
from e2e.test_pipeline_ledger import API_10, Results

pytestmark = pytest.mark.e2e

LABEL = "team/api:1.0"
CVE = "CVE-2099-55555"
CLEAN = {"HIGH": 1, "MEDIUM": 3}  # within the test root's thresholds (CRITICAL 0, HIGH 2)


@pytest.fixture(scope="module")
def pipeline(deployed: Deployed, swept: SweepObservation) -> Pipeline:
    found = deployed.primary
    if found.registry is None or not found.registry.findings_injected or found.target.name != "emulators":
        pytest.skip("the Security Hub test changes scan results and reads moto's Security Hub: the emulators only")
    return found


def hub_findings(pipeline: Pipeline) -> dict[str, dict[str, Any]]:
    """Every finding moto's Security Hub holds in the pipeline's region, by Id."""
    client = pipeline.client("securityhub")
    found: dict[str, dict[str, Any]] = {}
    token: str | None = None
    while True:
        page = client.get_findings(MaxResults=100, **({"NextToken": token} if token else {}))
        found |= {f["Id"]: f for f in page["Findings"]}
        token = page.get("NextToken")
        if not token:
            return found


def exports(pipeline: Pipeline, digest: str) -> list[dict[str, Any]]:
    """The findings function's Security Hub log lines for one image, oldest first."""
    names = {"securityhub_exported", "securityhub_unchanged", "securityhub_export_failed"}
    return [
        r
        for r in observe.records(pipeline.logs("findings"))
        if r.get("message") in names and r.get("image_digest") == digest
    ]


def test_an_image_in_breach_is_imported_once_not_again_and_resolved_when_clean(pipeline: Pipeline) -> None:
    results = Results(pipeline)
    image = pipeline.registry.by_label(LABEL)  # type: ignore[union-attr]
    finding_id = f"{pipeline.target.account_id}/{image.case.repository}@{image.digest}/{CVE}"
    before = len(exports(pipeline, image.digest))

    breach = results.scan(LABEL, API_10, {CVE: "CRITICAL"})
    results.deliver(breach)
    observe.wait_until(
        "the export of the image in breach",
        lambda: (len(exports(pipeline, image.digest)) > before, str(exports(pipeline, image.digest)[before:])),
        30,
    )
    first = exports(pipeline, image.digest)[before:]
    assert [r["message"] for r in first] == ["securityhub_exported"], first
    assert first[0]["imported"] >= 1
    stored = hub_findings(pipeline)[finding_id]
    assert stored["RecordState"] == "ACTIVE"
    assert "Workflow" not in stored  # never sent (moto stores the finding as sent; Security Hub's default is NEW)
    assert stored["Severity"]["Label"] == stored["FindingProviderFields"]["Severity"]["Label"] == "CRITICAL"
    assert stored["ProductArn"].endswith(f":product/{pipeline.target.account_id}/default")
    details = stored["Resources"][0]["Details"]["AwsEcrContainerImage"]
    assert (details["RepositoryName"], details["ImageDigest"]) == (image.case.repository, image.digest)
    updated = stored["UpdatedAt"]

    again = results.scan(LABEL, API_10, {CVE: "CRITICAL"})  # the identical result of a later scan
    results.deliver(again)
    observe.wait_until(
        "the rescan's export decision",
        lambda: (len(exports(pipeline, image.digest)) > before + 1, str(exports(pipeline, image.digest)[before:])),
        30,
    )
    assert [r["message"] for r in exports(pipeline, image.digest)[before + 1 :]] == ["securityhub_unchanged"]
    assert hub_findings(pipeline)[finding_id]["UpdatedAt"] == updated  # not imported again

    clean = results.scan(LABEL, CLEAN)
    results.deliver(clean)
    observe.wait_until(
        "the clean result's export",
        lambda: (len(exports(pipeline, image.digest)) > before + 2, str(exports(pipeline, image.digest)[before:])),
        30,
    )
    last = exports(pipeline, image.digest)[-1]
    assert last["message"] == "securityhub_exported"
    assert last["resolved"] >= 1
    assert last["imported"] == 0
    resolved = hub_findings(pipeline)[finding_id]
    assert resolved["RecordState"] == "ARCHIVED"
    assert_workflow_resolved(pipeline, resolved, last)
    assert not [r for r in exports(pipeline, image.digest) if r["message"] == "securityhub_export_failed"]


def assert_workflow_resolved(pipeline: Pipeline, stored: dict[str, Any], line: dict[str, Any]) -> None:
    """The archived finding's workflow was set with BatchUpdateFindings; moto has no BatchUpdateFindings (it answers
    404), which the export reports (``workflow_not_resolved``, ``securityhub_workflow_not_resolved``) without
    failing: the unit tests hold the workflow to AWS's rules (``tests/unit/securityhub_fakes.py``)."""
    if line["workflow_not_resolved"]:
        names = [
            r.get("error", "")
            for r in observe.records(pipeline.logs("findings"))
            if r.get("message") == "securityhub_workflow_not_resolved"
        ]
        assert any("404" in name for name in names), names
    else:
        assert stored["Workflow"]["Status"] == "RESOLVED"


DELETED_REPOSITORY = "team/securityhub-deleted"
DELETED_CVE = "CVE-2099-66666"


def image_deleted_event(pipeline: Pipeline, repository: str, digest: str, tag: str) -> dict[str, Any]:
    """ECR's event for a deleted image (Amazon ECR User Guide, "Event for an image deletion")."""
    return {
        "version": "0",
        "id": "dd3b46cb-2c74-f49e-393b-28286b67279d",
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": pipeline.target.account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": pipeline.region,
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": repository,
            "image-digest": digest,
            "action-type": "DELETE",
            "image-tag": tag,
        },
    }


def test_an_image_deleted_from_ecr_has_its_findings_resolved(pipeline: Pipeline) -> None:
    seeder = pipeline.target.seeder(pipeline.region)
    if not isinstance(seeder, MotoSeeder):
        pytest.skip("scan findings can only be injected on moto")
    ecr, events, lambda_ = pipeline.client("ecr"), pipeline.client("events"), pipeline.client("lambda")
    pipeline.set_schedule(False)
    observe.wait_until("the work queue to drain", pipeline.work_drained, 90)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        seeder.create_repository(DELETED_REPOSITORY)
        digest = seeder.put_image(DELETED_REPOSITORY, "1.0", seed="securityhub-deleted")
        found = (
            {"name": DELETED_CVE, "severity": "CRITICAL", "attributes": [{"key": "package_name", "value": "zlib"}]},
        )
        report = ScanReport("COMPLETE", now, {"CRITICAL": 1}, findings=found)
        seeder.set_next_scan_result(DELETED_REPOSITORY, digest, "1.0", report)
        ecr.start_image_scan(repositoryName=DELETED_REPOSITORY, imageId={"imageDigest": digest})
        (scanned,) = [
            e
            for e in bridge.finished_scans(ecr, account=pipeline.target.account_id, region=pipeline.region, since=now)
            if e["detail"]["repository-name"] == DELETED_REPOSITORY
        ]
        assert bridge.deliver(events, lambda_, pipeline.outputs["event_rule_names"]["ecr_scan"], scanned).matched
        observe.wait_until(
            "the export of the image in breach",
            lambda: (bool(exports(pipeline, digest)), ""),
            60,
        )
        assert [r["message"] for r in exports(pipeline, digest)] == ["securityhub_exported"]
        finding_id = f"{pipeline.target.account_id}/{DELETED_REPOSITORY}@{digest}/{DELETED_CVE}"
        assert hub_findings(pipeline)[finding_id]["RecordState"] == "ACTIVE"

        ecr.batch_delete_image(repositoryName=DELETED_REPOSITORY, imageIds=[{"imageDigest": digest}])
        rule = pipeline.outputs["event_rule_names"]["ecr_image_deleted"]
        delivery = bridge.deliver(
            events, lambda_, rule, image_deleted_event(pipeline, DELETED_REPOSITORY, digest, "1.0")
        )
        assert delivery.matched
        assert delivery.targets

        def resolved_lines() -> list[dict[str, Any]]:
            names = ("securityhub_deleted_resolved", "securityhub_delete_skipped", "securityhub_export_failed")
            found = observe.records(pipeline.logs("findings"))
            return [r for r in found if r.get("message") in names and r.get("image_digest") == digest]

        observe.wait_until("the deletion's resolution", lambda: (bool(resolved_lines()), ""), 60)
        (line,) = resolved_lines()
        assert (line["message"], line["resolved"]) == ("securityhub_deleted_resolved", 1), line
        stored = hub_findings(pipeline)[finding_id]
        assert stored["RecordState"] == "ARCHIVED"
        assert_workflow_resolved(pipeline, stored, line)
    finally:
        with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):
            ecr.delete_repository(repositoryName=DELETED_REPOSITORY, force=True)
        pipeline.set_schedule(True)
