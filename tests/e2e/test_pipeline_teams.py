"""Teams, end to end (issue 19). The test root deploys two teams with different thresholds (tests/e2e/root):
``api`` owns ``^team/api`` and alerts on CRITICAL > 0 or HIGH > 2, ``web`` owns ``^team/web`` and alerts on
CRITICAL only; ``team_tag_key = "team"`` with the tag cache off, and the module's topic receives every notification.
Four repositories of this file's own, each with one image whose scan reports the same HIGH 3 (and the tagged one a
CRITICAL too):

=====================  ===================  ====================================================================
repository             owner                expected
=====================  ===================  ====================================================================
team/api-probe         api (regex)          threshold_breached on api's topic (HIGH 3 > 2), team=api
team/web-probe         web (regex)          nothing: web ignores HIGH
team/probe-tagged      api (tag team=api)   threshold_breached on api's topic; re-tagged team=web, its next
                                            result alerts web once (a result after that: nothing)
team/probe-nobody      nobody               threshold_breached on the module's topic only, no team attribute
=====================  ===================  ====================================================================

The module's topic gets all of them; a subscription with the filter policy ``{"team": ["api"]}`` exactly api's.
Runs after test_pipeline*.py on the same deployment; pauses the schedule while it works and deletes its
repositories afterwards.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e import bridge, observe
from e2e.conftest import Deployed
from e2e.seeding import MotoSeeder, ScanReport
from e2e.subscribers import Delivered, SqsSubscriber

pytestmark = pytest.mark.e2e

API, WEB, TAGGED, NOBODY = "team/api-probe", "team/web-probe", "team/probe-tagged", "team/probe-nobody"


def _report(now: datetime, critical: bool) -> ScanReport:
    findings: list[dict[str, Any]] = [
        {"name": f"CVE-2026-81{i:02d}", "severity": "HIGH", "attributes": [{"key": "package_name", "value": "curl"}]}
        for i in range(3)
    ]
    if critical:
        findings.append({"name": "CVE-2026-8199", "severity": "CRITICAL", "attributes": []})
    counts = {"HIGH": 3} | ({"CRITICAL": 1} if critical else {})
    return ScanReport("COMPLETE", now, counts, findings=tuple(findings))


def _by_repository(got: list[Delivered]) -> dict[str, list[str | None]]:
    out: dict[str, list[str | None]] = {}
    for d in got:
        doc = d.document()
        out.setdefault(doc["repository"], []).append(d.attributes.get("team"))
    return out


def test_each_team_gets_its_own_alerts(deployed: Deployed) -> None:
    pipeline = deployed.primary
    seeder = pipeline.target.seeder(pipeline.region)
    if not isinstance(seeder, MotoSeeder):
        pytest.skip("scan findings can only be injected on moto")
    sns, sqs, ecr = pipeline.client("sns"), pipeline.client("sqs"), pipeline.client("ecr")
    module_topic = pipeline.outputs["sns_topic_arn"]
    team_topics = pipeline.outputs["team_topic_arns"]
    assert set(team_topics) == {"api", "web"}
    assert len({module_topic, *team_topics.values()}) == 3

    pipeline.set_schedule(False)
    observe.wait_until("the work queue to drain", pipeline.work_drained, 90)
    module = SqsSubscriber(sns, sqs, module_topic, "probe-teams-module")
    api = SqsSubscriber(sns, sqs, team_topics["api"], "probe-teams-api")
    web = SqsSubscriber(sns, sqs, team_topics["web"], "probe-teams-web")
    filtered = SqsSubscriber(sns, sqs, module_topic, "probe-teams-filtered")
    sns.set_subscription_attributes(
        SubscriptionArn=filtered.subscription_arn,
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"team": ["api"]}),
    )
    rule = pipeline.outputs["event_rule_names"]["ecr_scan"]
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        digests = {}
        for repository in (API, WEB, TAGGED, NOBODY):
            seeder.create_repository(repository)
            digests[repository] = seeder.put_image(repository, "1.0", seed=f"teams-{repository}")
            seeder.set_next_scan_result(
                repository, digests[repository], "1.0", _report(now, critical=repository == TAGGED)
            )
            ecr.start_image_scan(repositoryName=repository, imageId={"imageDigest": digests[repository]})
        tagged_arn = ecr.describe_repositories(repositoryNames=[TAGGED])["repositories"][0]["repositoryArn"]
        ecr.tag_resource(resourceArn=tagged_arn, tags=[{"Key": "team", "Value": "api"}])

        before = pipeline.invocations("findings")
        mine = [
            e
            for e in bridge.finished_scans(ecr, account=pipeline.target.account_id, region=pipeline.region, since=now)
            if e["detail"]["repository-name"] in digests
        ]
        assert len(mine) == 4
        for event in mine:
            assert bridge.deliver(pipeline.client("events"), pipeline.client("lambda"), rule, event).matched
        observe.wait_until(
            "the findings function to handle the four events",
            lambda: (pipeline.invocations("findings") >= before + 4, f"{pipeline.invocations('findings') - before}"),
            90,
        )

        assert _by_repository(api.collect(expected=2, timeout=30, quiet=5)) == {API: ["api"], TAGGED: ["api"]}
        assert web.collect(expected=0, timeout=10, quiet=5) == []  # the same HIGH 3: web ignores HIGH
        assert _by_repository(module.collect(expected=3, timeout=30, quiet=5)) == {
            API: ["api"],
            TAGGED: ["api"],
            NOBODY: [None],  # unowned: no team attribute
        }
        assert _by_repository(filtered.collect(expected=2, timeout=30, quiet=5)) == {API: ["api"], TAGGED: ["api"]}
        nobody_doc = next(d.document() for d in module.received if d.document()["repository"] == NOBODY)
        assert nobody_doc["team"] is None
        api_doc = next(d.document() for d in api.received if d.document()["repository"] == API)
        assert (api_doc["team"], api_doc["breached"], api_doc["thresholds"]["HIGH"]) == ("api", ["HIGH"], 2)
        for subscriber in (api, web, module, filtered):
            subscriber.received.clear()

        # The tagged repository changes hands: its next result alerts the new owner once, nobody else again.
        ecr.tag_resource(resourceArn=tagged_arn, tags=[{"Key": "team", "Value": "web"}])
        (event,) = [e for e in mine if e["detail"]["repository-name"] == TAGGED]
        before = pipeline.invocations("findings")
        for minutes in (1, 2):  # two later results of the same scan, as a rescan's events would come
            later = dict(event, id=f"{event['id']}-{minutes}")
            later["time"] = (now + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
            assert bridge.deliver(pipeline.client("events"), pipeline.client("lambda"), rule, later).matched
            observe.wait_until(
                "the findings function to handle the re-tagged result",
                lambda m=minutes: (pipeline.invocations("findings") >= before + m, "waiting"),
                90,
            )
            time.sleep(2)
        got = web.collect(expected=1, timeout=30, quiet=5)
        assert _by_repository(got) == {TAGGED: ["web"]}, [d.subject for d in got]
        doc = got[0].document()
        assert doc["breached"] == ["CRITICAL"]
        assert [f["id"] for f in doc["new_findings"]] == ["CVE-2026-8199"]  # the first breach for web
        assert api.collect(expected=0, timeout=5, quiet=3) == []
        assert _by_repository(module.collect(expected=1, timeout=15, quiet=3)) == {TAGGED: ["web"]}
        assert pipeline.depths()["failed-events"]["visible"] == 0
    finally:
        for subscriber in (module, api, web, filtered):
            subscriber.close()
        for repository in (API, WEB, TAGGED, NOBODY):
            with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):
                ecr.delete_repository(repositoryName=repository, force=True)
        pipeline.set_schedule(True)
