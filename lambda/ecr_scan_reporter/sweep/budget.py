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

**The split between the stages** (the ledger's ``config#sweep`` markers): the images stage counts, per repository,
the images by (in use, never scanned, due day) after its scans (:class:`Tally`) and stores that in the
repository's marker. The repositories stage reads every marker, ranks the whole registry's counts
(:func:`allocate`) and stores each repository's :class:`Allowance` (per class: the due day up to which every image
is taken, and how many of the images due on that day); the images stage then spends its allowance
(:class:`Spender`) as it lists the repository. The counts are a sweep old: images pushed or pulled since shift a
little; whatever is unspent (an image already scanned on push, a deleted one) is simply not spent, and the next
sweep plans from fresh counts.

**The quota is shared** (:func:`next_budget`): when ECR refused scans for the registry's quota in the last sweep,
the next sweep's budget is what the last one got through before the refusal; then it grows back by a quarter of
the budget a day. A refusal ends the sweep's scanning (scanning.ScanQuota): it never loops on refusals.

**Headroom** (:func:`headroom`): a registry of N images with expiry E needs N / E scans a day; with P pushes a day
(each scanned on push) it uses (N / E + P) of the quota; when that exceeds the quota, the expiry it can afford is
ceil(N / (quota - P)) days.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


@dataclass
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
            parts = key.split(".")
            if len(parts) != 3 or parts[0] not in "01" or parts[1] not in "01":
                raise ValueError(f"due key {key!r} is not 'u.n.day'")
            tally.due[(parts[0] == "1", parts[1] == "1", int(parts[2]))] = n
        for key, n in _counts(data.get("ages", {}), "ages"):
            parts = key.split(".")
            if len(parts) != 2 or parts[0] not in "01":
                raise ValueError(f"ages key {key!r} is not 'u.age'")
            tally.ages[(parts[0] == "1", int(parts[1]))] = n
        return tally


def _counts(data: object, name: str) -> Iterator[tuple[str, int]]:
    if not isinstance(data, Mapping):
        raise ValueError(f"{name} must be an object")
    for key, n in data.items():
        if not isinstance(key, str) or type(n) is not int or n < 0:
            raise ValueError(f"{name}[{key!r}]={n!r} must be a non-negative whole number")
        yield key, n


# --- the registry-wide allocation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """One repository's share of today's budget. ``cuts`` maps a class to (cut day, tie): every image of the class
    due before the cut day is taken, and ``tie`` of those due on it; a cut day of None takes the whole class.
    ``total`` bounds the scans in all. ``day``: the sweep day it was planned for."""

    day: int
    total: int
    cuts: Mapping[int, tuple[int | None, int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "day": self.day,
            "total": self.total,
            "cuts": {str(k): [cut, tie] for k, (cut, tie) in sorted(self.cuts.items())},
        }

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
            if str(key) not in {str(c) for c in CLASSES}:
                raise ValueError(f"cuts has unknown class {key!r}")
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError(f"cuts[{key}] must be [cut day or null, tie]")
            cut, tie = value
            if (cut is not None and type(cut) is not int) or type(tie) is not int or tie < 0:
                raise ValueError(f"cuts[{key}]={value!r} must be [cut day or null, tie >= 0]")
            parsed[int(key)] = (cut, tie)
        return cls(day, total, parsed)


@dataclass
class Spender:
    """Spends one repository's :class:`Allowance` as its images are listed (the images stage, and :func:`select`).
    ``allowance`` None: no budget applies (every due image is scanned, as without a budget)."""

    allowance: Allowance | None
    spent: int = 0
    ties: dict[int, int] = field(default_factory=dict)

    def take(self, klass: int, due_day: int) -> bool:
        """Whether to scan an image of class ``klass`` due on ``due_day``; counts it when yes."""
        if self.allowance is None:
            return klass != LEVELLING
        if self.spent >= self.allowance.total or klass not in self.allowance.cuts:
            return False
        cut, tie = self.allowance.cuts[klass]
        if cut is not None and due_day > cut:
            return False
        if cut is not None and due_day == cut:
            if self.ties.get(klass, 0) >= tie:
                return False
            self.ties[klass] = self.ties.get(klass, 0) + 1
        self.spent += 1
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


def allocate(tallies: Mapping[str, Tally], budget: int, today: int, expiry_days: int) -> Plan:
    """Rank every repository's counts registry-wide (class, then due day, ties split by :func:`fair_shares`) and
    spend ``min(budget, levelled amount)`` on them: each repository's :class:`Allowance` for day ``today``."""
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
        allowances[repo] = Allowance(today, totals.get(repo, 0), repo_cuts)
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


# --- the quota shared with others, and what the registry needs ---------------------------------------------------


def next_budget(budget: int, last_effective: int | None, last_spent: int, refused: bool) -> int:
    """The next sweep's budget: after a sweep ECR refused for the registry's quota, what that sweep got through
    (at least 1); otherwise the last one grown by a quarter of ``budget``, at most ``budget``."""
    if refused:
        return max(1, min(budget, last_spent))
    if last_effective is None:
        return budget
    return min(budget, max(1, last_effective) + max(1, budget // 4))


@dataclass(frozen=True)
class Headroom:
    images: int
    expiry_days: int
    pushes_per_day: int
    needed_per_day: int  # ceil(images / expiry)
    quota_percent: float  # (needed + pushes) / quota
    affordable_expiry_days: int | None  # the expiry the quota can keep (None: the quota is all pushes)

    def sentence(self) -> str:
        text = (
            f"at {self.images:,} images and {self.expiry_days} days expiry you need {self.needed_per_day:,} scans a "
            f"day (+ {self.pushes_per_day:,} on push): {self.quota_percent:.0f} % of the quota"
        )
        if self.quota_percent > 100:
            afford = self.affordable_expiry_days
            text += "; the quota affords " + (f"an expiry of {afford} days" if afford else "no rescans at all")
        return text


def headroom(images: int, expiry_days: int, pushes_per_day: int, quota: int = REGISTRY_QUOTA) -> Headroom:
    needed = -(-images // expiry_days) if images else 0
    percent = 100.0 * (needed + pushes_per_day) / quota
    spare = quota - pushes_per_day
    afford = -(-images // spare) if spare > 0 and images else (1 if spare > 0 else None)
    return Headroom(images, expiry_days, pushes_per_day, needed, percent, max(afford, 1) if afford else afford)


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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Spend:
    """What one repository's last sweep spent: scans started, registry-quota refusals, on which day."""

    day: int
    spent: int
    refused: int

    @classmethod
    def from_json(cls, text: str) -> Spend:
        data = json.loads(text)
        if not isinstance(data, dict) or not all(type(data.get(k)) is int for k in ("day", "spent", "refused")):
            raise ValueError("a spend must be {day, spent, refused} whole numbers")
        return cls(data["day"], data["spent"], data["refused"])


@dataclass(frozen=True)
class State:
    """The registry's budget state (the ``budget`` item of ``config#sweep``): the budget planned on ``day``."""

    day: int
    effective: int

    def to_json(self) -> str:

        return json.dumps({"day": self.day, "effective": self.effective})

    @classmethod
    def from_json(cls, text: str) -> State:
        data = json.loads(text)
        if not isinstance(data, dict) or type(data.get("day")) is not int or type(data.get("effective")) is not int:
            raise ValueError("the budget state must be {day, effective} whole numbers")
        return cls(data["day"], data["effective"])


@dataclass(frozen=True)
class RegistryPlan:
    plan: Plan
    allowances: Mapping[str, Allowance]  # every selected repository (the unknown ones: a share of what is left)
    unknown: int  # repositories without a census yet
    state: State
    last_spent: int
    last_refused: bool


def plan_registry(
    censuses: Mapping[str, Census],
    spends: Mapping[str, Spend],
    repositories: Iterable[str],
    configured: int,
    state: State | None,
    today: int,
    expiry_days: int,
) -> RegistryPlan:
    """Today's plan for ``repositories``: the budget adapted to the last sweep's refusals (:func:`next_budget`), the
    known repositories ranked together (:func:`allocate`), and what is left split evenly between the repositories
    without a census (their first sweep: taken in listing order, classes 1-4)."""
    repos = list(repositories)
    last = [spends[r] for r in repos if r in spends and spends[r].day < today]
    last_day = max((s.day for s in last), default=None)
    recent = [s for s in last if s.day == last_day]
    last_spent = sum(s.spent for s in recent)
    refused = any(s.refused for s in recent)
    if state is not None and state.day == today:
        effective = state.effective  # planned already today (a second schedule run): keep it
    else:
        effective = next_budget(configured, state.effective if state else None, last_spent, refused)
    known = {r: censuses[r].tally for r in repos if r in censuses}
    plan = allocate(known, effective, today, expiry_days)
    unknown = [r for r in repos if r not in censuses]
    allowances = dict(plan.allowances)
    if unknown:
        share = max(0, effective - plan.amount) // len(unknown)
        whole = {k: (None, 0) for k in (1, 2, 3, 4)}
        for repo in unknown:
            allowances[repo] = Allowance(today, share, whole)
    return RegistryPlan(plan, allowances, len(unknown), State(today, effective), last_spent, refused)


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


def staleness(censuses: Iterable[Census], expiry_days: int) -> Staleness:
    """Registry-wide counts: ages are whole days at each repository's last sweep (after its scans); "past expiry"
    is a scan ``expiry_days`` days old or more; a never-scanned image counts past expiry + 1 day once it was pushed
    that long ago (its due day is its push)."""
    in_use_ages: dict[int, int] = defaultdict(int)
    all_ages: dict[int, int] = defaultdict(int)
    images = in_use_n = never = past_used = past_unused = alarm = pushed = 0
    for census in censuses:
        images += census.images
        pushed += census.pushed_1d
        for (used, is_never, due_day), n in census.tally.due.items():
            in_use_n += n if used else 0
            if is_never:
                never += n
                if used and census.day - due_day >= expiry_days + 1:
                    alarm += n
        for (used, age), n in census.tally.ages.items():
            all_ages[age] += n
            if used:
                in_use_ages[age] += n
            if age >= expiry_days:
                if used:
                    past_used += n
                else:
                    past_unused += n
            if used and age >= expiry_days + 1:
                alarm += n
    return Staleness(
        images=images,
        in_use=in_use_n,
        never_scanned=never,
        in_use_age_p50=percentile(in_use_ages, 0.5),
        in_use_age_p95=percentile(in_use_ages, 0.95),
        in_use_age_max=max(in_use_ages) if in_use_ages else None,
        age_p95=percentile(all_ages, 0.95),
        past_expiry_in_use=past_used,
        past_expiry_not_in_use=past_unused,
        in_use_past_expiry_plus_one_day=alarm,
        pushed_1d=pushed,
        headroom=headroom(images, expiry_days, pushed),
    )


def staleness_document(
    seen: Staleness, *, budget: int, configured: int, planned: int, spent: int, refused: bool, at: str
) -> dict[str, Any]:
    """What the repositories stage stores for the exposure report (the ``staleness`` attribute of the budget state
    item, ``core/ledger.py``): the registry's staleness as the last sweeps left it, the budget, and the headroom."""
    room = seen.headroom
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
        "needed_per_day": room.needed_per_day,
        "quota_needed_percent": round(room.quota_percent, 1),
        "affordable_expiry_days": room.affordable_expiry_days,
        "headroom": room.sentence(),
    }
