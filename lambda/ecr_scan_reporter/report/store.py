"""Writing the exposure report to S3: the JSON document and the HTML page, dated and as ``latest``.

Keys (the prefix is the one the module's policy and lifecycle rule name, report.tf's ``report_prefix``)::

    exposure-report/2026/11/30/2026-11-30T060000Z.json   .html   one pair per report, kept report_retention_days
    exposure-report/latest.json                          .html   replaced by every report (older versions kept
                                                                  30 days by the bucket's versioning)

The bucket's default encryption applies (SSE-KMS with the module's key, or SSE-S3); nothing here decides it.

The same pair is also written to an organization hub's bucket (:func:`write_to_hub`, modules/hub), under the
spoke's own ``<account>/<region>/`` prefix and SSE-KMS with the hub's key: the hub's bucket policy accepts nothing
else (objects there are owned by the hub's account: ACLs are disabled, the bucket owner enforced)::

    123456789012/eu-west-1/2026/11/30/2026-11-30T060000Z.json   .html
    123456789012/eu-west-1/latest.json                          .html   what the organization report reads

A refused write (AccessDenied, a KMS key the function may not use, a bucket deleted meanwhile, ...) does not stop
the others: :func:`write` tries every key and returns what it wrote and what was refused, so the caller can still
publish the report and say which copies are missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.report import exposure, org

PREFIX = "exposure-report/"
ORGANIZATION_PREFIX = "organization-report/"  # the hub's bucket (modules/hub): the organization report
_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8"}


def keys(built: exposure.Report, prefix: str = PREFIX) -> dict[str, list[str]]:
    """Extension -> the keys that format is written to under ``prefix`` (dated first, then latest)."""
    return _keys(built.generated_at, prefix)


def _keys(when: datetime, prefix: str) -> dict[str, list[str]]:
    stamp = when.strftime("%Y-%m-%dT%H%M%SZ")
    dated = f"{prefix}{when:%Y}/{when:%m}/{when:%d}/{stamp}"
    return {ext: [f"{dated}.{ext}", f"{prefix}latest.{ext}"] for ext in _TYPES}


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
    return _put(s3, bucket, built, PREFIX, {})


def write_to_hub(s3: Any, bucket: str, prefix: str, kms_key_arn: str, built: exposure.Report) -> Stored:
    """The same objects in the hub's ``bucket`` under ``prefix``, each SSE-KMS with the hub's key (a cross-account
    PutObject cannot rely on the bucket's default key: the hub's policy requires this one by name)."""
    return _put(s3, bucket, built, prefix, {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_arn})


def write_organization(s3: Any, bucket: str, built: org.OrgReport) -> Stored:
    """The organization report's JSON and HTML in the hub's bucket, under ``organization-report/`` (dated and
    latest; the bucket's default encryption, the hub's key)."""
    bodies = {"json": org.render_json(built).encode(), "html": org.render_html(built).encode()}
    return _put_bodies(s3, bucket, _keys(built.generated_at, ORGANIZATION_PREFIX), bodies, {})


def _put(s3: Any, bucket: str, built: exposure.Report, prefix: str, extra: dict[str, str]) -> Stored:
    bodies = {"json": exposure.render_json(built).encode(), "html": exposure.render_html(built).encode()}
    return _put_bodies(s3, bucket, keys(built, prefix), bodies, extra)


def _put_bodies(
    s3: Any, bucket: str, targets_by_ext: dict[str, list[str]], bodies: dict[str, bytes], extra: dict[str, str]
) -> Stored:
    stored = Stored()
    for ext, targets in targets_by_ext.items():
        for key in targets:
            try:
                s3.put_object(
                    Bucket=bucket,
                    Key=key,
                    Body=bodies[ext],
                    ContentType=_TYPES[ext],
                    CacheControl="no-cache" if key.endswith(f"latest.{ext}") else "max-age=31536000, immutable",
                    **extra,
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
