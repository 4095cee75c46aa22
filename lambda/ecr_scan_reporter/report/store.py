"""Writing the exposure report to S3: the JSON document and the HTML page, dated and as ``latest``.

Keys (the prefix is the one the module's policy and lifecycle rule name, report.tf's ``report_prefix``)::

    exposure-report/2026/11/30/2026-11-30T060000Z.json   .html   one pair per report, kept report_retention_days
    exposure-report/latest.json                          .html   replaced by every report (older versions kept
                                                                  30 days by the bucket's versioning)

The bucket's default encryption applies (SSE-KMS with the module's key, or SSE-S3); nothing here decides it.
"""

from __future__ import annotations

from typing import Any

from ecr_scan_reporter.report import exposure

PREFIX = "exposure-report/"
_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8"}


def keys(built: exposure.Report) -> dict[str, list[str]]:
    """Extension -> the keys that format is written to (dated first, then latest)."""
    when = built.generated_at
    stamp = when.strftime("%Y-%m-%dT%H%M%SZ")
    dated = f"{PREFIX}{when:%Y}/{when:%m}/{when:%d}/{stamp}"
    return {ext: [f"{dated}.{ext}", f"{PREFIX}latest.{ext}"] for ext in _TYPES}


def write(s3: Any, bucket: str, built: exposure.Report) -> list[str]:
    """PutObject the report's JSON (every row the report kept) and HTML page; returns the keys written."""
    bodies = {"json": exposure.render_json(built).encode(), "html": exposure.render_html(built).encode()}
    written = []
    for ext, targets in keys(built).items():
        for key in targets:
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=bodies[ext],
                ContentType=_TYPES[ext],
                CacheControl="no-cache" if key.endswith(f"latest.{ext}") else "max-age=31536000, immutable",
            )
            written.append(key)
    return written
