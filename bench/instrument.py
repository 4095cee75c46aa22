"""Counting the library's AWS API calls, a simulated clock, and a fake Lambda context that runs on it.

Counting: botocore emits ``before-parameter-build.<service>.<Operation>`` once per API call and
``response-received.<service>.<Operation>`` once per HTTP attempt (retries included). Both handlers are added to
``botocore.handlers.BUILTIN_HANDLERS``, which every new botocore session registers -- the library builds a fresh
``boto3.session.Session()`` per client in ``ecr_scan_reporter.core.aws.client`` -- and they count only clients whose
user agent carries ``ecr-scan-reporter/`` (``aws.RETRY_CONFIG.user_agent_extra``). The benchmark's own clients
(seeding, draining SQS) and anything moto calls internally use the default config and are not counted.

Simulated time: every counted attempt advances :class:`SimClock` by a fixed latency, and botocore's retry back-off
(``time.sleep`` in ``botocore.endpoint``) advances it instead of sleeping. A :class:`FakeContext` reports
``timeout - (clock now - invocation start)`` from ``get_remaining_time_in_millis()``, so a continuation triggers
after a deterministic amount of work, whatever the machine's speed.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import types
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import botocore.endpoint
import botocore.handlers

MARKER = "ecr-scan-reporter/"


class SimClock:
    """Monotonic simulated milliseconds."""

    def __init__(self) -> None:
        self.now_ms = 0.0

    def advance(self, ms: float) -> None:
        self.now_ms += ms


@dataclass
class ScanAttempt:
    repository: str
    image_id: dict[str, str]
    error: str | None  # error code of the final attempt, None on success
    attempts: int = 1


@dataclass
class Recorder:
    """Everything counted for the library's clients while :attr:`active`."""

    clock: SimClock
    latency_ms: float
    active: bool = False
    calls: Counter[str] = field(default_factory=Counter)  # "ecr.DescribeImages" -> API calls
    attempts: Counter[str] = field(default_factory=Counter)  # HTTP attempts (calls + retries)
    errors: Counter[str] = field(default_factory=Counter)  # "ecr.StartImageScan:LimitExceededException" -> attempts
    retry_sleep_ms: float = 0.0
    scans: list[ScanAttempt] = field(default_factory=list)
    _pending: dict[int, ScanAttempt] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset_counts(self) -> None:
        self.calls.clear()
        self.attempts.clear()
        self.errors.clear()
        self.retry_sleep_ms = 0.0
        self.scans.clear()
        self._pending.clear()

    def snapshot(self) -> dict[str, int]:
        return dict(self.calls)

    # botocore handlers ---------------------------------------------------------------------------------------
    def on_call(self, event_name: str, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not self._ours(context):
            return
        _, service, operation = event_name.split(".", 2)
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1
            if operation == "StartImageScan":
                scan = ScanAttempt(params.get("repositoryName", ""), dict(params.get("imageId", {})), None, 0)
                self.scans.append(scan)
                context["bench_scan"] = scan

    def on_response(self, event_name: str, context: dict[str, Any], **kwargs: Any) -> None:
        if not self._ours(context):
            return
        _, service, operation = event_name.split(".", 2)
        op = f"{service}.{operation}"
        parsed = kwargs.get("parsed_response") or {}
        code = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, dict) else None
        if kwargs.get("exception") is not None:
            code = type(kwargs["exception"]).__name__
        with self._lock:
            self.attempts[op] += 1
            if code:
                self.errors[f"{op}:{code}"] += 1
            scan = context.get("bench_scan")
            if scan is not None:
                scan.attempts += 1
                scan.error = code
        self.clock.advance(self.latency_ms)

    def _ours(self, context: dict[str, Any] | None) -> bool:
        if not self.active or not context:
            return False
        config = context.get("client_config")
        return MARKER in (getattr(config, "user_agent_extra", None) or "")


_RECORDER: Recorder | None = None


def _on_call(**kwargs: Any) -> None:
    if _RECORDER is not None:
        _RECORDER.on_call(**kwargs)


def _on_response(**kwargs: Any) -> None:
    if _RECORDER is not None:
        _RECORDER.on_response(**kwargs)


_INSTALLED = False


def install(recorder: Recorder) -> None:
    """Route every botocore session created from now on through ``recorder`` (idempotent)."""
    global _RECORDER, _INSTALLED
    _RECORDER = recorder
    if not _INSTALLED:
        botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _on_call))
        botocore.handlers.BUILTIN_HANDLERS.append(("response-received", _on_response))
        _INSTALLED = True


@contextlib.contextmanager
def simulated_retry_sleep(recorder: Recorder) -> Iterator[None]:
    """botocore's retry back-off advances the simulated clock instead of sleeping."""

    def sleep(seconds: float) -> None:
        recorder.retry_sleep_ms += seconds * 1000
        recorder.clock.advance(seconds * 1000)

    import time as real_time

    shim = types.SimpleNamespace(**{k: getattr(real_time, k) for k in dir(real_time) if not k.startswith("__")})
    shim.sleep = sleep
    with mock.patch.object(botocore.endpoint, "time", shim):
        yield


_REQUEST_IDS = itertools.count(1)


class FakeContext:
    """The parts of the Lambda context object the handlers use, on simulated time."""

    def __init__(self, clock: SimClock, timeout_s: float, function_name: str = "ecr-scan-reporter-images") -> None:
        self._clock = clock
        self._deadline_ms = clock.now_ms + timeout_s * 1000
        self.timeout_ms = timeout_s * 1000
        self.started_ms = clock.now_ms
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = f"00000000-0000-4000-8000-{next(_REQUEST_IDS):012d}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2024/01/01/[$LATEST]bench"
        self.min_remaining_ms = self.timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        remaining = int(self._deadline_ms - self._clock.now_ms)
        self.min_remaining_ms = min(self.min_remaining_ms, remaining)
        return remaining

    @property
    def used_ms(self) -> float:
        return self._clock.now_ms - self.started_ms

    @property
    def overran(self) -> bool:
        return self._clock.now_ms > self._deadline_ms


def by_operation(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items()))


_LEDGER_READS = frozenset({"Query", "GetItem", "Scan", "BatchGetItem"})


def group(counts: dict[str, int]) -> dict[str, int]:
    """Totals by kind: reads (every ECR call but StartImageScan, and every DynamoDB read: ``ledger_read`` is the
    DynamoDB share of ``read``), scans, ledger writes (one per scan started or state learned, and the sweep
    marker), queue, other."""
    out: dict[str, int] = defaultdict(int)
    for op, n in counts.items():
        service, operation = op.split(".", 1)
        if service == "ecr" and operation == "StartImageScan":
            out["scan"] += n
        elif service == "dynamodb" and operation in _LEDGER_READS:
            out["read"] += n
            out["ledger_read"] += n
        elif service == "dynamodb":
            out["ledger_write"] += n
        elif service == "ecr":
            out["read"] += n
        elif service == "sqs":
            out["queue"] += n
        else:
            out["other"] += n
    return dict(out)
