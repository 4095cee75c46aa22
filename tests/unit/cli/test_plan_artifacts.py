"""`plan` counts the artifacts ECR cannot scan (issue 26): as `not_scannable` among the images' counts, and with
`--budget` apart from what the budget ranks (moto, its DescribeImages given the media types ECR reports)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ecr_fakes import push

from ecr_scan_reporter import cli
from ecr_scan_reporter.core import aws
from ecr_scan_reporter.sweep import plan_counts

SIGNATURE_TAG = "sha256-" + "ab" * 32 + ".sig"


@pytest.fixture
def registry(moto: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """team/app: two never-scanned images, a cosign signature (by its tag) and a Helm chart (by its media type)."""
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/app")
    digests = {
        "image": push(ecr, "team/app", 1, "v1"),
        "other": push(ecr, "team/app", 2),
        "signature": push(ecr, "team/app", 3, SIGNATURE_TAG),
        "chart": push(ecr, "team/app", 4, "1.0.0"),
    }

    class WithMediaTypes:  # moto leaves artifactMediaType out
        def __getattr__(self, name: str) -> Any:
            return getattr(ecr, name)

        def describe_images(self, **kwargs: Any) -> Any:
            response = ecr.describe_images(**kwargs)
            for detail in response["imageDetails"]:
                chart = detail["imageDigest"] == digests["chart"]
                detail["artifactMediaType"] = (
                    "application/vnd.cncf.helm.config.v1+json" if chart else "application/vnd.oci.image.config.v1+json"
                )
            return response

    real = aws.client
    monkeypatch.setattr(aws, "client", lambda s, **kw: WithMediaTypes() if s == "ecr" else real(s, **kw))
    return digests


def test_plan_counts_the_artifacts_apart(registry: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "images: 4 considered, 2 to scan (2 never scanned, 0 expired), 0 fresh, 0 in flight, "
        "2 not scannable (artifacts ECR cannot scan)"
    )
    assert cli.main(["plan", "--output", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {i["digest"] for i in doc["images"]} == {registry["image"], registry["other"]}
    assert doc["counts"]["images"]["not_scannable"] == 2
    assert "not_scannable" in plan_counts.OTHER


def test_a_budget_plan_leaves_the_artifacts_out_and_says_how_many(
    registry: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["plan", "--budget", "10", "--output", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {i["digest"] for i in doc["images"]} == {registry["image"], registry["other"]}
    assert doc["budget"]["classes"]["never_scanned"]["due"] == 2
    assert doc["counts"]["images"] == {"not_scannable": 2}
    assert cli.main(["plan", "--budget", "10"]) == 0
    assert "2 image(s) not scannable (artifacts ECR cannot scan): never in the budget" in capsys.readouterr().out
