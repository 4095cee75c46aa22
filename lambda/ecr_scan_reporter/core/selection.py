"""Repository selection (pure): does a repository name pass the include/exclude regexes? The sweep asks it of
every repository, the alerts of every scan result (and the CLI of what it plans)."""

from __future__ import annotations

import re


def repository_selected(name: str, include: re.Pattern[str], exclude: re.Pattern[str] | None) -> bool:
    """True when ``include`` is found in ``name`` and ``exclude`` (if any) is not (``re.search`` semantics,
    like Terraform's ``regex()``: anchor with ``^``/``$`` for whole-name matches)."""
    if not include.search(name):
        return False
    return exclude is None or not exclude.search(name)
