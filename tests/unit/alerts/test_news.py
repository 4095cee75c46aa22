"""news.decide (pure): notify or not, which type, which findings are new. Every boundary pinned."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest

from ecr_scan_reporter.alerts import news
from ecr_scan_reporter.alerts.news import NewsSettings, Observation
from ecr_scan_reporter.core import ledger
from ecr_scan_reporter.core.ledger import LedgerRecord

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
THRESHOLDS = MappingProxyType({"CRITICAL": 0, "HIGH": 2, "MEDIUM": None, "LOW": None})
SETTINGS = NewsSettings(thresholds=THRESHOLDS)


def observe(findings: dict[str, str] | None, at: datetime = T0, **changes: Any) -> Observation:
    counts: dict[str, int] = {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0}
    for severity in (findings or {}).values():
        counts[severity] += 1
    base = Observation(status="COMPLETE", completed_at=at, severity_counts=counts, findings=findings)
    return replace(base, **changes)


def after(previous: LedgerRecord | None, observation: Observation, decision: news.Decision, now: datetime) -> Any:
    """The record the findings stage writes for this decision (as ledger.result_record builds it)."""
    from ecr_scan_reporter.core import ledger

    return ledger.result_record(
        previous,
        registry_id="123456789012",
        repository="team/app",
        digest="sha256:" + "a" * 64,
        image_tags=("1",),
        source="ecr",
        status=observation.status,
        completed_at=observation.completed_at,
        severity_counts=observation.severity_counts,
        findings=observation.findings,
        failure_reason=observation.failure_reason,
        breached=decision.breached,
        notified_findings=decision.notified_findings,
        notify=decision.notify,
        now=now,
        ttl=0,
        notified_digests=decision.notified_digests,
        findings_sha256=observation.fingerprint,
    )


def run(
    results: list[Observation], settings: NewsSettings = SETTINGS, gap: timedelta = timedelta(days=1)
) -> list[news.Decision]:
    """Decide a sequence of results for one image, each recorded as the findings stage would."""
    record, decisions = None, []
    for i, observation in enumerate(results):
        decision = news.decide(record, observation, settings, T0 + gap * i + timedelta(minutes=1))
        decisions.append(decision)
        if not decision.stale:
            record = after(record, observation, decision, T0 + gap * i + timedelta(minutes=1))
    return decisions


CVE1, CVE2, CVE3, CVE4 = (f"CVE-2026-000{i}" for i in range(1, 5))


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


# --- new_findings (default) ------------------------------------------------------------------------------------


def test_first_breach_notifies_with_every_breaching_finding_as_new() -> None:
    (decision,) = run([observe({CVE1: "CRITICAL", CVE2: "HIGH", CVE3: "HIGH", CVE4: "MEDIUM"})])
    assert (decision.notify, decision.reason) == ("threshold_breached", "first_breach")
    assert decision.breached == ("CRITICAL",)
    assert decision.new_findings == ((CVE1, "CRITICAL"),)  # HIGH is within 2, MEDIUM ignored: not breaching


def test_a_second_identical_result_sends_nothing() -> None:
    first, second = run([observe({CVE1: "CRITICAL"}), observe({CVE1: "CRITICAL"}, at=day(1))])
    assert first.notify == "threshold_breached"
    assert (second.notify, second.reason) == (None, "already_notified")


def test_one_more_finding_at_a_breached_severity_is_exactly_the_news() -> None:
    decisions = run([observe({CVE1: "CRITICAL"}), observe({CVE1: "CRITICAL", CVE2: "CRITICAL"}, at=day(1))])
    assert (decisions[1].notify, decisions[1].reason) == ("threshold_breached", "new_findings")
    assert decisions[1].new_findings == ((CVE2, "CRITICAL"),)


def test_a_newly_breached_severity_is_news_and_lists_its_findings() -> None:
    results = [
        observe({CVE1: "CRITICAL", CVE2: "HIGH", CVE3: "HIGH"}),  # HIGH 2: within its threshold of 2
        observe({CVE1: "CRITICAL", CVE2: "HIGH", CVE3: "HIGH", CVE4: "HIGH"}, at=day(1)),  # HIGH 3 > 2
    ]
    first, second = run(results)
    assert first.breached == ("CRITICAL",)
    assert (second.notify, second.breached) == ("threshold_breached", ("CRITICAL", "HIGH"))
    assert second.new_findings == ((CVE2, "HIGH"), (CVE3, "HIGH"), (CVE4, "HIGH"))


def test_a_new_finding_at_a_severity_that_does_not_breach_is_not_news() -> None:
    decisions = run([observe({CVE1: "CRITICAL"}), observe({CVE1: "CRITICAL", CVE2: "HIGH"}, at=day(1))])
    assert decisions[1].notify is None


def test_a_finding_that_left_and_came_back_while_in_breach_is_not_news() -> None:
    results = [
        observe({CVE1: "CRITICAL", CVE2: "CRITICAL"}),
        observe({CVE1: "CRITICAL"}, at=day(1)),
        observe({CVE1: "CRITICAL", CVE2: "CRITICAL"}, at=day(2)),
    ]
    assert [d.notify for d in run(results)] == ["threshold_breached", None, None]


def test_within_thresholds_again_sends_one_resolved_then_nothing() -> None:
    results = [observe({CVE1: "CRITICAL"}), observe({}, at=day(1)), observe({}, at=day(2))]
    decisions = run(results)
    assert [d.notify for d in decisions] == ["threshold_breached", "resolved", None]
    assert decisions[1].breached == ()


def test_findings_that_come_back_after_resolution_are_news_again() -> None:
    results = [observe({CVE1: "CRITICAL"}), observe({}, at=day(1)), observe({CVE1: "CRITICAL"}, at=day(2))]
    decisions = run(results)
    assert [d.notify for d in decisions] == ["threshold_breached", "resolved", "threshold_breached"]
    assert decisions[2].new_findings == ((CVE1, "CRITICAL"),)


def test_resolved_can_be_switched_off() -> None:
    results = [observe({CVE1: "CRITICAL"}), observe({}, at=day(1))]
    assert [d.notify for d in run(results, replace(SETTINGS, notify_on_resolved=False))] == ["threshold_breached", None]


def test_a_clean_image_never_breached_is_not_resolved() -> None:
    assert [d.notify for d in run([observe({}), observe({}, at=day(1))])] == [None, None]


# --- stale results: duplicates and late older events ------------------------------------------------------------


def test_the_same_result_delivered_twice_is_stale() -> None:
    first, second = run([observe({CVE1: "CRITICAL"}), observe({CVE1: "CRITICAL"})])
    assert first.notify == "threshold_breached"
    assert (second.stale, second.notify) == (True, None)


def test_an_older_result_arriving_late_is_stale_even_with_new_findings() -> None:
    decisions = run([observe({CVE1: "CRITICAL"}, at=day(2)), observe({CVE2: "CRITICAL"}, at=day(1))])
    assert decisions[1].stale
    assert decisions[1].notify is None


def test_a_result_one_millisecond_newer_is_not_stale() -> None:
    decisions = run([observe({CVE1: "CRITICAL"}), observe({CVE1: "CRITICAL"}, at=T0 + timedelta(milliseconds=1))])
    assert not decisions[1].stale


def test_a_state_the_sweep_learned_is_evaluated_even_if_its_clock_is_a_little_ahead() -> None:
    learned = LedgerRecord(
        "123456789012", "team/app", "d", source="sweep", scan_status="COMPLETE", scan_completed_at=T0
    )
    edge = observe({CVE1: "CRITICAL"}, at=T0 - news.SWEEP_CLOCK_TOLERANCE)
    assert news.decide(learned, edge, SETTINGS, T0).notify == "threshold_breached"
    too_old = observe({CVE1: "CRITICAL"}, at=T0 - news.SWEEP_CLOCK_TOLERANCE - timedelta(milliseconds=1))
    assert news.decide(learned, too_old, SETTINGS, T0).stale


def test_a_scan_in_progress_does_not_make_its_result_stale() -> None:
    recorded = LedgerRecord(
        "123456789012", "team/app", "d", source="sweep", scan_status="IN_PROGRESS", scan_started_at=day(7),
        scan_completed_at=T0, breached=("CRITICAL",), notified_type="threshold_breached", notified_at=T0,
        notified_findings=frozenset({CVE1}),
    )  # fmt: skip
    decision = news.decide(recorded, observe({CVE1: "CRITICAL", CVE2: "CRITICAL"}, at=day(7)), SETTINGS, day(7))
    assert (decision.notify, decision.new_findings) == ("threshold_breached", ((CVE2, "CRITICAL"),))


# --- reminders: "older than" is strictly greater ----------------------------------------------------------------


def breached_record(notified_at: datetime) -> LedgerRecord:
    return LedgerRecord(
        "123456789012", "team/app", "d", source="ecr", scan_status="COMPLETE", scan_completed_at=T0,
        breached=("CRITICAL",), notified_type="threshold_breached", notified_at=notified_at,
        notified_findings=frozenset({CVE1}), severity_counts={"CRITICAL": 1},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(days=30), None),  # exactly 30 days: not older than 30
        (timedelta(days=30, milliseconds=1), "reminder"),
        (timedelta(days=29, hours=23), None),
    ],
)
def test_reminder_after_more_than_renotify_after_days(age: timedelta, expected: str | None) -> None:
    now = day(40)
    decision = news.decide(breached_record(now - age), observe({CVE1: "CRITICAL"}, at=day(39)), SETTINGS, now)
    assert decision.notify == expected
    if expected:
        assert decision.new_findings == ()


def test_no_reminder_when_renotify_is_null() -> None:
    settings = replace(SETTINGS, renotify_after_days=None)
    decision = news.decide(breached_record(T0), observe({CVE1: "CRITICAL"}, at=day(300)), settings, day(300))
    assert decision.notify is None


def test_a_reminder_resets_the_clock() -> None:
    decisions = run([observe({CVE1: "CRITICAL"}, at=day(i * 20)) for i in range(4)], gap=timedelta(days=20))
    assert [d.notify for d in decisions] == ["threshold_breached", None, "reminder", None]


# --- failed scans ---------------------------------------------------------------------------------------------


def failed(at: datetime, reason: str = "UnsupportedImageError") -> Observation:
    return Observation(status="FAILED", completed_at=at, severity_counts={}, failure_reason=reason)


def test_a_failure_notifies_once_per_reason_until_a_scan_completes() -> None:
    results = [
        failed(T0),
        failed(day(1)),  # same reason: already notified
        failed(day(2), "other reason"),  # a different reason: notified
        observe({}, at=day(3)),  # completes
        failed(day(4), "other reason"),  # notified again
    ]
    assert [d.notify for d in run(results)] == ["scan_failed", None, "scan_failed", None, "scan_failed"]


def test_a_failure_keeps_the_breach_and_what_was_notified() -> None:
    decisions = run([observe({CVE1: "CRITICAL"}), failed(day(1)), observe({CVE1: "CRITICAL"}, at=day(2))])
    assert [d.notify for d in decisions] == ["threshold_breached", "scan_failed", None]
    assert decisions[1].breached == ("CRITICAL",)


def test_every_scan_notifies_every_failure_and_nothing_when_failures_are_off() -> None:
    every = replace(SETTINGS, notify_on="every_scan")
    assert [d.notify for d in run([failed(T0), failed(day(1))], every)] == ["scan_failed", "scan_failed"]
    off = replace(SETTINGS, notify_on_scan_failure=False)
    assert [d.notify for d in run([failed(T0)], off)] == [None]


# --- every_scan -------------------------------------------------------------------------------------------------


def test_every_scan_notifies_every_breaching_result_and_still_says_what_is_new() -> None:
    every = replace(SETTINGS, notify_on="every_scan")
    results = [observe({CVE1: "CRITICAL"}), observe({CVE1: "CRITICAL"}, at=day(1)), observe({}, at=day(2))]
    decisions = run(results, every)
    assert [d.notify for d in decisions] == ["threshold_breached", "threshold_breached", "resolved"]
    assert decisions[1].new_findings == ()


def test_every_scan_still_drops_duplicates() -> None:
    every = replace(SETTINGS, notify_on="every_scan")
    assert [d.stale for d in run([observe({CVE1: "CRITICAL"}), observe({CVE1: "CRITICAL"})], every)] == [False, True]


# --- findings unknown ----------------------------------------------------------------------------------------


def test_without_findings_a_grown_count_at_a_breached_severity_is_news() -> None:
    def counts(critical: int, at: datetime) -> Observation:
        return Observation("COMPLETE", at, {"CRITICAL": critical, "HIGH": 0}, findings=None)

    decisions = run([counts(1, T0), counts(1, day(1)), counts(2, day(2)), counts(1, day(3))])
    assert [d.notify for d in decisions] == ["threshold_breached", None, "threshold_breached", None]
    assert decisions[2].reason == "counts_grew"


def test_new_findings_are_ordered_by_severity_then_id() -> None:
    settings = replace(SETTINGS, thresholds=MappingProxyType({"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0}))
    (decision,) = run([observe({"B": "LOW", "A": "HIGH", "C": "CRITICAL", "A2": "CRITICAL"})], settings)
    assert decision.new_findings == (("A2", "CRITICAL"), ("C", "CRITICAL"), ("A", "HIGH"), ("B", "LOW"))


# --- issue 17: contracts pinned ------------------------------------------------------------------------------------


def test_severities_are_compared_with_the_breached_set_in_any_case() -> None:
    observation = Observation("COMPLETE", T0, {"CRITICAL": 1, "HIGH": 0}, findings={CVE1: "critical", CVE2: "High"})
    decision = news.decide(None, observation, SETTINGS, T0)
    assert (decision.notify, decision.breached) == ("threshold_breached", ("CRITICAL",))
    assert decision.new_findings == ((CVE1, "critical"),)
    assert decision.notified_findings == {CVE1}


def test_a_severity_that_breaches_again_with_its_findings_already_notified_is_news() -> None:
    high3 = {CVE1: "CRITICAL", CVE2: "HIGH", CVE3: "HIGH", CVE4: "HIGH"}  # HIGH 3 > 2: breached
    high2 = {CVE1: "CRITICAL", CVE2: "HIGH", CVE3: "HIGH"}  # HIGH 2: within, CRITICAL still breached
    decisions = run([observe(high3), observe(high2, at=day(1)), observe(high3, at=day(2))])
    assert [d.breached for d in decisions] == [("CRITICAL", "HIGH"), ("CRITICAL",), ("CRITICAL", "HIGH")]
    assert (decisions[2].notify, decisions[2].reason) == ("threshold_breached", "newly_breached")
    assert decisions[2].new_findings == ()  # every finding was notified at the first result


def test_unknown_severities_sort_after_every_known_one() -> None:
    found = [("a", "WEIRD"), ("b", "UNDEFINED"), ("c", "low"), ("d", "INFORMATIONAL"), ("e", "CRITICAL"), ("0", "?")]
    assert [i for i, _ in sorted(found, key=news.finding_order)] == ["e", "c", "d", "b", "0", "a"]


def batch(findings: dict[str, str], at: datetime = T0) -> Observation:
    return observe(findings, at=at, fingerprint=news.fingerprint(findings), finding_batch=True)


def test_a_second_finding_batch_of_the_same_second_is_decided_on_what_it_read() -> None:
    every = replace(SETTINGS, notify_on="every_scan")
    first = {CVE1: "CRITICAL"}
    second = {CVE1: "CRITICAL", CVE2: "CRITICAL"}
    decisions = run([batch(first), batch(first), batch(second), batch(second)], every, gap=timedelta(0))
    assert [d.stale for d in decisions] == [False, True, False, True]
    assert decisions[2].new_findings == ((CVE2, "CRITICAL"),)


def test_a_finding_batch_older_than_the_record_that_read_other_findings_is_evaluated() -> None:
    decisions = run([batch({CVE1: "CRITICAL"}, at=day(1)), batch({CVE2: "CRITICAL"}, at=T0)])
    assert (decisions[1].stale, decisions[1].new_findings) == (False, ((CVE2, "CRITICAL"),))
    same = run([batch({CVE1: "CRITICAL"}, at=day(1)), batch({CVE1: "CRITICAL"}, at=T0)])
    assert same[1].stale


def test_the_fingerprint_is_the_finding_set_whatever_its_order_or_case() -> None:
    assert news.fingerprint({CVE1: "critical", CVE2: "HIGH"}) == news.fingerprint({CVE2: "HIGH", CVE1: "CRITICAL"})
    assert news.fingerprint({CVE1: "CRITICAL"}) != news.fingerprint({CVE1: "HIGH"})
    assert news.fingerprint({CVE1: "CRITICAL"}) != news.fingerprint({CVE1: "CRITICAL", CVE2: "CRITICAL"})


def test_an_evaluated_result_stays_evaluated_after_the_sweep_records_a_rescan() -> None:
    evaluated = LedgerRecord(
        "123456789012", "team/app", "d", source="sweep", scan_status="IN_PROGRESS", scan_started_at=day(7),
        scan_completed_at=T0, evaluated_completed_at=T0, breached=("CRITICAL",), notified_findings=frozenset({CVE1}),
    )  # fmt: skip
    every = replace(SETTINGS, notify_on="every_scan")
    assert news.decide(evaluated, observe({CVE1: "CRITICAL"}), every, day(7)).stale  # the redelivered event
    assert not news.decide(evaluated, observe({CVE1: "CRITICAL"}, at=day(7)), every, day(7)).stale  # the rescan


def test_a_state_learned_after_an_evaluation_is_still_evaluated_within_the_tolerance() -> None:
    learned = LedgerRecord(
        "123456789012", "team/app", "d", source="sweep", scan_status="COMPLETE", scan_completed_at=day(7),
        evaluated_completed_at=T0,
    )  # fmt: skip
    edge = observe({CVE1: "CRITICAL"}, at=day(7) - news.SWEEP_CLOCK_TOLERANCE)
    assert not news.decide(learned, edge, SETTINGS, day(7)).stale
    assert news.decide(learned, observe({CVE1: "CRITICAL"}, at=T0), SETTINGS, day(7)).stale


def test_notified_digests_count_as_notified_and_are_forgotten_with_the_rest() -> None:

    digests = frozenset({ledger.finding_digest(CVE1)})
    recorded = LedgerRecord(
        "123456789012", "team/app", "d", source="ecr", scan_status="COMPLETE", scan_completed_at=T0,
        evaluated_completed_at=T0, breached=("CRITICAL",), notified_digests=digests,
    )  # fmt: skip
    kept = news.decide(recorded, observe({CVE1: "CRITICAL", CVE2: "CRITICAL"}, at=day(1)), SETTINGS, day(1))
    assert (kept.new_findings, kept.notified_digests) == (((CVE2, "CRITICAL"),), digests)
    resolved = news.decide(recorded, observe({}, at=day(1)), SETTINGS, day(1))
    assert (resolved.notify, resolved.notified_digests) == ("resolved", frozenset())
