"""The image record: :class:`LedgerRecord` (one DynamoDB item per image, its latest scan and what was notified about
it), its keys, the record a scan result makes (:func:`result_record`), its size bound (:func:`fit`,
:func:`item_size`) and its DynamoDB form (:func:`to_attributes`, :func:`to_item`, :func:`from_item`).

Times are stored as epoch seconds (numbers, millisecond precision); ``findings`` as a map finding id -> severity
(``suppressed_findings`` likewise: the findings accepted risks hid at that evaluation, absent when none),
``notified_findings`` as a string set (absent when empty: DynamoDB has no empty sets). Nothing here decides what
is news (``alerts/news.py``) or whether an image needs a scan (``policy.py``).

A record's size is bounded by construction (:func:`fit`, DynamoDB's item size rules: :func:`item_size`):
``findings`` lists the most severe findings within :data:`FINDINGS_BUDGET` bytes (``findings_omitted``: how many
more were read; ``findings_sha256`` fingerprints the whole set read); when the whole record would still exceed
:data:`ITEM_BUDGET`, the notified findings that are no longer present are dropped, the notified ones still present
are kept as 8-byte digests (``notified_digests``, one binary attribute), the claimed new findings are cut to the
:data:`PENDING_NEW_MAX` a notification lists, and ``findings`` gets the room left. News is decided on the notified
findings, never on ``findings``: a notified finding the record has no room for at all (beyond ~40,000 of them) is
notified again, never silenced.

Added after the first release, all optional (a record written before lacks them and reads with the defaults):
``evaluated_completed_at`` (the completion time of the last result the findings stage evaluated; a sweep's write
leaves it alone), ``findings_sha256``, ``findings_omitted``, ``notified_digests``, ``notified_team`` (the team the
last notification went to, an empty string for nobody), ``securityhub_sha256`` and ``securityhub_findings`` (what
the Security Hub export last imported for the image: the fingerprint of the exported set and, for at most
:data:`SECURITYHUB_TRACKED_MAX` of its findings, vulnerability id -> the exporter's entry; written by
``writes.record_exported``, carried unchanged by every other write).

The small value helpers at the end (``_S``, ``_N``, ``_s``, ``_time``, ``_replace``) are shared by the other modules of
the package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

IN_PROGRESS = "IN_PROGRESS"
SOURCES = ("ecr", "inspector2", "sweep")
#: A record lives this long after its last write unless rewritten (a swept image is rewritten at every scan).
MIN_TTL_DAYS = 30

#: A record's computed size (:func:`item_size`) at most: DynamoDB refuses an item over 400 KB (409,600 bytes, the
#: attribute names included); the margin covers the key and a confirm's few added bytes.
ITEM_BUDGET = 380_000
#: Bytes of ``findings`` at most (its map entries; ~4,000 CVE ids): the listing is for people and the report, news
#: never reads it, and an attribute this size can be replaced in place by an update.
FINDINGS_BUDGET = 120_000
#: Claimed new findings kept when the record must shrink: what a notification lists (notify.NEW_FINDINGS_MAX).
PENDING_NEW_MAX = 200
#: Bytes of a notified finding's digest (a truncated SHA-256 of its id) when the record must shrink.
DIGEST_BYTES = 8

#: Exported Security Hub findings an image's record tracks at most (``securityhub_findings``, ~50 bytes each).
SECURITYHUB_TRACKED_MAX = 1000

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class LedgerRecord:
    """One image's record. ``revision`` (incremented by every write) and the pending claim are the ledger's own
    bookkeeping; the other fields are the contract other stages read."""

    registry_id: str
    repository: str
    digest: str
    image_tags: tuple[str, ...] = ()
    source: str = "sweep"  # "ecr" | "inspector2" | "sweep": what wrote the latest scan state
    scan_status: str = IN_PROGRESS  # COMPLETE | FAILED | IN_PROGRESS (started by the sweep, no result yet) | ...
    scan_started_at: datetime | None = None
    scan_completed_at: datetime | None = None
    severity_counts: Mapping[str, int] = field(default_factory=lambda: _EMPTY)  # absent severity = not reported
    findings: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # finding id -> severity (tracked ones)
    suppressed_findings: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # ... hidden by suppressions
    breached: tuple[str, ...] = ()  # severities over threshold at the last evaluation, most severe first
    notified_type: str | None = None
    notified_at: datetime | None = None
    notified_findings: frozenset[str] = frozenset()
    failure_reason: str | None = None
    revision: int = 0
    pending_token: str | None = None  # a notification being published under this claim
    pending_until: datetime | None = None  # ... until then; after it the claimant is known to be gone
    pending_type: str | None = None  # the claimed notification's type and new findings (to send it again)
    pending_new_findings: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    expires_at: int | None = None
    #: The completion time of the last result the findings stage evaluated (None: none, or an older record).
    evaluated_completed_at: datetime | None = None
    findings_sha256: str | None = None  # fingerprint of every finding read at that evaluation (news.fingerprint)
    findings_omitted: int = 0  # findings read that ``findings`` has no room for
    notified_digests: frozenset[bytes] = frozenset()  # notified findings kept as digests only (see fit)
    #: The team the last notification went to ("" for the module's topic: nobody owned the repository; None: no
    #: notification since teams were configured, or a record older than teams). A new owner's first result for an
    #: image in breach is news for it (``alerts/stage.py``).
    notified_team: str | None = None
    #: The Security Hub export's fingerprint of the findings it last imported for this image (None: never).
    securityhub_sha256: str | None = None
    #: ... and vulnerability id -> its entry (severity, content digest, first import), the exporter's own format.
    securityhub_findings: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @property
    def key(self) -> dict[str, Any]:
        return item_key(self.registry_id, self.repository, self.digest)

    def was_notified(self, finding_id: str) -> bool:
        """Whether the finding was notified (by id, or by digest when the record had no room for its id)."""
        return finding_id in self.notified_findings or (
            bool(self.notified_digests) and finding_digest(finding_id) in self.notified_digests
        )


def partition_key(registry_id: str, repository: str) -> str:
    return f"{registry_id}#{repository}"


def item_key(registry_id: str, repository: str, digest: str) -> dict[str, Any]:
    return {"pk": {"S": partition_key(registry_id, repository)}, "digest": {"S": digest}}


def finding_digest(finding_id: str) -> bytes:
    """A finding id's digest as ``notified_digests`` holds it."""
    return hashlib.sha256(finding_id.encode()).digest()[:DIGEST_BYTES]


def expires_at(now: datetime, scan_expiry_days: int) -> int:
    """TTL for a record written at ``now``: three scan expiry periods (at least :data:`MIN_TTL_DAYS` days), so the
    record of an image that is still swept is rewritten long before it expires, and a deleted image's goes."""
    return int((now + timedelta(days=max(3 * scan_expiry_days, MIN_TTL_DAYS))).timestamp())


def result_record(
    previous: LedgerRecord | None,
    *,
    registry_id: str,
    repository: str,
    digest: str,
    image_tags: tuple[str, ...],
    source: str,
    status: str,
    completed_at: datetime,
    severity_counts: Mapping[str, int],
    findings: Mapping[str, str] | None,
    failure_reason: str | None,
    breached: tuple[str, ...],
    notified_findings: frozenset[str],
    notify: str | None,
    now: datetime,
    ttl: int,
    pending_token: str | None = None,
    pending_until: datetime | None = None,
    pending_new_findings: Mapping[str, str] = _EMPTY,
    suppressed_findings: Mapping[str, str] | None = None,
    notified_digests: frozenset[bytes] = frozenset(),
    findings_sha256: str | None = None,
    team: str | None = None,
) -> LedgerRecord:
    """The image's record after a scan result (the findings stage's write): the scan state of the result, the
    evaluation (``breached``, ``notified_findings`` from ``news.decide``), and, when ``notify`` is set, that
    notification as sent at ``now`` under the pending claim ``pending_token``. ``suppressed_findings``: the
    findings at tracked severities that accepted risks hid (kept apart from ``findings``, which the decisions
    read). A FAILED scan says nothing about findings: the previous counts and findings are kept; a COMPLETE one
    clears the failure reason. ``findings`` (and ``pending_new_findings``) in the order given, most severe first:
    the record is :func:`fit` within :data:`ITEM_BUDGET` keeping that order. ``notified_digests``: the notified
    findings the previous record kept as digests only (``news.Decision`` carries them); ``findings_sha256``: the
    fingerprint of ``findings``; ``team``: the owner the notification (when ``notify``) goes to, recorded as
    ``notified_team`` ("" for nobody)."""
    keep = previous if previous is not None else LedgerRecord(registry_id, repository, digest)
    failed = status == "FAILED"
    kept = failed or findings is None  # the previous findings stay
    record = LedgerRecord(
        registry_id=registry_id,
        repository=repository,
        digest=digest,
        image_tags=image_tags or keep.image_tags,
        source=source,
        scan_status=status,
        scan_started_at=keep.scan_started_at,
        scan_completed_at=completed_at,
        severity_counts=keep.severity_counts if failed else MappingProxyType(dict(severity_counts)),
        findings=keep.findings if failed or findings is None else MappingProxyType(dict(findings)),
        suppressed_findings=(
            keep.suppressed_findings
            if failed or findings is None
            else MappingProxyType(dict(suppressed_findings or {}))
        ),
        breached=breached,
        notified_type=notify or keep.notified_type,
        notified_at=now if notify else keep.notified_at,
        notified_findings=notified_findings,
        failure_reason=failure_reason if failed else None,
        revision=keep.revision,
        pending_token=pending_token,
        pending_until=pending_until,
        pending_type=notify if pending_token else None,
        pending_new_findings=MappingProxyType(dict(pending_new_findings)) if pending_token else _EMPTY,
        expires_at=ttl,
        evaluated_completed_at=completed_at,
        findings_sha256=keep.findings_sha256 if kept else findings_sha256,
        findings_omitted=keep.findings_omitted if kept else 0,
        notified_digests=notified_digests,
        notified_team=(team or "") if notify and team is not None else keep.notified_team,
        securityhub_sha256=keep.securityhub_sha256,
        securityhub_findings=keep.securityhub_findings,
    )
    return fit(record, None if kept else record.findings)


def fit(record: LedgerRecord, present: Mapping[str, str] | None = None) -> LedgerRecord:
    """``record`` within :data:`ITEM_BUDGET` (see the module docstring): ``findings`` cut to
    :data:`FINDINGS_BUDGET` (in their order), then unchanged when it fits; else the notified findings still
    present (``present``: every finding read, most severe first; None when unknown: every notified finding is
    kept) as digests, the most severe first, then as many of ``findings`` and then of ``suppressed_findings`` as
    there is room for."""
    if _entries_size(record.findings.items()) > FINDINGS_BUDGET:
        listed = _within(record.findings.items(), FINDINGS_BUDGET)
        omitted = record.findings_omitted + len(record.findings) - len(listed)
        record = _replace(record, findings=MappingProxyType(listed), findings_omitted=omitted)
    if item_size(to_item(record)) <= ITEM_BUDGET:
        return record
    if present is None:
        notified = [finding_digest(i) for i in sorted(record.notified_findings)] + sorted(record.notified_digests)
    else:
        notified = [finding_digest(i) for i in present if record.was_notified(i)]
    pending = _within(record.pending_new_findings.items(), ITEM_BUDGET // 4, PENDING_NEW_MAX)
    bare = _replace(
        record,
        findings=_EMPTY,
        suppressed_findings=_EMPTY,
        notified_findings=frozenset(),
        notified_digests=frozenset(),
        pending_new_findings=MappingProxyType(pending),
        findings_omitted=len(record.findings) + record.findings_omitted,
    )
    room = ITEM_BUDGET - item_size(to_item(bare)) - 64  # the names and map overheads of the attributes added below
    digests = notified[: max(room, 0) // DIGEST_BYTES]
    room -= len(digests) * DIGEST_BYTES
    findings = _within(record.findings.items(), min(room, FINDINGS_BUDGET))
    room -= _entries_size(findings.items())
    suppressed = _within(record.suppressed_findings.items(), room)
    return _replace(
        bare,
        findings=MappingProxyType(findings),
        suppressed_findings=MappingProxyType(suppressed),
        notified_digests=frozenset(digests),
        findings_omitted=bare.findings_omitted - len(findings),
    )


def _within(entries: Iterable[tuple[str, str]], room: int, most: int | None = None) -> dict[str, str]:
    """The first map entries that take at most ``room`` bytes (and at most ``most`` of them)."""
    taken: dict[str, str] = {}
    for key, value in entries:
        size = _entries_size([(key, value)])
        if size > room or (most is not None and len(taken) >= most):
            break
        taken[key] = value
        room -= size
    return taken


def _entries_size(entries: Iterable[tuple[str, str]]) -> int:
    return sum(1 + len(k.encode()) + len(v.encode()) for k, v in entries)


# --- item sizes (DynamoDB developer guide, "Item sizes and formats") ---------------------------------------------


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it against its 400 KB limit: each attribute's name and value."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        return _number_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in data.items())
    raise ValueError(f"attribute type {kind} is not used by ledger records")


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


# --- items <-> records ---------------------------------------------------------------------------------------


def to_attributes(record: LedgerRecord) -> dict[str, Any]:
    """The record's non-key attributes as DynamoDB values (None: the attribute is removed)."""
    return {
        "registry_id": _S(record.registry_id),
        "repository": _S(record.repository),
        "image_tags": {"L": [_S(t) for t in record.image_tags]},
        "source": _S(record.source),
        "scan_status": _S(record.scan_status),
        "scan_started_at": _N(record.scan_started_at),
        "scan_completed_at": _N(record.scan_completed_at),
        "severity_counts": {"M": {k: {"N": str(int(v))} for k, v in record.severity_counts.items()}},
        "findings": {"M": {k: _S(v) for k, v in record.findings.items()}},
        "suppressed_findings": (
            {"M": {k: _S(v) for k, v in record.suppressed_findings.items()}} if record.suppressed_findings else None
        ),
        "breached": {"L": [_S(s) for s in record.breached]},
        "notified_type": _S(record.notified_type),
        "notified_at": _N(record.notified_at),
        "notified_findings": {"SS": sorted(record.notified_findings)} if record.notified_findings else None,
        "failure_reason": _S(record.failure_reason),
        "revision": {"N": str(record.revision)},
        "pending_token": _S(record.pending_token),
        "pending_until": _N(record.pending_until),
        "pending_type": _S(record.pending_type),
        "pending_new_findings": (
            {"M": {k: _S(v) for k, v in record.pending_new_findings.items()}} if record.pending_new_findings else None
        ),
        "expires_at": None if record.expires_at is None else {"N": str(int(record.expires_at))},
        "evaluated_completed_at": _N(record.evaluated_completed_at),
        "findings_sha256": _S(record.findings_sha256),
        "findings_omitted": {"N": str(record.findings_omitted)} if record.findings_omitted else None,
        "notified_digests": {"B": b"".join(sorted(record.notified_digests))} if record.notified_digests else None,
        "notified_team": None if record.notified_team is None else {"S": record.notified_team},
        "securityhub_sha256": _S(record.securityhub_sha256),
        "securityhub_findings": (
            {"M": {k: _S(v) for k, v in record.securityhub_findings.items()}} if record.securityhub_findings else None
        ),
    }


def to_item(record: LedgerRecord) -> dict[str, Any]:
    """The whole item as DynamoDB stores it (key included, removed attributes left out)."""
    return {**record.key, **{k: v for k, v in to_attributes(record).items() if v is not None}}


def from_item(item: Mapping[str, Any]) -> LedgerRecord:
    """A record from a DynamoDB item (attributes missing from older or partial items take their defaults)."""
    pk = item["pk"]["S"]
    registry_id, _, repository = pk.partition("#")
    counts = (item.get("severity_counts") or {}).get("M", {})
    findings = (item.get("findings") or {}).get("M", {})
    return LedgerRecord(
        registry_id=registry_id,
        repository=repository,
        digest=item["digest"]["S"],
        image_tags=tuple(v["S"] for v in (item.get("image_tags") or {}).get("L", [])),
        source=_s(item, "source") or "sweep",
        scan_status=_s(item, "scan_status") or IN_PROGRESS,
        scan_started_at=_time(item, "scan_started_at"),
        scan_completed_at=_time(item, "scan_completed_at"),
        severity_counts=MappingProxyType({k: int(v["N"]) for k, v in counts.items()}),
        findings=MappingProxyType({k: v["S"] for k, v in findings.items()}),
        suppressed_findings=MappingProxyType(
            {k: v["S"] for k, v in (item.get("suppressed_findings") or {}).get("M", {}).items()}
        ),
        breached=tuple(v["S"] for v in (item.get("breached") or {}).get("L", [])),
        notified_type=_s(item, "notified_type"),
        notified_at=_time(item, "notified_at"),
        notified_findings=frozenset((item.get("notified_findings") or {}).get("SS", [])),
        failure_reason=_s(item, "failure_reason"),
        revision=int((item.get("revision") or {}).get("N", "0")),
        pending_token=_s(item, "pending_token"),
        pending_until=_time(item, "pending_until"),
        pending_type=_s(item, "pending_type"),
        pending_new_findings=MappingProxyType(
            {k: v["S"] for k, v in (item.get("pending_new_findings") or {}).get("M", {}).items()}
        ),
        expires_at=int(Decimal(item["expires_at"]["N"])) if "expires_at" in item else None,
        evaluated_completed_at=_time(item, "evaluated_completed_at"),
        findings_sha256=_s(item, "findings_sha256"),
        findings_omitted=int((item.get("findings_omitted") or {}).get("N", "0")),
        notified_digests=_digests(item),
        notified_team=item["notified_team"]["S"] if "notified_team" in item else None,
        securityhub_sha256=_s(item, "securityhub_sha256"),
        securityhub_findings=MappingProxyType(
            {k: v["S"] for k, v in (item.get("securityhub_findings") or {}).get("M", {}).items()}
        ),
    )


def _digests(item: Mapping[str, Any]) -> frozenset[bytes]:
    blob = bytes((item.get("notified_digests") or {}).get("B", b""))
    return frozenset(blob[i : i + DIGEST_BYTES] for i in range(0, len(blob) - DIGEST_BYTES + 1, DIGEST_BYTES))


def _replace(record: LedgerRecord, **changes: Any) -> LedgerRecord:
    from dataclasses import replace

    return replace(record, **changes)


def _S(value: str | None) -> dict[str, str] | None:
    return None if value is None else {"S": value}


def _N(value: datetime | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"N": format(Decimal(str(round(value.timestamp(), 3))).normalize(), "f")}


def _s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return None if value is None else value.get("S")


def _time(item: Mapping[str, Any], name: str) -> datetime | None:
    value = item.get(name)
    if value is None or "N" not in value:
        return None
    return datetime.fromtimestamp(float(value["N"]), UTC)
