"""The compliance gate's commands, as README.md and docs/compliance.md show them: the ``module_dir`` one-liner finds
the module's directory in ``.terraform/modules/modules.json`` by its label, and when no module has that label it
fails saying which label it looked for and which there are (not a ``StopIteration`` traceback)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _one_liners(document: str) -> list[str]:
    return re.findall(r"^module_dir=\$\(.*\)$", (ROOT / document).read_text(), re.MULTILINE)


@pytest.fixture(params=["README.md", "docs/compliance.md"])
def one_liner(request: pytest.FixtureRequest) -> str:
    found = _one_liners(request.param)
    assert len(found) == 1, f"{request.param}: one module_dir line expected, found {found}"
    return found[0]


def _run(one_liner: str, workdir: Path, label: str) -> subprocess.CompletedProcess[str]:
    modules = {"Modules": [{"Key": "", "Source": "", "Dir": "."}, {"Key": label, "Source": "x", "Dir": "mod/dir"}]}
    (workdir / ".terraform" / "modules").mkdir(parents=True)
    (workdir / ".terraform" / "modules" / "modules.json").write_text(json.dumps(modules))
    script = f'{one_liner}\necho "module_dir=$module_dir"\n'
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=workdir, capture_output=True, text=True, check=False
    )


def test_the_modules_directory_is_found_by_its_label(one_liner: str, tmp_path: Path) -> None:
    proc = _run(one_liner, tmp_path, "ecr_scan_reporter")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "module_dir=mod/dir"


def test_another_label_fails_naming_the_label_it_looked_for(one_liner: str, tmp_path: Path) -> None:
    proc = _run(one_liner, tmp_path, "scan_reporter")
    assert proc.returncode != 0
    assert "StopIteration" not in proc.stderr
    assert "ecr_scan_reporter" in proc.stderr
    assert "scan_reporter" in proc.stderr.replace("ecr_scan_reporter", "")
