"""Every terraform-compliance feature can fail: a gate that cannot fail proves nothing.

Each non-compliant fixture plan under fixtures/ must make terraform-compliance exit non-zero with exactly its
features failing (every other feature passes or has nothing to check); the compliant fixture must pass with every
feature actually checking something (no feature skipped). The features judge the module's resources only (by its
tag, or by address where a resource cannot carry tags): a user's plan with resources of their own that break every
feature still passes. The real plan of examples/complete is gated by ``make compliance`` itself.

The fixtures are hand-written, minimal ``terraform show -json`` documents (only the keys terraform-compliance
reads). They are stored pretty-printed for reading; each run gets a one-line copy, because terraform-compliance
reads only the second line of a multi-line plan file and rewrites the file it was given.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FEATURES = HERE / "features"
FIXTURES = HERE / "fixtures"
GOOD = "good_minimal"
# The module's compliant resources beside a user's own resources that break every feature: must pass.
USER_PLAN = "user_plan_with_own_resources"

# fixture -> the feature it must fail (and why)
EXPECTED_FAILURE = {
    "sns_topic_unencrypted": "encryption_at_rest",  # kms_master_key_id null
    "sqs_queue_unencrypted": "encryption_at_rest",  # no key and SQS-managed SSE off
    "sqs_queue_existing_unencrypted": "encryption_at_rest",  # an applied queue: key "" and SQS-managed SSE off
    "sqs_queue_key_unknown": "encryption_at_rest",  # key unknown at plan time: absent from the plan
    "queue_without_dead_letter_queue": "dead_letter_queue",  # a work queue with no redrive_policy
    "queue_name_unknown": "dead_letter_queue",  # name_prefix: the name, hence the exemption, is unknown
    "iam_wildcard_action": "iam_least_privilege",  # "sqs:*" in a role policy
    "iam_policy_unknown": "iam_least_privilege",  # the policy document is not in the plan
    "iam_report_policy_wildcard": "iam_least_privilege",  # only the report function's policy has "s3:*"
    "log_group_never_expires": "log_retention",  # retention_in_days 0
    "module_tag_not_in_tags_all": "tags",  # tags_all unknown when planning
    "deprecated_runtime": "lambda_runtime",  # python3.9
}

# Real plans (terraform show -json of a root calling the module, planned on the emulators), trimmed to the keys,
# queues, topic and role policies: terraform-compliance reads a key created in the same plan as its address
# ("aws_kms_key.reporter") from the plan's configuration, which a hand-written plan would miss.
# - kms_key_arn naming a key the root creates: the queues and topic are encrypted with a KMS key (passes), but the
#   functions' policies, which name the key, cannot be read: the IAM feature fails, with the way out.
# - the default deployment: the module creates its topic's own key (alarms notify the topic) in the same plan, and
#   the root has an unencrypted queue of its own without a dead-letter queue: passes.
KMS_SAME_PLAN = "kms_key_created_in_same_plan"
KMS_SAME_PLAN_FAILS = frozenset({"iam_least_privilege"})
MODULE_TOPIC_KEY = "module_topic_key_in_same_plan"
# What the user reads next to the failure: how to get a plan the gate can judge.
KMS_ADVICE = "terraform apply -target=<the key's address> first, then plan again"


@dataclass(frozen=True)
class Result:
    returncode: int
    output: str
    failed: frozenset[str]  # features with a failed step
    checked: frozenset[str]  # features with at least one scenario whose steps all passed


def _terraform_compliance() -> str:
    candidates = [os.environ.get("TERRAFORM_COMPLIANCE"), str(Path(sys.executable).with_name("terraform-compliance"))]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("terraform-compliance")
    if not found:
        pytest.skip("terraform-compliance is not installed (make venv)")
    return found


def run_features(plan: Path, workdir: Path, *options: str) -> Result:
    """Run every feature on ``plan``; report which features failed and which checked something."""
    workdir.mkdir(parents=True, exist_ok=True)
    one_line = workdir / "plan.json"
    one_line.write_text(json.dumps(json.loads(plan.read_text())))
    report = workdir / "cucumber.json"
    command = [_terraform_compliance(), "--no-ansi", "-f", str(FEATURES), "-p", str(one_line)]
    proc = subprocess.run(
        [*command, f"--cucumber-json={report}", *options],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    features = json.loads(report.read_text()) if report.exists() else []
    failed, checked = set(), set()
    for feature in features:
        name = Path(feature["uri"]).stem
        for scenario in feature.get("elements", []):
            statuses = {step["result"]["status"] for step in scenario.get("steps", [])}
            if "failed" in statuses:
                failed.add(name)
            elif statuses == {"passed"}:
                checked.add(name)
    return Result(proc.returncode, output, frozenset(failed), frozenset(checked))


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    """terraform-compliance on every fixture, a few at a time (each run takes a second or two)."""
    workdir = tmp_path_factory.mktemp("compliance")
    names = sorted(path.stem for path in FIXTURES.glob("*.json"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = pool.map(lambda name: run_features(FIXTURES / f"{name}.json", workdir / name), names)
        return dict(zip(names, runs, strict=True))


def _feature_names() -> set[str]:
    return {path.stem for path in FEATURES.glob("*.feature")}


def test_every_feature_has_a_fixture_that_fails_it() -> None:
    assert set(EXPECTED_FAILURE.values()) == _feature_names()
    assert {path.stem for path in FIXTURES.glob("*.json")} == set(EXPECTED_FAILURE) | {
        GOOD,
        USER_PLAN,
        KMS_SAME_PLAN,
        MODULE_TOPIC_KEY,
    }


def test_every_feature_says_it_judges_the_module_only() -> None:
    for feature in FEATURES.glob("*.feature"):
        assert "Judges only the ecr-scan-reporter module's" in feature.read_text(), feature.name


def test_users_own_resources_do_not_fail_the_gate(results: dict[str, Result]) -> None:
    """Unencrypted queues and topics, wildcard policies, old runtimes of the user's own: not the module's to judge."""
    result = results[USER_PLAN]
    assert result.returncode == 0, result.output
    assert result.failed == frozenset(), result.output
    assert result.checked == _feature_names(), f"features that checked nothing: {_feature_names() - result.checked}"


def test_default_deployment_with_the_modules_own_topic_key_passes(results: dict[str, Result]) -> None:
    result = results[MODULE_TOPIC_KEY]
    assert result.returncode == 0, result.output
    assert result.failed == frozenset(), result.output
    assert {"encryption_at_rest", "iam_least_privilege", "dead_letter_queue", "tags"} <= result.checked


def test_key_created_in_the_same_plan_gets_actionable_advice(tmp_path: Path) -> None:
    """Even with --silent (only failures printed), the advice is printed with each failure."""
    result = run_features(FIXTURES / f"{KMS_SAME_PLAN}.json", tmp_path, "--silent")
    assert result.returncode != 0, result.output
    assert result.failed == KMS_SAME_PLAN_FAILS, result.output
    for feature in KMS_SAME_PLAN_FAILS:
        section = result.output.split(f"{feature}.feature", 1)[1].split("Feature:", 1)[0]
        assert "Failure:" in section, section
        assert KMS_ADVICE in section, section


def test_compliant_fixture_passes_and_checks_every_feature(results: dict[str, Result]) -> None:
    result = results[GOOD]
    assert result.returncode == 0, result.output
    assert result.failed == frozenset(), result.output
    assert result.checked == _feature_names(), f"features that checked nothing: {_feature_names() - result.checked}"


@pytest.mark.parametrize(("fixture", "feature"), sorted(EXPECTED_FAILURE.items()))
def test_non_compliant_fixture_fails_exactly_its_feature(
    results: dict[str, Result], fixture: str, feature: str
) -> None:
    result = results[fixture]
    assert result.returncode != 0, f"{fixture}: terraform-compliance passed\n{result.output}"
    assert result.failed == {feature}, f"{fixture}: failed {sorted(result.failed)}, expected {feature}"
    assert f"{feature}.feature" in result.output
    assert "Failure:" in result.output


def test_documented_gate_command_pins_the_tested_version() -> None:
    """The README's `pip install terraform-compliance==X` is the version the fixtures above are run with."""
    root = HERE.parents[1]
    pinned = {
        line.split("==", 1)[1].strip()
        for line in (root / "requirements-dev.txt").read_text().splitlines()
        if line.lower().startswith("terraform-compliance==")
    }
    documented = set(
        re.findall(
            r"pip install terraform-compliance==([0-9][0-9.]*)",
            (root / "README.md").read_text() + (root / "docs" / "compliance.md").read_text(),
        )
    )
    assert len(pinned) == 1, pinned
    assert documented == pinned, f"README documents {documented}, requirements-dev.txt pins {pinned}"
    assert '-f "$module_dir/tests/compliance/features" -p plan.json' in (root / "README.md").read_text()
