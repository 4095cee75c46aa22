"""The Security Hub export against moto's Security Hub (in process) with AWS's documented rules
(``securityhub_fakes.AwsSecurityHub``: what BatchImportFindings may update, 240 KB a finding, BatchUpdateFindings):
the ASFF shape (checked against botocore's BatchImportFindings input shape and read back with GetFindings),
batching, update on change, nothing on an identical rescan, archived and resolved when clean; refused findings; the
invocation's deadline; and the findings handler calling it after the alert."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
import handlers.test_findings_alerts as alerts
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.validate import ParamValidator
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table
from handlers.test_findings_ledger import DIGEST, TABLE, Scanner, scan_event
from securityhub_fakes import AwsSecurityHub

from ecr_scan_reporter.alerts import stage
from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.core.finding_types import Finding
from ecr_scan_reporter.handlers import findings, load_settings
from ecr_scan_reporter.securityhub import asff, export

PRODUCT = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
IMAGE = asff.Image(ACCOUNT, "team/app", DIGEST, REGION, ("1.0", "latest"), PRODUCT)
BASIC = Finding(
    id="CVE-2026-0001",
    severity="CRITICAL",
    package_name="openssl",
    package_version="3.0.1",
    url="https://nvd.nist.gov/vuln/detail/CVE-2026-0001",
    score=9.8,
)
ENHANCED = Finding(
    id="CVE-2026-0002",
    severity="HIGH",
    package_name="libxml2",
    package_version="2.9.1",
    fixed_in="2.9.14",
    url="https://nvd.nist.gov/vuln/detail/CVE-2026-0002",
    score=7.5,
    epss=0.42,
    origin="enhanced",
    finding_arn=f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/abc",
    fix_available=True,
    exploit_available=False,
)
_INPUT = botocore.session.get_session().get_service_model("securityhub").operation_model("BatchImportFindings")


def valid_request(bodies: list[dict[str, Any]]) -> None:
    """Raise unless botocore accepts ``bodies`` as BatchImportFindings' input (types, required members)."""
    report = ParamValidator().validate({"Findings": bodies}, _INPUT.input_shape)
    assert not report.has_errors(), report.generate_report()


# --- ASFF, pure ------------------------------------------------------------------------------------------------


def test_a_basic_finding_in_asff() -> None:
    body = asff.finding(IMAGE, BASIC, NOW, observed_at=NOW - timedelta(minutes=5))
    valid_request([body])
    assert body["Id"] == f"{ACCOUNT}/team/app@{DIGEST}/CVE-2026-0001"
    assert body["ProductArn"] == PRODUCT
    assert body["GeneratorId"] == "ecr-scan-reporter/ecr-basic-scan"
    assert body["AwsAccountId"] == ACCOUNT
    assert body["Types"] == ["Software and Configuration Checks/Vulnerabilities/CVE"]
    assert body["Severity"] == {"Label": "CRITICAL", "Original": "CRITICAL"}
    assert body["FindingProviderFields"] == {"Severity": body["Severity"], "Types": body["Types"]}
    assert body["Title"] == "CVE-2026-0001 in openssl (team/app)"
    assert "openssl 3.0.1" in body["Description"]
    assert "ECR basic scanning" in body["Description"]
    assert body["CreatedAt"] == body["FirstObservedAt"] == body["UpdatedAt"] == "2026-12-01T12:00:00.000Z"
    assert body["LastObservedAt"] == "2026-12-01T11:55:00.000Z"
    assert body["SourceUrl"] == BASIC.url
    assert (body.get("Workflow"), body["RecordState"]) == (None, "ACTIVE")  # a new finding's workflow: NEW
    (resource,) = body["Resources"]
    assert resource == {
        "Type": "AwsEcrContainerImage",
        "Id": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/team/app/{DIGEST}",
        "Partition": "aws",
        "Region": REGION,
        "Details": {
            "AwsEcrContainerImage": {
                "RegistryId": ACCOUNT,
                "RepositoryName": "team/app",
                "ImageDigest": DIGEST,
                "ImageTags": ["1.0", "latest"],
            }
        },
    }
    # basic scanning gives no fix, EPSS or exploit information: none is made up
    assert body["Vulnerabilities"] == [
        {
            "Id": "CVE-2026-0001",
            "VulnerablePackages": [{"Name": "openssl", "Version": "3.0.1"}],
            "Cvss": [{"BaseScore": 9.8}],
            "ReferenceUrls": [BASIC.url],
        }
    ]
    assert "Remediation" not in body


def test_an_enhanced_finding_in_asff_carries_fix_epss_and_exploit() -> None:
    first = NOW - timedelta(days=3)
    body = asff.finding(IMAGE, ENHANCED, NOW, first_at=first)
    valid_request([body])
    assert body["GeneratorId"] == "ecr-scan-reporter/inspector2"
    assert body["CreatedAt"] == body["FirstObservedAt"] == "2026-11-28T12:00:00.000Z"
    assert body["UpdatedAt"] == "2026-12-01T12:00:00.000Z"
    (vulnerability,) = body["Vulnerabilities"]
    assert vulnerability["VulnerablePackages"] == [{"Name": "libxml2", "Version": "2.9.1", "FixedInVersion": "2.9.14"}]
    assert vulnerability["Cvss"] == [{"BaseScore": 7.5}]
    assert (vulnerability["EpssScore"], vulnerability["ExploitAvailable"]) == (0.42, "NO")
    assert vulnerability["FixAvailable"] == "YES"
    assert body["Remediation"]["Recommendation"]["Text"] == "Update libxml2 to 2.9.14."
    assert "Fixed in 2.9.14" in body["Description"]


def test_the_resolved_form() -> None:
    kept = asff.Exported("HIGH", "0123456789abcdef", NOW - timedelta(days=2))
    body = asff.resolved(IMAGE, "CVE-2026-0002", kept, NOW)
    valid_request([body])
    assert (body.get("Workflow"), body["RecordState"]) == (None, "ARCHIVED")  # RESOLVED: BatchUpdateFindings
    assert body["Id"] == IMAGE.finding_id("CVE-2026-0002")
    assert body["FindingProviderFields"]["Severity"] == {"Label": "HIGH"}
    assert body["CreatedAt"] == "2026-11-29T12:00:00.000Z"
    assert asff.Exported.decode(kept.encode()) == asff.Exported("HIGH", "0123456789abcdef", kept.first_at)
    assert asff.Exported.decode("garbage") is None


def test_the_content_digest_ignores_times_not_content() -> None:
    one = asff.content_digest(asff.finding(IMAGE, BASIC, NOW))
    assert one == asff.content_digest(asff.finding(IMAGE, BASIC, NOW + timedelta(days=1), first_at=NOW))
    retagged = asff.Image(ACCOUNT, "team/app", DIGEST, REGION, ("2.0",), PRODUCT)
    assert one != asff.content_digest(asff.finding(retagged, BASIC, NOW))
    fixed = Finding(**{**{f: getattr(BASIC, f) for f in BASIC.__slots__}, "fixed_in": "3.0.2"})  # type: ignore[arg-type]
    assert one != asff.content_digest(asff.finding(IMAGE, fixed, NOW))


def test_in_breach_keeps_breached_severities_and_exploitable_ones_once() -> None:
    low = Finding(id="CVE-2026-0009", severity="LOW")
    medium = Finding(id="CVE-2026-0008", severity="MEDIUM", exploit_available=True)
    chosen = asff.in_breach([low, ENHANCED, BASIC, BASIC, medium], ("CRITICAL", "HIGH"), [medium.id])
    assert [f.id for f in chosen] == [BASIC.id, ENHANCED.id, medium.id]  # most severe first, once each
    assert asff.in_breach([low, BASIC], ()) == []


# --- the export against moto ---------------------------------------------------------------------------------


@pytest.fixture
def hub(moto: None) -> Iterator[AwsSecurityHub]:
    """moto's Security Hub with AWS's rules, counting the calls (``calls``: BatchImportFindings, ``updates``:
    BatchUpdateFindings, the findings in each)."""
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    return AwsSecurityHub(boto3.client("securityhub", region_name=REGION))


def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def record(breached: tuple[str, ...] = ("CRITICAL", "HIGH")) -> None:
    """The image's record as the findings stage writes it (keeping what the export recorded)."""
    previous = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    written = ledger.result_record(
        previous,
        registry_id=ACCOUNT,
        repository="team/app",
        digest=DIGEST,
        image_tags=("1.0", "latest"),
        source="ecr",
        status="COMPLETE",
        completed_at=NOW,
        severity_counts={},
        findings={},
        failure_reason=None,
        breached=breached,
        notified_findings=frozenset(),
        notify=None,
        now=NOW,
        ttl=0,
    )
    assert ledger.put_record(dynamodb(), TABLE, written, previous.revision if previous else None) is not None


inbox, reader = alerts.inbox, alerts.reader  # the Inspector batch fixtures: moto's table and topics, the findings read

#: Each export a minute after the last: Security Hub ignores an update not newer than the finding it has.
_MINUTES = itertools.count(1)


def later() -> datetime:
    return NOW + timedelta(minutes=next(_MINUTES))


def run(
    hub: AwsSecurityHub, found: list[Finding], breached: tuple[str, ...] = ("CRITICAL", "HIGH"), **kwargs: Any
) -> dict[str, Any]:
    record(breached)
    return export.export_image(hub, dynamodb(), TABLE, IMAGE, found, None, (), later(), **kwargs)


def in_hub(hub: AwsSecurityHub) -> dict[str, dict[str, Any]]:
    return {f["Id"]: f for f in hub.client.get_findings(MaxResults=100)["Findings"]}


def cve(i: int, severity: str = "HIGH", **kwargs: Any) -> Finding:
    return Finding(id=f"CVE-2026-{i:05d}", severity=severity, package_name="pkg", package_version="1", **kwargs)


def test_an_image_in_breach_is_imported_once_and_not_again_unchanged(hub: AwsSecurityHub) -> None:
    low = cve(9, "LOW")  # below the thresholds: not exported
    assert run(hub, [BASIC, ENHANCED, low])["imported"] == 2
    assert hub.calls == [2]
    stored = in_hub(hub)
    assert set(stored) == {IMAGE.finding_id(BASIC.id), IMAGE.finding_id(ENHANCED.id)}
    assert stored[IMAGE.finding_id(ENHANCED.id)]["Vulnerabilities"][0]["EpssScore"] == 0.42
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert saved is not None
    assert saved.securityhub_sha256
    assert set(saved.securityhub_findings) == {BASIC.id, ENHANCED.id}

    assert run(hub, [BASIC, ENHANCED, low])["status"] == "unchanged"  # an identical rescan
    assert hub.calls == [2]


def test_250_findings_take_three_calls(hub: AwsSecurityHub) -> None:
    many = [cve(i) for i in range(250)]
    response = run(hub, many)
    assert (response["imported"], response["calls"], hub.calls) == (250, 3, [100, 100, 50])
    assert len(hub.client.get_findings(MaxResults=100)["Findings"]) == 100  # moto pages GetFindings by 100
    assert run(hub, many)["status"] == "unchanged"
    assert hub.calls == [100, 100, 50]


def test_a_change_imports_the_new_and_changed_and_resolves_the_gone(hub: AwsSecurityHub) -> None:
    kept, changed, gone = cve(1), cve(2), cve(3, "CRITICAL")
    run(hub, [kept, changed, gone])
    first = in_hub(hub)[IMAGE.finding_id(changed.id)]["CreatedAt"]
    now_fixed = cve(2, fixed_in="2")
    new = cve(4, "CRITICAL")
    response = run(hub, [kept, now_fixed, new])
    assert (response["imported"], response["resolved"]) == (2, 1)
    assert hub.calls == [3, 3]  # the unchanged one is not sent again
    stored = in_hub(hub)
    assert stored[IMAGE.finding_id(changed.id)]["Vulnerabilities"][0]["VulnerablePackages"][0]["FixedInVersion"] == "2"
    assert stored[IMAGE.finding_id(changed.id)]["CreatedAt"] == first  # its first import is kept
    assert stored[IMAGE.finding_id(gone.id)]["RecordState"] == "ARCHIVED"
    assert stored[IMAGE.finding_id(gone.id)]["Workflow"] == {"Status": "RESOLVED"}
    assert stored[IMAGE.finding_id(gone.id)]["Severity"]["Label"] == "CRITICAL"
    assert hub.updates == [1]  # its workflow, apart
    assert stored[IMAGE.finding_id(new.id)]["RecordState"] == "ACTIVE"
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert saved is not None
    assert set(asff.active(saved.securityhub_findings)) == {kept.id, changed.id, new.id}
    assert asff.Exported.decode(saved.securityhub_findings[gone.id]).archived_at is not None  # type: ignore[union-attr]


def test_a_clean_image_has_everything_exported_resolved_once(hub: AwsSecurityHub) -> None:
    run(hub, [BASIC, ENHANCED])
    response = run(hub, [cve(9, "LOW")], breached=())
    assert (response["imported"], response["resolved"]) == (0, 2)
    assert {f["RecordState"] for f in in_hub(hub).values()} == {"ARCHIVED"}
    assert {f["Workflow"]["Status"] for f in in_hub(hub).values()} == {"RESOLVED"}
    assert run(hub, [], breached=())["status"] == "unchanged"
    assert hub.calls == [2, 2]


def test_a_clean_image_never_exported_costs_no_call(hub: AwsSecurityHub) -> None:
    assert run(hub, [cve(1, "LOW")], breached=())["status"] == "unchanged"
    assert hub.calls == []


# --- as AWS documents it: the workflow, the severity, 240 KB ----------------------------------------------------------


def test_a_gone_finding_is_archived_then_resolved_with_batch_update_findings(hub: AwsSecurityHub) -> None:
    run(hub, [BASIC, ENHANCED])
    raised = Finding(**{**{f: getattr(ENHANCED, f) for f in ENHANCED.__slots__}, "severity": "CRITICAL"})  # type: ignore[arg-type]

    response = run(hub, [raised])  # BASIC gone, ENHANCED now CRITICAL

    assert hub.refused == []  # nothing AWS would have ignored
    assert (response["imported"], response["resolved"], hub.calls, hub.updates) == (1, 1, [2, 2], [1])
    stored = hub.stored()
    gone = stored[IMAGE.finding_id(BASIC.id)]
    assert (gone["RecordState"], gone["Workflow"]) == ("ARCHIVED", {"Status": "RESOLVED"})
    changed = stored[IMAGE.finding_id(ENHANCED.id)]
    assert changed["FindingProviderFields"]["Severity"]["Label"] == changed["Severity"]["Label"] == "CRITICAL"
    assert (changed["RecordState"], changed["Workflow"]) == ("ACTIVE", {"Status": "NEW"})

    run(hub, [raised, BASIC])  # in breach again: active, and Security Hub reopens its workflow by itself
    back = hub.stored()[IMAGE.finding_id(BASIC.id)]
    assert (back["RecordState"], back["Workflow"]) == ("ACTIVE", {"Status": "NEW"})
    assert hub.refused == []
    assert hub.updates == [1]  # only a resolution sets the workflow


def test_a_workflow_update_no_retry_helps_leaves_the_findings_archived_and_is_reported(
    hub: AwsSecurityHub, caplog: pytest.LogCaptureFixture
) -> None:
    run(hub, [BASIC, ENHANCED])

    def denied(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "an SCP"}}, "BatchUpdateFindings")

    hub.batch_update_findings = denied  # type: ignore[method-assign]
    response = run(hub, [ENHANCED])

    assert (response["status"], response["resolved"], response["workflow_not_resolved"]) == ("exported", 1, 1)
    gone = hub.stored()[IMAGE.finding_id(BASIC.id)]
    assert gone["RecordState"] == "ARCHIVED"  # what Security Hub shows as closed
    (line,) = [r for r in caplog.records if r.getMessage() == "securityhub_workflow_not_resolved"]
    assert line.levelname == "WARNING"
    assert "AccessDeniedException" in vars(line)["error"]
    assert run(hub, [ENHANCED])["status"] == "unchanged"  # recorded: not archived again at every result


def test_a_throttled_workflow_update_records_nothing_and_the_retry_resolves(hub: AwsSecurityHub) -> None:
    run(hub, [BASIC, ENHANCED])
    real = hub.batch_update_findings

    def throttled(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "BatchUpdateFindings")

    hub.batch_update_findings = throttled  # type: ignore[method-assign]
    with pytest.raises(export.ExportFailed) as raised:
        run(hub, [ENHANCED])
    assert raised.value.retryable
    hub.batch_update_findings = real  # type: ignore[method-assign]
    assert run(hub, [ENHANCED])["resolved"] == 1
    assert hub.stored()[IMAGE.finding_id(BASIC.id)]["Workflow"] == {"Status": "RESOLVED"}


def test_an_image_with_1000_tags_of_300_characters_is_exported(hub: AwsSecurityHub) -> None:
    tags = tuple(f"{i:04d}-" + "t" * 295 for i in range(1000))  # ECR allows it; unbounded: a 306 KB finding
    image = asff.Image(ACCOUNT, "team/app", DIGEST, REGION, tags, PRODUCT)
    record()
    response = export.export_image(hub, dynamodb(), TABLE, image, [BASIC, ENHANCED], None, (), later())
    assert (response["status"], response["imported"], hub.refused) == ("exported", 2, [])
    stored = hub.stored()[image.finding_id(BASIC.id)]
    kept = stored["Resources"][0]["Details"]["AwsEcrContainerImage"]["ImageTags"]
    assert kept
    assert kept == list(tags[: len(kept)])


# --- the invocation's deadline: stop before it, hand the rest over ----------------------------------------------------


def test_the_export_stops_before_the_deadline_and_the_next_run_sends_only_the_rest(hub: AwsSecurityHub) -> None:
    many = [cve(i) for i in range(250)]
    with pytest.raises(export.OutOfTime) as raised:
        run(hub, many, out_of_time=lambda: len(hub.calls) >= 2)
    assert raised.value.retryable
    assert hub.calls == [100, 100]  # no call once the time was up
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert saved is not None
    assert set(saved.securityhub_findings) == {f.id for f in many[:200]}  # what Security Hub took is recorded

    response = run(hub, many)
    assert (response["imported"], hub.calls) == (50, [100, 100, 50])  # the rest, once
    assert run(hub, many)["status"] == "unchanged"
    assert len(hub.stored()) == 250


def test_resolutions_stop_before_the_deadline_too(hub: AwsSecurityHub) -> None:
    many = [cve(i) for i in range(250)]
    run(hub, many)
    with pytest.raises(export.OutOfTime):
        run(hub, [], breached=(), out_of_time=lambda: len(hub.updates) >= 1)
    assert (hub.calls[3:], hub.updates) == ([100], [100])  # one chunk archived and resolved, then stopped
    response = run(hub, [], breached=())
    assert (response["resolved"], hub.calls[3:], hub.updates) == (150, [100, 100, 50], [100, 100, 50])
    assert {(f["RecordState"], f["Workflow"]["Status"]) for f in hub.stored().values()} == {("ARCHIVED", "RESOLVED")}


def test_findings_reopened_in_two_invocations_are_all_reopened(hub: AwsSecurityHub) -> None:
    many = [cve(i) for i in range(150)]
    run(hub, many)
    run(hub, [], breached=())  # all archived
    with pytest.raises(export.OutOfTime):
        run(hub, many, out_of_time=lambda: len(hub.calls) >= 5)  # back in breach: 100 reopened, then time is up
    assert run(hub, many)["imported"] == 50  # the rest, though their content did not change
    assert {f["RecordState"] for f in hub.stored().values()} == {"ACTIVE"}
    assert hub.refused == []


def test_a_finding_aged_out_of_security_hub_is_imported_as_new(hub: AwsSecurityHub) -> None:
    record()
    earlier = asff.Exported("CRITICAL", "0" * 16, NOW - timedelta(days=120))  # the ledger says exported...
    assert ledger.record_exported(
        dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST, "a" * 64, {BASIC.id: earlier.encode()}, None
    )
    response = export.export_image(hub, dynamodb(), TABLE, IMAGE, [BASIC], None, (), later())  # ...Security Hub not
    assert (response["status"], hub.calls) == ("exported", [1, 1])  # the update refused, then sent as new
    assert [why for _, why in hub.refused] == ["a new finding lacks required top-level attributes: Severity, Types"]
    stored = hub.stored()[IMAGE.finding_id(BASIC.id)]
    assert (stored["Severity"]["Label"], stored["RecordState"]) == ("CRITICAL", "ACTIVE")


# --- pins (test-gaps): what is retryable, the first import kept ------------------------------------------------------


class Raising:
    """A Security Hub whose every call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def batch_import_findings(self, **_: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (ClientError({"Error": {"Code": "Unexpected"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, "Op"), True),
        (ClientError({"Error": {"Code": "Unexpected"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Op"), True),
        (ClientError({"Error": {"Code": "Unexpected"}, "ResponseMetadata": {"HTTPStatusCode": 499}}, "Op"), False),
        (EndpointConnectionError(endpoint_url="https://securityhub.eu-west-1.amazonaws.com"), True),
        (ReadTimeoutError(endpoint_url="https://securityhub.eu-west-1.amazonaws.com"), True),
    ],
)
def test_a_5xx_and_a_network_error_are_retryable(hub: AwsSecurityHub, error: Exception, retryable: bool) -> None:
    record()
    with pytest.raises(export.ExportFailed) as raised:
        export.export_image(Raising(error), dynamodb(), TABLE, IMAGE, [BASIC], None, (), later())
    assert raised.value.retryable is retryable


def test_the_first_import_is_recorded_once_and_kept_across_changes(hub: AwsSecurityHub) -> None:
    def first_at() -> datetime:
        saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
        assert saved is not None
        entry = asff.Exported.decode(saved.securityhub_findings[BASIC.id])
        assert entry is not None
        return entry.first_at

    run(hub, [BASIC])
    first = first_at()
    run(hub, [BASIC, ENHANCED])  # a change: BASIC unchanged
    fixed = Finding(**{**{f: getattr(BASIC, f) for f in BASIC.__slots__}, "fixed_in": "3.0.2"})  # type: ignore[arg-type]
    run(hub, [fixed, ENHANCED])  # a change of BASIC itself: an update
    assert first_at() == first
    assert hub.stored()[IMAGE.finding_id(BASIC.id)]["CreatedAt"] == asff._time(first)


class Refusing:
    """A Security Hub that refuses some findings (FailedFindings) ``times`` times, or fails the call."""

    def __init__(self, refuse: set[str], times: int, code: str = "InvalidInput", error: str | None = None) -> None:
        self.refuse, self.times, self.code, self.error = refuse, times, code, error
        self.sent: list[list[str]] = []

    def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "BatchImportFindings")
        self.sent.append([f["Id"] for f in Findings])
        failed = [f["Id"] for f in Findings if f["Id"] in self.refuse] if self.times > 0 else []
        self.times -= 1
        return {
            "FailedCount": len(failed),
            "SuccessCount": len(Findings) - len(failed),
            "FailedFindings": [{"Id": i, "ErrorCode": self.code, "ErrorMessage": "refused"} for i in failed],
        }


def test_a_refused_finding_is_logged_and_sent_again(hub: AwsSecurityHub, caplog: pytest.LogCaptureFixture) -> None:
    record()
    refusing = Refusing({IMAGE.finding_id(BASIC.id)}, times=1, code="InternalException")
    response = export.export_image(refusing, dynamodb(), TABLE, IMAGE, [BASIC, ENHANCED], None, (), NOW)
    assert response["status"] == "exported"
    assert refusing.sent == [[IMAGE.finding_id(BASIC.id), IMAGE.finding_id(ENHANCED.id)], [IMAGE.finding_id(BASIC.id)]]
    refused = [r for r in caplog.records if r.getMessage() == "securityhub_finding_refused"]
    assert [(r.error_code, r.finding_id, r.levelname) for r in refused] == [  # type: ignore[attr-defined]
        ("InternalException", IMAGE.finding_id(BASIC.id), "WARNING")
    ]


@pytest.mark.parametrize(("code", "retryable"), [("InternalException", True), ("InvalidInput", False)])
def test_a_finding_refused_twice_raises_and_records_nothing(hub: AwsSecurityHub, code: str, retryable: bool) -> None:
    record()
    refusing = Refusing({IMAGE.finding_id(BASIC.id)}, times=2, code=code)
    with pytest.raises(export.ExportFailed) as raised:
        export.export_image(refusing, dynamodb(), TABLE, IMAGE, [BASIC], None, (), NOW)
    assert raised.value.retryable is retryable
    assert code in str(raised.value)
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert saved is not None
    assert saved.securityhub_sha256 is None


@pytest.mark.parametrize(
    ("error", "retryable"),
    [("ThrottlingException", True), ("AccessDeniedException", False), ("InvalidAccessException", False)],
)
def test_aws_errors_raise_export_failed(hub: AwsSecurityHub, error: str, retryable: bool) -> None:
    record()
    with pytest.raises(export.ExportFailed) as raised:
        export.export_image(Refusing(set(), 0, error=error), dynamodb(), TABLE, IMAGE, [BASIC], None, (), NOW)
    assert raised.value.retryable is retryable


# --- the findings handler: export after the alert ----------------------------------------------------------------


def with_aws_rules(monkeypatch: pytest.MonkeyPatch) -> AwsSecurityHub:
    """The functions' Security Hub client (``aws.client``) becomes moto's with AWS's rules: the one returned."""
    real = findings.aws.client
    ruled = AwsSecurityHub(boto3.client("securityhub", region_name=REGION))

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        return ruled if service == "securityhub" else real(service, *args, **kwargs)

    monkeypatch.setattr(findings.aws, "client", client)
    return ruled


@pytest.fixture
def handler_env(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scanner]:
    fake = Scanner()
    monkeypatch.setattr(stage.image_findings, "read_image_findings", fake.read)
    monkeypatch.setenv("LEDGER_TABLE_NAME", TABLE)
    monkeypatch.setenv("SECURITY_HUB_PRODUCT_ARN", PRODUCT)
    monkeypatch.setenv("SEVERITY_THRESHOLDS", json.dumps({"CRITICAL": 0, "HIGH": 2}))
    create_table(dynamodb(), TABLE)
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="ecr-scan-findings")["TopicArn"]
    monkeypatch.setenv("SNS_TOPIC_ARN", topic)
    with_aws_rules(monkeypatch)
    load_settings.cache_clear()
    yield fake
    load_settings.cache_clear()


def hub_findings() -> dict[str, dict[str, Any]]:
    client = boto3.client("securityhub", region_name=REGION)
    return {f["Id"]: f for f in client.get_findings(MaxResults=100)["Findings"]}


def test_the_handler_exports_after_the_alert_and_resolves_when_clean(handler_env: Scanner) -> None:
    cves = {"CVE-2026-0001": "CRITICAL", "CVE-2026-0002": "MEDIUM"}
    assert findings.handler(scan_event(handler_env, cves), None)["status"] == "notified"
    stored = hub_findings()
    assert list(stored) == [IMAGE.finding_id("CVE-2026-0001")]  # MEDIUM is not over a threshold
    assert stored[IMAGE.finding_id("CVE-2026-0001")]["Resources"][0]["Details"]["AwsEcrContainerImage"]["ImageTags"]
    updated = stored[IMAGE.finding_id("CVE-2026-0001")]["UpdatedAt"]

    assert findings.handler(scan_event(handler_env, cves, day=1), None)["status"] == "not_news"
    assert hub_findings()[IMAGE.finding_id("CVE-2026-0001")]["UpdatedAt"] == updated  # not imported again

    assert findings.handler(scan_event(handler_env, {"CVE-2026-0002": "MEDIUM"}, day=2), None)["status"] == "notified"
    resolved = hub_findings()[IMAGE.finding_id("CVE-2026-0001")]
    assert (resolved["RecordState"], resolved["Workflow"]["Status"]) == ("ARCHIVED", "RESOLVED")


def test_without_the_setting_nothing_is_exported(handler_env: Scanner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURITY_HUB_PRODUCT_ARN", "")
    load_settings.cache_clear()
    findings.handler(scan_event(handler_env, {"CVE-2026-0001": "CRITICAL"}), None)
    assert hub_findings() == {}


def test_an_export_that_cannot_succeed_never_costs_the_alert(
    handler_env: Scanner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(findings.aws, "client", _failing_securityhub("AccessDeniedException"))
    capsys.readouterr()
    response = findings.handler(scan_event(handler_env, {"CVE-2026-0001": "CRITICAL"}), None)
    assert response["status"] == "notified"  # answered, not raised: a retry cannot help
    assert emitted_from(capsys.readouterr().out, "SecurityHubExportFailures") == [1]
    assert hub_findings() == {}


def test_a_retryable_export_failure_raises_and_the_retry_only_exports(
    handler_env: Scanner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = findings.aws.client
    monkeypatch.setattr(findings.aws, "client", _failing_securityhub("ThrottlingException"))
    event = scan_event(handler_env, {"CVE-2026-0001": "CRITICAL"})
    capsys.readouterr()
    with pytest.raises(export.ExportFailed):
        findings.handler(event, None)
    out = capsys.readouterr().out
    assert emitted_from(out, "SecurityHubExportFailures") == [1]
    assert emitted_from(out, "NotificationsSent") == [1]  # the alert went out first
    monkeypatch.setattr(findings.aws, "client", real)
    response = findings.handler(event, None)  # Lambda's retry of the same event
    assert response["status"] == "duplicate"  # nothing published again
    assert emitted_from(capsys.readouterr().out, "NotificationsSent") == []
    assert list(hub_findings()) == [IMAGE.finding_id("CVE-2026-0001")]


def test_the_failure_is_logged_as_an_error(
    handler_env: Scanner, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(findings.aws, "client", _failing_securityhub("AccessDeniedException"))
    findings.handler(scan_event(handler_env, {"CVE-2026-0001": "CRITICAL"}), None)
    (line,) = [r for r in caplog.records if r.getMessage() == "securityhub_export_failed"]
    fields = vars(line)
    assert line.levelname == "ERROR"
    assert fields["retryable"] is False
    assert "AccessDeniedException" in fields["error"]
    assert fields["image_digest"] == DIGEST
    assert fields["stage_status"] == "notified"


class Deadline:
    """A Lambda context whose time left is ``left()`` (milliseconds)."""

    def __init__(self, left: Callable[[], int]) -> None:
        self.left = left

    def get_remaining_time_in_millis(self) -> int:
        return self.left()


def test_a_scan_event_out_of_time_hands_its_export_to_lambdas_retry(
    handler_env: Scanner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ruled = with_aws_rules(monkeypatch)
    event = scan_event(handler_env, {"CVE-2026-0001": "CRITICAL"})
    capsys.readouterr()
    with pytest.raises(export.ExportFailed) as raised:  # the alert went out; the export is Lambda's retry's
        findings.handler(event, Deadline(lambda: export.DEADLINE_RESERVE_MS - 1))
    assert raised.value.retryable
    assert ruled.calls == []  # nothing sent with less than the reserve left
    out = capsys.readouterr().out
    assert emitted_from(out, "NotificationsSent") == [1]
    assert emitted_from(out, "SecurityHubExportFailures") == []  # handed over, not failed

    response = findings.handler(event, Deadline(lambda: 60_000))  # Lambda's retry, with its own time
    assert response["status"] == "duplicate"
    assert (ruled.calls, list(hub_findings())) == ([1], [IMAGE.finding_id("CVE-2026-0001")])


@pytest.fixture
def batch_env(inbox: alerts.Inbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsSecurityHub]:
    monkeypatch.setenv("SECURITY_HUB_PRODUCT_ARN", PRODUCT)
    load_settings.cache_clear()
    yield with_aws_rules(monkeypatch)
    load_settings.cache_clear()


def test_a_burst_of_changed_images_stops_before_the_deadline_and_hands_the_rest_to_sqs(
    batch_env: AwsSecurityHub, reader: alerts.Reader, inbox: alerts.Inbox
) -> None:
    ruled = batch_env
    digests = [f"sha256:{i:064x}" for i in range(4)]
    for i, digest in enumerate(digests):
        reader.by_digest[digest] = [alerts.Finding(f"CVE-2026-{i:04d}", "CRITICAL")]
    batch = alerts.sqs_batch(
        [alerts.finding_event(d, f"CVE-2026-{i:04d}", "CRITICAL", i) for i, d in enumerate(digests)]
    )
    reserve = export.DEADLINE_RESERVE_MS

    # time runs short once two images are exported: the others are handed back to the queue, their alerts sent
    response = findings.handler(batch, Deadline(lambda: 60_000 if len(ruled.calls) < 2 else reserve - 1))

    assert response == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert ruled.calls == [1, 1]
    assert len(inbox()) == 4  # every image's alert went out first
    redelivered = {"Records": [r for r in batch["Records"] if r["messageId"] in ("m2", "m3")]}
    assert findings.handler(redelivered, Deadline(lambda: 60_000)) == {"batchItemFailures": []}
    assert inbox() == []  # nothing notified twice
    assert ruled.calls == [1, 1, 1, 1]  # nothing exported twice, nothing lost
    assert len(ruled.stored()) == 4


def emitted_from(out: str, name: str) -> list[Any]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [line[name] for line in lines if name in line]


def _failing_securityhub(code: str) -> Any:
    real = findings.aws.client

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        if service == "securityhub":
            return Refusing(set(), 0, error=code)
        return real(service, *args, **kwargs)

    return client


# --- the ledger's export state ---------------------------------------------------------------------------------


def test_the_export_state_round_trips_and_every_stage_write_carries_it(hub: AwsSecurityHub) -> None:
    record()
    assert ledger.record_exported(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST, "a" * 64, {"CVE-1": "HIGH x 1"}, None)
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert saved is not None
    assert (saved.securityhub_sha256, dict(saved.securityhub_findings)) == ("a" * 64, {"CVE-1": "HIGH x 1"})
    assert saved.revision == 2  # the export moves the revision on: a writer that read before must read again
    assert ledger.from_item(ledger.to_item(saved)) == saved
    record(breached=())  # the findings stage's next write keeps the export state
    again = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert again is not None
    assert (again.securityhub_sha256, dict(again.securityhub_findings)) == ("a" * 64, {"CVE-1": "HIGH x 1"})


def test_the_export_state_is_recorded_only_over_the_one_read(hub: AwsSecurityHub) -> None:
    assert not ledger.record_exported(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST, "a" * 64, {}, None)  # no record
    record()
    assert ledger.record_exported(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST, "a" * 64, {}, None)
    assert not ledger.record_exported(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST, "b" * 64, {}, None)
    assert not ledger.record_exported(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST, "b" * 64, {}, "c" * 64)
    assert ledger.record_exported(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST, "b" * 64, {}, "a" * 64)


def test_the_export_state_is_bounded(hub: AwsSecurityHub) -> None:
    record()
    many = {f"CVE-2026-{i:05d}": f"HIGH {i:016x} 1764590400" for i in range(ledger.SECURITYHUB_TRACKED_MAX + 500)}
    assert ledger.record_exported(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST, "a" * 64, many, None)
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert saved is not None
    assert set(saved.securityhub_findings) == set(list(many)[: ledger.SECURITYHUB_TRACKED_MAX])  # the first ones kept
    assert ledger.item_size(ledger.to_item(saved)) < 60_000  # well within the record's budget
    assert ledger.fit(saved) == saved
