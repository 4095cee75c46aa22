"""The conditional writes of image records. Every write is conditional, so a late, repeated or concurrent event
is harmless:

- :func:`put_record` (findings stage) replaces an image's record only if it is still the revision that was read
  (``revision``, optimistic concurrency). It may carry a *pending* marker (a claim: "this notification is being
  published", valid until ``pending_until``) that :func:`confirm_notified` clears once SNS has accepted it.
- :func:`record_scan_started` (images stage) marks an image IN_PROGRESS unless a result newer than the scan's
  start is already recorded.
- :func:`record_scan_state` (images stage) records what DescribeImageScanFindings said about an image the ledger
  did not know, unless a newer result is already recorded.
- :func:`record_not_scannable` (images stage) records an artifact ECR cannot scan (``NOT_SCANNABLE``,
  core/scannable.py), unless a newer result is already recorded.
- :func:`record_exported` (Security Hub export) records what was imported for an image, only if the export state
  read is still the one stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ecr_scan_reporter.core.ledger.expressions import _condition_failed, _Update
from ecr_scan_reporter.core.ledger.record import (
    _N,
    _S,
    IN_PROGRESS,
    SECURITYHUB_TRACKED_MAX,
    LedgerRecord,
    _replace,
    item_key,
    to_attributes,
)
from ecr_scan_reporter.core.scannable import NOT_SCANNABLE


def put_record(client: Any, table: str, record: LedgerRecord, expected_revision: int | None) -> LedgerRecord | None:
    """Write ``record`` whole, as revision ``expected_revision + 1``, only if the stored record is still at
    ``expected_revision`` (None: only if there is none). Returns the record as written, or None when the condition
    failed (someone else wrote first: read again)."""
    written = _replace(record, revision=(expected_revision or 0) + 1)
    update = _Update()
    for name, value in to_attributes(written).items():
        update.set(name, value) if value is not None else update.remove(name)
    if expected_revision is None:
        condition = f"attribute_not_exists({update.name('pk')})"
    else:
        condition = f"{update.name('revision')} = {update.value({'N': str(expected_revision)})}"
    try:
        client.update_item(TableName=table, Key=record.key, ConditionExpression=condition, **update.request())
    except ClientError as exc:
        if _condition_failed(exc):
            return None
        raise
    return written


def confirm_notified(
    client: Any, table: str, registry_id: str, repository: str, digest: str, token: str, message_id: str
) -> bool:
    """Clear the pending claim ``token`` once its notification was published (recording the SNS message id).
    False when the claim is no longer there (taken over by another invocation after it expired)."""
    try:
        update = _Update()
        update.set("notified_message_id", {"S": message_id})
        update.add("revision", {"N": "1"})
        for name in ("pending_token", "pending_until", "pending_type", "pending_new_findings"):
            update.remove(name)
        condition = f"{update.name('pending_token')} = {update.value({'S': token})}"
        client.update_item(
            TableName=table,
            Key=item_key(registry_id, repository, digest),
            ConditionExpression=condition,
            **update.request(),
        )
    except ClientError as exc:
        if _condition_failed(exc):
            return False
        raise
    return True


def record_exported(
    client: Any,
    table: str,
    registry_id: str,
    repository: str,
    digest: str,
    sha256: str,
    exported: Mapping[str, str],
    expected_sha256: str | None,
) -> bool:
    """Record what the Security Hub export imported for an image (``securityhub_sha256``, ``securityhub_findings``,
    at most :data:`SECURITYHUB_TRACKED_MAX` entries are kept, in the order given), only if the record exists and
    its export fingerprint is still ``expected_sha256`` (None: none recorded). The revision moves on, so a writer
    that read the record before never puts the old export state back. False when the condition failed."""
    if len(exported) > SECURITYHUB_TRACKED_MAX:
        exported = dict(list(exported.items())[:SECURITYHUB_TRACKED_MAX])
    update = _Update()
    update.set("securityhub_sha256", {"S": sha256})
    if exported:
        update.set("securityhub_findings", {"M": {k: {"S": v} for k, v in exported.items()}})
    else:
        update.remove("securityhub_findings")
    update.add("revision", {"N": "1"})
    condition = f"attribute_exists({update.name('pk')}) AND " + (
        f"attribute_not_exists({update.name('securityhub_sha256')})"
        if expected_sha256 is None
        else f"{update.name('securityhub_sha256')} = {update.value({'S': expected_sha256})}"
    )
    try:
        client.update_item(
            TableName=table,
            Key=item_key(registry_id, repository, digest),
            ConditionExpression=condition,
            **update.request(),
        )
    except ClientError as exc:
        if _condition_failed(exc):
            return False
        raise
    return True


def record_scan_started(
    client: Any,
    table: str,
    registry_id: str,
    repository: str,
    digest: str,
    tags: tuple[str, ...],
    started_at: datetime,
    ttl: int,
) -> bool:
    """Mark the image IN_PROGRESS (the sweep started its scan at ``started_at``), keeping its findings and
    notification history. False (nothing written) when a result completed after ``started_at`` is already
    recorded: the scan's own result arrived first."""
    return _update_scan_state(
        client,
        table,
        item_key(registry_id, repository, digest),
        {"scan_status": _S(IN_PROGRESS), "scan_started_at": _N(started_at), "source": _S("sweep")},
        tags,
        ttl,
        newer_than=started_at,
    )


def record_scan_state(
    client: Any,
    table: str,
    registry_id: str,
    repository: str,
    digest: str,
    tags: tuple[str, ...],
    status: str,
    completed_at: datetime | None,
    observed_at: datetime,
    ttl: int,
) -> bool:
    """Record what ECR said about an image's latest scan (learned by the sweep through DescribeImageScanFindings),
    keeping findings and notification history. An IN_PROGRESS scan is recorded as started at ``observed_at``.
    False (nothing written) when a newer result is already recorded."""
    values: dict[str, Any] = {"scan_status": _S(status), "source": _S("sweep")}
    if status.upper() in ("IN_PROGRESS", "PENDING"):
        values["scan_status"] = _S(IN_PROGRESS)
        values["scan_started_at"] = _N(observed_at)
        newer_than: datetime | None = observed_at
    else:
        if completed_at is not None:
            values["scan_completed_at"] = _N(completed_at)
        newer_than = completed_at or observed_at
    return _update_scan_state(
        client, table, item_key(registry_id, repository, digest), values, tags, ttl, newer_than=newer_than
    )


def record_not_scannable(
    client: Any,
    table: str,
    registry_id: str,
    repository: str,
    digest: str,
    tags: tuple[str, ...],
    reason: str | None,
    observed_at: datetime,
    ttl: int,
) -> bool:
    """Record that ECR's basic scanning cannot scan the image (an artifact: core/scannable.py), seen so at
    ``observed_at``: ``scan_status`` :data:`~ecr_scan_reporter.core.scannable.NOT_SCANNABLE`, ``failure_reason`` why
    (ECR's refusal, or what DescribeImages says it is; None: left as recorded), keeping the record's history. False
    (nothing written) when a result newer than ``observed_at`` is recorded: a scan that completed says otherwise."""
    values = {"scan_status": _S(NOT_SCANNABLE), "source": _S("sweep")}
    if reason is not None:
        values["failure_reason"] = _S(reason)
    return _update_scan_state(
        client, table, item_key(registry_id, repository, digest), values, tags, ttl, newer_than=observed_at
    )


def _update_scan_state(
    client: Any,
    table: str,
    key: dict[str, Any],
    values: dict[str, Any],
    tags: tuple[str, ...],
    ttl: int,
    newer_than: datetime | None,
) -> bool:
    update = _Update()
    for name, value in {**values, "image_tags": {"L": [_S(t) for t in tags]}, "expires_at": {"N": str(ttl)}}.items():
        update.set(name, value)
    update.add("revision", {"N": "1"})
    completed = update.name("scan_completed_at")
    condition = f"attribute_not_exists({completed})"
    if newer_than is not None:
        condition += f" OR {completed} < {update.value(_N(newer_than))}"
    try:
        client.update_item(TableName=table, Key=key, ConditionExpression=condition, **update.request())
    except ClientError as exc:
        if _condition_failed(exc):
            return False
        raise
    return True
