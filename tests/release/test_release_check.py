"""``make release-check`` (tests/release/release_check.py) passes on this checkout and fails, saying what to fix,
on each disagreement: __version__ vs the CHANGELOG's newest release, the README's ?ref= pin, an input the README
documents that the release lacks without marking it, and a release without its inputs manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import release_check  # tests/release/release_check.py: pytest puts this test's directory on sys.path

ROOT = release_check.ROOT
FILES = ("lambda/ecr_scan_reporter/__init__.py", "CHANGELOG.md", "README.md", "variables.tf", "docs/releases")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The files the check reads, copied from this checkout (no git history: as a shallow clone)."""
    for name in FILES:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def _release_without(clone: Path, name: str) -> None:
    """Make the copy's release lack the input ``name`` (its manifest without it) and render the README's inputs
    table as ``make docs`` does, marking it unreleased: the state of a checkout with an input newer than its release,
    whatever this checkout's own state (at a release commit every documented input is released)."""
    manifest = release_check.manifest_path(clone, release_check.version(clone))
    names = manifest.read_text().splitlines()
    assert name in names, f"{name} must be an input of this checkout"
    manifest.write_text("".join(f"{line}\n" for line in names if line != name))
    readme = clone / "README.md"
    tables = release_check.readme_tables
    inputs = tables.render_inputs(tables.parse(clone / "variables.tf", "variable"), *tables.current_release(clone))
    readme.write_text(tables.rewrite(readme.read_text(), {"inputs": inputs}))


def test_this_checkout_agrees() -> None:
    assert release_check.problems(ROOT) == []


def test_the_copy_agrees(clone: Path) -> None:
    assert release_check.problems(clone) == []
    assert release_check.main(["--root", str(clone)]) == 0


def test_a_version_the_changelog_does_not_name_fails(clone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    version = release_check.version(clone)
    _edit(clone / release_check.VERSION_FILE, f'"{version}"', '"9.9.9"')
    found = release_check.problems(clone)
    assert any("CHANGELOG.md's newest release heading is" in p and "'9.9.9'" in p for p in found), found
    assert release_check.main(["--root", str(clone)]) == 1
    assert "release-check: CHANGELOG.md's newest release heading" in capsys.readouterr().err


def test_a_changelog_release_the_version_does_not_match_fails(clone: Path) -> None:
    version = release_check.version(clone)
    _edit(clone / "CHANGELOG.md", "## [Unreleased]\n", "## [Unreleased]\n\n## [9.9.9] - 2026-12-31\n")
    found = release_check.problems(clone)
    assert found == [
        f"CHANGELOG.md's newest release heading is '9.9.9' but __version__ is '{version}' "
        f"({release_check.VERSION_FILE}): a release renames ## [Unreleased] to ## [{version}] - <date> "
        f"and sets __version__ to the same version"
    ]


def test_a_readme_pin_of_another_version_fails(clone: Path) -> None:
    version = release_check.version(clone)
    _edit(clone / "README.md", f"?ref=v{version}", "?ref=v0.0.1")
    found = release_check.problems(clone)
    assert len(found) == 1
    assert "README.md pins ?ref= ['v0.0.1']" in found[0]
    assert f"every ?ref= must be v{version}" in found[0]


def test_an_input_documented_but_not_released_and_not_marked_fails(clone: Path) -> None:
    _release_without(clone, "teams")
    release, released = release_check.readme_tables.current_release(clone)
    assert released is not None
    documented = dict(release_check.documented_inputs((clone / "README.md").read_text()))
    unreleased = sorted(name for name in documented if name not in released)
    assert unreleased, "this checkout documents inputs newer than the release: the case to check"
    name = unreleased[0]
    _edit(
        clone / "README.md",
        f"| `{name}` | {release_check.readme_tables.UNRELEASED} not in {release}, on main only. ",
        f"| `{name}` | ",
    )
    found = release_check.problems(clone)
    assert len(found) == 1
    assert f"README.md documents the input {name!r}, which release {release} lacks" in found[0]
    assert "without marking it unreleased" in found[0]


def test_a_released_input_marked_unreleased_fails(clone: Path) -> None:
    manifest = release_check.manifest_path(clone, release_check.version(clone))
    _release_without(clone, "teams")
    manifest.write_text(manifest.read_text() + "teams\n")
    found = release_check.problems(clone)
    assert found == [
        f"README.md marks the input 'teams' unreleased, but release {release_check.version(clone)} has it "
        f"({manifest.relative_to(clone)}): run make docs"
    ]


def test_a_release_without_its_manifest_fails(clone: Path) -> None:
    manifest = release_check.manifest_path(clone, release_check.version(clone))
    manifest.unlink()
    found = release_check.problems(clone)
    assert len(found) == 1
    assert f"{manifest.relative_to(clone)} is missing" in found[0]
    assert "make release-manifest" in found[0]


def test_a_release_written_with_its_manifest_and_docs_passes(clone: Path) -> None:
    """What the release commit does: __version__, the CHANGELOG heading, the pin, the manifest, make docs."""
    old = release_check.version(clone)
    _edit(clone / release_check.VERSION_FILE, f'"{old}"', '"9.9.9"')
    _edit(clone / "CHANGELOG.md", "## [Unreleased]\n", "## [Unreleased]\n\n## [9.9.9] - 2026-12-31\n")
    _edit(clone / "README.md", f"?ref=v{old}", "?ref=v9.9.9")
    assert release_check.main(["--root", str(clone), "--write-manifest"]) == 0
    assert (clone / "docs/releases/9.9.9-inputs.txt").exists()
    readme = clone / "README.md"
    tables = release_check.readme_tables
    inputs = tables.render_inputs(tables.parse(clone / "variables.tf", "variable"), *tables.current_release(clone))
    readme.write_text(tables.rewrite(readme.read_text(), {"inputs": inputs}))
    assert tables.UNRELEASED not in readme.read_text()
    assert release_check.problems(clone) == []


def test_the_usage_snippet_setting_an_input_the_pinned_release_lacks_fails(clone: Path) -> None:
    _release_without(clone, "teams")
    release, released = release_check.readme_tables.current_release(clone)
    assert released is not None
    assert "teams" not in released, "teams is newer than the release: the case to check"
    _edit(
        clone / "README.md",
        '  tags = { team = "platform-security" }\n',
        '  tags = { team = "platform-security" }\n  teams = []\n',
    )
    found = release_check.problems(clone)
    assert found == [
        f"README.md's Usage snippet pins v{release} but sets 'teams', which release {release} lacks "
        f"({release_check.manifest_path(clone, release).relative_to(clone)}): "
        "a user's terraform init + plan of it fails"
    ]


def test_the_snippets_inputs_are_read_from_its_module_block() -> None:
    names = release_check.snippet_inputs((ROOT / "README.md").read_text())
    assert "name_prefix" in names
    assert "severity_thresholds" in names
    assert "critical" not in names  # inside a map, not an argument
    assert "source" not in names
