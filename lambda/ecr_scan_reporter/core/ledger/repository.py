"""One repository's records as one part of a sweep sees them (:class:`RepositoryLedger`): read once, looked up in
memory, written through the conditional writes of ``writes.py``, and the repository's sweep marker
(``markers.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ecr_scan_reporter.core.ledger.config_keys import SWEEP_MARKERS
from ecr_scan_reporter.core.ledger.expressions import _condition_failed, _Update
from ecr_scan_reporter.core.ledger.markers import ALLOWANCE, CENSUS, SPEND
from ecr_scan_reporter.core.ledger.queries import _ENTRY_ATTRIBUTES, ScanEntry, _entry, _query_request
from ecr_scan_reporter.core.ledger.record import _N, _s, _time, partition_key
from ecr_scan_reporter.core.ledger.writes import record_not_scannable, record_scan_started, record_scan_state
from ecr_scan_reporter.core.scannable import NOT_SCANNABLE


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

    def record_not_scannable(
        self, digest: str, tags: tuple[str, ...], reason: str | None, registry_id: str | None = None
    ) -> bool:
        """Record an image ECR cannot scan (:func:`record_not_scannable`), unless the ledger already does and its
        record has more than half its time to live left (a still-listed artifact's record is renewed, never lost;
        ``reason`` None keeps the recorded one)."""
        owner = self.registry_id or registry_id
        if not owner or self.read_only:
            return False
        known, now = self.entry(digest, owner), int(self.now.timestamp())
        if (
            known is not None
            and known.scan_status == NOT_SCANNABLE
            and 2 * ((known.expires_at or 0) - now) > self.ttl - now
        ):
            return False
        self.writes += 1
        return record_not_scannable(
            self.client, self.table, owner, self.repository, digest, tags, reason, self.now, self.ttl
        )
