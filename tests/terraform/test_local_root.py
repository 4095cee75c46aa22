"""``make local-plan`` (tests/local_root.py) copies a user's root without touching it: relative module sources
still reach their directory, each aws provider gets the emulators' credentials, a backend becomes a local state.
Planning a root outside the repository on the emulators runs in ``make plan-examples`` (plan_examples.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import local_root  # tests/local_root.py, through the path set above

ROOT_TF = """terraform {
  backend "s3" {
    bucket = "state"
    key    = "x"
  }
}

provider "aws" {
  profile = "prod"
  region  = "eu-west-1"
}

provider "aws" {
  alias  = "us"
  region = "us-east-1"
  default_tags {
    tags = { a = "b" }
  }
}

module "ecr_scan_reporter" {
  source = "../ecr-scan-reporter"
}

module "remote" {
  source = "git::https://example.com/x.git?ref=v1"
}
"""


@pytest.fixture
def user_root(tmp_path: Path) -> Path:
    (tmp_path / "platform" / "ecr-scan-reporter").mkdir(parents=True)
    root = tmp_path / "platform" / "my-root"
    root.mkdir(parents=True)
    (root / "main.tf").write_text(ROOT_TF)
    (root / "terraform.tfstate").write_text("{}")
    (root / ".terraform").mkdir()
    return root


def test_the_copy_reaches_the_same_modules_and_the_root_is_untouched(user_root: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in user_root.rglob("*") if p.is_file()}
    copy = local_root.copy_root(user_root, tmp_path / "work" / "deep" / "root")
    assert {p: p.read_bytes() for p in user_root.rglob("*") if p.is_file()} == before
    text = (copy / "main.tf").read_text()
    source = text.split('module "ecr_scan_reporter" {\n  source = "', 1)[1].split('"', 1)[0]
    assert (copy / source).resolve() == (user_root.parent / "ecr-scan-reporter").resolve()
    assert 'source = "git::https://example.com/x.git?ref=v1"' in text
    assert not (copy / "terraform.tfstate").exists()
    assert not (copy / ".terraform").exists()


def test_every_aws_provider_gets_fake_credentials_and_the_backend_a_local_state(
    user_root: Path, tmp_path: Path
) -> None:
    copy = local_root.copy_root(user_root, tmp_path / "root")
    text = (copy / local_root.OVERRIDE).read_text()
    assert text.count('provider "aws" {') == 2
    assert 'alias      = "us"' in text
    assert text.count('access_key = "test"') == 2
    assert f'backend "local" {{\n    path = "{copy / "terraform.tfstate"}"' in text


def test_a_root_without_provider_or_backend_gets_neither(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "main.tf").write_text('module "m" {\n  source = "./m"\n}\n')
    text = (local_root.copy_root(tmp_path / "r", tmp_path / "c") / local_root.OVERRIDE).read_text()
    assert "provider" not in text
    assert "backend" not in text


def test_a_directory_without_tf_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(local_root.LocalRootError, match="not a Terraform root"):
        local_root.copy_root(tmp_path, tmp_path / "c")


def test_down_without_running_emulators_says_so(tmp_path: Path) -> None:
    assert local_root.down(tmp_path) == "no emulators running for this root (nothing to take down)"
