"""The deployed pipeline's lifecycle, last in the suite (pytest runs the e2e files in name order, and every other
file shares the session's deployment): a plan after everything the suite did shows no changes, and destroy leaves
nothing behind in either region. A new kind of resource in the module gets a line in ``_leftovers``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from e2e.conftest import PREFIX, Deployed
from e2e.pipeline import Pipeline

pytestmark = pytest.mark.e2e


# --- plan and destroy ----------------------------------------------------------------------------------------------


def test_plan_after_apply_shows_no_changes(deployed: Deployed) -> None:
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda p: p.deployment.plan_exit_code(), deployed.all))
    for pipeline, (code, text) in zip(deployed.all, results, strict=True):
        assert code == 0, f"{pipeline.region}: plan after apply wants changes:\n{_changes(text)}"


def test_destroy_leaves_nothing_behind(deployed: Deployed) -> None:
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda p: p.deployment.destroy(), deployed.all))
    leftovers = {p.region: _leftovers(p) for p in deployed.all}
    iam = deployed.primary.client("iam")
    roles = [r["RoleName"] for page in iam.get_paginator("list_roles").paginate() for r in page["Roles"]]
    leftovers["iam (global)"] = [r for r in roles if r.startswith(PREFIX)]
    assert leftovers == {p.region: [] for p in deployed.all} | {"iam (global)": []}


# --- helpers ------------------------------------------------------------------------------------------------------


def _leftovers(pipeline: Pipeline) -> list[str]:
    found: list[str] = []
    lam = pipeline.client("lambda")
    found += [
        f["FunctionName"]
        for p in lam.get_paginator("list_functions").paginate()
        for f in p["Functions"]
        if f["FunctionName"].startswith(PREFIX)
    ]
    found += [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"]]
    found += pipeline.client("sqs").list_queues(QueueNamePrefix=PREFIX).get("QueueUrls", [])
    found += [r["Name"] for r in pipeline.client("events").list_rules(NamePrefix=PREFIX)["Rules"]]
    found += [t["TopicArn"] for t in pipeline.client("sns").list_topics()["Topics"] if f":{PREFIX}" in t["TopicArn"]]
    found += [
        g["logGroupName"]
        for g in pipeline.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{PREFIX}")["logGroups"]
    ]
    found += [
        b["Name"]
        for b in pipeline.client("s3").list_buckets().get("Buckets", [])
        if b["Name"].startswith(PREFIX) and b["Name"].endswith(pipeline.region)
    ]
    found += [
        d["DashboardName"]
        for d in pipeline.client("cloudwatch").list_dashboards(DashboardNamePrefix=PREFIX).get("DashboardEntries", [])
        if d["DashboardName"].endswith(pipeline.region)
    ]
    found += [t for t in pipeline.client("dynamodb").list_tables()["TableNames"] if t.startswith(PREFIX)]
    alarms = pipeline.client("cloudwatch").describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"]
    found += [a["AlarmName"] for a in alarms]
    kms = pipeline.client("kms")
    found += [a["AliasName"] for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith(f"alias/{PREFIX}")]
    # A destroyed key is scheduled for deletion (AWS keeps it 7-30 days): only a key still usable is left behind.
    for key in kms.list_keys()["Keys"]:
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if f"({PREFIX})" in metadata.get("Description", "") and metadata["KeyState"] != "PendingDeletion":
            found.append(metadata["Arn"])
    return found


def _changes(plan: str) -> str:
    lines = plan.splitlines()
    start = next((i for i, line in enumerate(lines) if "Terraform will perform" in line), 0)
    return "\n".join(lines[start : start + 80])
