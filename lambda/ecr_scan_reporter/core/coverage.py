"""Which repositories a named repository regex selects: a suppression's ``repository_regex`` today, any other
named regex (a team's repositories, say) tomorrow. Pure: names and regexes in, matches and warnings out.

A regex here has the meaning it has everywhere in the module: ``re.search`` in the repository name, so ``prod-*``
is not the glob it looks like but "prod, then any number of -", anywhere in the name (``nonprod-x`` included).
:func:`coverage` lists what each scope matches among the repositories given, and flags the scopes that are
probably not what was meant: matching no repository, matching every one, written like a glob.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Flags (:attr:`Coverage.flags`), in this order.
NO_REPOSITORY = "matches_no_repository"
EVERY_REPOSITORY = "matches_every_repository"
GLOB_LIKE = "looks_like_a_glob"
FLAGS = (NO_REPOSITORY, EVERY_REPOSITORY, GLOB_LIKE)

_GLOB_BEFORE_STAR = re.compile(r"[A-Za-z0-9_/-]")  # a literal before *, as in prod-* or team/*
_PLAIN_PREFIX = re.compile(r"[A-Za-z0-9._/-]+")


@dataclass(frozen=True)
class Scope:
    """A named repository regex; ``regex`` None means every repository (a suppression without one).
    ``details`` are shown with it (a suppression's vulnerability id, expiry, reason)."""

    name: str
    regex: re.Pattern[str] | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Coverage:
    scope: Scope
    repositories: tuple[str, ...]  # the matching ones, sorted
    total: int  # how many repositories were looked at
    flags: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.repositories)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.scope.name,
            **self.scope.details,
            "repository_regex": self.scope.regex.pattern if self.scope.regex else None,
            "count": self.count,
            "repositories": list(self.repositories),
            "flags": list(self.flags),
        }


def coverage(scopes: Iterable[Scope], repositories: Iterable[str]) -> list[Coverage]:
    """What each scope matches among ``repositories`` (search semantics), with its flags:

    - ``matches_no_repository``: nothing matches (a typo, a repository renamed, a regex anchored wrongly);
    - ``matches_every_repository``: a regex was given and every repository matches it (with no regex, every
      repository is what was asked for, and nothing is flagged);
    - ``looks_like_a_glob``: a ``*`` right after a plain character, as in ``prod-*`` (see :func:`glob_like`).
    """
    names = sorted(set(repositories))
    found = []
    for scope in scopes:
        matched = tuple(n for n in names if scope.regex is None or scope.regex.search(n))
        flags = []
        if not matched:
            flags.append(NO_REPOSITORY)
        elif scope.regex is not None and len(matched) == len(names):
            flags.append(EVERY_REPOSITORY)
        if scope.regex is not None and glob_like(scope.regex.pattern):
            flags.append(GLOB_LIKE)
        found.append(Coverage(scope, matched, len(names), tuple(flags)))
    return found


def glob_like(pattern: str) -> bool:
    """True when ``pattern`` has a ``*`` right after a literal letter, digit, ``_``, ``/`` or ``-`` (outside
    ``[...]``, not escaped): ``prod-*``, ``team/*``, ``app*``. A regex writer repeats a set, a group or ``.``
    (``[a-z]*``, ``(-x)*``, ``.*``)."""
    i, in_set, previous = 0, False, ""
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i, previous = i + 2, "\\"
            continue
        if in_set:
            in_set = c != "]"
        elif c == "[":
            in_set = True
            i += 2 if pattern[i + 1 : i + 2] == "]" else 1  # a leading ] is a member
            previous = "]"
            continue
        elif c == "*" and _GLOB_BEFORE_STAR.fullmatch(previous):
            return True
        previous = c
        i += 1
    return False


def glob_hint(pattern: str) -> str:
    """A sentence saying how ``pattern`` reads, and what to write for the glob it looks like."""
    meaning = (
        f"{pattern!r} is a regular expression, not a glob: '*' repeats the character before it, and the match may "
        "be anywhere in the name"
    )
    if pattern.endswith("*") and _PLAIN_PREFIX.fullmatch(pattern[:-1]):
        prefix = pattern[:-1]
        anchored = "^" + prefix.replace(".", "\\.")  # the only character of the prefix a regex reads specially
        return f"{meaning}; for names starting with {prefix} write {anchored}"
    return meaning


def flag_counts(found: Sequence[Coverage]) -> dict[str, int]:
    """How many scopes carry each flag."""
    return {flag: sum(flag in c.flags for c in found) for flag in FLAGS}
