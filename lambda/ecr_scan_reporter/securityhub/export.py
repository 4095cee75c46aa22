"""The Security Hub export of one evaluated image: what is in breach -> ASFF (``asff.py``) -> the difference with
what the ledger says was exported -> ``BatchImportFindings`` (and ``BatchUpdateFindings`` for the workflow of the
findings archived) -> the new export state in the image's record.

:func:`export_image` runs after the findings stage evaluated and recorded the image's result (the stage's record
gives ``breached``; the findings read give the details). An identical rescan has the same fingerprint as the one
recorded (``securityhub_sha256``): nothing is imported. A changed set imports the new and changed findings and
the archived form of those gone (or all of them, when the image is within every threshold again); the record
then gets the new fingerprint and entries (``ledger.record_exported``, conditional on the fingerprint read, so
two concurrent exports never record a state neither sent).

As AWS documents it (``BatchImportFindings`` reference): a provider cannot change a finding's ``Workflow`` with
``BatchImportFindings`` once it exists, and Security Hub resolves by itself only control findings. A finding gone
is therefore archived (``RecordState`` ARCHIVED, through ``BatchImportFindings``) and then has its workflow set to
RESOLVED with ``BatchUpdateFindings`` (the findings role may do that and nothing else); Security Hub reopens it
(NEW) by itself if it is imported ACTIVE again. A workflow update a retry can help (throttling, a 5xx, the
network) fails the export like an import failure; one no retry helps (``AccessDenied``, a finding Security Hub
does not find) is logged (``securityhub_workflow_not_resolved``) and reported in the answer
(``workflow_not_resolved``): the findings stay archived, which is what Security Hub shows as closed.

``BatchImportFindings`` takes at most :data:`BATCH_MAX` findings per call. A finding it refuses
(``FailedFindings``) is logged with its reason and sent once more; still refused, or an AWS error, and
:class:`ExportFailed` is raised (``retryable`` says whether a retry can help: throttling, a 5xx, a network error)
*before* the new state is recorded, so the next evaluation of the image sends the difference again: nothing
is silently lost. The caller decides what a failure costs (``handlers/findings.py``: never the alert).

``out_of_time`` (the caller's deadline: True when no call should start any more) is asked before every call: once
it says so, what Security Hub took is recorded (the entries of the findings it took, the others as they were: a
fingerprint of its own, so the next export sends exactly the rest) and :class:`OutOfTime` is raised for the caller
to hand the image over (a retryable :class:`ExportFailed`). Nothing is lost, and nothing is sent twice but a call
cut by the function's own timeout.

:func:`resolve_deleted` handles an image deleted from ECR (``deletion.py``): once ECR confirms the digest is gone,
every finding the record says is exported is archived and resolved, and the record says nothing is exported any
more.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import ledger, log
from ecr_scan_reporter.core.finding_types import Finding
from ecr_scan_reporter.securityhub import asff, deletion

logger = log.get_logger(__name__)
BATCH_MAX = 100
#: The time (milliseconds) an invocation keeps in hand for the export: no Security Hub call starts with less left
#: (one call of 100 findings and the record's write take well under it).
DEADLINE_RESERVE_MS = 10_000
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
OutOfTimeCheck = Callable[[], bool] | None


class ExportFailed(RuntimeError):
    """Security Hub did not take every finding of an image; ``retryable``: a later attempt may succeed."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class OutOfTime(ExportFailed):
    """The deadline came before every finding of the image was sent: what Security Hub took is recorded
    (``sent`` findings), the ``left`` others are the next invocation's. Retryable, and not a failure."""

    def __init__(self, sent: int, left: int) -> None:
        super().__init__(f"out of time: {sent} finding(s) sent, {left} left for the next invocation", True)
        self.sent, self.left = sent, left


@dataclass(frozen=True)
class Plan:
    """What to send for one image: ``bodies`` (active then archived findings), ``ids`` the vulnerability id of each
    and ``gone`` those archived; ``state`` and ``fingerprint`` once every body is taken, ``previous`` the state
    recorded before; ``unchanged`` when the fingerprint is the one recorded."""

    bodies: tuple[dict[str, Any], ...]
    state: dict[str, str]
    fingerprint: str
    imported: int
    resolved: int
    unchanged: bool
    ids: tuple[str, ...] = ()
    gone: frozenset[str] = frozenset()
    previous: Mapping[str, str] = field(default_factory=dict)

    def partial(self, done: Collection[str]) -> tuple[str, dict[str, str]]:
        """The fingerprint and state once only the bodies of ``done`` (vulnerability ids) were taken: their new
        entries, every other entry as it was recorded. Its fingerprint is taken over the entries themselves (never
        equal to a fingerprint of content digests), so the next plan always compares and sends exactly what is
        missing, a finding to reopen whose content is unchanged included."""
        sent = set(done)
        pending = set(self.ids) - sent
        state: dict[str, str] = {}
        for key, entry in self.state.items():  # the planned order: most severe first
            if key not in pending:
                state[key] = entry
            elif key in self.previous:
                state[key] = self.previous[key]  # changed, not sent yet: its old digest sends it again
        for key, entry in self.previous.items():
            if key not in self.state and key not in sent:
                state[key] = entry  # gone, not archived yet
        return asff.fingerprint(state), state


def plan(
    image: asff.Image,
    in_breach: Sequence[Finding],
    record: ledger.LedgerRecord,
    now: datetime,
    observed_at: datetime | None = None,
) -> Plan:
    """Pure: the findings to send for ``in_breach`` (``asff.in_breach``), given what ``record`` says was exported:
    the new and changed ones, those archived and back in breach (reopened), and the archived form of those gone.
    The state keeps the findings in breach (most severe first), then the archived ones still in Security Hub."""
    kept = {k: asff.Exported.decode(v) for k, v in record.securityhub_findings.items()}
    known = {k: e for k, e in kept.items() if e is not None and e.in_security_hub(now)}
    bodies: dict[str, dict[str, Any]] = {}
    digests: dict[str, str] = {}
    for found in in_breach:
        earlier = known.get(found.id)
        body = asff.finding(image, found, now, earlier.first_at if earlier else None, observed_at)
        bodies[found.id], digests[found.id] = body, asff.content_digest(body)
    fingerprint = asff.fingerprint(digests)
    previous = dict(record.securityhub_findings)
    if fingerprint == record.securityhub_sha256 or (not bodies and not kept and record.securityhub_sha256 is None):
        return Plan((), previous, fingerprint, 0, 0, unchanged=True, previous=previous)
    active: dict[str, dict[str, Any]] = {}
    state: dict[str, str] = {}
    for k, body in bodies.items():
        earlier = known.get(k)
        if earlier is None or earlier.archived_at is not None or earlier.digest != digests[k]:
            active[k] = body
        state[k] = asff.Exported(label_of(body), digests[k], earlier.first_at if earlier else now).encode()
    exported = {k: e for k, e in kept.items() if k not in bodies and (e is None or e.archived_at is None)}
    gone = {k: asff.resolved(image, k, e, now) for k, e in exported.items()}
    for k, e in exported.items():
        if e is not None:  # an entry this version cannot read is archived, not remembered
            state[k] = e.archived(now).encode()
    for k in known:
        if k not in bodies and k not in exported:  # archived before, still in Security Hub: remembered
            state[k] = record.securityhub_findings[k]
    return Plan(
        tuple(active.values()) + tuple(gone.values()),
        state,
        fingerprint,
        len(active),
        len(gone),
        unchanged=False,
        ids=tuple(active) + tuple(gone),
        gone=frozenset(gone),
        previous=previous,
    )


def label_of(body: Mapping[str, Any]) -> str:
    """The severity label a finding body gives (``FindingProviderFields``: every form has it there)."""
    return str(body["FindingProviderFields"]["Severity"]["Label"])


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
    out_of_time: OutOfTimeCheck = None,
) -> dict[str, Any]:
    """Export one image's findings in breach (``breached``: the severities over threshold; None: the record's, as
    the stage wrote it). Returns ``{"status": "exported" | "unchanged" | "no_record", ...}``; raises
    :class:`ExportFailed` (:class:`OutOfTime` when ``out_of_time`` stopped it: see the module docstring)."""
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
    sent = _send(securityhub, dynamodb, table, image, decided, record, fields, out_of_time)
    recorded = _record(dynamodb, table, image, decided.fingerprint, decided.state, record, fields)
    log.emit(
        logger,
        "securityhub_exported",
        imported=decided.imported,
        resolved=decided.resolved,
        calls=sent.calls,
        workflow_not_resolved=sent.workflow_not_resolved,
        tracked=min(len(decided.state), ledger.SECURITYHUB_TRACKED_MAX),
        in_breach=len(chosen),
        recorded=recorded,
        **fields,
    )
    return {
        "status": "exported",
        "imported": decided.imported,
        "resolved": decided.resolved,
        "calls": sent.calls,
        "workflow_not_resolved": sent.workflow_not_resolved,
        **fields,
    }


#: DescribeImages' answers for an image (or its repository) that no longer exists.
GONE_CODES = frozenset({"ImageNotFoundException", "RepositoryNotFoundException"})


def resolve_deleted(
    securityhub: Any,
    ecr: Any,
    dynamodb: Any,
    table: str,
    image: asff.Image,
    now: datetime,
    out_of_time: OutOfTimeCheck = None,
) -> dict[str, Any]:
    """Archive and resolve every finding exported (active) for an image deleted from ECR, once the digest itself is
    gone (``DescribeImages`` by digest: ImageNotFoundException; a tag removed from an image that remains changes
    nothing), then record that nothing is exported but archived findings (``ledger.record_exported``, conditional
    on the fingerprint read: a digest pushed again reopens them). Returns ``{"status": "resolved" | "not_exported"
    | "image_remains", ...}``; an image never exported costs no call but the ledger read. Raises
    :class:`ExportFailed` (:class:`OutOfTime`)."""
    fields = {"repository": image.repository, "registry_id": image.registry_id, "image_digest": image.digest}
    try:
        record = ledger.get_record(dynamodb, table, image.registry_id, image.repository, image.digest)
    except (BotoCoreError, ClientError) as exc:
        raise ExportFailed(f"the image's ledger record could not be read ({_short(exc)})", _retryable(exc)) from exc
    if record is None or not asff.active(record.securityhub_findings):
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
    exported = asff.active(record.securityhub_findings)
    bodies = deletion.resolved_bodies(image, record, now)
    state = {k: e.archived(now).encode() for k, e in exported.items() if e is not None}
    state |= {k: v for k, v in record.securityhub_findings.items() if k not in exported}  # archived before
    decided = Plan(
        tuple(bodies),
        state,
        asff.fingerprint({}),
        0,
        len(bodies),
        unchanged=False,
        ids=tuple(exported),
        gone=frozenset(exported),
        previous=dict(record.securityhub_findings),
    )
    sent = _send(securityhub, dynamodb, table, image, decided, record, fields, out_of_time)
    recorded = _record(dynamodb, table, image, decided.fingerprint, decided.state, record, fields)
    log.emit(
        logger,
        "securityhub_deleted_resolved",
        resolved=len(bodies),
        calls=sent.calls,
        workflow_not_resolved=sent.workflow_not_resolved,
        recorded=recorded,
        **fields,
    )
    return {
        "status": "resolved",
        "resolved": len(bodies),
        "calls": sent.calls,
        "workflow_not_resolved": sent.workflow_not_resolved,
        **fields,
    }


@dataclass
class Sent:
    """What Security Hub took of a plan: ``done`` the vulnerability ids (an archived one once its workflow update
    was answered too), the calls made, the archived findings whose workflow could not be set."""

    done: set[str] = field(default_factory=set)
    calls: int = 0
    workflow_not_resolved: int = 0


def _send(
    securityhub: Any,
    dynamodb: Any,
    table: str,
    image: asff.Image,
    decided: Plan,
    record: ledger.LedgerRecord,
    fields: Mapping[str, Any],
    out_of_time: OutOfTimeCheck,
) -> Sent:
    """Send ``decided`` (:func:`import_findings`); out of time, record what was taken and raise :class:`OutOfTime`."""
    sent = Sent()
    try:
        import_findings(securityhub, decided.bodies, fields, decided.ids, decided.gone, sent, out_of_time)
    except OutOfTime as stopped:
        left = len(set(decided.ids) - sent.done)
        log.emit(logger, "securityhub_export_deferred", sent=len(sent.done), left=left, calls=sent.calls, **fields)
        if sent.done:
            fingerprint, state = decided.partial(sent.done)
            _record(dynamodb, table, image, fingerprint, state, record, fields)
        raise OutOfTime(len(sent.done), left) from stopped
    return sent


def _record(
    dynamodb: Any,
    table: str,
    image: asff.Image,
    fingerprint: str,
    state: Mapping[str, str],
    record: ledger.LedgerRecord,
    fields: Mapping[str, Any],
) -> bool:
    """Record the export state, conditionally on the fingerprint read; raises :class:`ExportFailed`."""
    try:
        recorded = ledger.record_exported(
            dynamodb,
            table,
            image.registry_id,
            image.repository,
            image.digest,
            fingerprint,
            state,
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
    return recorded


def import_findings(
    client: Any,
    bodies: Sequence[Mapping[str, Any]],
    fields: Mapping[str, Any],
    ids: Sequence[str] = (),
    gone: Collection[str] = frozenset(),
    sent: Sent | None = None,
    out_of_time: OutOfTimeCheck = None,
) -> int:
    """``BatchImportFindings`` in calls of at most :data:`BATCH_MAX`; after each call, the archived findings it
    took (``gone``: vulnerability ids, ``ids`` naming each body) get their workflow RESOLVED
    (:func:`resolve_workflow`). The refused findings are logged and sent once more (an update refused for a reason
    no retry helps, as a new finding: it may have aged out of Security Hub). ``sent`` collects what was taken.
    Returns the number of calls; raises :class:`ExportFailed` when some are still refused or AWS fails, and
    :class:`OutOfTime` as soon as ``out_of_time`` says so before a call."""
    sent = sent if sent is not None else Sent()
    named = list(zip(ids or [str(b["Id"]) for b in bodies], bodies, strict=True))
    for attempt in (1, 2):
        refused: list[tuple[str, Mapping[str, Any]]] = []
        reasons: list[tuple[str, str]] = []
        for start in range(0, len(named), BATCH_MAX):
            batch = named[start : start + BATCH_MAX]
            _check(out_of_time, sent)
            try:
                response = client.batch_import_findings(Findings=[dict(b) for _, b in batch])
            except (BotoCoreError, ClientError) as exc:
                raise ExportFailed(f"BatchImportFindings failed ({_short(exc)})", _retryable(exc)) from exc
            sent.calls += 1
            by_id = {b["Id"]: (key, b) for key, b in batch}
            failed_ids: set[Any] = set()
            for failed in response.get("FailedFindings") or []:
                code, message = str(failed.get("ErrorCode", "")), str(failed.get("ErrorMessage", ""))
                reasons.append((code, message))
                failed_ids.add(failed.get("Id"))
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
                    key, body = by_id[failed["Id"]]
                    # An update refused for a reason no retry helps: the finding may have aged out of Security
                    # Hub; sent once more as a new finding (with the top-level attributes a new one requires).
                    new = code not in RETRYABLE_CODES and "Severity" not in body
                    refused.append((key, asff.as_new(body) if new else body))
            taken = [(key, b) for key, b in batch if b["Id"] not in failed_ids]
            sent.done |= {key for key, _ in taken if key not in gone}
            archived = [(key, b) for key, b in taken if key in gone]
            if archived:
                _check(out_of_time, sent)
                sent.workflow_not_resolved += resolve_workflow(client, [b for _, b in archived], fields)
                sent.done |= {key for key, _ in archived}
        if not refused and not reasons:
            return sent.calls
        if not refused:  # refused findings Security Hub did not name: nothing to resend by id
            break
        named = refused
    codes = sorted({code for code, _ in reasons})
    raise ExportFailed(
        f"Security Hub refused {len(named)} finding(s) twice ({', '.join(codes) or 'no error code'}: "
        f"{reasons[0][1] if reasons else ''})",
        retryable=any(code in RETRYABLE_CODES for code in codes),
    )


def resolve_workflow(client: Any, bodies: Sequence[Mapping[str, Any]], fields: Mapping[str, Any]) -> int:
    """``BatchUpdateFindings``: the workflow of the archived ``bodies`` (at most :data:`BATCH_MAX`) to RESOLVED,
    nothing else. A failure a retry can help raises :class:`ExportFailed`; any other is logged
    (``securityhub_workflow_not_resolved``). Returns the number of findings left unresolved."""
    identifiers = [{"Id": str(b["Id"]), "ProductArn": str(b["ProductArn"])} for b in bodies]
    try:
        response = client.batch_update_findings(FindingIdentifiers=identifiers, Workflow={"Status": "RESOLVED"})
    except (BotoCoreError, ClientError) as exc:
        if _retryable(exc):
            raise ExportFailed(f"BatchUpdateFindings failed ({_short(exc)})", True) from exc
        log.emit(
            logger,
            "securityhub_workflow_not_resolved",
            logging.WARNING,
            error=_short(exc),
            findings=len(identifiers),
            finding_ids=[i["Id"] for i in identifiers[:10]],
            **fields,
        )
        return len(identifiers)
    unprocessed = response.get("UnprocessedFindings") or []
    if not unprocessed:
        return 0
    codes = sorted({str(u.get("ErrorCode", "")) for u in unprocessed})
    if any(code in RETRYABLE_CODES for code in codes):
        raise ExportFailed(f"BatchUpdateFindings left {len(unprocessed)} finding(s) ({', '.join(codes)})", True)
    log.emit(
        logger,
        "securityhub_workflow_not_resolved",
        logging.WARNING,
        error=", ".join(f"{u.get('ErrorCode')}: {u.get('ErrorMessage')}" for u in unprocessed[:3]),
        findings=len(unprocessed),
        finding_ids=[str((u.get("FindingIdentifier") or {}).get("Id")) for u in unprocessed[:10]],
        **fields,
    )
    return len(unprocessed)


def _check(out_of_time: OutOfTimeCheck, sent: Sent) -> None:
    if out_of_time is not None and out_of_time():
        raise OutOfTime(len(sent.done), 0)


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
