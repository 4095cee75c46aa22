"""Thresholds (pure): which severities of a scan's counts breach their thresholds (``core/thresholds.py``), and
which a team's ``alert_on_exploitable`` adds."""

from __future__ import annotations

from collections.abc import Mapping

from ecr_scan_reporter.core.config import SEVERITIES
from ecr_scan_reporter.core.thresholds import evaluate_thresholds

__all__ = ["EXPLOITABLE_SEVERITIES", "breached_severities", "evaluate_thresholds"]


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
