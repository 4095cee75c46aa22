"""The SNS message: rendered by a pure function, published by a thin one.

:func:`render` turns a :class:`~ecr_scan_reporter.events.ScanResult` and a verdict into a :class:`Notification`
(subject, ``MessageStructure=json`` message, message attributes); :func:`publish` sends it. The message has one
readable text for ``default`` and ``email`` and one JSON document (``version`` 1) for ``sqs``, ``lambda`` and
``https`` subscribers; the attributes ``repository``, ``highest_severity`` and ``event_type`` let subscribers
filter.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ecr_scan_reporter.config import SEVERITIES
from ecr_scan_reporter.events import ALL_SEVERITIES, ScanResult

Kind = Literal["threshold_breached", "scan_failed", "resolved", "reminder"]
KINDS: tuple[Kind, ...] = ("threshold_breached", "scan_failed", "resolved", "reminder")
#: Types that report an image in breach (they need at least one breached severity).
BREACH_KINDS: tuple[Kind, ...] = ("threshold_breached", "reminder")
#: At most this many ``new_findings`` entries in the document (``new_findings_total`` gives the count), so the
#: message stays far below SNS's 256 KB whatever the image; the text lists fewer.
NEW_FINDINGS_MAX = 200
NEW_FINDINGS_TEXT_MAX = 20
SUBJECT_MAX = 99  # SNS: "must be less than 100 characters", ASCII, no line breaks
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Notification:
    subject: str
    message: Mapping[str, str]  # protocol -> text or JSON document, sent with MessageStructure="json"
    attributes: Mapping[str, str]  # String message attributes


def console_url(result: ScanResult) -> str:
    """The ECR console page with the image's scan findings (enhanced-scanning findings are shown there too)."""
    return (
        f"https://{result.region}.console.aws.amazon.com/ecr/repositories/private/{result.registry_id}/"
        f"{result.repository}/_/image/{result.image_digest}/scan-results?region={result.region}"
    )


def highest_severity(counts: Mapping[str, int]) -> str:
    """The most severe of CRITICAL/HIGH/MEDIUM/LOW with a count above zero, or ``NONE``."""
    return next((s for s in SEVERITIES if counts.get(s, 0) > 0), "NONE")


def render(
    result: ScanResult,
    breached: Sequence[str],
    thresholds: Mapping[str, int | None],
    kind: Kind,
    failure_reason: str | None = None,
    new_findings: Sequence[tuple[str, str]] | None = None,
) -> Notification:
    """Render the notification. ``breached`` comes from ``policy.evaluate_thresholds``; ``failure_reason`` is
    used (default ``"unknown"``) only for ``scan_failed``. ``new_findings`` ((id, severity) pairs the ledger has
    not notified before; None without a ledger) adds ``new_findings`` (and ``new_findings_total``) to the
    document."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    breached = [s for s in SEVERITIES if s in breached]  # most severe first, whatever the caller's order
    if kind in BREACH_KINDS and not breached:
        raise ValueError(f"{kind} needs at least one breached severity")
    limits = {s: thresholds.get(s) for s in SEVERITIES}
    url = console_url(result)
    doc: dict[str, Any] = {
        "version": 1,
        "type": kind,
        "repository": result.repository,
        "registry_id": result.registry_id,
        "region": result.region,
        "image_digest": result.image_digest,
        "image_tags": list(result.image_tags),
        "severity_counts": dict(result.severity_counts),
        "thresholds": limits,
        "breached": breached,
        "scan_completed_at": _iso(result),
        "console_url": url,
    }
    if kind == "scan_failed":
        doc["failure_reason"] = failure_reason or "unknown"
    if new_findings is not None:
        doc["new_findings"] = [{"id": i, "severity": s} for i, s in new_findings[:NEW_FINDINGS_MAX]]
        doc["new_findings_total"] = len(new_findings)
    text = _text(result, breached, limits, kind, doc.get("failure_reason"), url, new_findings or ())
    document = json.dumps(doc, sort_keys=False)
    return Notification(
        subject=_subject(result, breached, kind),
        message={"default": text, "email": text, "sqs": document, "lambda": document, "https": document},
        attributes={
            "repository": result.repository,
            "highest_severity": highest_severity(result.severity_counts),
            "event_type": kind,
        },
    )


def publish(sns_client: Any, topic_arn: str, notification: Notification) -> str:
    """Publish to ``topic_arn`` and return the SNS message id (FIFO topics: grouped by repository,
    deduplicated by content)."""
    message = json.dumps(dict(notification.message))
    request: dict[str, Any] = {
        "TopicArn": topic_arn,
        "Subject": notification.subject,
        "Message": message,
        "MessageStructure": "json",
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in notification.attributes.items()
        },
    }
    if topic_arn.endswith(".fifo"):
        request["MessageGroupId"] = notification.attributes.get("repository", "report")[:128]
        request["MessageDeduplicationId"] = hashlib.sha256(message.encode()).hexdigest()
    return str(sns_client.publish(**request)["MessageId"])


def _iso(result: ScanResult) -> str:
    return result.scan_completed_at.isoformat().replace("+00:00", "Z")


def _text(
    result: ScanResult,
    breached: Sequence[str],
    limits: Mapping[str, int | None],
    kind: Kind,
    failure_reason: str | None,
    url: str,
    new_findings: Sequence[tuple[str, str]] = (),
) -> str:
    scanner = "Amazon ECR basic scanning" if result.source == "ecr" else "Amazon Inspector (ECR enhanced scanning)"
    title = {
        "threshold_breached": "Image scan findings over threshold",
        "scan_failed": "Image scan FAILED",
        "resolved": "Image scan findings within every threshold again (resolved)",
        "reminder": "Reminder: image scan findings still over threshold",
    }[kind]
    lines = [
        title,
        "",
        f"Repository:  {result.repository}",
        f"Image:       {result.display_name}",
        f"Digest:      {result.image_digest}",
        f"Registry:    {result.registry_id} ({result.region})",
        f"Scanned at:  {_iso(result)}",
        f"Scanner:     {scanner}",
        "",
    ]
    if kind == "scan_failed":
        lines += [f"Reason:      {failure_reason}", ""]
    else:
        lines += [f"{'Severity':<15}{'Count':>7}  Threshold", f"{'-' * 22}  {'-' * 9}"]
        for severity in ALL_SEVERITIES:
            if severity not in SEVERITIES and severity not in result.severity_counts:
                continue
            limit = limits.get(severity)
            shown = "-" if severity not in SEVERITIES else ("ignored" if limit is None else str(limit))
            mark = "  BREACHED" if severity in breached else ""
            lines.append(f"{severity:<15}{result.severity_counts.get(severity, 0):>7}  {shown:<10}{mark}".rstrip())
        lines += ["", f"Breached:    {', '.join(breached) or 'none'}", ""]
        if new_findings:
            lines.append(f"New findings ({len(new_findings)}):")
            lines += [f"  {severity:<10}{finding_id}" for finding_id, severity in new_findings[:NEW_FINDINGS_TEXT_MAX]]
            if len(new_findings) > NEW_FINDINGS_TEXT_MAX:
                lines.append(f"  ... and {len(new_findings) - NEW_FINDINGS_TEXT_MAX} more")
            lines.append("")
    lines += ["Findings in the console:", url, ""]
    return "\n".join(lines)


def _subject(result: ScanResult, breached: Sequence[str], kind: Kind) -> str:
    if kind == "scan_failed":
        prefix = "ECR scan FAILED for "
    elif kind == "resolved":
        prefix = "ECR scan: resolved, within thresholds: "
    else:
        label = "ECR scan reminder: " if kind == "reminder" else "ECR scan: "
        prefix = label + ", ".join(f"{result.severity_counts.get(s, 0)} {s}" for s in breached) + " in "
    suffix = f":{result.image_tags[0]}" if result.image_tags else f"@{result.image_digest[:19]}"
    suffix = _shorten(_ascii(suffix), 40)
    room = SUBJECT_MAX - len(prefix) - len(suffix)
    subject = prefix + _shorten(_ascii(result.repository), max(room, 8)) + suffix
    return subject[:SUBJECT_MAX]


def _ascii(text: str) -> str:
    return _UNPRINTABLE.sub("?", text)


def _shorten(text: str, width: int) -> str:
    """``text`` if it fits in ``width``, else its head and tail around ``...`` (the leaf name survives)."""
    if len(text) <= width:
        return text
    tail = (width - 3) // 2 + (width - 3) % 2
    head = width - 3 - tail
    return f"{text[:head]}...{text[-tail:]}"


# --- the exposure report (report.py renders the text and the document) -----------------------------------------


def render_report(subject: str, text: str, document: str, highest: str) -> Notification:
    """The exposure report as a notification: ``text`` for ``default``/``email``, the JSON ``document`` for
    ``sqs``/``lambda``/``https``; attributes ``event_type`` = ``report`` and ``highest_severity`` (the most
    severe breached severity in the registry, or ``NONE``). No ``repository``: the report covers them all."""
    return Notification(
        subject=_shorten(_ascii(subject), SUBJECT_MAX),
        message={"default": text, "email": text, "sqs": document, "lambda": document, "https": document},
        attributes={"event_type": "report", "highest_severity": highest},
    )


def message_bytes(notification: Notification) -> int:
    """The size SNS counts against its 256 KB limit: the message (as published) and its attributes."""
    size = len(json.dumps(dict(notification.message)).encode())
    for name, value in notification.attributes.items():
        size += len(name.encode()) + len("String") + len(value.encode())
    return size
