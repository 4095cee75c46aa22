"""Small side measurements: why seeding bypasses PutImage, and what a refused scan costs the library."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from bench import harness, instrument, moto_ecr, truth


def put_image_seeding(n: int = 200, existing: int = 20_000) -> dict[str, Any]:
    """ms per PutImage through the API, into an empty repository and into one already holding ``existing``
    images (seeded directly): moto compares the new manifest with every stored one, so seeding a repository
    through PutImage is quadratic in its size."""
    import boto3
    from moto import mock_aws

    config = harness.Config()
    harness.prepare_environment(config)
    full = truth.build(truth.Size("putimage", 1, existing), expiry_days=config.expiry_days)
    timings = []
    with mock_aws():
        ecr = boto3.client("ecr", region_name=moto_ecr.REGION)
        ecr.create_repository(repositoryName="probe/empty")
        moto_ecr.seed(full, lambda name: ecr.create_repository(repositoryName=name))
        for repository in ("probe/empty", next(iter(full.repos))):
            started = time.perf_counter()
            for i in range(n):
                manifest = {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": "c"},
                    "layers": [{"mediaType": "x", "size": 1, "digest": f"sha256:{i:064d}"}],
                }
                ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=f"put-{i}")
            timings.append(1000 * (time.perf_counter() - started) / n)
        started = time.perf_counter()
        direct = truth.build(truth.Size("direct", 1, existing), expiry_days=config.expiry_days)
        moto_ecr.seed(direct, lambda name: ecr.create_repository(repositoryName=name))
        direct_ms = 1000 * (time.perf_counter() - started) / existing
    return {
        "images": n,
        "existing_images": existing,
        "ms_per_image_empty_repo": round(timings[0], 3),
        "ms_per_image_full_repo": round(timings[1], 3),
        "ms_per_image_direct": round(direct_ms, 4),
    }


def limit_exceeded_cost() -> dict[str, Any]:
    """One StartImageScan through the library on an image scanned today: attempts, back-off, wall time.

    botocore counts LimitExceededException as throttling (retry with back-off, adaptive rate limiting); the
    library must treat ECR's once-per-24-hours scan quota as final."""
    import boto3
    from moto import mock_aws

    from ecr_scan_reporter.core import aws
    from ecr_scan_reporter.sweep import scanning

    config = harness.Config()
    harness.prepare_environment(config)
    clock = instrument.SimClock()
    recorder = instrument.Recorder(clock=clock, latency_ms=config.latency_ms)
    instrument.install(recorder)
    now = datetime.now()
    registry = truth.Registry(size=truth.Size("probe", 1, 1), now=now, expiry_days=config.expiry_days)
    digest = "sha256:" + "a" * 64
    registry.repos["probe/limit"] = [truth.SeededImage(digest, ("v1",), now, now, "today")]
    with mock_aws(), moto_ecr.patched(enrich=False), instrument.simulated_retry_sleep(recorder):
        ecr = boto3.client("ecr", region_name=moto_ecr.REGION)
        moto_ecr.seed(registry, lambda name: ecr.create_repository(repositoryName=name))
        aws.reset_clients()
        recorder.active = True
        started = time.perf_counter()
        outcome = scanning.start_scan(aws.client("ecr"), "probe/limit", digest)
        wall = time.perf_counter() - started
        recorder.active = False
    return {
        "outcome": str(outcome),
        "calls": sum(recorder.calls.values()),
        "attempts": sum(recorder.attempts.values()),
        "backoff_s": round(recorder.retry_sleep_ms / 1000, 3),
        "wall_s": round(wall, 3),
    }
