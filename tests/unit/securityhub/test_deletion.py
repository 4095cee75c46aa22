"""An image deleted from ECR resolves what the Security Hub export sent for it (securityhub/deletion.py,
export.resolve_deleted, the findings handler), against moto's Security Hub, ECR and DynamoDB (in process).

Fixture: tests/unit/fixtures/events/ecr-eventbridge-doc_ecr-image-action-delete.json, Amazon ECR User Guide,
"Amazon ECR events and EventBridge", event for an image deletion (region eu-west-1 and repository team/app instead
of us-west-2 and my-repository-name).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION
from ecr_fakes import push
from handlers.test_findings_ledger import DIGEST, TABLE, Scanner, scan_event

from ecr_scan_reporter.core import ledger, log
from ecr_scan_reporter.handlers import findings, load_settings
from ecr_scan_reporter.securityhub import asff, deletion, export
from securityhub.test_export import (
    BASIC,
    ENHANCED,
    NOW,
    PRODUCT,
    AwsSecurityHub,
    Refusing,
    _failing_securityhub,
    cve,
    dynamodb,
    emitted_from,
    handler_env,
    hub,
    hub_findings,
    in_hub,
    later,
    valid_request,
)

__all__ = ["handler_env", "hub"]  # fixtures, imported for pytest
FIXTURE = Path(__file__).parents[1] / "fixtures" / "events" / "ecr-eventbridge-doc_ecr-image-action-delete.json"
SAMPLE_DIGEST = "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"


def sample(**detail: Any) -> dict[str, Any]:
    event = json.loads(FIXTURE.read_text())
    event["detail"].update(detail)
    return {**event, "detail": {k: v for k, v in event["detail"].items() if v is not None}}


def delete_event(digest: str = DIGEST, tag: str | None = "1.0") -> dict[str, Any]:
    return sample(**{"image-digest": digest, "image-tag": tag})


# --- the event, pure -------------------------------------------------------------------------------------------


def test_the_documented_deletion_event() -> None:
    event = json.loads(FIXTURE.read_text())
    assert deletion.is_image_action(event)
    assert deletion.parse(event) == deletion.ImageDeleted(
        repository="team/app",
        registry_id="123456789012",
        region="eu-west-1",
        image_digest=SAMPLE_DIGEST,
        image_tag="latest",
        time=datetime(2019, 11, 16, 2, 1, 5, tzinfo=UTC),
    )
    assert deletion.parse(sample(**{"image-tag": None})).image_tag is None  # a delete by digest may name no tag


@pytest.mark.parametrize(
    ("change", "why"),
    [({"action-type": "PUSH"}, "PUSH"), ({"result": "FAILURE"}, "FAILURE")],
)
def test_a_push_or_a_failed_delete_is_unsupported(change: dict[str, str], why: str) -> None:
    with pytest.raises(deletion.UnsupportedEvent, match=why):
        deletion.parse(sample(**change))


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ("not an object", "JSON object"),
        ({**json.loads(FIXTURE.read_text()), "detail": None}, "detail is missing"),
        (sample(**{"image-digest": None}), "detail.image-digest is missing"),
        (sample(**{"repository-name": ""}), "detail.repository-name must be a non-empty string"),
        (sample(**{"action-type": 3}), "detail.action-type must be a non-empty string"),
        (sample(**{"image-tag": ["latest"]}), "detail.image-tag must be a string"),
        ({**json.loads(FIXTURE.read_text()), "account": "12345"}, "12-digit"),
        ({**json.loads(FIXTURE.read_text()), "time": "yesterday"}, "ISO-8601"),
    ],
)
def test_a_malformed_deletion_event_names_what_is_wrong(event: Any, problem: str) -> None:
    with pytest.raises(deletion.MalformedEvent, match=problem):
        deletion.parse(event)


def test_the_resolved_form_of_a_deleted_image() -> None:
    image = asff.Image(ACCOUNT, "team/app", DIGEST, REGION, ("1.0",), PRODUCT)
    record = ledger.LedgerRecord(
        registry_id=ACCOUNT,
        repository="team/app",
        digest=DIGEST,
        securityhub_findings={"CVE-1": asff.Exported("HIGH", "0" * 16, NOW).encode(), "CVE-2": "unreadable"},
    )
    bodies = deletion.resolved_bodies(image, record, NOW)
    valid_request(bodies)
    assert [(b["Id"], b["RecordState"], "Workflow" in b) for b in bodies] == [
        (image.finding_id("CVE-1"), "ARCHIVED", False),
        (image.finding_id("CVE-2"), "ARCHIVED", False),  # unreadable entry: archived all the same
    ]  # the workflow: BatchUpdateFindings, after the import
    assert "deleted from ECR" in bodies[0]["Description"]
    assert bodies[0]["FindingProviderFields"]["Severity"] == {"Label": "HIGH"}


# --- export.resolve_deleted against moto -------------------------------------------------------------------------


def ecr() -> Any:
    return boto3.client("ecr", region_name=REGION)


def exported(hub: AwsSecurityHub, digest: str, found: list[Any]) -> asff.Image:
    """The image's record as the findings stage writes it, then exported: ``found`` is in Security Hub."""
    written = ledger.result_record(
        None,
        registry_id=ACCOUNT,
        repository="team/app",
        digest=digest,
        image_tags=("1.0",),
        source="ecr",
        status="COMPLETE",
        completed_at=NOW,
        severity_counts={},
        findings={},
        failure_reason=None,
        breached=("CRITICAL", "HIGH"),
        notified_findings=frozenset(),
        notify=None,
        now=NOW,
        ttl=0,
    )
    assert ledger.put_record(dynamodb(), TABLE, written, None) is not None
    image = asff.Image(ACCOUNT, "team/app", digest, REGION, ("1.0",), PRODUCT)
    assert export.export_image(hub, dynamodb(), TABLE, image, found, None, (), later())["status"] == "exported"
    return image


def test_a_deleted_image_has_its_findings_resolved_and_its_record_cleared(hub: AwsSecurityHub) -> None:
    ecr().create_repository(repositoryName="team/app")
    image = exported(hub, DIGEST, [BASIC, ENHANCED])
    assert {f["RecordState"] for f in in_hub(hub).values()} == {"ACTIVE"}

    response = export.resolve_deleted(hub, ecr(), dynamodb(), TABLE, image, later())
    assert (response["status"], response["resolved"], response["calls"]) == ("resolved", 2, 1)
    stored = in_hub(hub)
    assert set(stored) == {image.finding_id(BASIC.id), image.finding_id(ENHANCED.id)}
    assert {(f["RecordState"], f["Workflow"]["Status"]) for f in stored.values()} == {("ARCHIVED", "RESOLVED")}
    assert stored[image.finding_id(BASIC.id)]["Severity"]["Label"] == "CRITICAL"
    assert (hub.refused, hub.updates) == ([], [2])
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert saved is not None
    assert saved.securityhub_sha256 == asff.fingerprint({})  # nothing exported...
    assert asff.active(saved.securityhub_findings) == {}
    remembered = {k: asff.Exported.decode(v) for k, v in saved.securityhub_findings.items()}
    assert {k: e.archived_at is not None for k, e in remembered.items() if e} == {BASIC.id: True, ENHANCED.id: True}

    calls = list(hub.calls)
    assert export.resolve_deleted(hub, ecr(), dynamodb(), TABLE, image, later())["status"] == "not_exported"  # again
    assert hub.calls == calls


def test_250_findings_of_a_deleted_image_take_three_calls(hub: AwsSecurityHub) -> None:
    image = exported(hub, DIGEST, [cve(i) for i in range(250)])  # no repository in ECR any more: gone too
    response = export.resolve_deleted(hub, ecr(), dynamodb(), TABLE, image, later())
    assert (response["resolved"], response["calls"], hub.calls) == (250, 3, [100, 100, 50, 100, 100, 50])
    assert hub.updates == [100, 100, 50]  # each call's archived findings resolved after it


def test_a_tag_deleted_while_the_digest_remains_changes_nothing(hub: AwsSecurityHub) -> None:
    ecr().create_repository(repositoryName="team/app")
    digest = push(ecr(), "team/app", 1, tag="1.0")
    image = exported(hub, digest, [BASIC])
    calls = list(hub.calls)

    assert export.resolve_deleted(hub, ecr(), dynamodb(), TABLE, image, later())["status"] == "image_remains"
    assert hub.calls == calls
    assert {f["RecordState"] for f in in_hub(hub).values()} == {"ACTIVE"}
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", digest)
    assert saved is not None
    assert set(saved.securityhub_findings) == {BASIC.id}


def test_an_image_never_exported_costs_no_call(hub: AwsSecurityHub) -> None:
    class NoCalls:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"{name} called")

    image = asff.Image(ACCOUNT, "team/app", DIGEST, REGION, (), PRODUCT)
    assert export.resolve_deleted(NoCalls(), NoCalls(), dynamodb(), TABLE, image, later())["status"] == "not_exported"


@pytest.mark.parametrize(("code", "retryable"), [("ThrottlingException", True), ("AccessDeniedException", False)])
def test_ecr_errors_raise_export_failed_and_resolve_nothing(hub: AwsSecurityHub, code: str, retryable: bool) -> None:
    image = exported(hub, DIGEST, [BASIC])

    class Failing:
        def describe_images(self, **_: Any) -> Any:
            raise export.ClientError({"Error": {"Code": code, "Message": "no"}}, "DescribeImages")

    with pytest.raises(export.ExportFailed, match=code) as raised:
        export.resolve_deleted(hub, Failing(), dynamodb(), TABLE, image, later())
    assert raised.value.retryable is retryable
    assert {f["RecordState"] for f in in_hub(hub).values()} == {"ACTIVE"}


def test_a_refused_resolution_records_nothing(hub: AwsSecurityHub) -> None:
    image = exported(hub, DIGEST, [BASIC])
    with pytest.raises(export.ExportFailed):
        export.resolve_deleted(Refusing({image.finding_id(BASIC.id)}, 2), ecr(), dynamodb(), TABLE, image, later())
    saved = ledger.get_record(dynamodb(), TABLE, ACCOUNT, "team/app", DIGEST)
    assert saved is not None
    assert set(saved.securityhub_findings) == {BASIC.id}  # the next delivery of the event sends them again


# --- the findings handler ------------------------------------------------------------------------------------------


def test_the_handler_resolves_a_deleted_image(handler_env: Scanner) -> None:
    assert findings.handler(scan_event(handler_env, {"CVE-2026-0001": "CRITICAL"}), None)["status"] == "notified"
    finding_id = f"{ACCOUNT}/team/app@{DIGEST}/CVE-2026-0001"
    assert hub_findings()[finding_id]["RecordState"] == "ACTIVE"

    response = findings.handler(delete_event(), None)  # moto's ECR never had the image: it is gone
    assert (response["status"], response["resolved"]) == ("resolved", 1)
    stored = hub_findings()[finding_id]
    assert (stored["RecordState"], stored["Workflow"]["Status"]) == ("ARCHIVED", "RESOLVED")
    assert stored["Resources"][0]["Details"]["AwsEcrContainerImage"]["ImageTags"] == ["1.0"]  # as last recorded


def test_the_handler_rejects_a_malformed_deletion_event_without_raising(
    handler_env: Scanner, caplog: pytest.LogCaptureFixture
) -> None:
    response = findings.handler(sample(**{"image-digest": None}), None)
    assert response == {"status": "rejected", "reason": "detail.image-digest is missing"}
    (record,) = [r for r in caplog.records if r.getMessage() == "scan_event_rejected"]
    line = json.loads(log.JsonFormatter().format(record))
    assert (line["level"], line["problem"], line["detail_type"]) == (
        "ERROR",
        "detail.image-digest is missing",
        "ECR Image Action",
    )
    assert hub_findings() == {}


def test_the_handler_ignores_a_push_and_a_deletion_without_the_export(
    handler_env: Scanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert findings.handler(sample(**{"action-type": "PUSH"}), None)["status"] == "ignored"
    monkeypatch.setenv("SECURITY_HUB_PRODUCT_ARN", "")
    load_settings.cache_clear()
    response = findings.handler(delete_event(), None)
    assert response["status"] == "ignored"
    assert "export is off" in response["reason"]


def test_a_retryable_failure_is_counted_and_raised(
    handler_env: Scanner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    findings.handler(scan_event(handler_env, {"CVE-2026-0001": "CRITICAL"}), None)
    real = findings.aws.client
    monkeypatch.setattr(findings.aws, "client", _failing_securityhub("ThrottlingException"))
    capsys.readouterr()
    with pytest.raises(export.ExportFailed):
        findings.handler(delete_event(), None)
    assert emitted_from(capsys.readouterr().out, "SecurityHubExportFailures") == [1]
    monkeypatch.setattr(findings.aws, "client", real)
    assert findings.handler(delete_event(), None)["status"] == "resolved"  # Lambda's retry


def test_a_failure_no_retry_helps_is_answered_logged_and_counted(
    handler_env: Scanner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    findings.handler(scan_event(handler_env, {"CVE-2026-0001": "CRITICAL"}), None)
    monkeypatch.setattr(findings.aws, "client", _failing_securityhub("AccessDeniedException"))
    capsys.readouterr()
    assert findings.handler(delete_event(), None)["status"] == "failed"
    assert emitted_from(capsys.readouterr().out, "SecurityHubExportFailures") == [1]
    (line,) = [r for r in caplog.records if r.getMessage() == "securityhub_export_failed"]
    fields = vars(line)
    assert (line.levelname, fields["stage_status"], fields["image_digest"]) == ("ERROR", "image_deleted", DIGEST)
