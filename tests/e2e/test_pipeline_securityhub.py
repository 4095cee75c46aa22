"""The Security Hub export, end to end on the deployed pipeline (the test root sets enable_security_hub_export; the
functions reach Security Hub on moto, ``AWS_ENDPOINT_URL_SECURITYHUB``): one image in breach is imported once, not
imported again on an identical rescan, and resolved when it is clean.

Runs after test_pipeline_ledger.py (name order) on the same deployment, with its helper for later scans of a
seeded image (moto in the suite's process replaces the result it serves). team/api:1.0 is left as that module
leaves it: within its thresholds (HIGH 1, MEDIUM 3). What Security Hub holds is read back with GetFindings on
moto; what the function did, from its log lines (``securityhub_exported``, ``securityhub_unchanged``).
"""

from __future__ import annotations

from typing import Any

import pytest

from e2e import observe
from e2e.conftest import Deployed, SweepObservation
from e2e.pipeline import Pipeline
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
    assert (stored["RecordState"], stored["Workflow"]["Status"]) == ("ACTIVE", "NEW")
    assert stored["Severity"]["Label"] == "CRITICAL"
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
    assert (resolved["RecordState"], resolved["Workflow"]["Status"]) == ("ARCHIVED", "RESOLVED")
    assert not [r for r in exports(pipeline, image.digest) if r["message"] == "securityhub_export_failed"]
