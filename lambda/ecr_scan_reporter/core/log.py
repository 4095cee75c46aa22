"""Structured JSON logging: one line per decision.

Call sites log a short event name with fields::

    log = get_logger(__name__)
    log.info("scan_started", extra={"fields": {"repository": "app", "digest": "sha256:..."}})

or, shorter, :func:`emit`. Inside Lambda with the JSON log format the runtime's own handler serialises the record
(our fields appear as top-level keys); everywhere else :func:`setup` installs :class:`JsonFormatter`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON object: time, level, logger, message and every extra field."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, sort_keys=False)


def setup(level: str = "INFO") -> None:
    """Configure the root logger for JSON, leaving handlers that others installed in place.

    - In Lambda with the JSON log format, the runtime's handler already writes JSON (extra fields included).
    - In Lambda with the text format, the runtime's handlers get :class:`JsonFormatter`.
    - Elsewhere (the CLI), a stderr handler with :class:`JsonFormatter` is added when the root has none, so
      handlers installed by a host application or a test runner are never removed.
    """
    root = logging.getLogger()
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and root.handlers:
        if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() != "JSON":
            for handler in root.handlers:
                handler.setFormatter(JsonFormatter())
        return
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def emit(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as top-level JSON keys (names must not clash with LogRecord attributes)."""
    logger.log(level, event, extra={k: _plain(v) for k, v in fields.items()})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return value
