"""report/exposure.py as a pure function of ledger records: aggregates, coverage, suppressions, renderers, SNS size."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.core.config import DEFAULT_THRESHOLDS
from ecr_scan_reporter.report import exposure

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Rec:
    """The LedgerRecord fields (core/ledger.py's contract), built here without the ledger."""

    repository: str
    digest: str
    scan_status: str = "COMPLETE"
    scan_completed_at: datetime | None = None
    breached: tuple[str, ...] = ()
    findings: Mapping[str, str] = field(default_factory=dict)
    image_tags: tuple[str, ...] = ()
    registry_id: str = "123456789012"
    source: str = "ecr"
    scan_started_at: datetime | None = None
    severity_counts: Mapping[str, int] = field(default_factory=dict)
    notified_type: str | None = None
    notified_at: datetime | None = None
    notified_findings: frozenset[str] = frozenset()
    failure_reason: str | None = None
    suppressed_findings: Mapping[str, str] = field(default_factory=dict)


def digest(i: int) -> str:
    return f"sha256:{i:064x}"


RECORDS = [
    Rec("team/app", digest(1), "COMPLETE", NOW - DAY, ("CRITICAL", "HIGH"), {"CVE-A": "CRITICAL", "CVE-B": "HIGH"},
        ("v1",)),
    Rec("team/app", digest(2), "COMPLETE", NOW - 10 * DAY, ("HIGH",), {"CVE-B": "HIGH"}),
    Rec("team/app", digest(3), "IN_PROGRESS", None, image_tags=("v3",)),
    Rec("team/api", digest(4), "COMPLETE", NOW - 2 * DAY, (), {"CVE-C": "MEDIUM"}, ("2.0",)),
    Rec("team/api", digest(5), "FAILED", NOW - 3 * DAY, image_tags=("2.1",)),
    Rec("other/web", digest(6), "COMPLETE", NOW - DAY, ("CRITICAL",), {"CVE-A": "CRITICAL"}, ("latest",)),
]  # fmt: skip
SUPPRESSIONS = [
    ("CVE-B", NOW + 5 * DAY, "vendor fix pending", "^team/"),
    ("CVE-X", NOW + 30 * DAY, "later", None),
    ("CVE-Y", NOW - DAY, "expired", None),
    ("CVE-Z", NOW + 13 * DAY, "soon <b>&", None),
    ("CVE-N", None, "never expires", ""),
]


def build(records: list[Rec] = RECORDS, **kwargs: object) -> exposure.Report:
    options: dict[str, object] = {
        "scan_expiry_days": 7,
        "thresholds": DEFAULT_THRESHOLDS,
        "suppressions": SUPPRESSIONS,
        "region": "eu-west-1",
        **kwargs,
    }
    return exposure.build(iter(records), NOW, **options)  # type: ignore[arg-type]


def test_totals_breaches_and_coverage() -> None:
    r = build()
    assert (r.images, r.images_in_breach) == (6, 3)
    assert r.breached == {"CRITICAL": 2, "HIGH": 2, "MEDIUM": 0, "LOW": 0}
    assert r.coverage == {"never_scanned": 1, "failed": 1, "stale": 1, "fresh": 3}


def test_repositories_most_exposed_first_with_images_in_breach_by_severity() -> None:
    rows = [(row.repository, row.images, row.in_breach, row.breached, row.coverage) for row in build().repositories]
    assert rows == [
        ("team/app", 3, 2, {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 0, "LOW": 0},
         {"never_scanned": 1, "failed": 0, "stale": 1, "fresh": 1}),
        ("other/web", 1, 1, {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0},
         {"never_scanned": 0, "failed": 0, "stale": 0, "fresh": 1}),
        ("team/api", 2, 0, {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0},
         {"never_scanned": 0, "failed": 1, "stale": 0, "fresh": 1}),
    ]  # fmt: skip


def test_most_common_findings_count_images_and_repositories_suppressed_apart() -> None:
    r = build()
    assert [(f.finding_id, f.severity, f.images, f.repositories, f.suppressed_images) for f in r.findings] == [
        ("CVE-A", "CRITICAL", 2, 2, 0),
        ("CVE-C", "MEDIUM", 1, 1, 0),
        ("CVE-B", "HIGH", 0, 0, 2),  # suppressed in ^team/ until NOW + 5 days
    ]
    assert r.findings_total == 3


def test_a_suppression_covers_only_its_repositories_and_only_while_active() -> None:
    records = [
        Rec("team/app", digest(1), findings={"CVE-B": "HIGH"}),
        Rec("ops/app", digest(2), findings={"CVE-B": "HIGH"}),
    ]
    [row] = build(records).findings
    assert (row.images, row.repositories, row.suppressed_images) == (1, 1, 1)
    [row] = build(records, suppressions=[("CVE-B", NOW - DAY, "expired", "^team/")]).findings
    assert (row.images, row.suppressed_images) == (2, 0)


def test_findings_the_findings_stage_recorded_as_suppressed_are_counted_as_the_suppressions_say_today() -> None:
    # the findings stage records the findings a suppression hid apart (they never reach ``findings``)
    records = [
        Rec("team/app", digest(1), findings={"CVE-A": "HIGH"}, suppressed_findings={"CVE-B": "HIGH"}),
        Rec("team/web", digest(2), suppressed_findings={"CVE-B": "HIGH"}),
    ]
    by_id = {row.finding_id: row for row in build(records).findings}
    assert (by_id["CVE-B"].images, by_id["CVE-B"].repositories, by_id["CVE-B"].suppressed_images) == (0, 0, 2)
    assert (by_id["CVE-A"].images, by_id["CVE-A"].suppressed_images) == (1, 0)
    # once the suppression has expired, those images count as exposed again
    [row] = [r for r in build(records, suppressions=[]).findings if r.finding_id == "CVE-B"]
    assert (row.images, row.repositories, row.suppressed_images) == (2, 2, 0)


def test_a_finding_keeps_its_most_severe_rating() -> None:
    records = [Rec("a/b", digest(1), findings={"CVE-1": "MEDIUM"}), Rec("a/b", digest(2), findings={"CVE-1": "HIGH"})]
    assert build(records).findings[0].severity == "HIGH"


def test_not_covered_images_never_scanned_first_then_failed_then_the_oldest() -> None:
    assert [(i.digest, i.state) for i in build().uncovered] == [
        (digest(3), "never_scanned"),
        (digest(5), "failed"),
        (digest(2), "stale"),
    ]


def test_detail_limit_keeps_the_least_covered_images_and_counts_the_rest() -> None:
    records = [Rec("a/b", digest(i), "COMPLETE", NOW - (8 + i) * DAY) for i in range(50)]
    records.insert(25, Rec("a/b", digest(999), "IN_PROGRESS"))
    r = build(records, detail_limit=5)
    assert [i.digest for i in r.uncovered] == [digest(999), *(digest(i) for i in (49, 48, 47, 46))]
    assert exposure.to_document(r)["not_covered_total"] == 51


def test_staleness_follows_the_expiry_boundary() -> None:
    records = [
        Rec("a/b", digest(1), scan_completed_at=NOW - 7 * DAY),  # exactly the expiry: still fresh
        Rec("a/b", digest(2), scan_completed_at=NOW - 7 * DAY - timedelta(seconds=1)),
        Rec("a/b", digest(3), "UNSUPPORTED_IMAGE", None),
    ]
    assert build(records).coverage == {"never_scanned": 0, "failed": 1, "stale": 1, "fresh": 1}


def test_suppressions_expiring_within_14_days_soonest_first() -> None:
    r = build()
    assert [s.vulnerability_id for s in r.suppressions_expiring] == ["CVE-B", "CVE-Z"]
    assert r.suppressions_active == 4


def test_empty_ledger() -> None:
    r = build([], suppressions=())
    assert (r.images, r.repositories, r.findings, r.uncovered) == (0, [], [], [])
    assert "Images:           0 in 0 repositories" in exposure.render_text(r)
    assert exposure.to_document(r)["summary"]["images"] == 0


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        exposure.build([], datetime(2026, 1, 1), scan_expiry_days=7, thresholds=DEFAULT_THRESHOLDS)


# --- renderers ----------------------------------------------------------------------------------------------------


def test_json_document() -> None:
    doc = json.loads(exposure.render_json(build()))
    assert (doc["version"], doc["type"], doc["generated_at"], doc["region"]) == (
        1,
        "report",
        "2026-11-29T12:00:00Z",
        "eu-west-1",
    )
    assert doc["summary"] == {
        "repositories": 3,
        "images": 6,
        "images_in_breach": 3,
        "breached": {"CRITICAL": 2, "HIGH": 2, "MEDIUM": 0, "LOW": 0},
        "coverage": {"never_scanned": 1, "failed": 1, "stale": 1, "fresh": 3},
        "findings": 3,
        "suppressions_active": 4,
        "records_of_deleted_repositories": 0,
        "oldest_scan": "2026-11-19T12:00:00Z",  # team/app digest(2): ten days old
        "not_scannable": 0,  # artifacts ECR cannot scan (issue 26)
    }
    assert doc["thresholds"] == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": None, "LOW": None}
    assert doc["repositories"][0]["repository"] == "team/app"
    assert doc["not_covered"][0] == {
        "registry_id": "123456789012",
        "repository": "team/app",
        "digest": digest(3),
        "tags": ["v3"],
        "state": "never_scanned",
        "scan_status": "IN_PROGRESS",
        "last_scan": None,
    }
    assert doc["suppressions_expiring"][0] == {
        "vulnerability_id": "CVE-B",
        "expires": "2026-12-04T12:00:00Z",
        "reason": "vendor fix pending",
        "repository_regex": "^team/",
    }


def test_times_are_utc_to_the_second() -> None:
    later = NOW.replace(microsecond=331850)
    r = exposure.build(iter(RECORDS), later, scan_expiry_days=7, thresholds=DEFAULT_THRESHOLDS)
    assert exposure.to_document(r)["generated_at"] == "2026-11-29T12:00:00Z"
    assert exposure.render_text(r).startswith("ECR exposure report, 2026-11-29T12:00:00Z\n")


def test_json_limit_caps_lists_and_keeps_totals() -> None:
    doc = exposure.to_document(build(), limit=1)
    assert [len(doc[k]) for k in ("repositories", "top_findings", "not_covered", "suppressions_expiring")] == [1] * 4
    assert (doc["repositories_total"], doc["findings_total"], doc["not_covered_total"]) == (3, 3, 3)
    assert doc["suppressions_expiring_total"] == 2


def test_text() -> None:
    text = exposure.render_text(build())
    assert text.startswith("ECR exposure report (eu-west-1), 2026-11-29T12:00:00Z\n")
    assert "In breach:        3 image(s) (2 CRITICAL, 2 HIGH)" in text
    assert "Not covered:      3 image(s): 1 never scanned, 1 failed, 1 older than 7 day(s)" in text
    lines = text.splitlines()
    header = lines.index("Images in breach by repository")
    assert lines[header + 1].split() == ["REPOSITORY", "IMAGES", "CRITICAL", "HIGH", "MEDIUM", "LOW"]
    assert lines[header + 2].split() == ["team/app", "3", "1", "2", "0", "0"]
    assert lines[header + 3].split() == ["other/web", "1", "1", "0", "0", "0"]
    assert lines[header + 4] == ""  # team/api has no image in breach
    assert "  CVE-A    CRITICAL  2       2" in text
    assert "  team/app    @sha256:000000000000  stale          2026-11-19T12:00:00Z" in text
    assert "soon <b>&" in text
    short = exposure.render_text(build(), limit=1)
    assert "  ... and 1 more" in short  # repositories in breach, suppressions
    assert "  ... and 2 more" in short  # findings, images not covered


def test_html_is_self_contained_well_formed_and_escaped() -> None:
    page = exposure.render_html(build())
    assert page.startswith("<!DOCTYPE html>")
    assert "soon &lt;b&gt;&amp;" in page
    assert "<b>&" not in page
    assert "<script" not in page
    assert "src=" not in page
    assert "href=" not in page
    assert "url(" not in page

    class Checker(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.tables = 0

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag not in ("meta", "br", "!doctype"):
                self.stack.append(tag)
            self.tables += tag == "table"

        def handle_endtag(self, tag: str) -> None:
            assert self.stack.pop() == tag

    checker = Checker()
    checker.feed(page)
    assert checker.stack == []
    assert checker.tables == 4


def test_html_limit_says_how_many_more() -> None:
    assert page_count(exposure.render_html(build(), limit=1), "and 2 more") == 3  # repositories, findings, images


def page_count(page: str, text: str) -> int:
    return page.count(text)


# --- the SNS message ------------------------------------------------------------------------------------------------


def test_notification_of_a_small_report_is_complete() -> None:
    message = exposure.notification(build())
    assert message.attributes == {"event_type": "report", "highest_severity": "CRITICAL"}
    assert message.subject == "ECR exposure report (eu-west-1): 3 of 6 images in breach"
    assert message.message["email"] == exposure.render_text(build(), limit=20)
    assert json.loads(message.message["sqs"]) == exposure.to_document(build(), limit=20)
    assert set(message.message) == {"default", "email", "sqs", "lambda", "https"}


def test_notification_of_a_large_registry_fits_sns_and_says_and_n_more() -> None:
    long = "x" * 200
    records = [
        Rec(f"team-{i % 2000:04d}/{long}", digest(i), "COMPLETE", None if i % 3 else NOW - 20 * DAY, ("HIGH",),
            {f"CVE-2026-{i % 5000:05d}": "HIGH"})
        for i in range(20_000)
    ]  # fmt: skip
    r = build(records)
    message = exposure.notification(r)
    assert sns_message.message_bytes(message) <= 256 * 1024
    assert len(json.dumps(exposure.to_document(r)).encode()) > 3 * 256 * 1024 // 5  # it had to be shortened
    assert "... and " in message.message["email"]
    doc = json.loads(message.message["sqs"])
    assert doc["repositories_total"] == 2000
    assert len(doc["repositories"]) < 2000


def test_message_bytes_counts_the_published_message_and_attributes() -> None:
    n = exposure.render_report("s", "t" * 10, "{}", "NONE")
    expected = len(json.dumps(dict(n.message)).encode()) + sum(len(k) + 6 + len(v) for k, v in n.attributes.items())
    assert sns_message.message_bytes(n) == expected


def test_rows_too_large_for_20_are_shown_fewer() -> None:
    reasons = [(f"CVE-{i}", NOW + DAY, f"{i:02d}" + "r" * 10_000, None) for i in range(30)]
    r = build(suppressions=reasons)
    message = exposure.notification(r)
    assert sns_message.message_bytes(message) <= 256 * 1024
    doc = json.loads(message.message["https"])
    assert 0 < len(doc["suppressions_expiring"]) < 20
    assert doc["suppressions_expiring_total"] == 30
    assert f"... and {30 - len(doc['suppressions_expiring'])} more" in message.message["default"]


def test_records_of_repositories_no_longer_in_the_registry_are_left_out() -> None:
    r = build(existing_repositories={("123456789012", "team/app"), ("123456789012", "other/web")})
    assert (r.images, r.deleted_records) == (4, 2)  # team/api's two records
    assert [row.repository for row in r.repositories] == ["team/app", "other/web"]
    assert exposure.to_document(r)["summary"]["records_of_deleted_repositories"] == 2
    assert build().deleted_records == 0  # without the list, every record counts
