"""What the documented commands leave in the checkout is ignored by git: ``pip install ./lambda`` (docs/cli.md)
builds into ``lambda/build/``; the Makefile's work goes to ``.build/``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path",
    [
        "lambda/build/lib/ecr_scan_reporter/__init__.py",
        "lambda/build/bdist.linux-x86_64/x",
        ".build/local/x/root/main.tf",
    ],
)
def test_build_output_is_ignored(path: str) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "--no-index", path], check=False)
    assert proc.returncode == 0, f"{path} is not ignored by .gitignore"
