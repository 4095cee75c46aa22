"""Plan, apply and destroy your own Terraform root on the local emulators (moto + ministack), without AWS.

    make local-plan  ROOT_DIR=../my-root   # start the emulators, init + plan the root, stop them
    make local-apply ROOT_DIR=../my-root   # start them, init + apply; they keep running for you to look around
    make local-down  ROOT_DIR=../my-root   # destroy what local-apply created, stop the emulators

Your root is never written to: it is copied (its ``.terraform/``, state and plan files left out) to
``.build/local/<name>/root``, where

- every relative module ``source`` (``./`` or ``../``) is rewritten to reach the same directory from the copy;
- ``zz_local_emulators_override.tf`` gives each ``provider "aws"`` block (by alias) the emulators' fake credentials
  (they take precedence over a ``profile``) and, when the root declares a ``backend``, replaces it with a local
  state in the copy;
- the environment carries the emulators' endpoints (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_ECR``, ...), the fake
  credentials and a region (``AWS_REGION``, default us-east-1; a provider's own ``region`` wins).

The emulators run on 127.0.0.1 on free ports and are stopped by PID (tests/emulators.py). What does not carry over
to the copy: files the root reads from outside its directory (``file("../x")``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from emulators import REGION, Emulators, _stop_pid  # noqa: E402 - tests/emulators.py, through the path set above

OVERRIDE = "zz_local_emulators_override.tf"
SKIP = (".terraform", "terraform.tfstate", "terraform.tfstate.backup", ".terraform.tfstate.lock.info")
_SOURCE = re.compile(r'^(\s*source\s*=\s*)"(\.\.?/[^"]*)"', re.MULTILINE)
_PROVIDER = re.compile(r'^\s*provider\s+"aws"\s*\{', re.MULTILINE)
_BACKEND = re.compile(r'^\s*backend\s+"[^"]+"', re.MULTILINE)


class LocalRootError(RuntimeError):
    """The root cannot be planned or applied on the emulators (what failed, and its log)."""


def _block(text: str, start: int) -> str:
    """The text of the block whose ``{`` is at ``start`` - 1 (braces counted, strings not parsed: good enough
    for provider blocks)."""
    depth, i = 1, start
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start : i - 1]


def provider_aliases(text: str) -> list[str | None]:
    """The alias of each ``provider "aws"`` block in ``text`` (None: the default provider)."""
    aliases: list[str | None] = []
    for match in _PROVIDER.finditer(text):
        body = _block(text, match.end())
        alias = re.search(r'^\s*alias\s*=\s*"([^"]+)"', body, re.MULTILINE)
        aliases.append(alias.group(1) if alias else None)
    return aliases


def override(aliases: list[str | None], backend: bool, state: Path) -> str:
    """The override file: fake credentials for each aws provider block; a local state instead of a backend."""
    parts = ["# Written by tests/local_root.py for the local emulators: the copy's only addition.\n"]
    if backend:
        parts.append(f'terraform {{\n  backend "local" {{\n    path = "{state}"\n  }}\n}}\n')
    for alias in dict.fromkeys(aliases):
        alias_line = f'  alias      = "{alias}"\n' if alias else ""
        parts.append(f'provider "aws" {{\n{alias_line}  access_key = "test"\n  secret_key = "test"\n}}\n')
    return "\n".join(parts)


def copy_root(source: Path, target: Path) -> Path:
    """Copy the root ``source`` to ``target`` (replacing it), relative module sources rewritten, the override
    written. Returns ``target``."""
    source = source.resolve()
    if not any(source.glob("*.tf")):
        raise LocalRootError(f"{source}: no .tf files, not a Terraform root")
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*SKIP, "*.tfplan", OVERRIDE))
    aliases: list[str | None] = []
    backend = False
    for path in sorted(target.rglob("*.tf")):
        text = path.read_text()
        original_dir = source / path.parent.relative_to(target)

        def relocate(match: re.Match[str], original_dir: Path = original_dir, copy_dir: Path = path.parent) -> str:
            moved = os.path.relpath((original_dir / match.group(2)).resolve(), copy_dir)
            return f'{match.group(1)}"{moved if moved.startswith(".") else "./" + moved}"'

        updated = _SOURCE.sub(relocate, text)
        if updated != text:
            path.write_text(updated)
        if path.parent == target:
            aliases += provider_aliases(updated)
            backend = backend or bool(_BACKEND.search(updated))
    (target / OVERRIDE).write_text(override(aliases, backend, target / "terraform.tfstate"))
    return target


def _terraform(root: Path, work: Path, env: dict[str, str], *args: str) -> str:
    run_env = env | {"TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(work / "data")}
    proc = subprocess.run(
        ["terraform", f"-chdir={root}", *args, "-input=false", "-no-color"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    log = work / f"{args[0]}.log"
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise LocalRootError(f"terraform {args[0]} failed (log: {log}):\n{tail}")
    return proc.stdout


def _summary(output: str, prefix: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(prefix)]
    return lines[-1] if lines else output.strip().splitlines()[-1] if output.strip() else ""


def _env(emulators_env: dict[str, str], region: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | emulators_env
    return env | {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}


def plan(source: Path, work: Path, region: str = REGION) -> str:
    """Copy, start the emulators, init + plan, stop them. The plan's summary line; the plan in ``work``."""
    root = copy_root(source, work / "root")
    with Emulators(work / "emulators", region=region) as emulators:
        env = _env(emulators.env, region)
        _terraform(root, work, env, "init")
        output = _terraform(root, work, env, "plan", f"-out={work / 'plan.tfplan'}")
    return _summary(output, "Plan:") or "No changes."


def apply(source: Path, work: Path, region: str = REGION) -> str:
    """Copy, start the emulators (left running for local-down), init + apply. The apply's summary line."""
    down(work, quiet=True)  # a previous local-apply's emulators, if any
    root = copy_root(source, work / "root")
    emulators = Emulators(work / "emulators", region=region).start()
    try:
        env = _env(emulators.env, region)
        _terraform(root, work, env, "init")
        output = _terraform(root, work, env, "apply", "-auto-approve")
    except BaseException:
        emulators.stop()
        raise
    (work / "region").write_text(region)
    return _summary(output, "Apply complete")


def down(work: Path, quiet: bool = False) -> str:
    """Destroy what ``apply`` created (while its emulators run) and stop the emulators by PID."""
    pids_file = work / "emulators" / "pids.json"
    if not pids_file.exists():
        return "no emulators running for this root (nothing to take down)"
    try:
        if not quiet:
            exports = (work / "emulators" / "env").read_text().splitlines()
            emulators_env = dict(line.removeprefix("export ").split("=", 1) for line in exports if "=" in line)
            region = (work / "region").read_text().strip() if (work / "region").exists() else REGION
            output = _terraform(work / "root", work, _env(emulators_env, region), "destroy", "-auto-approve")
            return _summary(output, "Destroy complete")
        return "stopped"
    finally:
        for pid in json.loads(pids_file.read_text()).values():
            _stop_pid(int(pid))
        pids_file.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("plan", "apply", "down"))
    parser.add_argument("--root", type=Path, required=True, help="your Terraform root (never written to)")
    parser.add_argument("--work", type=Path, help="default: .build/local/<the root's directory name>")
    parser.add_argument("--region", default=REGION, help="AWS_REGION for the root (default %(default)s)")
    args = parser.parse_args(argv)
    source = args.root.resolve()
    work = (args.work or ROOT / ".build" / "local" / source.name).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.action == "plan":
            print(f"{source}: {plan(source, work, args.region)} (on the emulators; plan: {work / 'plan.tfplan'})")
        elif args.action == "apply":
            print(f"{source}: {apply(source, work, args.region)} (on the emulators, still running)")
            print(f"take it down: make local-down ROOT_DIR={args.root}")
        else:
            print(f"{source}: {down(work)}")
    except LocalRootError as error:
        print(f"{source}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
