"""``make demo`` as a user runs it, and the excerpt of its output that docs/testing.md shows: the same steps and
blocks in the same order, each documented stretch of lines as printed (numbers, digests and paths aside; see
tests/terraform/demo_output.py). Last in the suite (pytest runs the e2e files in name order): the demo starts its
own emulators and deployment, apart from the session's, and runs after the session's deployment is destroyed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.targets import TARGET_VARIABLE

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "terraform"))

import demo_output  # noqa: E402  (tests/terraform/demo_output.py)

pytestmark = pytest.mark.e2e
DEMO_TIMEOUT = 900  # seconds; a run takes two to three minutes


@pytest.mark.skipif(
    os.environ.get(TARGET_VARIABLE, "emulators") != "emulators",
    reason="the demo runs on the embedded emulators only",
)
def test_demo_prints_what_the_docs_show(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, str(REPO / "demo" / "run.py"), "--workdir", str(workdir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    (tmp_path / "demo-output.txt").write_text(run.stdout)
    assert run.returncode == 0, f"make demo failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    found = demo_output.problems(demo_output.documented(), run.stdout)
    assert found == [], (
        f"{demo_output.DOCUMENT}'s demo output no longer matches what the demo prints (full output: "
        f"{tmp_path / 'demo-output.txt'}):\n" + "\n".join(found)
    )
