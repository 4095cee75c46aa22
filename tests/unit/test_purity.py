"""House rule: pure modules never import AWS modules. The decision and rendering modules are checked by importing
them in a fresh interpreter with boto3 and botocore made unimportable (so whatever they import, transitively,
must not need the SDK either)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
PURE = [
    "ecr_scan_reporter.suppressions",
    "ecr_scan_reporter.events",
    "ecr_scan_reporter.policy",
    "ecr_scan_reporter.news",
    "ecr_scan_reporter.finding_types",
    "ecr_scan_reporter.notify",  # the renderer: its finding types come from finding_types, not the reader
    "ecr_scan_reporter.report",
]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_needs_no_aws_sdk(module: str) -> None:
    code = f"import sys\nsys.modules['boto3'] = None\nsys.modules['botocore'] = None\nimport {module}\n"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env={"PYTHONPATH": str(LAMBDA)}
    )
    assert run.returncode == 0, run.stderr
