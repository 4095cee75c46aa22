"""handlers.report as a spoke of an organization hub (moto): the report also lands in the hub's bucket under the
spoke's prefix, SSE-KMS with the hub's key; a hub that refuses the write costs nothing local (published, stored
locally), and is logged and counted."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import emf
import pytest
from conftest import ACCOUNT, REGION

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.core.config import ConfigError
from ecr_scan_reporter.handlers import load_settings
from ecr_scan_reporter.handlers import report as report_handler
from handlers.test_report import BUCKET, Context, put, world  # noqa: F401 (world: a fixture)
from handlers.test_report_faults import use_s3

HUB_BUCKET = "acme-security-ecr-reports"
PREFIX = f"{ACCOUNT}/{REGION}/"
FN = ("FunctionName", "esr-report")
Delivered = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def hub(world: Delivered, monkeypatch: pytest.MonkeyPatch) -> tuple[Delivered, str]:  # noqa: F811
    """The hub's bucket and key (moto: one account plays both), and the spoke's settings naming them."""
    key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=HUB_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    monkeypatch.setenv("HUB_REPORT_BUCKET_NAME", HUB_BUCKET)
    monkeypatch.setenv("HUB_REPORT_PREFIX", PREFIX)
    monkeypatch.setenv("HUB_REPORT_KMS_KEY_ARN", key_arn)
    load_settings.cache_clear()
    return world, key_arn


def fresh() -> dict[str, Any]:
    return {"source": "ecr", "scan_status": "COMPLETE", "scan_completed_at": datetime.now(UTC) - timedelta(days=1)}


def keys(bucket: str) -> list[str]:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_the_report_also_lands_in_the_hub_under_the_spokes_prefix_encrypted_with_the_hubs_key(
    hub: tuple[Delivered, str], capsys: pytest.CaptureFixture[str]
) -> None:
    delivered, key_arn = hub
    put("team/app", 1, breached=("CRITICAL",), findings={"CVE-1": "CRITICAL"}, **fresh())

    response = report_handler.handler({}, Context())

    assert response["status"] == "published"
    assert len(delivered()) == 1
    assert keys(HUB_BUCKET) == sorted(response["hub_stored"])
    assert {k for k in keys(HUB_BUCKET) if "latest" in k} == {f"{PREFIX}latest.json", f"{PREFIX}latest.html"}
    assert all(k.startswith(PREFIX) for k in keys(HUB_BUCKET))
    assert len(keys(HUB_BUCKET)) == 4
    assert len(keys(BUCKET)) == 4  # the local copy, as without a hub
    s3 = boto3.client("s3", region_name=REGION)
    latest = s3.get_object(Bucket=HUB_BUCKET, Key=f"{PREFIX}latest.json")
    assert (latest["ServerSideEncryption"], latest["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    doc = json.loads(latest["Body"].read())
    assert (doc["version"], doc["type"], doc["region"]) == (1, "report", REGION)
    assert doc["summary"]["breached"]["CRITICAL"] == 1
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert found[("HubReportsNotStored", (FN,))] == 0
    assert found[("ReportsNotStored", (FN,))] == 0


def test_a_hub_that_refuses_the_write_leaves_the_local_report_a_log_line_and_a_count(
    hub: tuple[Delivered, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    delivered, _ = hub
    put("team/app", 1, breached=("HIGH",), **fresh())
    use_s3(monkeypatch, lambda key: key.startswith(PREFIX))  # the hub's policy says no; the local bucket is fine

    response = report_handler.handler({}, Context())  # no exception: the spoke's own report is not lost

    assert (response["status"], response["hub_stored"]) == ("published", [])
    assert len(delivered()) == 1
    assert len(response["stored"]) == 4
    assert keys(BUCKET) == sorted(response["stored"])
    assert keys(HUB_BUCKET) == []
    refused = [r for r in caplog.records if r.getMessage() == "hub_report_not_stored"]
    assert len(refused) == 4  # every key tried
    assert {(r.levelno, r.error_code, r.bucket) for r in refused} == {(logging.ERROR, "AccessDenied", HUB_BUCKET)}
    assert all(r.key.startswith(PREFIX) for r in refused)
    assert all(sorted(r.kept_locally) == keys(BUCKET) for r in refused)
    assert not [r for r in caplog.records if r.getMessage() == "report_not_stored"]
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert found[("HubReportsNotStored", (FN,))] == 1
    assert found[("ReportsNotStored", (FN,))] == 0


def test_a_hub_bucket_that_does_not_exist_is_a_refusal_too(
    hub: tuple[Delivered, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HUB_REPORT_BUCKET_NAME", "acme-security-gone")
    load_settings.cache_clear()
    response = report_handler.handler({}, Context())
    assert (response["status"], response["hub_stored"], len(response["stored"])) == ("published", [], 4)
    codes = {r.error_code for r in caplog.records if r.getMessage() == "hub_report_not_stored"}
    assert codes == {"NoSuchBucket"}


def test_without_a_hub_nothing_is_said_about_one(world: Delivered, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    response = report_handler.handler({}, Context())
    assert "hub_stored" not in response
    assert "HubReportsNotStored" not in capsys.readouterr().out


@pytest.mark.parametrize("missing", ["HUB_REPORT_PREFIX", "HUB_REPORT_KMS_KEY_ARN"])
def test_a_hub_bucket_without_its_prefix_or_key_is_refused_before_anything_is_published(
    hub: tuple[Delivered, str], monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    delivered, _ = hub
    monkeypatch.delenv(missing)
    load_settings.cache_clear()
    with pytest.raises(ConfigError, match="HUB_REPORT_BUCKET_NAME"):
        report_handler.handler({}, Context())
    assert delivered() == []
    assert keys(BUCKET) == []


def test_the_hub_is_asked_in_its_own_region_the_one_of_its_key(
    hub: tuple[Delivered, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "us-east-1"
    key_arn = boto3.client("kms", region_name=other).create_key()["KeyMetadata"]["Arn"]
    boto3.client("s3", region_name=other).create_bucket(Bucket="acme-security-us")
    monkeypatch.setenv("HUB_REPORT_BUCKET_NAME", "acme-security-us")
    monkeypatch.setenv("HUB_REPORT_KMS_KEY_ARN", key_arn)
    load_settings.cache_clear()
    asked: list[tuple[str, str | None]] = []
    real = aws.client
    monkeypatch.setattr(
        aws, "client", lambda service, **kw: asked.append((service, kw.get("region"))) or real(service, **kw)
    )
    response = report_handler.handler({}, Context())
    assert ("s3", other) in asked
    assert f"{PREFIX}latest.json" in response["hub_stored"]
    assert len(keys(BUCKET)) == 4  # the local bucket, in the spoke's region
