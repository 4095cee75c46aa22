"""Who must be able to use each KMS key, derived from a plan (``terraform show -json``). Pure: no terraform here.

The keys are those the plan itself names (:func:`keys`): every key ARN a planned resource is encrypted with (the
module's ``kms_key_arn``, the hub's key of a spoke's topics and bucket, a key of the caller's) and every key a role
policy grants. Each is analysed alone (:func:`analyse`), so a (role, key, service) without its grant is reported
whichever key it is.

Every planned resource is scanned for an attribute equal to the key's ARN: that resource is encrypted with the key.
Its type says which service uses the key for it (:data:`ENCRYPTED_TYPES`); a type without an entry is a finding in
itself, so a new kind of encrypted resource cannot go unchecked. The roles that use an encrypted resource are
derived from the role policies: an Allow statement whose action belongs to the resource's service and whose
resource pattern matches the resource's ARN (or an object under it, ``<bucket ARN>/<key>``). A Lambda function
encrypted with the key (its environment) is used by its own execution role. Each such role must hold an Allow on
the key through that service (``kms:ViaService``) with the key operations its actions need (:data:`KEY_OPERATIONS`),
and no more: no grant through a service it does not need, no operation it does not need, no grant on the key that
``kms:ViaService`` does not limit. ``kms:ViaService`` names the service in the key's region (a resource is encrypted
with a key of its own region), which may be another region than the deployment's (a hub's key).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Which key operations an action on an encrypted resource costs its caller, through the resource's service (AWS
# documentation of each service's SSE-KMS): SQS producers GenerateDataKey + Decrypt, consumers Decrypt; SNS
# publishers GenerateDataKey + Decrypt; DynamoDB readers Decrypt + DescribeKey, writers also Encrypt and
# GenerateDataKey; S3 PutObject (single part) GenerateDataKey, GetObject Decrypt; Lambda decrypts a function's
# environment with its execution role. An action on an encrypted resource missing here is reported: decide what it
# needs and add it.
_SQS_SEND = frozenset({"kms:GenerateDataKey", "kms:Decrypt"})
_DYNAMODB_READ = frozenset({"kms:Decrypt", "kms:DescribeKey"})
_DYNAMODB_WRITE = _DYNAMODB_READ | {"kms:Encrypt", "kms:GenerateDataKey"}
KEY_OPERATIONS: Mapping[str, frozenset[str]] = {
    "sqs:SendMessage": _SQS_SEND,
    "sqs:ReceiveMessage": frozenset({"kms:Decrypt"}),
    "sqs:DeleteMessage": frozenset(),
    "sqs:ChangeMessageVisibility": frozenset(),
    "sqs:GetQueueAttributes": frozenset(),
    "sns:Publish": frozenset({"kms:GenerateDataKey", "kms:Decrypt"}),
    "dynamodb:GetItem": _DYNAMODB_READ,
    "dynamodb:BatchGetItem": _DYNAMODB_READ,
    "dynamodb:Query": _DYNAMODB_READ,
    "dynamodb:Scan": _DYNAMODB_READ,
    "dynamodb:ConditionCheckItem": _DYNAMODB_READ,
    "dynamodb:UpdateItem": _DYNAMODB_WRITE,
    "dynamodb:PutItem": _DYNAMODB_WRITE,
    "dynamodb:DeleteItem": _DYNAMODB_WRITE,
    "dynamodb:BatchWriteItem": _DYNAMODB_WRITE,
    "s3:PutObject": frozenset({"kms:GenerateDataKey"}),
    "s3:GetObject": frozenset({"kms:Decrypt"}),
    "lambda:environment": frozenset({"kms:Decrypt"}),  # not an IAM action: Lambda decrypting the function's own
}


@dataclass(frozen=True)
class Context:
    partition: str
    region: str
    account: str
    dns_suffix: str = "amazonaws.com"

    def via(self, service: str, region: str | None = None) -> str:
        """The ``kms:ViaService`` value of ``service`` in ``region`` (the deployment's by default)."""
        return f"{service}.{region or self.region}.{self.dns_suffix}"


@dataclass(frozen=True)
class Planned:
    """One planned resource instance."""

    module: str  # "" for the root, else "module.a.module.b"
    type: str
    name: str
    index: Any  # None, an int (count) or a str (for_each)
    values: Mapping[str, Any]

    @property
    def address(self) -> str:
        base = f"{self.module}.{self.type}.{self.name}" if self.module else f"{self.type}.{self.name}"
        return base if self.index is None else f"{base}[{json.dumps(self.index)}]"


@dataclass(frozen=True)
class Encrypted:
    """A resource under the key and who uses the key for it: the service (kms:ViaService) and either its ARN
    (the roles whose statements name it use it) or, for a function's environment, the role that runs it."""

    address: str
    service: str | None  # None: the key is used by a service principal (key policy), never by a role
    arn: str | None = None
    role: str | None = None  # the address of the aws_iam_role that uses it (Lambda: the function's own)


@dataclass
class Analysis:
    encrypted: list[Encrypted] = field(default_factory=list)
    # role address -> service -> the key operations it needs through that service, and why
    needed: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    why: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # role address -> service -> the key operations its policies allow through that service
    granted: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class Plan:
    """The planned resources and the module configurations of a ``terraform show -json`` document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.resources = list(_planned(document["planned_values"]["root_module"]))
        self.by_address = {r.address: r for r in self.resources}
        self._config = dict(_configured(document["configuration"]["root_module"], ""))

    def reference(self, resource: Planned, attribute: str) -> Planned:
        """The resource instance an attribute of ``resource`` refers to (``role = aws_iam_role.this[each.key].arn``:
        the role instance of the same key), from the configuration's references."""
        config = self._config.get((re.sub(r"\[[^\]]*\]", "", resource.module), resource.type, resource.name))
        if config is None:
            raise LookupError(f"{resource.address}: not in the plan's configuration")
        references = config.get("expressions", {}).get(attribute, {}).get("references", [])
        # "aws_iam_role.this[each.key].arn" is shown as ["aws_iam_role.this", "each.key"]: the instance of the same
        # key (or count index) as the referring one; "aws_s3_bucket.report[0].id" keeps its literal index.
        same_key = "each.key" in references or "count.index" in references
        for ref in references:
            found = _REFERENCE.match(ref)
            if not found:
                continue
            instances = [
                r
                for r in self.resources
                if (r.module, r.type, r.name) == (resource.module, found["type"], found["name"])
            ]
            if found["key"] is not None:
                wanted = resource.index if found["key"] in ("each.key", "count.index") else json.loads(found["key"])
                instances = [r for r in instances if r.index == wanted]
            elif same_key:
                instances = [r for r in instances if r.index == resource.index]
            if len(instances) == 1:
                return instances[0]
        raise LookupError(f"{resource.address}.{attribute}: no resource of the plan among its references {references}")


_REFERENCE = re.compile(r"^(?P<type>[a-z0-9_]+)\.(?P<name>[A-Za-z0-9_-]+)(\[(?P<key>[^\]]+)\])?")


def _planned(module: Mapping[str, Any]) -> Iterator[Planned]:
    for resource in module.get("resources", []):
        if resource.get("mode") != "managed":
            continue
        module_address = resource["address"].rsplit(f"{resource['type']}.{resource['name']}", 1)[0].rstrip(".")
        yield Planned(
            module_address, resource["type"], resource["name"], resource.get("index"), resource.get("values", {})
        )
    for child in module.get("child_modules", []):
        yield from _planned(child)


def _configured(module: Mapping[str, Any], address: str) -> Iterator[tuple[tuple[str, str, str], Mapping[str, Any]]]:
    for resource in module.get("resources", []):
        yield (address, resource["type"], resource["name"]), resource
    for name, call in module.get("module_calls", {}).items():
        yield from _configured(call["module"], f"{address}.module.{name}" if address else f"module.{name}")


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (attribute path, leaf value) of ``value``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def paths_equal_to(value: Any, wanted: str, path: str = "") -> Iterator[str]:
    """The attribute paths of ``value`` whose leaf is exactly ``wanted``."""
    for leaf_path, leaf in _leaves(value, path):
        if leaf == wanted:
            yield leaf_path


# Attributes that hand a key's ARN to something rather than encrypt the resource with it: a function's environment
# tells the code which key to write with (HUB_REPORT_KMS_KEY_ARN), the environment itself is encrypted with
# ``kms_key_arn``. A path under one of these prefixes is never "under the key".
NOT_ENCRYPTION: Mapping[str, tuple[str, ...]] = {"aws_lambda_function": ("environment",)}

KEY_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$")


def _encryption_paths(resource: Planned, key_arn: str) -> list[str]:
    """The attributes of ``resource`` that encrypt it with ``key_arn``."""
    excluded = NOT_ENCRYPTION.get(resource.type, ())
    return [
        path
        for path in paths_equal_to(resource.values, key_arn)
        if not any(path == prefix or path.startswith((f"{prefix}.", f"{prefix}[")) for prefix in excluded)
    ]


# resource type -> how its use of the key is found: (service, its ARN or its user) from the plan.
Describe = Callable[[Plan, Planned, Context], Encrypted]


def _named(service: str, arn: Callable[[Planned, Context], str]) -> Describe:
    return lambda plan, r, ctx: Encrypted(r.address, service, arn=arn(r, ctx))


def _bucket_encryption(plan: Plan, r: Planned, ctx: Context) -> Encrypted:
    bucket = plan.reference(r, "bucket")
    return Encrypted(r.address, "s3", arn=f"arn:{ctx.partition}:s3:::{bucket.values['bucket']}")


def _function_environment(plan: Plan, r: Planned, ctx: Context) -> Encrypted:
    return Encrypted(r.address, "lambda", role=plan.reference(r, "role").address)


ENCRYPTED_TYPES: Mapping[str, Describe] = {
    "aws_sqs_queue": _named("sqs", lambda r, c: f"arn:{c.partition}:sqs:{c.region}:{c.account}:{r.values['name']}"),
    "aws_sns_topic": _named("sns", lambda r, c: f"arn:{c.partition}:sns:{c.region}:{c.account}:{r.values['name']}"),
    "aws_dynamodb_table": _named(
        "dynamodb", lambda r, c: f"arn:{c.partition}:dynamodb:{c.region}:{c.account}:table/{r.values['name']}"
    ),
    "aws_s3_bucket_server_side_encryption_configuration": _bucket_encryption,
    "aws_lambda_function": _function_environment,
    # CloudWatch Logs encrypts log groups as its own service principal (logs.<region>.amazonaws.com, allowed by
    # the key policy): the functions' roles write logs without any use of the key.
    "aws_cloudwatch_log_group": lambda plan, r, ctx: Encrypted(r.address, None),
}


def _statements(policy: str) -> list[Mapping[str, Any]]:
    statements = json.loads(policy)["Statement"]
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names(pattern: str, arn: str) -> bool:
    """An IAM resource pattern names the resource itself or something under it (S3 objects, table indexes)."""
    return fnmatch.fnmatchcase(arn, pattern) or pattern.startswith(f"{arn}/")


def _role_policies(plan: Plan) -> dict[str, list[Mapping[str, Any]]]:
    """role address -> the statements of every inline policy of that role."""
    policies: dict[str, list[Mapping[str, Any]]] = {}
    for resource in plan.resources:
        if resource.type == "aws_iam_role_policy":
            role = plan.reference(resource, "role").address
            policies.setdefault(role, []).extend(_statements(resource.values["policy"]))
    return policies


def keys(document: Mapping[str, Any]) -> set[str]:
    """Every KMS key the plan names: the key ARNs planned resources are encrypted with, and the key ARNs the role
    policies grant ``kms:`` actions on (a grant on a key nothing uses is then analysed, and reported, too)."""
    plan = Plan(document)
    found: set[str] = set()
    for resource in plan.resources:
        if resource.type == "aws_iam_role_policy":
            continue
        for _, leaf in _leaves(resource.values):
            if isinstance(leaf, str) and KEY_ARN.match(leaf) and _encryption_paths(resource, leaf):
                found.add(leaf)
    for statements in _role_policies(plan).values():
        for statement in statements:
            if not any(a.startswith("kms:") or a == "*" for a in _as_list(statement.get("Action", []))):
                continue
            found.update(r for r in _as_list(statement.get("Resource", [])) if isinstance(r, str) and KEY_ARN.match(r))
    return found


def analyse(document: Mapping[str, Any], key_arn: str, ctx: Context) -> Analysis:
    plan = Plan(document)
    result = Analysis()
    # kms:ViaService names the service of the key's region: the encrypted resource is in the key's region.
    key_region = key_arn.split(":")[3]

    def via(service: str) -> str:
        return ctx.via(service, key_region)

    for resource in plan.resources:
        if resource.type == "aws_iam_role_policy":
            continue  # the grants themselves (the key's ARN is inside the policy text, never equal to it)
        paths = _encryption_paths(resource, key_arn)
        if not paths:
            continue
        describe = ENCRYPTED_TYPES.get(resource.type)
        if describe is None:
            result.problems.append(
                f"{resource.address} ({', '.join(paths)}) is under the key, but tests/terraform/plan_kms.py does not "
                f"know which service uses the key for a {resource.type}, nor which roles use it: add it to "
                "ENCRYPTED_TYPES"
            )
            continue
        result.encrypted.append(describe(plan, resource, ctx))

    policies = _role_policies(plan)

    def need(role: str, service: str, operations: frozenset[str], reason: str) -> None:
        if not operations:
            return
        result.needed.setdefault(role, {}).setdefault(service, set()).update(operations)
        result.why.setdefault(role, {}).setdefault(service, []).append(reason)

    for item in result.encrypted:
        if item.service is None:
            continue
        if item.role is not None:
            need(item.role, item.service, KEY_OPERATIONS[f"{item.service}:environment"], f"{item.address} environment")
            continue
        for role, statements in policies.items():
            for statement in statements:
                if "NotAction" in statement or "NotResource" in statement:
                    result.problems.append(f"{role}: NotAction/NotResource statements are not analysed: {statement}")
                    continue
                if statement.get("Effect") != "Allow":
                    continue
                if not any(_names(pattern, item.arn or "") for pattern in _as_list(statement.get("Resource", []))):
                    continue
                for action in _as_list(statement.get("Action", [])):
                    if not action.startswith(f"{item.service}:"):
                        continue
                    if action not in KEY_OPERATIONS:
                        result.problems.append(
                            f"{role} may {action} on {item.address}, which is under the key: add to KEY_OPERATIONS "
                            "the key operations that action needs"
                        )
                        continue
                    need(role, item.service, KEY_OPERATIONS[action], f"{action} on {item.address}")

    via_services = {}
    for item in result.encrypted:
        if item.service is not None:
            via_services[via(item.service)] = item.service
    for role, statements in policies.items():
        for statement in statements:
            if statement.get("Effect") != "Allow":
                continue
            actions = [a for a in _as_list(statement.get("Action", [])) if a.startswith("kms:") or a == "*"]
            if not actions or not any(_names(p, key_arn) for p in _as_list(statement.get("Resource", []))):
                continue
            condition = statement.get("Condition", {})
            vias = _as_list(condition.get("StringEquals", {}).get("kms:ViaService", []))
            if not vias or condition != {
                "StringEquals": {"kms:ViaService": statement["Condition"]["StringEquals"]["kms:ViaService"]}
            }:
                result.problems.append(
                    f"{role}: a grant on the key must be limited to the services that use it for the role, and by "
                    f"nothing else (Condition StringEquals kms:ViaService alone), got {condition or 'no condition'}"
                )
                continue
            for via_service in vias:
                service = via_services.get(via_service, via_service)
                result.granted.setdefault(role, {}).setdefault(service, set()).update(actions)

    for role in sorted(set(result.needed) | set(result.granted)):
        needed, granted = result.needed.get(role, {}), result.granted.get(role, {})
        for service in sorted(set(needed) | set(granted)):
            if service not in granted:
                result.problems.append(
                    f"{role} needs {sorted(needed[service])} on the key {key_arn} through {via(service)} "
                    f"({'; '.join(result.why[role][service])}) and has no such grant"
                )
            elif service not in needed:
                result.problems.append(
                    f"{role} may use the key {key_arn} through {service} ({sorted(granted[service])}) but uses no "
                    "resource of that service under the key"
                )
            elif missing := needed[service] - granted[service]:
                result.problems.append(
                    f"{role} lacks {sorted(missing)} on the key {key_arn} through {via(service)} "
                    f"({'; '.join(result.why[role][service])})"
                )
            elif extra := granted[service] - needed[service]:
                result.problems.append(
                    f"{role} may {sorted(extra)} on the key {key_arn} through {via(service)} but needs only "
                    f"{sorted(needed[service])}"
                )
    return result
