"""The examples say what is true of them.

- examples/complete claims to use every input of the module: each variable of variables.tf is set in its module
  block, or listed in ``NOT_IN_COMPLETE`` below with the reason (an alternative to what the example creates).
- No example carries an accepted risk (suppression) that was already expired, or about to, when the example was
  last changed: the date must lie at least ``MIN_HORIZON`` after the example's last commit (after today while
  the file has uncommitted changes). This depends on the commit, not on the day the test runs, so an untouched
  checkout never starts failing; as the date approaches, the test warns (``WARN_WITHIN``), and the next change
  of the example has to move it.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import warnings
from pathlib import Path

import pytest
import readme_tables  # tests/terraform/readme_tables.py: the stdlib parser of the module's .tf files

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = ROOT / "examples" / "complete" / "main.tf"

# Inputs examples/complete leaves out, and why. Keep it short: a new input belongs in the example.
NOT_IN_COMPLETE = {
    # The example creates the notification topic (encrypted with its key, alarmed, subscribed); sns_topic_arn
    # replaces that topic with one of yours.
    "sns_topic_arn": "an alternative to the notification topic the example creates",
    # The example creates the chat topic (create_chat_topic) and connects it to Slack; chat_topic_arn is the
    # alternative, and setting both is refused.
    "chat_topic_arn": "an alternative to create_chat_topic, which the example uses",
}

MIN_HORIZON = dt.timedelta(days=180)
WARN_WITHIN = dt.timedelta(days=90)
_EXPIRES = re.compile(r'^\s*expires\s*=\s*"([0-9]{4}-[0-9]{2}-[0-9]{2})"', re.MULTILINE)


def _module_arguments(path: Path, name: str = "ecr_scan_reporter") -> dict[str, str]:
    text = path.read_text()
    found = re.search(rf'^module\s+"{name}"\s*\{{', text, re.MULTILINE)
    assert found, f'{path}: no module "{name}" block'
    end = readme_tables._block_end(text, found.end() - 1)
    return readme_tables._attributes(text[found.end() : end - 1])


def _inputs() -> list[str]:
    return [block.name for block in readme_tables.parse(ROOT / "variables.tf", "variable")]


def test_complete_example_sets_every_input() -> None:
    arguments = _module_arguments(COMPLETE)
    missing = [name for name in _inputs() if name not in arguments and name not in NOT_IN_COMPLETE]
    assert not missing, (
        f"examples/complete claims every input but does not set {missing}: set each with a realistic value and a "
        "comment, or list it in NOT_IN_COMPLETE (tests/terraform/test_examples.py) with the reason"
    )


def test_exclusions_are_current() -> None:
    arguments = _module_arguments(COMPLETE)
    inputs = set(_inputs())
    assert set(NOT_IN_COMPLETE) <= inputs, f"NOT_IN_COMPLETE names no input: {sorted(set(NOT_IN_COMPLETE) - inputs)}"
    assert not set(NOT_IN_COMPLETE) & set(arguments), (
        f"examples/complete sets {sorted(set(NOT_IN_COMPLETE) & set(arguments))}: remove them from NOT_IN_COMPLETE"
    )
    unknown = set(arguments) - inputs - {"source", "version", "providers", "count", "for_each", "depends_on"}
    assert not unknown, f"examples/complete sets arguments the module does not declare: {sorted(unknown)}"


def test_the_parser_reads_the_module_block() -> None:
    """The test above can only fail if the parser sees the block's arguments (and not those of nested values)."""
    arguments = _module_arguments(COMPLETE)
    assert arguments["source"] == '"../.."'
    assert "critical" not in arguments  # nested in severity_thresholds
    assert "vulnerability_id" not in arguments  # nested in suppressions
    assert len(arguments) >= 10


def _written_on(path: Path) -> dt.date:
    """The day the file was last committed, or today when it has uncommitted changes (or there is no git)."""
    today = dt.datetime.now(dt.UTC).date()
    try:
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        day = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%cs", "--", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return today
    if dirty or not day:
        return today
    return dt.date.fromisoformat(day)


def _suppression_dates() -> list[tuple[Path, dt.date]]:
    return [
        (path, dt.date.fromisoformat(day))
        for path in sorted((ROOT / "examples").glob("*/*.tf"))
        for day in _EXPIRES.findall(path.read_text())
    ]


def test_the_examples_carry_a_suppression() -> None:
    """Keeps the next test meaningful: examples/complete shows an accepted risk."""
    assert any(path == COMPLETE for path, _ in _suppression_dates())


@pytest.mark.parametrize(
    ("path", "expires"), _suppression_dates(), ids=lambda v: v.name if isinstance(v, Path) else str(v)
)
def test_example_suppressions_outlive_the_example(path: Path, expires: dt.date) -> None:
    written = _written_on(path)
    assert expires >= written + MIN_HORIZON, (
        f"{path.relative_to(ROOT)}: a suppression expires on {expires}, less than {MIN_HORIZON.days} days after the "
        f"example was last changed ({written}): an expired accepted risk shows nothing. Move it a year or more ahead."
    )
    today = dt.datetime.now(dt.UTC).date()
    if today >= expires - WARN_WITHIN:
        warnings.warn(
            f"{path.relative_to(ROOT)}: the example's suppression expires on {expires}: move it ahead", stacklevel=1
        )
