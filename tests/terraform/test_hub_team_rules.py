"""The hub refuses a bad team at plan time with the root module's own rules.

modules/hub checks its ``teams`` with the root module itself (``module.team_rules``: the root module with
``create = false``, which creates nothing), so the organization's teams are refused where they are defined, with
the messages a spoke would give. ``terraform test`` cannot expect a failure of a child module's variable, so each
case is a test file of ``modules/hub/tests/refused/`` that fails on purpose; this runs them (offline: the mocked
provider) and checks that every one fails, with its rule's message, on the module call.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "modules" / "hub"
REFUSED = HUB / "tests" / "refused"

# case (file stem) -> a fragment of the root module's message for it
EXPECTED = {
    "name_upper_case": 'Each team needs a name of 1-40 characters: lower-case letters, digits, hyphens (-) and underscores (_), starting with a letter or digit (it becomes part of the topic names <name_prefix>-<name> and <name_prefix>-<name>-chat); "unowned" is reserved for the repositories no team owns. Refused: teams[0] "Payments".',  # noqa: E501
    "names_duplicated": "Each team's name must be unique; given more than once: payments.",
    # The hub's own topics are named as the root module's (<name_prefix>-notifications, -chat, -<team>-chat).
    "name_collides_with_a_hub_topic": "Team names must not give two created topics one name",
    "key_misspelt": "Unknown key(s) in teams: teams[0] (payments): severity_threshold.",
    "threshold_negative": "Each value of a team's severity_thresholds (critical, high, medium, low) must be a non-negative whole number",  # noqa: E501
    "regex_look_ahead": "A team's repository_regex is not a valid regular expression",
    "regex_nested_quantifier": "A team's repository_regex repeats a group that holds a quantifier",
    "subscription_endpoint_unfit": "Each of a team's subscriptions needs a protocol",
}


def _sections(output: str) -> dict[str, str]:
    """terraform test's output, by test file stem; messages (which Terraform wraps at 80 columns) on one line."""
    parts = re.split(r"^tests/refused/([a-z_]+)\.tftest\.hcl\.\.\. in progress$", output, flags=re.MULTILINE)
    return {parts[i]: re.sub(r"(?<=\S)\n(?=\S)", " ", parts[i + 1]) for i in range(1, len(parts) - 1, 2)}


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    work = tmp_path_factory.mktemp("hub-team-rules")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env |= {"TF_IN_AUTOMATION": "1", "TF_DATA_DIR": str(work / "data")}
    rc = ROOT / ".build" / "terraform.rc"  # the local provider mirror (make tf-rc), else the user's configuration
    if rc.exists():
        env["TF_CLI_CONFIG_FILE"] = str(rc)
    elif "TF_CLI_CONFIG_FILE" in os.environ:
        env["TF_CLI_CONFIG_FILE"] = os.environ["TF_CLI_CONFIG_FILE"]

    def terraform(*args: str) -> subprocess.CompletedProcess[str]:
        # One stream: each file's errors (stderr) stay under its progress lines (stdout).
        return subprocess.run(
            ["terraform", f"-chdir={HUB}", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
            check=False,
        )

    init = terraform("init", "-input=false", "-no-color", "-test-directory=tests/refused")
    assert init.returncode == 0, init.stdout
    proc = terraform("test", "-no-color", "-test-directory=tests/refused")
    assert proc.returncode != 0, f"every case of tests/refused must fail:\n{proc.stdout}"
    return proc.stdout


def test_every_case_is_checked() -> None:
    assert {path.name.removesuffix(".tftest.hcl") for path in REFUSED.glob("*.tftest.hcl")} == set(EXPECTED)


@pytest.mark.parametrize(("case", "message"), sorted(EXPECTED.items()))
def test_the_hub_refuses_a_bad_team_with_the_root_modules_rule(output: str, case: str, message: str) -> None:
    section = _sections(output).get(case)
    assert section is not None, f"{case}: not run\n{output}"
    assert f'run "{case}"... fail' in section, section
    assert 'in module "team_rules"' in section, f"{case}: not refused by the root module's rules\n{section}"
    assert message in section, section
    assert section.count("Error: ") == 1, f"{case}: one error, the rule's\n{section}"
