"""The images stage as a library (sweep/stage.py): plan, scan, filters, continuations."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from ecr_fakes import NOW, FakeEcr, FakeImage, digest, fake_images, push, set_last_scan

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.sweep import registry
from ecr_scan_reporter.sweep.stage import (
    COUNTERS,
    Continuation,
    MalformedMessage,
    SweepOptions,
    SweepSummary,
    WorkItem,
    parse_work_message,
    plan_repository,
    sweep_repository,
)

REPO = "team/app"
DAY = timedelta(days=1)


def budget(reads: int) -> Callable[[], float]:
    """A remaining-time source with plenty of time for ``reads`` reads, then 1 second."""
    calls = 0

    def remaining() -> float:
        nonlocal calls
        calls += 1
        return 600.0 if calls <= reads else 1.0

    return remaining


def balanced(summary: SweepSummary) -> bool:
    counts = summary.counts()
    return counts["considered"] == sum(v for k, v in counts.items() if k != "considered")


@pytest.fixture
def ecr(moto: None) -> object:
    client = aws.client("ecr")
    client.create_repository(repositoryName=REPO)
    return client


# --- against moto ---------------------------------------------------------------------------------------------------


def test_never_scanned_young_images_are_scanned_once_tagged_or_not(ecr: object) -> None:
    tagged, untagged = push(ecr, REPO, 1, "v1"), push(ecr, REPO, 2)
    now = datetime.now(UTC)
    plan = {c.digest: c for c in plan_repository(ecr, REPO, now=now)}
    assert set(plan) == {tagged, untagged}
    assert plan[tagged].to_json() == {
        "repository": REPO,
        "digest": tagged,
        "tags": ["v1"],
        "reason": "never_scanned",
        "last_scan": None,
    }
    assert plan[untagged].tags == ()
    summary = sweep_repository(ecr, REPO, now=now)
    assert (summary.considered, summary.scan_started, summary.continuation) == (2, 2, None)
    again = sweep_repository(ecr, REPO, now=now)
    assert (again.scan_started, again.fresh) == (0, 2)


def test_expiry_boundary_against_moto(ecr: object) -> None:
    now = NOW.replace(microsecond=0)
    ages = {"exactly": 7 * DAY, "older": 7 * DAY + timedelta(seconds=1), "younger": 6 * DAY}
    digests = {name: push(ecr, REPO, i, name) for i, name in enumerate(ages)}
    for name, age in ages.items():
        set_last_scan(REPO, digests[name], now - age)
    never = push(ecr, REPO, 9, "never")
    plan = {c.digest: c for c in plan_repository(ecr, REPO, now=now, options=SweepOptions(expiry_days=7))}
    assert set(plan) == {digests["older"], never}
    assert plan[digests["older"]].reason == "expired"
    assert plan[digests["older"]].last_scan == now - ages["older"]
    summary = sweep_repository(ecr, REPO, now=now)
    assert (summary.scan_started, summary.fresh) == (2, 2)


@pytest.mark.parametrize(("expiry", "due"), [(14, {20, 100, 181}), (30, {100, 181}), (180, {181})])
def test_multi_digit_expiry_against_moto(ecr: object, expiry: int, due: set[int]) -> None:
    by_age = {age: push(ecr, REPO, age, f"age-{age}") for age in (10, 20, 100, 181)}
    for age, image in by_age.items():
        set_last_scan(REPO, image, NOW - age * DAY)
    plan = plan_repository(ecr, REPO, now=NOW, options=SweepOptions(expiry_days=expiry))
    assert {c.digest for c in plan} == {by_age[age] for age in due}


def test_limit_exceeded_is_counted_without_sleeping(ecr: object, monkeypatch: pytest.MonkeyPatch) -> None:
    images = [push(ecr, REPO, i, f"v{i}") for i in range(3)]
    for image in images:  # moto records today's scan: a second one today is over ECR's daily quota
        ecr.start_image_scan(repositoryName=REPO, imageId={"imageDigest": image})

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s")

    monkeypatch.setattr(time, "sleep", no_sleep)
    later = datetime.now(UTC) + 10 * DAY  # those scans now look expired
    summary = sweep_repository(ecr, REPO, now=later)
    assert (summary.limit_exceeded, summary.scan_started) == (3, 0)


def test_a_missing_repository_raises_a_typed_error(ecr: object) -> None:
    with pytest.raises(registry.RepositoryNotFound):
        sweep_repository(ecr, "team/gone", now=NOW)


# --- against the paging fake ----------------------------------------------------------------------------------------


def test_1050_never_scanned_images_over_two_pages_are_each_scanned_once() -> None:
    ecr = FakeEcr(fake_images(1050), remember_scans=False)
    summary = sweep_repository(ecr, "app", now=NOW)
    assert ecr.calls["describe_images"] == 2
    assert ecr.max_results == [1000, 1000]
    assert ecr.calls["describe_image_scan_findings"] == 1050  # no scan fields in DescribeImages: per-image lookup
    assert sorted(ecr.started) == [digest(i) for i in range(1050)]
    assert (summary.considered, summary.scan_started) == (1050, 1050)


def test_describe_images_scan_fields_avoid_per_image_lookups() -> None:
    images = fake_images(1050, scan_status="COMPLETE", scan_completed_at=NOW - 2 * DAY)
    for image in images[::10]:
        image.scan_completed_at = NOW - 8 * DAY
    ecr = FakeEcr(images, scan_fields=True)
    summary = sweep_repository(ecr, "app", now=NOW)
    assert ecr.calls["describe_image_scan_findings"] == 0
    assert ecr.started == [i.digest for i in images[::10]]
    assert (summary.scan_started, summary.fresh) == (105, 945)


def test_every_kind_of_skip_is_counted_and_balanced() -> None:
    old = NOW - 30 * DAY
    images = [
        FakeImage(digest(1)),  # never scanned -> started
        FakeImage(digest(2), scan_status="COMPLETE", scan_completed_at=NOW - DAY),  # fresh
        FakeImage(digest(3), scan_status="IN_PROGRESS"),
        FakeImage(digest(4), scan_status="FAILED", scan_completed_at=NOW - DAY),  # failed recently
        FakeImage(digest(5), scan_status="FAILED", scan_completed_at=old),  # retried
        FakeImage(digest(6), scan_status="UNSUPPORTED_IMAGE", scan_completed_at=old),
        FakeImage(digest(7), image_status="ARCHIVED"),
        FakeImage(digest(8)),  # start: UnsupportedImageType (an artifact: not scannable)
        FakeImage(digest(9)),  # start: ImageArchived
        FakeImage(digest(10)),  # start: ImageNotFound (deleted meanwhile)
        FakeImage(digest(11)),  # start: LimitExceeded
    ]
    errors = {
        digest(8): "UnsupportedImageTypeException",
        digest(9): "ImageArchivedException",
        digest(10): "ImageNotFoundException",
        digest(11): "LimitExceededException",
    }
    ecr = FakeEcr(images, start_errors=errors)
    summary = sweep_repository(ecr, "app", now=NOW)
    assert ecr.started == [digest(1), digest(5)]
    assert summary.counts() == {
        "considered": 11,
        "scan_started": 2,
        "fresh": 1,
        "in_progress": 1,
        "failed_recently": 1,
        "skipped_filter": 0,
        "limit_exceeded": 1,
        "unsupported": 1,
        "not_found": 1,
        "archived": 2,
        "quota_exhausted": 0,
        "deferred": 0,
        "not_scannable": 1,
    }
    assert balanced(summary)


def test_other_start_errors_propagate() -> None:
    ecr = FakeEcr(fake_images(3), start_errors={digest(1): "AccessDeniedException"})
    with pytest.raises(ClientError, match="AccessDenied"):
        sweep_repository(ecr, "app", now=NOW)


def test_only_images_pushed_or_pulled_within_n_days() -> None:
    images = [
        FakeImage(digest(1), pushed_at=NOW - 2 * DAY),
        FakeImage(digest(2), pushed_at=NOW - 90 * DAY, pulled_at=NOW - 3 * DAY),
        FakeImage(digest(3), pushed_at=NOW - 90 * DAY, pulled_at=NOW - 60 * DAY),
        FakeImage(digest(4), pushed_at=NOW - 90 * DAY),
    ]
    ecr = FakeEcr(images)
    summary = sweep_repository(ecr, "app", now=NOW, options=SweepOptions(pulled_within_days=30))
    assert ecr.started == [digest(1), digest(2)]
    assert (summary.skipped_filter, ecr.calls["describe_image_scan_findings"]) == (2, 2)
    assert balanced(summary)


def test_max_images_takes_the_k_newest_after_the_pull_filter() -> None:
    images = [FakeImage(digest(i), pushed_at=NOW - i * timedelta(hours=1)) for i in range(2500)]
    images[5].pushed_at = images[6].pushed_at  # a tie, broken by digest
    images[0].pulled_at, images[0].pushed_at = None, NOW - 400 * DAY  # the oldest now, but filtered out below
    ecr = FakeEcr(list(reversed(images)))
    options = SweepOptions(max_images=10, pulled_within_days=200)
    summary = sweep_repository(ecr, "app", now=NOW, options=options)
    assert ecr.started == [digest(i) for i in (1, 2, 3, 4, 6, 5, 7, 8, 9, 10)]
    assert (summary.considered, summary.scan_started, summary.skipped_filter) == (2500, 10, 2490)
    assert balanced(summary)


# --- continuations ----------------------------------------------------------------------------------------------------


def run_to_completion(
    ecr: FakeEcr, options: SweepOptions, reads: int, limit: int = 100
) -> tuple[SweepSummary, list[dict[str, object]]]:
    """Sweep in parts the way the handler does (continuation through JSON), until no continuation is left."""
    ecr.resumable = True  # each part asks again for the page the last one stopped in
    continuation, handed = None, []
    for _ in range(limit):
        summary = sweep_repository(
            ecr, "app", now=NOW, options=options, continuation=continuation, remaining=budget(reads), reserve_seconds=20
        )
        if summary.continuation is None:
            return summary, handed
        handed.append(json.loads(WorkItem("app", None, summary.continuation).to_body())["continuation"])
        continuation = parse_work_message(WorkItem("app", None, summary.continuation).to_body()).continuation
    raise AssertionError("the sweep never finished")


def mixed_images(count: int) -> tuple[list[FakeImage], set[str]]:
    """Images where every third one is fresh; returns them and the digests that need a scan."""
    images = fake_images(count, pushed_at=NOW - 5 * DAY)
    for i, image in enumerate(images):
        image.pushed_at -= i * timedelta(minutes=1)
        if i % 3 == 0:
            image.scan_status, image.scan_completed_at = "COMPLETE", NOW - DAY
    return images, {img.digest for i, img in enumerate(images) if i % 3}


@pytest.mark.parametrize("reads", [299, 999, 1000, 1234])
def test_a_large_repository_finishes_over_several_parts_scanning_each_image_once(reads: int) -> None:
    images, due = mixed_images(2050)
    ecr = FakeEcr(images, remember_scans=False)  # a repeated start would show up as a duplicate
    summary, handed = run_to_completion(ecr, SweepOptions(), reads)
    assert Counter(ecr.started) == Counter(due)  # none twice, none missed
    assert len(handed) == 2050 // (reads + 1)  # each part handles reads + 1 images
    assert summary.part == len(handed) + 1
    assert (summary.considered, summary.scan_started, summary.fresh) == (2050, len(due), 2050 - len(due))
    assert all(
        c["mode"] == "pages" and set(c) == {"mode", "part", "next_token", "after_digest", "counts"} for c in handed
    )


def test_continuation_in_newest_mode_uses_a_key_not_a_token() -> None:
    images, _ = mixed_images(2050)
    ecr = FakeEcr(images, remember_scans=False)
    summary, handed = run_to_completion(ecr, SweepOptions(max_images=1500), reads=400)
    newest = sorted(images, key=lambda i: i.pushed_at, reverse=True)[:1500]
    due = {i.digest for i in newest if i.scan_status is None}
    assert Counter(ecr.started) == Counter(due)
    assert len(handed) == 3
    assert handed[0]["after"]["digest"] == newest[400].digest
    assert (summary.considered, summary.skipped_filter, summary.scan_started) == (2050, 550, len(due))
    assert balanced(summary)


@pytest.mark.parametrize("options", [SweepOptions(), SweepOptions(max_images=6)], ids=["pages", "newest"])
@pytest.mark.parametrize("reads", range(8))
def test_every_stopping_point_on_small_pages(
    options: SweepOptions, reads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 3 and 8 images (2 fresh): wherever the time runs out, each due image is scanned exactly once."""
    monkeypatch.setattr(registry, "PAGE_SIZE", 3)
    images, _ = mixed_images(8)
    ecr = FakeEcr(images, remember_scans=False)
    summary, _ = run_to_completion(ecr, options, reads)
    chosen = images[: options.max_images] if options.max_images else images  # mixed_images: newest first
    assert Counter(ecr.started) == Counter(i.digest for i in chosen if i.scan_status is None)
    assert summary.considered == 8
    assert balanced(summary)


def test_a_part_always_makes_progress_even_without_time() -> None:
    ecr = FakeEcr(fake_images(5))
    summary, handed = run_to_completion(ecr, SweepOptions(), reads=0)
    assert len(handed) == 4
    assert summary.scan_started == 5
    assert sorted(ecr.started) == [digest(i) for i in range(5)]


def test_no_continuation_when_the_budget_runs_out_after_the_last_image() -> None:
    ecr = FakeEcr(fake_images(3))
    summary = sweep_repository(ecr, "app", now=NOW, remaining=budget(2), reserve_seconds=20)
    assert summary.continuation is None
    assert summary.scan_started == 3


@pytest.mark.parametrize(("left", "stops"), [(20.0, False), (20.001, False), (19.999, True)])
def test_the_sweep_stops_only_when_less_than_the_reserve_is_left(left: float, stops: bool) -> None:
    """Exactly the reserve left is enough to go on: the budget is compared with ``<``, not ``<=``."""
    ecr = FakeEcr(fake_images(3))
    summary = sweep_repository(ecr, "app", now=NOW, remaining=lambda: left, reserve_seconds=20)
    assert (summary.continuation is not None) is stops
    assert summary.scan_started == (1 if stops else 3)


def test_resume_marker_deleted_meanwhile_rereads_the_page_without_rescanning() -> None:
    ecr = FakeEcr(fake_images(10), resumable=True)  # remembers scans: an image it started reports IN_PROGRESS
    first = sweep_repository(ecr, "app", now=NOW, remaining=budget(3), reserve_seconds=20)
    assert first.continuation is not None
    assert first.continuation.after_digest == digest(3)
    del ecr.images[3]
    rest = sweep_repository(ecr, "app", now=NOW, continuation=first.continuation)
    assert Counter(ecr.started) == Counter(digest(i) for i in range(10))  # none twice, none missed
    assert rest.in_progress == 3  # the three earlier ones, seen again


def test_a_continuation_of_another_mode_restarts_the_sweep() -> None:
    ecr = FakeEcr(fake_images(4))
    stale = Continuation("pages", part=3, counts={"considered": 99}, next_token="token-1000")
    summary = sweep_repository(ecr, "app", now=NOW, options=SweepOptions(max_images=2), continuation=stale)
    assert (summary.part, summary.considered, summary.scan_started) == (1, 4, 2)


# --- work messages ----------------------------------------------------------------------------------------------------


def test_work_message_round_trip() -> None:
    body = WorkItem("team/app", "123456789012").to_body()
    assert json.loads(body) == {
        "version": 1,
        "repository": "team/app",
        "registry_id": "123456789012",
        "continuation": None,
    }
    cont = Continuation("newest", 2, {"considered": 5}, after_key=(1717243200.25, digest(1)))
    assert parse_work_message(WorkItem("team/app", None, cont).to_body()) == WorkItem("team/app", None, cont)


def _newest(after: dict[str, str]) -> str:
    """A work message with a newest-mode continuation whose ``after`` fields are given as raw JSON text."""
    fields = ", ".join(f'"{k}": {v if not v.startswith("sha256") else json.dumps(v)}' for k, v in after.items())
    return f'{{"version": 1, "repository": "a/b", "continuation": {{"mode": "newest", "after": {{{fields}}}}}}}'


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (None, "missing"),
        ("", "missing"),
        ("{not json", "not valid JSON"),
        ("[1]", "JSON object"),
        ('{"version": 2, "repository": "a/b"}', "version"),
        ('{"version": 1}', "repository"),
        ('{"version": 1, "repository": "Bad Name"}', "repository"),
        ('{"version": 1, "repository": "a/b", "registry_id": 12}', "registry_id"),
        ('{"version": 1, "repository": "a/b", "continuation": {"mode": "x"}}', "continuation is invalid: mode"),
        ('{"version": 1, "repository": "a/b", "continuation": {"mode": "pages", "part": 1}}', "part"),
        ('{"version": 1, "repository": "a/b", "continuation": {"mode": "pages", "counts": {"x": 1}}}', "counts"),
        ('{"version": 1, "repository": "a/b", "continuation": {"mode": "pages", "next_token": 5}}', "next_token"),
        ('{"version": 1, "repository": "a/b", "continuation": {"mode": "newest", "after": {}}}', "after"),
        ('{"version": true, "repository": "a/b"}', "version must be 1, got True"),
        ('{"version": 1.0, "repository": "a/b"}', "version must be 1, got 1.0"),
        (
            '{"version": 1, "repository": "a/b", "registry_id": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668'
            '\u0669\u0660\u0661\u0662"}',
            "registry_id must be a 12-digit account id",
        ),
        ('{"version": 1, "repository": "a/b", "registry_id": "12345"}', "registry_id must be a 12-digit account id"),
        ('{"version": 1, "repository": "a/b", "registry_id": "1234567890123"}', "registry_id must be a 12-digit"),
        ('{"version": 1, "repository": "a/b", "registry_id": " 123456789012"}', "registry_id must be a 12-digit"),
        (_newest({"pushed_at_epoch": "NaN", "digest": "sha256:a"}), "pushed_at_epoch must be a finite number >= 0"),
        (_newest({"pushed_at_epoch": "Infinity", "digest": "sha256:a"}), "pushed_at_epoch must be a finite number"),
        (_newest({"pushed_at_epoch": "-Infinity", "digest": "sha256:a"}), "pushed_at_epoch must be a finite number"),
        (_newest({"pushed_at_epoch": "-1", "digest": "sha256:a"}), "pushed_at_epoch must be a finite number >= 0"),
        (_newest({"pushed_at_epoch": "true", "digest": "sha256:a"}), "pushed_at_epoch must be a finite number"),
        (_newest({"pushed_at_epoch": "1e400", "digest": "sha256:a"}), "pushed_at_epoch must be a finite number"),
        pytest.param(
            _newest({"pushed_at_epoch": "1" + "0" * 400, "digest": "sha256:a"}),
            "pushed_at_epoch must be a finite",
            id="epoch-int-too-large-for-a-float",
        ),
        pytest.param(
            '{"version": 1, "repository": "a/b", "x": ' + "9" * 5000 + "}",
            "body is not valid JSON",
            id="int-over-the-digit-limit",
        ),
        (_newest({"pushed_at_epoch": "1.5", "digest": '""'}), "digest must be a non-empty string"),
        (_newest({"pushed_at_epoch": "1.5", "digest": "7"}), "digest must be a non-empty string"),
        ('{"version": 1, "repository": "a/b", "continuation": {"mode": "pages", "part": true}}', "part"),
        ('{"version": 1, "repository": "a/b", "continuation": {"mode": "pages", "counts": {"fresh": true}}}', "counts"),
    ],
)
def test_malformed_work_messages_say_what_is_wrong(body: str | None, complaint: str) -> None:
    with pytest.raises(MalformedMessage, match=complaint):
        parse_work_message(body)


@pytest.mark.parametrize("epoch", ["0", "0.0", "1718000000", "1718000000.25"])
def test_newest_continuation_accepts_any_finite_epoch_from_zero(epoch: str) -> None:
    """0 is the key of an image without a push time (policy.newest_key), so it is a valid resume point."""
    item = parse_work_message(_newest({"pushed_at_epoch": epoch, "digest": "sha256:a"}))
    assert item.continuation is not None
    assert item.continuation.after_key == (float(epoch), "sha256:a")


def test_a_nan_continuation_is_refused_before_it_can_end_a_sweep_with_nothing_scanned() -> None:
    """Every key compares False with NaN: such a continuation would resume after nothing and report success."""
    body = _newest({"pushed_at_epoch": "NaN", "digest": "sha256:a"})
    with pytest.raises(MalformedMessage, match=r"continuation is invalid: after\.pushed_at_epoch"):
        parse_work_message(body)


def test_counters_cover_the_summary() -> None:
    """Every whole-number field of the summary but ``part`` and the per-part ledger statistics (``ledger_known``,
    ``looked_up``: not carried by continuations) is a counter, in the order the CLI's columns and the
    repository_swept log show them, and the summary's balance equation names each one."""
    whole_numbers = {f.name for f in dataclasses.fields(SweepSummary) if f.type in ("int", int)}
    assert set(COUNTERS) == whole_numbers - {"part", "ledger_known", "looked_up"}
    assert COUNTERS == (
        "considered",
        "scan_started",
        "fresh",
        "in_progress",
        "failed_recently",
        "skipped_filter",
        "limit_exceeded",
        "unsupported",
        "not_found",
        "archived",
        "quota_exhausted",
        "deferred",
        "not_scannable",
    )
    equation = (SweepSummary.__doc__ or "").split("\n\n")[1]
    assert sorted(re.findall(r"``(\w+)``", equation)) == sorted(COUNTERS)


# --- a budgeted sweep: the phases and the spend recorded after every part (sweep/budget.py) ---------------------


class Marker:
    """The part of a repository's ledger a budgeted sweep writes: its census and spend (the records are not read:
    the fake ECR lists every image's scan)."""

    def __init__(self) -> None:
        self.complete_at = None
        self.written: list[tuple[str | None, str]] = []

    def entry(self, digest: str, registry_id: str | None = None) -> None:
        return None

    def mark_complete(self) -> bool:
        return True

    def record_started(self, *args: object) -> bool:
        return True

    def record_state(self, *args: object) -> bool:
        return True

    def record_census(self, census: str | None, spend: str) -> bool:
        self.written.append((census, spend))
        return True


def _budgeted_ecr() -> FakeEcr:
    """Three idle never-scanned images listed first, then two pulled (in use) never-scanned ones."""
    images = fake_images(3) + fake_images(2, start=10, pulled_at=NOW - DAY)
    return FakeEcr(images, repository=REPO, scan_fields=True)


def test_a_budgeted_sweep_takes_the_in_use_classes_first_then_the_rest_in_its_second_phase() -> None:
    from ecr_scan_reporter.sweep import budget as plan
    from ecr_scan_reporter.sweep.stage import BudgetRun

    today = plan.day_of(NOW)
    allowance = plan.Allowance(today, 3, {1: (None, 0), 3: (None, 0)}, "p1", {1: 2, 3: 1})
    ecr, marker = _budgeted_ecr(), Marker()
    first = BudgetRun(plan.Spender(allowance, classes=plan.IN_USE_CLASSES), today, phase=1, plan="p1")
    summary = sweep_repository(ecr, REPO, now=NOW, ledger=marker, run=first)  # type: ignore[arg-type]
    assert ecr.started == [digest(10), digest(11)]  # listed last, taken first
    assert (summary.scan_started, summary.deferred, first.started) == (2, 3, 2)
    census, text = marker.written[-1]
    spend = plan.Spend.from_json(text)
    assert (spend.plan, spend.phase, spend.done, spend.spent, dict(spend.taken)) == ("p1", 2, False, 2, {1: 2})
    assert plan.Census.from_json(census or "").images == 5  # a sweep through the whole repository

    turn = plan.turn(allowance, spend)
    second = BudgetRun(
        plan.Spender(allowance, turn.spent, dict(turn.ties), taken=dict(turn.taken)), today, phase=2, plan="p1"
    )
    sweep_repository(ecr, REPO, now=NOW, ledger=marker, run=second)  # type: ignore[arg-type]
    assert ecr.started == [digest(10), digest(11), digest(0)]
    spend = plan.Spend.from_json(marker.written[-1][1])
    assert (spend.phase, spend.done, spend.spent) == (2, True, 3)
    assert plan.turn(allowance, spend).done  # another delivery of this work starts nothing


def test_a_budgeted_part_records_its_spend_and_carries_it_to_the_next() -> None:
    """A part that runs out of time records its spend (not done) and hands its phase, plan and counts on in the
    continuation; the next part resumes from them."""
    from ecr_scan_reporter.sweep import budget as plan
    from ecr_scan_reporter.sweep.stage import BudgetRun

    today = plan.day_of(NOW)
    allowance = plan.Allowance(today, 5, {1: (None, 0), 3: (None, 0)}, "p1", {1: 2, 3: 3})
    ecr, marker = _budgeted_ecr(), Marker()
    ecr.resumable = True
    run = BudgetRun(plan.Spender(allowance), today, phase=2, plan="p1")
    part = sweep_repository(ecr, REPO, now=NOW, ledger=marker, run=run, remaining=budget(2), reserve_seconds=20)  # type: ignore[arg-type]
    assert part.continuation is not None
    n = len(ecr.started)
    assert 0 < n < 5
    carried = part.continuation.to_json()["budget"]
    assert (carried["plan"], carried["phase"], carried["spent"], carried["taken"]) == ("p1", 2, n, {"3": n})
    census, text = marker.written[-1]
    assert census is None  # not through the whole repository yet
    assert plan.Spend.from_json(text) == plan.Spend(today, n, 0, "p1", 2, False, {}, {3: n})
    resumed = Continuation.from_json(json.loads(json.dumps(part.continuation.to_json())))
    again = BudgetRun(plan.Spender(allowance), today, phase=2, plan="p1")
    sweep_repository(ecr, REPO, now=NOW, ledger=marker, run=again, continuation=resumed)  # type: ignore[arg-type]
    assert sorted(ecr.started) == sorted(digest(n) for n in (0, 1, 2, 10, 11))
    assert plan.Spend.from_json(marker.written[-1][1]).done


def test_a_continuations_budget_is_validated() -> None:
    base = {"today": 1, "spent": 0, "ties": {}, "tally": {}, "images": 0, "pushed_1d": 0, "refused": 0}
    for bad, message in (
        ({**base, "phase": 3}, "phase"),
        ({**base, "plan": 7}, "plan"),
        ({**base, "taken": {"9": 1}}, "taken"),
        ({**base, "ties": None}, "ties"),
    ):
        with pytest.raises(ValueError, match=message):
            Continuation.from_json({"mode": "pages", "part": 2, "budget": bad})
    ok = Continuation.from_json({"mode": "pages", "part": 2, "budget": {**base, "plan": "p", "phase": 1}})
    assert ok.budget is not None


def test_work_sent_later_carries_its_delay() -> None:
    from ecr_scan_reporter.sweep.stage import send_work_items

    class Sqs:
        def __init__(self) -> None:
            self.entries: list[dict[str, object]] = []

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, object]]) -> dict[str, object]:
            self.entries += Entries
            return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    sqs = Sqs()
    assert send_work_items(sqs, "url", [WorkItem("a")], delay_seconds=30) == (1, [])
    assert send_work_items(sqs, "url", [WorkItem("b")]) == (1, [])
    assert [e.get("DelaySeconds") for e in sqs.entries] == [30, None]


def test_work_sent_from_threads_is_sent_once_each_ten_a_call() -> None:
    import threading

    from ecr_scan_reporter.sweep.stage import send_work_items

    class Sqs:
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.bodies: list[str] = []
            self.sizes: list[int] = []
            self.threads: set[int] = set()
            #: The first call waits (5 s at most) for a call from another thread, so a fast fake cannot let one
            #: worker take every batch before the others start; single-threaded sending still fails below.
            self.second_thread = threading.Event()

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, object]:
            with self.lock:
                first = not self.sizes
                self.threads.add(threading.get_ident())
                if len(self.threads) > 1:
                    self.second_thread.set()
                self.sizes.append(len(Entries))
                failing = [e for e in Entries if json.loads(e["MessageBody"])["repository"] == "r-0017"]
                self.bodies += [e["MessageBody"] for e in Entries if e not in failing]
            if first:
                self.second_thread.wait(timeout=5)
            failed = [{"Id": e["Id"], "SenderFault": True, "Code": "Bad", "Message": "no"} for e in failing]
            return {"Successful": [{"Id": e["Id"]} for e in Entries if e not in failing], "Failed": failed}

    sqs = Sqs()
    items = [WorkItem(f"r-{i:04d}") for i in range(2_345)]
    sent, failed = send_work_items(sqs, "url", items, workers=4, sleep=lambda _: None)
    assert sent == 2_344
    assert [(f.item.repository, f.code) for f in failed] == [("r-0017", "Bad")]
    assert sorted(json.loads(b)["repository"] for b in sqs.bodies) == [
        i.repository for i in items if i.repository != "r-0017"
    ]
    assert max(sqs.sizes) == 10
    assert sum(sqs.sizes) == 2_345 + 2  # the failing entry tried three times in all
    assert len(sqs.threads) > 1
