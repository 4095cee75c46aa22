"""House rule: pure modules never import AWS modules. The decision modules of the alerts work are checked by
importing them in a fresh interpreter with boto3 and botocore made unimportable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
PURE = ["ecr_scan_reporter.suppressions", "ecr_scan_reporter.events", "ecr_scan_reporter.policy"]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_needs_no_aws_sdk(module: str) -> None:
    code = f"import sys\nsys.modules['boto3'] = None\nsys.modules['botocore'] = None\nimport {module}\n"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env={"PYTHONPATH": str(LAMBDA)}
    )
    assert run.returncode == 0, run.stderr
