"""``make release-check``: the version, the CHANGELOG, the README's pin and the README's inputs agree.

Offline, from the files of a clean (even shallow) clone; no git history, no tags:

- ``__version__`` (``lambda/ecr_scan_reporter/__init__.py``) is the CHANGELOG's newest release heading
  (``## [X.Y.Z] - date``, the first after ``## [Unreleased]``);
- every ``?ref=`` in the README pins ``v<__version__>``, and the Usage snippet sets only that release's inputs;
- the released version's inputs are known from a manifest committed at release time,
  ``docs/releases/<version>-inputs.txt`` (one input name a line, written by ``make release-manifest`` from
  variables.tf in the release commit): every input the README's inputs table documents is in it, or its row is
  marked unreleased (``make docs`` marks them: readme_tables.UNRELEASED).

    python tests/release/release_check.py                 # check (exit 1 with each disagreement)
    python tests/release/release_check.py --write-manifest  # at release time: docs/releases/<version>-inputs.txt
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "terraform"))

import readme_tables  # noqa: E402 - tests/terraform/readme_tables.py, found through the path set above

VERSION_FILE = Path("lambda/ecr_scan_reporter/__init__.py")


def version(root: Path) -> str:
    """``__version__``, set once as X.Y.Z."""
    found = re.findall(r'^__version__ = "([^"]*)"$', (root / VERSION_FILE).read_text(), re.MULTILINE)
    if len(found) != 1 or not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", found[0]):
        raise ValueError(f"{VERSION_FILE}: __version__ must be set once, as X.Y.Z (found {found})")
    return found[0]


def newest_release(changelog: str) -> str | None:
    """The CHANGELOG's newest release heading: the first ``## [X.Y.Z]`` that is not Unreleased."""
    for name in re.findall(r"^## \[([^\]]+)\]", changelog, re.MULTILINE):
        if name != "Unreleased":
            return name
    return None


def readme_pins(readme: str) -> set[str]:
    """Every ``?ref=`` value in the README."""
    return set(re.findall(r"\?ref=([0-9A-Za-z][^\"\s)`]*)", readme))


def manifest_path(root: Path, release: str) -> Path:
    return root / readme_tables.RELEASES / f"{release}-inputs.txt"


def documented_inputs(readme: str) -> list[tuple[str, bool]]:
    """(name, marked unreleased) for each row of the README's generated inputs table."""
    table = readme_tables.section(readme, "inputs")
    if table is None:
        raise ValueError("README.md has no generated inputs table (<!-- BEGIN_TF_INPUTS --> ... END)")
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|\s*([^\n]*)$", table, re.MULTILINE)
    return [(name, rest.startswith(readme_tables.UNRELEASED)) for name, rest in rows]


def snippet_inputs(readme: str) -> list[str]:
    """The module arguments the README's Usage snippet (its first ```hcl block under "## Usage") sets."""
    heading = re.search(r"^## Usage\s*$", readme, re.MULTILINE)
    block = (
        re.compile(r"^```hcl\s*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL).search(readme, heading.end())
        if heading
        else None
    )
    if block is None:
        return []
    names = re.findall(r"^  ([a-z_][a-z0-9_]*)\s*=", block.group(1), re.MULTILINE)  # the module block's own level
    return [name for name in names if name not in ("source", "version", "providers", "count", "for_each")]


def problems(root: Path = ROOT) -> list[str]:
    """Every disagreement, each a sentence saying what to fix; empty when the release is consistent."""
    found: list[str] = []
    try:
        current = version(root)
    except ValueError as error:
        return [str(error)]
    changelog = (root / "CHANGELOG.md").read_text()
    readme = (root / "README.md").read_text()

    newest = newest_release(changelog)
    if newest != current:
        found.append(
            f"CHANGELOG.md's newest release heading is {newest!r} but __version__ is {current!r} ({VERSION_FILE}): "
            f"a release renames ## [Unreleased] to ## [{current}] - <date> and sets __version__ to the same version"
        )

    pins = readme_pins(readme)
    if pins != {f"v{current}"}:
        found.append(
            f"README.md pins ?ref= {sorted(pins) or 'nothing'}, but __version__ is {current!r}: "
            f"every ?ref= must be v{current}"
        )

    manifest = manifest_path(root, current)
    if not manifest.exists():
        found.append(
            f"{manifest.relative_to(root)} is missing: the inputs of release {current} are unknown "
            f"(write it from the release commit's variables.tf: make release-manifest)"
        )
        return found
    released = readme_tables.released_inputs(manifest)
    for name in snippet_inputs(readme):
        if name not in released:
            found.append(
                f"README.md's Usage snippet pins v{current} but sets {name!r}, which release {current} lacks "
                f"({manifest.relative_to(root)}): a user's terraform init + plan of it fails"
            )
    for name, marked in documented_inputs(readme):
        if name not in released and not marked:
            found.append(
                f"README.md documents the input {name!r}, which release {current} lacks "
                f"({manifest.relative_to(root)}), without marking it unreleased: run make docs"
            )
        elif name in released and marked:
            found.append(
                f"README.md marks the input {name!r} unreleased, but release {current} has it "
                f"({manifest.relative_to(root)}): run make docs"
            )
    return found


def write_manifest(root: Path = ROOT) -> Path:
    """docs/releases/<__version__>-inputs.txt from variables.tf as it is now (run in the release commit)."""
    current = version(root)
    path = manifest_path(root, current)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [block.name for block in readme_tables.parse(root / "variables.tf", "variable")]
    path.write_text(
        f"# The inputs of ecr-scan-reporter {current} (variables.tf of its release commit), one a line.\n"
        f"# Written by make release-manifest; read by make release-check and make docs.\n" + "\n".join(names) + "\n"
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--write-manifest", action="store_true", help="write docs/releases/<version>-inputs.txt")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.write_manifest:
        print(f"wrote {write_manifest(root).relative_to(root)}")
        return 0
    found = problems(root)
    for problem in found:
        print(f"release-check: {problem}", file=sys.stderr)
    if found:
        return 1
    print(f"release-check: {version(root)} agrees: __version__, CHANGELOG.md, README.md's ?ref= and its inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
