"""With kms_key_arn, every role can use the key for every encrypted resource it uses, and for nothing else.

The module is planned for real (tests/terraform/kms_root: every feature that stores something on, a literal key ARN)
against moto's STS, the only API a fresh plan calls; ``terraform show -json`` of that plan is analysed by
plan_kms.py, which derives from the plan itself which resources are under the key, which roles use them and what
those roles need. Nothing here lists the module's resources or roles: a new encrypted resource, a new role or a new
statement is checked as it appears, and a new kind of resource under the key fails until plan_kms.py knows what uses
it. The synthetic plans below show that each kind of mistake is reported.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import plan_kms  # tests/terraform/plan_kms.py
import pytest

ROOT = Path(__file__).resolve().parents[2]
TF_ROOT = Path(__file__).resolve().parent / "kms_root"
REGION = "eu-west-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


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


@pytest.fixture(scope="module")
def planned(sts: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, plan_kms.Context]:
    """``terraform show -json`` of the plan of tests/terraform/kms_root, the key ARN and the deployment."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    import boto3

    work = tmp_path_factory.mktemp("kms-plan")
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
    # The local provider mirror when `make tf-rc` wrote its configuration (else the user's own configuration).
    rc = ROOT / ".build" / "terraform.rc"
    if rc.exists():
        env["TF_CLI_CONFIG_FILE"] = str(rc)
    elif "TF_CLI_CONFIG_FILE" in os.environ:
        env["TF_CLI_CONFIG_FILE"] = os.environ["TF_CLI_CONFIG_FILE"]
    identity = boto3.client(
        "sts", endpoint_url=sts, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    ).get_caller_identity()
    ctx = plan_kms.Context(partition="aws", region=REGION, account=identity["Account"])
    key_arn = f"arn:aws:kms:{REGION}:{ctx.account}:key/{KEY_ID}"

    def terraform(*args: str) -> str:
        proc = subprocess.run(
            ["terraform", f"-chdir={TF_ROOT}", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, f"terraform {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    terraform("init", "-input=false", "-no-color")
    plan_file = work / "plan.tfplan"
    terraform("plan", "-input=false", "-no-color", "-lock=false", f"-var=kms_key_arn={key_arn}", f"-out={plan_file}")
    return json.loads(terraform("show", "-json", str(plan_file))), key_arn, ctx


def test_every_role_can_use_the_key_for_exactly_what_it_uses(
    planned: tuple[dict[str, Any], str, plan_kms.Context],
) -> None:
    document, key_arn, ctx = planned
    analysis = plan_kms.analyse(document, key_arn, ctx)
    assert analysis.problems == [], "\n".join(analysis.problems)


def test_the_plan_exercises_every_kind_of_encrypted_resource(
    planned: tuple[dict[str, Any], str, plan_kms.Context],
) -> None:
    """The root turns on everything the key encrypts, so no entry of ENCRYPTED_TYPES goes unexercised, and every
    function's role is found using the key (the derivation found the roles, not nothing)."""
    document, key_arn, ctx = planned
    analysis = plan_kms.analyse(document, key_arn, ctx)
    kinds = {item.address.split(".")[-2] for item in analysis.encrypted}
    assert kinds == set(plan_kms.ENCRYPTED_TYPES), f"planned under the key: {sorted(kinds)}"
    roles = {r.address for r in plan_kms.Plan(document).resources if r.type == "aws_iam_role"}
    assert roles, "no role in the plan"
    assert set(analysis.needed) == roles
    assert all("lambda" in services for services in analysis.needed.values())


def test_the_plan_puts_the_teams_topics_under_the_key(
    planned: tuple[dict[str, Any], str, plan_kms.Context],
) -> None:
    """The teams' topics (and chat topics) the module creates are found under the key like any topic, and the roles
    that publish to them (findings and report) are found using them: the first test then checks their grants."""
    document, key_arn, ctx = planned
    analysis = plan_kms.analyse(document, key_arn, ctx)
    teams = {item.address.split(".", 2)[-1] for item in analysis.encrypted if ".aws_sns_topic.team" in item.address}
    assert teams == {
        'aws_sns_topic.team["payments"]',
        'aws_sns_topic.team["tools"]',
        'aws_sns_topic.team_chat["payments"]',
    }
    publishers = {
        role.split("[")[-1].strip('"]')
        for role, why in analysis.why.items()
        if any("aws_sns_topic.team" in reason for reason in why.get("sns", []))
    }
    assert publishers == {"findings", "report"}


# --- the analysis reports each kind of mistake (hand-written plans) ------------------------------------------------

CTX = plan_kms.Context(partition="aws", region=REGION, account="123456789012")
KEY = f"arn:aws:kms:{REGION}:123456789012:key/{KEY_ID}"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:123456789012:work"


def _resource(kind: str, name: str, values: Mapping[str, Any], index: Any = None) -> dict[str, Any]:
    address = f"module.m.{kind}.{name}" + ("" if index is None else f"[{json.dumps(index)}]")
    return {"address": address, "mode": "managed", "type": kind, "name": name, "index": index, "values": values}


def _grant(service: str, actions: list[str]) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": actions,
        "Resource": [KEY],
        "Condition": {"StringEquals": {"kms:ViaService": CTX.via(service)}},
    }


SEND = {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [QUEUE_ARN]}
ENVIRONMENT = _grant("lambda", ["kms:Decrypt"])


def _plan(statements: list[dict[str, Any]], *extra: dict[str, Any]) -> dict[str, Any]:
    """A queue and a function under the key; the function's role has ``statements``."""
    resources = [
        _resource("aws_sqs_queue", "work", {"name": "work", "kms_master_key_id": KEY}),
        _resource("aws_lambda_function", "this", {"function_name": "f", "kms_key_arn": KEY}, "f"),
        _resource("aws_iam_role", "this", {"name": "r"}, "f"),
        _resource("aws_iam_role_policy", "this", {"policy": json.dumps({"Statement": statements})}, "f"),
        *extra,
    ]
    role_ref = {"references": ["aws_iam_role.this", "each.key"]}  # how terraform show -json writes [each.key]
    config = [
        {"type": "aws_lambda_function", "name": "this", "expressions": {"role": role_ref}},
        {"type": "aws_iam_role_policy", "name": "this", "expressions": {"role": role_ref}},
    ]
    return {
        "planned_values": {"root_module": {"child_modules": [{"resources": resources}]}},
        "configuration": {"root_module": {"module_calls": {"m": {"module": {"resources": config}}}}},
    }


ROLE = 'module.m.aws_iam_role.this["f"]'


def test_analysis_passes_a_role_with_exactly_its_grants() -> None:
    analysis = plan_kms.analyse(
        _plan([SEND, _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey"]), ENVIRONMENT]), KEY, CTX
    )
    assert analysis.problems == []
    assert analysis.needed == {ROLE: {"sqs": {"kms:Decrypt", "kms:GenerateDataKey"}, "lambda": {"kms:Decrypt"}}}


def test_analysis_reports_a_used_resource_without_a_grant() -> None:
    (problem,) = plan_kms.analyse(_plan([SEND, ENVIRONMENT]), KEY, CTX).problems
    assert problem.startswith(f"{ROLE} needs ['kms:Decrypt', 'kms:GenerateDataKey'] on the key through sqs.")
    assert "sqs:SendMessage on module.m.aws_sqs_queue.work" in problem


def test_analysis_reports_the_environment_without_a_grant() -> None:
    (problem,) = plan_kms.analyse(
        _plan([SEND, _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey"])]), KEY, CTX
    ).problems
    assert "through lambda." in problem
    assert 'aws_lambda_function.this["f"] environment' in problem


def test_analysis_reports_a_grant_through_a_service_the_role_does_not_use() -> None:
    statements = [
        SEND,
        _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey"]),
        ENVIRONMENT,
        _grant("s3", ["kms:Decrypt"]),
    ]
    (problem,) = plan_kms.analyse(_plan(statements), KEY, CTX).problems
    assert "uses no resource of that service under the key" in problem


def test_analysis_reports_missing_and_extra_key_operations() -> None:
    problems = plan_kms.analyse(_plan([SEND, _grant("sqs", ["kms:Decrypt"]), ENVIRONMENT]), KEY, CTX).problems
    assert problems == [
        f"{ROLE} lacks ['kms:GenerateDataKey'] on the key through sqs.{REGION}.amazonaws.com "
        "(sqs:SendMessage on module.m.aws_sqs_queue.work)"
    ]
    statements = [SEND, _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"]), ENVIRONMENT]
    (problem,) = plan_kms.analyse(_plan(statements), KEY, CTX).problems
    assert "may ['kms:Encrypt']" in problem


def test_analysis_reports_a_grant_not_limited_by_via_service() -> None:
    unlimited = {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY]}
    problems = plan_kms.analyse(
        _plan([SEND, _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey"]), ENVIRONMENT, unlimited]), KEY, CTX
    ).problems
    assert any("must be limited to the services that use it" in p for p in problems), problems


def test_analysis_reports_a_kind_of_resource_it_does_not_know() -> None:
    secret = _resource("aws_secretsmanager_secret", "s", {"name": "s", "kms_key_id": KEY})
    statements = [SEND, _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey"]), ENVIRONMENT]
    (problem,) = plan_kms.analyse(_plan(statements, secret), KEY, CTX).problems
    assert problem.startswith("module.m.aws_secretsmanager_secret.s (kms_key_id) is under the key")
    assert "ENCRYPTED_TYPES" in problem


def test_analysis_reports_an_action_whose_key_use_it_does_not_know() -> None:
    purge = {"Effect": "Allow", "Action": ["sqs:PurgeQueue"], "Resource": [QUEUE_ARN]}
    statements = [SEND, purge, _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey"]), ENVIRONMENT]
    (problem,) = plan_kms.analyse(_plan(statements), KEY, CTX).problems
    assert "sqs:PurgeQueue" in problem
    assert "KEY_OPERATIONS" in problem
