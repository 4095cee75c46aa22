"""Thresholds (pure): which severities of a scan's counts breach their thresholds?"""

from __future__ import annotations

from collections.abc import Mapping

from ecr_scan_reporter.core.config import SEVERITIES


def evaluate_thresholds(counts: Mapping[str, int], thresholds: Mapping[str, int | None]) -> list[str]:
    """Severities (most severe first) whose count exceeds its threshold. A threshold N tolerates N findings;
    ``None`` ignores that severity. Counts are matched case-insensitively; missing counts are zero."""
    normalised = {str(k).upper(): int(v) for k, v in counts.items()}
    breached = []
    for severity in SEVERITIES:
        limit = thresholds.get(severity)
        if limit is not None and normalised.get(severity, 0) > limit:
            breached.append(severity)
    return breached


#: Severities at which a finding with a known exploit alerts under a team's ``alert_on_exploitable``.
EXPLOITABLE_SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM")


def breached_severities(
    counts: Mapping[str, int], thresholds: Mapping[str, int | None], exploitable: Mapping[str, str] | None = None
) -> list[str]:
    """:func:`evaluate_thresholds`, and the severities of ``exploitable`` findings (id -> severity: findings with a
    known exploit that alert whatever the thresholds), most severe first."""
    breached = set(evaluate_thresholds(counts, thresholds))
    breached |= {s.upper() for s in (exploitable or {}).values()}
    return [s for s in SEVERITIES if s in breached]
