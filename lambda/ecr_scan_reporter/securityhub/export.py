"""The Security Hub export of one evaluated image: what is in breach -> ASFF (``asff.py``) -> the difference with
what the ledger says was exported -> ``BatchImportFindings`` -> the new export state in the image's record.

:func:`export_image` runs after the findings stage evaluated and recorded the image's result (the stage's record
gives ``breached``; the findings read give the details). An identical rescan has the same fingerprint as the one
recorded (``securityhub_sha256``): nothing is imported. A changed set imports the new and changed findings and
the resolved form of those gone (or all of them, when the image is within every threshold again); the record
then gets the new fingerprint and entries (``ledger.record_exported``, conditional on the fingerprint read, so
two concurrent exports never record a state neither sent).

``BatchImportFindings`` takes at most :data:`BATCH_MAX` findings per call. A finding it refuses
(``FailedFindings``) is logged with its reason and sent once more; still refused, or an AWS error, and
:class:`ExportFailed` is raised (``retryable`` says whether a retry can help: throttling, a 5xx, a network error)
*before* the new state is recorded, so the next evaluation of the image sends the difference again: nothing
is silently lost. The caller decides what a failure costs (``handlers/findings.py``: never the alert).

:func:`resolve_deleted` handles an image deleted from ECR (``deletion.py``): once ECR confirms the digest is gone,
every finding the record says is exported is sent resolved and the record says nothing is exported any more.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import ledger, log
from ecr_scan_reporter.core.finding_types import Finding
from ecr_scan_reporter.securityhub import asff, deletion

logger = log.get_logger(__name__)
BATCH_MAX = 100
#: Error codes a later attempt may get past (anything else: the request, the account or the permissions).
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "LimitExceededException",
        "InternalException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
    }
)


class ExportFailed(RuntimeError):
    """Security Hub did not take every finding of an image; ``retryable``: a later attempt may succeed."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Plan:
    """What to send for one image: ``bodies`` (active then resolved findings), the new state and its
    fingerprint; ``unchanged`` when the fingerprint is the one recorded."""

    bodies: tuple[dict[str, Any], ...]
    state: dict[str, str]
    fingerprint: str
    imported: int
    resolved: int
    unchanged: bool


def plan(
    image: asff.Image,
    in_breach: Sequence[Finding],
    record: ledger.LedgerRecord,
    now: datetime,
    observed_at: datetime | None = None,
) -> Plan:
    """Pure: the findings to send for ``in_breach`` (``asff.in_breach``), given what ``record`` says was exported."""
    kept = {k: asff.Exported.decode(v) for k, v in record.securityhub_findings.items()}
    bodies: dict[str, dict[str, Any]] = {}
    digests: dict[str, str] = {}
    for found in in_breach:
        earlier = kept.get(found.id)
        body = asff.finding(image, found, now, earlier.first_at if earlier else None, observed_at)
        bodies[found.id], digests[found.id] = body, asff.content_digest(body)
    fingerprint = asff.fingerprint(digests)
    if fingerprint == record.securityhub_sha256 or (not bodies and not kept and record.securityhub_sha256 is None):
        return Plan((), dict(record.securityhub_findings), fingerprint, 0, 0, unchanged=True)
    active: list[dict[str, Any]] = []
    state: dict[str, str] = {}
    for k, body in bodies.items():
        earlier = kept.get(k)
        if earlier is None or earlier.digest != digests[k]:
            active.append(body)
        entry = asff.Exported(body["Severity"]["Label"], digests[k], earlier.first_at if earlier else now)
        state[k] = entry.encode()
    gone = [asff.resolved(image, k, kept[k], now) for k in kept if k not in bodies]
    return Plan(tuple(active + gone), state, fingerprint, len(active), len(gone), unchanged=False)


def export_image(
    securityhub: Any,
    dynamodb: Any,
    table: str,
    image: asff.Image,
    findings: Iterable[Finding],
    breached: Sequence[str] | None,
    exploitable: Iterable[str],
    now: datetime,
    observed_at: datetime | None = None,
) -> dict[str, Any]:
    """Export one image's findings in breach (``breached``: the severities over threshold; None: the record's, as
    the stage wrote it). Returns ``{"status": "exported" | "unchanged" | "no_record", ...}``; raises
    :class:`ExportFailed`."""
    fields = {"repository": image.repository, "registry_id": image.registry_id, "image_digest": image.digest}
    try:
        record = ledger.get_record(dynamodb, table, image.registry_id, image.repository, image.digest)
    except (BotoCoreError, ClientError) as exc:
        raise ExportFailed(f"the image's ledger record could not be read ({_short(exc)})", _retryable(exc)) from exc
    if record is None:  # the stage records every result it evaluates: nothing to compare with, nothing sent
        log.emit(logger, "securityhub_export_skipped", logging.WARNING, reason="no ledger record", **fields)
        return {"status": "no_record", **fields}
    chosen = asff.in_breach(findings, record.breached if breached is None else breached, exploitable)
    decided = plan(image, chosen, record, now, observed_at)
    if decided.unchanged:
        log.emit(logger, "securityhub_unchanged", findings=len(chosen), **fields)
        return {"status": "unchanged", **fields}
    calls = import_findings(securityhub, decided.bodies, fields)
    try:
        recorded = ledger.record_exported(
            dynamodb,
            table,
            image.registry_id,
            image.repository,
            image.digest,
            decided.fingerprint,
            decided.state,
            record.securityhub_sha256,
        )
    except (BotoCoreError, ClientError) as exc:
        # Security Hub has the findings; without the state the next evaluation sends them again (an update).
        raise ExportFailed(f"the export state could not be recorded ({_short(exc)})", _retryable(exc)) from exc
    if not recorded:
        log.emit(
            logger,
            "securityhub_state_not_recorded",
            logging.WARNING,
            reason="the record's export state changed meanwhile (a concurrent export): the next result reconciles",
            **fields,
        )
    log.emit(
        logger,
        "securityhub_exported",
        imported=decided.imported,
        resolved=decided.resolved,
        calls=calls,
        tracked=min(len(decided.state), ledger.SECURITYHUB_TRACKED_MAX),
        in_breach=len(chosen),
        recorded=recorded,
        **fields,
    )
    return {"status": "exported", "imported": decided.imported, "resolved": decided.resolved, "calls": calls, **fields}


#: DescribeImages' answers for an image (or its repository) that no longer exists.
GONE_CODES = frozenset({"ImageNotFoundException", "RepositoryNotFoundException"})


def resolve_deleted(
    securityhub: Any, ecr: Any, dynamodb: Any, table: str, image: asff.Image, now: datetime
) -> dict[str, Any]:
    """Resolve (RESOLVED/ARCHIVED) every finding exported for an image deleted from ECR, once the digest itself is
    gone (``DescribeImages`` by digest: ImageNotFoundException; a tag removed from an image that remains changes
    nothing), then record that nothing is exported (``ledger.record_exported`` with the empty set, conditional on
    the fingerprint read). Returns ``{"status": "resolved" | "not_exported" | "image_remains", ...}``; an image
    never exported costs no call but the ledger read. Raises :class:`ExportFailed`."""
    fields = {"repository": image.repository, "registry_id": image.registry_id, "image_digest": image.digest}
    try:
        record = ledger.get_record(dynamodb, table, image.registry_id, image.repository, image.digest)
    except (BotoCoreError, ClientError) as exc:
        raise ExportFailed(f"the image's ledger record could not be read ({_short(exc)})", _retryable(exc)) from exc
    if record is None or not record.securityhub_findings:
        log.emit(logger, "securityhub_delete_skipped", reason="nothing exported for the image", **fields)
        return {"status": "not_exported", **fields}
    try:
        ecr.describe_images(
            registryId=image.registry_id, repositoryName=image.repository, imageIds=[{"imageDigest": image.digest}]
        )
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code", "")) not in GONE_CODES:
            raise ExportFailed(f"DescribeImages failed ({_short(exc)})", _retryable(exc)) from exc
    except BotoCoreError as exc:
        raise ExportFailed(f"DescribeImages failed ({_short(exc)})", True) from exc
    else:
        log.emit(logger, "securityhub_delete_skipped", reason="the digest remains in ECR (a tag removed)", **fields)
        return {"status": "image_remains", **fields}
    image = dataclasses.replace(image, tags=record.image_tags)  # the tags it had, as last recorded
    bodies = deletion.resolved_bodies(image, record, now)
    calls = import_findings(securityhub, bodies, fields)
    try:
        recorded = ledger.record_exported(
            dynamodb,
            table,
            image.registry_id,
            image.repository,
            image.digest,
            asff.fingerprint({}),
            {},
            record.securityhub_sha256,
        )
    except (BotoCoreError, ClientError) as exc:
        # Security Hub has them resolved; a later delivery of the event resolves them again (the same update).
        raise ExportFailed(f"the export state could not be recorded ({_short(exc)})", _retryable(exc)) from exc
    if not recorded:
        log.emit(
            logger,
            "securityhub_state_not_recorded",
            logging.WARNING,
            reason="the record's export state changed meanwhile (a concurrent export)",
            **fields,
        )
    log.emit(logger, "securityhub_deleted_resolved", resolved=len(bodies), calls=calls, recorded=recorded, **fields)
    return {"status": "resolved", "resolved": len(bodies), "calls": calls, **fields}


def import_findings(client: Any, bodies: Sequence[Mapping[str, Any]], fields: Mapping[str, Any]) -> int:
    """``BatchImportFindings`` in calls of at most :data:`BATCH_MAX`; the refused findings are logged and sent once
    more. Returns the number of calls; raises :class:`ExportFailed` when some are still refused or AWS fails."""
    calls = 0
    for attempt in (1, 2):
        refused: list[Mapping[str, Any]] = []
        reasons: list[tuple[str, str]] = []
        for start in range(0, len(bodies), BATCH_MAX):
            batch = list(bodies[start : start + BATCH_MAX])
            try:
                response = client.batch_import_findings(Findings=batch)
            except (BotoCoreError, ClientError) as exc:
                raise ExportFailed(f"BatchImportFindings failed ({_short(exc)})", _retryable(exc)) from exc
            calls += 1
            by_id = {b["Id"]: b for b in batch}
            for failed in response.get("FailedFindings") or []:
                code, message = str(failed.get("ErrorCode", "")), str(failed.get("ErrorMessage", ""))
                reasons.append((code, message))
                log.emit(
                    logger,
                    "securityhub_finding_refused",
                    logging.WARNING,
                    finding_id=failed.get("Id"),
                    error_code=code,
                    error=message,
                    attempt=attempt,
                    **fields,
                )
                if failed.get("Id") in by_id:
                    refused.append(by_id[failed["Id"]])
        if not refused and not reasons:
            return calls
        if not refused:  # refused findings Security Hub did not name: nothing to resend by id
            break
        bodies = refused
    codes = sorted({code for code, _ in reasons})
    raise ExportFailed(
        f"Security Hub refused {len(bodies)} finding(s) twice ({', '.join(codes) or 'no error code'}: "
        f"{reasons[0][1] if reasons else ''})",
        retryable=any(code in RETRYABLE_CODES for code in codes),
    )


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return str(error.get("Code", "")) in RETRYABLE_CODES or status >= 500
    return True  # BotoCoreError: the connection, a timeout


def _short(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return str(exc) or type(exc).__name__
