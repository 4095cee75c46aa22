"""The registry-wide daily scan budget (pure): which images today's sweep scans, in which order, and how much.

ECR allows 100,000 basic scans per registry per 24 hours (scans on push included) and one per image. The budget
(``daily_scan_budget``) is spent across the whole registry by priority, never by repository order:

====  =============================  ==========================================================================
class name                           images
====  =============================  ==========================================================================
1     ``never_scanned_in_use``       never scanned, pulled within ``in_use_days``
2     ``expired_in_use``             due for a rescan (see below), pulled within ``in_use_days``
3     ``never_scanned``              never scanned, not in use
4     ``expired``                    due for a rescan, not in use
5     ``levelling``                  not due yet: scanned early, earliest due first, only to level the load
====  =============================  ==========================================================================

Within a class the stalest go first (the earliest due day: the oldest scan, or the oldest push of a never-scanned
image); images due on the same day tie, and a tie the budget cannot take whole is split fairly between the
repositories (:func:`fair_shares`: equal shares, capped by what each has, the remainder one each in an order that
rotates every day), so no repository starves while another gets its whole share.

**Due** (:func:`due_at`): an image's rescan is due at its expiry less a deterministic jitter, a hash of its digest
spread over :func:`window_seconds` (a quarter of the expiry, at most two days), so images scanned together (a bulk
push) fall due on different days. Due is never after the expiry itself: with a sweep a day, an in-use image is
scanned before it is ``scan_expiry_days`` + 1 day old whenever the budget suffices.

**How much** (:func:`levelled_amount`): the sweep scans what is due today, and, when the next days hold more than
their share (a wave), the earliest-due of them now: the least daily amount that meets every due day of the next
``scan_expiry_days`` days if spent each day earliest-due first (``max over t of ceil(due within t days / t)``).
Never more than the budget.

**The split between the stages** (the ledger's ``config#sweep`` markers and ``config#plan`` chunks): the images stage
counts, per repository, the images by (in use, never scanned, due day) after its scans (:class:`Tally`) and stores
that in the repository's marker. The repositories stage reads every marker, ranks the whole registry's counts
(:func:`allocate`) and stores each repository's :class:`Allowance` (per class: the due day up to which every image
is taken, and how many of the images due on that day) in a few chunk items (:func:`chunk_of`), not one write per
repository; the images stage then spends its allowance (:class:`Spender`) as it lists the repository. The counts
are a sweep old: images pushed or pulled since shift a little; whatever is unspent (an image already scanned on
push, a deleted one) is simply not spent, and the next sweep plans from fresh counts.

**One budget a day** (:func:`plan_registry`): the budget of a UTC day is planned at its first sweep (a changed
``daily_scan_budget`` applies from the next UTC day) and every sweep of the day plans from what is left of it: the
scans the day started (the ``spent`` counter) and what the allowances still being spent may start. An allowance
carries the id of the plan that gave it and the images stage records its spend under that id (:class:`Spend`), so a
work message delivered twice, a retried repositories invocation or a second schedule run spend it once.

**In-use classes first, registry-wide** (:func:`gate`): a sweep spends in two phases. In the first every repository
scans its in-use classes (1 and 2) only, counting its pushes of the last 24 hours; the lower classes (3 to 5) start
only once every repository of the day's plan is through its first phase (or ECR refused the quota, or the phase
stalled for :data:`GATE_STALL_SECONDS`). So when ECR refuses the registry's quota mid-sweep, what got through is
the plan's most important part, not a listing-order prefix.

**The quota is shared** (:func:`room`, :func:`lower_factors`): the second phase is cut to the room the quota has
left: ECR's 100,000 scans less :data:`ROOM_MARGIN`, the pushes of the last 24 hours the first phase counted (each
scanned on push), the scans the sweep started in the last 24 hours (hourly counters) and what the quota's other
consumers were seen to use when ECR last refused (:func:`other_estimate`, halving every day). Class 3 is cut
last, then 4, then 5. A refusal ends the invocation's scanning (scanning.ScanQuota): it never loops on refusals.

**Headroom** (:func:`headroom`): with the levelling a registry of N images and expiry E is rescanned every
:func:`interval_days` (E - window / 2 - 1/2 days: due up to the window early, and a sweep takes what falls due
during its day), so it needs N / interval scans a day; with P pushes a day (each scanned on push) it uses
(N / interval + P) of the quota. The expiry the configured budget keeps is the shortest E whose rescans take at
most :data:`ADVICE_LOAD` of what the budget can spend (the budget, at most the quota less the pushes).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from ecr_scan_reporter.core.expiry import as_utc

DAY = 86_400
#: ECR's basic scans per registry per 24 hours, scans on push included (not adjustable).
REGISTRY_QUOTA = 100_000
DEFAULT_BUDGET = 90_000
DEFAULT_IN_USE_DAYS = 30
#: The levelling jitter spreads due times over at most this much before expiry (and a quarter of the expiry).
MAX_WINDOW = 2 * DAY

NEVER_SCANNED_IN_USE, EXPIRED_IN_USE, NEVER_SCANNED, EXPIRED, LEVELLING = 1, 2, 3, 4, 5
CLASSES: tuple[int, ...] = (1, 2, 3, 4, 5)
CLASS_NAMES: Mapping[int, str] = {
    1: "never_scanned_in_use",
    2: "expired_in_use",
    3: "never_scanned",
    4: "expired",
    5: "levelling",
}
#: Early scans are made only when the level exceeds what is due by more than this share of it (or one scan).
LEVEL_SLACK = 0.01
#: A due day for images with no time at all (never scanned, no push time): before every other.
EARLIEST_DAY = 0
#: The classes the first phase of a sweep spends (in use); the others wait for every repository's first phase.
IN_USE_CLASSES: frozenset[int] = frozenset({NEVER_SCANNED_IN_USE, EXPIRED_IN_USE})
#: The quota the second phase leaves free (1 %), for pushes during the sweep.
ROOM_MARGIN = 1_000
#: The in-use phase holds the lower classes back at most this long without progress (a lost work message).
GATE_STALL_SECONDS = 1_800
#: Days an estimate of the quota's other consumers (from a refusal) is remembered; it halves every day.
OTHER_DAYS = 7
#: The headroom's advice keeps a tenth of the budget for waves (a bulk push, growth).
ADVICE_LOAD = 0.9
MAX_ADVICE_DAYS = 3_650
#: The allowances of a plan are stored in this many chunk items (:func:`chunk_of`): a few writes, not one per
#: repository (about 100 repositories a chunk at ECR's 100,000).
PLAN_CHUNKS = 1_024


def day_of(moment: datetime) -> int:
    """The UTC day number (days since 1970-01-01) of ``moment`` (naive = UTC)."""
    return math.floor(as_utc(moment).timestamp() / DAY)


def in_use(last_pulled_at: datetime | None, now: datetime, in_use_days: int) -> bool:
    """Pulled at most ``in_use_days`` days before ``now`` (exactly that long ago: still in use)."""
    return last_pulled_at is not None and as_utc(now) - as_utc(last_pulled_at) <= timedelta(days=in_use_days)


def window_seconds(expiry_days: int) -> int:
    """The levelling window: a quarter of the expiry, at most :data:`MAX_WINDOW`."""
    return min(MAX_WINDOW, expiry_days * DAY // 4)


def jitter_seconds(digest: str, expiry_days: int) -> int:
    """How long before its expiry the image's rescan is due: 0 to :func:`window_seconds`, from a hash of the
    digest (deterministic: the same image always gets the same jitter)."""
    window = window_seconds(expiry_days)
    if window <= 0:
        return 0
    value = int.from_bytes(hashlib.sha256(digest.encode()).digest()[:8], "big")
    return value % (window + 1)


def due_at(last_scan: datetime | None, pushed_at: datetime | None, digest: str, expiry_days: int) -> datetime:
    """When the image's next scan is due: never scanned: at its push (the epoch when unknown); else its last scan
    plus ``expiry_days`` less the jitter. Never after the expiry."""
    if last_scan is None:
        return as_utc(pushed_at) if pushed_at is not None else datetime.fromtimestamp(0, UTC)
    return as_utc(last_scan) + timedelta(days=expiry_days, seconds=-jitter_seconds(digest, expiry_days))


def priority(*, never: bool, used: bool, due_day: int, today: int) -> int:
    """The image's class (1-5, see the module docstring) on day ``today``."""
    if due_day > today and not never:
        return LEVELLING
    if never:
        return NEVER_SCANNED_IN_USE if used else NEVER_SCANNED
    return EXPIRED_IN_USE if used else EXPIRED


# --- counts per repository (the images stage writes them, the repositories stage reads them) --------------------


@dataclass(slots=True)
class Tally:
    """One repository's schedulable images by (in use, never scanned, due day), and its scanned images by (in use,
    scan age in whole days). Encoded for the ledger as ``{"u.n.d": count}`` and ``{"u.a": count}``."""

    due: dict[tuple[bool, bool, int], int] = field(default_factory=dict)
    ages: dict[tuple[bool, int], int] = field(default_factory=dict)

    def add(self, *, used: bool, never: bool, due_day: int, age_days: int | None) -> None:
        key = (used, never, due_day)
        self.due[key] = self.due.get(key, 0) + 1
        if age_days is not None:
            age_key = (used, max(0, age_days))
            self.ages[age_key] = self.ages.get(age_key, 0) + 1

    def merge(self, other: Tally) -> None:
        for key, n in other.due.items():
            self.due[key] = self.due.get(key, 0) + n
        for age_key, n in other.ages.items():
            self.ages[age_key] = self.ages.get(age_key, 0) + n

    def to_json(self) -> dict[str, dict[str, int]]:
        return {
            "due": {f"{int(u)}.{int(n)}.{d}": c for (u, n, d), c in sorted(self.due.items())},
            "ages": {f"{int(u)}.{a}": c for (u, a), c in sorted(self.ages.items())},
        }

    @classmethod
    def from_json(cls, data: object) -> Tally:
        """Parse :meth:`to_json`'s form; ValueError says what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("a tally must be an object")
        tally = cls()
        for key, n in _counts(data.get("due", {}), "due"):
            tally.due[_due_key(key)] = n
        for key, n in _counts(data.get("ages", {}), "ages"):
            tally.ages[_age_key(key)] = n
        return tally


@functools.lru_cache(maxsize=65_536)
def _due_key(key: str) -> tuple[bool, bool, int]:
    """``"u.n.day"`` -> (in use, never scanned, due day): the same few keys recur in every repository's census."""
    parts = key.split(".")
    if len(parts) != 3 or parts[0] not in ("0", "1") or parts[1] not in ("0", "1"):
        raise ValueError(f"due key {key!r} is not 'u.n.day'")
    try:
        return parts[0] == "1", parts[1] == "1", int(parts[2])
    except ValueError:
        raise ValueError(f"due key {key!r} is not 'u.n.day'") from None


@functools.lru_cache(maxsize=65_536)
def _age_key(key: str) -> tuple[bool, int]:
    parts = key.split(".")
    if len(parts) != 2 or parts[0] not in ("0", "1"):
        raise ValueError(f"ages key {key!r} is not 'u.age'")
    try:
        return parts[0] == "1", int(parts[1])
    except ValueError:
        raise ValueError(f"ages key {key!r} is not 'u.age'") from None


def _counts(data: object, name: str) -> Iterator[tuple[str, int]]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{name} must be an object")
    for key, n in data.items():
        if not isinstance(key, str) or type(n) is not int or n < 0:
            raise ValueError(f"{name}[{key!r}]={n!r} must be a non-negative whole number")
        yield key, n


# --- the registry-wide allocation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Allowance:
    """One repository's share of a day's budget. ``cuts`` maps a class to (cut day, tie): every image of the class
    due before the cut day is taken, and ``tie`` of those due on it; a cut day of None takes the whole class.
    ``total`` bounds the scans in all. ``day``: the sweep day it was planned for; ``plan``: the id of the plan that
    gave it (the images stage counts its spend under that id, so it is spent once whatever the deliveries);
    ``counts``: how many images it takes per class (a repository with a census; the second phase scales them)."""

    day: int
    total: int
    cuts: Mapping[int, tuple[int | None, int]] = field(default_factory=dict)
    plan: str = ""
    counts: Mapping[int, int] = field(default_factory=dict)

    @property
    def lower(self) -> bool:
        """Whether it takes images of a class below the in-use ones (the second phase has work)."""
        return any(k not in IN_USE_CLASSES for k in self.cuts)

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "day": self.day,
            "total": self.total,
            "cuts": {str(k): [cut, tie] for k, (cut, tie) in sorted(self.cuts.items())},
        }
        if self.plan:
            doc["plan"] = self.plan
        if self.counts:
            doc["n"] = {str(k): n for k, n in sorted(self.counts.items())}
        return doc

    @classmethod
    def from_json(cls, data: object) -> Allowance:
        if not isinstance(data, Mapping):
            raise ValueError("an allowance must be an object")
        day, total, cuts = data.get("day"), data.get("total"), data.get("cuts", {})
        if type(day) is not int or type(total) is not int or total < 0:
            raise ValueError(f"day and total must be whole numbers, got {day!r}, {total!r}")
        if not isinstance(cuts, Mapping):
            raise ValueError("cuts must be an object")
        parsed: dict[int, tuple[int | None, int]] = {}
        for key, value in cuts.items():
            if str(key) not in _CLASS_KEYS:
                raise ValueError(f"cuts has unknown class {key!r}")
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError(f"cuts[{key}] must be [cut day or null, tie]")
            cut, tie = value
            if (cut is not None and type(cut) is not int) or type(tie) is not int or tie < 0:
                raise ValueError(f"cuts[{key}]={value!r} must be [cut day or null, tie >= 0]")
            parsed[int(key)] = (cut, tie)
        plan = data.get("plan", "")
        if not isinstance(plan, str):
            raise ValueError(f"plan must be a string, got {plan!r}")
        return cls(day, total, parsed, sys.intern(plan), _class_counts(data.get("n", {}), "n"))


_CLASS_KEYS = frozenset(str(c) for c in CLASSES)


_NONE: Mapping[int, int] = MappingProxyType({})


def _class_counts(data: object, name: str) -> Mapping[int, int]:
    """``{"<class>": whole number >= 0}`` (an empty one shared: 100,000 markers hold mostly empty ones); ValueError
    names what is wrong."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{name} must be an object")
    if not data:
        return _NONE
    out: dict[int, int] = {}
    for key, n in data.items():
        if str(key) not in _CLASS_KEYS or type(n) is not int or n < 0:
            raise ValueError(f"{name}[{key!r}]={n!r} must map a class 1-5 to a whole number >= 0")
        out[int(key)] = n
    return out


@dataclass
class Spender:
    """Spends one repository's :class:`Allowance` as its images are listed (the images stage, and :func:`select`).
    ``allowance`` None: no budget applies (every due image is scanned, as without a budget). ``classes``: the
    classes this phase of the sweep takes (None: all); ``caps``: at most so many images of a class (the second
    phase cut to the quota's room); ``limit``: at most so many in all (likewise, for a share without a census).
    ``spent``, ``ties`` and ``taken`` (per class) carry over from earlier parts and phases of the allowance."""

    allowance: Allowance | None
    spent: int = 0
    ties: dict[int, int] = field(default_factory=dict)
    classes: frozenset[int] | None = None
    caps: Mapping[int, int] | None = None
    limit: int | None = None
    taken: dict[int, int] = field(default_factory=dict)

    def take(self, klass: int, due_day: int) -> bool:
        """Whether to scan an image of class ``klass`` due on ``due_day``; counts it when yes."""
        if self.allowance is None:
            return klass != LEVELLING
        if self.classes is not None and klass not in self.classes:
            return False
        total = self.allowance.total if self.limit is None else min(self.limit, self.allowance.total)
        if self.spent >= total or klass not in self.allowance.cuts:
            return False
        if self.caps is not None and klass in self.caps and self.taken.get(klass, 0) >= self.caps[klass]:
            return False
        cut, tie = self.allowance.cuts[klass]
        if cut is not None and due_day > cut:
            return False
        if cut is not None and due_day == cut:
            if self.ties.get(klass, 0) >= tie:
                return False
            self.ties[klass] = self.ties.get(klass, 0) + 1
        self.spent += 1
        self.taken[klass] = self.taken.get(klass, 0) + 1
        return True


def _rotation_key(repository: str, day: int) -> bytes:
    return hashlib.sha256(f"{day}:{repository}".encode()).digest()


def fair_shares(counts: Mapping[str, int], room: int, day: int) -> dict[str, int]:
    """Split ``room`` between repositories wanting ``counts``: equal shares capped by what each wants (max-min
    fair), the remainder one each in an order that rotates every ``day``. Sums to min(room, total)."""
    wanted = {repo: n for repo, n in counts.items() if n > 0}
    if room >= sum(wanted.values()):
        return dict(wanted)
    shares = dict.fromkeys(wanted, 0)
    left = max(room, 0)
    open_repos = sorted(wanted, key=lambda r: wanted[r])
    while left and open_repos:
        level = left // len(open_repos)
        smallest = wanted[open_repos[0]] - shares[open_repos[0]]
        if level == 0:
            break
        step = min(level, smallest)
        for repo in open_repos:
            shares[repo] += step
        left -= step * len(open_repos)
        open_repos = [r for r in open_repos if shares[r] < wanted[r]]
    for repo in sorted(open_repos, key=lambda r: _rotation_key(r, day))[:left]:
        shares[repo] += 1
    return shares


def levelled_amount(due_counts: Mapping[int, int], today: int, horizon_days: int) -> int:
    """The least daily amount that, spent every day earliest-due first, meets every due day within
    ``horizon_days`` (days ``today`` .. ``today + horizon_days - 1``): max over t of ceil(due by day today+t-1 / t).
    ``due_counts``: images by due day (days before ``today``: overdue, counted as due today)."""
    by_day = sorted(due_counts.items())
    best, cumulative, i = 0, 0, 0
    for t in range(1, max(horizon_days, 1) + 1):
        while i < len(by_day) and by_day[i][0] <= today + t - 1:
            cumulative += by_day[i][1]
            i += 1
        best = max(best, -(-cumulative // t))
    return best


@dataclass(frozen=True)
class Plan:
    """What the budget takes today, registry-wide: ``amount`` (levelled, at most the budget), ``taken`` per class,
    ``due`` per class (what there is), and each repository's allowance."""

    day: int
    budget: int
    amount: int
    due: Mapping[int, int]
    taken: Mapping[int, int]
    allowances: Mapping[str, Allowance]


def allocate(tallies: Mapping[str, Tally], budget: int, today: int, expiry_days: int, plan: str = "") -> Plan:
    """Rank every repository's counts registry-wide (class, then due day, ties split by :func:`fair_shares`) and
    spend ``min(budget, levelled amount)`` on them: each repository's :class:`Allowance` for day ``today`` (given
    by the plan ``plan``)."""
    groups: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    by_day: dict[int, int] = defaultdict(int)
    due: dict[int, int] = dict.fromkeys(CLASSES, 0)
    for repo, tally in tallies.items():
        for (used, never, due_day), n in tally.due.items():
            if n <= 0:
                continue
            klass = priority(never=never, used=used, due_day=due_day, today=today)
            group = groups[(klass, due_day)]  # overdue images keep their own day: the stalest go first
            group[repo] = group.get(repo, 0) + n
            due[klass] += n
            by_day[max(due_day, today)] += n
    due_now = sum(n for day, n in by_day.items() if day <= today)
    level = levelled_amount(by_day, today, expiry_days)
    if level - due_now <= max(1, LEVEL_SLACK * level):
        level = due_now  # a rounding's worth of early scans levels nothing (and would rescan a small registry early)
    amount = min(max(budget, 0), level)
    left = amount
    cuts: dict[str, dict[int, tuple[int | None, int]]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    taken: dict[int, int] = dict.fromkeys(CLASSES, 0)
    class_whole: dict[int, bool] = dict.fromkeys(CLASSES, True)
    for klass, due_day in sorted(groups):
        if left <= 0:
            class_whole[klass] = False
            break
        group = groups[(klass, due_day)]
        size = sum(group.values())
        shares = fair_shares(group, left, today) if size > left else dict(group)
        for repo, n in shares.items():
            totals[repo] += n
            if n:
                counts[repo][klass] = counts[repo].get(klass, 0) + n
        for repo in group:
            # The cut day so far: this group's day, with its share as the tie (a whole group: everything by it).
            cuts[repo][klass] = (due_day, shares.get(repo, 0))
        taken[klass] += sum(shares.values())
        left -= sum(shares.values())
        if size > sum(shares.values()):
            class_whole[klass] = False
            break
    allowances: dict[str, Allowance] = {}
    for repo in tallies:
        repo_cuts = {}
        for klass, (cut, tie) in cuts.get(repo, {}).items():
            whole = class_whole[klass] and taken[klass] == due[klass]
            repo_cuts[klass] = (None, 0) if whole else (cut, tie)
        allowances[repo] = Allowance(today, totals.get(repo, 0), repo_cuts, plan, counts.get(repo, {}))
    return Plan(today, budget, amount, due, taken, allowances)


@dataclass(frozen=True, slots=True)
class Item:
    """One schedulable image as :func:`select` sees it."""

    repository: str
    digest: str
    used: bool
    never: bool
    due_day: int


def select(items: Iterable[Item], budget: int, today: int, expiry_days: int) -> tuple[Plan, list[Item]]:
    """The images today's budget scans, registry-wide, when every image is known at once (the CLI's plan, the
    benchmark at full size, the tests): the same :func:`allocate` and :class:`Spender` the two stages use, on
    today's counts instead of the last sweep's."""
    items = list(items)
    tallies: dict[str, Tally] = defaultdict(Tally)
    for item in items:
        tallies[item.repository].add(used=item.used, never=item.never, due_day=item.due_day, age_days=None)
    plan = allocate(tallies, budget, today, expiry_days)
    spenders = {repo: Spender(allowance) for repo, allowance in plan.allowances.items()}
    chosen = [
        item
        for item in items
        if spenders[item.repository].take(
            priority(never=item.never, used=item.used, due_day=item.due_day, today=today), item.due_day
        )
    ]
    return plan, chosen


# --- what the registry needs, and what the budget keeps ----------------------------------------------------------


def interval_days(expiry_days: int) -> float:
    """How often, on average, the levelled sweep rescans an image at this expiry: due up to the levelling window
    early (half of it on average) and taken by the sweep of the day it falls due (half a day early on average, with
    a sweep at any hour); at least a day (one sweep a day)."""
    return max(1.0, expiry_days - window_seconds(expiry_days) / DAY / 2 - 0.5)


def scans_per_day(images: int, expiry_days: int) -> int:
    """The rescans a day ``images`` need at ``expiry_days``, the levelling included (:func:`interval_days`)."""
    return math.ceil(images / interval_days(expiry_days)) if images > 0 else 0


def budget_keeps(images: int, spendable: int) -> int | None:
    """The shortest expiry (days) whose rescans take at most :data:`ADVICE_LOAD` of ``spendable`` scans a day; None
    when no expiry up to :data:`MAX_ADVICE_DAYS` does (or nothing is spendable)."""
    if images <= 0:
        return 1
    room = ADVICE_LOAD * spendable
    if room <= 0:
        return None
    for expiry in range(1, MAX_ADVICE_DAYS + 1):
        if images / interval_days(expiry) <= room:
            return expiry
    return None


@dataclass(frozen=True)
class Headroom:
    images: int
    expiry_days: int
    pushes_per_day: int
    needed_per_day: int  # images / interval_days(expiry): the levelled rescans a day
    quota_percent: float  # (needed + pushes) / quota
    affordable_expiry_days: int | None  # the expiry the budget keeps (None: none it can)
    budget: int | None = None  # the configured budget (None: the quota less the pushes is what can be spent)
    spendable: int = 0  # what the budget can spend a day: the budget, at most the quota less the pushes

    def sentence(self) -> str:
        early = window_seconds(self.expiry_days) / DAY
        text = (
            f"at {self.images:,} images and {self.expiry_days} days expiry you need {self.needed_per_day:,} scans a "
            f"day, rescans levelled up to {early:g} days early (+ {self.pushes_per_day:,} on push): "
            f"{self.quota_percent:.0f} % of the quota"
        )
        keeper = f"the budget ({self.budget:,} a day)" if self.budget is not None else "the quota"
        afford = self.affordable_expiry_days
        return text + f"; {keeper} keeps " + (f"an expiry of {afford} days" if afford else "no expiry at all")


def headroom(
    images: int, expiry_days: int, pushes_per_day: int, budget: int | None = None, quota: int = REGISTRY_QUOTA
) -> Headroom:
    """What ``images`` need at ``expiry_days`` with ``pushes_per_day``, and the expiry ``budget`` keeps (the
    configured budget; None: the quota less the pushes), levelling included."""
    needed = scans_per_day(images, expiry_days)
    percent = 100.0 * (needed + pushes_per_day) / quota
    spendable = max(0, quota - pushes_per_day)
    if budget is not None:
        spendable = min(budget, spendable)
    return Headroom(
        images, expiry_days, pushes_per_day, needed, percent, budget_keeps(images, spendable), budget, spendable
    )


def percentile(histogram: Mapping[int, int], fraction: float) -> int | None:
    """The ``fraction`` percentile (nearest rank) of values counted in ``histogram`` (value -> count)."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    return max(histogram)


# --- the repositories stage: the registry's plan from the markers, and what the registry looks like ------------


@dataclass(frozen=True, slots=True)
class Census:
    """One repository as its last sweep through it left it (the images stage's ``census`` JSON)."""

    day: int
    tally: Tally
    images: int
    pushed_1d: int

    @classmethod
    def from_json(cls, text: str) -> Census:
        data = json.loads(text)
        if not isinstance(data, dict) or type(data.get("day")) is not int:
            raise ValueError("a census must be an object with a day")
        images, pushed = data.get("images", 0), data.get("pushed_1d", 0)
        if type(images) is not int or type(pushed) is not int:
            raise ValueError("images and pushed_1d must be whole numbers")
        return cls(data["day"], Tally.from_json(data), images, pushed)


@dataclass(frozen=True, slots=True)
class Spend:
    """What a repository's sweep spent of its allowance (its marker's ``spend``): ``spent`` images taken under the
    plan ``plan`` (all phases and parts), ``refused`` registry-quota refusals, on the plan's ``day``; ``phase``
    the phase it is in (2: its in-use phase is over), ``done`` when the allowance is spent (nothing more to do for
    that plan), ``ties`` and ``taken`` the spender's counts, so another delivery resumes instead of spending again.
    The form before plan ids (``{day, spent, refused}``) still reads: ``plan`` "" then."""

    day: int
    spent: int
    refused: int
    plan: str = ""
    phase: int = 1
    done: bool = False
    ties: Mapping[int, int] = field(default_factory=dict)
    taken: Mapping[int, int] = field(default_factory=dict)

    def to_json(self) -> str:
        doc: dict[str, Any] = {"day": self.day, "spent": self.spent, "refused": self.refused}
        if self.plan:
            doc.update(
                plan=self.plan,
                phase=self.phase,
                done=self.done,
                ties={str(k): v for k, v in sorted(self.ties.items())},
                taken={str(k): v for k, v in sorted(self.taken.items())},
            )
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Spend:
        data = json.loads(text)
        if not isinstance(data, dict) or not all(type(data.get(k)) is int for k in ("day", "spent", "refused")):
            raise ValueError("a spend must be {day, spent, refused} whole numbers")
        plan, phase, done = data.get("plan", ""), data.get("phase", 1), data.get("done", False)
        if not isinstance(plan, str) or phase not in (1, 2) or type(done) is not bool:
            raise ValueError(f"a spend's plan, phase (1 or 2) and done are invalid: {plan!r}, {phase!r}, {done!r}")
        ties, taken = _class_counts(data.get("ties", {}), "ties"), _class_counts(data.get("taken", {}), "taken")
        return cls(data["day"], data["spent"], data["refused"], sys.intern(plan), phase, done, ties, taken)


@dataclass(frozen=True)
class Last:
    """The last sweep day before a plan's own: the scans it started, whether ECR refused the quota."""

    day: int
    spent: int
    refused: bool


@dataclass(frozen=True)
class State:
    """The registry's budget state (the ``budget`` item of ``config#sweep``): the budget planned for ``day`` (kept
    for the rest of that day), the plan in force (``plan``, made at ``planned_at``, epoch seconds), the day before's
    figures (``last``), the quota's other consumers estimated at refusals (``other``: day -> scans) and what the
    plan takes of the lower classes (``lower``: "3", "4", "5" and "u", the shares without a census)."""

    day: int
    effective: int
    plan: str = ""
    planned_at: float = 0.0
    last: Last | None = None
    other: Mapping[int, int] = field(default_factory=dict)
    lower: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        doc: dict[str, Any] = {"day": self.day, "effective": self.effective}
        if self.plan:
            doc.update(plan=self.plan, planned_at=self.planned_at)
        if self.last is not None:
            doc["last"] = {"day": self.last.day, "spent": self.last.spent, "refused": self.last.refused}
        if self.other:
            doc["other"] = {str(d): n for d, n in sorted(self.other.items())}
        if self.lower:
            doc["lower"] = dict(sorted(self.lower.items()))
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> State:
        data = json.loads(text)
        if not isinstance(data, dict) or type(data.get("day")) is not int or type(data.get("effective")) is not int:
            raise ValueError("the budget state must be {day, effective} whole numbers")
        plan, planned_at = data.get("plan", ""), data.get("planned_at", 0.0)
        if not isinstance(plan, str) or type(planned_at) not in (int, float):
            raise ValueError("the budget state's plan must be a string and planned_at a number")
        last = None
        if data.get("last") is not None:
            raw = data["last"]
            if not isinstance(raw, dict) or type(raw.get("day")) is not int or type(raw.get("spent")) is not int:
                raise ValueError("the budget state's last must be {day, spent, refused}")
            last = Last(raw["day"], raw["spent"], bool(raw.get("refused")))
        other, lower = data.get("other", {}), data.get("lower", {})
        if not isinstance(other, dict) or not isinstance(lower, dict):
            raise ValueError("the budget state's other and lower must be objects")
        try:
            others = {int(d): int(n) for d, n in other.items()}
            lowers = {str(k): int(n) for k, n in lower.items()}
        except (TypeError, ValueError):
            raise ValueError("the budget state's other and lower must hold whole numbers") from None
        return cls(data["day"], data["effective"], plan, float(planned_at), last, others, lowers)


# The counters of the budget state item: numbers the images stage adds to as it goes (DynamoDB ADD), named
# "<kind>.<day or plan>": the scans started on a UTC day (SPENT) and its quota refusals (REFUSED); per plan day,
# the repositories of the day's plans that have an in-use phase (EXPECTED), those through it (DONE) and the last
# time one got through (PROGRESS, epoch seconds); per plan, the pushes of the last 24 hours the first phase counted
# (PUSHES) and the second phase's cut (PHASE2, a string, set once); per hour (epoch hours), the scans started
# (HOURLY: what of the sweep is still in ECR's rolling 24 hours).
SPENT, REFUSED, EXPECTED, DONE, PROGRESS, PUSHES, PHASE2, HOURLY = (
    "spent",
    "refused",
    "p1_expected",
    "p1_done",
    "p1_at",
    "pushes",
    "phase2",
    "spent_h",
)
COUNTER_KINDS = (SPENT, REFUSED, EXPECTED, DONE, PROGRESS, PUSHES, PHASE2, HOURLY)
HOUR = 3_600


def counter(kind: str, key: int | str) -> str:
    """The name of a counter attribute of the budget state item."""
    return f"{kind}.{key}"


@dataclass(frozen=True)
class Counters:
    """The budget state item's counters as read (attribute name -> number or string)."""

    values: Mapping[str, float | str] = field(default_factory=dict)

    def get(self, kind: str, key: int | str) -> float:
        value = self.values.get(counter(kind, key), 0)
        return float(value) if isinstance(value, int | float) else 0.0

    def has(self, kind: str, key: int | str) -> bool:
        return counter(kind, key) in self.values

    def text(self, kind: str, key: int | str) -> str | None:
        value = self.values.get(counter(kind, key))
        return value if isinstance(value, str) else None

    def stale(self, keep_days: Iterable[int], keep_plans: Iterable[str], keep_hours: Iterable[int] = ()) -> list[str]:
        """The counters of other days, plans and hours than these (the repositories stage removes them)."""
        days, plans, hours = {str(d) for d in keep_days}, set(keep_plans), {str(h) for h in keep_hours}
        out = []
        for name in self.values:
            kind, _, key = name.partition(".")
            if kind in (PUSHES, PHASE2):
                if key not in plans:
                    out.append(name)
            elif kind == HOURLY:
                if key not in hours:
                    out.append(name)
            elif kind in COUNTER_KINDS and key not in days:
                out.append(name)
        return sorted(out)

    def last_24_hours(self, now: float) -> int:
        """The scans the sweep started in ECR's rolling window: the last 24 hours (the oldest hour whole)."""
        hour = math.floor(now / HOUR)
        return int(sum(self.get(HOURLY, h) for h in range(hour - 24, hour + 1)))


@dataclass(frozen=True)
class RegistryPlan:
    plan: Plan
    allowances: Mapping[str, Allowance]  # every selected repository (the unknown ones: a share of what is left)
    unknown: int  # repositories without a census yet (given a share now)
    state: State
    last_spent: int  # the last sweep day before today: scans started
    last_refused: bool  # ... and whether ECR refused the registry's quota
    fresh: int = 0  # repositories given a new allowance by this plan (each has an in-use phase to go through)
    kept: int = 0  # repositories still spending an earlier allowance of the day, kept as it was
    left: int = 0  # what was left of the day's budget for this plan


def _last_day(state: State | None, spends: Mapping[str, Spend], counters: Counters, today: int) -> Last | None:
    """The last sweep day before ``today``: from the state's counters, or (a state or markers older than the
    counters) from the markers' spends of that day."""
    if state is not None and state.day < today and counters.has(SPENT, state.day):
        return Last(state.day, int(counters.get(SPENT, state.day)), counters.get(REFUSED, state.day) > 0)
    days = [s.day for s in spends.values() if s.day < today and (state is None or s.day <= state.day)]
    if not days:
        return None
    day = max(days)
    recent = [s for s in spends.values() if s.day == day]
    return Last(day, sum(s.spent for s in recent), any(s.refused for s in recent))


def other_estimate(other: Mapping[int, int], today: int) -> int:
    """The quota's other consumers (not the sweep, not scans on push) as the last refusals showed them, each
    estimate halving every day after its own."""
    return max(
        (int(n / 2 ** max(0, today - day - 1)) for day, n in other.items() if today - day <= OTHER_DAYS), default=0
    )


def _others(state: State | None, last: Last | None, counters: Counters, today: int) -> dict[int, int]:
    """The estimates of the quota's other consumers, with the last sweep day's when ECR refused then: the quota
    less the pushes its first phase counted and the scans the day started."""
    other = {d: n for d, n in (state.other if state else {}).items() if today - d <= OTHER_DAYS}
    if state is not None and last is not None and last.refused and state.plan and counters.has(PUSHES, state.plan):
        pushes = int(counters.get(PUSHES, state.plan))
        other[last.day] = max(0, REGISTRY_QUOTA - pushes - last.spent)
    return other


def plan_registry(
    censuses: Mapping[str, Census],
    spends: Mapping[str, Spend],
    repositories: Iterable[str],
    configured: int,
    state: State | None,
    today: int,
    expiry_days: int,
    *,
    plan_id: str = "",
    now: float = 0.0,
    counters: Counters | None = None,
    current: Mapping[str, Allowance] | None = None,
) -> RegistryPlan:
    """Today's plan for ``repositories`` from what is left of the day's budget.

    The day's budget is ``configured`` at the day's first plan and kept for the rest of the day (``state``). Left
    for this plan: that budget less the scans the day started (``counters``) and less what the allowances still
    being spent may start: an allowance of today (``current``: the plan in force) whose spend under its plan is not
    done is kept as it is. The other repositories are ranked together (:func:`allocate`) on what is left, and what
    the known ones leave is split evenly between those without a census (their first sweep: classes 1-4, in-use
    first, then in listing order)."""
    repos = list(repositories)
    counters = counters or Counters()
    same_day = state is not None and state.day == today
    if state is not None and same_day:
        effective, last, other = state.effective, state.last, dict(state.other)
    else:
        effective = configured
        last = _last_day(state, spends, counters, today)
        other = _others(state, last, counters, today)
    kept: dict[str, Allowance] = {}
    outstanding = 0
    for repo in repos if same_day and current else ():
        allowance = (current or {}).get(repo)
        if allowance is None or allowance.day != today:
            continue
        spend = spends.get(repo)
        mine = spend is not None and bool(allowance.plan) and spend.plan == allowance.plan
        if spend is not None and mine and spend.done:
            continue  # spent: what it left goes back to the day's budget
        kept[repo] = allowance
        outstanding += max(0, allowance.total - (spend.spent if spend is not None and mine else 0))
    left = max(0, effective - int(counters.get(SPENT, today)) - outstanding)
    fresh = [r for r in repos if r not in kept]
    known = {r: censuses[r].tally for r in fresh if r in censuses}
    plan = allocate(known, left, today, expiry_days, plan_id)
    unknown = [r for r in fresh if r not in censuses]
    allowances = {**kept, **plan.allowances}
    share = max(0, left - plan.amount) // len(unknown) if unknown else 0
    whole = {k: (None, 0) for k in (1, 2, 3, 4)}
    for repo in unknown:
        allowances[repo] = Allowance(today, share, whole, plan_id)
    lower = {str(k): plan.taken.get(k, 0) for k in (3, 4, 5)} | {"u": share * len(unknown)}
    new_state = State(today, effective, plan_id, now, last, other, lower)
    spent, refused = (last.spent, last.refused) if last is not None else (0, False)
    return RegistryPlan(plan, allowances, len(unknown), new_state, spent, refused, len(fresh), len(kept), left)


# --- the images stage's side: which phase, when the second may start, how much it may take -------------------


@dataclass(frozen=True)
class Turn:
    """Where a repository's allowance stands when a part of its sweep starts: the ``phase`` to run (1: the in-use
    classes, 2: the rest), what was spent of it (``spent``, ``ties``, ``taken``), and ``done`` when nothing is left
    to do (a repeated delivery of work already done)."""

    phase: int
    spent: int = 0
    ties: Mapping[int, int] = field(default_factory=dict)
    taken: Mapping[int, int] = field(default_factory=dict)
    done: bool = False


def turn(allowance: Allowance, spend: Spend | None, carried: Turn | None = None) -> Turn:
    """The turn of a part of a repository's sweep under ``allowance``: what its marker's ``spend`` recorded under
    the same plan (another delivery got there first), or what the continuation ``carried``, whichever spent more;
    a fresh start otherwise."""
    recorded = None
    if spend is not None and allowance.plan and spend.plan == allowance.plan:
        recorded = Turn(spend.phase, spend.spent, spend.ties, spend.taken, spend.done)
    if recorded is not None and (recorded.done or carried is None or recorded.spent > carried.spent):
        return recorded
    if carried is not None:
        return carried
    return Turn(1)


def gate(state: State | None, counters: Counters, allowance: Allowance, now: float) -> str | None:
    """Whether the second phase (classes 3-5) of ``allowance`` may start: None while the in-use phase of its day is
    still going on in other repositories; else why it may ("in_use_done": every repository of the day's plans is
    through it; "refused": ECR refused the registry's quota today; "stalled": no repository got through it for
    :data:`GATE_STALL_SECONDS`, a lost message; "another_day": the allowance is not of the plan's day)."""
    if state is None or allowance.day != state.day:
        return "another_day"
    day = allowance.day
    if counters.get(REFUSED, day) > 0 or counters.get(REFUSED, math.floor(now / DAY)) > 0:
        return "refused"
    if counters.get(DONE, day) >= counters.get(EXPECTED, day):
        return "in_use_done"
    if now - max(state.planned_at, counters.get(PROGRESS, day)) >= GATE_STALL_SECONDS:
        return "stalled"
    return None


def room(state: State, counters: Counters, now: float) -> int:
    """What the quota has left for the second phase now: ECR's 100,000 scans less :data:`ROOM_MARGIN`, the pushes
    of the last 24 hours the first phase counted, the scans the sweep started in the last 24 hours (yesterday's
    still in ECR's rolling window included) and the other consumers' estimate."""
    today = math.floor(now / DAY)
    used = counters.get(PUSHES, state.plan) + counters.last_24_hours(now) + other_estimate(state.other, today)
    return int(REGISTRY_QUOTA - ROOM_MARGIN - used)


def lower_factors(state: State, room_left: int) -> dict[str, float]:
    """The share of its lower-class scans each class keeps in the second phase when ``room_left`` is short: class 3
    and the shares without a census first, then 4, then 5."""
    left = max(0, room_left)
    factors: dict[str, float] = {}
    for key in ("3", "u", "4", "5"):
        want = state.lower.get(key, 0)
        got = min(want, left)
        left -= got
        factors[key] = 1.0 if want <= 0 else got / want
    return factors


def _scaled(factor: float, n: int, salt: str) -> int:
    """``factor * n`` rounded down or up at random, deterministically by ``salt`` (no repository always loses)."""
    exact = max(0.0, min(1.0, factor)) * n
    whole = math.floor(exact)
    fraction = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "big") / 2**64
    return whole + (1 if exact - whole > fraction else 0)


def second_phase(
    allowance: Allowance, factors: Mapping[str, float], repository: str, spent: int
) -> tuple[dict[int, int] | None, int | None]:
    """(caps per class, limit in all) of a repository's second phase under the cut ``factors``: a repository with a
    census keeps ``factor`` of each lower class it was given; one without keeps the class-3 share of what is left
    of its allowance."""
    if all(f >= 1.0 for f in factors.values()):
        return None, None
    if allowance.counts:
        caps = {
            k: _scaled(factors.get(str(k), 1.0), allowance.counts.get(k, 0), f"{allowance.plan}:{repository}:{k}")
            for k in (3, 4, 5)
        }
        return caps, None
    rest = max(0, allowance.total - spent)
    return None, spent + _scaled(factors.get("u", 1.0), rest, f"{allowance.plan}:{repository}:u")


def chunk_of(repository: str, chunks: int = PLAN_CHUNKS) -> int:
    """The chunk item holding a repository's allowance (a hash of its marker key, so any stage finds it)."""
    return int.from_bytes(hashlib.sha256(repository.encode()).digest()[:4], "big") % chunks


def chunked(allowances: Mapping[str, Allowance], chunks: int = PLAN_CHUNKS) -> Iterator[tuple[int, str]]:
    """The plan's allowances as (chunk number, JSON ``{"<marker key>": allowance}``), non-empty chunks only, in
    chunk order; each chunk's JSON is made when it is asked for (the whole plan is never encoded at once)."""
    grouped: dict[int, list[str]] = defaultdict(list)
    for repository in allowances:
        grouped[chunk_of(repository, chunks)].append(repository)
    for n in sorted(grouped):
        body = ",".join(
            json.dumps(repository) + ":" + json.dumps(allowances[repository].to_json(), separators=(",", ":"))
            for repository in sorted(grouped[n])
        )
        yield n, "{" + body + "}"


def unchunked(text: str) -> dict[str, Allowance]:
    """A chunk's allowances (:func:`chunked`); ValueError says what is wrong."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a plan chunk must be an object")
    return {str(repository): Allowance.from_json(value) for repository, value in data.items()}


# --- what the registry looks like ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Staleness:
    """What the registry looks like as its last sweeps left it (the markers' censuses)."""

    images: int
    in_use: int
    never_scanned: int
    in_use_age_p50: int | None  # whole days
    in_use_age_p95: int | None
    in_use_age_max: int | None
    age_p95: int | None  # all scanned images
    past_expiry_in_use: int
    past_expiry_not_in_use: int
    in_use_past_expiry_plus_one_day: int
    pushed_1d: int
    headroom: Headroom


class Seen:
    """The registry's staleness (:class:`Staleness`) summed one census at a time (the repositories stage streams the
    markers: no repository's ages are kept)."""

    def __init__(self, expiry_days: int) -> None:
        self.expiry_days = expiry_days
        self.in_use_ages: dict[int, int] = defaultdict(int)
        self.all_ages: dict[int, int] = defaultdict(int)
        self.images = self.in_use = self.never = self.past_used = self.past_unused = self.alarm = self.pushed = 0

    def add(self, census: Census) -> None:
        expiry = self.expiry_days
        self.images += census.images
        self.pushed += census.pushed_1d
        for (used, is_never, due_day), n in census.tally.due.items():
            self.in_use += n if used else 0
            if is_never:
                self.never += n
                if used and census.day - due_day >= expiry + 1:
                    self.alarm += n
        for (used, age), n in census.tally.ages.items():
            self.all_ages[age] += n
            if used:
                self.in_use_ages[age] += n
            if age >= expiry:
                if used:
                    self.past_used += n
                else:
                    self.past_unused += n
            if used and age >= expiry + 1:
                self.alarm += n

    def result(self, budget: int | None = None) -> Staleness:
        return Staleness(
            images=self.images,
            in_use=self.in_use,
            never_scanned=self.never,
            in_use_age_p50=percentile(self.in_use_ages, 0.5),
            in_use_age_p95=percentile(self.in_use_ages, 0.95),
            in_use_age_max=max(self.in_use_ages) if self.in_use_ages else None,
            age_p95=percentile(self.all_ages, 0.95),
            past_expiry_in_use=self.past_used,
            past_expiry_not_in_use=self.past_unused,
            in_use_past_expiry_plus_one_day=self.alarm,
            pushed_1d=self.pushed,
            headroom=headroom(self.images, self.expiry_days, self.pushed, budget),
        )


def staleness(censuses: Iterable[Census], expiry_days: int, budget: int | None = None) -> Staleness:
    """Registry-wide counts: ages are whole days at each repository's last sweep (after its scans); "past expiry"
    is a scan ``expiry_days`` days old or more; a never-scanned image counts past expiry + 1 day once it was pushed
    that long ago (its due day is its push). The headroom is measured against ``budget`` (the configured one)."""
    seen = Seen(expiry_days)
    for census in censuses:
        seen.add(census)
    return seen.result(budget)


def staleness_document(
    seen: Staleness, *, budget: int, configured: int, planned: int, spent: int, refused: bool, at: str
) -> dict[str, Any]:
    """What the repositories stage stores for the exposure report (the ``staleness`` attribute of the budget state
    item, ``core/ledger.py``): the registry's staleness as the last sweeps left it, the budget, and the headroom."""
    room_ = seen.headroom
    return {
        "at": at,
        "budget": budget,
        "configured": configured,
        "planned": planned,
        "spent": spent,
        "refused_by_quota": refused,
        "images": seen.images,
        "in_use": seen.in_use,
        "in_use_scan_age_days": {"p50": seen.in_use_age_p50, "p95": seen.in_use_age_p95, "max": seen.in_use_age_max},
        "scan_age_p95_days": seen.age_p95,
        "past_expiry_in_use": seen.past_expiry_in_use,
        "past_expiry_not_in_use": seen.past_expiry_not_in_use,
        "in_use_past_expiry_plus_one_day": seen.in_use_past_expiry_plus_one_day,
        "never_scanned": seen.never_scanned,
        "pushed_last_day": seen.pushed_1d,
        "needed_per_day": room_.needed_per_day,
        "quota_needed_percent": round(room_.quota_percent, 1),
        "affordable_expiry_days": room_.affordable_expiry_days,
        "headroom": room_.sentence(),
    }
