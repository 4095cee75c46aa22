"""The README's inputs and outputs tables, rendered from variables.tf and outputs.tf (stdlib only).

    python tests/terraform/readme_tables.py --write README.md [more.md ...]   # rewrite the tables in place
    python tests/terraform/readme_tables.py --check README.md                 # exit 1 when a table is stale

The tables sit between ``<!-- BEGIN_TF_INPUTS -->`` / ``<!-- END_TF_INPUTS -->`` and ``<!-- BEGIN_TF_OUTPUTS -->`` /
``<!-- END_TF_OUTPUTS -->``. Parsing is deliberately small: top-level ``variable "x" {`` / ``output "x" {`` blocks,
their ``description`` string and their ``type`` and ``default`` expressions, with string-aware bracket matching.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKERS = {
    "inputs": ("<!-- BEGIN_TF_INPUTS -->", "<!-- END_TF_INPUTS -->"),
    "outputs": ("<!-- BEGIN_TF_OUTPUTS -->", "<!-- END_TF_OUTPUTS -->"),
}
_BLOCK = re.compile(r'^(variable|output)\s+"([^"]+)"\s*\{', re.MULTILINE)
_OPEN, _CLOSE = "([{", ")]}"


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


def render_inputs(variables: list[Block]) -> str:
    rows = ["| Name | Description | Type | Default |", "|------|-------------|------|---------|"]
    for v in variables:
        default = "required" if v.default is None else _code(v.default)
        rows.append(f"| `{v.name}` | {_cell(v.description)} | {_code(v.type or 'any')} | {default} |")
    return "\n".join(rows)


def render_outputs(outputs: list[Block]) -> str:
    rows = ["| Name | Description |", "|------|-------------|"]
    rows += [f"| `{o.name}` | {_cell(o.description)} |" for o in outputs]
    return "\n".join(rows)


def tables(root: Path = ROOT) -> dict[str, str]:
    return {
        "inputs": render_inputs(parse(root / "variables.tf", "variable")),
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
    """The first-column names (`name`) of a markdown table."""
    return re.findall(r"^\|\s*`([^`]+)`\s*\|", markdown_table, re.MULTILINE)


def rewrite(markdown: str, rendered: dict[str, str]) -> str:
    for which, table in rendered.items():
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
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    rendered, status = tables(), 0
    for path in args.files:
        if not path.exists():
            print(f"{path}: missing, skipped", file=sys.stderr)
            continue
        text = path.read_text()
        try:
            updated = rewrite(text, rendered)
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
