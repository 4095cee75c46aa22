"""report/org.py: the organization report as a pure merge of the spokes' latest exposure reports (the documents
exposure.py writes), with missing spokes, an older report version, duplicates and documents that cannot be read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.report import exposure, org

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WEEK = 7 * DAY
A, B, C = "111111111111/eu-west-1", "111111111111/us-east-1", "222222222222/eu-west-1"


class Rec:
    """A ledger record as exposure.build reads it."""

    def __init__(self, repository: str, n: int, completed: datetime | None, breached: tuple[str, ...] = (),
                 findings: dict[str, str] | None = None, status: str = "COMPLETE") -> None:  # fmt: skip
        self.registry_id, self.repository, self.digest = "111111111111", repository, f"sha256:{n:064x}"
        self.image_tags, self.scan_status, self.scan_completed_at = ("v1",), status, completed
        self.findings, self.suppressed_findings, self.breached = findings or {}, {}, breached


def spoke_document(region: str, records: list[Rec], generated: datetime = NOW - DAY) -> dict[str, Any]:
    """A spoke's latest.json, as the report function writes it (exposure.render_json)."""
    built = exposure.build(records, generated, scan_expiry_days=7, thresholds={"CRITICAL": 0, "HIGH": 0},
                           region=region)  # fmt: skip
    return json.loads(exposure.render_json(built))


def two_spokes() -> list[org.SpokeInput]:
    a = spoke_document("eu-west-1", [
        Rec("team/app", 1, NOW - 2 * DAY, ("CRITICAL",), {"CVE-1": "CRITICAL", "CVE-2": "HIGH"}),
        Rec("team/app", 2, NOW - 20 * DAY, ("HIGH",), {"CVE-2": "HIGH"}),  # stale: not covered, the oldest scan
        Rec("team/api", 3, None),  # never scanned
    ])  # fmt: skip
    b = spoke_document("us-east-1", [
        Rec("web", 4, NOW - 3 * DAY, ("CRITICAL",), {"CVE-1": "CRITICAL"}),
        Rec("web", 5, NOW - 3 * DAY),
    ])  # fmt: skip
    return [org.SpokeInput(A, a), org.SpokeInput(B, b)]


def test_two_spokes_merge_per_account_and_region_with_the_organizations_totals_and_top_findings() -> None:
    report = org.merge(two_spokes(), NOW, expected=[A, B], report_period=WEEK)
    rows = {row.spoke: row for row in report.spokes}
    assert set(rows) == {A, B}
    a = rows[A]
    assert (a.account, a.region, a.status, a.expected) == ("111111111111", "eu-west-1", "reporting", True)
    assert (a.repositories, a.images, a.images_in_breach, a.not_covered) == (2, 3, 2, 2)
    assert a.breached == {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 0}
    assert a.oldest_scan == NOW - 20 * DAY
    assert (rows[B].images, rows[B].not_covered, rows[B].oldest_scan) == (2, 0, NOW - 3 * DAY)
    totals = report.totals
    assert (totals["spokes_reporting"], totals["spokes_silent"], totals["images"], totals["images_in_breach"]) == (
        2, 0, 5, 3,
    )  # fmt: skip
    assert totals["breached"] == {"CRITICAL": 2, "HIGH": 1, "MEDIUM": 0, "LOW": 0}
    assert (totals["repositories"], totals["not_covered"], totals["oldest_scan"]) == (3, 2, "2026-11-17T08:00:00Z")
    assert [f.to_json() for f in report.findings] == [
        {"id": "CVE-1", "severity": "CRITICAL", "images": 2, "repositories": 2, "spokes": 2},
        {"id": "CVE-2", "severity": "HIGH", "images": 2, "repositories": 1, "spokes": 1},
    ]
    assert report.spokes[0].spoke == A  # the most exposed first


def test_an_expected_spoke_that_never_reported_is_silent_and_makes_the_report_an_alert() -> None:
    report = org.merge(two_spokes(), NOW, expected=[A, B, C], report_period=WEEK)
    [silent] = report.rows("silent")
    assert (silent.spoke, silent.reason, silent.generated_at) == (C, "never reported", None)
    assert report.spokes[0].spoke == C  # silent spokes first
    message = org.notification(report)
    assert message.attributes["event_type"] == "organization_silent_spokes"
    assert message.subject.startswith("1 SILENT SPOKE(S).")
    assert f"{C}: never reported" in message.message["email"]
    doc = json.loads(message.message["sqs"])
    assert [s["spoke"] for s in doc["silent_spokes"]] == [C]
    assert doc["summary"]["spokes_silent"] == 1
    assert C in json.loads(message.chat)["content"]["description"]


def test_a_spoke_older_than_two_report_periods_is_silent_one_within_them_is_not() -> None:
    old = spoke_document("eu-west-1", [Rec("a", 1, NOW - 20 * DAY)], generated=NOW - 2 * WEEK - timedelta(seconds=1))
    edge = spoke_document("us-east-1", [Rec("b", 2, NOW - DAY)], generated=NOW - 2 * WEEK)
    report = org.merge([org.SpokeInput(A, old), org.SpokeInput(B, edge)], NOW, expected=[A, B], report_period=WEEK)
    assert [(r.spoke, r.status) for r in report.spokes] == [(A, "silent"), (B, "reporting")]
    assert "more than 14 days ago" in (report.spokes[0].reason or "")
    assert report.totals["images"] == 2  # a silent spoke's last known figures still count (its row says how old)
    hourly = org.merge([org.SpokeInput(B, edge)], NOW, report_period=timedelta(hours=1))
    assert hourly.spokes[0].status == "silent"


def test_without_a_silent_spoke_the_report_is_no_alert() -> None:
    message = org.notification(org.merge(two_spokes(), NOW, expected=[A], report_period=WEEK))
    assert message.attributes == {"event_type": "organization_report", "highest_severity": "CRITICAL"}
    assert "SILENT" not in message.subject


def test_a_spoke_not_expected_still_counts() -> None:
    report = org.merge(two_spokes(), NOW, expected=[A], report_period=WEEK)
    assert {(r.spoke, r.expected, r.status) for r in report.spokes} == {(A, True, "reporting"), (B, False, "reporting")}


def test_an_older_report_version_without_the_newer_keys_is_read_from_what_it_has() -> None:
    older = spoke_document("eu-west-1", [Rec("a", 1, NOW - 20 * DAY), Rec("a", 2, NOW - 9 * DAY)])
    del older["summary"]["oldest_scan"]  # a spoke on a release before oldest_scan
    del older["summary"]["records_of_deleted_repositories"]
    row = org.merge([org.SpokeInput(A, older)], NOW).spokes[0]
    assert (row.status, row.version, row.images) == ("reporting", 1, 2)
    assert row.oldest_scan == NOW - 20 * DAY  # from its not_covered rows (both images are stale)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"version": 2, "type": "report", "summary": {}}, "report version 2 is not one this hub reads (1)"),
        ({"version": 0, "type": "report", "summary": {}}, "report version 0 is not one this hub reads"),
        ({"version": "1", "type": "report", "summary": {}}, "report version '1' is not one"),
        ({"version": 1, "type": "threshold_breached"}, "is not an exposure report"),
        ({"version": 1, "type": "report", "generated_at": "yesterday", "summary": {}}, "is not an ISO time"),
        ({"version": 1, "type": "report", "generated_at": "2026-12-06T00:00:00Z", "summary": {"images": -1}},
         "images is -1, not a count"),
        (["not", "an", "object"], "not a JSON object"),
    ],
)  # fmt: skip
def test_a_document_this_hub_cannot_read_is_listed_with_the_reason_not_dropped(document: Any, reason: str) -> None:
    report = org.merge([*two_spokes(), org.SpokeInput(C, document)], NOW, expected=[A, B, C])
    [unreadable] = report.rows("unreadable")
    assert unreadable.spoke == C
    assert reason in (unreadable.reason or "")
    assert report.totals["images"] == 5  # the others' figures, not the unreadable one's
    doc = org.to_document(report)
    assert [s["spoke"] for s in doc["unreadable_spokes"]] == [C]
    assert reason in org.render_text(report)


def test_a_document_that_was_not_json_is_unreadable_too() -> None:
    report = org.merge([org.SpokeInput(A, error="not JSON: Expecting value")], NOW, expected=[A])
    assert [(r.status, r.reason) for r in report.spokes] == [("unreadable", "not JSON: Expecting value")]


def test_a_spoke_given_twice_counts_once_the_newest_wins() -> None:
    newer = spoke_document("eu-west-1", [Rec("a", 1, NOW - DAY), Rec("a", 2, NOW - DAY)], generated=NOW - DAY)
    older = spoke_document("eu-west-1", [Rec("a", 1, NOW - 9 * DAY)], generated=NOW - 3 * DAY)
    for order in ([newer, older], [older, newer]):
        report = org.merge([org.SpokeInput(A, d) for d in order], NOW, expected=[A])
        assert [(r.spoke, r.images) for r in report.spokes] == [(A, 2)]
        assert report.totals["duplicates"] == 1
    broken = org.merge([org.SpokeInput(A, newer), org.SpokeInput(A, {"type": "x"})], NOW)
    assert [(r.status, r.images) for r in broken.spokes] == [("reporting", 2)]  # a readable report beats a broken one


def test_findings_of_a_spoke_are_added_up_the_most_severe_severity_kept_malformed_rows_skipped() -> None:
    a = spoke_document("eu-west-1", [Rec("a", 1, NOW - DAY, findings={"CVE-9": "MEDIUM"})])
    b = spoke_document("us-east-1", [Rec("b", 2, NOW - DAY, findings={"CVE-9": "HIGH"})])
    b["top_findings"].append({"severity": "LOW"})  # no id
    report = org.merge([org.SpokeInput(A, a), org.SpokeInput(B, b)], NOW)
    assert [f.to_json() for f in report.findings] == [
        {"id": "CVE-9", "severity": "HIGH", "images": 2, "repositories": 2, "spokes": 2}
    ]


def test_no_spoke_at_all_is_an_empty_report_not_an_error() -> None:
    report = org.merge([], NOW)
    assert report.totals["images"] == 0
    assert report.totals["oldest_scan"] is None
    assert "none" in org.render_text(report)


def test_the_report_fits_one_sns_message_with_many_spokes_and_every_silent_one_named() -> None:
    inputs = [
        org.SpokeInput(f"{i:012d}/eu-west-1", spoke_document("eu-west-1", [Rec("r", i, NOW - DAY)])) for i in range(400)
    ]
    expected = [f"{i:012d}/us-east-1" for i in range(300)]  # none of them reported
    message = org.notification(org.merge(inputs, NOW, expected=expected))
    assert sns_message.message_bytes(message) <= sns_message.SNS_MAX_BYTES
    doc = json.loads(message.message["sqs"])
    assert len(doc["silent_spokes"]) == 300
    assert doc["spokes_total"] == 400
    assert len(message.subject) <= sns_message.SUBJECT_MAX


def test_html_names_every_spoke_and_escapes() -> None:
    document = spoke_document("eu-west-1", [Rec("a", 1, NOW - DAY, findings={"<b>CVE": "HIGH"})])
    page = org.render_html(org.merge([org.SpokeInput(A, document)], NOW, expected=[A, C]))
    assert A in page
    assert C in page
    assert "&lt;b&gt;CVE" in page
    assert "<b>CVE" not in page


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        org.merge([], datetime(2026, 12, 7))
