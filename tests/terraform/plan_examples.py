"""Plan both examples and the README's Usage snippet from an empty state, on the emulators (``make plan-examples``).

A platform team's first ``terraform plan`` creates the KMS key or the topic it hands to the module in the same
configuration: their ARNs are unknown when planning, so a ``count`` or ``for_each`` of the module that depends on
them fails ("Invalid count argument"). ``terraform test`` with the mocked provider cannot see that (the mock knows
every ARN at plan time), nor can a plan that applies the key first (``-target``). This plans each root as a user
would: ``terraform init`` and ``terraform plan``, no state, no ``-target``, against moto + ministack on 127.0.0.1
(started here and stopped by PID whatever happens).

The roots: ``examples/complete``, ``examples/multi-region`` and a root generated from the README's first ``hcl``
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from emulators import Emulators  # noqa: E402 - tests/emulators.py, found through the path set above

EXAMPLES = ("complete", "multi-region", "organization")

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


@dataclass(frozen=True)
class Root:
    name: str
    directory: Path


def plan(root: Root, work: Path, env: dict[str, str]) -> str:
    """terraform init + plan of ``root`` from an empty state; the plan's summary line. Raises on failure."""
    run_env = env | {"TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(work / "data" / root.name)}
    log = work / f"{root.name}.log"
    state = work / f"{root.name}.tfstate"  # never written: planning only, from no state
    state.unlink(missing_ok=True)
    steps = [
        ["init", "-input=false", "-no-color"],
        ["plan", "-input=false", "-no-color", "-lock=false", f"-state={state}", f"-out={work / root.name}.tfplan"],
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
    run_env = env | {"TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(work / "data" / root.name)}
    plan_json = work / f"{root.name}.plan.json"
    shown = subprocess.run(
        ["terraform", f"-chdir={root.directory}", "show", "-json", f"{work / root.name}.tfplan"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if shown.returncode != 0:
        raise RuntimeError(f"{root.name}: terraform show -json failed:\n{_tail(shown.stderr)}")
    plan_json.write_text(shown.stdout)
    modules = json.loads((work / "data" / root.name / "modules" / "modules.json").read_text())["Modules"]
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
    (work / f"{root.name}.compliance.log").write_text(proc.stdout + proc.stderr)
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
        for root in roots:
            try:
                print(f"{root.name}: {plan(root, work, env)}", flush=True)
                if root.name == "readme-usage":
                    print(f"{root.name}: {gate(root, work, env)}", flush=True)
            except RuntimeError as error:
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
