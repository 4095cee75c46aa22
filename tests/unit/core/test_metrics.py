"""core/metrics.py: EMF lines validated against the specification's structure; the handlers' metrics read back."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import emf
import pytest
from conftest import ACCOUNT
from ecr_fakes import FakeContext, client_error, push, set_last_scan, sqs_event, work_body
from handlers.test_findings_alerts import inbox, reader  # noqa: F401 (fixtures used by a test below)

from ecr_scan_reporter.core import aws, metrics
from ecr_scan_reporter.core.config import ConfigError, Settings
from ecr_scan_reporter.core.metrics import Metric, MetricError
from ecr_scan_reporter.handlers import findings, images, load_settings, repositories

NOW = datetime(2026, 11, 29, 10, 0, 0, 123000, tzinfo=UTC)
FN = {metrics.FUNCTION_NAME: "ecr-scan-reporter-images"}


def parsed(lines: list[str]) -> list[dict[str, Any]]:
    documents = emf.parse("\n".join(lines))
    assert len(documents) == len(lines)
    return documents


# --- the documents ------------------------------------------------------------------------------------------------


def test_one_document_carries_namespace_timestamp_dimensions_units_and_values() -> None:
    lines = metrics.render(
        metrics.counts({metrics.SCANS_STARTED: 7, metrics.IMAGES_CONSIDERED: 12}), "ECRScanReporter", NOW, FN
    )
    [doc] = parsed(lines)
    assert doc == {
        "_aws": {
            "Timestamp": 1795946400123,  # 2026-11-29T10:00:00.123Z
            "CloudWatchMetrics": [
                {
                    "Namespace": "ECRScanReporter",
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [
                        {"Name": "ScansStarted", "Unit": "Count"},
                        {"Name": "ImagesConsidered", "Unit": "Count"},
                    ],
                }
            ],
        },
        "FunctionName": "ecr-scan-reporter-images",
        "ScansStarted": 7,
        "ImagesConsidered": 12,
    }
    assert "\n" not in lines[0]


def test_each_dimension_value_gets_its_own_document_and_equal_metrics_are_summed() -> None:
    measured = [
        Metric(metrics.IMAGES_IN_BREACH, 1, dimensions={metrics.SEVERITY: "CRITICAL"}),
        Metric(metrics.IMAGES_IN_BREACH, 1, dimensions={metrics.SEVERITY: "HIGH"}),
        Metric(metrics.IMAGES_IN_BREACH, 2, dimensions={metrics.SEVERITY: "CRITICAL"}),
        Metric(metrics.NOTIFICATIONS_SENT, 1, dimensions={metrics.EVENT_TYPE: "threshold_breached"}),
    ]
    docs = parsed(metrics.render(measured, "Team/Security", NOW, FN))
    assert len(docs) == 3
    assert emf.values(docs) == {
        ("ImagesInBreach", (("FunctionName", FN["FunctionName"]), ("Severity", "CRITICAL"))): 3,
        ("ImagesInBreach", (("FunctionName", FN["FunctionName"]), ("Severity", "HIGH"))): 1,
        ("NotificationsSent", (("EventType", "threshold_breached"), ("FunctionName", FN["FunctionName"]))): 1,
    }


def test_more_than_100_metrics_are_split_into_documents_of_at_most_100() -> None:
    measured = [Metric(f"Metric{i:03d}", i) for i in range(250)]
    docs = parsed(metrics.render(measured, "ECRScanReporter", NOW))
    assert [len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in docs] == [100, 100, 50]
    assert sum(v for d in docs for k, v in d.items() if k.startswith("Metric")) == sum(range(250))
    assert all(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]] for d in docs)


def test_fractional_values_and_other_units_are_kept() -> None:
    [doc] = parsed(metrics.render([Metric("ReportSeconds", 1.5, "Seconds")], "ECRScanReporter", NOW))
    assert doc["ReportSeconds"] == 1.5
    assert doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "ReportSeconds", "Unit": "Seconds"}]


@pytest.mark.parametrize(
    ("measured", "dimensions", "problem"),
    [
        ([Metric("X", math.nan)], None, "finite number"),
        ([Metric("X", math.inf)], None, "finite number"),
        ([Metric("X", True)], None, "finite number"),
        ([Metric("X", 1, "Things")], None, "not a CloudWatch unit"),
        ([Metric("X", 1), Metric("X", 1, "Seconds")], None, "two units"),
        ([Metric("", 1)], None, "1-1024 characters"),
        ([Metric("_aws", 1)], None, "1-1024 characters"),
        ([Metric("FunctionName", 1)], FN, "not a dimension"),
        ([Metric("X", 1, dimensions={"Digest": "sha256:0"})], None, "bounded"),
        ([Metric("X", 1, dimensions={metrics.SEVERITY: ""})], None, "1-1024"),
        ([Metric("X", 1, dimensions={metrics.SEVERITY: "x" * 1025})], None, "1-1024"),
    ],
)
def test_what_the_specification_refuses_is_refused(
    measured: list[Metric], dimensions: dict[str, str] | None, problem: str
) -> None:
    with pytest.raises(MetricError, match=problem):
        metrics.render(measured, "ECRScanReporter", NOW, dimensions)


@pytest.mark.parametrize("namespace", ["", "AWS/ECR", "has space", "x" * 256, "tab\t", "é"])
def test_bad_namespaces_are_refused(namespace: str) -> None:
    with pytest.raises(MetricError, match="namespace"):
        metrics.render(metrics.counts({"X": 1}), namespace, NOW)


@pytest.mark.parametrize(
    "broken",
    [
        lambda d: d["_aws"].pop("Timestamp"),
        lambda d: d["_aws"].pop("CloudWatchMetrics"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].pop("Namespace"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"].extend({"Name": f"M{i}"} for i in range(100)),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0].extend(f"D{i}" for i in range(30)),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Things"),
        lambda d: d.pop("FunctionName"),
        lambda d: d.update(ScansStarted="7"),
    ],
)
def test_the_validator_itself_rejects_broken_documents(broken: Any) -> None:
    doc = json.loads(metrics.render(metrics.counts({metrics.SCANS_STARTED: 7}), "N", NOW, FN)[0])
    emf.validate(doc)
    broken(doc)
    with pytest.raises((AssertionError, KeyError)):
        emf.validate(doc)


def test_emit_writes_one_line_per_document() -> None:
    out = io.StringIO()
    assert metrics.emit([Metric(f"M{i}", 1) for i in range(101)], "N", NOW, stream=out) == 2
    assert len(parsed(out.getvalue().splitlines())) == 2


# --- configuration -------------------------------------------------------------------------------------------------


def test_namespace_setting() -> None:
    assert Settings.from_env({}).metrics_namespace == "ECRScanReporter"
    assert Settings.from_env({"METRICS_NAMESPACE": " Platform/ECR "}).metrics_namespace == "Platform/ECR"
    with pytest.raises(ConfigError, match="METRICS_NAMESPACE"):
        Settings.from_env({"METRICS_NAMESPACE": "AWS/ECR"})


# --- the handlers ---------------------------------------------------------------------------------------------------


@pytest.fixture
def queue_url(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = aws.client("sqs").create_queue(QueueName="work")["QueueUrl"]
    monkeypatch.setenv("QUEUE_URL", url)
    monkeypatch.setenv("METRICS_NAMESPACE", "Test/ECR")
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    load_settings.cache_clear()
    yield url
    load_settings.cache_clear()


def handler_metrics(capsys: pytest.CaptureFixture[str]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    docs = emf.parse(capsys.readouterr().out)
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in docs} == {"Test/ECR"}
    return emf.values(docs)


class Context:
    function_name = "prefix-repositories"


def test_repositories_handler_counts_the_repositories_queued(
    queue_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ecr = aws.client("ecr")
    for name in ("team/a", "team/b", "team/c"):
        ecr.create_repository(repositoryName=name)
    repositories.handler({}, Context())
    assert handler_metrics(capsys) == {("RepositoriesQueued", (("FunctionName", "prefix-repositories"),)): 3}


def test_images_handler_counts_this_invocations_work_only(queue_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/big")
    digests = [push(ecr, "team/big", i, f"v{i}") for i in range(10)]
    set_last_scan("team/big", digests[0], datetime.now(UTC) - timedelta(days=1))
    fn = (("FunctionName", FakeContext.function_name),)
    event, seen = sqs_event([work_body("team/big")]), []
    while True:
        images.handler(event, FakeContext(calls=3))  # 4 images per invocation
        seen.append(handler_metrics(capsys))
        handed = aws.client("sqs").receive_message(QueueUrl=queue_url).get("Messages", [])
        if not handed:
            break
        aws.client("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=handed[0]["ReceiptHandle"])
        event = sqs_event([handed[0]["Body"]])
    assert [m[("ImagesConsidered", fn)] for m in seen] == [4, 4, 2]
    assert sum(m[("ScansStarted", fn)] for m in seen) == 9
    assert all(m[("ScansRefusedByDailyLimit", fn)] == 0 for m in seen)


def test_images_handler_counts_scans_refused_by_the_daily_limit(
    queue_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/app")
    push(ecr, "team/app", 1, "v1")
    push(ecr, "team/app", 2, "v2")

    class DailyLimitReached:  # what ECR answers for an image already scanned today
        def __getattr__(self, name: str) -> Any:
            return getattr(ecr, name)

        def start_image_scan(self, **kwargs: Any) -> Any:
            raise client_error("LimitExceededException", "StartImageScan")

    real = aws.client
    monkeypatch.setattr(aws, "client", lambda s, **kw: DailyLimitReached() if s == "ecr" else real(s, **kw))
    images.handler(sqs_event([work_body("team/app", registry_id=ACCOUNT)]), FakeContext())
    fn = (("FunctionName", FakeContext.function_name),)
    found = handler_metrics(capsys)
    assert (found[("ScansStarted", fn)], found[("ScansRefusedByDailyLimit", fn)]) == (0, 2)


def test_images_handler_counts_the_images_ecr_cannot_scan(
    queue_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26: a Helm chart (recognised from DescribeImages) and an artifact ECR refuses are ImagesNotScannable,
    neither started nor refused by the daily limit."""
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/app")
    _, chart, refused = (push(ecr, "team/app", i, f"v{i}") for i in (1, 2, 3))

    class WithArtifacts:  # moto leaves artifactMediaType out and scans whatever it is asked to
        def __getattr__(self, name: str) -> Any:
            return getattr(ecr, name)

        def describe_images(self, **kwargs: Any) -> Any:
            response = ecr.describe_images(**kwargs)
            for detail in response["imageDetails"]:
                if detail["imageDigest"] == chart:
                    detail["artifactMediaType"] = "application/vnd.cncf.helm.config.v1+json"
            return response

        def start_image_scan(self, **kwargs: Any) -> Any:
            if kwargs["imageId"]["imageDigest"] == refused:
                raise client_error("UnsupportedImageTypeException", "StartImageScan")
            return ecr.start_image_scan(**kwargs)

    real = aws.client
    monkeypatch.setattr(aws, "client", lambda s, **kw: WithArtifacts() if s == "ecr" else real(s, **kw))
    images.handler(sqs_event([work_body("team/app", registry_id=ACCOUNT)]), FakeContext())
    fn = (("FunctionName", FakeContext.function_name),)
    found = handler_metrics(capsys)
    assert (found[("ImagesConsidered", fn)], found[("ImagesNotScannable", fn)]) == (3, 2)
    assert (found[("ScansStarted", fn)], found[("ScansRefusedByDailyLimit", fn)]) == (1, 0)


def test_findings_handler_counts_notifications_by_type_and_breaches_by_severity(
    moto: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers.test_findings import TOPIC_ARN, TOPIC_NAME, ecr_scan

    monkeypatch.setenv("SNS_TOPIC_ARN", TOPIC_ARN)
    monkeypatch.setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "prefix-findings")
    monkeypatch.setenv("METRICS_NAMESPACE", "Test/ECR")
    aws.client("sns").create_topic(Name=TOPIC_NAME)
    load_settings.cache_clear()
    findings.handler(ecr_scan({"CRITICAL": 2, "HIGH": 1, "MEDIUM": 9}), None)
    fn = ("FunctionName", "prefix-findings")
    assert handler_metrics(capsys) == {
        ("NotificationsSent", (("EventType", "threshold_breached"), fn)): 1,
        ("ImagesInBreach", (fn, ("Severity", "CRITICAL"))): 1,
        ("ImagesInBreach", (fn, ("Severity", "HIGH"))): 1,
    }
    findings.handler(ecr_scan({"MEDIUM": 9}), None)
    assert emf.parse(capsys.readouterr().out) == []  # below threshold: nothing sent, nothing in breach
    load_settings.cache_clear()


def test_findings_handler_counts_results_held_back_as_already_notified(
    moto: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3
    from conftest import REGION
    from handlers.test_findings import TOPIC_ARN, TOPIC_NAME, ecr_scan

    from core.test_ledger import create_table

    for name, value in {
        "SNS_TOPIC_ARN": TOPIC_ARN,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_FUNCTION_NAME": "prefix-findings",
        "METRICS_NAMESPACE": "Test/ECR",
        "LEDGER_TABLE_NAME": "ledger",
    }.items():
        monkeypatch.setenv(name, value)
    aws.client("sns").create_topic(Name=TOPIC_NAME)
    create_table(boto3.client("dynamodb", region_name=REGION), "ledger")
    load_settings.cache_clear()
    first, second = ecr_scan({"CRITICAL": 2}), ecr_scan({"CRITICAL": 2})
    second["time"] = (datetime.fromisoformat(first["time"].replace("Z", "+00:00")) + timedelta(days=1)).isoformat()
    fn = ("FunctionName", "prefix-findings")
    assert findings.handler(first, None)["status"] == "notified"
    assert handler_metrics(capsys) == {
        ("NotificationsSent", (("EventType", "threshold_breached"), fn)): 1,
        ("ImagesInBreach", (fn, ("Severity", "CRITICAL"))): 1,
    }
    assert findings.handler(second, None)["status"] == "not_news"  # the same findings, already notified
    assert handler_metrics(capsys) == {
        ("NotificationsHeldBack", (fn,)): 1,
        ("ImagesInBreach", (fn, ("Severity", "CRITICAL"))): 1,
    }
    load_settings.cache_clear()


def test_findings_handler_counts_suppressed_findings(
    inbox: Any,  # noqa: F811 (the imported fixture)
    reader: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With the alerts tests' fixtures: a stored suppression hides one CRITICAL finding of three."""
    import handlers.test_findings_alerts as alerts

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "prefix-findings")
    monkeypatch.setenv("METRICS_NAMESPACE", "Test/ECR")
    alerts.store_suppressions(monkeypatch, [alerts.suppression("CVE-2026-1000", alerts.TODAY + timedelta(days=1))])
    reader.by_digest[alerts.DIGEST] = [alerts.CRIT, alerts.HIGH1, alerts.HIGH2]

    response = findings.handler(alerts.ecr_event({"CRITICAL": 1, "HIGH": 2}), None)

    assert response["status"] == "notified"  # HIGH 2 > 1 still breaches
    found = handler_metrics(capsys)
    fn = ("FunctionName", "prefix-findings")
    assert found[("FindingsSuppressed", (fn,))] == 1
    assert found[("ImagesInBreach", (fn, ("Severity", "HIGH")))] == 1
    assert ("ImagesInBreach", (fn, ("Severity", "CRITICAL"))) not in found


def test_findings_handler_counts_a_claimed_notification_resent_by_the_retry(
    inbox: Any,  # noqa: F811 (the imported fixture)
    reader: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An invocation died between its claim and SNS accepting the message; the retry (after the claim's deadline)
    sends the claimed notification first: a notification sent, whatever the retry itself answers."""
    from dataclasses import replace

    import boto3
    import handlers.test_findings_alerts as alerts
    from conftest import REGION

    from ecr_scan_reporter.alerts import stage
    from ecr_scan_reporter.core import ledger

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "prefix-findings")
    monkeypatch.setenv("METRICS_NAMESPACE", "Test/ECR")
    load_settings.cache_clear()
    reader.by_digest[alerts.DIGEST] = [alerts.CRIT]
    event = alerts.ecr_event({"CRITICAL": 1})
    publish = stage.sns_message.publish

    def crash(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("killed before SNS accepted the message")

    monkeypatch.setattr(stage.sns_message, "publish", crash)
    with pytest.raises(RuntimeError):
        findings.handler(event, None)
    monkeypatch.setattr(stage.sns_message, "publish", publish)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    claimed = ledger.get_record(dynamodb, alerts.TABLE, ACCOUNT, "team/api", alerts.DIGEST)
    assert claimed is not None
    assert claimed.pending_type == "threshold_breached"
    expired = replace(claimed, pending_until=datetime.now(UTC) - timedelta(seconds=1))
    assert ledger.put_record(dynamodb, alerts.TABLE, expired, claimed.revision) is not None  # the deadline passed
    capsys.readouterr()

    assert findings.handler(event, None)["status"] == "duplicate"  # the retry: its own result is the claimed one
    assert len(inbox()) == 1  # the claimed notification, sent by the retry
    fn = ("FunctionName", "prefix-findings")
    assert emf.values(emf.parse(capsys.readouterr().out)) == {
        ("NotificationsSent", (("EventType", "threshold_breached"), fn)): 1
    }
