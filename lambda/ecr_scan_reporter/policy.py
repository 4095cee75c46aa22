"""Pure decisions. Nothing here calls AWS, reads the clock or the environment: inputs in, verdict out.

- :func:`repository_selected`: does a repository name pass the include/exclude regexes?
- :func:`evaluate_thresholds`: which severities breach their thresholds?
- scan decisions (does this image need a scan, and why) live here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ecr_scan_reporter.config import SEVERITIES


def repository_selected(name: str, include: re.Pattern[str], exclude: re.Pattern[str] | None) -> bool:
    """True when ``include`` is found in ``name`` and ``exclude`` (if any) is not (``re.search`` semantics,
    like Terraform's ``regex()``: anchor with ``^``/``$`` for whole-name matches)."""
    if not include.search(name):
        return False
    return exclude is None or not exclude.search(name)


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
