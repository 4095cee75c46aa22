"""report/exposure.py: images the sweep recorded as ones ECR cannot scan (artifacts, issue 26) are counted apart in the
text, JSON and HTML reports, never as not covered (never scanned, failed or stale)."""

from __future__ import annotations

import json

from ecr_scan_reporter.report import exposure
from report.test_exposure import DAY, NOW, Rec, build, digest

ARTIFACTS = [
    Rec(
        "team/app", digest(11), "NOT_SCANNABLE", None, image_tags=("sha256-ab.sig",), failure_reason="cosign signature"
    ),
    Rec("team/app", digest(12), "NOT_SCANNABLE", NOW - 40 * DAY, failure_reason="UnsupportedImageTypeException"),
    Rec("charts/app", digest(13), "NOT_SCANNABLE", None, image_tags=("1.0.0",)),
]
IMAGES = [
    Rec("team/app", digest(1), "COMPLETE", NOW - DAY, image_tags=("v1",)),
    Rec("team/app", digest(2), "COMPLETE", NOW - 10 * DAY),
    Rec("team/app", digest(3), "IN_PROGRESS", None),
]


def test_artifacts_are_counted_apart_and_leave_the_coverage_alone() -> None:
    with_artifacts, without = build([*IMAGES, *ARTIFACTS]), build(IMAGES)
    assert with_artifacts.not_scannable == 3
    assert (with_artifacts.images, with_artifacts.coverage) == (without.images, without.coverage)
    assert with_artifacts.coverage == {"never_scanned": 1, "failed": 0, "stale": 1, "fresh": 1}
    assert [i.digest for i in with_artifacts.uncovered] == [digest(3), digest(2)]
    assert [(r.repository, r.images) for r in with_artifacts.repositories] == [("team/app", 3)]  # no charts/app row


def test_the_json_summary_gains_the_count_and_keeps_every_key() -> None:
    doc = json.loads(exposure.render_json(build([*IMAGES, *ARTIFACTS])))
    before = json.loads(exposure.render_json(build(IMAGES)))
    assert doc["summary"]["not_scannable"] == 3
    assert before["summary"]["not_scannable"] == 0
    assert set(doc["summary"]) == set(before["summary"])
    assert doc["not_covered_total"] == before["not_covered_total"] == 2


def test_the_text_and_html_say_how_many_images_ecr_cannot_scan() -> None:
    report = build([*IMAGES, *ARTIFACTS])
    text = exposure.render_text(report)
    assert "Not scannable:    3 artifact(s) ECR cannot scan" in text
    html = exposure.render_html(report)
    assert "Not scannable" in html
    assert "3</" in html.split("Not scannable")[0][-200:] + html.split("Not scannable")[1][:200]
    assert "Not scannable" not in exposure.render_text(build(IMAGES))  # nothing to say: no line
