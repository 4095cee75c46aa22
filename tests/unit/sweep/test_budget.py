"""The registry-wide scan budget (sweep/budget.py) as pure functions: priority order, levelling, the split between
the stages, the quota shared with others, the headroom. Boundaries pinned: exactly at expiry, exactly
``in_use_days``, the budget's last scan, ties."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from ecr_scan_reporter.sweep import budget
from ecr_scan_reporter.sweep.budget import Allowance, Item, Spender, Tally

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
TODAY = budget.day_of(NOW)


def _digest(i: int) -> str:
    return f"sha256:{i:064x}"


def _zero_jitter_digest(expiry_days: int = 7) -> str:
    return next(d for d in (_digest(i) for i in range(100_000)) if budget.jitter_seconds(d, expiry_days) == 0)


# --- in use --------------------------------------------------------------------------------------------------


def test_in_use_exactly_in_use_days_ago_is_in_use_and_a_second_more_is_not() -> None:
    assert budget.in_use(NOW - timedelta(days=30), NOW, 30)
    assert not budget.in_use(NOW - timedelta(days=30, seconds=1), NOW, 30)
    assert not budget.in_use(None, NOW, 30)  # never pulled


# --- due and the levelling jitter ----------------------------------------------------------------------------


def test_due_exactly_at_expiry_with_no_jitter_is_due_that_day() -> None:
    digest = _zero_jitter_digest()
    scanned = NOW - timedelta(days=7)
    assert budget.due_at(scanned, None, digest, 7) == NOW
    due_day = budget.day_of(budget.due_at(scanned, None, digest, 7))
    assert budget.priority(never=False, used=True, due_day=due_day, today=TODAY) == budget.EXPIRED_IN_USE
    # One day later it is not due yet: scanned early only to level the load.
    assert budget.priority(never=False, used=True, due_day=due_day, today=TODAY - 1) == budget.LEVELLING


@pytest.mark.parametrize("expiry_days", [1, 2, 7, 30, 365])
def test_jitter_stays_in_its_window_before_expiry_and_never_after(expiry_days: int) -> None:
    window = budget.window_seconds(expiry_days)
    assert window == min(2 * budget.DAY, expiry_days * budget.DAY // 4)
    scanned = NOW - timedelta(days=3)
    expiry = scanned + timedelta(days=expiry_days)
    jitters = [budget.jitter_seconds(_digest(i), expiry_days) for i in range(2_000)]
    assert all(0 <= j <= window for j in jitters)
    for i in range(50):
        due = budget.due_at(scanned, None, _digest(i), expiry_days)
        assert expiry - timedelta(seconds=window) <= due <= expiry  # never past the expiry (so < expiry + 1 day)
    # Spread: the jitter covers the window, not one point (a bulk push does not fall due on one day).
    assert max(jitters) - min(jitters) > window * 0.9
    assert budget.jitter_seconds(_digest(1), expiry_days) == budget.jitter_seconds(_digest(1), expiry_days)


def test_never_scanned_is_due_at_push_or_at_once() -> None:
    assert budget.due_at(None, NOW - timedelta(hours=2), _digest(1), 7) == NOW - timedelta(hours=2)
    assert budget.day_of(budget.due_at(None, None, _digest(1), 7)) == budget.EARLIEST_DAY


# --- priority ------------------------------------------------------------------------------------------------


def test_the_four_classes_and_levelling() -> None:
    p = budget.priority
    assert p(never=True, used=True, due_day=TODAY, today=TODAY) == 1
    assert p(never=False, used=True, due_day=TODAY - 3, today=TODAY) == 2
    assert p(never=True, used=False, due_day=TODAY - 30, today=TODAY) == 3
    assert p(never=False, used=False, due_day=TODAY, today=TODAY) == 4
    assert p(never=False, used=False, due_day=TODAY + 1, today=TODAY) == 5


def _items(spec: list[tuple[str, bool, bool, int, int]]) -> list[Item]:
    """(repository, used, never, due day offset, how many)"""
    out, n = [], 0
    for repo, used, never, offset, count in spec:
        for _ in range(count):
            out.append(Item(repo, _digest(n), used, never, TODAY + offset))
            n += 1
    return out


def test_priority_order_registry_wide_not_repository_order() -> None:
    items = _items(
        [
            ("a", False, False, -5, 10),  # class 4, stalest of all
            ("a", False, True, -1, 10),  # class 3
            ("b", True, False, -1, 10),  # class 2
            ("z", True, True, 0, 10),  # class 1, in the last repository
        ]
    )
    plan, chosen = budget.select(items, 25, TODAY, 7)
    classes = Counter(budget.priority(never=i.never, used=i.used, due_day=i.due_day, today=TODAY) for i in chosen)
    assert classes == {1: 10, 2: 10, 3: 5}
    assert plan.taken == {1: 10, 2: 10, 3: 5, 4: 0, 5: 0}
    assert plan.due == {1: 10, 2: 10, 3: 10, 4: 10, 5: 0}


def test_stalest_first_within_a_class() -> None:
    items = _items([("a", True, False, -1, 5), ("b", True, False, -4, 5), ("c", True, False, -2, 5)])
    _, chosen = budget.select(items, 7, TODAY, 7)
    assert Counter(i.repository for i in chosen) == {"b": 5, "c": 2}


def test_the_budgets_last_scan() -> None:
    items = _items([("a", True, True, 0, 3), ("a", True, False, -2, 3), ("b", False, False, -9, 4)])
    for spend in range(len(items) + 2):
        _, chosen = budget.select(items, spend, TODAY, 7)
        assert len(chosen) == min(spend, len(items))
    _, chosen = budget.select(items, 6, TODAY, 7)  # the 6th (last) scan is the last in-use image; none not in use
    assert {i.repository for i in chosen} == {"a"}
    assert len(chosen) == 6
    _, chosen = budget.select(items, 7, TODAY, 7)
    assert Counter(i.repository for i in chosen) == {"a": 6, "b": 1}


def test_ties_are_split_fairly_and_the_remainder_rotates_by_day() -> None:
    items = _items([("big", True, False, -1, 1_000), ("small", True, False, -1, 3), ("mid", True, False, -1, 10)])
    _, chosen = budget.select(items, 21, TODAY, 7)
    shares = Counter(i.repository for i in chosen)
    assert shares == {"small": 3, "mid": 9, "big": 9}  # small gets all it has; the rest is split equally
    _, chosen = budget.select(items, 20, TODAY, 7)
    shares = Counter(i.repository for i in chosen)
    assert shares["small"] == 3
    assert sorted([shares["mid"], shares["big"]]) == [8, 9]
    # The odd scan goes to one repository or the other depending on the day, not always the same one.
    winners = set()
    for day in range(TODAY, TODAY + 20):
        got = budget.fair_shares({"mid": 10, "big": 1_000}, 17, day)
        assert sum(got.values()) == 17
        assert abs(got["mid"] - got["big"]) == 1
        winners.add(max(got, key=got.__getitem__))
    assert winners == {"mid", "big"}


def test_fair_shares_never_gives_more_than_wanted_and_spends_the_room() -> None:
    rng = random.Random(7)
    for _ in range(300):
        wants = {f"r{i}": rng.randint(0, 50) for i in range(rng.randint(1, 12))}
        room = rng.randint(0, 400)
        got = budget.fair_shares(wants, room, rng.randint(0, 10))
        assert all(0 <= got[r] <= wants[r] for r in got)
        assert sum(got.values()) == min(room, sum(wants.values()))
        # max-min fair: a repository with less than another was given all it wanted.
        for r in got:
            for s in got:
                if got[r] + 1 < got[s]:
                    assert got[r] == wants[r]


# --- levelling -----------------------------------------------------------------------------------------------


def test_levelled_amount_spreads_a_wave_over_the_days_before_it_is_due() -> None:
    steady = {TODAY + d: 100 for d in range(7)}
    assert budget.levelled_amount(steady, TODAY, 7) == 100
    wave = {**steady, TODAY + 6: 100 + 7_000}
    assert budget.levelled_amount(wave, TODAY, 7) == 1_100  # 7,700 in 7 days: start now, 1,100 a day
    overdue = {TODAY - 3: 500, TODAY + 1: 10}
    assert budget.levelled_amount(overdue, TODAY, 7) == 500  # what is overdue is due today
    assert budget.levelled_amount({}, TODAY, 7) == 0


def test_the_levelled_amount_met_every_day_keeps_every_due_day() -> None:
    # Spend the amount each day earliest-due first: nothing is ever scanned after its due day.
    rng = random.Random(3)
    due = Counter({TODAY + rng.randint(0, 20): rng.randint(0, 500) for _ in range(40)})
    for day in range(TODAY, TODAY + 21):
        amount = budget.levelled_amount(due, day, 7)
        assert sum(n for d, n in due.items() if d <= day) <= amount
        for d in sorted(due):
            take = min(due[d], amount)
            due[d] -= take
            amount -= take
        assert all(n == 0 for d, n in due.items() if d <= day)


def test_levelling_scans_early_only_what_the_level_needs() -> None:
    items = _items([("a", True, False, 0, 10), ("a", True, False, 3, 40)])  # 50 due within 4 days: 13 a day
    plan, chosen = budget.select(items, 1_000, TODAY, 7)
    assert plan.amount == 13
    assert len(chosen) == 13
    assert plan.taken == {1: 0, 2: 10, 3: 0, 4: 0, 5: 3}


# --- the split between the stages ------------------------------------------------------------------------------


def test_the_staged_split_takes_the_same_per_repository_and_class_as_the_whole_view() -> None:
    rng = random.Random(11)
    for _ in range(40):
        items = [
            Item(
                f"repo{rng.randint(0, 6)}",
                _digest(i),
                rng.random() < 0.3,
                rng.random() < 0.2,
                TODAY + rng.randint(-10, 8),
            )
            for i in range(rng.randint(1, 400))
        ]
        rng.shuffle(items)
        spend = rng.randint(0, 300)
        plan, chosen = budget.select(items, spend, TODAY, 7)
        # The stages: the images stage's tallies -> the repositories stage's allowances -> the images stage spends.
        tallies: dict[str, Tally] = {}
        for item in items:
            tallies.setdefault(item.repository, Tally()).add(
                used=item.used, never=item.never, due_day=item.due_day, age_days=None
            )
        allocated = budget.allocate(tallies, spend, TODAY, 7)
        staged = []
        for repo in tallies:
            allowance = Allowance.from_json(allocated.allowances[repo].to_json())  # through the ledger's form
            spender = Spender(allowance)
            for item in (i for i in items if i.repository == repo):
                klass = budget.priority(never=item.never, used=item.used, due_day=item.due_day, today=TODAY)
                if spender.take(klass, item.due_day):
                    staged.append(item)

        def by_class(found: list[Item]) -> Counter[tuple[str, int]]:
            return Counter(
                (i.repository, budget.priority(never=i.never, used=i.used, due_day=i.due_day, today=TODAY))
                for i in found
            )

        assert by_class(staged) == by_class(chosen)
        assert len(chosen) == min(plan.amount, spend) == sum(plan.taken.values())
        # Nothing of a lower class is taken while a higher one has images left.
        left = Counter(
            budget.priority(never=i.never, used=i.used, due_day=i.due_day, today=TODAY)
            for i in items
            if i not in chosen
        )
        taken = {klass for (_, klass) in by_class(chosen)}
        assert not any(left[k] and any(t > k for t in taken) for k in left)


def test_without_an_allowance_every_due_image_is_taken_and_none_early() -> None:
    spender = Spender(None)
    assert all(spender.take(k, TODAY) for k in (1, 2, 3, 4))
    assert not spender.take(5, TODAY + 1)


def test_tally_and_allowance_round_trip_and_refuse_bad_forms() -> None:
    tally = Tally()
    tally.add(used=True, never=False, due_day=TODAY, age_days=3)
    tally.add(used=False, never=True, due_day=TODAY - 1, age_days=None)
    assert Tally.from_json(tally.to_json()) == tally
    for bad in ({"due": {"2.0.1": 1}}, {"due": {"1.0.1": -1}}, {"ages": {"x": 1}}, [], {"due": []}):
        with pytest.raises(ValueError, match=r"must be|is not"):
            Tally.from_json(bad)
    allowance = Allowance(TODAY, 5, {1: (None, 0), 2: (TODAY - 2, 3)})
    assert Allowance.from_json(allowance.to_json()) == allowance
    for bad_allowance in ({"day": 1, "total": -1}, {"day": 1, "total": 1, "cuts": {"9": [None, 0]}}, "x"):
        with pytest.raises(ValueError, match=r"must be|unknown class"):
            Allowance.from_json(bad_allowance)


def test_a_spender_never_exceeds_its_total() -> None:
    spender = Spender(Allowance(TODAY, 2, {1: (None, 0)}))
    assert [spender.take(1, TODAY) for _ in range(4)] == [True, True, False, False]


# --- the quota shared with others, the headroom ----------------------------------------------------------------


def test_headroom_counts_the_levelling_and_advises_what_the_budget_keeps() -> None:
    # 300,000 images at 7 days: rescans due up to 1.75 days early, taken the day they fall due: every 5.625 days.
    room = budget.headroom(300_000, 7, 0, 90_000)
    assert budget.interval_days(7) == 5.625
    assert room.needed_per_day == 53_334  # not 300,000 / 7 = 42,858
    assert round(room.quota_percent) == 53
    assert room.affordable_expiry_days == 5  # 300,000 / 4.25 = 70,589 <= 0.9 x 90,000
    assert room.sentence().startswith("at 300,000 images and 7 days expiry you need 53,334 scans a day")
    assert "the budget (90,000 a day) keeps an expiry of 5 days" in room.sentence()
    # 1,000,000 images and 3,000 pushes a day: the quota less the pushes (97,000) would advise 11 days; the
    # configured budget keeps 14 (13 days: 86,957 a day, more than 0.9 x 90,000).
    tight = budget.headroom(1_000_000, 7, 3_000, 90_000)
    assert tight.affordable_expiry_days == 14
    assert budget.scans_per_day(1_000_000, 13) == 86_957
    assert budget.scans_per_day(1_000_000, 14) == 80_000 <= 0.9 * 90_000
    # A budget above what the quota leaves after the pushes spends only that.
    assert budget.headroom(1_000_000, 7, 50_000, 90_000).spendable == 50_000
    # Nothing to spend: no expiry is kept; an empty registry keeps any.
    assert budget.headroom(10, 7, 100_000, 90_000).affordable_expiry_days is None
    assert "keeps no expiry at all" in budget.headroom(10, 7, 100_000, 90_000).sentence()
    assert budget.headroom(0, 7, 0, 90_000).affordable_expiry_days == 1
    # One sweep a day rescans an image at most daily, whatever the expiry.
    assert budget.interval_days(1) == 1.0


def test_the_advice_holds_over_a_levelled_year() -> None:
    """The expiry the advice gives, applied day after day at the levelled amount (the budget's own rule): no day
    needs more than the budget can spend, at any registry size."""
    for images in (10_000, 300_000, 1_000_000, 3_000_000):
        spendable = 90_000
        expiry = budget.budget_keeps(images, spendable)
        assert expiry is not None
        assert budget.scans_per_day(images, expiry) <= spendable
        if expiry > 1:
            assert budget.scans_per_day(images, expiry - 1) > budget.ADVICE_LOAD * spendable  # the shortest


def test_percentile_nearest_rank() -> None:
    assert budget.percentile({}, 0.5) is None
    assert budget.percentile({1: 50, 2: 45, 9: 5}, 0.5) == 1
    assert budget.percentile({1: 50, 2: 45, 9: 5}, 0.95) == 2
    assert budget.percentile({1: 50, 2: 45, 9: 5}, 0.951) == 9
    assert budget.percentile({1: 50, 2: 45, 9: 5}, 1.0) == 9


def test_no_early_scan_for_a_rounding() -> None:
    # One image due in 6 days: ceil(1 / 6) = 1 a day would scan it now, which levels nothing.
    items = _items([("a", True, False, 5, 1), ("a", True, False, 0, 2)])
    plan, chosen = budget.select(items, 1_000, TODAY, 7)
    assert plan.amount == 2
    assert plan.taken[budget.LEVELLING] == 0
    assert len(chosen) == 2


def test_plan_registry_splits_what_is_left_between_repositories_without_a_census() -> None:
    census = Tally()
    for _ in range(4):
        census.add(used=True, never=True, due_day=TODAY, age_days=None)
    censuses = {"r#known": budget.Census(TODAY - 1, census, 4, 0)}
    spends = {"r#known": budget.Spend(TODAY - 1, 10, 0)}
    planned = budget.plan_registry(
        censuses, spends, ["r#known", "r#new1", "r#new2"], 20, None, TODAY, 7, plan_id="p1", now=100.0
    )
    assert planned.allowances["r#known"].total == 4
    assert planned.allowances["r#known"].counts == {1: 4}
    assert planned.allowances["r#new1"].total == planned.allowances["r#new2"].total == 8  # (20 - 4) / 2
    assert planned.allowances["r#new1"].cuts == {1: (None, 0), 2: (None, 0), 3: (None, 0), 4: (None, 0)}
    assert {a.plan for a in planned.allowances.values()} == {"p1"}
    assert (planned.state.day, planned.state.effective, planned.state.plan) == (TODAY, 20, "p1")
    assert planned.state.lower == {"3": 0, "4": 0, "5": 0, "u": 16}
    assert (planned.last_spent, planned.last_refused) == (10, False)
    assert (planned.fresh, planned.kept, planned.left) == (3, 0, 20)
    # Planned again the same day (a second schedule run): the day's budget is kept, not grown or cut again.
    again = budget.plan_registry(censuses, spends, ["r#known"], 20, budget.State(TODAY, 7), TODAY, 7)
    assert again.state.effective == 7


def _four_in_use() -> dict[str, budget.Census]:
    tally = Tally()
    for _ in range(4):
        tally.add(used=True, never=True, due_day=TODAY, age_days=None)
    return {"r#a": budget.Census(TODAY - 1, tally, 4, 0), "r#b": budget.Census(TODAY - 1, tally, 4, 0)}


def test_a_later_plan_of_the_day_plans_what_is_left() -> None:
    """The day's budget is 10; its first plan gave r#a and r#b 4 each. By the second plan r#a has spent its 4 and
    is done, r#b has spent 1 and is still going: r#b keeps its allowance (3 more may start), and r#a is planned
    from what is left: 10 - 5 started - 3 outstanding = 2."""
    censuses = _four_in_use()
    first = budget.plan_registry(censuses, {}, ["r#a", "r#b"], 10, None, TODAY, 7, plan_id="p1", now=1.0)
    assert [first.allowances[r].total for r in ("r#a", "r#b")] == [4, 4]
    spends = {
        "r#a": budget.Spend(TODAY, 4, 0, "p1", 2, True),
        "r#b": budget.Spend(TODAY, 1, 0, "p1", 1, False),
    }
    counters = budget.Counters({budget.counter(budget.SPENT, TODAY): 5})
    second = budget.plan_registry(
        censuses,
        spends,
        ["r#a", "r#b"],
        10,
        first.state,
        TODAY,
        7,
        plan_id="p2",
        now=2.0,
        counters=counters,
        current=first.allowances,
    )
    assert second.allowances["r#b"] == first.allowances["r#b"]  # kept as it was, its plan id with it
    assert (second.kept, second.fresh, second.left) == (1, 1, 2)
    assert second.allowances["r#a"].total == 2
    assert second.allowances["r#a"].plan == "p2"
    # Nothing left: the day's budget is spent or promised.
    counters = budget.Counters({budget.counter(budget.SPENT, TODAY): 10})
    third = budget.plan_registry(
        censuses,
        {"r#a": spends["r#a"]},
        ["r#a", "r#b"],
        10,
        first.state,
        TODAY,
        7,
        plan_id="p3",
        counters=counters,
        current=first.allowances,
    )
    assert third.left == 0
    assert third.allowances["r#a"].total == 0


def test_a_new_day_plans_the_configured_budget_and_the_day_befores_figures() -> None:
    """Whatever the last day's refusals: the configured budget (changed: applied now). The day before's figures
    come from its counters, the other consumers' estimate from the pushes its first phase counted."""
    yesterday = budget.State(TODAY - 1, 50, "p0", 0.0)
    counters = budget.Counters(
        {
            budget.counter(budget.SPENT, TODAY - 1): 30_000,
            budget.counter(budget.REFUSED, TODAY - 1): 2,
            budget.counter(budget.PUSHES, "p0"): 53_000,
        }
    )
    planned = budget.plan_registry({}, {}, ["r#a"], 90_000, yesterday, TODAY, 7, plan_id="p1", counters=counters)
    assert planned.state.effective == 90_000
    assert (planned.last_spent, planned.last_refused) == (30_000, True)
    assert planned.state.other == {TODAY - 1: 17_000}  # 100,000 - 53,000 pushed - 30,000 started
    assert budget.other_estimate(planned.state.other, TODAY) == 17_000
    assert budget.other_estimate(planned.state.other, TODAY + 1) == 8_500  # halving every day
    assert budget.other_estimate(planned.state.other, TODAY + budget.OTHER_DAYS) == 0  # forgotten
    # Without counters (a state or markers written before them): the markers' spends of the state's day.
    spends = {"r#a": budget.Spend(TODAY - 1, 3, 1), "r#b": budget.Spend(TODAY - 1, 2, 0)}
    old = budget.plan_registry({}, spends, ["r#a", "r#b"], 9, budget.State(TODAY - 1, 1), TODAY, 7)
    assert (old.state.effective, old.last_spent, old.last_refused) == (9, 5, True)
    assert old.state.other == {}  # no pushes counted: nothing to estimate from


def test_the_gate_holds_the_lower_classes_until_every_in_use_phase_is_through() -> None:
    state = budget.State(TODAY, 10, "p1", NOW.timestamp())
    allowance = Allowance(TODAY, 5, {3: (None, 0)}, "p1")
    now = NOW.timestamp() + 60
    waiting = budget.Counters({budget.counter(budget.EXPECTED, TODAY): 3, budget.counter(budget.DONE, TODAY): 2})
    assert budget.gate(state, waiting, allowance, now) is None
    done = budget.Counters({budget.counter(budget.EXPECTED, TODAY): 3, budget.counter(budget.DONE, TODAY): 3})
    assert budget.gate(state, done, allowance, now) == "in_use_done"
    refused = budget.Counters({**waiting.values, budget.counter(budget.REFUSED, TODAY): 1})
    assert budget.gate(state, refused, allowance, now) == "refused"
    stalled_at = NOW.timestamp() + budget.GATE_STALL_SECONDS
    assert budget.gate(state, waiting, allowance, stalled_at - 1) is None
    assert budget.gate(state, waiting, allowance, stalled_at) == "stalled"
    progressing = budget.Counters({**waiting.values, budget.counter(budget.PROGRESS, TODAY): stalled_at - 10})
    assert budget.gate(state, progressing, allowance, stalled_at) is None  # a repository got through lately
    assert budget.gate(state, waiting, Allowance(TODAY - 1, 5, {3: (None, 0)}, "p0"), now) == "another_day"


def test_the_second_phase_is_cut_to_the_room_class_3_last() -> None:
    state = budget.State(TODAY, 90_000, "p1", 0.0, lower={"3": 10_000, "u": 2_000, "4": 30_000, "5": 20_000})
    now = NOW.timestamp()
    hour = int(now // budget.HOUR)
    counters = budget.Counters(
        {
            budget.counter(budget.PUSHES, "p1"): 53_000,
            budget.counter(budget.HOURLY, hour): 6_000,  # today's in-use phase
            budget.counter(budget.HOURLY, hour - 23): 4_000,  # yesterday's sweep, still in ECR's rolling window
            budget.counter(budget.HOURLY, hour - 25): 80_000,  # out of it
        }
    )
    room = budget.room(state, counters, now)
    assert room == 100_000 - budget.ROOM_MARGIN - 53_000 - 10_000  # 36,000
    factors = budget.lower_factors(state, room)
    assert factors == {"3": 1.0, "u": 1.0, "4": 0.8, "5": 0.0}
    assert budget.lower_factors(state, 10**6) == {"3": 1.0, "u": 1.0, "4": 1.0, "5": 1.0}
    known = Allowance(TODAY, 40, {2: (None, 0), 4: (None, 0), 5: (TODAY + 2, 3)}, "p1", {2: 5, 4: 25, 5: 10})
    caps, limit = budget.second_phase(known, factors, "r#a", 5)
    assert caps == {3: 0, 4: 20, 5: 0}
    assert limit is None
    unknown = Allowance(TODAY, 9, {k: (None, 0) for k in (1, 2, 3, 4)}, "p1")
    half = {"3": 1.0, "u": 0.5, "4": 1.0, "5": 1.0}
    caps, limit = budget.second_phase(unknown, half, "r#new", 1)
    assert caps is None
    assert limit in (1 + 4, 1 + 5)
    assert budget.second_phase(known, budget.lower_factors(state, 10**6), "r#a", 5) == (None, None)
    # Rounding by hash: over many repositories the kept share is the factor, no repository always loses.
    kept = sum(budget._scaled(0.3, 1, f"p1:r#{i}:4") for i in range(10_000))
    assert 2_700 < kept < 3_300


def test_a_spender_by_phase_cap_and_limit() -> None:
    allowance = Allowance(TODAY, 6, {1: (None, 0), 3: (None, 0), 4: (TODAY, 1)}, "p1", {1: 2, 3: 3, 4: 1})
    first = Spender(allowance, classes=budget.IN_USE_CLASSES)
    assert [first.take(3, TODAY), first.take(1, TODAY), first.take(1, TODAY)] == [False, True, True]
    second = Spender(allowance, first.spent, first.ties, caps={3: 1, 4: 1, 5: 0}, taken=first.taken)
    assert [second.take(3, TODAY), second.take(3, TODAY), second.take(4, TODAY), second.take(4, TODAY)] == [
        True,
        False,
        True,
        False,
    ]
    assert (second.spent, second.taken) == (4, {1: 2, 3: 1, 4: 1})
    limited = Spender(allowance, limit=1)
    assert [limited.take(1, TODAY), limited.take(1, TODAY)] == [True, False]


def test_a_turn_resumes_what_another_delivery_recorded() -> None:
    allowance = Allowance(TODAY, 6, {1: (None, 0)}, "p1")
    assert budget.turn(allowance, None) == budget.Turn(1)
    assert budget.turn(allowance, budget.Spend(TODAY, 3, 0, "p0", 2, True)) == budget.Turn(1)  # another plan's
    assert budget.turn(allowance, budget.Spend(TODAY, 3, 0)) == budget.Turn(1)  # before plan ids
    recorded = budget.Spend(TODAY, 3, 0, "p1", 2, False, {1: 1}, {1: 3})
    assert budget.turn(allowance, recorded) == budget.Turn(2, 3, {1: 1}, {1: 3})
    carried = budget.Turn(1, 5)
    assert budget.turn(allowance, recorded, carried) == carried  # the continuation got further
    assert budget.turn(allowance, recorded, budget.Turn(1, 2)).spent == 3  # another delivery got further
    done = budget.Spend(TODAY, 6, 0, "p1", 2, True)
    assert budget.turn(allowance, done, carried).done


def test_spend_state_and_chunks_round_trip_and_read_their_older_forms() -> None:
    spend = budget.Spend(TODAY, 3, 1, "p1", 2, True, {4: 1}, {1: 2, 4: 1})
    assert budget.Spend.from_json(spend.to_json()) == spend
    assert budget.Spend.from_json('{"day": 5, "spent": 2, "refused": 0}') == budget.Spend(5, 2, 0)
    for bad in ('{"day": 5, "spent": 2}', '{"day": 5, "spent": 2, "refused": 0, "phase": 3}', "[]"):
        with pytest.raises(ValueError, match="spend"):
            budget.Spend.from_json(bad)
    state = budget.State(TODAY, 9, "p1", 12.5, budget.Last(TODAY - 1, 4, True), {TODAY - 1: 7}, {"3": 1, "u": 2})
    assert budget.State.from_json(state.to_json()) == state
    assert budget.State.from_json('{"day": 3, "effective": 4}') == budget.State(3, 4)
    allowances = {
        f"123456789012#team/r{i}": Allowance(TODAY, i, {1: (None, 0), 3: (TODAY, 2)}, "p1", {1: i}) for i in range(50)
    }
    chunks = dict(budget.chunked(allowances, chunks=8))
    assert 1 < len(chunks) <= 8
    back: dict[str, Allowance] = {}
    for text in chunks.values():
        back.update(budget.unchunked(text))
    assert back == allowances
    assert all(budget.chunk_of(k, 8) == n for n, text in chunks.items() for k in budget.unchunked(text))
    counters = budget.Counters(
        {"spent.5": 1, "spent.9": 2, "pushes.p0": 3, "pushes.p1": 4, "spent_h.100": 1, "spent_h.150": 1, "state": "x"}
    )
    assert counters.stale(range(8, 10), ["p1"], range(140, 160)) == ["pushes.p0", "spent.5", "spent_h.100"]


def test_staleness_counts_ages_the_alarm_and_the_headroom() -> None:
    tally = Tally()
    tally.add(used=True, never=False, due_day=TODAY, age_days=2)
    tally.add(used=True, never=False, due_day=TODAY, age_days=7)  # past expiry
    tally.add(used=True, never=False, due_day=TODAY, age_days=8)  # past expiry + 1 day: the alarm
    tally.add(used=False, never=False, due_day=TODAY, age_days=30)
    tally.add(used=True, never=True, due_day=TODAY - 8, age_days=None)  # pushed 8 days ago, never scanned: the alarm
    tally.add(used=True, never=True, due_day=TODAY - 7, age_days=None)  # 7 days: not yet
    seen = budget.staleness([budget.Census(TODAY, tally, 6, 3)], 7)
    assert (seen.images, seen.in_use, seen.never_scanned) == (6, 5, 2)
    assert (seen.in_use_age_p50, seen.in_use_age_max, seen.age_p95) == (7, 8, 30)
    assert (seen.past_expiry_in_use, seen.past_expiry_not_in_use) == (2, 1)
    assert seen.in_use_past_expiry_plus_one_day == 2
    assert seen.headroom == budget.headroom(6, 7, 3)
