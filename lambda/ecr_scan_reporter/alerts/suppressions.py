"""Accepted risks: which findings a suppression hides, and which suppressions have expired. Pure.

A suppression is ``{vulnerability_id, repository_regex, expires, reason}`` (the module's ``suppressions``
variable). It hides a finding when the finding's id equals ``vulnerability_id`` (case-insensitive) and the
repository matches ``repository_regex`` (search semantics, like every repository regex here; absent = every
repository), on days **before** ``expires``. On and after ``expires`` (a UTC date) it no longer applies: the
finding counts again and the notification names the expired suppression, so nothing stays accepted forever by
accident.

The document is JSON, a list of those objects (or ``{"suppressions": [...]}``); :func:`parse` validates it with
the same rules Terraform applies at plan time and raises :class:`~ecr_scan_reporter.core.config.ConfigError` naming
the entry and the field. :func:`document_hash` is the content hash the module puts in the functions'
environment, so a changed list reaches warm functions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ecr_scan_reporter.core.config import ConfigError, parse_regex
from ecr_scan_reporter.core.coverage import Scope

if TYPE_CHECKING:  # a type only
    from ecr_scan_reporter.core.finding_types import Finding

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Suppression:
    vulnerability_id: str
    expires: date  # the first day it no longer applies (UTC)
    reason: str
    repository_regex: re.Pattern[str] | None = None  # None: every repository

    def covers(self, finding_id: str, repository: str) -> bool:
        """The entry names this finding in this repository (whatever the date)."""
        if finding_id.strip().upper() != self.vulnerability_id.upper():
            return False
        return self.repository_regex is None or self.repository_regex.search(repository) is not None

    def active_on(self, today: date) -> bool:
        """True on days before ``expires``; False on ``expires`` and after."""
        return today < self.expires

    def describe(self) -> dict[str, Any]:
        """The entry as the notification shows it."""
        return {
            "vulnerability_id": self.vulnerability_id,
            "repository_regex": self.repository_regex.pattern if self.repository_regex else None,
            "expires": self.expires.isoformat(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Applied:
    """The result of applying suppressions to one image's findings."""

    kept: tuple[Finding, ...]  # what counts toward thresholds and is listed
    suppressed: tuple[tuple[Finding, Suppression], ...]  # hidden, with the entry that hid each
    expired: tuple[Suppression, ...]  # expired entries that name a finding of this image (it counts again)

    @property
    def suppressed_count(self) -> int:
        return len(self.suppressed)


def apply(findings: Iterable[Finding], repository: str, suppressions: Sequence[Suppression], today: date) -> Applied:
    """Split ``findings`` into kept and suppressed for ``repository`` on ``today`` (a UTC date)."""
    active = [s for s in suppressions if s.active_on(today)]
    lapsed = [s for s in suppressions if not s.active_on(today)]
    kept: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    expired: list[Suppression] = []
    for finding in findings:
        match = next((s for s in active if s.covers(finding.id, repository)), None)
        if match is not None:
            suppressed.append((finding, match))
            continue
        kept.append(finding)
        for entry in lapsed:
            if entry.covers(finding.id, repository) and entry not in expired:
                expired.append(entry)
    return Applied(kept=tuple(kept), suppressed=tuple(suppressed), expired=tuple(expired))


def parse(text: str) -> tuple[Suppression, ...]:
    """Parse and validate the suppressions document (JSON); raise ConfigError naming what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"suppressions are not valid JSON ({exc.msg})") from None
    if isinstance(data, dict) and "suppressions" in data:
        data = data["suppressions"]
    if not isinstance(data, list):
        raise ConfigError("suppressions must be a JSON list of {vulnerability_id, repository_regex, expires, reason}")
    return tuple(_entry(item, index) for index, item in enumerate(data))


# Terraform's jsonencode (Go's encoder) writes these as \u escapes and every other character as itself (UTF-8).
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def document(suppressions: Iterable[dict[str, Any]]) -> str:
    """The canonical JSON text of a list of entries, character for character what the module's jsonencode stores
    (keys sorted, no spaces, non-ASCII as is, ``< > &`` and the line/paragraph separators escaped): the same list
    has the same hash here and in Terraform (tests/unit/fixtures/suppressions_document.json)."""
    text = json.dumps(list(suppressions), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # Those characters only occur inside JSON strings (keys and literals are ASCII), where the escape is equivalent.
    return text.translate(_GO_ESCAPES)


def document_hash(text: str) -> str:
    """SHA-256 (hex) of the stored document text."""
    return hashlib.sha256(text.encode()).hexdigest()


def _entry(item: Any, index: int) -> Suppression:
    where = f"suppressions[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(f"{where} must be an object, got {type(item).__name__}")
    unknown = set(item) - {"vulnerability_id", "repository_regex", "expires", "reason"}
    if unknown:
        raise ConfigError(f"{where} has unknown field(s) {', '.join(sorted(unknown))}")
    vulnerability_id = item.get("vulnerability_id")
    if not isinstance(vulnerability_id, str) or not vulnerability_id.strip():
        raise ConfigError(f"{where}.vulnerability_id must be a non-empty string, got {vulnerability_id!r}")
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}.reason is required (why the risk is accepted), got {reason!r}")
    raw_date = item.get("expires")
    if not isinstance(raw_date, str) or not _DATE.match(raw_date):
        raise ConfigError(f"{where}.expires must be a date YYYY-MM-DD, got {raw_date!r}")
    try:
        expires = date.fromisoformat(raw_date)
    except ValueError:
        raise ConfigError(f"{where}.expires {raw_date!r} is not a real date") from None
    raw_regex = item.get("repository_regex")
    if raw_regex is not None and not isinstance(raw_regex, str):
        raise ConfigError(f"{where}.repository_regex must be a string or null, got {raw_regex!r}")
    regex = parse_regex(raw_regex, f"{where}.repository_regex") if raw_regex else None
    return Suppression(
        vulnerability_id=vulnerability_id.strip(), expires=expires, reason=reason.strip(), repository_regex=regex
    )


def scopes(entries: Sequence[Suppression], today: date) -> list[Scope]:
    """For ``core.coverage``: the suppressions as scopes named ``suppressions[i]``, with their id, expiry, reason
    and whether they have expired on ``today`` (a UTC date)."""
    return [
        Scope(
            f"suppressions[{index}]",
            entry.repository_regex,
            {
                "vulnerability_id": entry.vulnerability_id,
                "expires": entry.expires.isoformat(),
                "expired": not entry.active_on(today),
                "reason": entry.reason,
            },
        )
        for index, entry in enumerate(entries)
    ]
