"""report/org.py: the organization report as a pure merge of the spokes' latest exposure reports (the documents
exposure.py writes), with missing spokes, an older report version, duplicates and documents that cannot be read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecr_scan_reporter.core import sns_message, teams
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
        self.severity_counts: dict[str, int] = {}
        for severity in (findings or {}).values():
            self.severity_counts[severity] = self.severity_counts.get(severity, 0) + 1


def spoke_document(
    region: str, records: list[Rec], generated: datetime = NOW - DAY, team_names: list[str] | None = None
) -> dict[str, Any]:
    """A spoke's latest.json, as the report function writes it (exposure.render_json); with ``team_names``, a team
    owns the repositories whose name starts with ``<team>/`` (its thresholds: CRITICAL 0 only), with sections."""
    document = None
    if team_names is not None:
        document = teams.parse(teams.document([
            {"name": name, "repository_regex": f"^{name}/", "topic_arn": f"arn:aws:sns:{region}:111111111111:t-{name}",
             "settings": {"severity_thresholds": {"CRITICAL": 0, "HIGH": None, "MEDIUM": None, "LOW": None}}}
            for name in team_names
        ]))  # fmt: skip
    built = exposure.build(records, generated, scan_expiry_days=7, thresholds={"CRITICAL": 0, "HIGH": 0},
                           region=region, teams=document)  # fmt: skip
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


def test_findings_of_the_spokes_are_added_up_the_most_severe_severity_kept() -> None:
    a = spoke_document("eu-west-1", [Rec("a", 1, NOW - DAY, findings={"CVE-9": "MEDIUM"})])
    b = spoke_document("us-east-1", [Rec("b", 2, NOW - DAY, findings={"CVE-9": "HIGH"})])
    report = org.merge([org.SpokeInput(A, a), org.SpokeInput(B, b)], NOW)
    assert [f.to_json() for f in report.findings] == [
        {"id": "CVE-9", "severity": "HIGH", "images": 2, "repositories": 2, "spokes": 2}
    ]


def test_a_malformed_finding_row_makes_its_spoke_unreadable_rather_than_half_counted() -> None:
    # Issue 27: a document is read whole or not at all (a row left out silently was a figure nobody could trust).
    a = spoke_document("eu-west-1", [Rec("a", 1, NOW - DAY, findings={"CVE-9": "MEDIUM"})])
    b = spoke_document("us-east-1", [Rec("b", 2, NOW - DAY, findings={"CVE-9": "HIGH"})])
    b["top_findings"].append({"severity": "LOW"})  # no id
    report = org.merge([org.SpokeInput(A, a), org.SpokeInput(B, b)], NOW)
    assert [(r.spoke, r.status, r.reason) for r in report.rows("unreadable")] == [
        (B, "unreadable", "top_findings[1].id is not a finding id (text of 1-256 characters)")
    ]
    assert [f.to_json() for f in report.findings] == [
        {"id": "CVE-9", "severity": "MEDIUM", "images": 1, "repositories": 1, "spokes": 1}
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


# --- issue 27: one bad spoke cannot stop the organization report ----------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change to a spoke's document: ``value`` at ``path`` (keys and list indexes, dot-separated)."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _without_oldest_scan(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """``change`` on a document without the summary's oldest_scan (an older spoke): not_covered is then read."""

    def both(document: dict[str, Any]) -> None:
        del document["summary"]["oldest_scan"]
        change(document)

    return both


def _from_json(text: str) -> Callable[[dict[str, Any]], None]:
    """The first top finding's images as Python's json.loads reads ``text`` (it accepts Infinity and NaN)."""

    def change(document: dict[str, Any]) -> None:
        document["top_findings"][0]["images"] = json.loads(text)

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        # the shapes that crashed the merge (TypeError, OverflowError): nobody got an organization report
        (_set("top_findings", 7), "top_findings is 7, not a list"),
        (_without_oldest_scan(_set("not_covered", 7)), "not_covered is 7, not a list"),
        (_from_json("Infinity"), "top_findings[0].images is inf, not a count"),
        (_from_json("-Infinity"), "top_findings[0].images is -inf, not a count"),
        # the counts that were summed and hid other spokes' figures
        (_set("top_findings.0.images", -5), "top_findings[0].images is -5, not a count"),
        (_set("summary.coverage.fresh", 99), "summary.coverage.fresh is 99, more than the 2 images"),
        (_set("summary.images_in_breach", 7), "summary.images_in_breach is 7, more than the 2 images"),
        # what was silently read as something else
        (_from_json("NaN"), "top_findings[0].images is nan, not a count"),
        (_set("top_findings.0.images", 1.5), "top_findings[0].images is 1.5, not a count"),
        (_set("top_findings.0.images", True), "top_findings[0].images is True, not a count"),
        (_set("summary.breached", [1, 2]), "summary.breached is not an object"),
        (_set("summary.coverage", "all"), "summary.coverage is not an object"),
        (_set("top_findings.0", "CVE-1"), "top_findings[0] is not an object"),
        (_set("top_findings.0.id", {"a": 1}), "top_findings[0].id is not a finding id"),
        (_set("top_findings.0.id", ""), "top_findings[0].id is not a finding id"),
        (_set("top_findings.0.severity", ["HIGH"]), "top_findings[0].severity is not a severity"),
        (_set("top_findings", None), "top_findings is None, not a list"),
        (_set("generated_at", 20261206), "generated_at 20261206 is not an ISO time"),
        (_set("summary.oldest_scan", ["2026-12-01"]), "oldest_scan ['2026-12-01'] is not an ISO time"),
        (_without_oldest_scan(_set("not_covered.0.last_scan", 5)), "last_scan 5 is not an ISO time"),
        (_set("summary.images", 2**53), "summary.images is 9007199254740992, not a count"),
    ],
)  # fmt: skip
def test_a_field_the_merge_uses_that_is_malformed_makes_that_spoke_unreadable_never_the_report_fail(
    change: Callable[[dict[str, Any]], None], reason: str
) -> None:
    bad = spoke_document("eu-west-1", [
        Rec("x/app", 7, NOW - 20 * DAY, ("CRITICAL",), {"CVE-1": "CRITICAL"}),
        Rec("x/app", 8, NOW - 9 * DAY),
    ])  # fmt: skip
    change(bad)
    report = org.merge([*two_spokes(), org.SpokeInput(C, bad)], NOW, expected=[A, B, C])
    [unreadable] = report.rows("unreadable")
    assert unreadable.spoke == C
    assert reason in (unreadable.reason or ""), unreadable.reason
    totals = report.totals
    assert (totals["images"], totals["images_in_breach"], totals["not_covered"]) == (5, 3, 2)  # A and B alone
    assert [(f.finding_id, f.images, f.spokes) for f in report.findings] == [("CVE-1", 2, 2), ("CVE-2", 2, 1)]
    message = org.notification(report)  # the report is still published, the spoke named with its reason
    assert f"{C}: " in message.message["email"]
    assert reason in message.message["email"]


def test_a_spokes_negative_finding_count_no_longer_hides_another_spokes_findings() -> None:
    # The exploit of summing: spoke C cancels spoke A's CVE-1 out of the organization's most common findings.
    bad = spoke_document("eu-west-1", [Rec("x/app", 7, NOW - DAY, ("CRITICAL",), {"CVE-1": "CRITICAL"})])
    bad["top_findings"][0]["images"] = -2
    report = org.merge([*two_spokes(), org.SpokeInput(C, bad)], NOW)
    assert ("CVE-1", 2) in [(f.finding_id, f.images) for f in report.findings]
    assert [r.spoke for r in report.rows("unreadable")] == [C]


# --- pins (test-gaps 2026-12-07: report/org.py) ---------------------------------------------------------------------


def test_the_most_common_findings_are_ordered_by_images_affected_before_severity() -> None:
    a = spoke_document("eu-west-1", [
        Rec("a", 1, NOW - DAY, findings={"CVE-LOW": "LOW", "CVE-CRIT": "CRITICAL"}),
        Rec("a", 2, NOW - DAY, findings={"CVE-LOW": "LOW"}),
    ])  # fmt: skip
    b = spoke_document("us-east-1", [Rec("b", 3, NOW - DAY, findings={"CVE-LOW": "LOW", "CVE-HIGH": "HIGH"})])
    report = org.merge([org.SpokeInput(A, a), org.SpokeInput(B, b)], NOW)
    assert [(f.finding_id, f.severity, f.images) for f in report.findings] == [
        ("CVE-LOW", "LOW", 3),  # the most images first, whatever its severity
        ("CVE-CRIT", "CRITICAL", 1),  # then, for as many images, the most severe
        ("CVE-HIGH", "HIGH", 1),
    ]


def test_the_spokes_are_ordered_silent_then_unreadable_then_the_most_exposed() -> None:
    quiet = spoke_document("eu-west-1", [Rec("q", 9, NOW - DAY)])
    inputs = [*two_spokes(), org.SpokeInput(C, {"type": "x"}), org.SpokeInput("333333333333/eu-west-1", quiet)]
    report = org.merge(inputs, NOW, expected=[A, B, C, "444444444444/eu-west-1"])
    assert [(r.spoke, r.status) for r in report.spokes] == [
        ("444444444444/eu-west-1", "silent"),
        (C, "unreadable"),
        (A, "reporting"),  # CRITICAL 1, HIGH 1
        (B, "reporting"),  # CRITICAL 1
        ("333333333333/eu-west-1", "reporting"),  # nothing in breach
    ]
    doc = org.to_document(report)
    assert [s["spoke"] for s in doc["silent_spokes"]] == ["444444444444/eu-west-1"]
    assert [s["spoke"] for s in doc["spokes"]] == [A, B, "333333333333/eu-west-1"]


def test_silent_spokes_total_counts_every_silent_spoke_when_the_list_is_capped() -> None:
    expected = [f"{i:012d}/eu-west-1" for i in range(5)]
    report = org.merge(two_spokes(), NOW, expected=expected)
    doc = org.to_document(report, 0, silent_limit=2)
    assert (len(doc["silent_spokes"]), doc["silent_spokes_total"]) == (2, 5)
    assert doc["summary"]["spokes_silent"] == 5


# --- issue 29: the organization's teams, one section each across accounts and regions ----------------------------


def team_spokes() -> list[org.SpokeInput]:
    """Two spokes with teams payments and tools (spoke B also has web), and a third without teams."""
    a = spoke_document("eu-west-1", [
        Rec("payments/api", 1, NOW - DAY, ("CRITICAL",), {"CVE-1": "CRITICAL"}),
        Rec("payments/api", 2, NOW - 20 * DAY, ("HIGH",), {"CVE-2": "HIGH"}),  # stale; HIGH: not payments' breach
        Rec("tools/ci", 3, NOW - DAY),
        Rec("misc", 4, NOW - DAY, ("HIGH",), {"CVE-2": "HIGH"}),  # nobody's: the module's thresholds
    ], team_names=["payments", "tools"])  # fmt: skip
    b = spoke_document("us-east-1", [
        Rec("payments/web", 5, NOW - DAY, ("CRITICAL",), {"CVE-1": "CRITICAL", "CVE-3": "LOW"}),
        Rec("web/site", 6, NOW - DAY, ("CRITICAL",), {"CVE-1": "CRITICAL"}),
    ], team_names=["web", "payments", "tools"])  # fmt: skip
    c = spoke_document("eu-west-1", [Rec("payments/old", 7, NOW - DAY, ("CRITICAL",), {"CVE-1": "CRITICAL"})])
    return [org.SpokeInput(A, a), org.SpokeInput(B, b), org.SpokeInput(C, c)]


def test_one_section_per_team_across_accounts_and_regions_the_hubs_teams_first_then_unowned() -> None:
    report = org.merge(team_spokes(), NOW, teams=["tools", "payments", "ghost"])
    assert [(s.team, s.configured) for s in report.teams] == [
        ("tools", True), ("payments", True), ("ghost", True),  # the hub's teams, in the hub's order
        ("web", False),  # a team only a spoke names
        ("unowned", False),
    ]  # fmt: skip
    payments = report.team("payments")
    assert payments is not None
    assert [r.to_json() for r in payments.spokes] == [
        {"spoke": A, "repositories": 1, "images": 2, "images_in_breach": 1,
         "breached": {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0}, "not_covered": 1},
        {"spoke": B, "repositories": 1, "images": 1, "images_in_breach": 1,
         "breached": {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0}, "not_covered": 0},
    ]  # fmt: skip
    assert payments.totals == {
        "spokes": 2, "repositories": 2, "images": 3, "images_in_breach": 2,
        "breached": {"CRITICAL": 2, "HIGH": 0, "MEDIUM": 0, "LOW": 0}, "not_covered": 1,
    }  # fmt: skip
    assert [f.to_json() for f in payments.findings] == [
        {"id": "CVE-1", "severity": "CRITICAL", "images": 2, "repositories": 2, "spokes": 2},
        {"id": "CVE-2", "severity": "HIGH", "images": 1, "repositories": 1, "spokes": 1},
        {"id": "CVE-3", "severity": "LOW", "images": 1, "repositories": 1, "spokes": 1},
    ]
    ghost = report.team("ghost")
    assert ghost is not None
    assert (ghost.spokes, ghost.totals["images"]) == ([], 0)  # the hub's, named by no spoke
    unowned = report.team("unowned")
    assert unowned is not None
    assert [(r.spoke, r.images, r.images_in_breach) for r in unowned.spokes] == [(A, 1, 1), (B, 0, 0)]
    assert [(r.spoke, r.team_sections) for r in report.without_teams] == [(C, False)]
    assert report.totals["images"] == 7  # the organization's figures are every spoke's, with teams or not


def test_the_document_gains_the_team_keys_only_with_teams() -> None:
    plain = org.to_document(org.merge(two_spokes(), NOW))
    assert set(plain) == {
        "version", "type", "generated_at", "silent_after_hours", "summary", "silent_spokes", "silent_spokes_total",
        "unreadable_spokes", "unreadable_spokes_total", "spokes", "spokes_total", "top_findings", "findings_total",
    }  # fmt: skip
    doc = org.to_document(org.merge(team_spokes(), NOW, teams=["payments"]))
    assert set(doc) - set(plain) == {"teams", "teams_total", "unowned", "spokes_without_teams"}
    assert [t["team"] for t in doc["teams"]] == ["payments", "tools", "web"]
    assert doc["teams"][0]["summary"]["images_in_breach"] == 2
    assert (doc["unowned"]["team"], doc["teams_total"]) == ("unowned", 3)
    assert doc["spokes_without_teams"] == [{"spoke": C, "reason": "no teams (its report has no team sections)"}]
    capped = org.to_document(org.merge(team_spokes(), NOW), 0, team_limit=1)
    assert ([t["team"] for t in capped["teams"]], capped["teams_total"]) == (["payments"], 3)
    assert (capped["teams"][0]["spokes"], capped["teams"][0]["spokes_total"]) == ([], 2)
    text = org.render_text(org.merge(team_spokes(), NOW))
    assert "  payments: 2, 2, 3, 2 (C2, H0, M0, L0), 1" in text
    assert f"  {C}: no teams" in text
    page = org.render_html(org.merge(team_spokes(), NOW))
    assert "<h2>Teams across the organization</h2>" in page
    assert "<td>web</td>" in page


def test_a_spoke_whose_teams_could_not_be_read_is_named_with_the_reason() -> None:
    document = spoke_document("eu-west-1", [Rec("payments/x", 1, NOW - DAY)])
    document["teams_unavailable"] = "the teams document is not the version TEAMS_SHA256 names"
    report = org.merge([*team_spokes()[:2], org.SpokeInput(C, document)], NOW)
    [row] = report.without_teams
    assert (row.spoke, row.teams_unavailable) == (C, document["teams_unavailable"])
    assert "its teams could not be read: the teams document is not the version" in org.render_text(report)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_set("teams", {"payments": {}}), "teams is {'payments': {}}, not a list"),
        (_set("teams.0", "payments"), "teams[0] is not an object"),
        (_set("teams.0.team", "Payments"), "teams[0].team is 'Payments', not a team name"),
        (_set("teams.0.team", "unowned"), "teams[0].team is 'unowned', not a team name"),
        (_set("teams.1.team", "payments"), "teams[1].team 'payments' is listed twice"),
        (_set("teams.0.summary.images", -1), "teams[0].summary.images is -1, not a count"),
        (_set("teams.0.summary.images", 99), "teams[0].summary.images is 99, more than the 4 images of the spoke"),
        (_set("teams.0.summary.breached", None), "teams[0].summary.breached is not an object"),
        (_set("teams.0.top_findings", 3), "teams[0].top_findings is 3, not a list"),
        (_set("teams.0.top_findings.0.images", float("inf")), "teams[0].top_findings[0].images is inf, not a count"),
        (_set("unowned", None), "unowned is not the section of the repositories no team owns"),
        (_set("unowned.team", "payments"), "unowned is not the section of the repositories no team owns"),
        (_set("unowned.summary.coverage.fresh", 50), "unowned.summary.coverage.fresh is 50, more than the 1 images"),
        (_set("teams_unavailable", 5), "teams_unavailable is 5, not text"),
    ],
)  # fmt: skip
def test_a_malformed_team_section_makes_its_spoke_unreadable(
    change: Callable[[dict[str, Any]], None], reason: str
) -> None:
    a, b, c = team_spokes()
    document = dict(a.document)
    change(document)
    report = org.merge([org.SpokeInput(A, document), b, c], NOW, teams=["payments"])
    [unreadable] = report.rows("unreadable")
    assert unreadable.spoke == A
    assert reason in (unreadable.reason or ""), unreadable.reason
    payments = report.team("payments")
    assert payments is not None
    assert [r.spoke for r in payments.spokes] == [B]  # the others' sections still count


def test_a_document_with_sections_but_no_unowned_one_is_refused() -> None:
    a, b, _ = team_spokes()
    document = dict(a.document)
    del document["unowned"]
    report = org.merge([org.SpokeInput(A, document), b], NOW)
    assert [r.spoke for r in report.rows("unreadable")] == [A]


def test_each_team_receives_its_own_organization_wide_report() -> None:
    report = org.merge(team_spokes(), NOW, expected=[A, B, C, "333333333333/eu-west-1"], teams=["payments"])
    message = org.team_notification(report, "payments")
    assert message.attributes == {"event_type": "organization_report", "highest_severity": "CRITICAL",
                                  "team": "payments"}  # fmt: skip
    assert message.subject == "ECR organization report for payments: 2 of 3 images in breach, 2 spokes"
    doc = json.loads(message.message["sqs"])
    assert (doc["version"], doc["type"], doc["team"]) == (1, "organization_report", "payments")
    assert doc["summary"] == {
        "spokes": 2, "spokes_reporting": 3, "spokes_silent": 1, "spokes_unreadable": 0, "repositories": 2,
        "images": 3, "images_in_breach": 2, "breached": {"CRITICAL": 2, "HIGH": 0, "MEDIUM": 0, "LOW": 0},
        "not_covered": 1,
    }  # fmt: skip
    assert [s["spoke"] for s in doc["spokes"]] == [A, B]
    assert doc["top_findings"][0]["id"] == "CVE-1"
    assert doc["silent_spokes"] == [{"spoke": "333333333333/eu-west-1", "generated_at": None,
                                     "reason": "never reported"}]  # fmt: skip
    assert doc["spokes_without_teams"] == [{"spoke": C, "reason": "no teams (its report has no team sections)"}]
    text = message.message["email"]
    assert text.startswith("ECR organization report for team payments, 2026-12-07T08:00:00Z")
    assert "1 spoke(s) silent (no report for more than 14 days) (not in these figures):" in text
    assert f"  {A}: 1, 2, 1 (C1, H0, M0, L0), 1" in text
    with pytest.raises(KeyError):
        org.team_notification(report, "nobody")


def test_a_teams_report_fits_one_sns_message_with_many_spokes() -> None:
    inputs = [
        org.SpokeInput(f"{i:012d}/eu-west-1", spoke_document(
            "eu-west-1", [Rec("payments/x", i, NOW - DAY, ("CRITICAL",), {f"CVE-{i}": "CRITICAL"})],
            team_names=["payments"]))
        for i in range(600)
    ]  # fmt: skip
    report = org.merge(inputs, NOW, expected=[f"{i:012d}/us-east-1" for i in range(300)], teams=["payments"])
    message = org.team_notification(report, "payments")
    assert sns_message.message_bytes(message) <= sns_message.SNS_MAX_BYTES
    doc = json.loads(message.message["sqs"])
    assert (doc["spokes_total"], doc["summary"]["images"], doc["silent_spokes_total"]) == (600, 600, 300)


def test_the_organization_report_fits_one_message_with_hundreds_of_teams() -> None:
    names = [f"team-{i:03d}-{'x' * 30}" for i in range(300)]
    records = [
        Rec(f"{name}/app", i, NOW - DAY, ("CRITICAL",), {f"CVE-{i}": "CRITICAL"}) for i, name in enumerate(names)
    ]
    report = org.merge([org.SpokeInput(A, spoke_document("eu-west-1", records, team_names=names))], NOW)
    message = org.notification(report)
    assert sns_message.message_bytes(message) <= sns_message.SNS_MAX_BYTES
    doc = json.loads(message.message["sqs"])
    assert doc["teams_total"] == 300
    assert len(doc["teams"]) < 300
    assert "more teams (the stored report lists them all)" in message.message["email"]
    assert len(json.loads(org.render_json(report))["teams"]) == 300
