"""The committed Lambda zip is reproducible, small, and matches the sources."""

from __future__ import annotations

import zipfile
from pathlib import Path

import build_zip  # lambda/build_zip.py (conftest puts lambda/ on sys.path)

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "lambda" / "dist" / "ecr-scan-reporter.zip"


def test_two_builds_are_byte_identical() -> None:
    assert build_zip.build() == build_zip.build()


def test_committed_zip_matches_the_sources() -> None:
    assert COMMITTED.exists(), "run `make package` and commit lambda/dist/ecr-scan-reporter.zip"
    assert COMMITTED.read_bytes() == build_zip.build(), "lambda/dist is stale: run `make package` and commit it"


def test_zip_holds_only_package_sources_with_fixed_metadata() -> None:
    with zipfile.ZipFile(COMMITTED) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert all(n.startswith("ecr_scan_reporter/") and n.endswith(".py") for n in names)
    assert "ecr_scan_reporter/handlers/images.py" in names
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_zip_is_under_250_kb() -> None:
    # The package's own sources only (the test above): the cap catches a stray data file or a vendored library,
    # not the growth of the code (107 KB at 0.2.0; 141 KB with teams and the organization report, before the scan
    # budget and the Security Hub export). Lambda takes 50 MB zipped.
    assert COMMITTED.stat().st_size < 250 * 1024


def test_build_changes_when_a_source_changes(tmp_path: Path) -> None:
    package = tmp_path / "ecr_scan_reporter"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    first = build_zip.build(package)
    (package / "__init__.py").write_text("x = 2\n")
    assert build_zip.build(package) != first
