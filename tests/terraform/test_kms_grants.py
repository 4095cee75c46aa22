"""Every role can use every key for every encrypted resource it uses, and for nothing else.

The module is planned for real (tests/terraform/kms_root: every feature that stores something on, a literal key ARN)
against moto's STS, the only API a fresh plan calls; ``terraform show -json`` of that plan is analysed by
plan_kms.py, which derives from the plan itself which keys there are (:func:`plan_kms.keys`), which resources are
under each, which roles use them and what those roles need. Two plans: the module alone (its own key, kms_key_arn),
and the module as a spoke of an organization hub (hub_kms_key_arn), where the root also plans the hub's topics and
bucket under the hub's key: the roles that publish to the hub's topics and write to its bucket need the hub's key
through SNS and S3, as AWS checks a cross-account key use in the caller's identity policy too. Nothing here lists
the module's resources, roles or keys: a new encrypted resource, a new role, a new statement or a new key is checked
as it appears, and a new kind of resource under a key fails until plan_kms.py knows what uses it. The synthetic
plans below show that each kind of mistake is reported.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import plan_kms  # tests/terraform/plan_kms.py
import pytest

ROOT = Path(__file__).resolve().parents[2]
TF_ROOT = Path(__file__).resolve().parent / "kms_root"
REGION = "eu-west-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
HUB_KEY_ID = "5678efab-56ef-78ab-90cd-567890abcdef"


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


Planned = tuple[dict[str, Any], str, plan_kms.Context]


@pytest.fixture(scope="module")
def plan_root(sts: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[[bool], Planned]:
    """Plans tests/terraform/kms_root (with the hub's side or not): ``terraform show -json`` of the plan, the module's
    key ARN and the deployment."""
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

    def plan(hub: bool) -> Planned:
        plan_file = work / f"plan-{'hub' if hub else 'module'}.tfplan"
        variables = [f"-var=kms_key_arn={key_arn}"]
        if hub:
            variables.append(f"-var=hub_kms_key_arn={hub_key_arn(ctx)}")
        terraform("plan", "-input=false", "-no-color", "-lock=false", *variables, f"-out={plan_file}")
        return json.loads(terraform("show", "-json", str(plan_file))), key_arn, ctx

    return plan


def hub_key_arn(ctx: plan_kms.Context) -> str:
    return f"arn:aws:kms:{REGION}:{ctx.account}:key/{HUB_KEY_ID}"


@pytest.fixture(scope="module")
def planned(plan_root: Callable[[bool], Planned]) -> Planned:
    """The module alone, everything under its own key."""
    return plan_root(False)


@pytest.fixture(scope="module")
def planned_spoke(plan_root: Callable[[bool], Planned]) -> Planned:
    """The module as a spoke of a hub: the hub's topics and bucket (planned by the root) under the hub's key."""
    return plan_root(True)


def _problems(document: dict[str, Any], ctx: plan_kms.Context) -> list[str]:
    """Every key the plan names, analysed alone: the problems of all of them."""
    return [
        problem for key in sorted(plan_kms.keys(document)) for problem in plan_kms.analyse(document, key, ctx).problems
    ]


def test_every_role_can_use_the_key_for_exactly_what_it_uses(planned: Planned) -> None:
    document, key_arn, ctx = planned
    assert plan_kms.keys(document) == {key_arn}
    problems = _problems(document, ctx)
    assert problems == [], "\n".join(problems)


def test_a_spokes_roles_can_use_every_key_for_exactly_what_they_use(planned_spoke: Planned) -> None:
    """The class of issue 27: every (role, key, service) the plan shows a use of has its grant, the hub's key through
    SNS (the hub's topic, chat topic and a team's topic and chat topic of the hub's) and through S3 (the hub's
    bucket) included."""
    document, key_arn, ctx = planned_spoke
    assert plan_kms.keys(document) == {key_arn, hub_key_arn(ctx)}
    problems = _problems(document, ctx)
    assert problems == [], "\n".join(problems)


def test_the_spoke_plan_puts_the_hubs_topics_and_bucket_under_the_hubs_key(planned_spoke: Planned) -> None:
    """The derivation finds the hub's resources under the hub's key, and the roles that use each: the publishers
    (findings: alerts, chat, a team's alerts; report: the report, a team's) and the report role writing the hub's
    bucket. The test above then checks their grants."""
    document, _, ctx = planned_spoke
    analysis = plan_kms.analyse(document, hub_key_arn(ctx), ctx)
    assert {item.address for item in analysis.encrypted} == {
        'aws_sns_topic.hub["hub-notifications"]',
        'aws_sns_topic.hub["hub-chat"]',
        'aws_sns_topic.hub["hub-platform"]',
        'aws_sns_topic.hub["hub-platform-chat"]',
        "aws_s3_bucket_server_side_encryption_configuration.hub[0]",
    }
    uses = {
        (role.split("[")[-1].strip('"]'), service, reason.split(" on ")[-1])
        for role, services in analysis.why.items()
        for service, reasons in services.items()
        for reason in reasons
    }
    assert uses == {
        ("findings", "sns", 'aws_sns_topic.hub["hub-notifications"]'),
        ("findings", "sns", 'aws_sns_topic.hub["hub-chat"]'),
        ("findings", "sns", 'aws_sns_topic.hub["hub-platform"]'),
        ("findings", "sns", 'aws_sns_topic.hub["hub-platform-chat"]'),
        ("report", "sns", 'aws_sns_topic.hub["hub-notifications"]'),
        ("report", "sns", 'aws_sns_topic.hub["hub-platform"]'),
        ("report", "sns", 'aws_sns_topic.hub["hub-platform-chat"]'),
        ("report", "s3", "aws_s3_bucket_server_side_encryption_configuration.hub[0]"),
    }


def test_the_plan_exercises_every_kind_of_encrypted_resource(planned: Planned) -> None:
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


def test_the_plan_puts_the_teams_topics_under_the_key(planned: Planned) -> None:
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
    assert problem.startswith(f"{ROLE} needs ['kms:Decrypt', 'kms:GenerateDataKey'] on the key {KEY} through sqs.")
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
        f"{ROLE} lacks ['kms:GenerateDataKey'] on the key {KEY} through sqs.{REGION}.amazonaws.com "
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


# --- every key of the plan, each analysed alone ---------------------------------------------------------------------

OTHER_KEY = f"arn:aws:kms:us-east-1:210987654321:key/{HUB_KEY_ID}"
TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:central"


def test_keys_are_the_encryption_keys_and_the_granted_keys_not_a_key_handed_to_the_code() -> None:
    """A function's environment naming a key (HUB_REPORT_KMS_KEY_ARN) neither encrypts the function nor makes the
    role need that key through Lambda; a role's grant on a key names a key of the plan."""
    statements = [SEND, _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey"]), ENVIRONMENT]
    document = _plan(statements)
    function = document["planned_values"]["root_module"]["child_modules"][0]["resources"][1]
    function["values"] = {**function["values"], "environment": [{"variables": {"HUB_REPORT_KMS_KEY_ARN": OTHER_KEY}}]}
    assert plan_kms.keys(document) == {KEY}
    assert plan_kms.analyse(document, OTHER_KEY, CTX).problems == []
    granted = {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [OTHER_KEY]}
    assert plan_kms.keys(_plan([*statements, granted])) == {KEY, OTHER_KEY}


def test_analysis_reports_a_publisher_without_a_grant_on_another_accounts_key_in_its_region() -> None:
    """A topic under another account's key of another region (a hub's): its publisher needs that key through SNS of
    the key's region; the grant through the deployment's region is not it."""
    topic = _resource("aws_sns_topic", "central", {"name": "central", "kms_master_key_id": OTHER_KEY})
    publish = {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": [TOPIC_ARN]}
    statements = [SEND, _grant("sqs", ["kms:Decrypt", "kms:GenerateDataKey"]), ENVIRONMENT, publish]
    document = _plan(statements, topic)
    assert plan_kms.keys(document) == {KEY, OTHER_KEY}
    assert plan_kms.analyse(document, KEY, CTX).problems == []
    (problem,) = plan_kms.analyse(document, OTHER_KEY, CTX).problems
    needs = "['kms:Decrypt', 'kms:GenerateDataKey']"
    assert problem.startswith(f"{ROLE} needs {needs} on the key {OTHER_KEY} through sns.us-east-1.amazonaws.com")
    wrong_region = {**_grant("sns", ["kms:Decrypt", "kms:GenerateDataKey"]), "Resource": [OTHER_KEY]}
    problems = plan_kms.analyse(_plan([*statements, wrong_region], topic), OTHER_KEY, CTX).problems
    assert any("has no such grant" in p for p in problems), problems
    right = {**wrong_region, "Condition": {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}}}
    assert plan_kms.analyse(_plan([*statements, right], topic), OTHER_KEY, CTX).problems == []
