"""The documentation's tables match the module and are up to date: inputs and outputs in README.md, requirements,
providers and resources in docs/resources.md (readme_tables.HOMES), each in its document and in no other.

Fix a failure with ``make docs`` (python tests/terraform/readme_tables.py --write).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import readme_tables  # tests/terraform/readme_tables.py: pytest puts this test's directory on sys.path

ROOT = Path(__file__).resolve().parents[2]

DOCUMENTS = sorted(set(readme_tables.HOMES.values()))
TABLES = [(home, which) for which, home in readme_tables.HOMES.items()]


def _variables() -> list[str]:
    return [block.name for block in readme_tables.parse(ROOT / "variables.tf", "variable")]


def _outputs() -> list[str]:
    return [block.name for block in readme_tables.parse(ROOT / "outputs.tf", "output")]


def _resources() -> list[str]:
    return [f"{resource.type}.{resource.name}" for resource in readme_tables.resources(ROOT)]


def _document(name: str) -> str:
    return (ROOT / name).read_text()


def test_parser_sees_every_block() -> None:
    """The simple parser must find as many blocks as a plain count of `variable "` / `output "` lines."""
    for file, kind, names in (("variables.tf", "variable", _variables()), ("outputs.tf", "output", _outputs())):
        text = (ROOT / file).read_text()
        declared = [line for line in text.splitlines() if line.startswith(f'{kind} "')]
        assert len(names) == len(declared) > 0, f"{file}: parsed {names}, declared {declared}"
    variables = {block.name: block for block in readme_tables.parse(ROOT / "variables.tf", "variable")}
    assert all(block.description for block in variables.values()), "every variable needs a description"
    assert all(block.type for block in variables.values()), "every variable needs a type"
    assert all(block.description for block in readme_tables.parse(ROOT / "outputs.tf", "output")), (
        "every output needs a description"
    )


def test_parser_sees_every_resource_and_requirement() -> None:
    declared = [
        line
        for path in sorted(ROOT.glob("*.tf"))
        for line in path.read_text().splitlines()
        if line.startswith(('resource "', 'data "'))
    ]
    assert len(readme_tables.resources(ROOT)) == len(declared) > 0
    version, providers = readme_tables.requirements(ROOT)
    assert version is not None
    assert version.startswith(">=")
    assert providers == {"aws": ("hashicorp/aws", providers["aws"][1])}
    assert providers["aws"][1]


NAMES = {"inputs": _variables, "outputs": _outputs, "resources": _resources}


def test_inputs_and_outputs_live_in_the_readme() -> None:
    assert readme_tables.HOMES["inputs"] == readme_tables.HOMES["outputs"] == "README.md"


@pytest.mark.parametrize("which", sorted(readme_tables.MARKERS))
def test_each_table_lives_in_exactly_its_home(which: str) -> None:
    """A table copied into a second document would go stale there: make docs and this suite only see its home."""
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    holding = [p.relative_to(ROOT).as_posix() for p in documents if readme_tables.section(p.read_text(), which)]
    assert holding == [readme_tables.HOMES[which]], f"{which} table found in {holding}"


@pytest.mark.parametrize(("document", "which"), [t for t in TABLES if t[1] in NAMES])
def test_table_lists_exactly_the_module_names(document: str, which: str) -> None:
    names = NAMES[which]
    markdown = _document(document)
    begin, end = readme_tables.MARKERS[which]
    table = readme_tables.section(markdown, which)
    assert table is not None, f"{document}: no {begin} ... {end}"
    listed = readme_tables.table_names(table)
    assert sorted(listed) == sorted(names()), f"{document}: {which} table is stale, run: make docs"
    assert len(listed) == len(set(listed)), f"{document}: {which} table lists a name twice"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_tables_are_rendered_from_the_current_sources(document: str) -> None:
    """Descriptions, types and defaults too, not only the names: the committed tables are what make docs writes."""
    markdown = _document(document)
    only = readme_tables.home_tables(document)
    assert only
    assert readme_tables.rewrite(markdown, readme_tables.tables(), only) == markdown, (
        f"{document}: tables out of date, run: make docs"
    )
