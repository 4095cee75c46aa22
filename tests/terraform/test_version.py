"""The version is set in one place (``__version__``) and everything that shows it agrees.

``lambda/pyproject.toml`` reads it (dynamic version), the README's ``?ref=v<version>`` advice and the CHANGELOG's
newest release name it. A release (docs/releasing.md): set ``__version__``, rename CHANGELOG's Unreleased section,
``make release-manifest``, ``make docs``; ``make release-check`` checks the rest.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _version() -> str:
    text = (ROOT / "lambda" / "ecr_scan_reporter" / "__init__.py").read_text()
    found = re.findall(r'^__version__ = "([0-9]+\.[0-9]+\.[0-9]+)"$', text, re.MULTILINE)
    assert len(found) == 1, "__version__ must be set once, as X.Y.Z"
    return found[0]


def test_package_reads_the_version_instead_of_repeating_it() -> None:
    project = tomllib.loads((ROOT / "lambda" / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "ecr_scan_reporter.__version__"}


def test_readme_pins_the_current_version() -> None:
    refs = set(re.findall(r"\?ref=([0-9A-Za-z][^\"\s)`]*)", (ROOT / "README.md").read_text()))
    assert refs == {f"v{_version()}"}, f"README's ?ref= must be v{_version()}, found {refs}"


def test_changelog_names_the_current_version_as_its_newest_release() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    sections = re.findall(r"^## \[([^\]]+)\]", changelog, re.MULTILINE)
    assert sections[0] == "Unreleased", "the Unreleased section comes first"
    assert sections[1] == _version(), f"newest release {sections[1]}, __version__ {_version()}"
    released = [tuple(int(part) for part in name.split(".")) for name in sections[1:]]
    assert released == sorted(released, reverse=True), "releases newest first"
    for name in sections:
        assert re.search(rf"^\[{re.escape(name)}\]: ", changelog, re.MULTILINE), f"no link for [{name}]"
