"""The SNS message every notification and the report are: :class:`Notification`, SNS's limits, its size, and
:func:`publish` (the one function here that calls AWS, through the client it is given)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecr_scan_reporter.core.config import SEVERITIES

SUBJECT_MAX = 99  # SNS: "must be less than 100 characters", ASCII, no line breaks
SNS_MAX_BYTES = 262_144  # SNS: message + attributes, 256 KB
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True)
class Notification:
    subject: str
    message: Mapping[str, str]  # protocol -> text or JSON document, sent with MessageStructure="json"
    attributes: Mapping[str, str]  # String message attributes
    chat: str = ""  # the custom-notification JSON for a chat topic (Amazon Q Developer in chat applications)


def highest_severity(counts: Mapping[str, int]) -> str:
    """The most severe of CRITICAL/HIGH/MEDIUM/LOW with a count above zero, or ``NONE``."""
    return next((s for s in SEVERITIES if counts.get(s, 0) > 0), "NONE")


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


def message_bytes(notification: Notification) -> int:
    """The size SNS counts against its 256 KB limit: the message (as published) and its attributes."""
    size = len(json.dumps(dict(notification.message)).encode())
    for name, value in notification.attributes.items():
        size += len(name.encode()) + len("String") + len(value.encode())
    return size


def fit_subject(text: str, width: int = SUBJECT_MAX) -> str:
    """``text`` as an SNS subject part: printable ASCII (others become ``?``), at most ``width`` characters (a long
    text keeps its head and tail around ``...``, so the leaf name survives)."""
    return _shorten(_ascii(text), width)


def _ascii(text: str) -> str:
    return _UNPRINTABLE.sub("?", text)


def _shorten(text: str, width: int) -> str:
    """``text`` if it fits in ``width``, else its head and tail around ``...`` (the leaf name survives)."""
    if len(text) <= width:
        return text
    tail = (width - 3) // 2 + (width - 3) % 2
    head = width - 3 - tail
    return f"{text[:head]}...{text[-tail:]}"
