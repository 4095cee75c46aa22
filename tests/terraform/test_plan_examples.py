"""The root ``make plan-examples`` generates from the README's Usage snippet: the snippet as users copy it, with only
the module's source mapped to this checkout (tests/terraform/plan_examples.py). Planning it needs the emulators and
runs in ``make plan-examples``; these checks of the generation are offline."""

from __future__ import annotations

from pathlib import Path

import plan_examples  # tests/terraform/plan_examples.py: pytest puts this test's directory on sys.path
import pytest

README = """# x

## Usage

```hcl
module "ecr_scan_reporter" {
  source = "{source}"

  kms_key_arn = aws_kms_key.reporter.arn
}
```

## Next

```hcl
module "other" {}
```
"""


@pytest.mark.parametrize(
    "source",
    [
        "git::https://github.com/<org>/ecr-scan-reporter.git?ref=v0.1.0",
        "git::https://github.com/acme/ecr-scan-reporter.git?ref=v0.2.0",
        "git::ssh://git@gitlab.example.com/platform/ecr-scan-reporter.git//?ref=v0.2.0",
        "github.com/acme/ecr-scan-reporter?ref=v0.2.0",
        "acme/ecr-scan-reporter/aws",
        "registry.example.com/acme/ecr-scan-reporter/aws",
    ],
)
def test_the_modules_source_is_mapped_to_the_checkout(source: str) -> None:
    snippet = plan_examples.usage_snippet(README.replace("{source}", source))
    text = plan_examples.localise(snippet, "../../..")
    assert 'source = "../../.."' in text
    assert source not in text
    assert "kms_key_arn = aws_kms_key.reporter.arn" in text  # the rest is what users copy


def test_another_modules_source_is_refused() -> None:
    snippet = plan_examples.usage_snippet(README.replace("{source}", "terraform-aws-modules/sns/aws"))
    with pytest.raises(plan_examples.SnippetError, match="not ecr-scan-reporter"):
        plan_examples.localise(snippet, "../..")


def test_only_the_usage_sections_first_block_is_taken() -> None:
    assert 'module "other"' not in plan_examples.usage_snippet(README)
    with pytest.raises(plan_examples.SnippetError):
        plan_examples.usage_snippet("## Usage\n\nno block\n\n## Next\n\n```hcl\nx\n```\n")


def test_undeclared_resources_are_named_so_an_incomplete_snippet_fails() -> None:
    assert plan_examples.undeclared("kms_key_arn = aws_kms_key.reporter.arn") == ["aws_kms_key.reporter"]
    declared = 'resource "aws_kms_key" "reporter" {}\nkms_key_arn = aws_kms_key.reporter.arn'
    assert plan_examples.undeclared(declared) == []


def test_an_incomplete_snippet_is_refused(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(README.replace("{source}", "acme/ecr-scan-reporter/aws"))
    with pytest.raises(plan_examples.SnippetError, match=r"aws_kms_key\.reporter without declaring it"):
        plan_examples.readme_root(readme, tmp_path / "root")


def test_the_readmes_snippet_becomes_a_root_calling_this_checkout(tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    main = plan_examples.readme_root(plan_examples.ROOT / "README.md", directory)
    text = main.read_text()
    module_path = (directory / text.split('source = "', 1)[1].split('"', 1)[0]).resolve()
    assert module_path == plan_examples.ROOT
    # Exactly the README's snippet: only the source differs.
    snippet = plan_examples.usage_snippet((plan_examples.ROOT / "README.md").read_text())
    source = snippet.split('source = "', 1)[1].split('"', 1)[0]
    relative = text.split('source = "', 1)[1].split('"', 1)[0]
    assert text == snippet.replace(f'source = "{source}"', f'source = "{relative}"')


# --- examples/organization: the spoke is planned against the outputs of the hub's plan -----------------------------

HUB_PLAN = {
    "terraform_version": "1.11.4",
    "output_changes": {
        "spoke_inputs": {
            "after": {
                "topic_arn": "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications",
                "spoke_teams": [
                    {"name": "platform", "renotify_after_days": None, "severity_thresholds": {"critical": 0}}
                ],
            },
            "after_unknown": {"kms_key_arn": True, "spoke_teams": [{"severity_thresholds": {}}]},
        },
        "function_name": {"after": "ecr-scan-hub-org-report", "after_unknown": False},
    },
}


def test_the_spoke_reads_the_outputs_of_the_hubs_plan_with_a_stand_in_for_the_key() -> None:
    state = plan_examples.state_from_plan(HUB_PLAN)
    inputs = state["outputs"]["spoke_inputs"]["value"]
    assert inputs["kms_key_arn"] == "arn:aws:kms:eu-west-1:210987654321:key/00000000-0000-0000-0000-000000000000"
    assert inputs["spoke_teams"] == [
        {"name": "platform", "renotify_after_days": None, "severity_thresholds": {"critical": 0}}
    ]
    assert state["outputs"]["function_name"] == {"value": "ecr-scan-hub-org-report", "type": "string"}
    assert state["version"] == 4
    assert state["outputs"]["spoke_inputs"]["type"][1]["spoke_teams"] == [
        "tuple",
        [
            [
                "object",
                {
                    "name": "string",
                    "renotify_after_days": "dynamic",
                    "severity_thresholds": ["object", {"critical": "number"}],
                },
            ]
        ],
    ]


def test_an_unknown_output_without_a_stand_in_is_refused() -> None:
    plan = {
        "output_changes": {
            "a": {"after": {"topic_arn": "arn:aws:sns:eu-west-1:210987654321:t"}, "after_unknown": {"bucket_arn": True}}
        }
    }
    with pytest.raises(plan_examples.SnippetError, match=r"a\.bucket_arn is unknown"):
        plan_examples.state_from_plan(plan)


def test_the_organization_is_planned_hub_first() -> None:
    assert plan_examples.EXAMPLES.index("organization/hub") < plan_examples.EXAMPLES.index("organization/spoke")
    assert plan_examples.READS_HUB == {"organization/spoke": "organization/hub"}
    for name in plan_examples.EXAMPLES:
        assert (plan_examples.ROOT / "examples" / name / "main.tf").is_file(), name
