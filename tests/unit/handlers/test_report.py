"""handlers.report against moto: the ledger scanned, the report published (read back through an SQS subscription)
and written to S3, the metrics emitted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import emf
import pytest
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table

from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.core.config import ConfigError
from ecr_scan_reporter.core.ledger import LedgerRecord
from ecr_scan_reporter.handlers import load_settings
from ecr_scan_reporter.handlers import report as report_handler
from ecr_scan_reporter.report import store

TABLE = "esr-ledger"
BUCKET = "esr-reports-eu-west-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:esr-notifications"


class Context:
    function_name = "esr-report"


def digest(i: int) -> str:
    return f"sha256:{i:064x}"


@pytest.fixture
def world(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Ledger table, topic with an SQS subscriber, report bucket; returns the delivered SNS envelopes."""
    for name, value in {
        "LEDGER_TABLE_NAME": TABLE,
        "SNS_TOPIC_ARN": TOPIC_ARN,
        "REPORT_BUCKET_NAME": BUCKET,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    sns.create_topic(Name="esr-notifications")
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=TOPIC_ARN, Protocol="sqs", Endpoint=queue_arn)

    def delivered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    load_settings.cache_clear()
    yield delivered
    load_settings.cache_clear()


def put(repository: str, i: int, ecr_too: bool = True, **fields: Any) -> None:
    """A ledger record (and, unless ``ecr_too`` is False, its repository in ECR)."""
    ecr = boto3.client("ecr", region_name=REGION)
    existing = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
    if ecr_too and repository not in existing:
        ecr.create_repository(repositoryName=repository)
    client = boto3.client("dynamodb", region_name=REGION)
    record = LedgerRecord(registry_id=ACCOUNT, repository=repository, digest=digest(i), **fields)
    assert ledger.put_record(client, TABLE, record, None) is not None


def test_the_report_is_built_from_the_ledger_published_and_stored(
    world: Callable[[], list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    fresh = {"source": "ecr", "scan_status": "COMPLETE", "scan_completed_at": now - timedelta(days=1)}
    put("team/app", 1, image_tags=("v1",), breached=("CRITICAL",), findings={"CVE-1": "CRITICAL"}, **fresh)
    put("team/app", 2, image_tags=("v2",), breached=("CRITICAL", "HIGH"), findings={"CVE-1": "CRITICAL"}, **fresh)
    put("team/api", 3, image_tags=("v3",), **fresh)
    put("team/api", 4, source="sweep", scan_status="IN_PROGRESS", scan_started_at=now)
    boto3.client("dynamodb", region_name=REGION).put_item(  # configuration, not an image: skipped
        TableName=TABLE, Item={"pk": {"S": "config#suppressions"}, "digest": {"S": "-"}}
    )

    response = report_handler.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())

    assert response["status"] == "published"
    assert (response["images"], response["images_in_breach"], response["repositories"]) == (4, 2, 2)
    [envelope] = world()
    assert envelope["MessageAttributes"]["event_type"]["Value"] == "report"
    assert envelope["MessageAttributes"]["highest_severity"]["Value"] == "CRITICAL"
    assert envelope["Subject"] == f"ECR exposure report ({REGION}): 2 of 4 images in breach"
    doc = json.loads(envelope["Message"])
    assert (doc["version"], doc["type"]) == (1, "report")
    assert doc["summary"]["breached"] == {"CRITICAL": 2, "HIGH": 1, "MEDIUM": 0, "LOW": 0}
    assert doc["summary"]["coverage"] == {"never_scanned": 1, "failed": 0, "stale": 0, "fresh": 3}
    assert doc["top_findings"] == [
        {"id": "CVE-1", "severity": "CRITICAL", "images": 2, "repositories": 1, "suppressed_images": 0}
    ]
    assert doc["not_covered"][0]["digest"] == digest(4)

    s3 = boto3.client("s3", region_name=REGION)
    stored = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert stored == sorted(response["stored"])
    assert {k for k in stored if "latest" in k} == {"exposure-report/latest.json", "exposure-report/latest.html"}
    assert len(stored) == 4
    page = s3.get_object(Bucket=BUCKET, Key="exposure-report/latest.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert b"team/app" in page["Body"].read()
    stored_doc = json.loads(s3.get_object(Bucket=BUCKET, Key="exposure-report/latest.json")["Body"].read())
    assert stored_doc["summary"] == doc["summary"]

    found = emf.values(emf.parse(capsys.readouterr().out))
    fn = ("FunctionName", "esr-report")
    assert found[("NotificationsSent", (("EventType", "report"), fn))] == 1
    assert found[("RegistryImagesInBreach", (fn, ("Severity", "CRITICAL")))] == 2
    assert found[("RegistryImagesInBreach", (fn, ("Severity", "HIGH")))] == 1


def test_an_empty_ledger_still_reports(
    world: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPORT_BUCKET_NAME")
    response = report_handler.handler({}, Context())
    assert (response["images"], response["stored"]) == (0, [])
    [envelope] = world()
    assert json.loads(envelope["Message"])["summary"]["images"] == 0


@pytest.mark.parametrize("missing", ["LEDGER_TABLE_NAME", "SNS_TOPIC_ARN"])
def test_ledger_and_topic_are_required(world: Any, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.delenv(missing)
    load_settings.cache_clear()
    with pytest.raises(ConfigError, match=missing):
        report_handler.handler({}, Context())


def test_bad_bucket_name_is_refused(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORT_BUCKET_NAME", "Bad_Bucket")
    load_settings.cache_clear()
    with pytest.raises(ConfigError, match="REPORT_BUCKET_NAME"):
        report_handler.handler({}, Context())


def test_store_keys_are_dated_and_latest() -> None:
    from ecr_scan_reporter.report import exposure

    built = exposure.build([], datetime(2026, 11, 30, 6, 0, 5, tzinfo=UTC), scan_expiry_days=7, thresholds={})
    assert store.keys(built) == {
        "json": ["exposure-report/2026/11/30/2026-11-30T060005Z.json", "exposure-report/latest.json"],
        "html": ["exposure-report/2026/11/30/2026-11-30T060005Z.html", "exposure-report/latest.html"],
    }


def test_stored_suppressions_set_findings_apart_and_list_those_expiring(
    world: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecr_scan_reporter.alerts import suppression_store, suppressions

    now = datetime.now(UTC)
    soon, later = (now + timedelta(days=5)).date(), (now + timedelta(days=60)).date()
    document = json.dumps(
        [
            {
                "vulnerability_id": "cve-1",
                "repository_regex": "^team/",
                "expires": soon.isoformat(),
                "reason": "fix due",
            },
            {"vulnerability_id": "CVE-2", "expires": later.isoformat(), "reason": "not reachable"},
        ]
    )
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=TABLE, Item={**suppression_store.KEY, "document": {"S": document}}
    )
    monkeypatch.setenv("SUPPRESSIONS_SHA256", suppressions.document_hash(document))
    suppression_store.clear_cache()
    load_settings.cache_clear()
    fresh = {"source": "ecr", "scan_status": "COMPLETE", "scan_completed_at": now - timedelta(days=1)}
    put("team/app", 1, breached=("CRITICAL",), findings={"CVE-1": "CRITICAL", "CVE-3": "HIGH"}, **fresh)
    put("other/app", 2, breached=("CRITICAL",), findings={"CVE-1": "CRITICAL"}, **fresh)

    report_handler.handler({}, Context())

    doc = json.loads(world()[0]["Message"])
    rows = {f["id"]: (f["images"], f["suppressed_images"]) for f in doc["top_findings"]}
    assert rows == {"CVE-1": (1, 1), "CVE-3": (1, 0)}  # suppressed (case-insensitively) in team/ only
    assert [s["vulnerability_id"] for s in doc["suppressions_expiring"]] == ["cve-1"]
    assert doc["suppressions_expiring"][0]["expires"] == f"{soon.isoformat()}T00:00:00Z"
    assert doc["summary"]["suppressions_active"] == 2
    suppression_store.clear_cache()


def test_unreadable_suppressions_are_logged_and_the_report_still_goes_out(
    world: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ecr_scan_reporter.alerts import suppression_store

    monkeypatch.setenv("SUPPRESSIONS_SHA256", "0" * 64)  # no item stored
    suppression_store.clear_cache()
    load_settings.cache_clear()
    assert report_handler.handler({}, Context())["status"] == "published"
    assert len(world()) == 1
    assert any(r.getMessage() == "suppressions_unavailable" for r in caplog.records)


def test_records_of_deleted_repositories_are_left_out_and_counted(world: Callable[[], list[dict[str, Any]]]) -> None:
    now = datetime.now(UTC)
    fresh = {"source": "ecr", "scan_status": "COMPLETE", "scan_completed_at": now - timedelta(days=1)}
    put("team/app", 1, breached=("HIGH",), **fresh)
    put("team/gone", 2, ecr_too=False, breached=("CRITICAL",), **fresh)  # deleted since: its record waits for TTL
    response = report_handler.handler({}, Context())
    assert (response["images"], response["images_in_breach"]) == (1, 1)
    assert response["records_of_deleted_repositories"] == 1
    doc = json.loads(world()[0]["Message"])
    assert [r["repository"] for r in doc["repositories"]] == ["team/app"]
    assert doc["summary"]["breached"]["CRITICAL"] == 0


STALENESS = {
    "at": "2026-12-03T06:00:00Z",
    "budget": 90000,
    "configured": 90000,
    "planned": 41000,
    "spent": 40950,
    "refused_by_quota": False,
    "images": 300000,
    "in_use": 60000,
    "in_use_scan_age_days": {"p50": 3, "p95": 6, "max": 7},
    "scan_age_p95_days": 6,
    "past_expiry_in_use": 0,
    "past_expiry_not_in_use": 120,
    "in_use_past_expiry_plus_one_day": 0,
    "never_scanned": 3,
    "pushed_last_day": 3000,
    "needed_per_day": 42858,
    "quota_needed_percent": 45.9,
    "affordable_expiry_days": 4,
    "headroom": "at 300,000 images and 7 days expiry you need 42,858 scans a day (+ 3,000 on push): 46 % of the quota",
}


def test_the_scan_budgets_staleness_is_in_the_report(world: Callable[[], list[dict[str, Any]]]) -> None:
    """The repositories stage's last plan (the budget state item's staleness, met on the report's one Scan)."""
    put("team/api", 1, scan_status="COMPLETE")
    ledger.write_sweep_marker(
        boto3.client("dynamodb", region_name=REGION),
        TABLE,
        ledger.BUDGET_STATE,
        state="{}",
        **{ledger.STALENESS: json.dumps(STALENESS)},
    )
    report_handler.handler({}, Context())
    [envelope] = world()
    assert json.loads(envelope["Message"])["scan_budget"] == STALENESS  # the document SQS subscribers get
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key="exposure-report/latest.json")
    assert json.loads(stored["Body"].read())["scan_budget"] == STALENESS
    text = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key="exposure-report/latest.html")
    page = text["Body"].read().decode()
    assert "Scan budget and staleness (the sweep planned at 2026-12-03T06:00:00Z)" in page
    assert "you need 42,858 scans a day (+ 3,000 on push): 46 % of the quota" in page


def test_without_a_budget_the_report_has_no_budget_section(world: Callable[[], list[dict[str, Any]]]) -> None:
    put("team/api", 1, scan_status="COMPLETE")
    report_handler.handler({}, Context())
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key="exposure-report/latest.json")
    assert "scan_budget" not in json.loads(stored["Body"].read())


def test_the_scan_budget_section_of_the_text_report() -> None:
    from ecr_scan_reporter.report import exposure

    lines = exposure.scan_budget_lines(STALENESS | {"refused_by_quota": True})
    assert lines[1:] == [
        "Scan budget and staleness (the sweep planned at 2026-12-03T06:00:00Z)",
        "  budget 90,000 scans a day (configured 90,000), planned 41,000; the sweep before started 40,950; ECR "
        "refused scans for the registry's daily quota",
        "  in use: 60,000 of 300,000 images, scan age p50 3 / p95 6 / max 7 days",
        "  past expiry: 0 in use, 120 not in use; in use and unscanned for more than the expiry + 1 day: 0; never "
        "scanned: 3",
        "  headroom: at 300,000 images and 7 days expiry you need 42,858 scans a day (+ 3,000 on push): 46 % of the "
        "quota",
    ]
