"""handlers.org_report against moto: spokes' latest reports in the hub's bucket -> the organization report,
published (read back through an SQS subscription), stored under organization-report/, logged and measured."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import emf
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from conftest import ACCOUNT, REGION
from report.test_org import Rec, spoke_document

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.core.config import ConfigError
from ecr_scan_reporter.handlers import load_settings, org_report
from ecr_scan_reporter.report import org
from handlers.test_report_faults import use_s3

BUCKET = "acme-security-ecr-reports"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-hub-notifications"
A, B, C = "111111111111/eu-west-1", "111111111111/us-east-1", "222222222222/eu-west-1"
FN = ("FunctionName", "ecr-scan-hub-org-report")


class Context:
    function_name = "ecr-scan-hub-org-report"


@pytest.fixture
def hub(moto: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    for name, value in {
        "REPORT_BUCKET_NAME": BUCKET,
        "SNS_TOPIC_ARN": TOPIC_ARN,
        "EXPECTED_SPOKES": f"{A},{B},{C}",
        "SPOKE_REPORT_PERIOD_HOURS": "168",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    sns.create_topic(Name="ecr-scan-hub-notifications")
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=TOPIC_ARN, Protocol="sqs", Endpoint=queue_arn)

    def delivered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    load_settings.cache_clear()
    yield delivered
    load_settings.cache_clear()


def put(key: str, body: Any) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=data)


def seed_two_spokes() -> None:
    now = datetime.now(UTC)
    put(f"{A}/latest.json", spoke_document("eu-west-1", [Rec("team/app", 1, now - timedelta(days=1), ("CRITICAL",),
                                                             {"CVE-1": "CRITICAL"})], generated=now))  # fmt: skip
    put(f"{A}/2026/11/30/2026-11-30T060000Z.json", {"a dated copy": "not read"})
    put(f"{B}/latest.json", spoke_document("us-east-1", [Rec("web", 2, now - timedelta(days=2))], generated=now))
    put(f"{B}/latest.html", b"<html></html>")


def test_both_spokes_are_merged_the_third_named_silent_published_and_stored(
    hub: Callable[[], list[dict[str, Any]]], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_two_spokes()
    put("organization-report/latest.json", {"type": "organization_report"})  # its own output: not a spoke

    response = org_report.handler({"source": "aws.events"}, Context())

    assert (response["status"], response["event_type"]) == ("published", "organization_silent_spokes")
    assert (response["spokes_reporting"], response["spokes_silent"], response["images"]) == (2, 1, 2)
    [envelope] = hub()
    assert envelope["MessageAttributes"]["event_type"]["Value"] == "organization_silent_spokes"
    assert envelope["Subject"].startswith("1 SILENT SPOKE(S).")
    doc = json.loads(envelope["Message"])
    assert (doc["version"], doc["type"]) == (1, "organization_report")
    assert [s["spoke"] for s in doc["silent_spokes"]] == [C]
    assert sorted(s["spoke"] for s in doc["spokes"]) == [A, B]
    assert doc["top_findings"][0]["id"] == "CVE-1"
    s3 = boto3.client("s3", region_name=REGION)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="organization-report/")["Contents"]}
    assert set(response["stored"]) <= keys
    assert {"organization-report/latest.json", "organization-report/latest.html"} <= set(response["stored"])
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key="organization-report/latest.json")["Body"].read())
    assert stored["summary"] == doc["summary"]
    silent = [r for r in caplog.records if r.getMessage() == "spoke_silent"]
    assert [(r.spoke, r.reason, r.levelno) for r in silent] == [(C, "never reported", logging.WARNING)]
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert (found[("SpokesReporting", (FN,))], found[("SilentSpokes", (FN,))]) == (2, 1)
    assert found[("OrganizationImagesInBreach", (FN, ("Severity", "CRITICAL")))] == 1
    assert found[("NotificationsSent", (("EventType", "organization_silent_spokes"), FN))] == 1
    assert found[("ReportsNotStored", (FN,))] == 0


def test_every_spoke_reporting_is_a_plain_report(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPECTED_SPOKES", f"{A},{B}")
    load_settings.cache_clear()
    seed_two_spokes()
    assert org_report.handler({}, Context())["event_type"] == "organization_report"
    assert hub()[0]["MessageAttributes"]["event_type"]["Value"] == "organization_report"


def test_a_document_that_is_not_json_or_not_a_known_version_is_listed_and_logged(
    hub: Callable[[], list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    seed_two_spokes()
    put(f"{C}/latest.json", b"{not json")
    put("333333333333/eu-west-1/latest.json", {"version": 2, "type": "report", "summary": {}})
    response = org_report.handler({}, Context())
    assert response["spokes_unreadable"] == 2
    logged = {r.spoke: r.reason for r in caplog.records if r.getMessage() == "spoke_report_unreadable"}
    assert logged[C].startswith("not JSON")
    assert "report version 2" in logged["333333333333/eu-west-1"]
    doc = json.loads(hub()[0]["Message"])
    assert sorted(s["spoke"] for s in doc["unreadable_spokes"]) == [C, "333333333333/eu-west-1"]


def test_a_prefix_without_latest_is_not_a_report_and_an_expected_one_stays_silent(
    hub: Callable[[], list[dict[str, Any]]],
) -> None:
    put(f"{C}/2026/11/30/2026-11-30T060000Z.json", {"dated": True})
    response = org_report.handler({}, Context())
    assert (response["spokes_reporting"], response["spokes_silent"]) == (0, 3)


def test_a_refused_write_is_logged_and_counted_after_publishing(
    hub: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_two_spokes()
    use_s3(monkeypatch, lambda key: key.startswith("organization-report/"))
    response = org_report.handler({}, Context())
    assert (response["status"], response["stored"]) == ("published", [])
    assert len(hub()) == 1
    assert len([r for r in caplog.records if r.getMessage() == "report_not_stored"]) == 4
    assert emf.values(emf.parse(capsys.readouterr().out))[("ReportsNotStored", (FN,))] == 1


def test_a_bucket_the_hub_cannot_list_fails_before_publishing(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REPORT_BUCKET_NAME", "acme-security-gone")
    load_settings.cache_clear()
    with pytest.raises(Exception, match="NoSuchBucket"):
        org_report.handler({}, Context())
    assert hub() == []
    assert [r.error_code for r in caplog.records if r.getMessage() == "report_failed"] == ["NoSuchBucket"]


def test_the_chat_form_goes_to_the_chat_topic(hub: Callable[[], list[dict[str, Any]]], monkeypatch: Any) -> None:
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    chat_arn = sns.create_topic(Name="ecr-scan-hub-chat")["TopicArn"]
    queue = sqs.create_queue(QueueName="chat")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=chat_arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("CHAT_TOPIC_ARN", chat_arn)
    load_settings.cache_clear()
    seed_two_spokes()
    org_report.handler({}, Context())
    [message] = sqs.receive_message(QueueUrl=queue).get("Messages", [])
    chat = json.loads(json.loads(message["Body"])["Message"])
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    assert C in chat["content"]["description"]


@pytest.mark.parametrize("missing", ["REPORT_BUCKET_NAME", "SNS_TOPIC_ARN"])
def test_bucket_and_topic_are_required(hub: Any, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.delenv(missing)
    load_settings.cache_clear()
    with pytest.raises(ConfigError, match=missing):
        org_report.handler({}, Context())


# --- issue 27: one bad spoke cannot stop the organization report ------------------------------------------------------


class ReadingS3:
    """moto's S3 client whose GetObject bodies record every read size; ``fail`` makes a key's read time out."""

    def __init__(self, real: Any, fail: Callable[[str], bool] = lambda key: False) -> None:
        self.real, self.fail = real, fail
        self.reads: list[tuple[str, int | None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def get_object(self, **kwargs: Any) -> Any:
        response = self.real.get_object(**kwargs)
        key, body, reads, fail = kwargs["Key"], response["Body"], self.reads, self.fail(kwargs["Key"])

        class Body:
            def read(self, amt: int | None = None) -> bytes:
                reads.append((key, amt))
                if fail:
                    raise ReadTimeoutError(endpoint_url=f"https://s3/{key}")
                return bytes(body.read(amt))

            def close(self) -> None:
                body.close()

        return {**response, "Body": Body()}


def use_reading_s3(monkeypatch: pytest.MonkeyPatch, fail: Callable[[str], bool] = lambda key: False) -> ReadingS3:
    s3 = ReadingS3(aws.client("s3"), fail)
    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: s3 if service == "s3" else real(service, **kw))
    return s3


def test_a_spoke_document_over_the_bound_is_never_read_whole_and_is_listed_unreadable(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed_two_spokes()
    now = datetime.now(UTC)
    big = spoke_document("eu-west-1", [Rec(f"r{i}", i, now - timedelta(days=1)) for i in range(40)], generated=now)
    put(f"{C}/latest.json", big)
    size = len(json.dumps(big).encode())
    bound = size - 1
    monkeypatch.setattr(org, "MAX_SPOKE_REPORT_BYTES", bound, raising=False)  # the real bound is 32 MiB
    s3 = use_reading_s3(monkeypatch)
    response = org_report.handler({}, Context())
    assert (response["spokes_reporting"], response["spokes_unreadable"]) == (2, 1)
    logged = {r.spoke: r.reason for r in caplog.records if r.getMessage() == "spoke_report_unreadable"}
    assert logged == {C: f"latest.json is {size:,} bytes, over the {bound:,} the hub reads"}
    assert s3.reads, "the spokes' documents are read"
    assert all(amt is not None and amt <= bound + 1 for _, amt in s3.reads), s3.reads  # never an unbounded read


def test_a_document_nested_too_deep_for_the_parser_is_unreadable_not_fatal(
    hub: Callable[[], list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    seed_two_spokes()
    put(f"{C}/latest.json", b"[" * 200_000 + b"]" * 200_000)  # json.loads raises RecursionError
    response = org_report.handler({}, Context())
    assert (response["spokes_reporting"], response["spokes_unreadable"]) == (2, 1)
    logged = {r.spoke: r.reason for r in caplog.records if r.getMessage() == "spoke_report_unreadable"}
    assert logged[C].startswith("not JSON: nested too deep")


def test_a_spoke_whose_read_times_out_is_unreadable_and_the_others_are_still_merged(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed_two_spokes()
    use_reading_s3(monkeypatch, fail=lambda key: key.startswith(B))
    response = org_report.handler({}, Context())
    assert (response["spokes_reporting"], response["spokes_unreadable"]) == (1, 1)
    logged = {r.spoke: r.reason for r in caplog.records if r.getMessage() == "spoke_report_unreadable"}
    assert logged[B].startswith("could not be read: ReadTimeoutError")
    assert len(hub()) == 1


# --- issue 27: store first, publish to each destination once ------------------------------------------------------


def scheduled(when: str = "2026-12-07T08:00:00Z") -> dict[str, Any]:
    """EventBridge's scheduled event: Lambda's retries of one invocation deliver the same event (the same time)."""
    return {"version": "0", "id": "5c1e", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": ACCOUNT, "time": when, "region": REGION, "resources": [], "detail": {}}  # fmt: skip


def subscribed_queue(topic_name: str) -> Callable[[], list[dict[str, Any]]]:
    """A topic (created) and an SQS queue subscribed to it: what it delivers."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    arn = sns.create_topic(Name=topic_name)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{topic_name}-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)

    def delivered() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return delivered


def stored_organization_keys() -> set[str]:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET, Prefix="organization-report/")
    return {o["Key"] for o in listed.get("Contents", [])}


def test_a_chat_topic_that_fails_leaves_the_report_stored_and_the_retry_publishes_only_the_chat(
    hub: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_two_spokes()
    monkeypatch.setenv("CHAT_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-hub-chat")  # not created yet
    load_settings.cache_clear()
    with pytest.raises(Exception, match="not published to chat"):  # Lambda retries the invocation
        org_report.handler(scheduled(), Context())
    assert {"organization-report/latest.json", "organization-report/latest.html"} <= stored_organization_keys()
    assert len(hub()) == 1  # the central topic received it once
    [line] = [r for r in caplog.records if r.getMessage() == "organization_report_not_published"]
    assert (line.levelno, line.destination, line.error_code) == (logging.ERROR, "chat", "NotFound")
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert found[("OrganizationReportsNotPublished", (FN,))] == 1
    assert found[("NotificationsSent", (("EventType", "organization_silent_spokes"), FN))] == 1

    chat = subscribed_queue("ecr-scan-hub-chat")  # the destination works again: Lambda's retry, the same event
    response = org_report.handler(scheduled(), Context())
    assert (response["status"], response["published"], response["already_published"]) == (
        "published", ["chat"], ["topic"],
    )  # fmt: skip
    assert hub() == []  # not a second time
    assert len(chat()) == 1
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert found[("OrganizationReportsNotPublished", (FN,))] == 0
    assert ("NotificationsSent", (("EventType", "organization_silent_spokes"), FN)) not in found


def test_the_central_topic_failing_still_stores_the_report_first(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed_two_spokes()
    monkeypatch.setenv("SNS_TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-hub-gone")
    load_settings.cache_clear()
    with pytest.raises(Exception, match="not published to topic"):
        org_report.handler(scheduled(), Context())
    assert {"organization-report/latest.json", "organization-report/latest.html"} <= stored_organization_keys()
    assert [r.destination for r in caplog.records if r.getMessage() == "organization_report_not_published"] == ["topic"]


def test_the_same_period_delivered_twice_is_published_once_another_period_again(
    hub: Callable[[], list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    seed_two_spokes()
    first = org_report.handler(scheduled(), Context())
    again = org_report.handler(scheduled(), Context())  # Lambda's queue can deliver one event twice
    assert len(hub()) == 1
    assert (first["status"], first["published"], first["already_published"]) == ("published", ["topic"], [])
    assert (again["status"], again["published"], again["already_published"]) == ("already_published", [], ["topic"])
    assert [r.getMessage() for r in caplog.records].count("organization_report_already_published") == 1
    following = org_report.handler(scheduled("2026-12-14T08:00:00Z"), Context())
    assert following["published"] == ["topic"]
    assert len(hub()) == 1


def test_an_invocation_without_a_schedule_time_is_keyed_by_its_request_id(
    hub: Callable[[], list[dict[str, Any]]],
) -> None:
    seed_two_spokes()

    class Invocation(Context):
        def __init__(self, request_id: str) -> None:
            self.aws_request_id = request_id

    responses = [org_report.handler({}, Invocation(request)) for request in ("r-1", "r-1", "r-2")]
    assert len(hub()) == 2  # r-1 once (the second is Lambda's retry), r-2 (a person's second run)
    assert [(r["published"], r["already_published"]) for r in responses] == [
        (["topic"], []), ([], ["topic"]), (["topic"], []),
    ]  # fmt: skip


# --- issue 29: each team receives its own organization-wide report --------------------------------------------------

TEAM_PREFIX = f"arn:aws:sns:{REGION}:{ACCOUNT}:ecr-scan-hub-"


def seed_team_spokes() -> None:
    now = datetime.now(UTC)
    day = timedelta(days=1)
    put(f"{A}/latest.json", spoke_document("eu-west-1", [
        Rec("payments/api", 1, now - day, ("CRITICAL",), {"CVE-1": "CRITICAL"}),
        Rec("web/site", 2, now - day),
    ], generated=now, team_names=["payments", "web"]))  # fmt: skip
    put(f"{B}/latest.json", spoke_document("us-east-1", [
        Rec("payments/worker", 3, now - day, ("CRITICAL",), {"CVE-1": "CRITICAL"}),
    ], generated=now, team_names=["payments", "web"]))  # fmt: skip


def use_teams(monkeypatch: pytest.MonkeyPatch, names: str) -> None:
    monkeypatch.setenv("TEAM_NAMES", names)
    monkeypatch.setenv("TEAM_TOPIC_ARN_PREFIX", TEAM_PREFIX)
    monkeypatch.setenv("EXPECTED_SPOKES", f"{A},{B}")
    load_settings.cache_clear()


def test_each_team_gets_its_own_report_on_its_topic_and_the_central_one_has_a_section_per_team(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_teams(monkeypatch, "payments,web")
    payments, web = subscribed_queue("ecr-scan-hub-payments"), subscribed_queue("ecr-scan-hub-web")
    seed_team_spokes()
    response = org_report.handler(scheduled(), Context())
    assert response["published"] == ["topic", "team-payments", "team-web"]
    [central] = hub()
    doc = json.loads(central["Message"])
    assert [(t["team"], t["summary"]["images_in_breach"], t["spokes_total"]) for t in doc["teams"]] == [
        ("payments", 2, 2), ("web", 0, 2),
    ]  # fmt: skip
    [envelope] = payments()
    assert envelope["TopicArn"] == f"{TEAM_PREFIX}payments"
    assert {k: v["Value"] for k, v in envelope["MessageAttributes"].items()} == {
        "event_type": "organization_report", "highest_severity": "CRITICAL", "team": "payments",
    }  # fmt: skip
    mine = json.loads(envelope["Message"])
    assert (mine["team"], mine["summary"]["images"], [s["spoke"] for s in mine["spokes"]]) == ("payments", 2, [A, B])
    assert json.loads(web()[0]["Message"])["summary"]["images_in_breach"] == 0
    found = emf.values(emf.parse(capsys.readouterr().out))
    assert found[("NotificationsSent", (("EventType", "organization_report"), FN))] == 3  # central + two teams
    stored = json.loads(
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=BUCKET, Key="organization-report/latest.json")["Body"]
        .read()
    )
    assert [t["team"] for t in stored["teams"]] == ["payments", "web"]


def test_a_team_topic_that_fails_does_not_stop_the_others_and_the_retry_sends_only_that_teams(
    hub: Callable[[], list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_teams(monkeypatch, "payments,web")
    payments = subscribed_queue("ecr-scan-hub-payments")  # web's topic does not exist yet
    seed_team_spokes()
    with pytest.raises(org_report.ReportNotPublished, match=r"not published to team-web \(NotFound\)"):
        org_report.handler(scheduled(), Context())
    assert (len(hub()), len(payments())) == (1, 1)
    assert [r.destination for r in caplog.records if r.getMessage() == "organization_report_not_published"] == [
        "team-web"
    ]
    assert emf.values(emf.parse(capsys.readouterr().out))[("OrganizationReportsNotPublished", (FN,))] == 1
    web = subscribed_queue("ecr-scan-hub-web")
    response = org_report.handler(scheduled(), Context())
    assert (response["published"], response["already_published"]) == (["team-web"], ["topic", "team-payments"])
    assert (len(hub()), len(payments()), len(web())) == (0, 0, 1)


def test_a_marker_the_hub_cannot_read_is_not_published_blind(
    hub: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed_two_spokes()
    s3 = aws.client("s3")

    class NoHead:
        def __getattr__(self, name: str) -> Any:
            return getattr(s3, name)

        def head_object(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject")

    real = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: NoHead() if service == "s3" else real(service, **kw))
    with pytest.raises(org_report.ReportNotPublished, match=r"not published to topic \(403\)"):
        org_report.handler(scheduled(), Context())
    assert hub() == []
    assert {"organization-report/latest.json", "organization-report/latest.html"} <= stored_organization_keys()


def test_team_names_need_the_topics_prefix(hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_NAMES", "payments")
    load_settings.cache_clear()
    with pytest.raises(ConfigError, match="TEAM_NAMES is set but TEAM_TOPIC_ARN_PREFIX is not"):
        org_report.handler(scheduled(), Context())
    assert hub() == []
