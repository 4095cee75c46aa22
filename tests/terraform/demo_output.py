"""The documented excerpt of ``make demo``'s output, and how it is compared with what the demo prints (stdlib only).

    python tests/terraform/demo_output.py transcript.txt   # compares docs/testing.md's excerpt with a demo's output

The excerpt sits in ``DOCUMENT`` between ``<!-- BEGIN_DEMO_OUTPUT -->`` and ``<!-- END_DEMO_OUTPUT -->``, in a
fenced block. It is the demo's output with lines left out, where a line that is only ``...`` stands for the lines
left out (none, one or many). It matches a run when

- every stretch of excerpt lines between two ``...`` is a stretch of consecutive lines of the run, in the same
  order (the first stretch starts the output and the last one ends it, unless ``...`` opens or closes the excerpt);
- every *heading* the run printed is in the excerpt: each progress line (``==> [ 12s] ...``), each titled rule of
  a block (``──── notification 1/3: ... ────``), ``Summary`` and the banner. A step or a block added to the demo,
  removed or reordered, is a difference.

Lines are compared after ``normalize``: numbers (timings, ports, process ids, dates, counts in a digest), hex
digests and the work directory vary from run to run, so each becomes a placeholder, and runs of spaces become one.
What remains (the words, the order, the blocks) is the demo's structure.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = "docs/testing.md"
BEGIN, END = "<!-- BEGIN_DEMO_OUTPUT -->", "<!-- END_DEMO_OUTPUT -->"
ELISION = "..."
_FENCE = re.compile(r"^\s*```")


def excerpt(markdown: str) -> list[str]:
    """The lines of the fenced block between the markers."""
    start, stop = markdown.find(BEGIN), markdown.find(END)
    if start == -1 or stop < start:
        raise ValueError(f"no {BEGIN} ... {END}")
    lines = markdown[start + len(BEGIN) : stop].strip("\n").splitlines()
    if len(lines) < 2 or not _FENCE.match(lines[0]) or not _FENCE.match(lines[-1]):
        raise ValueError("the demo output between the markers must be one fenced code block")
    return lines[1:-1]


def normalize(line: str) -> str:
    line = re.sub(r"\(work directory [^)]*\)", "(work directory W)", line)
    line = re.sub(r"\b[0-9a-f]{12,64}\b", "H", line)  # digests, in full or shortened
    line = re.sub(r"\d+", "0", line)
    return " ".join(line.split())


def is_elision(line: str) -> bool:
    return line.strip() == ELISION


def is_heading(line: str) -> bool:
    """A line of the demo's output that starts a step or a block."""
    text = line.strip()
    if text.startswith(("==> ", "ecr-scan-reporter demo:")) or text == "Summary":
        return True
    return text.startswith("─") and text.strip("─").strip() != ""  # a rule with a title


def _stretches(lines: list[str]) -> list[list[tuple[int, str]]]:
    """The excerpt's stretches of (excerpt line number, line) between elisions; empty ones where it opens/closes."""
    stretches: list[list[tuple[int, str]]] = [[]]
    for number, line in enumerate(lines, 1):
        if is_elision(line):
            stretches.append([])
        else:
            stretches[-1].append((number, line))
    return stretches


def _find(stretch: list[str], output: list[str], start: int) -> int:
    """The first index >= start where ``stretch`` is a run of consecutive lines of ``output``, or -1."""
    for i in range(start, len(output) - len(stretch) + 1):
        if output[i : i + len(stretch)] == stretch:
            return i
    return -1


def problems(documented: list[str], printed: str) -> list[str]:
    """How the excerpt ``documented`` differs from the demo's output ``printed``: [] when it matches."""
    output = printed.rstrip("\n").splitlines()
    while output and not output[-1].strip():
        output.pop()
    normalized = [normalize(line) for line in output]
    found: list[str] = []
    covered: set[int] = set()
    position = 0
    stretches = _stretches(documented)
    for index, stretch in enumerate(stretches):
        if not stretch:
            continue
        wanted = [normalize(line) for _, line in stretch]
        at = _find(wanted, normalized, position)
        first = stretch[0][0]
        if at == -1:
            # Say which line of the stretch is the first that the output does not continue with.
            lead = _find(wanted[:1], normalized, position)
            if lead == -1:
                found.append(
                    f"excerpt line {first} is not in the demo's output after line {position}: {stretch[0][1]!r}"
                )
            else:
                for offset, (number, line) in enumerate(stretch):
                    got = normalized[lead + offset] if lead + offset < len(normalized) else "<end of output>"
                    if got != wanted[offset]:
                        printed_line = output[lead + offset] if lead + offset < len(output) else got
                        found.append(
                            f"excerpt line {number} {line!r}: the demo printed {printed_line!r} there "
                            f"(output line {lead + offset + 1})"
                        )
                        break
            continue
        if index == 0 and at != 0:
            found.append(f"the excerpt starts at output line {at + 1}, not the first: open it with {ELISION!r}")
        if index == len(stretches) - 1 and at + len(wanted) != len(normalized):
            found.append(f"the excerpt ends at output line {at + len(wanted)} of {len(normalized)}: close it with ...")
        covered.update(range(at, at + len(wanted)))
        position = at + len(wanted)
    for number, line in enumerate(output):
        if is_heading(line) and number not in covered:
            found.append(f"the demo printed a heading the excerpt lacks (output line {number + 1}): {line.strip()!r}")
    return found


def documented(root: Path = ROOT) -> list[str]:
    return excerpt((root / DOCUMENT).read_text())


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    found = problems(documented(), Path(argv[0]).read_text())
    print("\n".join(found) or f"{DOCUMENT}: the demo output excerpt matches")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
