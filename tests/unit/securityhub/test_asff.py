"""securityhub/asff.py, pure: the forms of a finding as AWS documents them (a new finding, an update, the archived
form: severity and types through FindingProviderFields, never the workflow), every field bounded so that any finding
fits Security Hub's 240 KB, and the choices the export relies on (the label of an unlabelled severity, most severe
first, a known fixed version is a fix)."""

from __future__ import annotations

from datetime import timedelta

from conftest import ACCOUNT, REGION
from securityhub_fakes import FINDING_MAX_BYTES, finding_size

from ecr_scan_reporter.core.finding_types import Finding
from ecr_scan_reporter.securityhub import asff
from securityhub.test_export import BASIC, ENHANCED, IMAGE, NOW, PRODUCT, valid_request

#: Fields BatchImportFindings cannot update, and fields a provider updates through FindingProviderFields only.
CUSTOMER_FIELDS = {"Note", "UserDefinedFields", "VerificationState", "Workflow"}
PROVIDER_FIELDS = {"Confidence", "Criticality", "RelatedFindings", "Severity", "Types"}


# --- the forms of a finding -------------------------------------------------------------------------------------------


def test_a_new_finding_gives_its_severity_and_types_to_finding_provider_fields_and_no_workflow() -> None:
    body = asff.finding(IMAGE, ENHANCED, NOW)
    valid_request([body])
    assert body["FindingProviderFields"] == {
        "Severity": {"Label": "HIGH", "Original": "HIGH"},
        "Types": [asff.FINDING_TYPE],
    }
    assert (body["Severity"], body["Types"]) == ({"Label": "HIGH", "Original": "HIGH"}, [asff.FINDING_TYPE])
    assert body["RecordState"] == "ACTIVE"
    assert not CUSTOMER_FIELDS & set(body)  # a new finding's workflow is NEW: Security Hub's own default


def test_an_update_changes_severity_and_types_through_finding_provider_fields_only() -> None:
    body = asff.finding(IMAGE, BASIC, NOW, first_at=NOW - timedelta(days=2))  # exported before: an update
    valid_request([body])
    assert not (CUSTOMER_FIELDS | PROVIDER_FIELDS) & set(body)
    assert body["FindingProviderFields"] == {
        "Severity": {"Label": "CRITICAL", "Original": "CRITICAL"},
        "Types": [asff.FINDING_TYPE],
    }
    assert body["CreatedAt"] == "2026-11-29T12:00:00.000Z"
    assert body["RecordState"] == "ACTIVE"
    # what the finding says does not depend on the form it is sent in: the ledger's digest is the same
    assert asff.content_digest(body) == asff.content_digest(asff.finding(IMAGE, BASIC, NOW))


def test_the_resolved_form_archives_and_leaves_the_workflow_to_batch_update_findings() -> None:
    kept = asff.Exported("HIGH", "0123456789abcdef", NOW - timedelta(days=2))
    body = asff.resolved(IMAGE, "CVE-2026-0002", kept, NOW)
    valid_request([body])
    assert body["RecordState"] == "ARCHIVED"
    assert not (CUSTOMER_FIELDS | PROVIDER_FIELDS) & set(body)
    assert body["FindingProviderFields"] == {"Severity": {"Label": "HIGH"}, "Types": [asff.FINDING_TYPE]}
    unknown = asff.resolved(IMAGE, "CVE-2026-0003", None, NOW)  # an entry this version cannot read
    valid_request([unknown])
    assert unknown["FindingProviderFields"] == {"Types": [asff.FINDING_TYPE]}  # its severity is left as it is


# --- every field bounded: any finding fits 240 KB --------------------------------------------------------------------

#: A character that costs the most on the wire: outside the BMP, botocore's JSON escapes it as two \\uXXXX (12 bytes).
WIDE = "\U0001d518"


def worst_image() -> asff.Image:
    """ECR allows 1,000 tags of up to 300 characters per image; the names come from events: unbounded here."""
    tags = tuple(f"{i:04d}{WIDE * 296}" for i in range(1000))
    return asff.Image(ACCOUNT, "r" + WIDE * 5000, "sha256:" + WIDE * 5000, REGION + WIDE * 100, tags, PRODUCT)


def worst_finding() -> Finding:
    return Finding(
        id="CVE-" + WIDE * 5000,
        severity="CRITICAL" + WIDE * 500,
        package_name=WIDE * 20_000,
        package_version=WIDE * 20_000,
        fixed_in=WIDE * 20_000,
        url="https://" + WIDE * 20_000,
        score=10.0,
        epss=1.0,
        origin="enhanced",
        fix_available=True,
        exploit_available=True,
    )


def test_the_largest_finding_fits_240_kb_in_every_form() -> None:
    image, found = worst_image(), worst_finding()
    bodies = {
        "new": asff.finding(image, found, NOW, observed_at=NOW),
        "update": asff.finding(image, found, NOW, first_at=NOW - timedelta(days=1), observed_at=NOW),
        "resolved": asff.resolved(image, found.id, asff.Exported("CRITICAL", "0" * 16, NOW), NOW),
        "deleted": asff.resolved(image, found.id, None, NOW, deleted=True),
    }
    for form, body in bodies.items():
        valid_request([body])
        assert finding_size(body) <= FINDING_MAX_BYTES, (form, finding_size(body))
        assert (len(body["Title"]) <= 256, len(body["Description"]) <= 1024) == (True, True), form
        assert (len(body["Id"]) <= 512, len(body["Resources"][0]["Id"]) <= 512) == (True, True), form
    new = bodies["new"]
    assert len(new["Remediation"]["Recommendation"]["Text"]) <= 512
    assert len(new["Severity"]["Original"]) <= 64
    assert len(new["FindingProviderFields"]["Severity"]["Original"]) <= 64
    tags = new["Resources"][0]["Details"]["AwsEcrContainerImage"]["ImageTags"]
    assert 0 < len(tags) < 1000
    assert tags == list(image.tags[: len(tags)])


def test_a_common_image_keeps_every_tag() -> None:
    image = asff.Image(ACCOUNT, "team/app", IMAGE.digest, REGION, tuple(f"v1.{i}" for i in range(200)), PRODUCT)
    body = asff.finding(image, BASIC, NOW)
    assert body["Resources"][0]["Details"]["AwsEcrContainerImage"]["ImageTags"] == list(image.tags)


# --- pins (test-gaps): label, order, FixAvailable ---------------------------------------------------------------------


def test_a_severity_without_an_asff_label_is_informational() -> None:
    assert asff.label("UNDEFINED") == asff.label("UNTRIAGED") == asff.label("undefined") == "INFORMATIONAL"
    assert asff.label("low") == "LOW"
    exploitable = Finding(id="CVE-2026-0100", severity="UNDEFINED", exploit_available=True)
    (chosen,) = asff.in_breach([exploitable], ("CRITICAL",), [exploitable.id])  # alert_on_exploitable
    body = asff.finding(IMAGE, chosen, NOW)
    assert body["Severity"] == {"Label": "INFORMATIONAL", "Original": "UNDEFINED"}
    assert body["FindingProviderFields"]["Severity"]["Label"] == "INFORMATIONAL"


def test_the_findings_to_export_are_most_severe_first_not_by_id() -> None:
    low = Finding(id="CVE-2026-0001", severity="LOW", exploit_available=True)
    medium = Finding(id="CVE-2026-0002", severity="MEDIUM")
    high = Finding(id="CVE-2026-0003", severity="HIGH")
    critical = Finding(id="CVE-2026-0004", severity="CRITICAL")
    chosen = asff.in_breach([low, medium, high, critical], ("CRITICAL", "HIGH", "MEDIUM"), [low.id])
    assert [f.id for f in chosen] == [critical.id, high.id, medium.id, low.id]


def test_a_known_fixed_version_is_a_fix_even_when_the_scanner_does_not_say() -> None:
    fixed = Finding(id="CVE-2026-0005", severity="HIGH", package_name="zlib", package_version="1.2", fixed_in="1.3")
    assert fixed.fix_available is None  # basic scanning
    (vulnerability,) = asff.finding(IMAGE, fixed, NOW)["Vulnerabilities"]
    assert vulnerability["FixAvailable"] == "YES"
    unfixed = Finding(id="CVE-2026-0006", severity="HIGH", package_name="zlib")
    assert "FixAvailable" not in asff.finding(IMAGE, unfixed, NOW)["Vulnerabilities"][0]  # nothing made up
