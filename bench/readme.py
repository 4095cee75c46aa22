"""docs/benchmarks.md's tables of benchmark results, rendered from bench/results.json (stdlib only).

python -m bench.readme [bench/results.json]   # prints the markdown tables: without the ledger, then with it, then
                                              # the scan budget's month (bench/month_results.json, when present)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODES = ("native", "ledger-empty", "ledger-warm")
PLAIN_MODES = ("native", "enriched")
_SIZE_ORDER = ("10x100", "100x1000", "1x20000", "1x100000")


def _ordered(document: dict[str, Any], modes: tuple[str, ...]) -> list[dict[str, Any]]:
    chosen = [s for s in document["scenarios"] if s["mode"] in modes]
    return sorted(chosen, key=lambda s: (modes.index(s["mode"]), _SIZE_ORDER.index(s["size"])))


def _registry(s: dict[str, Any]) -> str:
    repos, images = s["size"].split("x")
    return f"{int(repos):,} × {int(images):,}"


def _peak_mib(s: dict[str, Any]) -> float:
    img = s["images_stage"]
    return (img["peak_kib_warm_max"] or img["peak_kib_cold"] or 0) / 1024


def results_table(document: dict[str, Any]) -> str:
    """The sweep without the ledger: native and enriched ECR."""
    rows = [
        "| mode | registry | images | need a scan | reads / image | StartImageScan (wasted) | calls / image "
        "| images invocations | invocations of the largest repository | peak memory / invocation |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in _ordered(document, PLAIN_MODES):
        img = s["images_stage"]
        rows.append(
            f"| {s['mode']} | {_registry(s)} | {s['images']:,} | {s['needed']:,} | {s['reads_per_image']:.4f} "
            f"| {s['scan_calls']:,} ({s['wasted_total']}) | {s['calls_per_image']:.3f} | {img['invocations']} "
            f"| {img['max_invocations_per_repository']} | {_peak_mib(s):.1f} MiB |"
        )
    return "\n".join(rows)


def ledger_table(document: dict[str, Any]) -> str:
    rows = [
        "| mode | registry | images | need a scan | reads / image (ECR + DynamoDB) | DescribeImageScanFindings "
        "| StartImageScan (wasted, missed) | ledger writes | next sweep: reads / image, scans "
        "| invocations of the largest repository | max simulated s / invocation | peak memory / invocation |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in _ordered(document, MODES):
        img, led = s["images_stage"], s.get("ledger") or {}
        nxt = led.get("next_sweep")
        if nxt:
            reads = nxt["groups"].get("read", 0)
            next_text = f"{reads / s['images']:.4f}, {nxt['groups'].get('scan', 0)}"
        else:
            next_text = "-"
        rows.append(
            f"| {s['mode']} | {_registry(s)} | {s['images']:,} | {s['needed']:,} "
            f"| {s['reads_per_image']:.4f} ({s['reads']:,}) "
            f"| {s['images_stage']['calls'].get('ecr.DescribeImageScanFindings', 0):,} "
            f"| {s['scan_calls']:,} ({s['wasted_total']}, {s['missed']}) | {led.get('writes', 0):,} | {next_text} "
            f"| {img['max_invocations_per_repository']} | {img['max_sim_s']:.0f} | {_peak_mib(s):.1f} MiB |"
        )
    return "\n".join(rows)


def month_table(document: dict[str, Any]) -> str:
    """The scan budget's month (bench/month.py): today's sweep and the budget side by side."""
    rows = [
        "| sweep | registry | most quota used a day | oldest in-use scan, day 8 on | days with an in-use image "
        "past expiry + 1 day, day 8 on | sweep's scans a day after day 10: mean (max deviation) "
        "| p95 scan age, all images: median day (worst) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for run in document["runs"].values():
        s, shape = run["summary"], run["shape"]
        rows.append(
            f"| {run['scheduler']} | {shape['images']:,} images, {shape['repositories']:,} repositories "
            f"| {s['max_quota_used']:,} of {s['quota']:,} | {s['in_use_max_age_from_day_8']:.2f} days "
            f"| {s['in_use_stale_days_from_day_8']} | {s['after_bulk_mean']:,} "
            f"({100 * s['after_bulk_max_deviation']:.0f} %) | {s['p95_age_median']:.2f} days ({s['p95_age_max']:.2f}) |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else ROOT / "bench" / "results.json"
    document = json.loads(path.read_text())
    print(results_table(document))
    print()
    print(ledger_table(document))
    month = ROOT / "bench" / "month_results.json"
    if month.exists():
        print()
        print(month_table(json.loads(month.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
