"""Start and stop the local AWS emulators: moto (ECR, CloudWatch, Security Hub) and ministack (everything else).

Both are bound to 127.0.0.1 on free ports, waited for with a health check, and stopped by PID (their whole
process group) whatever happens. ministack's Lambda workers get ``AWS_ENDPOINT_URL_ECR`` pointing at moto, so
the deployed functions reach ECR there; both emulators use account 000000000000.

Command line (used by the Makefile for ``make compliance`` plans and ``make demo``)::

    python tests/emulators.py start --dir .build/emulators   # prints and writes <dir>/env (shell exports)
    python tests/emulators.py stop  --dir .build/emulators

Python (used by the e2e suite)::

    with Emulators(workdir, moto_in_process=True) as emu:
        emu.env   # AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_CLOUDWATCH, credentials, region

With ``moto_in_process`` moto runs as a ``ThreadedMotoServer`` inside the calling process (still on 127.0.0.1 and
a free port, reached over HTTP like the subprocess), so the caller can reach moto's backends directly, e.g. to
replace the scan result moto keeps for an image (:func:`replace_scan_result`): moto binds the first result it
serves for an image to that image for good, and a later scan of the same image must report other findings.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT_ID = "000000000000"
REGION = "us-east-1"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}; log:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s; log:\n{_tail(log)}")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_pid(pid: int, timeout: float = 10.0) -> None:
    """Terminate a process group started with start_new_session=True; kill it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            time.sleep(0.1)


@dataclass
class Emulators:
    """moto + ministack on loopback. Use as a context manager, or start()/stop()."""

    workdir: Path
    region: str = REGION
    python: str = sys.executable
    moto_port: int = 0
    ministack_port: int = 0
    moto_in_process: bool = False
    pids: dict[str, int] = field(default_factory=dict)
    _moto_server: Any = None

    @property
    def moto_url(self) -> str:
        return f"http://{HOST}:{self.moto_port}"

    @property
    def ministack_url(self) -> str:
        return f"http://{HOST}:{self.ministack_port}"

    @property
    def env(self) -> dict[str, str]:
        """What a client (terraform, boto3, the aws CLI) needs to reach the emulators."""
        return {
            "AWS_ENDPOINT_URL": self.ministack_url,
            "AWS_ENDPOINT_URL_ECR": self.moto_url,
            # ministack answers DescribeAlarms in the Query protocol (the Terraform provider's) without the
            # period, statistic, dimensions, actions or missing-data treatment: every plan would want to update
            # the alarms. moto's CloudWatch answers in full; nothing the functions do runs through CloudWatch.
            "AWS_ENDPOINT_URL_CLOUDWATCH": self.moto_url,
            # Security Hub (enable_security_hub_export): moto implements BatchImportFindings and GetFindings.
            "AWS_ENDPOINT_URL_SECURITYHUB": self.moto_url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def start(self) -> Emulators:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_moto()
            self._start_ministack()
        except BaseException:
            self.stop()
            raise
        (self.workdir / "pids.json").write_text(json.dumps(self.pids))
        (self.workdir / "env").write_text("".join(f"export {k}={v}\n" for k, v in self.env.items()))
        return self

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv,
                env=env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pids[name] = proc.pid
        return proc

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=self.region)
        return env

    @property
    def moto_label(self) -> str:
        """Where moto runs, for reports."""
        if self._moto_server is not None:
            return f"moto {self.moto_url} (in process {os.getpid()})"
        return f"moto {self.moto_url} (pid {self.pids.get('moto')})"

    def _start_moto(self) -> None:
        self.moto_port = self.moto_port or free_port()
        if self.moto_in_process:
            self._start_moto_in_process()
            return
        env = self._base_env() | {"MOTO_ACCOUNT_ID": ACCOUNT_ID}
        proc = self._spawn("moto", [self.python, "-m", "moto.server", "-H", HOST, "-p", str(self.moto_port)], env)
        _wait_http(f"{self.moto_url}/moto-api/", proc, self.workdir / "moto.log")

    def _start_moto_in_process(self) -> None:
        # moto reads these at request time: the account (as the subprocess's environment sets it) and where its
        # request recorder writes (its default is a file in the working directory).
        os.environ["MOTO_ACCOUNT_ID"] = ACCOUNT_ID
        os.environ["MOTO_RECORDER_FILEPATH"] = str(self.workdir / "moto_recording")
        import logging

        from moto.server import ThreadedMotoServer

        # werkzeug would print every request (and moto's NotImplemented tracebacks) into the caller's output.
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)

        note = f"moto runs in process {os.getpid()}: its requests are not logged here\n"
        (self.workdir / "moto.log").write_text(note)
        self._moto_server = ThreadedMotoServer(ip_address=HOST, port=self.moto_port, verbose=False)
        self._moto_server.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.moto_url}/moto-api/", timeout=2):  # noqa: S310 - loopback only
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"in-process moto on {self.moto_url} did not answer") from None
                time.sleep(0.2)

    def _start_ministack(self) -> None:
        self.ministack_port = self.ministack_port or free_port()
        env = self._base_env() | {
            "BIND_HOST": HOST,
            "GATEWAY_PORT": str(self.ministack_port),
            "MINISTACK_REGION": self.region,
            "MINISTACK_ACCOUNT_ID": ACCOUNT_ID,
            "IOT_MTLS_ENABLED": "0",
            "SFTP_ENABLED": "0",
            "TMPDIR": str(self.workdir),
            "S3_DATA_DIR": str(self.workdir / "s3"),
            "STATE_DIR": str(self.workdir / "state"),
            # The Lambda workers ministack runs inherit these: the functions reach ECR and Security Hub on moto.
            "AWS_ENDPOINT_URL_ECR": self.moto_url,
            "AWS_ENDPOINT_URL_SECURITYHUB": self.moto_url,
        }
        proc = self._spawn("ministack", [self.python, "-m", "ministack"], env)
        _wait_http(f"{self.ministack_url}/_ministack/health", proc, self.workdir / "ministack.log")

    def stop(self) -> None:
        for name in list(self.pids):
            _stop_pid(self.pids.pop(name))
        if self._moto_server is not None:
            server, self._moto_server = self._moto_server, None
            server.stop()
        with contextlib.suppress(FileNotFoundError):
            (self.workdir / "pids.json").unlink()

    def __enter__(self) -> Emulators:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def replace_scan_result(region: str, repository: str, digest: str, response: dict[str, Any]) -> None:
    """Make in-process moto answer DescribeImageScanFindings for the image ``digest`` with ``response`` from now
    on, whatever it answered before (moto otherwise keeps the first result it served for an image)."""
    from moto.ecr.models import ecr_backends

    repo = ecr_backends[ACCOUNT_ID][region].repositories[repository]
    image = next(i for i in repo.images if i.image_digest == digest)
    image.scan_finding_results_queue.clear()
    image.scan_finding_results.clear()
    image.scan_finding_results_queue.append(response)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="start/stop moto + ministack on 127.0.0.1")
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--dir", type=Path, default=Path(".build/emulators"))
    parser.add_argument("--region", default=REGION)
    args = parser.parse_args(argv)
    workdir = args.dir.resolve()
    if args.action == "start":
        emu = Emulators(workdir, region=args.region).start()
        sys.stdout.write((workdir / "env").read_text())
        print(
            f"# moto pid {emu.pids['moto']} on {emu.moto_url}; ministack pid {emu.pids['ministack']} on "
            f"{emu.ministack_url}; stop with: python tests/emulators.py stop --dir {args.dir}",
            file=sys.stderr,
        )
        return 0
    pids_file = workdir / "pids.json"
    if not pids_file.exists():
        print(f"no emulators recorded in {pids_file}", file=sys.stderr)
        return 0
    for name, pid in json.loads(pids_file.read_text()).items():
        _stop_pid(int(pid))
        print(f"stopped {name} (pid {pid})", file=sys.stderr)
    pids_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
