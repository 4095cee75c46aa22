"""The organization end to end: a hub (modules/hub) and two spokes in two regions of the emulators (one account:
the regions stand for the accounts), applied from tests/e2e/org_root. It shows that a spoke's alert reaches the
hub's topic from another region; that one team defined on the hub gets its alerts from both spokes on its one
channel (one subscription, on its one topic on the hub) while the security team's view (the central topic) gets
them too; that both spokes' reports land under their own <account>/<region>/ prefixes;
that the organization report counts both and names a configured third spoke that never reported; and that a
spoke whose hub write is refused still stores its own report and logs the refusal.

The emulators do not enforce IAM, bucket or key policies: those are proven from the plan (modules/hub/tests); the
refusal here is a hub bucket that does not exist, which S3 refuses whatever the policies say.

    make e2e E2E_ARGS='-k organization'
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from e2e import bridge, observe
from e2e.conftest import SECOND_REGION, _require_current_zip
from e2e.deploy import Deployment
from e2e.seeding import ScanReport
from e2e.targets import Target

pytestmark = pytest.mark.e2e

ORG_ROOT = Path(__file__).resolve().parent / "org_root"
PREFIX = "e2e-org"
THIRD_REGION = "ap-south-1"


@dataclass
class Organization:
    target: Target
    deployment: Deployment
    outputs: dict[str, Any]
    hub_queue: str  # an SQS queue subscribed to the hub's topic (in the hub's region)

    @property
    def region_a(self) -> str:
        return self.target.region

    def client(self, service: str, region: str | None = None) -> Any:
        return self.target.client(service, region or self.region_a)

    def invoke(self, region: str, function: str, event: dict[str, Any]) -> dict[str, Any]:
        response = self.client("lambda", region).invoke(FunctionName=function, Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        assert "FunctionError" not in response, f"{function}: {payload}"
        return dict(payload)

    def hub_messages(self, want: int, timeout: float = 30) -> list[dict[str, Any]]:
        return self.messages(self.hub_queue, want, "the hub's topic", timeout)

    def messages(self, queue: str, want: int, what: str, timeout: float = 30) -> list[dict[str, Any]]:
        """``want`` messages (SNS envelopes) from ``queue`` (in the hub's region), received and deleted."""
        sqs, seen = self.client("sqs"), []

        def arrived() -> tuple[bool, str]:
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            return len(seen) >= want, f"{len(seen)} messages"

        observe.wait_until(f"{want} message(s) on {what}", arrived, timeout, 1)
        return seen

    def hub_keys(self, prefix: str = "") -> list[str]:
        listed = self.client("s3").list_objects_v2(Bucket=self.outputs["hub"]["report_bucket_name"], Prefix=prefix)
        return sorted(o["Key"] for o in listed.get("Contents", []))


def scheduled(region: str, account: str) -> dict[str, Any]:
    return {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": account,
            "region": region, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "detail": {}}  # fmt: skip


@pytest.fixture(scope="module")
def organization(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Organization]:
    _require_current_zip()
    work = tmp_path_factory.mktemp("organization")
    variables = {
        "region": target.region,
        "region_b": SECOND_REGION,
        "account_id": target.account_id,
        "third_spoke": f"{target.account_id}/{THIRD_REGION}",
        "name_prefix": PREFIX,
    }
    deployment = Deployment("organization", work, target.env, variables, root=ORG_ROOT)
    try:
        deployment.init()
        deployment.apply()
        outputs = deployment.outputs()
        sqs, sns = target.client("sqs", target.region), target.client("sns", target.region)
        queue = sqs.create_queue(QueueName=f"{PREFIX}-hub-subscriber")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=outputs["hub"]["topic_arn"], Protocol="sqs", Endpoint=arn)
        yield Organization(target, deployment, outputs, queue)
    finally:
        if deployment.has_resources():
            deployment.destroy()


def test_a_spokes_alert_from_another_region_reaches_the_hubs_topic(organization: Organization) -> None:
    org, region = organization, SECOND_REGION
    seeder = org.target.seeder(region)
    seeder.create_repository("team/org-app")
    digest = seeder.put_image("team/org-app", "v1", seed="organization")
    now = datetime.now(UTC).replace(microsecond=0)
    seeder.set_past_scan("team/org-app", digest, "v1", ScanReport("COMPLETE", now, {"CRITICAL": 1}))
    event = bridge.scan_event(account=org.target.account_id, region=region, repository="team/org-app", digest=digest,
                              tags=["v1"], status="COMPLETE", counts={"CRITICAL": 1}, time=now)  # fmt: skip
    org.invoke(region, org.outputs["spoke_b"]["function_names"]["findings"], event)
    [envelope] = [m for m in org.hub_messages(1) if m["MessageAttributes"]["event_type"]["Value"] != "report"]
    assert envelope["MessageAttributes"]["event_type"]["Value"] == "threshold_breached"
    doc = json.loads(envelope["Message"])
    assert (doc["repository"], doc["region"], doc["image_digest"]) == ("team/org-app", region, digest)
    assert envelope["TopicArn"] == org.outputs["hub"]["topic_arn"]


def test_one_teams_alerts_from_two_spokes_reach_its_one_channel_and_the_security_teams_view(
    organization: Organization,
) -> None:
    org, account = organization, organization.target.account_id
    central, team_topic = org.outputs["hub"]["topic_arn"], org.outputs["hub"]["team_topic_arns"]["payments"]
    channel = org.outputs["payments_channel_url"]
    # The team's one topic is the hub's, with one subscription: its channel. The spokes were given it.
    subscribed = org.client("sns").list_subscriptions_by_topic(TopicArn=team_topic)["Subscriptions"]
    endpoints = [(s["Protocol"], s["Endpoint"].rsplit(":", 1)[1]) for s in subscribed]
    assert endpoints == [("sqs", f"{PREFIX}-payments-channel")]
    for region, spoke in ((org.region_a, "spoke_a"), (SECOND_REGION, "spoke_b")):
        assert org.outputs[spoke]["team_topic_arns"] == {"payments": team_topic}
        topics = [t["TopicArn"] for t in org.client("sns", region).list_topics()["Topics"]]
        assert not [t for t in topics if t.endswith(f":{PREFIX}-payments")], f"{spoke} created a team topic: {topics}"

    # One image in breach in a payments repository of each spoke.
    now = datetime.now(UTC).replace(microsecond=0)
    sent = {}
    for region, spoke in ((org.region_a, "spoke_a"), (SECOND_REGION, "spoke_b")):
        seeder = org.target.seeder(region)
        seeder.create_repository("payments/org-api")
        digest = seeder.put_image("payments/org-api", "v1", seed=f"organization-payments-{region}")
        seeder.set_past_scan("payments/org-api", digest, "v1", ScanReport("COMPLETE", now, {"CRITICAL": 1}))
        event = bridge.scan_event(account=account, region=region, repository="payments/org-api", digest=digest,
                                  tags=["v1"], status="COMPLETE", counts={"CRITICAL": 1}, time=now)  # fmt: skip
        org.invoke(region, org.outputs[spoke]["function_names"]["findings"], event)
        sent[region] = digest

    def alerts(envelopes: list[dict[str, Any]], topic: str) -> dict[str, str]:
        """region -> digest of the payments alerts among ``envelopes``, each checked to come from ``topic``."""
        found = {}
        for envelope in envelopes:
            attributes = {name: value["Value"] for name, value in envelope["MessageAttributes"].items()}
            if attributes["event_type"] != "threshold_breached":
                continue
            assert (envelope["TopicArn"], attributes.get("team")) == (topic, "payments"), envelope
            doc = json.loads(envelope["Message"])
            assert (doc["repository"], doc["team"]) == ("payments/org-api", "payments")
            found[doc["region"]] = doc["image_digest"]
        return found

    # The team's one channel receives both spokes' alerts, once each, from its one topic.
    on_channel = org.messages(channel, 2, "the payments team's channel")
    assert alerts(on_channel, team_topic) == sent
    assert len(on_channel) == 2, on_channel
    # The security team's view, the central topic, receives both too.
    assert alerts(org.hub_messages(2), central) == sent


def test_both_reports_land_under_their_prefixes_and_the_org_report_names_the_silent_third(
    organization: Organization,
) -> None:
    org, account = organization, organization.target.account_id
    for region, spoke in ((org.region_a, "spoke_a"), (SECOND_REGION, "spoke_b")):
        response = org.invoke(region, org.outputs[spoke]["function_names"]["report"], scheduled(region, account))
        assert response["status"] == "published"
        assert f"{account}/{region}/latest.json" in response["hub_stored"], response
        assert len(response["stored"]) == 4  # the local copy too
    keys = org.hub_keys()
    for region in (org.region_a, SECOND_REGION):
        assert {f"{account}/{region}/latest.json", f"{account}/{region}/latest.html"} <= set(keys)
    hub_bucket = org.outputs["hub"]["report_bucket_name"]
    body = org.client("s3").get_object(Bucket=hub_bucket, Key=f"{account}/{SECOND_REGION}/latest.json")["Body"]
    latest = json.loads(body.read())
    assert (latest["type"], latest["region"]) == ("report", SECOND_REGION)
    org.hub_messages(2)  # the two spokes' reports, on the hub's topic

    response = org.invoke(org.region_a, org.outputs["hub"]["function_name"], scheduled(org.region_a, account))
    assert (response["spokes_reporting"], response["spokes_silent"]) == (2, 1), response
    assert response["event_type"] == "organization_silent_spokes"
    assert response["images"] >= 1  # the second spoke's image in breach
    [envelope] = org.hub_messages(1)
    assert envelope["MessageAttributes"]["event_type"]["Value"] == "organization_silent_spokes"
    doc = json.loads(envelope["Message"])
    assert [s["spoke"] for s in doc["silent_spokes"]] == [f"{account}/{THIRD_REGION}"]
    assert doc["silent_spokes"][0]["reason"] == "never reported"
    assert {s["spoke"] for s in doc["spokes"]} == {f"{account}/{org.region_a}", f"{account}/{SECOND_REGION}"}
    assert {"organization-report/latest.json", "organization-report/latest.html"} <= set(
        org.hub_keys("organization-report/")
    )


def test_a_refused_hub_write_leaves_the_local_report_and_a_log_line(organization: Organization) -> None:
    org, region, account = organization, organization.region_a, organization.target.account_id
    lam, function = org.client("lambda"), org.outputs["spoke_a"]["function_names"]["report"]
    environment = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=function, Environment={"Variables": environment | {"HUB_REPORT_BUCKET_NAME": f"{PREFIX}-gone"}}
    )
    time.sleep(2)
    response = org.invoke(region, function, scheduled(region, account))
    assert (response["status"], response["hub_stored"]) == ("published", [])
    assert len(response["stored"]) == 4
    local = org.client("s3").list_objects_v2(Bucket=f"{PREFIX}-spoke-{region}", Prefix="exposure-report/")
    assert set(response["stored"]) <= {o["Key"] for o in local["Contents"]}
    group = org.outputs["spoke_a"]["log_group_names"]["report"]

    def logged() -> tuple[bool, str]:
        records = [line.record() for line in observe.log_lines(org.client("logs"), group)]
        refused = [r for r in records if r and r.get("message") == "hub_report_not_stored"]
        return bool(refused) and all(r.get("bucket") == f"{PREFIX}-gone" for r in refused), f"{len(refused)} lines"

    observe.wait_until("the refusal in the report function's log", logged, 30, 1)
