"""The README's table of the scan ledger's results, rendered from bench/results.json (stdlib only).

python -m bench.readme [bench/results.json]   # prints the markdown table
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODES = ("native", "ledger-empty", "ledger-warm")


def ledger_table(document: dict[str, Any]) -> str:
    rows = [
        "| mode | registry | images | need a scan | reads / image (ECR + DynamoDB) | DescribeImageScanFindings "
        "| StartImageScan (wasted, missed) | ledger writes | next sweep: reads / image, scans "
        "| invocations of the largest repository | max simulated s / invocation | peak memory / invocation |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in document["scenarios"]:
        if s["mode"] not in MODES:
            continue
        img, led = s["images_stage"], s.get("ledger") or {}
        nxt = led.get("next_sweep")
        if nxt:
            reads = nxt["groups"].get("read", 0)
            next_text = f"{reads / s['images']:.4f}, {nxt['groups'].get('scan', 0)}"
        else:
            next_text = "-"
        peak = img["peak_kib_warm_max"] or img["peak_kib_cold"] or 0
        rows.append(
            f"| {s['mode']} | {s['size'].replace('x', ' × ')} | {s['images']:,} | {s['needed']:,} "
            f"| {s['reads_per_image']:.4f} ({s['reads']:,}) "
            f"| {s['images_stage']['calls'].get('ecr.DescribeImageScanFindings', 0):,} "
            f"| {s['scan_calls']:,} ({s['wasted_total']}, {s['missed']}) | {led.get('writes', 0):,} | {next_text} "
            f"| {img['max_invocations_per_repository']} | {img['max_sim_s']:.0f} | {peak / 1024:.1f} MiB |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else ROOT / "bench" / "results.json"
    print(ledger_table(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
