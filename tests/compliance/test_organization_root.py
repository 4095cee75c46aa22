"""The compliance gate on an organization root: the hub (modules/hub) and its spokes planned in one root.

An organization's first plan creates the hub's topics and key in the same plan as the spokes that publish to them.
The spokes' least-privilege policies name the hub's topics, which are named (known at plan time), and the hub's key
(``hub_kms_key_arn``), which is not: the gate cannot read those policies until the key exists, and its advice must
say so (the hub's key, ``-target=module.<hub>.aws_kms_key.this``), not only ``kms_key_arn``, which such a root does
not set. Once the key exists, every spoke policy is readable and the gate passes: ``-target=module.hub`` (the whole
hub first) is not needed. With one configuration per account (examples/organization) no ``-target`` is.

The root is tests/e2e/org_root (a hub, one team with its channel, two spokes in two regions), planned for real
against moto (STS for the plan; KMS for the key the advice says to create first), from no state.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_features_can_fail import FEATURES, FIXTURES, KMS_ADVICE, KMS_SAME_PLAN, KMS_SAME_PLAN_FAILS, run_features

ROOT = Path(__file__).resolve().parents[2]
ORG_ROOT = ROOT / "tests" / "e2e" / "org_root"
REGION, REGION_B = "us-east-1", "eu-west-1"
HUB_KEY = "module.hub.aws_kms_key.this"  # what the gate's advice says to create first


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def sts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto in this process on a free loopback port (stopped at the end): the endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    os.environ.setdefault("MOTO_RECORDER_FILEPATH", str(tmp_path_factory.mktemp("moto") / "recording"))
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass(frozen=True)
class Plans:
    first: Path  # the first plan: the hub's key is created in it too
    after_key: Path  # the plan once the hub's key exists (terraform apply -target=module.hub.aws_kms_key.this)


@pytest.fixture(scope="module")
def plans(sts: str, tmp_path_factory: pytest.TempPathFactory) -> Plans:
    """``terraform show -json`` of the organization root's first plan, and of its plan once the hub's key exists,
    as a user following the gate's advice gets them (moto creates the key)."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    work = tmp_path_factory.mktemp("organization-plan")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env |= {
        "AWS_ENDPOINT_URL": sts,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "TF_IN_AUTOMATION": "1",
        "TF_DATA_DIR": str(work / "data"),
    }
    rc = ROOT / ".build" / "terraform.rc"  # the local provider mirror (make tf-rc), else the user's configuration
    if rc.exists():
        env["TF_CLI_CONFIG_FILE"] = str(rc)
    elif "TF_CLI_CONFIG_FILE" in os.environ:
        env["TF_CLI_CONFIG_FILE"] = os.environ["TF_CLI_CONFIG_FILE"]

    def terraform(*args: str) -> str:
        proc = subprocess.run(
            ["terraform", f"-chdir={ORG_ROOT}", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, f"terraform {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    terraform("init", "-input=false", "-no-color")
    account = "123456789012"  # moto's
    variables = [f"-var=region={REGION}", f"-var=region_b={REGION_B}", f"-var=account_id={account}"]
    variables.append(f"-var=third_spoke={account}/ap-south-1")
    state = f"-state={work / 'terraform.tfstate'}"

    def plan(name: str) -> Path:
        plan_file = work / f"{name}.tfplan"
        terraform("plan", "-input=false", "-no-color", "-lock=false", state, *variables, f"-out={plan_file}")
        path = work / f"{name}.json"
        path.write_text(terraform("show", "-json", str(plan_file)))
        return path

    first = plan("first")
    terraform("apply", "-input=false", "-no-color", "-lock=false", "-auto-approve", state, *variables,
              f"-target={HUB_KEY}")  # fmt: skip
    return Plans(first, plan("after-key"))


def _spoke_policies(plan: Path) -> dict[str, dict[str, Any]]:
    planned = json.loads(plan.read_text())
    return {
        change["address"]: change["change"]
        for change in planned["resource_changes"]
        if change["type"] == "aws_iam_role_policy" and change["name"] == "this" and "spoke" in change["address"]
    }


def test_once_the_hubs_key_exists_the_spokes_policies_are_readable(plans: Plans) -> None:
    """The hub's topics are named: nothing but the hub's key (created in the same plan) hides a spoke's policy."""
    policies = _spoke_policies(plans.after_key)
    assert policies, "the root plans no spoke"
    unknown = sorted(address for address, change in policies.items() if change["after_unknown"].get("policy"))
    assert not unknown, f"policies still unknown once the hub's key exists (would need -target=module.hub): {unknown}"
    findings = json.loads(policies['module.spoke_b.aws_iam_role_policy.this["findings"]']["after"]["policy"])
    published = {arn for s in findings["Statement"] if "sns:Publish" in s["Action"] for arn in s["Resource"]}
    assert {
        f"arn:aws:sns:{REGION}:123456789012:e2e-org-hub-notifications",
        f"arn:aws:sns:{REGION}:123456789012:e2e-org-hub-payments",
    } <= published


def test_the_first_plan_fails_only_on_the_hubs_key_with_the_advice_that_names_it(plans: Plans, tmp_path: Path) -> None:
    """A spoke's policy names the hub's key, created in the same plan: the least-privilege feature cannot read it,
    and says how to get a plan it can: the hub's key first."""
    result = run_features(plans.first, tmp_path, "--silent")
    assert result.failed == KMS_SAME_PLAN_FAILS, result.output
    section = " ".join(result.output.split("iam_least_privilege.feature", 1)[1].split())
    assert "-target=module.<hub>.aws_kms_key.this" in section, section
    assert KMS_ADVICE in section, section


def test_the_gate_passes_the_organization_once_the_hubs_key_exists(plans: Plans, tmp_path: Path) -> None:
    result = run_features(plans.after_key, tmp_path)
    assert result.returncode == 0, result.output
    assert result.failed == frozenset(), result.output
    assert {"iam_least_privilege", "dead_letter_queue", "log_retention"} <= result.checked


def test_the_advice_for_a_key_created_in_the_same_plan_names_the_hubs_key_too() -> None:
    """What the gate prints when a policy names a key this plan creates: the user's kms_key_arn, or the hub's key
    when the hub is planned in the same root (its address to -target), and the layout that needs no -target."""
    text = " ".join((FEATURES / "iam_least_privilege.feature").read_text().split())
    assert KMS_ADVICE in text
    for advice in ("hub_kms_key_arn", "-target=module.<hub>.aws_kms_key.this", "examples/organization"):
        assert advice in text, advice
    assert (FIXTURES / f"{KMS_SAME_PLAN}.json").exists()
