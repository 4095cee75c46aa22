"""The scan ledger for a benchmark scenario: the table as ``ledger.tf`` declares it, in the benchmark's in-memory
DynamoDB (:mod:`bench.dynamodb`), empty or warm.

Warm = what the pipeline leaves behind: an earlier sweep went through every repository 31 days ago (its sweep
marker), and every scan since was recorded from its event by the findings stage (one COMPLETE record per scanned
image, at its scan time). Images never scanned have no record; the registry's ground truth pushes them within the
last 30 days, i.e. after that sweep, as it must be (that sweep would have started them otherwise). Records are
written into the store directly (they are not the sweep's calls); they are built with the library's own item
layout (``ledger.to_attributes``), so the library reads exactly what it writes.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from bench import dynamodb, moto_ecr
from bench.truth import Registry

TABLE = "ecr-scan-reporter-ledger"
EARLIER_SWEEP = timedelta(days=31)


def create(store: dynamodb.Store, registry: Registry, warm: bool) -> int:
    """Create the table (and fill it when ``warm``); returns the number of records written."""
    from ecr_scan_reporter.core import ledger

    table = store.create_table(TABLE, hash_key="pk", range_key="digest")
    if not warm:
        return 0
    now = registry.now.astimezone(UTC)
    ttl = ledger.expires_at(now, registry.expiry_days)
    written = 0
    for name, images in registry.repos.items():
        table.put(
            {
                "pk": {"S": ledger.SWEEP_MARKERS},
                "digest": {"S": ledger.partition_key(moto_ecr.ACCOUNT, name)},
                "complete_at": {"N": str((now - EARLIER_SWEEP).timestamp())},
            }
        )
        for image in images:
            if image.last_scan is None:
                continue
            completed = image.last_scan.astimezone(UTC)
            record = ledger.LedgerRecord(
                registry_id=moto_ecr.ACCOUNT,
                repository=name,
                digest=image.digest,
                image_tags=image.tags,
                source="ecr",
                scan_status="COMPLETE",
                scan_completed_at=completed,
                severity_counts={"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0},
                revision=1,
                expires_at=ttl,
            )
            attributes = {k: v for k, v in ledger.to_attributes(record).items() if v is not None}
            table.put({**ledger.item_key(moto_ecr.ACCOUNT, name, image.digest), **attributes})
            written += 1
    return written
