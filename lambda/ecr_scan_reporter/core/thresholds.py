"""Thresholds (pure): which severities of a scan's counts breach their thresholds? The one rule the findings stage
(``alerts/thresholds.py``) and the exposure report's team sections apply."""

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
