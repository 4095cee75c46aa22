"""The relative links of the repository's Markdown documents, and the headings they can point at (stdlib only).

    python tests/terraform/doc_links.py README.md docs/*.md   # prints every link that does not resolve; exit 1 if any

A link resolves when the file (or directory) it names exists, relative to the document that holds it, and its
``#fragment``, if any, is the anchor of a heading of the target file (GitHub's slugs: lower case, punctuation
other than ``-`` and ``_`` dropped, spaces to hyphens, ``-1``, ``-2``, ... for repeated headings). Links to other
sites (``https:``, ``mailto:``) are not followed. Fenced code blocks and inline code are not read.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Link:
    document: Path
    line: int
    target: str  # as written: path, path#fragment or #fragment


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks, inline code removed."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, _INLINE_CODE.sub("", line)))
    return lines


def links(document: Path) -> list[Link]:
    """Every relative link of ``document``: inline ``[text](target)``, images and reference definitions."""
    found = []
    for number, line in _prose_lines(document.read_text()):
        targets = [m.group(1) for m in _INLINE_LINK.finditer(line)]
        reference = _REFERENCE.match(line)
        if reference:
            targets.append(reference.group(1))
        found.extend(Link(document, number, t) for t in targets if not _EXTERNAL.match(t))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor of a heading's text: links and emphasis reduced to their text, then slugified."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)  # keeps letters, digits, _, -, spaces (unicode letters too)
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    """The anchors of ``document``'s headings, repeated ones numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    result = set()
    fenced = False
    for line in document.read_text().splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def problem(link: Link) -> str | None:
    """Why ``link`` does not resolve, or None when it does."""
    path, _, fragment = link.target.partition("#")
    target = link.document if not path else (link.document.parent / path)
    if not target.exists():
        return f"{path}: no such file or directory"
    if fragment:
        if target.is_dir():
            return f"#{fragment}: {path} is a directory, it has no headings"
        if fragment not in anchors(target):
            return f"#{fragment}: no such heading in {target.name}"
    return None


def problems(documents: list[Path]) -> list[str]:
    return [
        f"{link.document}:{link.line}: ({link.target}) {why}"
        for document in documents
        for link in links(document)
        if (why := problem(link)) is not None
    ]


def main(argv: list[str]) -> int:
    found = problems([Path(arg) for arg in argv])
    print("\n".join(found) or "every link resolves")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
