"""The organization report: every spoke's latest exposure report -> one view of the organization (pure).

A spoke is one deployment of the module, named ``<account>/<region>`` (the prefix its report is written under in
the hub's bucket). :func:`merge` takes the spokes' latest report documents (exposure.py's JSON, ``"version": 1,
"type": "report"``) and answers:

- per spoke (account and region): repositories, images, images in breach by severity, images not covered, the
  oldest scan, when it reported;
- the organization's totals and its most common findings (the spokes' top findings added up);
- which spokes are **silent**: expected (the configured ``<account>/<region>`` list) but never reported, or whose
  latest report is older than two report periods. A silent spoke makes the report an alert: the published message's
  ``event_type`` is ``organization_silent_spokes`` and its subject starts with the count;
- which documents could not be read (not JSON, not a report, a version this code does not know): listed with the
  reason, never silently left out.

Older documents of version 1 (a spoke on an older release of the module) lack keys added since (``oldest_scan``):
the merge reads what is there; the oldest scan then comes from the document's ``not_covered`` rows, where it can.
A spoke given twice (the same ``<account>/<region>``) counts once: its newest report wins, the other is counted
in ``duplicates``.

Renderers: :func:`to_document` (``"version": 1, "type": "organization_report"``), :func:`render_text`,
:func:`render_html`, :func:`notification` (one SNS message within 256 KB, with the chat form).
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.core.config import SEVERITIES

SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
FINDINGS_LIMIT = 50  # most common findings across the organization kept
SILENT_AFTER_PERIODS = 2
EVENT_REPORT, EVENT_SILENT = "organization_report", "organization_silent_spokes"
_SEVERITY_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
CHAT_DESCRIPTION_MAX = 4_000


class UnreadableReport(ValueError):
    """A spoke's document that is not a report this code reads; the message says why."""


@dataclass(frozen=True)
class SpokeInput:
    """What the hub found for one spoke: its name and the parsed document (or why it could not be parsed)."""

    spoke: str  # <account>/<region>
    document: Any = None
    error: str | None = None


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
class OrgReport:
    generated_at: datetime
    silent_after: timedelta
    spokes: list[SpokeRow]  # silent first, then unreadable, then the most exposed
    findings: list[FindingRow]
    findings_total: int
    duplicates: int

    def rows(self, status: str) -> list[SpokeRow]:
        return [row for row in self.spokes if row.status == status]

    @property
    def totals(self) -> dict[str, Any]:
        counted = [row for row in self.spokes if row.status != "unreadable" and row.generated_at is not None]
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


def merge(
    inputs: Iterable[SpokeInput],
    now: datetime,
    *,
    expected: Collection[str] = (),
    report_period: timedelta = timedelta(days=7),
    findings_limit: int = FINDINGS_LIMIT,
) -> OrgReport:
    """The organization report at ``now`` (timezone-aware) over the spokes' latest documents."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    silent_after = SILENT_AFTER_PERIODS * report_period
    expected_set = set(expected)
    chosen: dict[str, tuple[SpokeRow, Mapping[str, Any] | None]] = {}
    duplicates = 0
    for item in inputs:
        row, document = _read(item, item.spoke in expected_set)
        if item.spoke in chosen:
            duplicates += 1
            if _newer(chosen[item.spoke][0], row):
                continue
        chosen[item.spoke] = (row, document)
    for spoke in expected_set - set(chosen):
        account, region = _split(spoke)
        reason = "never reported"
        chosen[spoke] = (SpokeRow(spoke, account, region, True, "silent", reason=reason), None)
    for row, _ in chosen.values():
        if row.status == "reporting" and row.generated_at is not None and now - row.generated_at > silent_after:
            row.status = "silent"
            row.reason = f"last reported {_iso(row.generated_at)}, more than {_duration(silent_after)} ago"

    findings: dict[str, list[Any]] = {}  # id -> [severity, images, repositories, spokes]
    for _row, document in chosen.values():
        if document is None:
            continue
        for entry in document.get("top_findings") or []:
            try:
                finding_id, severity = str(entry["id"]), str(entry.get("severity") or "UNDEFINED")
                images, repositories = int(entry.get("images", 0)), int(entry.get("repositories", 0))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # one malformed row: the rest of the spoke's findings still count
            found = findings.setdefault(finding_id, [severity, 0, 0, 0])
            if _rank(severity) < _rank(found[0]):
                found[0] = severity
            found[1] += images
            found[2] += repositories
            found[3] += 1
    rows = [FindingRow(fid, sev, images, repos, spokes) for fid, (sev, images, repos, spokes) in findings.items()]
    rows.sort(key=lambda r: (-r.images, _rank(r.severity), -r.spokes, r.finding_id))
    order = {"silent": 0, "unreadable": 1, "reporting": 2}
    spokes = sorted(
        (row for row, _ in chosen.values()),
        key=lambda r: (order[r.status], *(-r.breached[s] for s in SEVERITIES), -r.not_covered, r.spoke),
    )
    return OrgReport(now, silent_after, spokes, rows[:findings_limit], len(rows), duplicates)


def _read(item: SpokeInput, expected: bool) -> tuple[SpokeRow, Mapping[str, Any] | None]:
    account, region = _split(item.spoke)
    try:
        if item.error is not None:
            raise UnreadableReport(item.error)
        document = _check(item.document)
        summary = document.get("summary") or {}
        breached = summary.get("breached") or {}
        coverage = summary.get("coverage") or {}
        images = _count(summary, "images")
        row = SpokeRow(
            item.spoke,
            account,
            region,
            expected,
            "reporting",
            generated_at=_time(document.get("generated_at"), "generated_at"),
            version=int(document["version"]),
            repositories=_count(summary, "repositories"),
            images=images,
            images_in_breach=_count(summary, "images_in_breach"),
            breached={s: _count(breached, s) for s in SEVERITIES},
            not_covered=images - _count(coverage, "fresh") if coverage else _count(document, "not_covered_total"),
            oldest_scan=_oldest(document, summary),
        )
    except UnreadableReport as exc:
        return SpokeRow(item.spoke, account, region, expected, "unreadable", reason=str(exc)), None
    return row, document


def _check(document: Any) -> Mapping[str, Any]:
    if not isinstance(document, Mapping):
        raise UnreadableReport("not a JSON object")
    if document.get("type") != "report":
        raise UnreadableReport(f"type {document.get('type')!r} is not an exposure report ('report')")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
        known = ", ".join(map(str, SUPPORTED_VERSIONS))
        raise UnreadableReport(f"report version {version!r} is not one this hub reads ({known}): update the hub")
    if not isinstance(document.get("summary"), Mapping):
        raise UnreadableReport("no summary")
    return document


def _count(mapping: Any, key: str) -> int:
    value = mapping.get(key, 0) if isinstance(mapping, Mapping) else 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnreadableReport(f"{key} is {value!r}, not a count")
    return value


def _time(value: Any, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise UnreadableReport(f"{name} {value!r} is not an ISO time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _oldest(document: Mapping[str, Any], summary: Mapping[str, Any]) -> datetime | None:
    """The summary's ``oldest_scan``; an older document has none: the oldest ``last_scan`` of its ``not_covered``
    rows (the stale images, oldest first), which is the oldest scan whenever an image is stale."""
    if summary.get("oldest_scan"):
        return _time(summary["oldest_scan"], "oldest_scan")
    scans = [
        _time(entry["last_scan"], "last_scan")
        for entry in document.get("not_covered") or []
        if isinstance(entry, Mapping) and entry.get("last_scan")
    ]
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


def to_document(report: OrgReport, limit: int | None = None, silent_limit: int | None = None) -> dict[str, Any]:
    """The JSON document (``version`` 1, ``type`` organization_report); ``limit`` caps the reporting spokes and
    the findings, and shortens the silent and unreadable spokes to their name, time and reason (every one of them
    listed: they are the alert, unless ``silent_limit`` caps them too; ``*_total`` keeps the counts)."""
    reporting = report.rows("reporting")

    def alert_rows(status: str) -> list[dict[str, Any]]:
        rows = report.rows(status)[:silent_limit] if silent_limit is not None else report.rows(status)
        if limit is None:
            return [row.to_json() for row in rows]
        return [{"spoke": r.spoke, "generated_at": _iso(r.generated_at), "reason": r.reason} for r in rows]

    return {
        "version": 1,
        "type": EVENT_REPORT,
        "generated_at": _iso(report.generated_at),
        "silent_after_hours": int(report.silent_after.total_seconds() // 3600),
        "summary": report.totals,
        "silent_spokes": alert_rows("silent"),
        "silent_spokes_total": len(report.rows("silent")),
        "unreadable_spokes": alert_rows("unreadable"),
        "unreadable_spokes_total": len(report.rows("unreadable")),
        "spokes": [row.to_json() for row in (reporting if limit is None else reporting[:limit])],
        "spokes_total": len(reporting),
        "top_findings": [row.to_json() for row in (report.findings if limit is None else report.findings[:limit])],
        "findings_total": report.findings_total,
    }


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


def render_text(report: OrgReport, limit: int | None = 20, silent_limit: int | None = None) -> str:
    totals = report.totals
    lines = [f"ECR organization report, {_iso(report.generated_at)}", ""]
    silent = report.rows("silent")
    if silent:
        lines.append(
            f"ALERT: {len(silent)} spoke(s) silent (no report for more than {_duration(report.silent_after)}):"
        )
        lines += [f"  {row.spoke}: {row.reason}" for row in silent[:silent_limit]]
        if silent_limit is not None and len(silent) > silent_limit:
            lines.append(f"  and {len(silent) - silent_limit} more (the stored report lists them all)")
        lines.append("")
    unreadable = report.rows("unreadable")
    if unreadable:
        lines.append(f"{len(unreadable)} spoke report(s) could not be read:")
        lines += [f"  {row.spoke}: {row.reason}" for row in unreadable[:silent_limit]]
        lines.append("")
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
    for row in reporting if limit is None else reporting[:limit]:
        lines.append(
            f"  {row.spoke}: {row.repositories}, {row.images}, {row.images_in_breach}"
            f" ({', '.join(f'{s[0]}{row.breached[s]}' for s in SEVERITIES)}), {row.not_covered},"
            f" {_iso(row.oldest_scan) or '-'}"
        )
    if limit is not None and len(reporting) > limit:
        lines.append(f"  and {len(reporting) - limit} more")
    lines += ["", "Top findings across the organization (id, severity: images, repositories, spokes):"]
    findings = report.findings if limit is None else report.findings[:limit]
    lines += [f"  {f.finding_id}, {f.severity}: {f.images}, {f.repositories}, {f.spokes}" for f in findings] or [
        "  none"
    ]
    if report.findings_total > len(findings):
        lines.append(f"  and {report.findings_total - len(findings)} more")
    return "\n".join(lines) + "\n"


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
        + "</body></html>\n"
    )


def notification(report: OrgReport, max_bytes: int = sns_message.SNS_MAX_BYTES) -> sns_message.Notification:
    """The report as one SNS message within ``max_bytes`` (fewer rows until it fits), with its chat form.
    ``event_type`` is ``organization_silent_spokes`` when a spoke is silent, else ``organization_report``."""
    kind = EVENT_SILENT if report.rows("silent") else EVENT_REPORT
    title = subject(report)
    highest = sns_message.highest_severity(report.totals["breached"])
    # Fewer rows first; the silent spokes are named in full unless even that cannot fit (thousands of them).
    for limit, silent_limit in ((20, None), (10, None), (5, None), (3, None), (1, None), (0, None), (0, 100), (0, 10)):
        text = render_text(report, limit, silent_limit)
        document = json.dumps(to_document(report, limit, silent_limit))
        message = sns_message.Notification(
            subject=title,
            message={"default": text, "email": text, "sqs": document, "lambda": document, "https": document},
            attributes={"event_type": kind, "highest_severity": highest},
            chat=_chat(report, kind, title),
        )
        if sns_message.message_bytes(message) <= max_bytes:
            return message
    raise ValueError("the organization report does not fit in one SNS message even without rows")


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
