"""Writing the exposure report to S3: the JSON document and the HTML page, dated and as ``latest``.

Keys (the prefix is the one the module's policy and lifecycle rule name, report.tf's ``report_prefix``)::

    exposure-report/2026/11/30/2026-11-30T060000Z.json   .html   one pair per report, kept report_retention_days
    exposure-report/latest.json                          .html   replaced by every report (older versions kept
                                                                  30 days by the bucket's versioning)

The bucket's default encryption applies (SSE-KMS with the module's key, or SSE-S3); nothing here decides it.

A refused write (AccessDenied, a KMS key the function may not use, a bucket deleted meanwhile, ...) does not stop
the others: :func:`write` tries every key and returns what it wrote and what was refused, so the caller can still
publish the report and say which copies are missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.report import exposure

PREFIX = "exposure-report/"
_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8"}


def keys(built: exposure.Report) -> dict[str, list[str]]:
    """Extension -> the keys that format is written to (dated first, then latest)."""
    when = built.generated_at
    stamp = when.strftime("%Y-%m-%dT%H%M%SZ")
    dated = f"{PREFIX}{when:%Y}/{when:%m}/{when:%d}/{stamp}"
    return {ext: [f"{dated}.{ext}", f"{PREFIX}latest.{ext}"] for ext in _TYPES}


@dataclass(frozen=True)
class Refusal:
    """One key S3 did not store: the error code (or botocore's exception name) and message."""

    key: str
    code: str
    message: str


@dataclass(frozen=True)
class Stored:
    written: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def write(s3: Any, bucket: str, built: exposure.Report) -> Stored:
    """PutObject the report's JSON (every row the report kept) and HTML page; returns the keys written and those
    S3 refused (every key is tried)."""
    bodies = {"json": exposure.render_json(built).encode(), "html": exposure.render_html(built).encode()}
    stored = Stored()
    for ext, targets in keys(built).items():
        for key in targets:
            try:
                s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=bodies[ext],
                    ContentType=_TYPES[ext],
                    CacheControl="no-cache" if key.endswith(f"latest.{ext}") else "max-age=31536000, immutable",
                )
            except ClientError as exc:
                error = exc.response.get("Error", {})
                stored.refused.append(Refusal(key, str(error.get("Code", "")), str(error.get("Message", exc))))
                continue
            except BotoCoreError as exc:
                stored.refused.append(Refusal(key, type(exc).__name__, str(exc)))
                continue
            stored.written.append(key)
    return stored
