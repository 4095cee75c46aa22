"""Looking at the deployed pipeline through the APIs: bounded waits, CloudWatch Logs, queue depths, ECR scan
state, and the state dump printed when a test fails (what the suite saw, not only what it expected).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError


class WaitTimeout(AssertionError):
    pass


def wait_until(what: str, check: Callable[[], tuple[bool, str]], timeout: float, interval: float = 1.0) -> str:
    """Call ``check`` (-> done, what it saw) until done or ``timeout`` seconds; return the last observation."""
    deadline = time.monotonic() + timeout
    while True:
        done, seen = check()
        if done:
            return seen
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"gave up after {timeout:.0f}s waiting for {what}; last seen: {seen}")
        time.sleep(interval)


# --- CloudWatch Logs ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    timestamp: int
    stream: str
    message: str

    def record(self) -> dict[str, Any] | None:
        """The line as a JSON object (the functions log one JSON object per line), else None."""
        text = self.message.strip()
        if not text.startswith("{"):
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


def log_lines(logs: Any, group: str, start_ms: int | None = None) -> list[LogLine]:
    kwargs: dict[str, Any] = {"logGroupName": group}
    if start_ms is not None:
        kwargs["startTime"] = start_ms
    lines: list[LogLine] = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
            for event in page.get("events", []):
                for text in str(event.get("message", "")).splitlines() or [""]:
                    lines.append(LogLine(int(event.get("timestamp", 0)), str(event.get("logStreamName", "")), text))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    return sorted(lines, key=lambda line: line.timestamp)


def invocations(lines: Iterable[LogLine]) -> int:
    """Finished invocations: Lambda writes one ``REPORT RequestId: ...`` line per invocation."""
    return sum(1 for line in lines if line.message.startswith("REPORT RequestId"))


def records(lines: Iterable[LogLine], message: str | None = None) -> list[dict[str, Any]]:
    found = [r for r in (line.record() for line in lines) if r is not None]
    return [r for r in found if message is None or r.get("message") == message]


# --- SQS ----------------------------------------------------------------------------------------------------------


def queue_depth(sqs: Any, url: str) -> dict[str, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {
        "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


def peek(sqs: Any, url: str, limit: int = 10) -> list[str]:
    """Bodies of up to ``limit`` messages, left visible (VisibilityTimeout 0) for whoever reads next."""
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(limit, 10), VisibilityTimeout=0)
    return [m["Body"] for m in found.get("Messages", [])]


# --- ECR ----------------------------------------------------------------------------------------------------------


def scan_state(ecr: Any, repository: str, digest: str) -> dict[str, Any] | None:
    """The image's latest scan as ECR reports it (asked by digest, like the functions), None if never scanned."""
    try:
        found = ecr.describe_image_scan_findings(
            repositoryName=repository, imageId={"imageDigest": digest}, maxResults=1
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ScanNotFoundException":
            return None
        raise
    findings = found.get("imageScanFindings") or {}
    return {
        "status": (found.get("imageScanStatus") or {}).get("status"),
        "description": (found.get("imageScanStatus") or {}).get("description"),
        "completed_at": findings.get("imageScanCompletedAt"),
        "counts": findings.get("findingSeverityCounts") or {},
    }


# --- the dump -----------------------------------------------------------------------------------------------------


def describe(sections: Iterable[tuple[str, Callable[[], str]]]) -> str:
    """Render titled sections; a section that fails to render says so instead of hiding the rest."""
    out = []
    for title, render in sections:
        try:
            body = render()
        except Exception as exc:
            body = f"(could not read: {type(exc).__name__}: {exc})"
        out.append(f"--- {title} ---\n{body.rstrip() or '(empty)'}")
    return "\n".join(out)


def render_logs(lines: list[LogLine], limit: int = 80) -> str:
    shown = lines[-limit:]
    prefix = f"({len(lines) - len(shown)} earlier lines not shown)\n" if len(lines) > len(shown) else ""
    return prefix + "\n".join(line.message.rstrip() for line in shown)
