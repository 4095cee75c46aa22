"""The scan ledger: one DynamoDB item per image, its latest scan and what was notified about it.

Table (``ledger.tf``): hash key ``pk`` = ``"<registry_id>#<repository>"``, range key ``digest``, TTL attribute
``expires_at`` (epoch seconds). Items whose ``pk`` starts with ``config#`` are not image records (configuration the
module may store); every reader here skips them.

Every write is conditional, so a late, repeated or concurrent event is harmless:

- :func:`put_record` (findings stage) replaces an image's record only if it is still the revision that was read
  (``revision``, optimistic concurrency). It may carry a *pending* marker (a claim: "this notification is being
  published", valid until ``pending_until``) that :func:`confirm_notified` clears once SNS has accepted it.
- :func:`record_scan_started` (images stage) marks an image IN_PROGRESS unless a result newer than the scan's
  start is already recorded.
- :func:`record_scan_state` (images stage) records what DescribeImageScanFindings said about an image the ledger
  did not know, unless a newer result is already recorded.

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
:func:`record_exported`, carried unchanged by every other write).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from botocore.exceptions import ClientError

IN_PROGRESS = "IN_PROGRESS"
CONFIG_PREFIX = "config#"
#: Partition of the sweep markers: one item per repository (range key ``<registry_id>#<repository>``) whose
#: ``complete_at`` is the start of the last part of the last sweep that went through the whole repository.
SWEEP_MARKERS = "config#sweep"
#: The marker's attributes for the scan budget (sweep/budget.py), each a JSON string: ``census`` (the images stage's
#: counts of the repository after a sweep through it) and ``spend`` (what it spent of its allowance, under the plan's
#: id); ``allowance`` is the older place of the allowance (read, no longer written: the plan is :data:`PLAN_PARTITION`).
#: ``budget`` is the range key of the registry's budget state (its counters: sweep/budget.py Counters).
CENSUS, SPEND, ALLOWANCE = "census", "spend", "allowance"
BUDGET_STATE = "budget"
#: The budget state item's attribute the exposure report reads: the registry's staleness as the repositories stage
#: planned it (JSON, sweep/budget.staleness_document).
STALENESS = "staleness"
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
_ENTRY_ATTRIBUTES = ("digest", "scan_status", "scan_started_at", "scan_completed_at")


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


@dataclass(frozen=True, slots=True)
class ScanEntry:
    """The few fields the images stage needs from each record of a repository (see :func:`query_scan_entries`)."""

    digest: str
    scan_status: str
    scan_started_at: datetime | None
    scan_completed_at: datetime | None


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


# --- reads -------------------------------------------------------------------------------------------------------


def get_record(client: Any, table: str, registry_id: str, repository: str, digest: str) -> LedgerRecord | None:
    """The image's record (strongly consistent read), or None."""
    item = client.get_item(TableName=table, Key=item_key(registry_id, repository, digest), ConsistentRead=True).get(
        "Item"
    )
    return None if item is None else from_item(item)


def query_repository(client: Any, table: str, registry_id: str, repository: str) -> Iterator[LedgerRecord]:
    """Every record of one repository: a paginated Query of its partition."""
    for item in _query(client, table, registry_id, repository):
        yield from_item(item)


def query_scan_entries(client: Any, table: str, registry_id: str, repository: str) -> Iterator[ScanEntry]:
    """The scan state of every image of one repository the ledger knows: the same paginated Query, fetching only
    the attributes the images stage reads."""
    for item in _query(client, table, registry_id, repository, _ENTRY_ATTRIBUTES):
        yield _entry(item)


def scan_records(
    client: Any,
    table: str,
    on_unreadable: Callable[[Mapping[str, Any], Exception], None] | None = None,
    on_config: Callable[[Mapping[str, Any]], None] | None = None,
) -> Iterator[LedgerRecord]:
    """Every image record of the table (a paginated Scan, every page; ``config#`` items skipped, or handed to
    ``on_config``). An item that is not a record of this schema (an attribute of another type, e.g. written by hand
    or by an older version) raises, or, with ``on_unreadable``, is handed to it and skipped: one bad item does not
    cost the whole report."""
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page.get("Items", []):
            if str((item.get("pk") or {}).get("S", "")).startswith(CONFIG_PREFIX):
                if on_config is not None:
                    on_config(item)
                continue
            try:
                record = from_item(item)
            except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
                if on_unreadable is None:
                    raise
                on_unreadable(item, exc)
                continue
            yield record


def _entry(item: Mapping[str, Any]) -> ScanEntry:
    return ScanEntry(
        digest=item["digest"]["S"],
        scan_status=_s(item, "scan_status") or IN_PROGRESS,
        scan_started_at=_time(item, "scan_started_at"),
        scan_completed_at=_time(item, "scan_completed_at"),
    )


def _query(
    client: Any, table: str, registry_id: str, repository: str, projection: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator("query").paginate(**_query_request(table, registry_id, repository, projection)):
        yield from page.get("Items", [])


def _query_request(table: str, registry_id: str, repository: str, projection: tuple[str, ...]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": partition_key(registry_id, repository)}},
    }
    if projection:
        names = {f"#p{i}": name for i, name in enumerate(projection)}
        kwargs["ProjectionExpression"] = ", ".join(names)
        kwargs["ExpressionAttributeNames"] = names
    return kwargs


class RepositoryLedger:
    """One repository's records as one part of a sweep sees them: read with one paginated Query (on first use,
    once the registry id is known), then looked up in memory; and the sweep's writes. Counts its calls.

    ``complete_at`` comes from the repository's sweep marker (one more Query): every image that existed then is
    recorded (a complete sweep recorded what it learned and started), and every scan since was recorded by the
    findings stage, so an image pushed after it that has no record was never scanned: no lookup needed.

    ``read_only`` (a plan that changes nothing): the records are read, nothing is written."""

    def __init__(
        self,
        client: Any,
        table: str,
        repository: str,
        registry_id: str | None,
        now: datetime,
        ttl: int,
        read_only: bool = False,
    ):
        self.client, self.table, self.repository = client, table, repository
        self.registry_id = registry_id
        self.now, self.ttl = now, ttl
        self.read_only = read_only
        self._entries: dict[str, ScanEntry] | None = None
        self.complete_at: datetime | None = None
        self.allowance: str | None = None  # the marker's budget allowance (JSON), written by the repositories stage
        self.spend: str | None = None  # the marker's spend (JSON): what the repository spent of its allowance
        self.queries = 0  # Query pages read
        self.writes = 0

    def entry(self, digest: str, registry_id: str | None = None) -> ScanEntry | None:
        """The recorded scan state of ``digest``, or None when the ledger does not know the image."""
        if self._entries is None:
            self.registry_id = self.registry_id or registry_id
            if not self.registry_id:
                return None
            self._entries = {}
            pages = self.client.get_paginator("query")
            kwargs = _query_request(self.table, self.registry_id, self.repository, _ENTRY_ATTRIBUTES)
            for page in pages.paginate(**kwargs):
                self.queries += 1
                for item in page.get("Items", []):
                    found = _entry(item)
                    self._entries[found.digest] = found
            self.queries += 1
            marker = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND #d = :d",
                ExpressionAttributeNames={"#d": "digest"},
                ExpressionAttributeValues={":pk": {"S": SWEEP_MARKERS}, ":d": {"S": self._marker_key}},
            ).get("Items", [])
            self.complete_at = _time(marker[0], "complete_at") if marker else None
            self.allowance = _s(marker[0], ALLOWANCE) if marker else None
            self.spend = _s(marker[0], SPEND) if marker else None
        return self._entries.get(digest)

    def load(self, registry_id: str | None = None) -> None:
        """Read the repository's records and marker now (the first :meth:`entry` does it otherwise)."""
        self.entry("", registry_id)

    def record_census(self, census: str | None, spend: str) -> bool:
        """Store the sweep's census (``census``: the JSON of budget.Tally and counts, on a sweep through the whole
        repository; None keeps the last one) and its spend (JSON: day, scans started, refusals) in the marker."""
        if not self.registry_id or self.read_only:
            return False
        update = _Update()
        update.set(SPEND, {"S": spend})
        if census is not None:
            update.set(CENSUS, {"S": census})
        self.writes += 1
        self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": SWEEP_MARKERS}, "digest": {"S": self._marker_key}},
            **update.request(),
        )
        return True

    @property
    def _marker_key(self) -> str:
        return partition_key(self.registry_id or "", self.repository)

    def mark_complete(self) -> bool:
        """The sweep went through the whole repository (this part started at ``now``): move the marker."""
        if not self.registry_id or self._entries is None or self.read_only:
            return False  # nothing was read (no image, or an unknown registry), or a plan
        self.writes += 1
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": SWEEP_MARKERS}, "digest": {"S": self._marker_key}},
                UpdateExpression="SET complete_at = :t",
                ConditionExpression="attribute_not_exists(complete_at) OR complete_at < :t",
                ExpressionAttributeValues={":t": _N(self.now)},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def __len__(self) -> int:
        return len(self._entries or {})

    def record_started(self, digest: str, tags: tuple[str, ...], registry_id: str | None = None) -> bool:
        owner = self.registry_id or registry_id
        if not owner or self.read_only:
            return False
        self.writes += 1
        return record_scan_started(self.client, self.table, owner, self.repository, digest, tags, self.now, self.ttl)

    def record_state(
        self, digest: str, tags: tuple[str, ...], status: str, completed_at: datetime | None, registry_id: str | None
    ) -> bool:
        owner = self.registry_id or registry_id
        if not owner or self.read_only:
            return False
        self.writes += 1
        return record_scan_state(
            self.client, self.table, owner, self.repository, digest, tags, status, completed_at, self.now, self.ttl
        )


@dataclass(frozen=True, slots=True)
class SweepMarker:
    """One ``config#sweep`` item as the repositories stage reads it (JSON strings left to sweep/budget.py)."""

    key: str  # "<registry_id>#<repository>", or BUDGET_STATE
    complete_at: datetime | None
    census: str | None
    spend: str | None
    allowance: str | None
    state: str | None  # the budget state item's JSON


def sweep_markers(client: Any, table: str) -> Iterator[SweepMarker]:
    """Every item of the ``config#sweep`` partition (a paginated Query)."""
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": SWEEP_MARKERS}},
    }
    for page in client.get_paginator("query").paginate(**request):
        for item in page.get("Items", []):
            yield SweepMarker(
                item["digest"]["S"],
                _time(item, "complete_at"),
                _s(item, CENSUS),
                _s(item, SPEND),
                _s(item, ALLOWANCE),
                _s(item, "state"),
            )


def write_sweep_marker(client: Any, table: str, key: str, **attributes: str) -> None:
    """Set string attributes of one ``config#sweep`` item (the repositories stage: an allowance, the budget state)."""
    update = _Update()
    for name, value in attributes.items():
        update.set(name, {"S": value})
    client.update_item(TableName=table, Key={"pk": {"S": SWEEP_MARKERS}, "digest": {"S": key}}, **update.request())


# --- the scan budget's plan and state (sweep/budget.py, sweep/allowances.py) ------------------------------------

#: Partition of the scan budget's plan: its allowances in chunk items (range key :func:`plan_chunk_key`), each with
#: ``plan`` (the id of the plan that wrote it) and ``allowances`` (JSON: marker key -> allowance). A few items, not
#: one per repository; a chunk whose ``plan`` is not the state's is of an earlier plan (its repositories are gone).
PLAN_PARTITION = "config#plan"


def plan_chunk_key(chunk: int) -> str:
    return f"chunk#{chunk:04d}"


def write_plan_chunks(client: Any, table: str, plan: str, chunks: Mapping[int, str] | Iterable[tuple[int, str]]) -> int:
    """Store a plan's allowances ((chunk number, JSON) pairs); returns the writes made (one per chunk)."""
    writes = 0
    for chunk, text in chunks.items() if isinstance(chunks, Mapping) else chunks:
        update = _Update()
        update.set("plan", {"S": plan})
        update.set("allowances", {"S": text})
        key = {"pk": {"S": PLAN_PARTITION}, "digest": {"S": plan_chunk_key(chunk)}}
        client.update_item(TableName=table, Key=key, **update.request())
        writes += 1
    return writes


def plan_chunks(client: Any, table: str) -> Iterator[tuple[str | None, str | None]]:
    """Every stored chunk of the plan partition as (plan, allowances JSON) (a paginated Query)."""
    request = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": PLAN_PARTITION}},
        "ConsistentRead": True,
    }
    for page in client.get_paginator("query").paginate(**request):
        for item in page.get("Items", []):
            yield _s(item, "plan"), _s(item, "allowances")


def _attributes(item: Mapping[str, Any] | None) -> dict[str, str | float] | None:
    """An item's string and number attributes, keys left out (None: no item)."""
    if item is None:
        return None
    out: dict[str, str | float] = {}
    for name, value in item.items():
        if name in ("pk", "digest"):
            continue
        if "S" in value:
            out[name] = value["S"]
        elif "N" in value:
            out[name] = float(value["N"])
    return out


def budget_state(client: Any, table: str) -> dict[str, str | float] | None:
    """The budget state item's attributes (``state``, ``staleness``, the counters), read consistently."""
    key = {"pk": {"S": SWEEP_MARKERS}, "digest": {"S": BUDGET_STATE}}
    return _attributes(client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item"))


def budget_view(
    client: Any, table: str, chunk: int, attempts: int = 5
) -> tuple[dict[str, str | float] | None, str | None, str | None]:
    """What a part of a budgeted sweep reads of the plan, in one BatchGetItem: the budget state item's attributes
    and the chunk ``chunk``'s plan id and allowances (None each when missing)."""
    state_key = {"pk": {"S": SWEEP_MARKERS}, "digest": {"S": BUDGET_STATE}}
    chunk_key = {"pk": {"S": PLAN_PARTITION}, "digest": {"S": plan_chunk_key(chunk)}}
    wanted: dict[str, Any] = {table: {"Keys": [state_key, chunk_key], "ConsistentRead": True}}
    found: dict[str, Mapping[str, Any]] = {}
    for _ in range(attempts):
        response = client.batch_get_item(RequestItems=wanted)
        for item in response.get("Responses", {}).get(table, []):
            found[item["pk"]["S"]] = item
        wanted = response.get("UnprocessedKeys") or {}
        if not wanted:
            break
    else:
        raise RuntimeError(f"BatchGetItem left keys unprocessed {attempts} times: {wanted}")
    chunk_item = found.get(PLAN_PARTITION)
    plan = _s(chunk_item, "plan") if chunk_item else None
    allowances = _s(chunk_item, "allowances") if chunk_item else None
    return _attributes(found.get(SWEEP_MARKERS)), plan, allowances


def write_budget_state(
    client: Any,
    table: str,
    strings: Mapping[str, str],
    numbers: Mapping[str, float] | None = None,
    add: Mapping[str, float] | None = None,
    remove: Iterable[str] = (),
) -> None:
    """Update the budget state item: set ``strings`` and ``numbers``, add to the counters ``add``, remove
    ``remove`` (one UpdateItem)."""
    update = _Update()
    for name, text in strings.items():
        update.set(name, {"S": text})
    for name, number in (numbers or {}).items():
        update.set(name, {"N": _number(number)})
    for name, number in (add or {}).items():
        update.add(name, {"N": _number(number)})
    for name in remove:
        update.remove(name)
    key = {"pk": {"S": SWEEP_MARKERS}, "digest": {"S": BUDGET_STATE}}
    client.update_item(TableName=table, Key=key, **update.request())


def set_budget_once(client: Any, table: str, name: str, text: str) -> bool:
    """Set the state item's string ``name`` unless it is set already; False when it was (read it back: the first
    writer's value holds)."""
    key = {"pk": {"S": SWEEP_MARKERS}, "digest": {"S": BUDGET_STATE}}
    try:
        client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #n = :v",
            ConditionExpression="attribute_not_exists(#n)",
            ExpressionAttributeNames={"#n": name},
            ExpressionAttributeValues={":v": {"S": text}},
        )
        return True
    except ClientError as exc:
        if not _condition_failed(exc):
            raise
    return False


def _number(value: float) -> str:
    return format(Decimal(str(round(value, 3))).normalize(), "f")


# --- writes ------------------------------------------------------------------------------------------------------


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


class _Update:
    """An UpdateItem expression under construction; every attribute name goes through a placeholder (DynamoDB
    reserves hundreds of words, ``source`` among them)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.clauses: dict[str, list[str]] = {"SET": [], "ADD": [], "REMOVE": []}

    def name(self, attribute: str) -> str:
        placeholder = f"#n{len(self.names)}"
        for known, name in self.names.items():
            if name == attribute:
                return known
        self.names[placeholder] = attribute
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def set(self, attribute: str, value: Any) -> None:
        self.clauses["SET"].append(f"{self.name(attribute)} = {self.value(value)}")

    def add(self, attribute: str, value: Any) -> None:
        self.clauses["ADD"].append(f"{self.name(attribute)} {self.value(value)}")

    def remove(self, attribute: str) -> None:
        self.clauses["REMOVE"].append(self.name(attribute))

    def request(self) -> dict[str, Any]:
        expression = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in self.clauses.items() if parts)
        request: dict[str, Any] = {"UpdateExpression": expression, "ExpressionAttributeNames": self.names}
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


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


def _condition_failed(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) == "ConditionalCheckFailedException"
