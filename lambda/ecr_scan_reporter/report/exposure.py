"""The exposure report: the scan ledger's records -> "how exposed is the registry today?" (pure).

:func:`build` reads a stream of image records (any objects with the ledger's ``LedgerRecord`` fields: the
:class:`Record` protocol) once, keeping only aggregates and the few rows a reader is shown, so 100,000 images fit
one Lambda invocation. It answers:

- per repository: images, images in breach per severity, images not covered;
- the most common findings across the registry (each with the images and repositories that have it, suppressed
  images counted apart);
- coverage: images never scanned (no result yet), whose latest scan failed or is unsupported, or whose last
  result is older than the scan expiry;
- suppressions (accepted risks) expiring within 14 days.

"In breach" is the ledger's ``breached``: the severities over threshold at the image's last evaluation, the
verdict its notifications followed (suppressions already applied). Renderers: :func:`render_text` (e-mail, the
CLI), :func:`to_document` / :func:`render_json` (``"version": 1, "type": "report"``), :func:`render_html` (one
self-contained page). :func:`notification` fits the report into one SNS message (256 KB) by showing fewer rows,
each list then ending in "and N more".
"""

from __future__ import annotations

import heapq
import html
import itertools
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from ecr_scan_reporter.core import expiry, sns_message
from ecr_scan_reporter.core.config import SEVERITIES, Settings
from ecr_scan_reporter.core.ownership import resolve
from ecr_scan_reporter.core.scannable import recorded_not_scannable
from ecr_scan_reporter.core.teams import UNOWNED, TeamsDocument, settings_for
from ecr_scan_reporter.core.thresholds import evaluate_thresholds

SUPPRESSION_WINDOW_DAYS = 14
DETAIL_LIMIT = 500  # images not covered, kept in full detail (the oldest first); the rest are counted
FINDINGS_LIMIT = 100  # most common findings kept

NEVER_SCANNED, FAILED, STALE, FRESH = "never_scanned", "failed", "stale", "fresh"
COVERAGE_STATES: tuple[str, ...] = (NEVER_SCANNED, FAILED, STALE, FRESH)
_NO_RESULT = frozenset({"FAILED", "UNSUPPORTED_IMAGE"})


class Record(Protocol):
    """The ``ledger.LedgerRecord`` fields the report reads."""

    @property
    def registry_id(self) -> str: ...
    @property
    def repository(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def image_tags(self) -> tuple[str, ...]: ...
    @property
    def scan_status(self) -> str: ...
    @property
    def scan_completed_at(self) -> datetime | None: ...
    @property
    def findings(self) -> Mapping[str, str]: ...
    @property
    def breached(self) -> tuple[str, ...]: ...
    @property
    def suppressed_findings(self) -> Mapping[str, str]: ...
    @property
    def severity_counts(self) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class Suppression:
    """An accepted risk: ``vulnerability_id`` is not reported in repositories matching ``repository_regex``
    (None: every repository) until ``expires`` (None: never)."""

    vulnerability_id: str
    expires: datetime | None
    reason: str
    repository_regex: str | None = None

    @classmethod
    def of(cls, entry: Any) -> Suppression:
        """From a ``(vulnerability_id, expires, reason, repository_regex)`` tuple or any object with those
        attributes (``suppressions.Suppression``). ``expires`` may be a datetime or a date (the first UTC day the
        entry no longer applies: it expires at that day's midnight); ``repository_regex`` a string or a compiled
        pattern, None or empty for every repository."""
        if isinstance(entry, Suppression):
            return entry
        if isinstance(entry, Sequence) and not isinstance(entry, str):
            vulnerability_id, expires, reason, regex = entry
        else:
            vulnerability_id, expires, reason = entry.vulnerability_id, entry.expires, entry.reason
            regex = entry.repository_regex
        if isinstance(expires, date) and not isinstance(expires, datetime):
            expires = datetime(expires.year, expires.month, expires.day, tzinfo=UTC)
        pattern = regex.pattern if isinstance(regex, re.Pattern) else regex
        return cls(str(vulnerability_id), expires, str(reason or ""), pattern or None)

    def active(self, now: datetime) -> bool:
        return self.expires is None or _utc(self.expires) > now

    def covers(self, repository: str) -> bool:
        return self.repository_regex is None or re.search(self.repository_regex, repository) is not None


@dataclass
class RepositoryRow:
    registry_id: str
    repository: str
    images: int = 0
    in_breach: int = 0
    breached: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    coverage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COVERAGE_STATES, 0))

    def rank(self) -> tuple[Any, ...]:
        """Most exposed first: images in breach per severity (CRITICAL first), then not covered, then name."""
        uncovered = self.images - self.coverage[FRESH]
        return (*(-self.breached[s] for s in SEVERITIES), -self.in_breach, -uncovered, self.repository)

    def to_json(self) -> dict[str, Any]:
        return {
            "registry_id": self.registry_id,
            "repository": self.repository,
            "images": self.images,
            "images_in_breach": self.in_breach,
            "breached": dict(self.breached),
            "coverage": dict(self.coverage),
        }


@dataclass(frozen=True)
class FindingRow:
    finding_id: str
    severity: str
    images: int
    repositories: int
    suppressed_images: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.finding_id,
            "severity": self.severity,
            "images": self.images,
            "repositories": self.repositories,
            "suppressed_images": self.suppressed_images,
        }


@dataclass(frozen=True)
class UncoveredImage:
    registry_id: str
    repository: str
    digest: str
    tags: tuple[str, ...]
    state: str  # never_scanned | failed | stale
    scan_status: str
    last_scan: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "registry_id": self.registry_id,
            "repository": self.repository,
            "digest": self.digest,
            "tags": list(self.tags),
            "state": self.state,
            "scan_status": self.scan_status,
            "last_scan": _iso(self.last_scan),
        }


@dataclass(frozen=True)
class Report:
    generated_at: datetime
    scan_expiry_days: int
    thresholds: Mapping[str, int | None]
    region: str | None
    images: int
    images_in_breach: int
    breached: Mapping[str, int]  # severity -> images in breach of it
    coverage: Mapping[str, int]  # state -> images
    repositories: list[RepositoryRow]  # every repository, most exposed first
    findings: list[FindingRow]  # the most common, at most FINDINGS_LIMIT
    findings_total: int  # distinct findings across the registry
    uncovered: list[UncoveredImage]  # never scanned first, then the oldest results; at most DETAIL_LIMIT
    suppressions_expiring: list[Suppression]  # soonest first
    suppressions_active: int
    deleted_records: int = 0  # records of repositories that no longer exist, left out
    oldest_scan: datetime | None = None  # the oldest last result of any image (the organization report shows it)
    #: The scan budget's view of the registry as the repositories stage last planned it (the budget state item's
    #: ``staleness``, sweep/budget.staleness_document); None without a budget or before its first plan.
    scan_budget: Mapping[str, Any] | None = None
    #: The team this report covers (a team's name, or ``unowned``); None: the whole registry.
    team: str | None = None
    #: The whole registry's report with teams: one report per team (the document's order), then ``unowned``.
    sections: tuple[Report, ...] = ()
    #: Why the teams could not be read (the report then has no section per team); None when they could, or none.
    teams_unavailable: str | None = None
    #: Images the sweep recorded as ones ECR's basic scanning cannot scan (artifacts: core/scannable.py), left out of
    #: every other count: they are not images to cover.
    not_scannable: int = 0


class _Aggregate:
    """What :func:`build` accumulates for one report (the registry, or one team's repositories)."""

    def __init__(self, thresholds: Mapping[str, int | None], detail_limit: int) -> None:
        self.thresholds = dict(thresholds)
        self.detail_limit = detail_limit
        self.repositories: dict[tuple[str, str], RepositoryRow] = {}
        self.findings: dict[str, list[Any]] = {}  # id -> [severity, images, repositories set, suppressed images]
        self.uncovered: list[tuple[Any, ...]] = []  # heap of (-rank, counter, UncoveredImage): the first ones
        self.images = 0
        self.in_breach = 0
        self.breached = dict.fromkeys(SEVERITIES, 0)
        self.coverage = dict.fromkeys(COVERAGE_STATES, 0)
        self.oldest: datetime | None = None

    def add(self, record: Record, number: int, breached: Sequence[str], state: str, hidden: Sequence[bool]) -> None:
        key = (record.registry_id, record.repository)
        row = self.repositories.get(key)
        if row is None:
            row = self.repositories[key] = RepositoryRow(record.registry_id, record.repository)
        row.images += 1
        self.images += 1
        if breached:
            row.in_breach += 1
            self.in_breach += 1
            for severity in breached:
                row.breached[severity] += 1
                self.breached[severity] += 1
        row.coverage[state] += 1
        if record.scan_completed_at is not None and (
            self.oldest is None or _utc(record.scan_completed_at) < self.oldest
        ):
            self.oldest = _utc(record.scan_completed_at)
        self.coverage[state] += 1
        if state != FRESH:
            image = UncoveredImage(
                record.registry_id,
                record.repository,
                record.digest,
                tuple(record.image_tags),
                state,
                record.scan_status,
                record.scan_completed_at,
            )
            item = (_negate(_uncovered_rank(state, record.scan_completed_at)), number, image)
            if len(self.uncovered) < self.detail_limit:
                heapq.heappush(self.uncovered, item)
            elif self.detail_limit and item > self.uncovered[0]:
                heapq.heapreplace(self.uncovered, item)
        pairs = itertools.chain(record.findings.items(), record.suppressed_findings.items())
        for (finding_id, severity), suppressed in zip(pairs, hidden, strict=True):
            found = self.findings.get(finding_id)
            if found is None:
                found = self.findings[finding_id] = [severity, 0, set(), 0]
            elif _severity_rank(severity) < _severity_rank(found[0]):
                found[0] = severity
            if suppressed:
                found[3] += 1
            else:
                found[1] += 1
                found[2].add(key)

    def report(
        self,
        now: datetime,
        scan_expiry_days: int,
        region: str | None,
        active: Sequence[Suppression],
        findings_limit: int,
        **extra: Any,
    ) -> Report:
        finding_rows = [
            FindingRow(fid, sev, images, len(repos), suppressed)
            for fid, (sev, images, repos, suppressed) in self.findings.items()
        ]
        window = now + timedelta(days=SUPPRESSION_WINDOW_DAYS)
        expiring = sorted(
            (s for s in active if s.expires is not None and _utc(s.expires) <= window),
            key=lambda s: (_utc(s.expires), s.vulnerability_id),  # type: ignore[arg-type]
        )
        return Report(
            generated_at=now,
            scan_expiry_days=scan_expiry_days,
            thresholds=self.thresholds,
            region=region,
            images=self.images,
            images_in_breach=self.in_breach,
            breached=self.breached,
            coverage=self.coverage,
            repositories=sorted(self.repositories.values(), key=RepositoryRow.rank),
            findings=heapq.nsmallest(findings_limit, finding_rows, key=_finding_rank),
            findings_total=len(self.findings),
            uncovered=sorted(
                (image for _, _, image in self.uncovered),
                key=lambda i: (_uncovered_rank(i.state, i.last_scan), i.repository, i.digest),
            ),
            suppressions_expiring=expiring,
            suppressions_active=len(active),
            oldest_scan=self.oldest,
            **extra,
        )


def build(
    records: Iterable[Record],
    now: datetime,
    *,
    scan_expiry_days: int,
    thresholds: Mapping[str, int | None],
    suppressions: Iterable[Suppression | Sequence[Any]] = (),
    region: str | None = None,
    existing_repositories: Collection[tuple[str, str]] | None = None,
    findings_limit: int = FINDINGS_LIMIT,
    detail_limit: int = DETAIL_LIMIT,
    teams: TeamsDocument | None = None,
    tags: Callable[[str, str], Mapping[str, str] | None] | None = None,
    teams_unavailable: str | None = None,
) -> Report:
    """The report over ``records`` (read once) at ``now`` (timezone-aware). With ``existing_repositories`` (the
    registry's ``(registry_id, name)`` pairs today), records of other repositories (deleted since: their records
    wait for the ledger's TTL) are left out and counted.

    With ``teams`` (the stored teams document), each repository is resolved to its owner (core/ownership.py: its
    tags, from ``tags(registry_id, repository)``, asked once per repository and only when the document has a tag
    key; then the teams' regexes; else nobody) and the report has one section per team, then ``unowned``
    (:attr:`Report.sections`): each a report of the team's repositories alone, its images in breach being their
    latest counts over THAT team's thresholds (teams.settings_for), the suppressions those covering one of its
    repositories. ``teams_unavailable`` says why teams configured could not be read (the report says so)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    entries = [Suppression.of(e) for e in suppressions]
    active = [s for s in entries if s.active(now)]
    by_id: dict[str, list[Suppression]] = {}  # finding ids compare case-insensitively, as alerts/suppressions.py does
    for entry in active:
        by_id.setdefault(entry.vulnerability_id.upper(), []).append(entry)

    whole = _Aggregate(thresholds, detail_limit)
    module = Settings(severity_thresholds=thresholds)
    sections: dict[str, _Aggregate] = {}
    if teams is not None:
        for team in teams.teams:
            sections[team.name] = _Aggregate(settings_for(module, team).severity_thresholds, detail_limit)
        sections[UNOWNED] = _Aggregate(thresholds, detail_limit)
    owners: dict[tuple[str, str], str] = {}
    covered_cache: dict[tuple[str, str], bool] = {}
    deleted = not_scannable = 0

    for number, record in enumerate(records):
        key = (record.registry_id, record.repository)
        if existing_repositories is not None and key not in existing_repositories:
            deleted += 1
            continue
        if recorded_not_scannable(record.scan_status):
            not_scannable += 1
            continue
        hidden = []
        for finding_id, _ in itertools.chain(record.findings.items(), record.suppressed_findings.items()):
            entries_of = by_id.get(finding_id.upper()) if by_id else None
            covered = False
            if entries_of:
                cache_key = (finding_id, record.repository)
                if cache_key not in covered_cache:
                    covered_cache[cache_key] = any(s.covers(record.repository) for s in entries_of)
                covered = covered_cache[cache_key]
            hidden.append(covered)
        state = coverage_state(record, now, scan_expiry_days)
        whole.add(record, number, [s for s in record.breached if s in whole.breached], state, hidden)
        if teams is not None:
            owner = owners.get(key)
            if owner is None:
                looked_up = tags(*key) if tags is not None and teams.tag_key is not None else None
                owner = owners[key] = resolve(record.repository, looked_up, teams).dimension
            section = sections[owner]
            section.add(record, number, evaluate_thresholds(record.severity_counts, section.thresholds), state, hidden)

    common = {"now": now, "scan_expiry_days": scan_expiry_days, "region": region, "findings_limit": findings_limit}
    parts = tuple(
        section.report(
            active=[s for s in active if any(s.covers(name) for _, name in section.repositories)],
            team=name,
            **common,  # type: ignore[arg-type]
        )
        for name, section in sections.items()
    )
    return whole.report(
        active=active,
        deleted_records=deleted,
        sections=parts,
        teams_unavailable=teams_unavailable,
        not_scannable=not_scannable,
        **common,  # type: ignore[arg-type]
    )


def coverage_state(record: Record, now: datetime, scan_expiry_days: int) -> str:
    """``failed`` (latest scan FAILED or UNSUPPORTED_IMAGE), ``never_scanned`` (no result yet), ``stale``
    (result older than the expiry), else ``fresh``."""
    if (record.scan_status or "").upper() in _NO_RESULT:
        return FAILED
    if record.scan_completed_at is None:
        return NEVER_SCANNED
    return STALE if expiry.scan_expired(record.scan_completed_at, now, scan_expiry_days) else FRESH


# --- renderers ----------------------------------------------------------------------------------------------------


def to_document(report: Report, limit: int | None = None, team_limit: int | None = None) -> dict[str, Any]:
    """The JSON document (``version`` 1, ``type`` report); ``limit`` caps every list (their ``*_total`` stay),
    ``team_limit`` those of the team sections (default: ``limit``). Keys added with teams, all additive: ``team``
    (a team's own report), ``teams`` (one section per team) and ``unowned`` (the whole registry's report with
    teams), ``teams_unavailable`` (teams are configured but could not be read)."""

    def cap(rows: Sequence[Any]) -> list[Any]:
        return [r.to_json() if hasattr(r, "to_json") else r for r in (rows if limit is None else rows[:limit])]

    uncovered_total = report.images - report.coverage[FRESH]
    doc: dict[str, Any] = {
        "version": 1,
        "type": "report",
        "generated_at": _iso(report.generated_at),
        "region": report.region,
        "scan_expiry_days": report.scan_expiry_days,
        "thresholds": {s: report.thresholds.get(s) for s in SEVERITIES},
        "summary": {
            "repositories": len(report.repositories),
            "images": report.images,
            "images_in_breach": report.images_in_breach,
            "breached": dict(report.breached),
            "coverage": dict(report.coverage),
            "findings": report.findings_total,
            "suppressions_active": report.suppressions_active,
            "records_of_deleted_repositories": report.deleted_records,
            "oldest_scan": _iso(report.oldest_scan),
            "not_scannable": report.not_scannable,
        },
        "repositories": cap(report.repositories),
        "repositories_total": len(report.repositories),
        "top_findings": cap(report.findings),
        "findings_total": report.findings_total,
        "not_covered": cap(report.uncovered),
        "not_covered_total": uncovered_total,
        "suppressions_expiring": cap([_suppression_json(s) for s in report.suppressions_expiring]),
        "suppressions_expiring_total": len(report.suppressions_expiring),
    }
    if report.team is not None:
        doc["team"] = report.team
    if report.sections:
        section_limit = limit if team_limit is None else team_limit
        doc["teams"] = [_section_document(t, section_limit) for t in report.sections if t.team != UNOWNED]
        doc["unowned"] = next(_section_document(t, section_limit) for t in report.sections if t.team == UNOWNED)
    if report.teams_unavailable:
        doc["teams_unavailable"] = report.teams_unavailable
    if report.scan_budget is not None and report.team is None:
        doc["scan_budget"] = dict(report.scan_budget)
    return doc


def scan_budget_lines(budget: Mapping[str, Any]) -> list[str]:
    """The scan budget's section of the text report: the budget, the in-use images' scan age, past expiry, the
    headroom (the figures the repositories stage stored at its last plan)."""
    ages = budget.get("in_use_scan_age_days") or {}

    def days(value: Any) -> str:
        return "-" if value is None else f"{value}"

    refused = "; ECR refused scans for the registry's daily quota" if budget.get("refused_by_quota") else ""
    return [
        "",
        f"Scan budget and staleness (the sweep planned at {budget.get('at', '?')})",
        f"  budget {budget.get('budget', 0):,} scans a day (configured {budget.get('configured', 0):,}), planned "
        f"{budget.get('planned', 0):,}; the sweep before started {budget.get('spent', 0):,}{refused}",
        f"  in use: {budget.get('in_use', 0):,} of {budget.get('images', 0):,} images, scan age p50 "
        f"{days(ages.get('p50'))} / p95 {days(ages.get('p95'))} / max {days(ages.get('max'))} days",
        f"  past expiry: {budget.get('past_expiry_in_use', 0):,} in use, {budget.get('past_expiry_not_in_use', 0):,}"
        f" not in use; in use and unscanned for more than the expiry + 1 day: "
        f"{budget.get('in_use_past_expiry_plus_one_day', 0):,}; never scanned: {budget.get('never_scanned', 0):,}",
        f"  headroom: {budget.get('headroom', '-')}",
    ]


_SECTION_KEYS = ("team", "thresholds", "repositories", "repositories_total", "top_findings", "findings_total")
_SECTION_SUMMARY = ("repositories", "images", "images_in_breach", "breached", "coverage", "findings")


_NOT_SCANNABLE = "artifact(s) ECR cannot scan (signatures, attestations, charts, indexes), left out above"


def _section_document(section: Report, limit: int | None) -> dict[str, Any]:
    """A team's section of the whole report: its summary, repositories, top findings and images not covered."""
    doc = to_document(section, limit)
    return {
        **{k: doc[k] for k in _SECTION_KEYS},
        "summary": {k: doc["summary"][k] for k in _SECTION_SUMMARY},
        "not_covered": doc["not_covered"],
        "not_covered_total": doc["not_covered_total"],
    }


def render_json(report: Report, limit: int | None = None) -> str:
    return json.dumps(to_document(report, limit), indent=2)


def render_text(report: Report, limit: int | None = 20, team_limit: int | None = None) -> str:
    """A readable plain-text report (e-mail, terminal); every list shows ``limit`` rows, then "and N more"; the
    team sections' lists ``team_limit`` rows (default: ``limit``)."""
    team = f" for team {report.team}" if report.team is not None else ""
    unavailable = [f"Teams:            could not be read ({report.teams_unavailable}): no section per team"]
    lines = [
        f"ECR exposure report{f' ({report.region})' if report.region else ''}{team}, {_iso(report.generated_at)}",
        "",
        f"Images:           {report.images} in {len(report.repositories)} repositories",
        f"In breach:        {report.images_in_breach} image(s)"
        + (f" ({_breach_summary(report.breached)})" if report.images_in_breach else ""),
        f"Not covered:      {report.images - report.coverage[FRESH]} image(s): {report.coverage[NEVER_SCANNED]} never"
        f" scanned, {report.coverage[FAILED]} failed, {report.coverage[STALE]} older than"
        f" {report.scan_expiry_days} day(s)",
        *([f"Not scannable:    {report.not_scannable} {_NOT_SCANNABLE}"] if report.not_scannable else []),
        f"Thresholds:       {_thresholds(report.thresholds)}",
        *(unavailable if report.teams_unavailable else []),
        "",
        "Images in breach by repository",
    ]
    exposed = [r for r in report.repositories if r.in_breach]
    rows = [[r.repository, str(r.images), *(str(r.breached[s]) for s in SEVERITIES)] for r in _cap(exposed, limit)]
    lines += _table(["REPOSITORY", "IMAGES", *SEVERITIES], rows, "none") + _more(exposed, limit)
    lines += ["", f"Most common findings ({report.findings_total} distinct)"]
    rows = [
        [f.finding_id, f.severity, str(f.images), str(f.repositories), str(f.suppressed_images or "")]
        for f in _cap(report.findings, limit)
    ]
    lines += _table(["FINDING", "SEVERITY", "IMAGES", "REPOS", "SUPPRESSED"], rows, "none")
    lines += _more(report.findings, limit, report.findings_total)
    lines += ["", "Images not covered (never scanned, failed, or older than the expiry)"]
    uncovered_total = report.images - report.coverage[FRESH]
    rows = [
        [i.repository, _image(i.tags, i.digest), i.state, _iso(i.last_scan) or "-"]
        for i in _cap(report.uncovered, limit)
    ]
    lines += _table(["REPOSITORY", "IMAGE", "STATE", "LAST SCAN"], rows, "none")
    lines += _more(report.uncovered, limit, uncovered_total)
    lines += ["", f"Suppressions expiring within {SUPPRESSION_WINDOW_DAYS} days"]
    rows = [
        [s.vulnerability_id, _iso(s.expires), s.repository_regex or "(all)", s.reason]
        for s in _cap(report.suppressions_expiring, limit)
    ]
    lines += _table(["FINDING", "EXPIRES", "REPOSITORIES", "REASON"], rows, "none")
    lines += _more(report.suppressions_expiring, limit)
    if report.scan_budget is not None and report.team is None:
        lines += scan_budget_lines(report.scan_budget)
    if report.sections:
        lines += _teams_text(report.sections, limit if team_limit is None else team_limit)
    return "\n".join(lines) + "\n"


def _teams_text(sections: Sequence[Report], limit: int | None) -> list[str]:
    """The team sections: one summary row per team (every team), then each team's exposed repositories and most
    common findings (``limit`` rows each); in breach means over the team's own thresholds."""
    named = len([s for s in sections if s.team != UNOWNED])
    lines = ["", f"Teams ({named}, then the repositories no team owns); in breach of each team's own thresholds"]
    rows = [
        [
            str(s.team),
            str(len(s.repositories)),
            str(s.images),
            str(s.images_in_breach),
            *(str(s.breached[v]) for v in SEVERITIES),
            str(s.images - s.coverage[FRESH]),
            _thresholds(s.thresholds),
        ]
        for s in sections
    ]
    header = ["TEAM", "REPOS", "IMAGES", "IN BREACH", *SEVERITIES, "NOT COVERED", "THRESHOLDS"]
    lines += _table(header, rows, "none")
    if limit == 0:
        return lines
    for s in sections:
        exposed = [r for r in s.repositories if r.in_breach]
        lines += ["", f"{_section_title(str(s.team))}: {s.images_in_breach} of {s.images} image(s) in breach"]
        rows = [[r.repository, str(r.images), *(str(r.breached[v]) for v in SEVERITIES)] for r in _cap(exposed, limit)]
        lines += _table(["REPOSITORY", "IMAGES", *SEVERITIES], rows, "no repository in breach") + _more(exposed, limit)
        rows = [[f.finding_id, f.severity, str(f.images), str(f.repositories)] for f in _cap(s.findings, limit)]
        lines += _table(["FINDING", "SEVERITY", "IMAGES", "REPOS"], rows, "no findings")
        lines += _more(s.findings, limit, s.findings_total)
    return lines


def render_html(report: Report, limit: int | None = None) -> str:
    """One self-contained HTML page (inline style, no script, nothing fetched); every value escaped."""
    doc = to_document(report, limit)
    team = f" for team {report.team}" if report.team is not None else ""
    e = html.escape
    summary = doc["summary"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>ECR exposure report {e(doc['generated_at'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>ECR exposure report{e(f' ({report.region})' if report.region else '')}{e(team)}</h1>",
        f"<p class=meta>Generated {e(doc['generated_at'])} &middot; scan expiry {report.scan_expiry_days} day(s)"
        f" &middot; thresholds {e(_thresholds(report.thresholds))}</p>",
        *(
            [f"<p class=warn>Teams could not be read ({e(report.teams_unavailable)}): no section per team.</p>"]
            if report.teams_unavailable
            else []
        ),
        '<div class="cards">',
        _card("Images", summary["images"], f"in {summary['repositories']} repositories"),
        _card("In breach", summary["images_in_breach"], _breach_summary(report.breached) or "none", "bad"),
        _card("Not covered", doc["not_covered_total"], "never scanned, failed or stale", "warn"),
        *(
            [_card("Not scannable", report.not_scannable, "artifacts ECR cannot scan, not counted as images")]
            if report.not_scannable
            else []
        ),
        _card("Findings", summary["findings"], "distinct across the registry"),
        "</div>",
        "<h2>Images in breach by repository</h2>",
        _html_table(
            ["Repository", "Images", "In breach", *SEVERITIES, "Not covered"],
            [_repository_cells(r) for r in doc["repositories"]],
            doc["repositories_total"],
        ),
        "<h2>Most common findings</h2>",
        _html_table(
            ["Finding", "Severity", "Images", "Repositories", "Suppressed images"],
            [
                [f["id"], f["severity"], f["images"], f["repositories"], f["suppressed_images"]]
                for f in doc["top_findings"]
            ],
            doc["findings_total"],
        ),
        "<h2>Images not covered</h2>",
        _html_table(
            ["Repository", "Image", "State", "Scan status", "Last scan"],
            [
                [i["repository"], _image(i["tags"], i["digest"]), i["state"], i["scan_status"], i["last_scan"] or "-"]
                for i in doc["not_covered"]
            ],
            doc["not_covered_total"],
        ),
        f"<h2>Suppressions expiring within {SUPPRESSION_WINDOW_DAYS} days</h2>",
        _html_table(
            ["Finding", "Expires", "Repositories", "Reason"],
            [
                [s["vulnerability_id"], s["expires"], s["repository_regex"] or "(all)", s["reason"]]
                for s in doc["suppressions_expiring"]
            ],
            doc["suppressions_expiring_total"],
        ),
        *(_scan_budget_html(doc["scan_budget"]) if "scan_budget" in doc else []),
        *(_teams_html(doc) if report.sections else []),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def render_report(
    subject: str, text: str, document: str, highest: str, team: str | None = None
) -> sns_message.Notification:
    """The exposure report as a notification: ``text`` for ``default``/``email``, the JSON ``document`` for
    ``sqs``/``lambda``/``https``; attributes ``event_type`` = ``report`` and ``highest_severity`` (the most
    severe breached severity in the registry, or ``NONE``), and ``team`` for a team's own report. No
    ``repository``: the report covers them all."""
    attributes = {"event_type": "report", "highest_severity": highest}
    if team is not None and team != UNOWNED:
        attributes["team"] = team
    return sns_message.Notification(
        subject=sns_message.fit_subject(subject),
        message={"default": text, "email": text, "sqs": document, "lambda": document, "https": document},
        attributes=attributes,
    )


def notification(report: Report, max_bytes: int = sns_message.SNS_MAX_BYTES) -> sns_message.Notification:
    """The report as one SNS message within ``max_bytes``: the longest lists that fit (20, 10, 5, ... rows); the
    team sections' lists give way first (5, 3, 1, then none: each team's own report has its rows)."""
    subject = _subject(report)
    limits = _SECTION_LIMITS if report.sections else [(limit, None) for limit in (20, 10, 5, 3, 1, 0)]
    for limit, team_limit in limits:
        text = render_text(report, limit, team_limit)
        document = json.dumps(to_document(report, limit, team_limit))
        message = render_report(subject, text, document, sns_message.highest_severity(report.breached), report.team)
        if sns_message.message_bytes(message) <= max_bytes:
            return message
    raise ValueError("the report does not fit in one SNS message even without rows")  # summary only: cannot happen


_SECTION_LIMITS = [(20, 5), (20, 3), (20, 1), (20, 0), (10, 0), (5, 0), (3, 0), (1, 0), (0, 0)]


def team_reports(report: Report) -> list[Report]:
    """The reports a team's own topic receives: one per team (not ``unowned``: the module's topic has the whole)."""
    return [s for s in report.sections if s.team != UNOWNED]


# --- helpers --------------------------------------------------------------------------------------------------------

_CSS = (
    "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24}"
    "h1{margin-bottom:.2rem}.meta{color:#57606a}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}"
    ".card{border:1px solid #d0d7de;border-radius:6px;padding:.8rem 1.2rem;min-width:10rem}"
    ".card b{display:block;font-size:1.8rem}.card.bad b{color:#cf222e}.card.warn b{color:#9a6700}.warn{color:#9a6700}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;"
    "text-align:left}th{background:#f6f8fa}td.n{text-align:right}.more{color:#57606a}"
)


def _teams_html(doc: Mapping[str, Any]) -> list[str]:
    """The team sections: a summary table of every team, then each team's repositories and top findings."""
    sections = [*doc["teams"], doc["unowned"]]
    header = ["Team", "Repositories", "Images", "In breach", *SEVERITIES, "Not covered", "Thresholds"]
    rows = [
        [
            t["team"],
            t["summary"]["repositories"],
            t["summary"]["images"],
            t["summary"]["images_in_breach"],
            *(t["summary"]["breached"][s] for s in SEVERITIES),
            t["not_covered_total"],
            _thresholds(t["thresholds"]),
        ]
        for t in sections
    ]
    parts = ["<h2>Teams</h2>", "<p>In breach of each team's own thresholds.</p>", _html_table(header, rows, len(rows))]
    for t in sections:
        parts += [
            f"<h3>{html.escape(_section_title(t['team']))}</h3>",
            _html_table(
                ["Repository", "Images", "In breach", *SEVERITIES, "Not covered"],
                [_repository_cells(r) for r in t["repositories"]],
                t["repositories_total"],
            ),
            _html_table(
                ["Finding", "Severity", "Images", "Repositories", "Suppressed images"],
                [
                    [f["id"], f["severity"], f["images"], f["repositories"], f["suppressed_images"]]
                    for f in t["top_findings"]
                ],
                t["findings_total"],
            ),
        ]
    return parts


def _section_title(team: str) -> str:
    return f"Unowned ({UNOWNED}: the repositories no team owns)" if team == UNOWNED else f"Team {team}"


def _repository_cells(row: Mapping[str, Any]) -> list[Any]:
    breached = [row["breached"][s] for s in SEVERITIES]
    uncovered = row["images"] - row["coverage"][FRESH]
    return [row["repository"], row["images"], row["images_in_breach"], *breached, uncovered]


def _card(title: str, value: int, note: str, kind: str = "") -> str:
    return f'<div class="card {kind}">{html.escape(title)}<b>{value}</b>{html.escape(note)}</div>'


def _html_table(header: list[str], rows: list[list[Any]], total: int) -> str:
    if not rows:
        return "<p>None.</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{v}</td>' if isinstance(v, int) else f"<td>{html.escape(str(v))}</td>" for v in row)
        + "</tr>"
        for row in rows
    )
    more = f'<p class="more">and {total - len(rows)} more</p>' if total > len(rows) else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _table(header: list[str], rows: list[list[str]], empty: str) -> list[str]:
    if not rows:
        return [f"  {empty}"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def _cap(rows: Sequence[Any], limit: int | None) -> Sequence[Any]:
    return rows if limit is None else rows[:limit]


def _more(rows: Sequence[Any], limit: int | None, total: int | None = None) -> list[str]:
    total = len(rows) if total is None else total
    shown = len(_cap(rows, limit))
    return [f"  ... and {total - shown} more"] if total > shown else []


def _subject(report: Report) -> str:
    where = f" ({report.region})" if report.region else ""
    team = f" for {report.team}" if report.team is not None else ""
    text = f"ECR exposure report{where}{team}: {report.images_in_breach} of {report.images} images in breach"
    return text[: sns_message.SUBJECT_MAX]


def _breach_summary(breached: Mapping[str, int]) -> str:
    return ", ".join(f"{breached[s]} {s}" for s in SEVERITIES if breached.get(s))


def _thresholds(thresholds: Mapping[str, int | None]) -> str:
    shown = [f"{s} > {thresholds[s]}" for s in SEVERITIES if thresholds.get(s) is not None]
    return ", ".join(shown) or "none"


def _image(tags: Sequence[str], digest: str) -> str:
    return ",".join(tags) if tags else f"@{digest[:19]}"


def _suppression_json(s: Suppression) -> dict[str, Any]:
    return {
        "vulnerability_id": s.vulnerability_id,
        "expires": _iso(s.expires),
        "reason": s.reason,
        "repository_regex": s.repository_regex,
    }


def _uncovered_rank(state: str, last_scan: datetime | None) -> tuple[int, float]:
    """Lower first: never scanned, then failed, then the oldest results."""
    order = {NEVER_SCANNED: 0, FAILED: 1, STALE: 2}[state]
    return (order, _utc(last_scan).timestamp() if last_scan else 0.0)


def _negate(rank: tuple[int, float]) -> tuple[int, float]:
    return (-rank[0], -rank[1])


def _finding_rank(row: FindingRow) -> tuple[Any, ...]:
    return (-row.images, _severity_rank(row.severity), -row.repositories, row.finding_id)


def _severity_rank(severity: str) -> int:
    order = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
    return order.index(severity) if severity in order else len(order)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _iso(value: datetime | None) -> str | None:
    """UTC, to the second (``2026-11-30T06:00:00Z``)."""
    return _utc(value).astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z") if value else None


def _scan_budget_html(budget: Mapping[str, Any]) -> list[str]:
    lines = scan_budget_lines(budget)
    return [
        f"<h2>{html.escape(lines[1])}</h2>",
        "<ul>",
        *(f"<li>{html.escape(x.strip())}</li>" for x in lines[2:]),
        "</ul>",
    ]
