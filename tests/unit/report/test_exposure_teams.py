"""report/exposure.py with teams (issue 19), pure: owners resolved once per repository (tag first, then the
regexes), one section per team evaluated with that team's thresholds, ``unowned``, the document's additive keys,
the text and HTML sections, each team's own report, and the SNS size rule with many teams."""

from __future__ import annotations

import json
from datetime import timedelta

from ecr_scan_reporter.core import sns_message, teams
from ecr_scan_reporter.core.config import DEFAULT_THRESHOLDS
from ecr_scan_reporter.report import exposure
from report.test_exposure import NOW, Rec, digest

DAY = timedelta(days=1)
TOPIC = "arn:aws:sns:eu-west-1:123456789012:esr-"


def team(name: str, regex: str | None, thresholds: dict[str, int | None] | None = None) -> dict[str, object]:
    settings = {} if thresholds is None else {"severity_thresholds": thresholds}
    return {"name": name, "repository_regex": regex, "topic_arn": TOPIC + name, "settings": settings}


#: payments: every HIGH and MEDIUM counts; tools: only CRITICAL (HIGH ignored); the module: CRITICAL 0, HIGH 0.
DOCUMENT = teams.parse(
    teams.document(
        [
            team("payments", "^payments/", {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": None}),
            team("tools", "^tools/", {"CRITICAL": 0, "HIGH": None, "MEDIUM": None, "LOW": None}),
        ],
        tag_key="team",
    )
)
COUNTS_HIGH = {"HIGH": 2, "MEDIUM": 1}
RECORDS = [
    # payments by regex: HIGH and MEDIUM over the team's thresholds
    Rec("payments/api", digest(1), "COMPLETE", NOW - DAY, ("HIGH",), {"CVE-H": "HIGH"}, severity_counts=COUNTS_HIGH),
    Rec("payments/api", digest(2), "COMPLETE", NOW - DAY, (), {"CVE-M": "MEDIUM"}, severity_counts={"MEDIUM": 1}),
    # tools by regex: the same HIGH counts, under the tools team's thresholds (HIGH ignored)
    Rec("tools/ci", digest(3), "COMPLETE", NOW - DAY, ("HIGH",), {"CVE-H": "HIGH"}, severity_counts=COUNTS_HIGH),
    # tagged team=tools although its name matches payments' regex: the tag wins
    Rec("payments/legacy", digest(4), "COMPLETE", NOW - DAY, ("CRITICAL",), {"CVE-C": "CRITICAL"},
        severity_counts={"CRITICAL": 1}),
    Rec("payments/legacy", digest(5), "IN_PROGRESS", None),
    # nobody's: the module's thresholds
    Rec("misc/web", digest(6), "COMPLETE", NOW - DAY, ("HIGH",), {"CVE-H": "HIGH"}, severity_counts=COUNTS_HIGH),
]  # fmt: skip
TAGS = {"payments/legacy": {"team": "tools", "env": "prod"}, "misc/web": {"team": "ghost"}}


def build(records: list[Rec] = RECORDS, **kwargs: object) -> tuple[exposure.Report, list[str]]:
    asked: list[str] = []

    def tags(registry_id: str, repository: str) -> dict[str, str]:
        asked.append(repository)
        return TAGS.get(repository, {})

    options: dict[str, object] = {
        "scan_expiry_days": 7,
        "thresholds": DEFAULT_THRESHOLDS,
        "region": "eu-west-1",
        "teams": DOCUMENT,
        "tags": tags,
        **kwargs,
    }
    return exposure.build(iter(records), NOW, **options), asked  # type: ignore[arg-type]


def sections(report: exposure.Report) -> dict[str, exposure.Report]:
    return {str(s.team): s for s in report.sections}


def test_one_section_per_team_with_its_own_thresholds_then_unowned() -> None:
    report, asked = build()
    found = sections(report)
    assert list(found) == ["payments", "tools", "unowned"]  # the document's order, unowned last
    payments, tools, unowned = found["payments"], found["tools"], found["unowned"]
    assert [r.repository for r in payments.repositories] == ["payments/api"]
    assert (payments.images, payments.images_in_breach) == (2, 2)  # MEDIUM 1 > 0 breaches payments' threshold
    assert payments.breached == {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 0}
    assert dict(payments.thresholds) == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": None}
    assert sorted(r.repository for r in tools.repositories) == ["payments/legacy", "tools/ci"]  # the tag won
    assert (tools.images, tools.images_in_breach) == (3, 1)  # tools/ci's HIGH is ignored by the tools team
    assert tools.breached == {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 0, "LOW": 0}
    assert tools.coverage["never_scanned"] == 1
    assert [r.repository for r in unowned.repositories] == ["misc/web"]  # tag team=ghost names no team
    assert unowned.breached == {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 0, "LOW": 0}
    assert dict(unowned.thresholds) == dict(DEFAULT_THRESHOLDS)
    # the whole registry is as without teams: the ledger's verdicts
    assert (report.images, report.images_in_breach) == (6, 4)
    # each repository's tags asked once, however many images it has
    assert sorted(asked) == ["misc/web", "payments/api", "payments/legacy", "tools/ci"]


def test_top_findings_per_team() -> None:
    found = sections(build()[0])
    assert [(f.finding_id, f.images) for f in found["payments"].findings] == [("CVE-H", 1), ("CVE-M", 1)]
    assert [(f.finding_id, f.images) for f in found["tools"].findings] == [("CVE-C", 1), ("CVE-H", 1)]
    assert [f.finding_id for f in found["unowned"].findings] == ["CVE-H"]


def test_without_a_tag_key_tags_are_never_asked() -> None:
    document = teams.parse(teams.document([team("payments", "^payments/")]))
    report, asked = build(teams=document)
    assert asked == []
    assert sorted(r.repository for r in sections(report)["payments"].repositories) == [
        "payments/api",
        "payments/legacy",
    ]


def test_tags_that_cannot_be_read_fall_back_to_the_regexes() -> None:
    report = exposure.build(
        iter(RECORDS), NOW, scan_expiry_days=7, thresholds=DEFAULT_THRESHOLDS, teams=DOCUMENT, tags=lambda *_: None
    )
    assert "payments/legacy" in [r.repository for r in sections(report)["payments"].repositories]


def test_the_document_gains_teams_and_unowned_only() -> None:
    plain = exposure.to_document(
        exposure.build(iter(RECORDS), NOW, scan_expiry_days=7, thresholds=DEFAULT_THRESHOLDS, region="eu-west-1")
    )
    doc = exposure.to_document(build()[0])
    assert set(doc) - set(plain) == {"teams", "unowned"}
    assert {k: doc[k] for k in plain if k != "generated_at"} == {k: plain[k] for k in plain if k != "generated_at"}
    assert doc["version"] == 1
    [payments, tools] = doc["teams"]
    assert payments["team"] == "payments"
    assert payments["summary"]["breached"] == {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 0}
    assert payments["thresholds"] == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": None}
    assert tools["summary"]["images_in_breach"] == 1
    assert tools["not_covered_total"] == 1
    assert tools["not_covered"][0]["digest"] == digest(5)
    assert doc["unowned"]["team"] == "unowned"
    assert doc["unowned"]["repositories"][0]["repository"] == "misc/web"


def test_teams_that_could_not_be_read_are_said_in_every_form() -> None:
    report = exposure.build(
        iter(RECORDS), NOW, scan_expiry_days=7, thresholds=DEFAULT_THRESHOLDS, teams_unavailable="no teams item"
    )
    assert report.sections == ()
    assert exposure.to_document(report)["teams_unavailable"] == "no teams item"
    assert "Teams:            could not be read (no teams item): no section per team" in exposure.render_text(report)
    assert "Teams could not be read (no teams item)" in exposure.render_html(report)


def test_text_and_html_show_each_team() -> None:
    report = build()[0]
    text = exposure.render_text(report)
    assert "Teams (2, then the repositories no team owns); in breach of each team's own thresholds" in text
    assert "Team payments: 2 of 2 image(s) in breach" in text
    assert "Team tools: 1 of 3 image(s) in breach" in text
    assert "Unowned (unowned: the repositories no team owns): 1 of 1 image(s) in breach" in text
    summary_rows = [line.split() for line in text.splitlines() if line.startswith("  payments ")]
    assert summary_rows[0][:8] == ["payments", "1", "2", "2", "0", "1", "2", "0"]
    page = exposure.render_html(report)
    assert "<h2>Teams</h2>" in page
    assert "<h3>Team payments</h3>" in page
    assert "<h3>Unowned (unowned: the repositories no team owns)</h3>" in page


def test_each_team_report_covers_only_its_repositories() -> None:
    [payments, tools] = exposure.team_reports(build()[0])
    message = exposure.notification(tools)
    assert message.attributes == {"event_type": "report", "highest_severity": "CRITICAL", "team": "tools"}
    assert message.subject == "ECR exposure report (eu-west-1) for tools: 1 of 3 images in breach"
    doc = json.loads(message.message["sqs"])
    assert doc["team"] == "tools"
    assert sorted(r["repository"] for r in doc["repositories"]) == ["payments/legacy", "tools/ci"]
    assert "teams" not in doc
    assert "ECR exposure report (eu-west-1) for team tools" in message.message["email"]
    assert "payments/api" not in message.message["email"]
    assert exposure.notification(payments).attributes["highest_severity"] == "HIGH"
    assert "team" not in exposure.notification(build()[0]).attributes  # the whole report names no team


def test_suppressions_expiring_are_those_of_the_teams_repositories() -> None:
    suppressions = [("CVE-H", NOW + 3 * DAY, "fix pending", "^payments/"), ("CVE-X", NOW + 3 * DAY, "all", None)]
    found = sections(build(suppressions=suppressions)[0])
    assert [s.vulnerability_id for s in found["payments"].suppressions_expiring] == ["CVE-H", "CVE-X"]
    assert [s.vulnerability_id for s in found["unowned"].suppressions_expiring] == ["CVE-X"]
    by_id = {f.finding_id: f for f in found["payments"].findings}
    assert (by_id["CVE-H"].images, by_id["CVE-H"].suppressed_images) == (0, 1)


def test_fifty_teams_still_fit_one_sns_message_and_the_team_rows_give_way_first() -> None:
    names = [f"team{i:02d}" for i in range(50)]
    document = teams.parse(teams.document([team(n, f"^{n}/") for n in names]))
    records = [
        Rec(f"{n}/repo{j}-{'x' * 60}", digest(i * 100 + j), "COMPLETE", NOW - DAY, ("HIGH",),
            {f"CVE-{i}-{j}-{k}-{'y' * 40}": "HIGH" for k in range(20)}, severity_counts={"HIGH": 20})
        for i, n in enumerate(names)
        for j in range(30)
    ]  # fmt: skip
    report, _ = build(records, teams=document)
    message = exposure.notification(report)
    assert sns_message.message_bytes(message) <= sns_message.SNS_MAX_BYTES
    doc = json.loads(message.message["sqs"])
    assert len(doc["teams"]) == 50
    assert len(doc["repositories"]) > len(doc["teams"][0]["repositories"])  # the registry's rows kept longer
    assert all(t["repositories_total"] == 30 for t in doc["teams"])
