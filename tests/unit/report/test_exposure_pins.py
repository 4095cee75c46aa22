"""report.py and report/store.py: the boundaries and orders no other test pins (issue 17).

Each test names the behaviour it holds; each was checked against a planted bug that changes exactly it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from conftest import REGION

from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.report import exposure, store
from report.test_exposure import DAY, NOW, Rec, build, digest

SECOND = timedelta(seconds=1)


# --- Suppression.active: the instant of expiry ------------------------------------------------------------------


def test_a_suppression_is_no_longer_active_at_the_instant_it_expires() -> None:
    entry = exposure.Suppression("CVE-1", NOW, "accepted")
    assert entry.active(NOW - timedelta(microseconds=1))
    assert not entry.active(NOW)
    assert not entry.active(NOW + SECOND)
    assert exposure.Suppression("CVE-1", None, "never expires").active(NOW + 10_000 * DAY)


def test_a_suppression_expiring_now_hides_nothing_and_is_not_counted_active() -> None:
    records = [Rec("team/app", digest(1), findings={"CVE-1": "HIGH"})]
    expired_now = build(records, suppressions=[("CVE-1", NOW, "accepted", None)])
    [row] = expired_now.findings
    assert (row.images, row.suppressed_images) == (1, 0)
    assert (expired_now.suppressions_active, expired_now.suppressions_expiring) == (0, [])
    still = build(records, suppressions=[("CVE-1", NOW + SECOND, "accepted", None)])
    [row] = still.findings
    assert (row.images, row.suppressed_images) == (0, 1)
    assert still.suppressions_active == 1


def test_a_date_expiry_ends_at_that_days_utc_midnight() -> None:
    from datetime import date

    entry = exposure.Suppression.of(("CVE-1", date(2026, 11, 30), "accepted", None))
    assert entry.active(NOW)  # 2026-11-29T12:00Z
    assert not entry.active(NOW.replace(day=30, hour=0))


# --- build: case-insensitive ids, the 14-day window, findings_total ---------------------------------------------


@pytest.mark.parametrize(("suppressed_id", "finding_id"), [("cve-2026-0001", "CVE-2026-0001"), ("CVE-X", "cve-x")])
def test_suppression_ids_match_findings_whatever_the_case(suppressed_id: str, finding_id: str) -> None:
    records = [Rec("team/app", digest(1), findings={finding_id: "HIGH"})]
    [row] = build(records, suppressions=[(suppressed_id, NOW + DAY, "accepted", None)]).findings
    assert (row.finding_id, row.images, row.repositories, row.suppressed_images) == (finding_id, 0, 0, 1)


def test_a_suppression_expiring_exactly_at_the_end_of_the_window_is_expiring() -> None:
    window = exposure.SUPPRESSION_WINDOW_DAYS * DAY
    entries = [
        ("CVE-EDGE", NOW + window, "at the edge", None),
        ("CVE-PAST", NOW + window + SECOND, "just after", None),
        ("CVE-SOON", NOW + SECOND, "soonest", None),
    ]
    built = build([], suppressions=entries)
    assert [s.vulnerability_id for s in built.suppressions_expiring] == ["CVE-SOON", "CVE-EDGE"]
    assert built.suppressions_active == 3


def test_expiring_suppressions_at_one_instant_are_ordered_by_id() -> None:
    entries = [("CVE-B", NOW + DAY, "b", None), ("CVE-A", NOW + DAY, "a", None), ("CVE-C", NOW + 2 * DAY, "c", None)]
    assert [s.vulnerability_id for s in build([], suppressions=entries).suppressions_expiring] == [
        "CVE-A",
        "CVE-B",
        "CVE-C",
    ]


def test_findings_total_counts_every_distinct_finding_not_only_the_rows_kept() -> None:
    records = [
        Rec("team/app", digest(i), findings={f"CVE-{n}": "HIGH" for n in range(i + 1)}) for i in range(5)
    ]  # CVE-0 in 5 images, CVE-1 in 4, ... CVE-4 in 1
    records.append(Rec("team/app", digest(9), suppressed_findings={"CVE-HIDDEN": "LOW"}))
    built = build(records, suppressions=[], findings_limit=2)
    assert [(f.finding_id, f.images) for f in built.findings] == [("CVE-0", 5), ("CVE-1", 4)]
    assert built.findings_total == 6
    doc = exposure.to_document(built)
    assert (doc["findings_total"], doc["summary"]["findings"], len(doc["top_findings"])) == (6, 6, 2)
    assert "Most common findings (6 distinct)" in exposure.render_text(built)
    assert "  ... and 4 more" in exposure.render_text(built, limit=None)


def test_most_common_findings_rank_by_images_then_severity_then_repositories_then_id() -> None:
    records = [
        Rec("a/one", digest(1), findings={"CVE-LOW": "LOW", "CVE-CRIT": "CRITICAL", "CVE-B": "HIGH", "CVE-A": "HIGH"}),
        Rec("a/two", digest(2), findings={"CVE-LOW": "LOW", "CVE-CRIT": "CRITICAL", "CVE-A": "HIGH"}),
        Rec("a/one", digest(3), findings={"CVE-B": "HIGH"}),
        Rec("a/one", digest(4), findings={"CVE-TOP": "INFORMATIONAL"}),
        Rec("a/one", digest(5), findings={"CVE-TOP": "INFORMATIONAL"}),
        Rec("a/one", digest(6), findings={"CVE-TOP": "INFORMATIONAL"}),
        Rec("a/one", digest(7), findings={"CVE-MED": "MEDIUM"}),
        Rec("a/two", digest(8), findings={"CVE-MED": "MEDIUM"}),
    ]
    ranked = [(f.finding_id, f.images, f.repositories) for f in build(records, suppressions=[]).findings]
    assert ranked == [
        ("CVE-TOP", 3, 1),  # most images first, whatever the severity
        ("CVE-CRIT", 2, 2),  # then the most severe
        ("CVE-A", 2, 2),  # then more repositories: CVE-A (2) before CVE-B (1)
        ("CVE-B", 2, 1),
        ("CVE-MED", 2, 2),  # MEDIUM before LOW
        ("CVE-LOW", 2, 2),
    ]


# --- RepositoryRow.rank: most exposed first ---------------------------------------------------------------------


def test_repositories_with_critical_breaches_come_before_more_images_breaching_less() -> None:
    records = [
        *(Rec("b/high", digest(i), breached=("HIGH",)) for i in range(3)),
        Rec("c/critical", digest(10), breached=("CRITICAL",)),
        *(Rec("a/medium", digest(20 + i), breached=("MEDIUM",)) for i in range(5)),
    ]
    assert [r.repository for r in build(records).repositories] == ["c/critical", "b/high", "a/medium"]


def test_repository_ties_break_on_images_in_breach_then_not_covered_then_name() -> None:
    fresh = NOW - DAY
    records = [
        Rec("z/two", digest(1), scan_completed_at=fresh, breached=("CRITICAL", "HIGH")),  # CRITICAL 1, HIGH 2
        Rec("z/two", digest(2), scan_completed_at=fresh, breached=("HIGH",)),
        Rec("y/one", digest(3), scan_completed_at=fresh, breached=("CRITICAL", "HIGH")),  # CRITICAL 1, HIGH 1
        Rec("x/stale", digest(4), scan_completed_at=NOW - 30 * DAY),  # no breach, one image not covered
        Rec("w/fresh", digest(5), scan_completed_at=fresh),  # no breach, covered: by name
        Rec("v/fresh", digest(6), scan_completed_at=fresh),
    ]
    assert [r.repository for r in build(records).repositories] == ["z/two", "y/one", "x/stale", "v/fresh", "w/fresh"]


def test_rank_uses_images_in_breach_when_the_per_severity_counts_tie() -> None:
    one = exposure.RepositoryRow("1", "a/one", images=2, in_breach=1)
    two = exposure.RepositoryRow("1", "b/two", images=2, in_breach=2)
    one.breached["HIGH"] = two.breached["HIGH"] = 1
    assert sorted([one, two], key=exposure.RepositoryRow.rank) == [two, one]


# --- notification: the summary-only fallback ---------------------------------------------------------------------


def test_when_not_even_one_row_per_list_fits_the_notification_is_the_summary() -> None:
    huge = [("CVE-HUGE", NOW + DAY, "r" * 300_000, None)]  # one row alone is larger than an SNS message
    built = build(suppressions=huge)
    message = exposure.notification(built)
    assert sns_message.message_bytes(message) <= sns_message.SNS_MAX_BYTES
    doc = json.loads(message.message["sqs"])
    assert doc == exposure.to_document(built, limit=0)
    assert [len(doc[k]) for k in ("repositories", "top_findings", "not_covered", "suppressions_expiring")] == [0] * 4
    assert (doc["repositories_total"], doc["findings_total"], doc["suppressions_expiring_total"]) == (3, 3, 1)
    assert message.message["email"] == exposure.render_text(built, limit=0)
    assert "  ... and 1 more" in message.message["email"]  # the suppression
    assert message.attributes == {"event_type": "report", "highest_severity": "CRITICAL"}


def test_the_notification_keeps_the_most_rows_that_fit() -> None:
    # each row of 12 KB is in the message five times (default, email, sqs, lambda, https): 60 KB a row, so 5 rows
    # (300 KB) are too many and 3 rows (180 KB) fit
    reasons = [(f"CVE-{i:02d}", NOW + DAY, "r" * 12_000, None) for i in range(12)]
    built = build(suppressions=reasons)
    message = exposure.notification(built)
    assert len(json.loads(message.message["sqs"])["suppressions_expiring"]) == 3
    assert message.message["email"] == exposure.render_text(built, limit=3)


def test_a_notification_at_exactly_the_limit_is_sent_one_byte_less_is_shortened() -> None:
    built = build()
    size = sns_message.message_bytes(exposure.notification(built))
    assert exposure.notification(built, max_bytes=size).message["email"] == exposure.render_text(built, limit=20)
    # 10, 5 and 3 rows show every row of this small report (the same bytes): the next step that fits is 1 row
    assert exposure.notification(built, max_bytes=size - 1).message["email"] == exposure.render_text(built, limit=1)


def test_the_subject_says_images_in_breach_of_all_and_fits_sns() -> None:
    assert exposure.notification(build()).subject == "ECR exposure report (eu-west-1): 3 of 6 images in breach"
    assert exposure.notification(build(region=None)).subject == "ECR exposure report: 3 of 6 images in breach"
    long_region = "x" * 200
    assert len(exposure.notification(build(region=long_region)).subject) <= sns_message.SUBJECT_MAX


def test_highest_severity_of_a_report_without_breach_is_none() -> None:
    records = [Rec("team/app", digest(1), scan_completed_at=NOW - DAY)]
    assert exposure.notification(build(records)).attributes["highest_severity"] == "NONE"
    records.append(Rec("team/app", digest(2), scan_completed_at=NOW - DAY, breached=("HIGH",)))
    assert exposure.notification(build(records)).attributes["highest_severity"] == "HIGH"


# --- report_store.write: what S3 is told about caching -----------------------------------------------------------


@pytest.fixture
def bucket(moto: None) -> Any:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3


def test_dated_objects_are_immutable_and_latest_is_never_cached(bucket: Any) -> None:
    built = build()
    stored = store.write(bucket, "reports", built)
    written = stored.written
    keys = store.keys(built)
    assert written == [*keys["json"], *keys["html"]]
    assert stored.refused == []
    headers = {key: bucket.head_object(Bucket="reports", Key=key) for key in written}
    for ext, (dated, latest) in keys.items():
        assert headers[dated]["CacheControl"] == "max-age=31536000, immutable", dated
        assert headers[latest]["CacheControl"] == "no-cache", latest
        content_type = {"json": "application/json", "html": "text/html; charset=utf-8"}[ext]
        assert headers[dated]["ContentType"] == headers[latest]["ContentType"] == content_type
    stored = bucket.get_object(Bucket="reports", Key=keys["json"][0])["Body"].read().decode()
    assert stored == exposure.render_json(built)
    assert json.loads(stored)["not_covered_total"] == 3  # every row, not a notification's few
    page = bucket.get_object(Bucket="reports", Key=keys["html"][1])["Body"].read().decode()
    assert page == exposure.render_html(built)


# --- the stored renderings: the HTML page's figures and the JSON's form -----------------------------------------


def test_the_html_page_shows_the_figures_and_rows_of_the_report() -> None:
    page = exposure.render_html(build())
    for fragment in [
        "<h1>ECR exposure report (eu-west-1)</h1>",
        '<div class="card ">Images<b>6</b>in 3 repositories</div>',
        '<div class="card bad">In breach<b>3</b>2 CRITICAL, 2 HIGH</div>',
        '<div class="card warn">Not covered<b>3</b>never scanned, failed or stale</div>',
        '<div class="card ">Findings<b>3</b>distinct across the registry</div>',
        # repository, images, in breach, CRITICAL, HIGH, MEDIUM, LOW, not covered
        '<tr><td>team/app</td><td class="n">3</td><td class="n">2</td><td class="n">1</td><td class="n">2</td>'
        '<td class="n">0</td><td class="n">0</td><td class="n">2</td></tr>',
        '<tr><td>CVE-B</td><td>HIGH</td><td class="n">0</td><td class="n">0</td><td class="n">2</td></tr>',
        "<tr><td>team/app</td><td>v3</td><td>never_scanned</td><td>IN_PROGRESS</td><td>-</td></tr>",
        "<tr><td>team/app</td><td>@sha256:000000000000</td><td>stale</td><td>COMPLETE</td>"
        "<td>2026-11-19T12:00:00Z</td></tr>",
        "<tr><td>CVE-B</td><td>2026-12-04T12:00:00Z</td><td>^team/</td><td>vendor fix pending</td></tr>",
    ]:
        assert fragment in page, fragment


def test_the_html_page_of_a_clean_registry_without_region() -> None:
    records = [Rec("team/app", digest(1), scan_completed_at=NOW - DAY)]
    page = exposure.render_html(build(records, region=None, suppressions=[]))
    assert "<h1>ECR exposure report</h1>" in page
    assert '<div class="card bad">In breach<b>0</b>none</div>' in page
    assert page.count("<p>None.</p>") == 3  # no finding, nothing uncovered, no suppression expiring


def test_the_json_rendering_is_the_document_indented_and_capped_as_asked() -> None:
    built = build()
    assert exposure.render_json(built) == json.dumps(exposure.to_document(built), indent=2)
    assert exposure.render_json(built, limit=1) == json.dumps(exposure.to_document(built, 1), indent=2)
