"""The create toggle covers every resource: tests/create.tftest.hcl asserts that each resource block of the module
plans zero instances with ``create = false``; this test keeps that list complete as resources are added."""

from __future__ import annotations

from pathlib import Path

import readme_tables  # tests/terraform/readme_tables.py: the module's resource blocks

ROOT = Path(__file__).resolve().parents[2]


def test_create_false_run_counts_every_resource_block() -> None:
    test = (ROOT / "tests" / "create.tftest.hcl").read_text()
    blocks = [f"{r.type}.{r.name}" for r in readme_tables.resources(ROOT) if r.mode == "resource"]
    assert blocks, "no resource blocks found"
    missing = [block for block in blocks if f"length({block})" not in test]
    assert not missing, f"tests/create.tftest.hcl must assert length(...) == 0 for {missing} (gate them on var.create)"
