"""The scan ledger for a benchmark scenario: the table as ``ledger.tf`` declares it, in moto, empty or warm.

Warm = what the pipeline leaves behind: an earlier sweep went through every repository 31 days ago (its sweep
marker), and every scan since was recorded from its event by the findings stage (one COMPLETE record per scanned
image, at its scan time). Images never scanned have no record; the registry's ground truth pushes them within the
last 30 days, i.e. after that sweep, as it must be (that sweep would have started them otherwise). Records are
written into moto's backend directly (the API would cost minutes at 100,000 images); they are built with the
library's own item layout (``ledger.to_attributes``), so the library reads exactly what it writes.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import boto3
from moto.dynamodb.models import dynamodb_backends

from bench import moto_ecr
from bench.truth import Registry

TABLE = "ecr-scan-reporter-ledger"
EARLIER_SWEEP = timedelta(days=31)


def create(registry: Registry, warm: bool) -> int:
    """Create the table (and fill it when ``warm``); returns the number of records written."""
    from ecr_scan_reporter import ledger

    client = boto3.client("dynamodb", region_name=moto_ecr.REGION)
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "digest", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "digest", "AttributeType": "S"},
        ],
    )
    if not warm:
        return 0
    table = dynamodb_backends[moto_ecr.ACCOUNT][moto_ecr.REGION].get_table(TABLE)
    now = registry.now.astimezone(UTC)
    ttl = ledger.expires_at(now, registry.expiry_days)
    written = 0
    for name, images in registry.repos.items():
        table.put_item(
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
            table.put_item({**ledger.item_key(moto_ecr.ACCOUNT, name, image.digest), **attributes})
            written += 1
    return written
