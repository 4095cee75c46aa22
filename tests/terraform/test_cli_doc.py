"""docs/cli.md's commands read ``terraform output -raw NAME`` of the user's root: a root has no output of its own
unless it re-exports the module's, so every NAME used is shown re-exported from ``module.ecr_scan_reporter``."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_terraform_output_the_cli_doc_reads_is_shown_re_exported() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    used = set(re.findall(r"terraform output -raw ([a-z_]+)", text))
    assert used, "docs/cli.md reads no terraform output: drop this test"
    module_outputs = set(re.findall(r'^output "([a-z_]+)"', (ROOT / "outputs.tf").read_text(), re.MULTILINE))
    for name in sorted(used):
        assert name in module_outputs, f"{name} is not an output of the module"
        block = f'output "{name}" {{\n  value = module.ecr_scan_reporter.{name}\n}}'
        assert block in text, f"docs/cli.md reads terraform output {name} without showing the root re-export it"
