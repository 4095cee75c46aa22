"""House rules about imports. Pure modules never import AWS modules: the decision and rendering modules are
imported in a fresh interpreter with boto3 and botocore made unimportable (so whatever they import, transitively,
must not need the SDK either). A library module never imports a handler (no arrow back up) and the package has no
import cycles: both read from the sources' import statements."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
PURE = [
    "ecr_scan_reporter.alerts.suppressions",
    "ecr_scan_reporter.alerts.events",
    "ecr_scan_reporter.sweep.freshness",
    "ecr_scan_reporter.alerts.news",
    "ecr_scan_reporter.core.finding_types",
    "ecr_scan_reporter.alerts.notify",  # the renderer: its finding types come from finding_types, not the reader
    "ecr_scan_reporter.report.exposure",
]


@pytest.mark.parametrize("module", PURE)
def test_pure_module_needs_no_aws_sdk(module: str) -> None:
    code = f"import sys\nsys.modules['boto3'] = None\nsys.modules['botocore'] = None\nimport {module}\n"
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env={"PYTHONPATH": str(LAMBDA)}
    )
    assert run.returncode == 0, run.stderr


# --- import direction: data flows one way, no arrow back up, no cycles -------------------------------------------

PACKAGE = LAMBDA / "ecr_scan_reporter"


def _module_name(path: Path) -> str:
    parts = path.relative_to(LAMBDA).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
#: Library modules: everything but the entry points (the handlers, the CLI).
LIBRARY = sorted(
    m for m in MODULES if not m.startswith("ecr_scan_reporter.handlers") and m.split(".")[-1] not in ("cli", "__main__")
)


def _imports(module: str) -> set[str]:
    """The package's modules ``module`` imports, anywhere in it (function bodies too), except under
    ``if TYPE_CHECKING:`` (types only, never executed)."""
    tree = ast.parse(MODULES[module].read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # `from package import module`
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in MODULES and name != module}


def test_the_import_scan_sees_the_modules() -> None:
    assert "ecr_scan_reporter.alerts.stage" in LIBRARY
    assert "ecr_scan_reporter.handlers" in _imports("ecr_scan_reporter.handlers.findings")
    assert "ecr_scan_reporter.alerts.stage" in _imports("ecr_scan_reporter.handlers.findings")
    assert "ecr_scan_reporter.core.ledger" not in _imports("ecr_scan_reporter.alerts.news")  # under TYPE_CHECKING only


@pytest.mark.parametrize("module", LIBRARY)
def test_library_module_never_imports_a_handler(module: str) -> None:
    assert not {m for m in _imports(module) if m.startswith("ecr_scan_reporter.handlers")}


def test_no_import_cycles() -> None:
    graph = {module: _imports(module) for module in MODULES}
    done: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        if module in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(module) :], module]))
        if module in done:
            return
        for imported in sorted(graph[module]):
            walk(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])
