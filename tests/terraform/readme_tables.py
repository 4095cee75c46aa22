"""The module's documentation tables, in terraform-docs' layout, rendered from the module's .tf files (stdlib only).

    python tests/terraform/readme_tables.py --write            # rewrite every table in its document (HOMES)
    python tests/terraform/readme_tables.py --check            # exit 1 when a table is stale
    python tests/terraform/readme_tables.py --check other.md   # the tables whose markers other.md holds

Each table sits between ``<!-- BEGIN_TF_<NAME> -->`` and ``<!-- END_TF_<NAME> -->``: REQUIREMENTS (Terraform and
provider constraints, versions.tf), PROVIDERS (the providers the module uses), RESOURCES (every ``resource`` and
``data`` block of the root .tf files), INPUTS (variables.tf) and OUTPUTS (outputs.tf). ``HOMES`` says which
document holds which table: the inputs and outputs in README.md, the rest in docs/resources.md. Parsing is deliberately
small: top-level blocks, their ``description`` string and their ``type`` and ``default`` expressions, with
string-aware bracket matching.

An input the current release (``__version__``) does not have is marked ``UNRELEASED`` at the start of its
description: the release's inputs are listed in ``docs/releases/<version>-inputs.txt`` (``make release-manifest``
writes it at release time; ``make release-check`` reads it too). Without that file no input is marked.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKERS = {
    which: (f"<!-- BEGIN_TF_{which.upper()} -->", f"<!-- END_TF_{which.upper()} -->")
    for which in ("requirements", "providers", "resources", "inputs", "outputs")
}
# The document (relative to the repository root) that holds each table, and no other document does.
HOMES = {
    "requirements": "docs/resources.md",
    "providers": "docs/resources.md",
    "resources": "docs/resources.md",
    "inputs": "README.md",
    "outputs": "README.md",
}
_BLOCK = re.compile(r'^(variable|output)\s+"([^"]+)"\s*\{', re.MULTILINE)
_RESOURCE = re.compile(r'^(resource|data)\s+"([^"]+)"\s+"([^"]+)"\s*\{', re.MULTILINE)
_REGISTRY = "https://registry.terraform.io/providers"
_OPEN, _CLOSE = "([{", ")]}"
RELEASES = Path("docs/releases")
UNRELEASED = "**Unreleased:**"


@dataclass(frozen=True)
class Block:
    kind: str
    name: str
    description: str
    type: str | None = None
    default: str | None = None  # HCL source of the default; None when the input is required


def _skip_string(text: str, start: int) -> int:
    """Index just past the double-quoted string starting at ``start``."""
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise ValueError("unterminated string")


def _block_end(text: str, start: int) -> int:
    """Index just past the bracket that closes the one at ``start``."""
    depth, i = 0, start
    while i < len(text):
        char = text[i]
        if char == '"':
            i = _skip_string(text, i)
            continue
        if char == "#" or text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced brackets")


def _expression_end(text: str, start: int) -> int:
    """Index of the end of the expression starting at ``start``: the first newline outside brackets/strings."""
    i = start
    while i < len(text) and text[i] != "\n":
        if text[i] == '"':
            i = _skip_string(text, i)
        elif text[i] in _OPEN:
            i = _block_end(text, i)
        elif text[i] == "#":
            break
        else:
            i += 1
    return i


def _attributes(body: str) -> dict[str, str]:
    """Top-level ``name = expression`` attributes of a block body (nested blocks are skipped)."""
    attributes: dict[str, str] = {}
    i = 0
    attribute = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_-]*)[ \t]*(=|\{)")
    while i < len(body):
        line_end = body.find("\n", i)
        line_end = len(body) if line_end == -1 else line_end
        found = attribute.match(body, i)
        if found and found.group(2) == "=":
            value_start = found.end()
            value_end = _expression_end(body, value_start)
            attributes[found.group(1)] = body[value_start:value_end].strip()
            i = value_end + 1
        elif found:  # a nested block such as validation { ... }
            i = _block_end(body, found.end() - 1) + 1
        else:
            i = line_end + 1
    return attributes


def _unquote(expression: str) -> str:
    if not (expression.startswith('"') and expression.endswith('"')):
        raise ValueError(f"description must be a string literal, got {expression[:40]!r}")
    return re.sub(r"\\(.)", r"\1", expression[1:-1])


def _one_line(expression: str) -> str:
    """An HCL expression on one line: whitespace collapsed outside strings, object attributes joined by commas."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(expression):
        char = expression[i]
        if char == '"':
            end = _skip_string(expression, i)
            out.append(expression[i:end])
            i = end
        elif char.isspace():
            start = i
            while i < len(expression) and expression[i].isspace():
                i += 1
            previous = out[-1][-1] if out else ""
            following = expression[i] if i < len(expression) else ""
            newline = "\n" in expression[start:i]
            if previous in _OPEN or following in _CLOSE or not following:
                continue
            if newline and stack and stack[-1] == "{" and previous not in ",":
                out.append(", ")
            elif previous not in " ":
                out.append(" ")
        else:
            if char in _OPEN:
                stack.append(char)
            elif char in _CLOSE and stack:
                stack.pop()
            out.append(char)
            i += 1
    return "".join(out).strip()


def parse(path: Path, kind: str) -> list[Block]:
    """The ``kind`` ("variable" or "output") blocks of a .tf file, in file order."""
    text = path.read_text()
    blocks = []
    for match in _BLOCK.finditer(text):
        if match.group(1) != kind:
            continue
        end = _block_end(text, match.end() - 1)
        attributes = _attributes(text[match.end() : end - 1])
        blocks.append(
            Block(
                kind=kind,
                name=match.group(2),
                description=_unquote(attributes.get("description", '""')),
                type=_one_line(attributes["type"]) if "type" in attributes else None,
                default=_one_line(attributes["default"]) if "default" in attributes else None,
            )
        )
    return blocks


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_cell(text)}`"


def released_inputs(manifest: Path) -> set[str]:
    """The input names a release manifest (docs/releases/<version>-inputs.txt) lists: one a line, # comments."""
    lines = (line.split("#", 1)[0].strip() for line in manifest.read_text().splitlines())
    return {line for line in lines if line}


def current_release(root: Path = ROOT) -> tuple[str, set[str] | None]:
    """``__version__`` and its manifest's inputs (None when it has no manifest)."""
    text = (root / "lambda" / "ecr_scan_reporter" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    release = found.group(1) if found else "?"
    manifest = root / RELEASES / f"{release}-inputs.txt"
    return release, released_inputs(manifest) if manifest.exists() else None


def render_inputs(variables: list[Block], release: str | None = None, released: set[str] | None = None) -> str:
    """The inputs table; with ``released`` (the inputs of ``release``), the others are marked unreleased."""
    rows = ["| Name | Description | Type | Default |", "|------|-------------|------|---------|"]
    for v in variables:
        default = "required" if v.default is None else _code(v.default)
        mark = "" if released is None or v.name in released else f"{UNRELEASED} not in {release}, on main only. "
        rows.append(f"| `{v.name}` | {mark}{_cell(v.description)} | {_code(v.type or 'any')} | {default} |")
    return "\n".join(rows)


def render_outputs(outputs: list[Block]) -> str:
    rows = ["| Name | Description |", "|------|-------------|"]
    rows += [f"| `{o.name}` | {_cell(o.description)} |" for o in outputs]
    return "\n".join(rows)


@dataclass(frozen=True)
class Resource:
    mode: str  # "resource" or "data"
    type: str
    name: str

    @property
    def provider(self) -> str:
        return self.type.split("_", 1)[0]


def resources(root: Path = ROOT) -> list[Resource]:
    """Every ``resource`` and ``data`` block of the module's root .tf files, sorted like terraform-docs."""
    found = {
        Resource(match.group(1), match.group(2), match.group(3))
        for path in sorted(root.glob("*.tf"))
        for match in _RESOURCE.finditer(path.read_text())
    }
    return sorted(found, key=lambda r: (r.type, r.name, r.mode))


def requirements(root: Path = ROOT) -> tuple[str | None, dict[str, tuple[str, str | None]]]:
    """``required_version`` and ``required_providers`` (name -> (source, version)) of the terraform block."""
    text = "\n".join(path.read_text() for path in sorted(root.glob("*.tf")))
    found = re.search(r"^terraform\s*\{", text, re.MULTILINE)
    if not found:
        return None, {}
    block = text[found.end() - 1 : _block_end(text, found.end() - 1)]
    version = _attributes(block[1:-1]).get("required_version")
    providers: dict[str, tuple[str, str | None]] = {}
    inner = re.search(r"required_providers\s*\{", block)
    if inner:
        body = block[inner.end() : _block_end(block, inner.end() - 1) - 1]
        for name, expression in _attributes(body).items():
            source = re.search(r'\bsource\s*=\s*"([^"]*)"', expression)
            constraint = re.search(r'\bversion\s*=\s*"([^"]*)"', expression)
            providers[name] = (
                source.group(1) if source else f"hashicorp/{name}",
                constraint.group(1) if constraint else None,
            )
    return (_unquote(version) if version else None), providers


def render_requirements(version: str | None, providers: dict[str, tuple[str, str | None]]) -> str:
    rows = ["| Name | Version |", "|------|---------|"]
    rows.append(f"| [terraform](https://developer.hashicorp.com/terraform) | {_cell(version or 'n/a')} |")
    for name, (source, constraint) in sorted(providers.items()):
        rows.append(f"| [{name}]({_REGISTRY}/{source}/latest) | {_cell(constraint or 'n/a')} |")
    return "\n".join(rows)


def render_providers(providers: dict[str, tuple[str, str | None]], used: list[Resource]) -> str:
    rows = ["| Name | Version |", "|------|---------|"]
    for name in sorted({resource.provider for resource in used}):
        source, constraint = providers.get(name, (f"hashicorp/{name}", None))
        rows.append(f"| [{name}]({_REGISTRY}/{source}/latest) | {_cell(constraint or 'n/a')} |")
    return "\n".join(rows)


def render_resources(found: list[Resource], providers: dict[str, tuple[str, str | None]]) -> str:
    rows = ["| Name | Type |", "|------|------|"]
    for resource in found:
        source = providers.get(resource.provider, (f"hashicorp/{resource.provider}", None))[0]
        kind = "resources" if resource.mode == "resource" else "data-sources"
        page = resource.type.split("_", 1)[1]
        link = f"{_REGISTRY}/{source}/latest/docs/{kind}/{page}"
        label = "resource" if resource.mode == "resource" else "data source"
        rows.append(f"| [{resource.type}.{resource.name}]({link}) | {label} |")
    return "\n".join(rows)


def tables(root: Path = ROOT) -> dict[str, str]:
    version, providers = requirements(root)
    found = resources(root)
    release, released = current_release(root)
    return {
        "requirements": render_requirements(version, providers),
        "providers": render_providers(providers, found),
        "resources": render_resources(found, providers),
        "inputs": render_inputs(parse(root / "variables.tf", "variable"), release, released),
        "outputs": render_outputs(parse(root / "outputs.tf", "output")),
    }


def section(markdown: str, which: str) -> str | None:
    """The text between the ``which`` markers, or None when the markers are missing."""
    begin, end = MARKERS[which]
    start, stop = markdown.find(begin), markdown.find(end)
    if start == -1 or stop == -1 or stop < start:
        return None
    return markdown[start + len(begin) : stop]


def table_names(markdown_table: str) -> list[str]:
    """The first-column names (`name`, or [name](link)) of a markdown table."""
    rows = re.findall(r"^\|\s*(?:`([^`]+)`|\[([^\]]+)\]\([^)]*\))\s*\|", markdown_table, re.MULTILINE)
    return [plain or linked for plain, linked in rows]


def home_tables(document: str) -> list[str]:
    """The tables ``document`` (a path relative to the repository root, as in HOMES) holds."""
    return [which for which, home in HOMES.items() if home == document]


def rewrite(markdown: str, rendered: dict[str, str], only: list[str] | None = None) -> str:
    """``markdown`` with the tables named in ``only`` (default: every one in ``rendered``) replaced by ``rendered``'s;
    a table whose markers are missing is a ValueError."""
    for which, table in rendered.items():
        if only is not None and which not in only:
            continue
        begin, end = MARKERS[which]
        if section(markdown, which) is None:
            raise ValueError(f"missing {begin} ... {end}")
        start = markdown.index(begin) + len(begin)
        markdown = markdown[:start] + "\n" + table + "\n" + markdown[markdown.index(end) :]
    return markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the tables in place")
    mode.add_argument("--check", action="store_true", help="exit 1 when a table is out of date")
    parser.add_argument("files", nargs="*", type=Path, help="default: every document of HOMES")
    args = parser.parse_args(argv)
    rendered, status = tables(), 0
    files = args.files or [ROOT / name for name in dict.fromkeys(HOMES.values())]
    for path in files:
        if not path.exists():
            print(f"{path}: missing, skipped", file=sys.stderr)
            status = 1
            continue
        text = path.read_text()
        try:
            relative = path.resolve().relative_to(ROOT).as_posix()
        except ValueError:
            relative = str(path)
        only = home_tables(relative) or [which for which in MARKERS if section(text, which) is not None]
        try:
            updated = rewrite(text, rendered, only)
        except ValueError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            status = 1
            continue
        if args.write and updated != text:
            path.write_text(updated)
            print(f"{path}: tables updated")
        elif args.check and updated != text:
            print(f"{path}: tables out of date (run: make docs)", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
