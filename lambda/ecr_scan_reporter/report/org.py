"""The organization report: every spoke's latest exposure report -> one view of the organization (pure).

A spoke is one deployment of the module, named ``<account>/<region>`` (the prefix its report is written under in
the hub's bucket). :func:`merge` takes the spokes' latest report documents (exposure.py's JSON, ``"version": 1,
"type": "report"``) and answers:

- per spoke (account and region): repositories, images, images in breach by severity, images not covered, the
  oldest scan, when it reported;
- the organization's totals and its most common findings (the spokes' top findings added up);
- with teams (the spokes' team sections, and the teams the hub names): one section per team across accounts and
  regions (per spoke: the team's repositories, images, images in breach of the team's thresholds, images not
  covered; the team's most common findings), then ``unowned``; each team's own report is :func:`team_notification`;
- which spokes are **silent**: expected (the configured ``<account>/<region>`` list) but never reported, or whose
  latest report is older than two report periods. A silent spoke makes the report an alert: the published message's
  ``event_type`` is ``organization_silent_spokes`` and its subject starts with the count;
- which documents could not be read (not JSON, over :data:`MAX_SPOKE_REPORT_BYTES`, not a report, a version this
  code does not know, a field the merge uses that is malformed): listed with the reason, never silently left out.

One bad spoke never stops the report. A document is read whole or not at all: every field the merge uses is
checked before any of it counts (a count is a whole number from 0 to 2**53 - 1, no bool, no float, so no NaN or
Infinity, and no more than what contains it: images in breach, images not covered and a finding's images within
the spoke's images; a list is a list, a finding's id and severity are short strings, a time is an ISO string no
later than an hour after ``now``), and the first malformed one makes the spoke ``unreadable`` with its path and
value (``top_findings[0].images is -5, not a count``). Keys the merge does not use are not read.

Older documents of version 1 (a spoke on an older release of the module) lack keys added since (``oldest_scan``,
the team sections): the merge reads what is there; the oldest scan then comes from the document's ``not_covered``
rows, where it can. A spoke given twice (the same ``<account>/<region>``) counts once: its newest report wins, the
other is counted in ``duplicates``.

Renderers: :func:`to_document` (``"version": 1, "type": "organization_report"``), :func:`render_text`,
:func:`render_html`, :func:`notification` (one SNS message within 256 KB, with the chat form),
:func:`team_notification` (a team's own organization-wide report).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.core.config import SEVERITIES
from ecr_scan_reporter.core.teams import TEAM_NAME, UNOWNED

SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
FINDINGS_LIMIT = 50  # most common findings across the organization kept
SILENT_AFTER_PERIODS = 2
EVENT_REPORT, EVENT_SILENT = "organization_report", "organization_silent_spokes"
_SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
CHAT_DESCRIPTION_MAX = 4_000
#: The most the hub reads of one spoke's latest.json: a larger one is listed unreadable, never read whole. 32 MiB
#: is a registry of some 70,000 repositories (about 460 bytes each), or 35,000 with teams (each repository is listed
#: again in its team's section); the function parses one document at a time (some four times its size in memory).
MAX_SPOKE_REPORT_BYTES = 32 * 1024 * 1024
MAX_COUNT = 2**53 - 1  # a count beyond this is no registry's (and not exact as a JSON number elsewhere)
FUTURE_TOLERANCE = timedelta(hours=1)  # a report stamped later than now + this is refused (clock skew allowed)
_FINDING_ID_MAX = 256
_SEVERITY = re.compile(r"^[A-Z][A-Z_]{0,31}$")
_REASON_MAX = 300


class UnreadableReport(ValueError):
    """A spoke's document that is not a report this code reads; the message says why."""


@dataclass(frozen=True)
class SpokeInput:
    """What the hub found for one spoke: its name and the parsed document (or why it could not be parsed)."""

    spoke: str  # <account>/<region>
    document: Any = None
    error: str | None = None


def parse(spoke: str, body: bytes) -> SpokeInput:
    """A spoke's ``latest.json`` as read from the bucket (at most :data:`MAX_SPOKE_REPORT_BYTES` + 1 bytes: the caller
    never reads more) -> the :class:`SpokeInput` the merge takes, or why it cannot be read."""
    if len(body) > MAX_SPOKE_REPORT_BYTES:
        return SpokeInput(spoke, error=too_large(None))
    try:
        return SpokeInput(spoke, json.loads(body))
    except RecursionError:  # json's parser recurses once per nested array or object
        return SpokeInput(spoke, error="not JSON: nested too deep for the parser")
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer over Python's 4,300 digits
        return SpokeInput(spoke, error=f"not JSON: {str(exc)[:_REASON_MAX]}")


def too_large(size: int | None) -> str:
    """Why a spoke's document over :data:`MAX_SPOKE_REPORT_BYTES` is not read (``size``: its length, when known)."""
    if size is None:
        return f"latest.json is over the {MAX_SPOKE_REPORT_BYTES:,} bytes the hub reads"
    return f"latest.json is {size:,} bytes, over the {MAX_SPOKE_REPORT_BYTES:,} the hub reads"


@dataclass
class SpokeRow:
    spoke: str
    account: str
    region: str
    expected: bool
    status: str  # reporting | silent | unreadable
    generated_at: datetime | None = None
    version: int | None = None
    repositories: int = 0
    images: int = 0
    images_in_breach: int = 0
    breached: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    not_covered: int = 0
    oldest_scan: datetime | None = None
    reason: str | None = None  # silent: why; unreadable: what is wrong
    team_sections: bool = False  # the document has team sections (the spoke has teams and could read them)
    teams_unavailable: str | None = None  # the spoke's teams are configured but it could not read them: why

    def to_json(self) -> dict[str, Any]:
        return {
            "spoke": self.spoke,
            "account": self.account,
            "region": self.region,
            "expected": self.expected,
            "status": self.status,
            "generated_at": _iso(self.generated_at),
            "version": self.version,
            "repositories": self.repositories,
            "images": self.images,
            "images_in_breach": self.images_in_breach,
            "breached": dict(self.breached),
            "not_covered": self.not_covered,
            "oldest_scan": _iso(self.oldest_scan),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FindingRow:
    finding_id: str
    severity: str
    images: int
    repositories: int
    spokes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.finding_id,
            "severity": self.severity,
            "images": self.images,
            "repositories": self.repositories,
            "spokes": self.spokes,
        }


@dataclass(frozen=True)
class TeamRow:
    """One team's figures in one spoke (its section of the spoke's report: the team's own thresholds there)."""

    spoke: str
    repositories: int
    images: int
    images_in_breach: int
    breached: Mapping[str, int]
    not_covered: int

    def to_json(self) -> dict[str, Any]:
        return {
            "spoke": self.spoke,
            "repositories": self.repositories,
            "images": self.images,
            "images_in_breach": self.images_in_breach,
            "breached": dict(self.breached),
            "not_covered": self.not_covered,
        }


@dataclass(frozen=True)
class TeamSection:
    """A team across accounts and regions: its row in every spoke whose report has a section for it."""

    team: str  # a team's name, or ``unowned``
    configured: bool  # one of the hub's teams (TEAM_NAMES: it receives its own report)
    spokes: list[TeamRow]  # the most exposed first
    findings: list[FindingRow]
    findings_total: int

    @property
    def totals(self) -> dict[str, Any]:
        return {
            "spokes": len(self.spokes),
            "repositories": sum(row.repositories for row in self.spokes),
            "images": sum(row.images for row in self.spokes),
            "images_in_breach": sum(row.images_in_breach for row in self.spokes),
            "breached": {s: sum(row.breached[s] for row in self.spokes) for s in SEVERITIES},
            "not_covered": sum(row.not_covered for row in self.spokes),
        }


@dataclass(frozen=True)
class OrgReport:
    generated_at: datetime
    silent_after: timedelta
    spokes: list[SpokeRow]  # silent first, then unreadable, then the most exposed
    findings: list[FindingRow]
    findings_total: int
    duplicates: int
    #: With teams: one section per team (the hub's teams in their order, then the others the spokes name, by name),
    #: then ``unowned``; empty when neither the hub nor any spoke has teams.
    teams: tuple[TeamSection, ...] = ()

    def rows(self, status: str) -> list[SpokeRow]:
        return [row for row in self.spokes if row.status == status]

    def team(self, name: str) -> TeamSection | None:
        return next((section for section in self.teams if section.team == name), None)

    @property
    def counted(self) -> list[SpokeRow]:
        """The spokes whose figures count: every one with a readable report (a silent one's last figures too)."""
        return [row for row in self.spokes if row.status != "unreadable" and row.generated_at is not None]

    @property
    def without_teams(self) -> list[SpokeRow]:
        """With teams: the counted spokes whose report has no team sections (none of their images is a team's)."""
        return [row for row in self.counted if not row.team_sections] if self.teams else []

    @property
    def totals(self) -> dict[str, Any]:
        counted = self.counted
        breached = {s: sum(row.breached[s] for row in counted) for s in SEVERITIES}
        scans = [row.oldest_scan for row in counted if row.oldest_scan is not None]
        return {
            "spokes": len(self.spokes),
            "spokes_reporting": len(self.rows("reporting")),
            "spokes_silent": len(self.rows("silent")),
            "spokes_unreadable": len(self.rows("unreadable")),
            "repositories": sum(row.repositories for row in counted),
            "images": sum(row.images for row in counted),
            "images_in_breach": sum(row.images_in_breach for row in counted),
            "breached": breached,
            "not_covered": sum(row.not_covered for row in counted),
            "oldest_scan": _iso(min(scans)) if scans else None,
            "duplicates": self.duplicates,
        }


@dataclass(frozen=True)
class _Figures:
    """What the merge keeps of a report or of one team's section: its counts and its top findings."""

    repositories: int
    images: int
    images_in_breach: int
    breached: dict[str, int]
    not_covered: int
    findings: tuple[tuple[str, str, int, int], ...]  # id, severity, images, repositories


@dataclass(frozen=True)
class _Read:
    """One spoke's document once checked: its figures and team sections; the document itself is not kept."""

    figures: _Figures
    sections: tuple[tuple[str, _Figures], ...] = ()  # (team, figures), unowned last


def merge(
    inputs: Iterable[SpokeInput],
    now: datetime,
    *,
    expected: Collection[str] = (),
    report_period: timedelta = timedelta(days=7),
    findings_limit: int = FINDINGS_LIMIT,
    teams: Sequence[str] = (),
) -> OrgReport:
    """The organization report at ``now`` (timezone-aware) over the spokes' latest documents (read one at a time:
    ``inputs`` may be a generator, each document is dropped once checked). ``teams``: the hub's teams, each given a
    section (and its own report) even where no spoke names it."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    silent_after = SILENT_AFTER_PERIODS * report_period
    expected_set = set(expected)
    chosen: dict[str, tuple[SpokeRow, _Read | None]] = {}
    duplicates = 0
    for item in inputs:
        row, read = _read(item, item.spoke in expected_set, now)
        if item.spoke in chosen:
            duplicates += 1
            if _newer(chosen[item.spoke][0], row):
                continue
        chosen[item.spoke] = (row, read)
    for spoke in expected_set - set(chosen):
        account, region = _split(spoke)
        reason = "never reported"
        chosen[spoke] = (SpokeRow(spoke, account, region, True, "silent", reason=reason), None)
    for row, _ in chosen.values():
        if row.status == "reporting" and row.generated_at is not None and now - row.generated_at > silent_after:
            row.status = "silent"
            row.reason = f"last reported {_iso(row.generated_at)}, more than {_duration(silent_after)} ago"

    findings, findings_total = _top_findings(
        [read.figures.findings for _, read in chosen.values() if read is not None], findings_limit
    )
    order = {"silent": 0, "unreadable": 1, "reporting": 2}
    spokes = sorted((row for row, _ in chosen.values()), key=lambda r: (order[r.status], *_exposure(r), r.spoke))
    sections = _team_sections(chosen.values(), teams, findings_limit)
    return OrgReport(now, silent_after, spokes, findings, findings_total, duplicates, sections)


def _exposure(row: SpokeRow | TeamRow) -> tuple[int, ...]:
    """The sort key of the most exposed first: images in breach by severity, then images not covered."""
    return (*(-row.breached[s] for s in SEVERITIES), -row.not_covered)


def _top_findings(lists: Iterable[Sequence[tuple[str, str, int, int]]], limit: int) -> tuple[list[FindingRow], int]:
    """The spokes' top findings added up: the most images first, then the most severe, the most spokes, the id."""
    merged: dict[str, list[Any]] = {}  # id -> [severity, images, repositories, spokes]
    for entries in lists:
        for finding_id, severity, images, repositories in entries:
            found = merged.setdefault(finding_id, [severity, 0, 0, 0])
            if _rank(severity) < _rank(found[0]):
                found[0] = severity
            found[1] += images
            found[2] += repositories
            found[3] += 1
    rows = [FindingRow(fid, sev, images, repos, spokes) for fid, (sev, images, repos, spokes) in merged.items()]
    rows.sort(key=lambda r: (-r.images, _rank(r.severity), -r.spokes, r.finding_id))
    return rows[:limit], len(rows)


def _team_sections(
    chosen: Iterable[tuple[SpokeRow, _Read | None]], configured: Sequence[str], findings_limit: int
) -> tuple[TeamSection, ...]:
    """One section per team across the counted spokes: the hub's teams first (in their order), then the teams only
    spokes name (by name), then ``unowned``; none at all when neither the hub nor any spoke has teams."""
    rows: dict[str, list[TeamRow]] = {}
    findings: dict[str, list[Sequence[tuple[str, str, int, int]]]] = {}
    for row, read in chosen:
        if read is None or row.status == "unreadable" or row.generated_at is None:
            continue
        for team, figures in read.sections:
            rows.setdefault(team, []).append(
                TeamRow(
                    row.spoke,
                    figures.repositories,
                    figures.images,
                    figures.images_in_breach,
                    figures.breached,
                    figures.not_covered,
                )
            )
            findings.setdefault(team, []).append(figures.findings)
    if not configured and not rows:
        return ()
    names = list(dict.fromkeys(configured))
    names += sorted(set(rows) - set(names) - {UNOWNED})
    sections = []
    for team in [*names, UNOWNED]:
        top, total = _top_findings(findings.get(team, []), findings_limit)
        team_rows = sorted(rows.get(team, []), key=lambda r: (*_exposure(r), r.spoke))
        sections.append(TeamSection(team, team in configured, team_rows, top, total))
    return tuple(sections)


def _read(item: SpokeInput, expected: bool, now: datetime) -> tuple[SpokeRow, _Read | None]:
    account, region = _split(item.spoke)
    try:
        if item.error is not None:
            raise UnreadableReport(item.error)
        document = _check(item.document)
        generated_at = _time(document.get("generated_at"), "generated_at")
        if generated_at > now + FUTURE_TOLERANCE:
            raise UnreadableReport(f"generated_at {_iso(generated_at)} is in the future")
        figures = _figures(document, "")
        sections = _sections(document, figures)
        unavailable = document.get("teams_unavailable")
        if unavailable is not None and not isinstance(unavailable, str):
            raise UnreadableReport(f"teams_unavailable is {_show(unavailable)}, not text")
        row = SpokeRow(
            item.spoke,
            account,
            region,
            expected,
            "reporting",
            generated_at=generated_at,
            version=int(document["version"]),
            repositories=figures.repositories,
            images=figures.images,
            images_in_breach=figures.images_in_breach,
            breached=figures.breached,
            not_covered=figures.not_covered,
            oldest_scan=_oldest(document, document["summary"]),
            team_sections=bool(sections),
            teams_unavailable=unavailable[:_REASON_MAX] if unavailable else None,
        )
    except UnreadableReport as exc:
        reason = str(exc)[:_REASON_MAX]
        return SpokeRow(item.spoke, account, region, expected, "unreadable", reason=reason), None
    return row, _Read(figures, sections)


def _check(document: Any) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise UnreadableReport("not a JSON object")
    if document.get("type") != "report":
        raise UnreadableReport(f"type {_show(document.get('type'))} is not an exposure report ('report')")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
        known = ", ".join(map(str, SUPPORTED_VERSIONS))
        raise UnreadableReport(f"report version {_show(version)} is not one this hub reads ({known}): update the hub")
    if not isinstance(document.get("summary"), Mapping):
        raise UnreadableReport("no summary")
    return document


def _figures(container: Mapping[str, Any], where: str) -> _Figures:
    """The counts of a report (``where`` ``""``) or of a team's section (``teams[0].``), each checked, and its top
    findings."""
    summary = _object(container.get("summary"), f"{where}summary")
    at = f"{where}summary."
    images = _count(summary, "images", at)
    repositories = _count(summary, "repositories", at)
    in_breach = _within(_count(summary, "images_in_breach", at), images, f"{at}images_in_breach", "images")
    breached_raw = _object(summary.get("breached", {}), f"{at}breached")
    breached = {
        s: _within(_count(breached_raw, s, f"{at}breached."), in_breach, f"{at}breached.{s}", "images in breach")
        for s in SEVERITIES
    }
    coverage = _object(summary.get("coverage", {}), f"{at}coverage")
    if coverage:
        fresh = _within(_count(coverage, "fresh", f"{at}coverage."), images, f"{at}coverage.fresh", "images")
        not_covered = images - fresh
    else:  # a report without coverage counts: the images not covered, as it gives them
        total = _count(container, "not_covered_total", where)
        not_covered = _within(total, images, f"{where}not_covered_total", "images")
    findings = _findings(container, where, images, repositories)
    return _Figures(repositories, images, in_breach, breached, not_covered, findings)


def _findings(
    container: Mapping[str, Any], where: str, images: int, repositories: int
) -> tuple[tuple[str, str, int, int], ...]:
    raw = container.get("top_findings", [])
    if not isinstance(raw, list):
        raise UnreadableReport(f"{where}top_findings is {_show(raw)}, not a list")
    found: list[tuple[str, str, int, int]] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        at = f"{where}top_findings[{index}]"
        if not isinstance(entry, Mapping):
            raise UnreadableReport(f"{at} is not an object")
        finding_id, severity = entry.get("id"), entry.get("severity")
        if not isinstance(finding_id, str) or not 0 < len(finding_id) <= _FINDING_ID_MAX:
            raise UnreadableReport(f"{at}.id is not a finding id (text of 1-{_FINDING_ID_MAX} characters)")
        if finding_id in seen:
            raise UnreadableReport(f"{at}.id {_show(finding_id)} is listed twice")
        if not isinstance(severity, str) or not _SEVERITY.match(severity):
            raise UnreadableReport(f"{at}.severity is not a severity (such as HIGH)")
        seen.add(finding_id)
        found.append(
            (
                finding_id,
                severity,
                _within(_count(entry, "images", f"{at}."), images, f"{at}.images", "images"),
                _within(_count(entry, "repositories", f"{at}."), repositories, f"{at}.repositories", "repositories"),
            )
        )
    return tuple(found)


def _sections(document: Mapping[str, Any], whole: _Figures) -> tuple[tuple[str, _Figures], ...]:
    """The spoke's team sections (``teams``, then ``unowned``), each checked as the report is, or none."""
    if "teams" not in document and "unowned" not in document:
        return ()
    teams, unowned = document.get("teams"), document.get("unowned")
    if not isinstance(teams, list):
        raise UnreadableReport(f"teams is {_show(teams)}, not a list")
    sections: list[tuple[str, _Figures]] = []
    for index, raw in enumerate(teams):
        at = f"teams[{index}]"
        if not isinstance(raw, Mapping):
            raise UnreadableReport(f"{at} is not an object")
        name = raw.get("team")
        if not isinstance(name, str) or not TEAM_NAME.match(name) or name == UNOWNED:
            raise UnreadableReport(f"{at}.team is {_show(name)}, not a team name")
        if any(name == known for known, _ in sections):
            raise UnreadableReport(f"{at}.team {name!r} is listed twice")
        sections.append((name, _section(raw, f"{at}.", whole)))
    if not isinstance(unowned, Mapping) or unowned.get("team") != UNOWNED:
        raise UnreadableReport(f"unowned is not the section of the repositories no team owns (team {UNOWNED!r})")
    sections.append((UNOWNED, _section(unowned, "unowned.", whole)))
    return tuple(sections)


def _section(raw: Mapping[str, Any], where: str, whole: _Figures) -> _Figures:
    figures = _figures(raw, where)
    _within(figures.images, whole.images, f"{where}summary.images", "images of the spoke")
    return figures


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise UnreadableReport(f"{where} is not an object")
    return value


def _count(mapping: Mapping[str, Any], key: str, where: str) -> int:
    """``mapping[key]`` (absent: 0) as a count: a whole number from 0 to MAX_COUNT (no bool, no float: no NaN or
    Infinity, which Python's json reads); ``where`` is the path before ``key`` for the reason."""
    value = mapping.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise UnreadableReport(f"{where}{key} is {_show(value)}, not a count")
    return value


def _within(value: int, bound: int, where: str, of: str) -> int:
    if value > bound:
        raise UnreadableReport(f"{where} is {value}, more than the {bound} {of}")
    return value


def _show(value: Any) -> str:
    """``value`` for a reason: its repr, at most 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _time(value: Any, name: str) -> datetime:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UnreadableReport(f"{name} {_show(value)} is not an ISO time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _oldest(document: Mapping[str, Any], summary: Mapping[str, Any]) -> datetime | None:
    """The summary's ``oldest_scan``; an older document has none: the oldest ``last_scan`` of its ``not_covered``
    rows (the stale images, oldest first), which is the oldest scan whenever an image is stale."""
    if summary.get("oldest_scan") is not None:
        return _time(summary["oldest_scan"], "oldest_scan")
    rows = document.get("not_covered", [])
    if not isinstance(rows, list):
        raise UnreadableReport(f"not_covered is {_show(rows)}, not a list")
    scans = []
    for index, entry in enumerate(rows):
        if not isinstance(entry, Mapping):
            raise UnreadableReport(f"not_covered[{index}] is not an object")
        if entry.get("last_scan") is not None:
            scans.append(_time(entry["last_scan"], "last_scan"))
    return min(scans) if scans else None


def _newer(kept: SpokeRow, other: SpokeRow) -> bool:
    """Whether ``kept`` stays: a readable report beats an unreadable one, then the newest wins."""
    if (kept.generated_at is None) != (other.generated_at is None):
        return kept.generated_at is not None
    return kept.generated_at is not None and other.generated_at is not None and kept.generated_at >= other.generated_at


def _split(spoke: str) -> tuple[str, str]:
    account, _, region = spoke.partition("/")
    return account, region.rstrip("/")


# --- renderers ----------------------------------------------------------------------------------------------------


def to_document(
    report: OrgReport, limit: int | None = None, silent_limit: int | None = None, team_limit: int | None = None
) -> dict[str, Any]:
    """The JSON document (``version`` 1, ``type`` organization_report); ``limit`` caps the reporting spokes and
    the findings (the team sections' too), and shortens the silent and unreadable spokes to their name, time and
    reason (every one of them listed: they are the alert, unless ``silent_limit`` caps them too; ``*_total`` keeps
    the counts); ``team_limit`` caps the team sections listed (``teams_total`` keeps their count). Keys added with
    teams, only when there are teams (additive, the document stays version 1): ``teams``, ``teams_total``,
    ``unowned`` and ``spokes_without_teams``."""
    reporting = report.rows("reporting")
    doc = {
        "version": 1,
        "type": EVENT_REPORT,
        "generated_at": _iso(report.generated_at),
        "silent_after_hours": int(report.silent_after.total_seconds() // 3600),
        "summary": report.totals,
        **_alert_rows(report, limit, silent_limit),
        "spokes": [row.to_json() for row in _cap(reporting, limit)],
        "spokes_total": len(reporting),
        "top_findings": [row.to_json() for row in _cap(report.findings, limit)],
        "findings_total": report.findings_total,
    }
    if report.teams:
        named = [section for section in report.teams if section.team != UNOWNED]
        doc["teams"] = [_team_json(section, limit) for section in _cap(named, team_limit)]
        doc["teams_total"] = len(named)
        doc["unowned"] = _team_json(report.teams[-1], limit)
        doc["spokes_without_teams"] = _without_teams_json(report, silent_limit)
    return doc


def _cap(rows: Sequence[Any], limit: int | None) -> Sequence[Any]:
    return rows if limit is None else rows[:limit]


def _alert_rows(report: OrgReport, limit: int | None, silent_limit: int | None) -> dict[str, Any]:
    """The silent and unreadable spokes (in full, or with ``limit`` their name, time and reason), and their totals."""

    def rows(status: str) -> list[dict[str, Any]]:
        listed = _cap(report.rows(status), silent_limit)
        if limit is None:
            return [row.to_json() for row in listed]
        return [{"spoke": r.spoke, "generated_at": _iso(r.generated_at), "reason": r.reason} for r in listed]

    return {
        "silent_spokes": rows("silent"),
        "silent_spokes_total": len(report.rows("silent")),
        "unreadable_spokes": rows("unreadable"),
        "unreadable_spokes_total": len(report.rows("unreadable")),
    }


def _team_json(section: TeamSection, limit: int | None) -> dict[str, Any]:
    return {
        "team": section.team,
        "configured": section.configured,
        "summary": section.totals,
        "spokes": [row.to_json() for row in _cap(section.spokes, limit)],
        "spokes_total": len(section.spokes),
        "top_findings": [row.to_json() for row in _cap(section.findings, limit)],
        "findings_total": section.findings_total,
    }


def _without_teams_reason(row: SpokeRow) -> str:
    if row.teams_unavailable:
        return f"its teams could not be read: {row.teams_unavailable}"
    return "no teams (its report has no team sections)"


def _without_teams_json(report: OrgReport, limit: int | None) -> list[dict[str, str]]:
    return [{"spoke": row.spoke, "reason": _without_teams_reason(row)} for row in _cap(report.without_teams, limit)]


def render_json(report: OrgReport) -> str:
    return json.dumps(to_document(report), indent=2)


def subject(report: OrgReport) -> str:
    totals = report.totals
    text = (
        f"ECR organization report: {totals['images_in_breach']} of {totals['images']} images in breach,"
        f" {totals['spokes_reporting']} spokes"
    )
    if totals["spokes_silent"]:
        text = f"{totals['spokes_silent']} SILENT SPOKE(S). {text}"
    return sns_message.fit_subject(text)


def _alert_lines(report: OrgReport, silent_limit: int | None, note: str = "") -> list[str]:
    """The silent spokes (the alert) and the unreadable ones, each with its reason; ``note`` follows each heading."""
    lines: list[str] = []
    silent = report.rows("silent")
    if silent:
        lines.append(
            f"ALERT: {len(silent)} spoke(s) silent (no report for more than {_duration(report.silent_after)}){note}:"
        )
        lines += [f"  {row.spoke}: {row.reason}" for row in _cap(silent, silent_limit)]
        if silent_limit is not None and len(silent) > silent_limit:
            lines.append(f"  and {len(silent) - silent_limit} more (the stored report lists them all)")
        lines.append("")
    unreadable = report.rows("unreadable")
    if unreadable:
        lines.append(f"{len(unreadable)} spoke report(s) could not be read{note}:")
        lines += [f"  {row.spoke}: {row.reason}" for row in _cap(unreadable, silent_limit)]
        if silent_limit is not None and len(unreadable) > silent_limit:
            lines.append(f"  and {len(unreadable) - silent_limit} more (the stored report lists them all)")
        lines.append("")
    return lines


def _severities(breached: Mapping[str, int]) -> str:
    return ", ".join(f"{s[0]}{breached[s]}" for s in SEVERITIES)


def render_text(
    report: OrgReport, limit: int | None = 20, silent_limit: int | None = None, team_limit: int | None = None
) -> str:
    totals = report.totals
    lines = [f"ECR organization report, {_iso(report.generated_at)}", "", *_alert_lines(report, silent_limit)]
    breached = ", ".join(f"{s} {totals['breached'][s]}" for s in SEVERITIES)
    lines += [
        f"Spokes: {totals['spokes_reporting']} reporting, {totals['spokes_silent']} silent,"
        f" {totals['spokes_unreadable']} unreadable",
        f"Images: {totals['images']} in {totals['repositories']} repositories; {totals['images_in_breach']} in breach"
        f" ({breached}); {totals['not_covered']} not covered; oldest scan {totals['oldest_scan'] or '-'}",
        "",
        "Per account and region (account/region: repositories, images, in breach, not covered, oldest scan):",
    ]
    reporting = report.rows("reporting")
    for row in _cap(reporting, limit):
        lines.append(
            f"  {row.spoke}: {row.repositories}, {row.images}, {row.images_in_breach}"
            f" ({_severities(row.breached)}), {row.not_covered}, {_iso(row.oldest_scan) or '-'}"
        )
    if limit is not None and len(reporting) > limit:
        lines.append(f"  and {len(reporting) - limit} more")
    lines += ["", "Top findings across the organization (id, severity: images, repositories, spokes):"]
    lines += _finding_lines(report.findings, report.findings_total, limit)
    if report.teams:
        lines += ["", *_teams_lines(report, team_limit, silent_limit)]
    return "\n".join(lines) + "\n"


def _finding_lines(findings: Sequence[FindingRow], total: int, limit: int | None) -> list[str]:
    listed = _cap(findings, limit)
    lines = [f"  {f.finding_id}, {f.severity}: {f.images}, {f.repositories}, {f.spokes}" for f in listed] or ["  none"]
    if total > len(listed):
        lines.append(f"  and {total - len(listed)} more")
    return lines


def _teams_lines(report: OrgReport, team_limit: int | None, silent_limit: int | None) -> list[str]:
    """One summary row per team (each team's own report has its rows), ``unowned`` last, then the spokes without
    team sections."""
    named = [section for section in report.teams if section.team != UNOWNED]
    lines = [
        f"Teams ({len(named)}, then the repositories no team owns; in breach of each team's thresholds as its spokes"
        " apply them: spokes, repositories, images, in breach, not covered):"
    ]
    for section in [*_cap(named, team_limit), report.teams[-1]]:
        t = section.totals
        lines.append(
            f"  {section.team}: {t['spokes']}, {t['repositories']}, {t['images']}, {t['images_in_breach']}"
            f" ({_severities(t['breached'])}), {t['not_covered']}"
        )
    if team_limit is not None and len(named) > team_limit:
        lines.append(f"  and {len(named) - team_limit} more teams (the stored report lists them all)")
    without = report.without_teams
    if without:
        lines.append(f"Spokes without team sections (their images are in no team's figures): {len(without)}")
        lines += [f"  {row.spoke}: {_without_teams_reason(row)}" for row in _cap(without, silent_limit)]
    return lines


def render_html(report: OrgReport) -> str:
    totals = report.totals
    esc = html.escape

    def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{head}</tr>{body or '<tr><td colspan=99>none</td></tr>'}</table>"

    spoke_rows = [
        [
            r.spoke,
            r.status,
            _iso(r.generated_at) or "-",
            r.repositories,
            r.images,
            r.images_in_breach,
            *(r.breached[s] for s in SEVERITIES),
            r.not_covered,
            _iso(r.oldest_scan) or "-",
            r.reason or "",
        ]
        for r in report.spokes
    ]
    alert = (
        f"<p class=alert>{len(report.rows('silent'))} spoke(s) silent for more than {_duration(report.silent_after)}"
        "</p>"
        if report.rows("silent")
        else ""
    )
    teams = ""
    if report.teams:
        team_rows = [
            [s.team, (t := s.totals)["spokes"], t["repositories"], t["images"], t["images_in_breach"],
             *(t["breached"][sev] for sev in SEVERITIES), t["not_covered"]]
            for s in report.teams
        ]  # fmt: skip
        teams = (
            "<h2>Teams across the organization</h2><p>In breach of each team's thresholds as its spokes apply them;"
            f" {UNOWNED}: the repositories no team owns.</p>"
            + table(["team", "spokes", "repositories", "images", "in breach", *SEVERITIES, "not covered"], team_rows)
        )
        if report.without_teams:
            teams += "<p>Spokes without team sections (their images are in no team's figures):</p>" + table(
                ["spoke", "why"], [[r.spoke, _without_teams_reason(r)] for r in report.without_teams]
            )
    when = esc(_iso(report.generated_at) or "")
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>ECR organization report</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
        "th,td{border:1px solid #d0d7de;padding:.3rem .6rem}th{background:#f6f8fa}.alert{color:#cf222e;"
        f"font-weight:bold}}</style></head><body><h1>ECR organization report</h1><p>{when}"
        f": {totals['images_in_breach']} of {totals['images']} images in breach, {totals['spokes_reporting']} spokes"
        f" reporting, {totals['spokes_silent']} silent</p>{alert}<h2>Per account and region</h2>"
        + table(
            [
                "spoke",
                "status",
                "reported",
                "repositories",
                "images",
                "in breach",
                *SEVERITIES,
                "not covered",
                "oldest scan",
                "note",
            ],
            spoke_rows,
        )
        + "<h2>Top findings across the organization</h2>"
        + table(
            ["finding", "severity", "images", "repositories", "spokes"],
            [[f.finding_id, f.severity, f.images, f.repositories, f.spokes] for f in report.findings],
        )
        + teams
        + "</body></html>\n"
    )


#: The notification's fallbacks, fewest rows last: (rows, silent and unreadable spokes named, team sections listed).
_FITS: tuple[tuple[int, int | None, int | None], ...] = (
    (20, None, None), (10, None, None), (5, None, None), (3, None, None), (1, None, None), (0, None, None),
    (0, 100, None), (0, 10, None), (0, 10, 100), (0, 10, 10), (0, 10, 0),
)  # fmt: skip


def notification(report: OrgReport, max_bytes: int = sns_message.SNS_MAX_BYTES) -> sns_message.Notification:
    """The report as one SNS message within ``max_bytes`` (fewer rows until it fits), with its chat form.
    ``event_type`` is ``organization_silent_spokes`` when a spoke is silent, else ``organization_report``."""
    kind = EVENT_SILENT if report.rows("silent") else EVENT_REPORT
    title = subject(report)
    highest = sns_message.highest_severity(report.totals["breached"])
    # Fewer rows first; the silent spokes are named in full unless even that cannot fit (thousands of them).
    for limit, silent_limit, team_limit in _FITS:
        text = render_text(report, limit, silent_limit, team_limit)
        document = json.dumps(to_document(report, limit, silent_limit, team_limit))
        message = sns_message.Notification(
            subject=title,
            message={"default": text, "email": text, "sqs": document, "lambda": document, "https": document},
            attributes={"event_type": kind, "highest_severity": highest},
            chat=_chat(report, kind, title),
        )
        if sns_message.message_bytes(message) <= max_bytes:
            return message
    raise ValueError("the organization report does not fit in one SNS message even without rows")


# --- a team's own organization-wide report ------------------------------------------------------------------------


def team_document(
    report: OrgReport, section: TeamSection, limit: int | None = None, silent_limit: int | None = None
) -> dict[str, Any]:
    """A team's own report (``type`` organization_report with ``team``): the team's summary and rows across the
    spokes, its most common findings, and the spokes whose figures are missing from it (silent, unreadable,
    without team sections). ``summary`` has the team's figures and the organization's spoke counts."""
    totals, org_totals = section.totals, report.totals
    summary = {
        "spokes": totals["spokes"],
        **{key: org_totals[key] for key in ("spokes_reporting", "spokes_silent", "spokes_unreadable")},
        **{key: totals[key] for key in ("repositories", "images", "images_in_breach", "breached", "not_covered")},
    }
    return {
        "version": 1,
        "type": EVENT_REPORT,
        "team": section.team,
        "generated_at": _iso(report.generated_at),
        "silent_after_hours": int(report.silent_after.total_seconds() // 3600),
        "summary": summary,
        **_alert_rows(report, 0, silent_limit),
        "spokes": [row.to_json() for row in _cap(section.spokes, limit)],
        "spokes_total": len(section.spokes),
        "top_findings": [row.to_json() for row in _cap(section.findings, limit)],
        "findings_total": section.findings_total,
        "spokes_without_teams": _without_teams_json(report, silent_limit),
    }


def team_subject(section: TeamSection) -> str:
    totals = section.totals
    return sns_message.fit_subject(
        f"ECR organization report for {section.team}: {totals['images_in_breach']} of {totals['images']} images in"
        f" breach, {totals['spokes']} spokes"
    )


def render_team_text(
    report: OrgReport, section: TeamSection, limit: int | None = 20, silent_limit: int | None = None
) -> str:
    totals = section.totals
    breached = ", ".join(f"{s} {totals['breached'][s]}" for s in SEVERITIES)
    lines = [
        f"ECR organization report for team {section.team}, {_iso(report.generated_at)}",
        "",
        *_alert_lines(report, silent_limit, note=" (not in these figures)"),
        f"Team {section.team} across {totals['spokes']} account(s) and region(s): {totals['images']} images in"
        f" {totals['repositories']} repositories; {totals['images_in_breach']} in breach of the team's thresholds"
        f" ({breached}); {totals['not_covered']} not covered",
        "",
        "Per account and region (account/region: repositories, images, in breach, not covered):",
    ]
    for row in _cap(section.spokes, limit):
        lines.append(
            f"  {row.spoke}: {row.repositories}, {row.images}, {row.images_in_breach} ({_severities(row.breached)}),"
            f" {row.not_covered}"
        )
    if not section.spokes:
        lines.append("  none: no spoke's report has a section for this team")
    elif limit is not None and len(section.spokes) > limit:
        lines.append(f"  and {len(section.spokes) - limit} more")
    lines += ["", f"Top findings of team {section.team} (id, severity: images, repositories, spokes):"]
    lines += _finding_lines(section.findings, section.findings_total, limit)
    without = report.without_teams
    if without:
        lines += ["", f"Spokes without team sections (not in these figures): {len(without)}"]
        lines += [f"  {row.spoke}: {_without_teams_reason(row)}" for row in _cap(without, silent_limit)]
    return "\n".join(lines) + "\n"


def team_notification(
    report: OrgReport, team: str, max_bytes: int = sns_message.SNS_MAX_BYTES
) -> sns_message.Notification:
    """Team ``team``'s own organization-wide report as one SNS message (fewer rows until it fits): ``event_type``
    ``organization_report``, ``team`` the team's name, ``highest_severity`` over the team's images in breach."""
    section = report.team(team)
    if section is None:
        raise KeyError(f"no section for team {team!r}")
    title = team_subject(section)
    highest = sns_message.highest_severity(section.totals["breached"])
    for limit, silent_limit, _ in _FITS:
        text = render_team_text(report, section, limit, silent_limit)
        document = json.dumps(team_document(report, section, limit, silent_limit))
        message = sns_message.Notification(
            subject=title,
            message={"default": text, "email": text, "sqs": document, "lambda": document, "https": document},
            attributes={"event_type": EVENT_REPORT, "highest_severity": highest, "team": section.team},
        )
        if sns_message.message_bytes(message) <= max_bytes:
            return message
    raise ValueError(f"team {team}'s organization report does not fit in one SNS message even without rows")


def _chat(report: OrgReport, kind: str, title: str) -> str:
    """The Amazon Q Developer in chat applications custom notification: the summary, silent spokes first."""
    totals = report.totals
    lines = [f"*{row.spoke}* silent: {row.reason}" for row in report.rows("silent")[:10]]
    breached = ", ".join(f"{s} {totals['breached'][s]}" for s in SEVERITIES)
    lines.append(
        f"{totals['images_in_breach']} of {totals['images']} images in breach across {totals['spokes_reporting']}"
        f" spokes ({breached})"
    )
    lines += [f"`{f.finding_id}` {f.severity}: {f.images} images, {f.spokes} spokes" for f in report.findings[:5]]
    description = "\n".join(lines)[:CHAT_DESCRIPTION_MAX]
    return json.dumps(
        {
            "version": "1.0",
            "source": "custom",
            "content": {
                "textType": "client-markdown",
                "title": title,
                "description": description,
                "keywords": ["ECR", kind],
            },
            "metadata": {"eventType": kind, "summary": title},
        }
    )


def _rank(severity: str) -> int:
    return _SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else len(_SEVERITY_ORDER)


def _duration(value: timedelta) -> str:
    hours = int(value.total_seconds() // 3600)
    return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
