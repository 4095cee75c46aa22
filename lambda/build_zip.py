"""Build the Lambda deployment zip reproducibly (stdlib only).

Only the package's ``.py`` sources go in, sorted, with a fixed timestamp (1980-01-01) and fixed permissions
(0644), deflated at a fixed level: two builds of the same sources are byte-identical, so the committed zip can be
checked against the sources and Terraform's ``source_code_hash`` only changes when the code does.

    python lambda/build_zip.py [--output PATH] [--check]
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "ecr_scan_reporter"
DEFAULT_OUTPUT = HERE / "dist" / "ecr-scan-reporter.zip"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def sources(package: Path = PACKAGE) -> list[Path]:
    return sorted(
        (p for p in package.rglob("*.py") if "__pycache__" not in p.parts),
        key=lambda p: p.relative_to(package.parent).as_posix(),
    )


def build(package: Path = PACKAGE) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sources(package):
            info = zipfile.ZipInfo(path.relative_to(package.parent).as_posix(), date_time=FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if the zip at --output differs from a build")
    args = parser.parse_args(argv)
    data = build()
    if args.check:
        if not args.output.exists() or args.output.read_bytes() != data:
            print(f"{args.output} is out of date with the sources: run `make package` and commit it", file=sys.stderr)
            return 1
        print(f"{args.output} matches the sources ({len(data)} bytes)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
