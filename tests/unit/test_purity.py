"""House rules about imports. Pure modules never import AWS modules: the decision and rendering modules are
imported in a fresh interpreter with boto3 and botocore made unimportable (so whatever they import, transitively,
must not need the SDK either). The tree is the pipeline: ``core/`` (everyone may import it) and one folder per stage
(``sweep/``, ``alerts/``, ``report/``); a stage imports core and itself, never another stage; core imports only core;
only the entry points (``handlers/``, ``cli/``) import stages; no import cycles. These read the sources' import
statements."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
PURE = [
    "ecr_scan_reporter.core.finding_types",
    "ecr_scan_reporter.core.selection",
    "ecr_scan_reporter.core.expiry",
    "ecr_scan_reporter.core.sns_message",  # publish() is given its client: no SDK import
    "ecr_scan_reporter.sweep.freshness",
    "ecr_scan_reporter.alerts.suppressions",
    "ecr_scan_reporter.alerts.events",
    "ecr_scan_reporter.alerts.thresholds",
    "ecr_scan_reporter.alerts.news",
    "ecr_scan_reporter.alerts.notify",  # the renderer: its finding types come from finding_types, not the reader
    "ecr_scan_reporter.report.exposure",
    "ecr_scan_reporter.core.regex_subset",
    "ecr_scan_reporter.core.scannable",
    "ecr_scan_reporter.core.coverage",
    "ecr_scan_reporter.core.teams",  # the document; core/teams_store.py loads it and may import botocore
    "ecr_scan_reporter.core.ownership",
    "ecr_scan_reporter.sweep.plan_counts",
    "ecr_scan_reporter.securityhub.asff",
    "ecr_scan_reporter.sweep.budget",
    "ecr_scan_reporter.securityhub.deletion",
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
    m
    for m in MODULES
    if not m.startswith(("ecr_scan_reporter.handlers", "ecr_scan_reporter.cli")) and m.split(".")[-1] != "__main__"
)


def _imports(module: str, types: bool = False) -> set[str]:
    """The package's modules ``module`` imports, anywhere in it (function bodies too), except under
    ``if TYPE_CHECKING:`` (types only, never executed) unless ``types``: a type a module names is a dependency of
    its layer all the same, though not one that can make an import cycle."""
    tree = ast.parse(MODULES[module].read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if not types and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
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


#: The stages, in the order the data flows; each is a folder of the package.
STAGES = ("sweep", "alerts", "report", "securityhub")
ROOT = "ecr_scan_reporter"
ENTRY_POINTS = (f"{ROOT}.handlers", f"{ROOT}.cli", f"{ROOT}.__main__")


def _layer(module: str) -> str:
    """``root`` (the package: its version), ``core``, a stage's name, or ``entry`` (handlers, CLI)."""
    if module == ROOT:
        return "root"
    if any(module == entry or module.startswith(f"{entry}.") for entry in ENTRY_POINTS):
        return "entry"  # the handlers' and the CLI's packages, every module in them
    part = module.split(".")[1]
    if part == "core" or part in STAGES:
        return part
    raise AssertionError(f"{module} is in no layer: put it in core/ or a stage's folder")


#: What each layer may import. The entry points import stages and core; nothing imports an entry point.
ALLOWED = {
    "root": {"root"},
    "core": {"root", "core"},
    **{stage: {"root", "core", stage} for stage in STAGES},
    "entry": {"root", "core", *STAGES, "entry"},
}


def test_the_import_scan_sees_the_modules() -> None:
    assert "ecr_scan_reporter.alerts.stage" in LIBRARY
    assert "ecr_scan_reporter.handlers" in _imports("ecr_scan_reporter.handlers.findings")
    assert "ecr_scan_reporter.alerts.stage" in _imports("ecr_scan_reporter.handlers.findings")
    assert "ecr_scan_reporter.core.ledger" not in _imports("ecr_scan_reporter.alerts.news")  # under TYPE_CHECKING only
    assert "ecr_scan_reporter.core.ledger" in _imports("ecr_scan_reporter.alerts.news", types=True)
    assert {_layer(m) for m in MODULES} == set(ALLOWED)  # every layer has modules, every module a layer
    assert _layer("ecr_scan_reporter.cli.sweep") == "entry"
    assert "ecr_scan_reporter.cli.sweep" not in LIBRARY
    assert _layer("ecr_scan_reporter.core.ledger.record") == "core"
    assert "ecr_scan_reporter.core.ledger.record" in LIBRARY
    assert "ecr_scan_reporter.core.ledger.record" in _imports("ecr_scan_reporter.core.ledger.writes")
    assert "ecr_scan_reporter.cli.common" in _imports("ecr_scan_reporter.cli.sweep")


def test_the_tree_shows_the_stages() -> None:
    """Only the entry points lie beside the folders: every library module is in core/ or a stage's folder."""
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert not loose, f"modules outside core/ and the stages' folders: {loose}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_layer_imports_only_what_it_may(module: str) -> None:
    """A stage imports core and itself, never another stage; core imports only core; nothing imports a handler or
    the CLI; the package root imports nothing."""
    layer = _layer(module)
    wrong = sorted(m for m in _imports(module, types=True) if _layer(m) not in ALLOWED[layer])
    assert not wrong, f"{module} ({layer}) may import only {sorted(ALLOWED[layer])}, but imports {wrong}"


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
