"""``make bench`` (second part): the exposure report over ledgers of 1,000 to 100,000 images.

The target: at 100,000 images the report function finishes inside one invocation of its configuration
(lambda.tf: 300 s timeout, 512 MB). Each size is measured twice, in a fresh process each time:

- **pure**: ``report.build`` over the records + every renderer (text, JSON, HTML, the SNS message): CPU time, and
  the ``tracemalloc`` peak in a second pass (tracing slows Python down, so time and memory are separate passes);
- **handler**: ``handlers.report.handler`` end to end. DynamoDB's Scan is answered with canned pages in
  DynamoDB's own wire format (at most 1 MB of items each, as DynamoDB pages), so botocore parses every byte as it
  would from AWS and ``ledger.from_item`` reads every item; SNS and S3 are moto (in-process). Time on Lambda:
  the invocation's CPU seconds (process time, so a busy machine does not inflate it) scaled to the vCPU share a
  512 MB function gets (1,769 MB = 1 vCPU), plus every call priced at ``BENCH_LATENCY_MS`` (50 ms) for the time
  AWS would add. Memory: the ``tracemalloc``
  peak of the invocation, added to the process's RSS before the ledger existed (Python, boto3, moto, the
  library: more than a Lambda process imports), against the function's 512 MB.

The ledger is synthetic but shaped like a registry: 100 images per repository, 1-3 tags, 70 % fresh results,
15 % older than the expiry, 10 % never scanned (a scan in progress), 5 % failed; 0-40 findings per image drawn
from 3,000 CVE ids with a skewed (Zipf-like) popularity; in breach when a CRITICAL or HIGH finding is present.

Environment: ``BENCH_SIZES`` (``small`` runs 1,000 and 10,000 images; anything else all three sizes),
``BENCH_LATENCY_MS`` (50), ``BENCH_OUTPUT_REPORT`` (default ``bench/report_results.json`` for a full run,
``bench/report_results.quick.json`` otherwise). Exit status 1 when a target fails.
"""

from __future__ import annotations

import concurrent.futures
import gc
import itertools
import json
import multiprocessing
import os
import random
import resource
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda"))

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
TIMEOUT_S = 300  # lambda.tf: the report function's timeout
MEMORY_MB = 512  # lambda.tf: the report function's memory
FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below: 512 MB is 0.29 vCPU
ACCOUNT, REGION = "000000000000", "eu-west-1"
TABLE, BUCKET, TOPIC = "bench-ledger", "bench-reports", "bench-notifications"
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
SEVERITY_WEIGHTS = (("CRITICAL", 0.05), ("HIGH", 0.2), ("MEDIUM", 0.45), ("LOW", 0.3))


def records(count: int, seed: int = 11) -> list[Any]:
    """``count`` synthetic ledger records (see the module docstring)."""
    from ecr_scan_reporter.core.ledger import LedgerRecord

    rng = random.Random(seed)
    pool = [f"CVE-20{20 + i % 7}-{10000 + i}" for i in range(3000)]
    severity = {cve: rng.choices([s for s, _ in SEVERITY_WEIGHTS], [w for _, w in SEVERITY_WEIGHTS])[0] for cve in pool}
    cumulative = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(pool))))
    out = []
    for i in range(count):
        repository = f"team-{i // 10_000:02d}/service-{(i // 100) % 100:03d}"
        roll = rng.random()
        if roll < 0.10:
            status, completed = "IN_PROGRESS", None
        elif roll < 0.15:
            status, completed = "FAILED", NOW - timedelta(days=rng.randint(0, 6))
        elif roll < 0.30:
            status, completed = "COMPLETE", NOW - timedelta(days=rng.randint(8, 365))
        else:
            status, completed = "COMPLETE", NOW - timedelta(days=rng.randint(0, 6), hours=rng.randint(0, 23))
        found = (
            {}
            if completed is None or status == "FAILED"
            else dict.fromkeys(rng.choices(pool, cum_weights=cumulative, k=rng.randint(0, 40)))
        )
        findings = {cve: severity[cve] for cve in found}
        counts: dict[str, int] = {}
        for level in findings.values():
            counts[level] = counts.get(level, 0) + 1
        breached = tuple(s for s in ("CRITICAL", "HIGH") if counts.get(s))
        out.append(
            LedgerRecord(
                registry_id=ACCOUNT,
                repository=repository,
                digest=f"sha256:{rng.getrandbits(256):064x}",
                image_tags=tuple(f"v{i}.{t}" for t in range(rng.choice((1, 1, 1, 2, 3)))),
                source="ecr" if completed else "sweep",
                scan_status=status,
                scan_started_at=NOW - timedelta(hours=1) if completed is None else None,
                scan_completed_at=completed,
                severity_counts=counts,
                findings=findings,
                breached=breached,
                expires_at=int((NOW + timedelta(days=30)).timestamp()),
            )
        )
    return out


def _build_and_render(recs: list[Any]) -> dict[str, Any]:
    from ecr_scan_reporter.core import sns_message
    from ecr_scan_reporter.core.config import DEFAULT_THRESHOLDS
    from ecr_scan_reporter.report import exposure

    built = exposure.build(iter(recs), NOW, scan_expiry_days=7, thresholds=DEFAULT_THRESHOLDS, region=REGION)
    text, document, page = exposure.render_text(built, None), exposure.render_json(built), exposure.render_html(built)
    message = exposure.notification(built)
    return {
        "repositories": len(built.repositories),
        "images_in_breach": built.images_in_breach,
        "findings_distinct": built.findings_total,
        "text_kib": len(text.encode()) / 1024,
        "json_kib": len(document.encode()) / 1024,
        "html_kib": len(page.encode()) / 1024,
        "sns_kib": sns_message.message_bytes(message) / 1024,
    }


def pure(count: int) -> dict[str, Any]:
    """report.build + renderers over ``count`` in-memory records: CPU seconds, then the traced peak."""
    recs = records(count)
    gc.collect()
    started = time.process_time()
    shape = _build_and_render(recs)
    cpu_s = time.process_time() - started
    gc.collect()
    tracemalloc.start()
    _build_and_render(recs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"images": count, "cpu_s": round(cpu_s, 3), "peak_mib": round(peak / 2**20, 1), **shape}


class _Body:
    """The raw body of a canned HTTP response (botocore reads ``raw.stream()``)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def scan_pages(recs: list[Any]) -> list[bytes]:
    """DynamoDB Scan response bodies for ``recs``, as DynamoDB pages them (at most 1 MB of items per page)."""
    from ecr_scan_reporter.core import ledger

    pages, items, size = [], [], 0

    def flush(last: bool) -> None:
        body: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        if not last:
            body["LastEvaluatedKey"] = {"pk": items[-1]["pk"], "digest": items[-1]["digest"]}
        pages.append(json.dumps(body).encode())

    for record in recs:
        item = {**record.key, **{k: v for k, v in ledger.to_attributes(record).items() if v is not None}}
        item_size = len(json.dumps(item))
        if items and size + item_size > 1_000_000:
            flush(last=False)
            items, size = [], 0
        items.append(item)
        size += item_size
    flush(last=True)
    return pages


def handler(count: int, latency_ms: float) -> dict[str, Any]:
    """handlers.report.handler end to end: DynamoDB Scan answered with DynamoDB's own wire format (canned pages,
    so botocore parses every byte as it would), SNS and S3 by moto (in-process)."""
    import contextlib
    import io

    import boto3
    from botocore.awsrequest import AWSResponse
    from moto import mock_aws

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        MOTO_ACCOUNT_ID=ACCOUNT,
        LEDGER_TABLE_NAME=TABLE,
        SNS_TOPIC_ARN=f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}",
        REPORT_BUCKET_NAME=BUCKET,
        AWS_LAMBDA_LOG_FORMAT="JSON",
        LOG_LEVEL="WARNING",
    )
    from ecr_scan_reporter.core import aws
    from ecr_scan_reporter.handlers import report as report_handler

    gc.collect()
    baseline_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Python, boto3, moto, the library
    started = time.perf_counter()
    pages = scan_pages(records(count))
    next_page = {
        json.loads(p).get("LastEvaluatedKey", {}).get("digest", {}).get("S"): i + 1 for i, p in enumerate(pages)
    }
    seed_s = time.perf_counter() - started
    calls: dict[str, int] = {}

    def count_call(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    def answer_scan(request: Any, **_: Any) -> AWSResponse:
        start = (json.loads(request.body or b"{}").get("ExclusiveStartKey") or {}).get("digest", {}).get("S")
        body = pages[next_page[start] if start else 0]
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
        return AWSResponse(request.url, 200, headers, _Body(body))

    class Context:
        function_name = "bench-report"

    with mock_aws(), contextlib.redirect_stdout(io.StringIO()):  # the handler's metric lines
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        boto3.client("sns", region_name=REGION).create_topic(Name=TOPIC)
        ecr = boto3.client("ecr", region_name=REGION)
        for name in sorted({r.repository for r in records(count)}):  # the report leaves out deleted repositories
            ecr.create_repository(repositoryName=name)
        for service in ("dynamodb", "sns", "s3", "ecr"):
            aws.client(service, region=REGION if service == "sns" else None).meta.events.register(
                "before-parameter-build", count_call
            )
        # Before moto's own stub, so the Scan pages are ours.
        aws.client("dynamodb").meta.events.register_first("before-send.dynamodb.Scan", answer_scan)

        gc.collect()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started, cpu_started = time.perf_counter(), time.process_time()
        response = report_handler.handler({}, Context())
        wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        measured = dict(sorted(calls.items()))

        gc.collect()
        tracemalloc.start()
        report_handler.handler({}, Context())
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    canned_mib = sum(len(p) for p in pages) / 2**20
    return {
        "images": count,
        "prepare_s": round(seed_s, 1),
        "ledger_wire_mib": round(canned_mib, 1),
        "wall_s": round(wall_s, 2),
        "cpu_s": round(cpu_s, 2),
        "scan_pages": measured.get("Scan", 0),
        "calls": measured,
        "aws_latency_s": round(sum(measured.values()) * latency_ms / 1000, 2),
        # CPU time on a 512 MB Lambda (a fraction of a vCPU), plus the AWS latency of every call.
        "lambda_cpu_s": round(cpu_s * FULL_VCPU_MB / MEMORY_MB, 2),
        "estimated_invocation_s": round(
            cpu_s * FULL_VCPU_MB / MEMORY_MB + sum(measured.values()) * latency_ms / 1000, 2
        ),
        "peak_mib": round(peak / 2**20, 1),
        "baseline_rss_mib": round(baseline_rss / 1024, 1),
        "estimated_memory_mib": round(baseline_rss / 1024 + peak / 2**20, 1),
        "max_rss_mib": round(rss_after / 1024, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
        "stored": len(response["stored"]),
        "images_in_breach": response["images_in_breach"],
    }


def _task(kind: str, count: int, latency_ms: float) -> dict[str, Any]:
    return pure(count) if kind == "pure" else handler(count, latency_ms)


def main() -> int:
    quick = os.environ.get("BENCH_SIZES", "all").strip() == "small"
    sizes = QUICK_SIZES if quick else SIZES
    latency_ms = float(os.environ.get("BENCH_LATENCY_MS", "50"))
    output = Path(
        os.environ.get("BENCH_OUTPUT_REPORT")
        or ROOT / "bench" / ("report_results.quick.json" if quick else "report_results.json")
    )
    print(f"==> bench report: ledgers of {', '.join(f'{n:,}' for n in sizes)} images; one process per measurement")
    results: dict[tuple[str, int], dict[str, Any]] = {}
    started = time.perf_counter()
    # One at a time: the handler runs are measured for wall time and memory, and must not compete.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1) as pool:
        for kind in ("pure", "handler"):
            for count in sizes:
                results[(kind, count)] = pool.submit(_task, kind, count, latency_ms).result()
                print(f"    done: {kind} {count:,} ({time.perf_counter() - started:.0f} s)", flush=True)

    largest = max(sizes)
    big = results[("handler", largest)]
    targets = [
        {
            "target": f"report over {largest:,} images within one invocation",
            "value": f"{big['estimated_invocation_s']:.1f} s = {big['cpu_s']:.1f} CPU s x {FULL_VCPU_MB}/{MEMORY_MB} "
            f"(0.29 vCPU) + {big['aws_latency_s']:.1f} s for {sum(big['calls'].values())} calls",
            "bound": f"<= {TIMEOUT_S} s timeout",
            "status": "PASS" if big["estimated_invocation_s"] <= TIMEOUT_S else "FAIL",
        },
        {
            "target": f"report over {largest:,} images within the function's memory",
            "value": f"{big['estimated_memory_mib']:.0f} MiB = {big['baseline_rss_mib']:.0f} MiB process baseline "
            f"(Python, boto3, moto) + {big['peak_mib']:.0f} MiB traced peak of the invocation",
            "bound": f"<= {MEMORY_MB} MB",
            "status": "PASS" if big["estimated_memory_mib"] <= MEMORY_MB else "FAIL",
        },
        {
            "target": "the SNS message fits 256 KB at every size",
            "value": ", ".join(f"{results[('pure', n)]['sns_kib']:.0f} KiB" for n in sizes),
            "bound": "<= 256 KiB",
            "status": "PASS" if all(results[("pure", n)]["sns_kib"] <= 256 for n in sizes) else "FAIL",
        },
    ]
    print()
    print(render(sizes, results, targets))
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {"timeout_s": TIMEOUT_S, "memory_mb": MEMORY_MB, "latency_ms": latency_ms},
        "pure": [results[("pure", n)] for n in sizes],
        "handler": [results[("handler", n)] for n in sizes],
        "targets": targets,
    }
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    failed = [t for t in targets if t["status"] == "FAIL"]
    print(f"targets: {len(targets) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def render(
    sizes: tuple[int, ...], results: dict[tuple[str, int], dict[str, Any]], targets: list[dict[str, Any]]
) -> str:
    rows = [
        "| images | build + render CPU s | peak MiB (pure) | handler CPU s | Scan pages | est. invocation s "
        "| peak MiB (handler) | est. memory MiB | SNS KiB | HTML KiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        p, h = results[("pure", n)], results[("handler", n)]
        rows.append(
            f"| {n:,} | {p['cpu_s']:.2f} | {p['peak_mib']:.1f} | {h['cpu_s']:.1f} | {h['scan_pages']} "
            f"| {h['estimated_invocation_s']:.1f} | {h['peak_mib']:.0f} | {h['estimated_memory_mib']:.0f} "
            f"| {p['sns_kib']:.0f} | {p['html_kib']:.0f} |"
        )
    rows += ["", *(f"{t['status']}  {t['target']}: {t['value']} ({t['bound']})" for t in targets)]
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
