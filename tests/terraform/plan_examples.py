"""Plan both examples and the README's Usage snippet from an empty state, on the emulators (``make plan-examples``).

A platform team's first ``terraform plan`` creates the KMS key or the topic it hands to the module in the same
configuration: their ARNs are unknown when planning, so a ``count`` or ``for_each`` of the module that depends on
them fails ("Invalid count argument"). ``terraform test`` with the mocked provider cannot see that (the mock knows
every ARN at plan time), nor can a plan that applies the key first (``-target``). This plans each root as a user
would: ``terraform init`` and ``terraform plan``, no state, no ``-target``, against moto + ministack on 127.0.0.1
(started here and stopped by PID whatever happens).

The roots: ``examples/complete``, ``examples/multi-region``, the organization's two configurations
(``examples/organization/hub``, then ``examples/organization/spoke`` reading the hub's outputs from a state written
from the hub's plan: :func:`state_from_plan`) and a root generated from the README's first ``hcl``
block under "## Usage", exactly what users copy: only its ``source`` (a ``git::`` URL with any ``?ref=``, a GitHub
shorthand or a registry address of ecr-scan-reporter) is mapped to this checkout; nothing is added (a resource it
refers to without declaring it fails the generation: the snippet must be complete as written). The README's
compliance gate (terraform-compliance with the module's features) then runs on that snippet's first plan, as the
README's "Compliance gate" shows it.

    python tests/terraform/plan_examples.py --work .build/plan-examples
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from emulators import Emulators  # noqa: E402 - tests/emulators.py, found through the path set above

EXAMPLES = ("complete", "multi-region", "organization/hub", "organization/spoke")
# The spoke of examples/organization reads the hub's outputs (terraform_remote_state, its variable hub_state): it
# is planned against a state holding the outputs of the hub's plan.
READS_HUB = {"organization/spoke": "organization/hub"}

# Stand-ins for outputs a first plan of the hub cannot know (by the output's leaf name): the key is created in the
# same plan. {region} and {account} are those of the hub's topic.
OUTPUT_STAND_INS = {"kms_key_arn": "arn:aws:kms:{region}:{account}:key/00000000-0000-0000-0000-000000000000"}

# Where users get the module from: git (any host, any ?ref=), GitHub shorthand, a registry address.
MODULE_SOURCE = re.compile(
    r"""^(git::\S*ecr-scan-reporter(\.git)?(//[^?]*)?(\?\S*)?"""
    r"""|(github\.com/|git@github\.com:)\S*/ecr-scan-reporter(\.git)?(//[^?]*)?(\?\S*)?"""
    r"""|([a-z0-9.-]+/)?[A-Za-z0-9_-]+/ecr-scan-reporter/aws)$"""
)


class SnippetError(ValueError):
    """The README's Usage snippet cannot be turned into a root (no block, an unknown source, a stand-in missing)."""


def usage_snippet(readme: str) -> str:
    """The first ```hcl block after the "## Usage" heading."""
    heading = re.search(r"^## Usage\s*$", readme, re.MULTILINE)
    if heading is None:
        raise SnippetError('the README has no "## Usage" heading')
    block = re.compile(r"^```hcl\s*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL).search(readme, heading.end())
    next_heading = re.compile(r"^## ", re.MULTILINE).search(readme, heading.end())
    if block is None or (next_heading is not None and block.start() > next_heading.start()):
        raise SnippetError('no ```hcl block in the README\'s "## Usage" section')
    return block.group(1)


def localise(snippet: str, module_path: str) -> str:
    """The snippet with every ecr-scan-reporter module source replaced by ``module_path`` (a ./ or ../ path)."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        source = match.group(2)
        if not MODULE_SOURCE.match(source):
            raise SnippetError(f"module source {source!r} is not ecr-scan-reporter (git::, GitHub or registry)")
        count += 1
        return f'{match.group(1)}"{module_path}"'

    text = re.sub(r'^(\s*source\s*=\s*)"([^"]*)"', replace, snippet, flags=re.MULTILINE)
    if count == 0:
        raise SnippetError("the Usage snippet has no module source")
    return text


def undeclared(snippet: str) -> list[str]:
    """The resources (``aws_x.name``) the snippet refers to without declaring them: a complete snippet has none."""
    declared = set(re.findall(r'^\s*resource\s+"([a-z0-9_]+)"\s+"([A-Za-z0-9_-]+)"', snippet, re.MULTILINE))
    referred = set(re.findall(r"(?<![\w.\"])(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.[a-z_]+", snippet))
    return [f"{kind}.{name}" for kind, name in sorted(referred - declared)]


def readme_root(readme: Path, directory: Path) -> Path:
    """Write the root generated from the README's Usage snippet to ``directory``; return its main.tf."""
    directory.mkdir(parents=True, exist_ok=True)
    module_path = os.path.relpath(ROOT, directory)
    if not module_path.startswith("."):
        module_path = f"./{module_path}"
    snippet = usage_snippet(readme.read_text())
    missing = undeclared(snippet)
    if missing:
        raise SnippetError(
            f"the Usage snippet refers to {', '.join(missing)} without declaring it: not planable as written"
        )
    text = localise(snippet, module_path)
    main = directory / "main.tf"
    main.write_text(text)
    return main


def state_from_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """A state (version 4) holding the outputs of ``plan`` (``terraform show -json``): what a configuration reading
    them with ``terraform_remote_state`` sees once the planned configuration is applied. An output the plan cannot
    know gets its stand-in (:data:`OUTPUT_STAND_INS`); any other unknown output raises :class:`SnippetError`."""
    changes = plan.get("output_changes", {})
    arns = [v for v in _leaves(changes) if isinstance(v, str) and v.startswith("arn:") and v.count(":") >= 5]
    if not arns:
        raise SnippetError("the plan's outputs name no ARN: no region or account for the stand-ins")
    _, _, _, region, account, *_ = arns[0].split(":")
    outputs = {}
    for name, change in changes.items():
        value = _known(change.get("after"), change.get("after_unknown", False), name, region, account)
        outputs[name] = {"value": value, "type": _cty_type(value)}
    return {
        "version": 4,
        "terraform_version": plan.get("terraform_version", "1.11.0"),
        "serial": 1,
        "lineage": "plan-examples",
        "outputs": outputs,
        "resources": [],
    }


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _known(after: Any, unknown: Any, path: str, region: str, account: str) -> Any:
    if unknown is True:
        leaf = path.rsplit(".", 1)[-1]
        if leaf not in OUTPUT_STAND_INS:
            raise SnippetError(f"output {path} is unknown in the plan: add a stand-in for {leaf} to OUTPUT_STAND_INS")
        return OUTPUT_STAND_INS[leaf].format(region=region, account=account)
    if isinstance(after, dict) or isinstance(unknown, dict):
        after, unknown = after or {}, unknown if isinstance(unknown, dict) else {}
        return {k: _known(after.get(k), unknown.get(k, False), f"{path}.{k}", region, account) for k in after | unknown}
    if isinstance(after, list):
        unknowns = unknown if isinstance(unknown, list) else [False] * len(after)
        pairs = enumerate(zip(after, unknowns, strict=True))
        return [_known(item, u, f"{path}[{i}]", region, account) for i, (item, u) in pairs]
    return after


def _cty_type(value: Any) -> Any:
    """The type Terraform records with an output in its state (cty's JSON form)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return ["object", {k: _cty_type(v) for k, v in value.items()}]
    if isinstance(value, list):
        return ["tuple", [_cty_type(v) for v in value]]
    return "dynamic"


@dataclass(frozen=True)
class Root:
    name: str
    directory: Path

    @property
    def file_name(self) -> str:
        return self.name.replace("/", "-")


def plan(root: Root, work: Path, env: dict[str, str], variables: tuple[str, ...] = ()) -> str:
    """terraform init + plan of ``root`` from an empty state; the plan's summary line. Raises on failure."""
    run_env = env | {"TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(work / "data" / root.file_name)}
    log = work / f"{root.file_name}.log"
    state = work / f"{root.file_name}.tfstate"  # never written: planning only, from no state
    state.unlink(missing_ok=True)
    steps = [
        ["init", "-input=false", "-no-color"],
        [
            "plan",
            "-input=false",
            "-no-color",
            "-lock=false",
            f"-state={state}",
            f"-out={work / root.file_name}.tfplan",
            *variables,
        ],
    ]
    output = ""
    for step in steps:
        proc = subprocess.run(
            ["terraform", f"-chdir={root.directory}", *step],
            env=run_env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        output += proc.stdout + proc.stderr
        log.write_text(output)
        if proc.returncode != 0:
            raise RuntimeError(f"{root.name}: terraform {step[0]} failed (log: {log}):\n{_tail(output)}")
    summary = [line for line in output.splitlines() if line.startswith("Plan:")]
    return summary[-1] if summary else "no changes"


def gate(root: Root, work: Path, env: dict[str, str]) -> str:
    """The README's compliance gate on ``root``'s plan (written by :func:`plan`): terraform show -json, then
    terraform-compliance with the features of the module's directory (.terraform/modules/modules.json, label
    ``ecr_scan_reporter``). Raises on a failed feature."""
    run_env = env | {"TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(work / "data" / root.file_name)}
    plan_json = work / f"{root.file_name}.plan.json"
    shown = subprocess.run(
        ["terraform", f"-chdir={root.directory}", "show", "-json", f"{work / root.file_name}.tfplan"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if shown.returncode != 0:
        raise RuntimeError(f"{root.name}: terraform show -json failed:\n{_tail(shown.stderr)}")
    plan_json.write_text(shown.stdout)
    modules = json.loads((work / "data" / root.file_name / "modules" / "modules.json").read_text())["Modules"]
    module_dir = next(m["Dir"] for m in modules if m["Key"] == "ecr_scan_reporter")
    features = (root.directory / module_dir / "tests" / "compliance" / "features").resolve()
    compliance = Path(sys.executable).parent / "terraform-compliance"
    proc = subprocess.run(
        [str(compliance), "--no-ansi", "--silent", "-f", str(features), "-p", str(plan_json)],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    (work / f"{root.file_name}.compliance.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{root.name}: the compliance gate failed on its first plan:\n{_tail(proc.stdout + proc.stderr)}"
        )
    return "compliance gate passed"


def plan_outside(readme: Path, env: dict[str, str]) -> str:
    """A user's own root outside the repository (a temporary directory holding the README's Usage snippet, the
    module as a relative local path) planned with the documented command, ``make local-plan ROOT_DIR=<it>``
    (tests/local_root.py: its own emulators). Its summary line; raises when it fails or writes to the root."""
    with tempfile.TemporaryDirectory(prefix="my-root-") as name:
        directory = Path(name).resolve()
        if directory.is_relative_to(ROOT):
            raise RuntimeError(f"{directory} is inside the repository: not a user's own root")
        module_path = os.path.relpath(ROOT, directory)
        (directory / "main.tf").write_text(localise(usage_snippet(readme.read_text()), module_path))
        proc = subprocess.run(
            ["make", "-C", str(ROOT), "local-plan", f"ROOT_DIR={directory}"],
            env={k: v for k, v in env.items() if not k.startswith("AWS_")},
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        output = proc.stdout + proc.stderr
        if proc.returncode != 0 or "Plan:" not in output:
            raise RuntimeError(f"user-root: make local-plan ROOT_DIR={directory} failed:\n{_tail(output)}")
        shutil.rmtree(ROOT / ".build" / "local" / directory.name, ignore_errors=True)  # local_root.py's copy
        left = sorted(path.name for path in directory.iterdir())
        if left != ["main.tf"]:
            raise RuntimeError(f"user-root: make local-plan wrote to the user's root: {left}")
        return next(line for line in output.splitlines() if "Plan:" in line)


def hub_state_variable(hub: Root, work: Path, env: dict[str, str]) -> tuple[str, ...]:
    """``-var hub_state=...`` for a configuration reading ``hub``'s outputs: a local state written from the hub's
    plan (planned just before)."""
    run_env = env | {"TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(work / "data" / hub.file_name)}
    shown = subprocess.run(
        ["terraform", f"-chdir={hub.directory}", "show", "-json", str(work / f"{hub.file_name}.tfplan")],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    path = work / f"{hub.file_name}.outputs.tfstate"
    path.write_text(json.dumps(state_from_plan(json.loads(shown.stdout)), indent=2))
    return ("-var", f'hub_state={{ backend = "local", config = {{ path = {json.dumps(str(path))} }} }}')


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--work", type=Path, default=ROOT / ".build" / "plan-examples")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    roots = [Root(name, ROOT / "examples" / name) for name in EXAMPLES]
    roots.append(Root("readme-usage", readme_root(args.readme, work / "readme-usage").parent))

    failures = []
    with Emulators(work / "emulators") as emulators:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | emulators.env
        by_name = {root.name: root for root in roots}
        for root in roots:
            try:
                variables = (
                    hub_state_variable(by_name[READS_HUB[root.name]], work, env) if root.name in READS_HUB else ()
                )
                print(f"{root.name}: {plan(root, work, env, variables)}", flush=True)
                if root.name == "readme-usage":
                    print(f"{root.name}: {gate(root, work, env)}", flush=True)
            except (RuntimeError, SnippetError, subprocess.CalledProcessError) as error:
                failures.append(str(error))
                print(error, file=sys.stderr, flush=True)
    try:
        print(f"user-root (make local-plan): {plan_outside(args.readme, dict(os.environ))}", flush=True)
    except RuntimeError as error:
        failures.append(str(error))
        print(error, file=sys.stderr, flush=True)
    if failures:
        print(f"{len(failures)} of {len(roots) + 1} roots could not be planned from an empty state", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
