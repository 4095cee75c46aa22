"""Where the suite runs, chosen by ``E2E_TARGET``:

- ``emulators`` (default): moto (ECR) + ministack (everything else) started on 127.0.0.1 by
  ``tests/emulators.py``; nothing to install beyond the project's venv.
- ``localstack``: a LocalStack you run yourself (Pro, for ECR; Docker for its Lambdas) at
  ``LOCALSTACK_ENDPOINT`` (default http://localhost:4566), reached the tflocal way: ``AWS_ENDPOINT_URL`` for
  every service, ECR included. ``LOCALSTACK_AUTH_TOKEN`` is for starting LocalStack Pro (``localstack start``);
  the suite only mentions it when ECR is missing. Unreachable or without ECR: :class:`TargetUnavailable`
  (the suite skips, with the reason).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from e2e.seeding import HARNESS_USER_AGENT, LocalStackSeeder, MotoSeeder, RegistrySeeder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for emulators.py
from emulators import ACCOUNT_ID, Emulators

TARGET_VARIABLE = "E2E_TARGET"
REGION = "us-east-1"
#: Services the module's resources live in (for LocalStack's health check).
SERVICES = ("ecr", "lambda", "sqs", "sns", "events", "iam", "logs", "sts")


class TargetUnavailable(Exception):
    """The chosen target cannot run the suite; the message says why and what to do."""


@dataclass
class Target:
    name: str
    env: dict[str, str]  # what terraform and boto3 need: endpoints, credentials, region
    account_id: str
    region: str = REGION
    notes: list[str] = field(default_factory=list)
    log_files: list[Path] = field(default_factory=list)  # the emulators' own logs, for the failure dump
    _seeders: dict[str, RegistrySeeder] = field(default_factory=dict)

    def client(self, service: str, region: str | None = None) -> Any:
        endpoint = self.env.get(f"AWS_ENDPOINT_URL_{service.upper()}") or self.env["AWS_ENDPOINT_URL"]
        session = boto3.session.Session(
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=region or self.region,
        )
        config = Config(retries={"mode": "standard", "max_attempts": 3}, user_agent_extra=HARNESS_USER_AGENT)
        return session.client(service, endpoint_url=endpoint, config=config)

    def seeder(self, region: str | None = None) -> RegistrySeeder:
        region = region or self.region
        if region not in self._seeders:
            ecr = self.client("ecr", region)
            if self.name == "localstack":
                self._seeders[region] = LocalStackSeeder(ecr, self.account_id, region)
            else:
                self._seeders[region] = MotoSeeder(ecr, self.account_id, region, self.env["AWS_ENDPOINT_URL_ECR"])
        return self._seeders[region]

    @property
    def can_observe_requests(self) -> bool:
        return self.name != "localstack"

    @property
    def can_reach_loopback_http(self) -> bool:
        """Can the target's SNS deliver to an HTTP server on this machine's 127.0.0.1? (Not from Docker.)"""
        return self.name != "localstack"


def selected() -> str:
    value = os.environ.get(TARGET_VARIABLE, "emulators").strip().lower() or "emulators"
    if value not in ("emulators", "localstack"):
        raise ValueError(f"{TARGET_VARIABLE}={value!r}: use 'emulators' (default) or 'localstack'")
    return value


@contextlib.contextmanager
def open_target(workdir: Path, name: str | None = None) -> Iterator[Target]:
    """The target, started (emulators) or checked (LocalStack); the emulators are stopped by PID on exit."""
    name = name or selected()
    if name == "localstack":
        yield localstack()
        return
    # moto in this process: the ledger tests replace the scan result moto keeps for an image (see emulators.py).
    with Emulators(workdir, python=sys.executable, moto_in_process=True) as emu:
        env = dict(emu.env)
        yield Target(
            "emulators",
            env,
            ACCOUNT_ID,
            notes=[
                emu.moto_label,
                f"ministack {emu.ministack_url} (pid {emu.pids['ministack']})",
            ],
            log_files=[workdir / "ministack.log", workdir / "moto.log"],
        )


def localstack() -> Target:
    endpoint = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566").rstrip("/")
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=3) as resp:  # noqa: S310
            health = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        raise TargetUnavailable(
            f"LocalStack is not reachable at {endpoint} ({exc}); start it (`localstack start`, Pro for ECR) or set "
            f"LOCALSTACK_ENDPOINT, or unset {TARGET_VARIABLE} to use the embedded emulators"
        ) from None
    services = health.get("services") or {}
    missing = [s for s in SERVICES if services.get(s) not in ("available", "running")]
    if missing:
        token = "set" if os.environ.get("LOCALSTACK_AUTH_TOKEN") else "not set"
        raise TargetUnavailable(
            f"LocalStack at {endpoint} does not offer {', '.join(missing)} (ECR needs LocalStack Pro: "
            f"LOCALSTACK_AUTH_TOKEN is {token} here)"
        )
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    account = os.environ.get("LOCALSTACK_ACCOUNT_ID", "000000000000")
    return Target("localstack", env, account, notes=[f"LocalStack {endpoint} ({health.get('edition', '?')})"])
