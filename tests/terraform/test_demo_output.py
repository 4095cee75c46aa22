"""The demo output excerpt of docs/testing.md, against a recorded run of ``make demo`` (fixtures/demo_output.txt:
its stdout at commit b5c5f55, work directory shortened), and the comparison itself: a step or block added,
removed, renamed or reordered is a difference; timings, ports, digests and dates are not.

The recorded run only keeps this check offline; ``make e2e`` compares the excerpt with a fresh run
(tests/e2e/test_zzz_demo.py). When the demo's output changes, run ``make demo`` and update both.
"""

from __future__ import annotations

import re
from pathlib import Path

import demo_output  # tests/terraform/demo_output.py: pytest puts this test's directory on sys.path
import pytest

RECORDED = (Path(__file__).parent / "fixtures" / "demo_output.txt").read_text()


def _lines() -> list[str]:
    return RECORDED.splitlines()


def _without(lines: list[str], start: str, stop: str) -> str:
    """``lines`` less the block from the first line holding ``start`` up to (not including) the next with ``stop``."""
    a = next(i for i, line in enumerate(lines) if start in line)
    b = next(i for i, line in enumerate(lines) if i > a and stop in line)
    return "\n".join(lines[:a] + lines[b:]) + "\n"


def test_the_excerpt_matches_the_recorded_run() -> None:
    assert demo_output.problems(demo_output.documented(), RECORDED) == []


def test_the_excerpt_is_short_and_shows_every_step() -> None:
    excerpt = demo_output.documented()
    assert 25 <= len(excerpt) <= 80
    steps = [line for line in excerpt if line.startswith("==> ")]
    assert len(steps) == sum(1 for line in _lines() if line.startswith("==> ")) >= 15


def test_numbers_digests_and_paths_may_differ() -> None:
    run = re.sub(r"\d+", lambda m: str(int(m.group()) + 7), RECORDED)  # every timing, port, pid, date, count
    run = re.sub(r"[0-9a-f]{64}", "f" * 64, run)
    run = run.replace("(work directory .build/demo)", "(work directory /tmp/pytest-of-ci/demo)")
    assert demo_output.problems(demo_output.documented(), run) == []


def test_a_new_step_is_a_difference() -> None:
    lines = _lines()
    at = next(i for i, line in enumerate(lines) if "tearing down" in line)
    run = "\n".join([*lines[:at], "==> [ 150s] something the demo now does", *lines[at:]])
    found = demo_output.problems(demo_output.documented(), run)
    assert any("something the demo now does" in problem for problem in found), found


def test_a_missing_block_is_a_difference() -> None:
    run = _without(_lines(), "==> [", "==> [")  # the first step gone, wherever the excerpt elides
    assert demo_output.problems(demo_output.documented(), run)
    report = _without(_lines(), "s] the exposure report (weekly", "s] tearing down")
    found = demo_output.problems(demo_output.documented(), report)
    assert found
    assert any("exposure report" in problem for problem in found)


def test_reordered_blocks_are_a_difference() -> None:
    lines = _lines()
    second = next(i for i, line in enumerate(lines) if "notification 2/3" in line)
    third = next(i for i, line in enumerate(lines) if "notification 3/3" in line)
    closing = next(i for i, line in enumerate(lines) if i > third and line.strip() and set(line.strip()) == {"─"})
    swapped = lines[:second] + lines[third:closing] + lines[second:third] + lines[closing:]
    assert demo_output.problems(demo_output.documented(), "\n".join(swapped))


def test_a_changed_line_inside_a_stretch_is_a_difference() -> None:
    run = RECORDED.replace("Breached:    CRITICAL\n", "Breached:    CRITICAL (new wording)\n", 1)
    found = demo_output.problems(demo_output.documented(), run)
    assert any("new wording" in problem for problem in found), found


def test_the_excerpt_must_start_and_end_where_the_run_does() -> None:
    excerpt = demo_output.documented()
    assert demo_output.problems(excerpt, "preamble\n" + RECORDED)
    assert demo_output.problems(excerpt, RECORDED + "a line after the end\n")
    assert demo_output.problems(["...", *excerpt, "..."], "preamble\n" + RECORDED + "after\n") == []


def test_markers_and_fence_are_required() -> None:
    with pytest.raises(ValueError, match="no <!-- BEGIN_DEMO_OUTPUT"):
        demo_output.excerpt("no markers here")
    with pytest.raises(ValueError, match="one fenced code block"):
        demo_output.excerpt(f"{demo_output.BEGIN}\nplain text\n{demo_output.END}")


def test_the_checker_exits_non_zero_on_a_difference(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(RECORDED)
    bad.write_text(RECORDED.replace("3 notifications delivered", "3 alerts delivered"))
    assert demo_output.main([str(good)]) == 0
    assert demo_output.main([str(bad)]) == 1
