"""Artifacts ECR cannot scan (cosign signatures and attestations, Helm charts, image indexes, other OCI artifacts) in
the images stage (issue 26): recognised from DescribeImages before any scan is asked, ECR's refusal recorded in the
scan ledger so that digest is never asked again, counted as not scannable, and never in the budget's census."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION
from core.test_ledger import create_table
from ecr_fakes import NOW, FakeEcr, FakeImage, digest

from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.sweep import allowances, budget, scanning
from ecr_scan_reporter.sweep.stage import BudgetRun, SweepOptions, SweepSummary, plan_repository, sweep_repository

TABLE = "esr-ledger"
DAY = timedelta(days=1)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"  # what cosign's tag-based signatures carry as config
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


@pytest.fixture
def ddb(moto: None) -> Iterator[Any]:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client, TABLE)
    return client


def images(count: int, start: int = 100) -> list[FakeImage]:
    """Real container images, pulled an hour before the first sweep (in use), never scanned."""
    return [
        FakeImage(
            digest(start + i),
            (f"v{i}",),
            pulled_at=NOW - timedelta(hours=1),
            manifest_media_type=DOCKER_MANIFEST,
            artifact_media_type=DOCKER_CONFIG,
        )
        for i in range(count)
    ]


def signatures(signed: list[FakeImage], tagged: bool = True) -> list[FakeImage]:
    """One cosign signature per image, as cosign's tag scheme stores them (an OCI image manifest whose config is an
    OCI image config, tagged ``sha256-<digest of the signed image>.sig``), pulled at every verification. Untagged:
    an earlier signature cosign's re-signing moved the tag off (nothing in DescribeImages tells it apart)."""
    return [
        FakeImage(
            digest(i),
            (image.digest.replace(":", "-") + ".sig",) if tagged else (),
            pulled_at=NOW - timedelta(hours=1),
            manifest_media_type=OCI_MANIFEST,
            artifact_media_type=OCI_CONFIG,
        )
        for i, image in enumerate(signed)
    ]


def refusing(listed: list[FakeImage], refused: list[FakeImage]) -> FakeEcr:
    """ECR listing ``listed`` that answers UnsupportedImageTypeException for ``refused``."""
    return FakeEcr(listed, start_errors={i.digest: "UnsupportedImageTypeException" for i in refused})


def budgeted_sweep(ddb: Any, ecr: FakeEcr, now: datetime, configured: int) -> SweepSummary:
    """One day's sweep of the repository ``app`` through both stages' libraries: the repositories stage plans the
    day from the sweep markers (sweep/allowances.py), the images stage spends the allowance (as handlers/images.py)
    and stores its census. The scans it started complete before the next day."""
    allowances.plan_day(ddb, TABLE, [(ACCOUNT, "app")], configured=configured, expiry_days=7, now=now)
    records = ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, now, ledger.expires_at(now, 7))
    records.load()
    key = ledger.partition_key(ACCOUNT, "app")
    _, _, chunk = ledger.budget_view(ddb, TABLE, budget.chunk_of(key))  # the plan's chunk holding app's allowance
    allowance = budget.unchunked(chunk or "")[key]
    run = BudgetRun(budget.Spender(allowance), allowance.day)
    summary = sweep_repository(
        ecr, "app", now=now, registry_id=ACCOUNT, ledger=records, quota=scanning.ScanQuota(), run=run
    )
    for image in ecr.images:
        if image.scan_status == "IN_PROGRESS":
            image.scan_status, image.scan_completed_at = "COMPLETE", now + timedelta(minutes=10)
    return summary


def test_signatures_refused_by_ecr_never_eat_the_budget_of_real_images(ddb: Any) -> None:
    """Issue 26: budget 4, six signatures and six images in one repository: every image scanned within two sweeps
    (before: none in four, the signatures, in use and never scanned, took the whole allowance every day)."""
    real = images(6)
    signed = signatures(real)
    ecr = refusing([*signed, *real], signed)
    summaries = [budgeted_sweep(ddb, ecr, NOW + day * DAY, configured=4) for day in range(4)]
    assert ecr.started[:6] == [i.digest for i in real]  # 4 the first day, 2 the next (later: levelling rescans)
    assert ecr.calls["start_image_scan"] == len(ecr.started)  # no signature asked: recognised by its cosign tag
    assert [s.not_scannable for s in summaries] == [6, 6, 6, 6]
    reasons = {r.digest: (r.scan_status, r.failure_reason) for r in ledger.query_repository(ddb, TABLE, ACCOUNT, "app")}
    assert all(reasons[i.digest] == ("NOT_SCANNABLE", "cosign signature") for i in signed)


def test_an_artifact_ecr_refuses_is_recorded_and_never_asked_again(ddb: Any) -> None:
    """Untagged signatures look like images in DescribeImages: ECR's UnsupportedImageTypeException is recorded in
    the ledger (conditional write), so each is asked once, and the real images get the budget from then on."""
    real = images(6)
    signed = signatures(real, tagged=False)
    ecr = refusing([*signed, *real], signed)
    for day in range(4):
        budgeted_sweep(ddb, ecr, NOW + day * DAY, configured=4)
    asked = [d for d in ecr.started if d in {i.digest for i in signed}]
    assert ecr.calls["start_image_scan"] - len(ecr.started) == 6  # every signature refused once, never again
    assert asked == []
    assert sorted(ecr.started) == sorted(i.digest for i in real)
    recorded = {e.digest: e.scan_status for e in ledger.query_scan_entries(ddb, TABLE, ACCOUNT, "app")}
    assert {d: recorded[d] for d in (i.digest for i in signed)} == dict.fromkeys(
        (i.digest for i in signed), "NOT_SCANNABLE"
    )


def test_charts_and_indexes_are_recognised_and_the_images_an_index_lists_are_scanned() -> None:
    platforms = images(2)
    index = FakeImage(digest(1), ("v1",), manifest_media_type="application/vnd.oci.image.index.v1+json")
    chart = FakeImage(
        digest(2),
        ("1.2.3",),
        manifest_media_type=OCI_MANIFEST,
        artifact_media_type="application/vnd.cncf.helm.config.v1+json",
    )
    ecr = refusing([index, chart, *platforms], [index, chart])
    summary = sweep_repository(ecr, "app", now=NOW)
    assert ecr.started == [i.digest for i in platforms]
    assert ecr.calls["start_image_scan"] == 2
    assert ecr.calls["describe_image_scan_findings"] == 2  # the artifacts are not even looked up
    assert (summary.considered, summary.not_scannable, summary.scan_started) == (4, 2, 2)


def test_artifacts_are_never_in_the_budgets_census(ddb: Any) -> None:
    """Neither those recognised nor those ECR refused: the census (and the staleness, the headroom) counts images."""
    real = images(3)
    tagged, untagged = signatures(real[:1]), signatures(real[1:], tagged=False)
    for i, image in enumerate(untagged):
        image.digest = digest(50 + i)
    ecr = refusing([*tagged, *untagged, *real], [*tagged, *untagged])
    summary = budgeted_sweep(ddb, ecr, NOW, configured=10)
    assert (summary.not_scannable, summary.scan_started) == (3, 3)
    [marker] = [m for m in ledger.sweep_markers(ddb, TABLE) if m.key == f"{ACCOUNT}#app"]
    census = budget.Census.from_json(marker.census or "")
    assert census.images == 3
    assert sum(census.tally.due.values()) == 3  # the three real images, scanned: due again in a week
    assert census.pushed_1d == 3  # pushed a day ago, like the artifacts, which are not counted


def test_a_plan_counts_artifacts_and_records_nothing(ddb: Any) -> None:
    real = images(2)
    [known] = signatures(real[:1], tagged=False)  # refused by an earlier sweep: the ledger records it
    ledger.record_not_scannable(ddb, TABLE, ACCOUNT, "app", known.digest, (), "refused", NOW - DAY, 2_000_000_000)
    chart = FakeImage(digest(9), ("1.0.0",), artifact_media_type="application/vnd.cncf.helm.config.v1+json")
    ecr = FakeEcr([known, chart, *real])
    records = ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, NOW, 2_000_000_000, read_only=True)
    summary = SweepSummary("app", ACCOUNT)
    found = list(plan_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=records, summary=summary))
    assert [c.digest for c in found] == [i.digest for i in real]
    assert (summary.considered, summary.not_scannable, records.writes) == (4, 2, 0)
    assert ledger.get_record(ddb, TABLE, ACCOUNT, "app", chart.digest) is None


def test_an_artifact_the_ledger_records_is_not_asked_even_when_describe_images_cannot_tell(ddb: Any) -> None:
    [signature] = signatures(images(1), tagged=False)
    ledger.record_not_scannable(ddb, TABLE, ACCOUNT, "app", signature.digest, (), "refused", NOW - DAY, 2_000_000_000)
    ecr = refusing([signature], [signature])
    records = ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, NOW, ledger.expires_at(NOW, 7))
    summary = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, ledger=records)
    assert summary.not_scannable == 1
    assert (ecr.calls["start_image_scan"], ecr.calls["describe_image_scan_findings"]) == (0, 0)
    assert records.writes == 1  # the sweep marker only: the record has most of its life left


def test_the_k_newest_images_are_images_not_their_signatures(ddb: Any) -> None:
    """max_images_per_repository keeps the K newest images: a signature pushed after each image is not one of them."""
    real = images(3)
    signed = signatures(real)
    for i, (image, signature) in enumerate(zip(real, signed, strict=True)):
        image.pushed_at = NOW - timedelta(hours=10 - 2 * i)
        signature.pushed_at = image.pushed_at + timedelta(minutes=1)  # signed right after the push
    ecr = refusing([*real, *signed], signed)
    records = ledger.RepositoryLedger(ddb, TABLE, "app", ACCOUNT, NOW, ledger.expires_at(NOW, 7))
    options = SweepOptions(max_images=2)
    summary = sweep_repository(ecr, "app", now=NOW, registry_id=ACCOUNT, options=options, ledger=records)
    assert ecr.started == [real[2].digest, real[1].digest]  # newest first
    assert (summary.considered, summary.not_scannable, summary.skipped_filter, summary.scan_started) == (6, 3, 1, 2)
    recorded = {e.digest: e.scan_status for e in ledger.query_scan_entries(ddb, TABLE, ACCOUNT, "app")}
    assert all(recorded[s.digest] == "NOT_SCANNABLE" for s in signed)
