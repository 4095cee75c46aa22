"""Terraform against a target: init/apply/plan/destroy of the test root (tests/e2e/root) with its own data
directory and state file in a work directory, so runs never share state and the repository stays clean.

The CLI configuration comes from the caller's ``TF_CLI_CONFIG_FILE`` (``make e2e``/``make demo`` pass
mk/terraform.mk's ``TF_ENV``: ``.build/terraform.rc``, written by ``tf-rc``, installs the provider from the local
filesystem mirror, offline) or ``TF_PLUGIN_CACHE_DIR`` (no mirror: the registry, cached).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT_MODULE = Path(__file__).resolve().parent / "root"
#: The caller's Terraform settings that apply here too (mk/terraform.mk's TF_ENV); any other TF_* (a data
#: directory, a workspace, TF_VAR_*) would mix this run up with something else, so it is dropped.
_TF_PASSED = ("TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR", "TF_LOG", "TF_LOG_PATH")
_init_lock = threading.Lock()  # init writes the root's .terraform.lock.hcl: one at a time


class TerraformError(RuntimeError):
    pass


@dataclass
class Deployment:
    """One deployment of the test root: a region, variables, and a work directory for its data and state."""

    name: str
    workdir: Path
    target_env: dict[str, str]
    variables: dict[str, Any]
    root: Path = ROOT_MODULE
    timings: dict[str, float] = field(default_factory=dict)
    applied: bool = False
    _background: subprocess.Popen[str] | None = None
    _started: float = 0.0

    @property
    def region(self) -> str:
        return str(self.variables["region"])

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_")) or k in _TF_PASSED}
        env.update(self.target_env)
        env.update(
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
            TF_DATA_DIR=str(self.workdir / "tf-data"),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
        )
        return env

    def init(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "terraform.tfvars.json").write_text(json.dumps(self.variables, indent=2))
        with _init_lock:
            self._run("init", "-backend-config", f"path={self.workdir / 'terraform.tfstate'}")

    def apply(self) -> None:
        self._run("apply", "-auto-approve", *self._var_file())
        self.applied = True

    def start_apply(self) -> None:
        """apply in the background (another deployment can apply meanwhile); :meth:`wait` collects it."""
        self._background = self._spawn("apply", "-auto-approve", *self._var_file())

    def wait(self, timeout: float = 300) -> None:
        proc, self._background = self._background, None
        if proc is None:
            return
        try:
            proc.wait(timeout=timeout)
        except BaseException:
            _interrupt(proc)
            raise
        self.timings["apply"] = time.monotonic() - self._started
        if proc.returncode != 0:
            raise TerraformError(f"{self.name}: terraform apply failed:\n{self._tail('apply')}")
        self.applied = True

    def plan_exit_code(self) -> tuple[int, str]:
        """``terraform plan -detailed-exitcode``: 0 no changes, 2 changes (the plan text comes along)."""
        proc = self._run("plan", "-detailed-exitcode", "-lock=false", *self._var_file(), check=False)
        if proc.returncode not in (0, 2):
            raise TerraformError(f"{self.name}: terraform plan failed:\n{self._tail('plan')}")
        return proc.returncode, proc.stdout

    def destroy(self) -> None:
        self._run("destroy", "-auto-approve", *self._var_file())
        self.applied = False

    def has_resources(self) -> bool:
        """Does the state hold anything (also after a failed or interrupted apply)?"""
        try:
            state = json.loads((self.workdir / "terraform.tfstate").read_text())
        except (OSError, ValueError):
            return False
        return bool(state.get("resources"))

    def outputs(self) -> dict[str, Any]:
        proc = self._run("output", "-json", log=False)
        return {name: value["value"] for name, value in json.loads(proc.stdout).items()}

    def reporter(self) -> dict[str, Any]:
        """The module's outputs (the test root passes them all through as ``reporter``)."""
        return dict(self.outputs()["reporter"])

    # --- internals ------------------------------------------------------------------------------------------------

    def _var_file(self) -> list[str]:
        return [f"-var-file={self.workdir / 'terraform.tfvars.json'}"]

    def _argv(self, command: str, args: tuple[str, ...]) -> list[str]:
        return ["terraform", f"-chdir={self.root}", command, "-no-color", *args]

    def _spawn(self, command: str, *args: str) -> subprocess.Popen[str]:
        self._started = time.monotonic()
        with (self.workdir / f"{command}.log").open("w") as log:
            return subprocess.Popen(
                self._argv(command, args),
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    def _run(self, command: str, *args: str, check: bool = True, log: bool = True) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        argv = self._argv(command, args)
        with subprocess.Popen(
            argv, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        ) as child:
            try:
                stdout, stderr = child.communicate(timeout=600)
            except BaseException:
                # Ctrl-C, SIGTERM, timeout: terraform runs in its own session (a terminal's Ctrl-C does not reach
                # it), so it gets exactly one SIGINT here and stops cleanly, saving the state of what it created
                # (a destroy can then remove it); killed only if it does not stop within the grace period.
                _interrupt(child)
                raise
        proc = subprocess.CompletedProcess(argv, child.returncode, stdout, stderr)
        self.timings[command] = time.monotonic() - started
        if log:
            (self.workdir / f"{command}.log").write_text(proc.stdout + proc.stderr)
        if check and proc.returncode != 0:
            raise TerraformError(
                f"{self.name}: terraform {command} failed ({proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}"
            )
        return proc

    def _tail(self, command: str, lines: int = 60) -> str:
        try:
            return _tail((self.workdir / f"{command}.log").read_text(errors="replace"), lines)
        except OSError:
            return "(no log)"


def _interrupt(child: subprocess.Popen[str], grace: float = 60) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])
