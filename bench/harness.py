"""One benchmark scenario: seed a registry in moto (and the ledger in :mod:`bench.dynamodb`), run the real handlers
over it, measure, judge.

The repositories handler runs once (scheduled event) with ``QUEUE_URL`` on moto's SQS; then the harness plays the
SQS event source mapping: it receives up to ``batch_size`` messages, invokes the images handler with them in the
SQS event shape and a :class:`~bench.instrument.FakeContext`, deletes the records that succeeded, makes the
reported failures visible again (dead-lettering after ``max_receive_count`` deliveries), and repeats until the
queue is empty -- continuations the handler re-enqueues included. The harness's own SQS/ECR clients are not
counted (see :mod:`bench.instrument`).
"""

from __future__ import annotations

import math
import os
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from bench import dynamodb, instrument, ledger_seed, moto_ecr, truth

QUEUE_NAME = "ecr-scan-reporter-work"
MAX_INVOCATIONS = 5_000  # a sweep that never finishes (no progress across continuations) stops the scenario here
MODES = ("native", "enriched")  # native: moto as-is (scan status per image); enriched: DescribeImages carries it
# With the scan ledger (native ECR): ledger-empty starts from an empty table and then sweeps a second time (the
# "next sweep"); ledger-warm starts from the ledger the findings stage and an earlier complete sweep leave behind.
LEDGER_MODES = ("ledger-empty", "ledger-warm")
LEDGER_TABLE = "ecr-scan-reporter-ledger"


@dataclass(frozen=True)
class Config:
    """The simulated deployment: the module's defaults (images timeout 300 s, batch size 5, reserve 20 s)."""

    latency_ms: float = 50.0  # simulated duration of every AWS API attempt
    timeout_s: int = 300  # images_timeout_seconds default
    repositories_timeout_s: int = 300
    batch_size: int = 5  # images_batch_size default
    reserve_s: int = 20  # TIME_BUDGET_RESERVE_SECONDS default
    expiry_days: int = 7  # SCAN_EXPIRY_DAYS default
    max_receive_count: int = 5
    trace_invocations: int = 2  # tracemalloc the first N invocations (+ the first reaching part 4, 8, 16, ...)

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ
        return cls(
            latency_ms=float(env.get("BENCH_LATENCY_MS", cls.latency_ms)),
            timeout_s=int(env.get("BENCH_TIMEOUT_S", cls.timeout_s)),
            batch_size=int(env.get("BENCH_BATCH_SIZE", cls.batch_size)),
            reserve_s=int(env.get("BENCH_RESERVE_S", cls.reserve_s)),
            trace_invocations=int(env.get("BENCH_TRACE_INVOCATIONS", cls.trace_invocations)),
        )


def prepare_environment(config: Config) -> None:
    """Fake credentials and the handlers' settings; no real endpoint or profile is ever used."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            del os.environ[key]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=moto_ecr.REGION,
        AWS_CONFIG_FILE="/nonexistent/bench-aws-config",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/bench-aws-credentials",
        MOTO_ACCOUNT_ID=moto_ecr.ACCOUNT,
        QUEUE_URL=f"https://sqs.{moto_ecr.REGION}.amazonaws.com/{moto_ecr.ACCOUNT}/{QUEUE_NAME}",
        SCAN_EXPIRY_DAYS=str(config.expiry_days),
        TIME_BUDGET_RESERVE_SECONDS=str(config.reserve_s),
        LOG_LEVEL="WARNING",  # the library logs one line per image at INFO; keep the benchmark's output readable
    )


def _scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "bench-schedule",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": moto_ecr.ACCOUNT,
        "time": "2024-01-01T00:00:00Z",
        "region": moto_ecr.REGION,
        "resources": [f"arn:aws:events:{moto_ecr.REGION}:{moto_ecr.ACCOUNT}:rule/ecr-scan-reporter-schedule"],
        "detail": {},
    }


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": moto_ecr.REGION,
    }


def run(size_key: str, mode: str, config: Config) -> dict[str, Any]:
    """Seed, sweep, measure and judge one (size, mode) scenario in this process; returns a JSON-able dict."""
    import boto3
    from moto import mock_aws

    from ecr_scan_reporter.core import aws
    from ecr_scan_reporter.handlers import images, load_settings, repositories

    prepare_environment(config)
    size = truth.SIZES[size_key]
    started = time.perf_counter()
    registry = truth.build(size, expiry_days=config.expiry_days)
    clock = instrument.SimClock()
    recorder = instrument.Recorder(clock=clock, latency_ms=config.latency_ms)
    instrument.install(recorder)
    store = dynamodb.Store()  # the ledger's DynamoDB: in memory, counted like every other call (bench.dynamodb)
    dynamodb.install(store, on_answer=recorder.on_response)

    with mock_aws(), moto_ecr.patched(enrich=mode == "enriched"), instrument.simulated_retry_sleep(recorder):
        ecr_h = boto3.client("ecr", region_name=moto_ecr.REGION)
        sqs_h = boto3.client("sqs", region_name=moto_ecr.REGION)
        queue_url = sqs_h.create_queue(QueueName=QUEUE_NAME, Attributes={"VisibilityTimeout": "1800"})["QueueUrl"]
        queue_arn = sqs_h.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        os.environ["QUEUE_URL"] = queue_url
        load_settings.cache_clear()
        aws.reset_clients()
        seed_s = moto_ecr.seed(registry, lambda name: ecr_h.create_repository(repositoryName=name))
        ledger_seeded = 0
        if mode in LEDGER_MODES:
            os.environ["LEDGER_TABLE_NAME"] = LEDGER_TABLE
            load_settings.cache_clear()
            ledger_seeded = ledger_seed.create(store, registry, warm=mode == "ledger-warm")
        setup_s = time.perf_counter() - started

        # --- repositories stage -----------------------------------------------------------------------------
        recorder.active = True
        ctx = instrument.FakeContext(clock, config.repositories_timeout_s, "ecr-scan-reporter-repositories")
        t0 = time.perf_counter()
        repo_result = repositories.handler(_scheduled_event(), ctx)
        repositories_stage = {
            "result": repo_result,
            "calls": instrument.by_operation(recorder.calls),
            "wall_s": round(time.perf_counter() - t0, 3),
            "sim_s": round(ctx.used_ms / 1000, 3),
        }
        recorder.reset_counts()

        # --- images stage -----------------------------------------------------------------------------------
        invocations, per_repo_messages, dead_lettered = _drain(
            images.handler, sqs_h, queue_url, queue_arn, config, clock, recorder
        )
        recorder.active = False
        images_calls = instrument.by_operation(recorder.calls)
        images_attempts = instrument.by_operation(recorder.attempts)
        errors = instrument.by_operation(recorder.errors)
        scans = list(recorder.scans)
        retry_sleep_s = recorder.retry_sleep_ms / 1000
        backend_scanned = moto_ecr.scanned_since(registry)
        left_in_queue = int(
            sqs_h.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]["ApproximateNumberOfMessages"]
        )
        next_sweep = None
        if mode == "ledger-empty":
            next_sweep = _next_sweep(images, repositories, sqs_h, queue_url, queue_arn, config, clock, recorder)

    return _judge(
        registry,
        mode,
        config,
        setup_s=setup_s,
        seed_s=seed_s,
        repositories_stage=repositories_stage,
        invocations=invocations,
        per_repo_messages=per_repo_messages,
        dead_lettered=dead_lettered,
        calls=images_calls,
        attempts=images_attempts,
        errors=errors,
        scans=scans,
        retry_sleep_s=retry_sleep_s,
        backend_scanned=backend_scanned,
        left_in_queue=left_in_queue,
        ledger_seeded=ledger_seeded,
        next_sweep=next_sweep,
    )


def _next_sweep(
    images: Any,
    repositories: Any,
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    config: Config,
    clock: instrument.SimClock,
    recorder: instrument.Recorder,
) -> dict[str, Any]:
    """Sweep again right after the first sweep (the ledger now warm): its calls and scans, both stages."""
    recorder.reset_counts()
    recorder.active = True
    ctx = instrument.FakeContext(clock, config.repositories_timeout_s, "ecr-scan-reporter-repositories")
    repositories.handler(_scheduled_event(), ctx)
    invocations, _, dead = _drain(images.handler, sqs, queue_url, queue_arn, config, clock, recorder)
    recorder.active = False
    calls = instrument.by_operation(recorder.calls)
    return {
        "calls": calls,
        "groups": instrument.group(calls),
        "invocations": len(invocations),
        "overran": sum(inv["overran"] for inv in invocations),
        "dead_lettered": dead,
    }


def _drain(
    handler: Any,
    sqs: Any,
    queue_url: str,
    queue_arn: str,
    config: Config,
    clock: instrument.SimClock,
    recorder: instrument.Recorder,
) -> tuple[list[dict[str, Any]], Counter[str], int]:
    """Play the event source mapping until the queue is empty."""
    import json

    invocations: list[dict[str, Any]] = []
    per_repo: Counter[str] = Counter()
    dead_lettered = 0
    traced_parts: set[int] = set()
    try:
        while len(invocations) < MAX_INVOCATIONS:
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=config.batch_size,
                VisibilityTimeout=1800,
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not messages:
                break
            records = [_sqs_record(m, queue_arn) for m in messages]
            repos = []
            for m in messages:
                try:
                    body = json.loads(m["Body"])
                    repos.append((body.get("repository"), (body.get("continuation") or {}).get("part", 1)))
                except (ValueError, AttributeError):
                    repos.append((None, None))
            ctx = instrument.FakeContext(clock, config.timeout_s)
            calls_before = sum(recorder.calls.values())
            deepest = max((p for _, p in repos if isinstance(p, int)), default=1)
            trace = len(invocations) < config.trace_invocations or (
                deepest >= 4 and deepest & (deepest - 1) == 0 and deepest not in traced_parts
            )
            if trace:
                traced_parts.add(deepest)
                tracemalloc.start()
                base = tracemalloc.get_traced_memory()[0]
            t0 = time.perf_counter()
            error = None
            try:
                response = handler({"Records": records}, ctx)
            except Exception as exc:  # the whole batch fails, as in Lambda
                response, error = None, f"{type(exc).__name__}: {exc}"
            wall = time.perf_counter() - t0
            peak = None
            if trace:
                peak = tracemalloc.get_traced_memory()[1] - base
                tracemalloc.stop()
            failed_ids = (
                {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
                if error is None
                else {m["MessageId"] for m in messages}
            )
            for m in messages:
                receive_count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                if m["MessageId"] not in failed_ids:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
                elif receive_count >= config.max_receive_count:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
                    dead_lettered += 1
                else:
                    sqs.change_message_visibility(
                        QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                    )
            for repo, _ in repos:
                per_repo[str(repo)] += 1
            invocations.append(
                {
                    "records": len(records),
                    "parts": [p for _, p in repos],
                    "calls": sum(recorder.calls.values()) - calls_before,
                    "sim_s": round(ctx.used_ms / 1000, 3),
                    "min_remaining_s": round(ctx.min_remaining_ms / 1000, 3),
                    "overran": ctx.overran,
                    "wall_s": round(wall, 3),
                    "peak_kib": None if peak is None else round(peak / 1024, 1),
                    "failed_records": len(failed_ids),
                    "error": error,
                }
            )
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
    return invocations, per_repo, dead_lettered


def _judge(registry: truth.Registry, mode: str, config: Config, **m: Any) -> dict[str, Any]:
    needed = registry.needed()
    today = registry.scanned_today()
    digest_by_tag = {
        (repo, tag): img.digest for repo, imgs in registry.repos.items() for img in imgs for tag in img.tags
    }
    per_image: Counter[tuple[str, str]] = Counter()
    started: set[tuple[str, str]] = set()
    wasted = {"limit_exceeded": 0, "not_needed": 0, "duplicate": 0, "other_error": 0}
    for scan in m["scans"]:
        image_id = scan.image_id
        digest = image_id.get("imageDigest") or digest_by_tag.get((scan.repository, image_id.get("imageTag")), "?")
        key = (scan.repository, digest)
        per_image[key] += 1
        if scan.error == "LimitExceededException":
            wasted["limit_exceeded"] += 1
        elif key not in needed:
            wasted["not_needed"] += 1
        elif key in started:
            wasted["duplicate"] += 1
        elif scan.error:
            wasted["other_error"] += 1
        else:
            started.add(key)
    missed = needed - started

    calls: dict[str, int] = m["calls"]
    groups = instrument.group(calls)
    repo_groups = instrument.group(m["repositories_stage"]["calls"])
    images_n = registry.total_images
    invocations = m["invocations"]
    continuations = sum(1 for inv in invocations for part in inv["parts"] if part and part > 1)
    floor = (
        math.ceil(len(registry.repos) / 1000)  # DescribeRepositories pages (repositories stage)
        + sum(max(1, math.ceil(len(imgs) / 1000)) for imgs in registry.repos.values())  # DescribeImages pages
        + 2 * len(invocations)  # registry-level settings per images invocation (scanning type, basic scan version)
        + continuations  # a continuation re-reads the page it resumes in
    )
    per_image_reads = 1 if mode == "native" else 0
    target_per_image = 1.01 if mode == "native" else 0.01
    repo_calls: dict[str, int] = m["repositories_stage"]["calls"]
    reads = groups.get("read", 0) + instrument.group(repo_calls).get("read", 0)
    read_bound = max(target_per_image * images_n, per_image_reads * images_n + floor)
    total_calls = sum(calls.values()) + sum(repo_calls.values())
    attempts: dict[str, int] = m["attempts"]
    warm_peaks = [inv["peak_kib"] for inv in invocations[1:] if inv["peak_kib"] is not None]
    untraced = [inv for inv in invocations if inv["peak_kib"] is None]
    untraced_calls = sum(inv["calls"] for inv in untraced)

    return {
        "size": registry.size.name,
        "mode": mode,
        "repositories": len(registry.repos),
        "images": images_n,
        "images_per_repository": registry.size.images,
        "mix": registry.counts(),
        "needed": len(needed),
        "scanned_today": len(today),
        "config": asdict(config),
        "setup_s": round(m["setup_s"], 2),
        "seed_images_s": round(m["seed_s"], 2),
        "repositories_stage": m["repositories_stage"],
        "images_stage": {
            "invocations": len(invocations),
            "records": sum(inv["records"] for inv in invocations),
            "continuations": continuations,
            "max_invocations_per_repository": max(m["per_repo_messages"].values(), default=0),
            "calls": calls,
            "attempts": attempts,
            "retries": sum(attempts.values()) - sum(calls.values()),
            "errors": m["errors"],
            "retry_sleep_s": round(m["retry_sleep_s"], 3),
            "wall_s": round(sum(inv["wall_s"] for inv in invocations), 3),
            "sim_s": round(sum(inv["sim_s"] for inv in invocations), 3),
            "max_sim_s": max((inv["sim_s"] for inv in invocations), default=0),
            "min_remaining_s": min((inv["min_remaining_s"] for inv in invocations), default=None),
            "overran": sum(inv["overran"] for inv in invocations),
            "failed_records": sum(inv["failed_records"] for inv in invocations),
            "errors_raised": [inv["error"] for inv in invocations if inv["error"]],
            "dead_lettered": m["dead_lettered"],
            "left_in_queue": m["left_in_queue"],
            "aborted": len(invocations) >= MAX_INVOCATIONS,
            "traced_invocations": sum(inv["peak_kib"] is not None for inv in invocations),
            "peak_kib_cold": invocations[0]["peak_kib"] if invocations else None,
            "peak_kib_warm_max": max(warm_peaks, default=None),
            "wall_ms_per_call_untraced": round(1000 * sum(i["wall_s"] for i in untraced) / untraced_calls, 3)
            if untraced_calls
            else None,
            "invocation_log": invocations if len(invocations) <= 12 else invocations[:6] + invocations[-6:],
        },
        "reads": reads,
        "reads_per_image": round(reads / images_n, 5),
        "read_bound": round(read_bound, 2),
        "read_floor": floor,
        "scan_calls": calls.get("ecr.StartImageScan", 0),
        "scans_started_ok": len(started),
        "wasted": wasted,
        "wasted_total": sum(wasted.values()),
        "missed": len(missed),
        "backend_scanned_matches_needed": m["backend_scanned"] == needed,
        "total_calls": total_calls,
        "calls_per_image": round(total_calls / images_n, 5),
        "ledger": {
            "seeded_records": m["ledger_seeded"],
            "reads": groups.get("ledger_read", 0),
            "writes": groups.get("ledger_write", 0),
            "ecr_reads": groups.get("read", 0) - groups.get("ledger_read", 0) + repo_groups.get("read", 0),
            "lookups": calls.get("ecr.DescribeImageScanFindings", 0),
            "next_sweep": m["next_sweep"],
        },
    }
