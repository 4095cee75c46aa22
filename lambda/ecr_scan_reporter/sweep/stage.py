"""The images stage as a library: plan and scan one repository within a time budget (no Lambda needed).

Per image: filter (policy) -> last scan (registry) -> decide (policy) -> start scan (scanning).

- :func:`plan_repository` yields the :class:`Candidate` images a sweep would scan, and changes nothing.
- :func:`sweep_repository` starts those scans and returns a :class:`SweepSummary`. With a time source
  (``remaining``: seconds left) it stops before ``reserve_seconds`` is reached and puts a :class:`Continuation`
  in the summary; the caller hands that on (the images handler re-enqueues it as a new work message).

Images are streamed one DescribeImages page (<= 1000) at a time. With ``max_images`` the K newest images
(:func:`freshness.newest_key` order) are picked with a bounded heap, so memory stays O(K).

Continuation (the ``continuation`` object of a work message; see :meth:`Continuation.to_json`)::

    {"mode": "pages", "part": 2, "next_token": "<DescribeImages nextToken of the page to resume in, or null>",
     "after_digest": "<last image handled in that page, or null>", "counts": {"considered": 1000, ...}}
    {"mode": "newest", "part": 2, "after": {"pushed_at_epoch": 1718000000.0, "digest": "sha256:..."},
     "counts": {...}}

A sweep resumes right after the last image it fully handled, so no image is skipped. If that image has
vanished from its page, the whole page is considered again: nothing is scanned twice even then, because an
image whose scan was just started reports IN_PROGRESS (or a fresh completion) and is left alone. In "newest"
mode the K newest are picked again on resume and only those older than the last handled one are taken, so
images pushed meanwhile wait for the next scheduled sweep. Every invocation handles at least one image before
honouring the budget, so a repository always makes progress.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import log
from ecr_scan_reporter.core.config import Settings
from ecr_scan_reporter.core.expiry import as_utc
from ecr_scan_reporter.core.ledger import RepositoryLedger
from ecr_scan_reporter.core.scannable import artifact_reason
from ecr_scan_reporter.sweep import budget, freshness, registry, scanning
from ecr_scan_reporter.sweep.registry import ImageRecord

logger = log.get_logger(__name__)

MESSAGE_VERSION = 1
PAGES = "pages"
NEWEST = "newest"
SQS_BATCH = 10
#: ``SweepSummary.stopped`` values: the registry's scan quota is exhausted; the part was handed over untouched.
QUOTA_EXHAUSTED = "quota_exhausted"
HANDED_OVER = "handed_over"
#: ... ECR (or the ledger) still throttled after botocore's retries: ``continuation`` resumes after the last image
#: fully handled.
THROTTLED = "throttled"

_REPOSITORY_NAME = re.compile(r"(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
Position = dict[str, Any]  # the Continuation fields that say where to resume
_ACCOUNT_ID = re.compile(r"[0-9]{12}")  # ASCII digits: str.isdigit() also takes other scripts' digits


class MalformedMessage(ValueError):
    """A work message that cannot be processed; the text says what is wrong with it."""


@dataclass(frozen=True)
class SweepOptions:
    expiry_days: int = 7
    pulled_within_days: int | None = None
    max_images: int | None = None
    listed_scans: bool | None = None  # registry.scans_listed(): does DescribeImages carry every image's scan?
    in_use_days: int = budget.DEFAULT_IN_USE_DAYS

    @classmethod
    def from_settings(cls, settings: Settings) -> SweepOptions:
        return cls(
            settings.scan_expiry_days,
            settings.only_images_pulled_within_days,
            settings.max_images_per_repository,
            in_use_days=settings.in_use_days,
        )

    @property
    def mode(self) -> str:
        return NEWEST if self.max_images else PAGES


@dataclass
class BudgetRun:
    """One repository's part of a budgeted sweep (sweep/budget.py): the allowance being spent (``spender``), the
    census of the repository so far (``tally``, ``images``, ``pushed_1d``), the registry-quota refusals, the sweep
    day the allowance was planned for (``today``), its plan (``plan``) and the phase of the sweep (``phase``: 1 the
    in-use classes, 2 the rest, 0 no phases: a plan or an allowance of nothing). Carried across parts by the
    continuation. ``started``: the scans this part started (not carried)."""

    spender: budget.Spender
    today: int
    tally: budget.Tally = field(default_factory=budget.Tally)
    images: int = 0
    pushed_1d: int = 0
    refused: int = 0
    collect: list[budget.Item] | None = None  # the CLI's plan: every schedulable image, for budget.select
    phase: int = 0
    plan: str = ""
    started: int = 0

    def classify(
        self, image: ImageRecord, state: freshness.ScanState, never: bool, now: datetime, options: Any
    ) -> tuple[int, int, bool, int | None]:
        """(class, due day, in use, scan age in whole days) of a schedulable image; counts it in the census."""
        last = None if never else state.completed_at
        used = budget.in_use(image.last_pulled_at, now, options.in_use_days)
        due_day = budget.day_of(budget.due_at(last, image.pushed_at, image.digest, options.expiry_days))
        klass = budget.priority(never=never, used=used, due_day=due_day, today=self.today)
        self.seen(image, now)
        if self.collect is not None:
            self.collect.append(budget.Item(image.repository, image.digest, used, never, due_day))
        age = None if last is None else max(0, (as_utc(now) - as_utc(last)).days)
        return klass, due_day, used, age

    def seen(self, image: ImageRecord, now: datetime) -> None:
        """Count an image of the census (and whether it was pushed within a day)."""
        self.images += 1
        if image.pushed_at is not None and as_utc(now) - as_utc(image.pushed_at) <= timedelta(days=1):
            self.pushed_1d += 1

    def unseen(self, pushed_at: datetime | None, now: datetime) -> None:
        """Take an image :meth:`seen` back out of the census: ECR refused it as an artifact it cannot scan."""
        self.images -= 1
        if pushed_at is not None and as_utc(now) - as_utc(pushed_at) <= timedelta(days=1):
            self.pushed_1d -= 1

    def scanned(self, digest: str, used: bool, now: datetime, expiry_days: int) -> None:
        """Count an image scanned (or in flight) now in the census: due again a levelled expiry from now."""
        self.tally.add(
            used=used, never=False, due_day=budget.day_of(budget.due_at(now, None, digest, expiry_days)), age_days=0
        )

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "today": self.today,
            "spent": self.spender.spent,
            "ties": {str(k): v for k, v in sorted(self.spender.ties.items())},
            "tally": self.tally.to_json(),
            "images": self.images,
            "pushed_1d": self.pushed_1d,
            "refused": self.refused,
        }
        if self.plan:
            doc.update(
                plan=self.plan, phase=self.phase, taken={str(k): v for k, v in sorted(self.spender.taken.items())}
            )
        return doc

    def resume(self, data: Mapping[str, Any]) -> None:
        """Take over an earlier part's state (validated by :meth:`Continuation.from_json`): its census, and its
        spending unless another delivery recorded more (the spender then starts from that)."""
        if data.get("today") != self.today or data.get("plan", "") != self.plan:
            return  # planned for another day or plan: this part spends its allowance from scratch
        if data.get("phase", self.phase) != self.phase:
            return
        if data["spent"] >= self.spender.spent:
            self.spender.spent = data["spent"]
            self.spender.ties = {int(k): v for k, v in data["ties"].items()}
            self.spender.taken = {int(k): v for k, v in (data.get("taken") or {}).items()}
        self.tally = budget.Tally.from_json(data["tally"])
        self.images, self.pushed_1d, self.refused = data["images"], data["pushed_1d"], data["refused"]

    def census(self) -> str:
        return json.dumps(
            {"day": self.today, **self.tally.to_json(), "images": self.images, "pushed_1d": self.pushed_1d},
            separators=(",", ":"),
        )

    def spend(self, *, complete: bool, refused: bool) -> budget.Spend:
        """The spend to record after this part: ``complete`` (the listing went through the whole repository) ends
        the in-use phase (the repository goes on to the second when its allowance takes lower classes) or the
        allowance; ``refused`` (ECR refused the registry's quota) ends the allowance."""
        allowance = self.spender.allowance
        phase, done = self.phase, refused
        if complete and not refused:
            more = (
                self.phase == 1 and allowance is not None and allowance.lower and self.spender.spent < allowance.total
            )
            phase, done = (2, False) if more else (self.phase, True)
        return budget.Spend(
            self.today,
            self.spender.spent,
            self.refused,
            self.plan,
            max(1, phase),
            done,
            dict(self.spender.ties),
            dict(self.spender.taken),
        )

    @property
    def mode(self) -> str:
        return NEWEST if self.max_images else PAGES


@dataclass(frozen=True, slots=True)
class Candidate:
    """An image that needs a scan, and why (``never_scanned`` or ``expired``)."""

    repository: str
    registry_id: str | None
    digest: str
    tags: tuple[str, ...]
    reason: str
    last_scan: datetime | None
    priority: int | None = None  # the budget's class (sweep/budget.py), when a budget applies
    due_day: int | None = None
    in_use: bool | None = None
    pushed_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "digest": self.digest,
            "tags": list(self.tags),
            "reason": self.reason,
            "last_scan": self.last_scan.isoformat() if self.last_scan else None,
        }


@dataclass
class SweepSummary:
    """What a sweep of one repository did (counts include earlier parts of a continued sweep).

    ``considered`` = ``skipped_filter`` + ``archived`` + ``not_found`` + ``fresh`` + ``in_progress`` +
    ``failed_recently`` + ``unsupported`` + ``scan_started`` + ``limit_exceeded`` + ``quota_exhausted`` +
    ``deferred`` + ``not_scannable``.
    """

    repository: str
    registry_id: str | None = None
    considered: int = 0
    scan_started: int = 0
    fresh: int = 0
    in_progress: int = 0
    failed_recently: int = 0
    skipped_filter: int = 0
    limit_exceeded: int = 0
    unsupported: int = 0
    not_found: int = 0
    archived: int = 0
    quota_exhausted: int = 0
    deferred: int = 0  # due, but left for a later sweep by the budget
    not_scannable: int = 0  # artifacts ECR's basic scanning cannot scan (core/scannable.py): never asked again
    part: int = 1
    continuation: Continuation | None = None
    # This part only (not carried by continuations): images whose scan the ledger knew, lookups in ECR.
    ledger_known: int = 0
    looked_up: int = 0
    stopped: str | None = None  # QUOTA_EXHAUSTED, or HANDED_OVER (``continuation``: the part's own, maybe None)

    def count(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}

    def as_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "registry_id": self.registry_id,
            **self.counts(),
            "part": self.part,
            "continued": self.continuation is not None,
            "ledger_known": self.ledger_known,
            "looked_up": self.looked_up,
            "stopped": self.stopped,
        }


COUNTERS: tuple[str, ...] = tuple(
    f.name
    for f in fields(SweepSummary)
    if f.name not in ("repository", "registry_id", "part", "continuation", "ledger_known", "looked_up", "stopped")
)


@dataclass(frozen=True)
class Continuation:
    """Where a sweep handed over: ``part`` is the number of the part that resumes (2 for the first hand-over)."""

    mode: str
    part: int = 2
    counts: Mapping[str, int] = field(default_factory=dict)
    next_token: str | None = None
    after_digest: str | None = None
    after_key: tuple[float, str] | None = None
    budget: Mapping[str, Any] | None = None  # BudgetRun.to_json() of the parts so far

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"mode": self.mode, "part": self.part}
        if self.mode == PAGES:
            doc.update(next_token=self.next_token, after_digest=self.after_digest)
        elif self.after_key is not None:
            doc["after"] = {"pushed_at_epoch": self.after_key[0], "digest": self.after_key[1]}
        doc["counts"] = dict(self.counts)
        if self.budget is not None:
            doc["budget"] = dict(self.budget)
        return doc

    @classmethod
    def from_json(cls, data: Any) -> Continuation:
        """Validate a decoded continuation object; ValueError says what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("must be an object")
        mode, part, counts = data.get("mode"), data.get("part", 2), data.get("counts", {})
        if mode not in (PAGES, NEWEST):
            raise ValueError(f"mode must be {PAGES!r} or {NEWEST!r}, got {mode!r}")
        if type(part) is not int or part < 2:
            raise ValueError(f"part must be a whole number >= 2, got {part!r}")
        if not isinstance(counts, dict) or any(
            k not in COUNTERS or type(v) is not int or v < 0 for k, v in counts.items()
        ):
            raise ValueError(f"counts must map {', '.join(COUNTERS)} to non-negative whole numbers")
        spent = _budget_state(data.get("budget"))
        if mode == PAGES:
            token, digest = data.get("next_token"), data.get("after_digest")
            if not all(v is None or (isinstance(v, str) and v) for v in (token, digest)):
                raise ValueError("next_token and after_digest must be non-empty strings or null")
            return cls(PAGES, part, counts, next_token=token, after_digest=digest, budget=spent)
        after = data.get("after")
        if not isinstance(after, dict):
            raise ValueError("after must be {'pushed_at_epoch': number, 'digest': string}")
        epoch, digest = after.get("pushed_at_epoch"), after.get("digest")
        # NaN compares False with every key: a NaN resume point would skip every image and report success.
        if not _finite_float(epoch) or epoch < 0:
            raise ValueError(f"after.pushed_at_epoch must be a finite number >= 0, got {_short(epoch)}")
        if not isinstance(digest, str) or not digest:
            raise ValueError(f"after.digest must be a non-empty string, got {_short(digest)}")
        return cls(NEWEST, part, counts, after_key=(float(epoch), digest), budget=spent)


def _budget_state(data: Any) -> dict[str, Any] | None:
    """A continuation's ``budget`` object (BudgetRun.to_json), validated, or None."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("budget must be an object")
    for name in ("today", "spent", "images", "pushed_1d", "refused"):
        if type(data.get(name)) is not int or data[name] < 0:
            raise ValueError(f"budget.{name} must be a non-negative whole number, got {_short(data.get(name))}")
    for name in ("ties", "taken"):
        counts = data.get(name, {}) if name == "taken" else data.get(name)
        if not isinstance(counts, dict) or any(
            k not in {str(c) for c in budget.CLASSES} or type(v) is not int or v < 0 for k, v in counts.items()
        ):
            raise ValueError(f"budget.{name} must map classes 1-5 to non-negative whole numbers")
    if not isinstance(data.get("plan", ""), str) or data.get("phase", 0) not in (0, 1, 2):
        raise ValueError("budget.plan must be a string and budget.phase 0, 1 or 2")
    try:
        budget.Tally.from_json(data.get("tally"))
    except ValueError as exc:
        raise ValueError(f"budget.tally: {exc}") from None
    return data


def _finite_float(value: Any) -> bool:
    """An int or float (not a bool) that is a finite float: no NaN, no infinity, no int too large for a float."""
    if type(value) not in (int, float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


@dataclass(frozen=True)
class WorkItem:
    """A work-queue message: ``{"version": 1, "repository", "registry_id", "continuation"}``."""

    repository: str
    registry_id: str | None = None
    continuation: Continuation | None = None

    def to_body(self) -> str:
        return json.dumps(
            {
                "version": MESSAGE_VERSION,
                "repository": self.repository,
                "registry_id": self.registry_id,
                "continuation": self.continuation.to_json() if self.continuation else None,
            }
        )


def parse_work_message(body: Any) -> WorkItem:
    """Parse and validate a work-message body, or raise :class:`MalformedMessage` naming what is wrong."""
    if not isinstance(body, str) or not body.strip():
        raise MalformedMessage("body is missing or empty")
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise MalformedMessage(f"body is not valid JSON ({exc.msg} at position {exc.pos})") from None
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit conversion limit
        raise MalformedMessage(f"body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise MalformedMessage(f"body must be a JSON object, got {type(data).__name__}")
    version = data.get("version")
    if type(version) is not int or version != MESSAGE_VERSION:  # true == 1 and 1.0 == 1 in Python: not versions
        raise MalformedMessage(f"version must be {MESSAGE_VERSION}, got {version!r}")
    repository, registry_id = data.get("repository"), data.get("registry_id")
    if not isinstance(repository, str) or not _REPOSITORY_NAME.fullmatch(repository):
        raise MalformedMessage(f"repository must be an ECR repository name, got {repository!r}")
    if registry_id is not None and not (isinstance(registry_id, str) and _ACCOUNT_ID.fullmatch(registry_id)):
        raise MalformedMessage(f"registry_id must be a 12-digit account id (a string) or null, got {registry_id!r}")
    continuation = None
    if data.get("continuation") is not None:
        try:
            continuation = Continuation.from_json(data["continuation"])
        except ValueError as exc:
            raise MalformedMessage(f"continuation is invalid: {exc}") from None
    return WorkItem(repository, registry_id, continuation)


@dataclass(frozen=True)
class FailedSend:
    item: WorkItem
    code: str
    message: str


def send_work_items(
    sqs: Any,
    queue_url: str,
    items: Iterable[WorkItem],
    *,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
    delay_seconds: int = 0,
    workers: int = 1,
) -> tuple[int, list[FailedSend]]:
    """Send ``items`` with SendMessageBatch (10 per call), retrying failed entries up to ``attempts`` times in
    all; ``delay_seconds`` (0-900) keeps them from being delivered before then. Streams ``items`` (with
    ``workers`` > 1: takes them all, and sends from that many threads, each a contiguous share of the batches, so
    the calls' latencies overlap); returns (number sent, entries that still failed). Never raises for a failed
    send: the caller decides what a failure means once everything else has been sent."""
    if workers > 1:
        batches = list(_batches(iter(items)))
        share = -(-len(batches) // workers)
        groups = [batches[i : i + share] for i in range(0, len(batches), share)] if batches else []
        with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
            results = list(
                pool.map(
                    lambda group: _send_batches(sqs, queue_url, iter(group), attempts, sleep, delay_seconds), groups
                )
            )
        return sum(sent for sent, _ in results), [failure for _, failures in results for failure in failures]
    return _send_batches(sqs, queue_url, _batches(iter(items)), attempts, sleep, delay_seconds)


def _batches(iterator: Iterator[WorkItem]) -> Iterator[list[WorkItem]]:
    while batch := list(islice(iterator, SQS_BATCH)):
        yield batch


def _send_batches(
    sqs: Any,
    queue_url: str,
    batches: Iterator[list[WorkItem]],
    attempts: int,
    sleep: Callable[[float], None],
    delay_seconds: int,
) -> tuple[int, list[FailedSend]]:
    sent, failed = 0, []
    for batch in batches:
        pending = {str(i): item for i, item in enumerate(batch)}
        errors: dict[str, tuple[str, str]] = {}
        for attempt in range(attempts):
            if attempt:
                sleep(0.05 * 2**attempt)
            entries = [{"Id": key, "MessageBody": item.to_body()} for key, item in pending.items()]
            if delay_seconds > 0:
                for entry in entries:
                    entry["DelaySeconds"] = delay_seconds
            try:
                response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                code = registry.error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
                errors = dict.fromkeys(pending, (code, str(exc)))
                continue
            for ok in response.get("Successful", []):
                if pending.pop(ok["Id"], None) is not None:
                    sent += 1
            errors = {f["Id"]: (f.get("Code", ""), f.get("Message", "")) for f in response.get("Failed", [])}
            if not pending:
                break
        for key, item in pending.items():
            failed.append(FailedSend(item, *errors.get(key, ("Unknown", "no result for this entry"))))
    return sent, failed


def plan_repository(
    ecr: Any,
    repository: str,
    *,
    now: datetime,
    registry_id: str | None = None,
    options: SweepOptions = SweepOptions(),
    ledger: RepositoryLedger | None = None,
    summary: SweepSummary | None = None,
    run: BudgetRun | None = None,
) -> Iterator[Candidate]:
    """The images of ``repository`` that a sweep would scan, and why. Makes no change (give a read-only
    ``ledger`` to read the images' last scans from the scan ledger as the sweep does). ``summary``, if given,
    counts every image considered and why each one left alone needs no scan (the candidates are not counted)."""
    summary = summary if summary is not None else SweepSummary(repository, registry_id)
    for candidate, _ in _assess(ecr, repository, registry_id, options, now, None, summary, ledger, run=run):
        if candidate is not None:
            yield candidate


def sweep_repository(
    ecr: Any,
    repository: str,
    *,
    now: datetime,
    registry_id: str | None = None,
    options: SweepOptions = SweepOptions(),
    continuation: Continuation | None = None,
    remaining: Callable[[], float] | None = None,
    reserve_seconds: float = 0.0,
    ledger: RepositoryLedger | None = None,
    quota: scanning.ScanQuota | None = None,
    must_progress: bool = True,
    run: BudgetRun | None = None,
) -> SweepSummary:
    """Start a scan of every image of ``repository`` that needs one. ``remaining()`` (seconds left; None = no
    limit) is asked before each image after the first; below ``reserve_seconds`` the sweep stops and returns
    the summary with a :class:`Continuation`. With ``must_progress`` (the first repository of an invocation) at
    least one image is handled whatever the time; without it, newest-first mode also checks the time while it
    lists the repository and hands the whole part over when it runs out. With ``ledger`` an image's last scan is
    read from the repository's records (one Query) and only unknown images are looked up in ECR; started scans
    and learned states are recorded. With ``quota`` the sweep stops starting scans (and stops) once the
    registry's daily scan quota is exhausted. With ``remaining``, throttling left after botocore's retries once an
    image was handled also ends the part with a continuation (``stopped`` = ``THROTTLED``); a continuation whose
    DescribeImages token ECR refuses (InvalidParameterException) restarts the sweep from the first page, as part 1.
    With ``run`` (a budgeted sweep, sweep/budget.py) an image is scanned only when the repository's allowance takes
    it (the others count as ``deferred``), the census is carried across parts and, at the end, stored in the
    repository's marker with the sweep's spend. Raises ``registry.RepositoryNotFound`` and unexpected
    ``ClientError``s."""
    if continuation is not None and continuation.mode != options.mode:
        log.emit(logger, "continuation_restarted", repository=repository, reason=f"mode is now {options.mode}")
        continuation = None
    summary = SweepSummary(repository, registry_id)
    if continuation is not None:
        summary = SweepSummary(repository, registry_id, part=continuation.part, **continuation.counts)
        if run is not None and continuation.budget is not None:
            run.resume(continuation.budget)
    start_counts = summary.counts()

    def carried() -> Mapping[str, Any] | None:
        return run.to_json() if run is not None else None

    def out_of_time() -> bool:
        return remaining is not None and remaining() < reserve_seconds

    listing_deadline = None if must_progress else out_of_time
    steps = _assess(ecr, repository, registry_id, options, now, continuation, summary, ledger, listing_deadline, run)
    resume: Position | None = None  # None before the first image (always handled) and after the last one
    # Where to resume after the last image fully handled (scan started and recorded), and the counts then.
    handled: tuple[Position, dict[str, int]] | None = None
    while True:
        if resume is not None and out_of_time():
            summary.continuation = Continuation(
                options.mode, summary.part + 1, summary.counts(), **resume, budget=carried()
            )
            break
        try:
            step = next(steps, None)
            if step is None:
                break
            candidate, resume = step
            if candidate is not None:
                _start(ecr, repository, registry_id, candidate, summary, ledger, quota, run, now, options)
        except _OutOfTime:
            # Newest-first listing ran out of time before any image was handled: hand the part over as it came.
            summary = SweepSummary(repository, registry_id, part=summary.part, **start_counts)
            summary.stopped, summary.continuation = HANDED_OVER, continuation
            break
        except _TokenRefused as refused:
            # The continuation's DescribeImages token has expired (or is no longer valid): sweep again from the
            # first page. Nothing is scanned twice: the images earlier parts started report IN_PROGRESS.
            log.emit(
                logger,
                "continuation_restarted",
                logging.WARNING,
                repository=repository,
                part=summary.part,
                reason="DescribeImages refused the continuation's nextToken",
                error_code=registry.error_code(refused.error),
                error=str(refused.error),
            )
            continuation = None
            summary = SweepSummary(repository, registry_id)
            start_counts = summary.counts()
            if run is not None:  # the census starts again with the listing (the spend stays)
                run.tally, run.images, run.pushed_1d = budget.Tally(), 0, 0
            steps = _assess(ecr, repository, registry_id, options, now, None, summary, ledger, listing_deadline, run)
            continue
        except ClientError as exc:
            # Throttled even after botocore's retries: a caller that hands continuations on (``remaining``) gets
            # the rest from the last image fully handled (this one is handled again in the next part); before any
            # image, or for a caller without continuations (the CLI), the error propagates.
            if not registry.throttled(exc) or handled is None or remaining is None:
                raise
            position, counts = handled
            summary = dataclasses.replace(summary, **counts)
            summary.stopped = THROTTLED
            summary.continuation = Continuation(options.mode, summary.part + 1, counts, **position, budget=carried())
            log.emit(
                logger,
                "sweep_throttled",
                logging.WARNING,
                repository=repository,
                part=summary.part,
                operation=exc.operation_name,
                error_code=registry.error_code(exc),
                detail="the rest of the repository is handed over to the next part",
            )
            break
        if resume is not None:
            handled = (resume, summary.counts())
        if candidate is not None and quota is not None and quota.exhausted:
            summary.stopped = QUOTA_EXHAUSTED
            break
    if ledger is not None and summary.continuation is None and summary.stopped is None:
        ledger.mark_complete()
    if ledger is not None and run is not None and summary.stopped != HANDED_OVER:
        # After every part (a later delivery of the same work resumes from it): the spend; after a sweep through
        # the whole repository, the census too.
        complete = summary.continuation is None and summary.stopped is None
        spend = run.spend(complete=complete, refused=summary.stopped == QUOTA_EXHAUSTED)
        ledger.record_census(run.census() if complete else None, spend.to_json())
    return summary


def _start(
    ecr: Any,
    repository: str,
    registry_id: str | None,
    candidate: Candidate,
    summary: SweepSummary,
    ledger: RepositoryLedger | None,
    quota: scanning.ScanQuota | None,
    run: BudgetRun | None = None,
    now: datetime | None = None,
    options: SweepOptions | None = None,
) -> None:
    """Start the candidate's scan (unless the registry's quota is spent), record a started one, count the outcome
    (and, in a budgeted sweep, count the image in the census as it is now)."""
    if quota is not None and quota.exhausted:
        attempt = scanning.ScanAttempt(scanning.ScanOutcome.QUOTA_EXHAUSTED)
    else:
        attempt = scanning.attempt_scan(ecr, repository, candidate.digest, registry_id)
    outcome = attempt.outcome
    if outcome is scanning.ScanOutcome.STARTED and ledger is not None:
        ledger.record_started(candidate.digest, candidate.tags, candidate.registry_id)
    if outcome is scanning.ScanOutcome.STARTED and run is not None:
        run.started += 1
    if outcome is scanning.ScanOutcome.UNSUPPORTED:  # an artifact: recorded, never asked again, never in a census
        _not_scannable(candidate, "UnsupportedImageTypeException", summary, ledger)
        if run is not None and now is not None and candidate.priority is not None:
            run.unseen(candidate.pushed_at, now)
    else:
        summary.count(outcome.value)
    if run is not None and now is not None and options is not None and candidate.priority is not None:
        used = bool(candidate.in_use)
        if outcome in (scanning.ScanOutcome.STARTED, scanning.ScanOutcome.LIMIT_EXCEEDED):
            run.scanned(candidate.digest, used, now, options.expiry_days)  # per image: it was scanned today
        elif outcome is scanning.ScanOutcome.QUOTA_EXHAUSTED:
            run.refused += 1
            age = None if candidate.last_scan is None else max(0, (as_utc(now) - as_utc(candidate.last_scan)).days)
            never = candidate.reason == freshness.Verdict.NEVER_SCANNED.value
            run.tally.add(used=used, never=never, due_day=candidate.due_day or 0, age_days=age)
    log.emit(
        logger,
        "scan_started" if outcome is scanning.ScanOutcome.STARTED else "scan_not_started",
        repository=repository,
        digest=candidate.digest,
        tags=candidate.tags,
        reason=candidate.reason,
        last_scan=candidate.last_scan,
        outcome=outcome.value,
    )
    if quota is not None and quota.observe(outcome, attempt.message):
        log.emit(
            logger,
            "scan_quota_exhausted",
            logging.ERROR,
            repository=repository,
            digest=candidate.digest,
            detail="ECR refuses further basic scans of this registry for now (100,000 per 24 hours); "
            "no more scans are started in this sweep",
        )


class _TokenRefused(Exception):
    """Raised by the page walk when DescribeImages refuses the token a continuation carried."""

    def __init__(self, error: ClientError) -> None:
        super().__init__(str(error))
        self.error = error


class _OutOfTime(Exception):
    """Raised by the newest-first listing when its deadline passes."""


# --- internals ----------------------------------------------------------------------------------------------------


def _assess(
    ecr: Any,
    repository: str,
    registry_id: str | None,
    options: SweepOptions,
    now: datetime,
    continuation: Continuation | None,
    summary: SweepSummary,
    ledger: RepositoryLedger | None = None,
    listing_deadline: Callable[[], bool] | None = None,
    run: BudgetRun | None = None,
) -> Iterator[tuple[Candidate | None, Position | None]]:
    """For each image in sweep order: the candidate (None when no scan is needed; the reason is counted in
    ``summary``) and where to resume after it (None: nothing left)."""
    if options.mode == NEWEST:
        walk = _newest(ecr, repository, registry_id, options, now, continuation, summary, listing_deadline, ledger)
    else:
        walk = _pages(ecr, repository, registry_id, options, now, continuation, summary)
    for image, resume in walk:
        candidate = None if image is None else _evaluate(ecr, repository, image, options, now, summary, ledger, run)
        yield candidate, resume


def _evaluate(
    ecr: Any,
    repository: str,
    image: ImageRecord,
    options: SweepOptions,
    now: datetime,
    summary: SweepSummary,
    ledger: RepositoryLedger | None = None,
    run: BudgetRun | None = None,
) -> Candidate | None:
    if freshness.image_archived(image.image_status):
        summary.count("archived")
        return None
    reason = artifact_reason(image.manifest_media_type, image.artifact_media_type, image.tags)
    if reason is not None:  # recognised from DescribeImages: ECR is not asked
        _not_scannable(image, reason, summary, ledger)
        return None
    try:
        state = _last_scan(ecr, image, now, summary, ledger)
    except registry.ImageNotFound:
        summary.count("not_found")
        return None
    verdict = freshness.decide_scan(state, now, options.expiry_days)
    if verdict is freshness.Verdict.NOT_SCANNABLE:  # ECR refused it before (the ledger's record, renewed)
        _not_scannable(image, None, summary, ledger)
        return None
    if run is not None:
        return _budgeted(repository, image, state, verdict, options, now, summary, run)
    if not verdict.needs_scan:
        summary.count(verdict.value)
        log.emit(
            logger, "scan_not_needed", logging.DEBUG, repository=repository, digest=image.digest, verdict=verdict.value
        )
        return None
    return Candidate(repository, image.registry_id, image.digest, image.tags, verdict.value, state.completed_at)


_SCHEDULABLE = (freshness.Verdict.NEVER_SCANNED, freshness.Verdict.EXPIRED, freshness.Verdict.FRESH)


def _budgeted(
    repository: str,
    image: ImageRecord,
    state: freshness.ScanState,
    verdict: freshness.Verdict,
    options: SweepOptions,
    now: datetime,
    summary: SweepSummary,
    run: BudgetRun,
) -> Candidate | None:
    """A budgeted sweep's decision: an image that is never scanned, expired or fresh gets its class and due day
    (sweep/budget.py) and is scanned when the repository's allowance takes it (also a fresh one: due by its
    levelling jitter, or scanned early to level the load); the others as without a budget."""
    if verdict not in _SCHEDULABLE:
        if verdict is freshness.Verdict.IN_PROGRESS:
            run.seen(image, now)
            run.scanned(
                image.digest, budget.in_use(image.last_pulled_at, now, options.in_use_days), now, options.expiry_days
            )
        summary.count(verdict.value)
        return None
    never = verdict is freshness.Verdict.NEVER_SCANNED
    klass, due_day, used, age = run.classify(image, state, never, now, options)
    if run.spender.take(klass, due_day):
        reason = verdict.value if verdict.needs_scan else "levelling"
        return Candidate(
            repository,
            image.registry_id,
            image.digest,
            image.tags,
            reason,
            state.completed_at,
            klass,
            due_day,
            used,
            image.pushed_at,
        )
    run.tally.add(used=used, never=never, due_day=due_day, age_days=age)
    summary.count("deferred" if verdict.needs_scan else verdict.value)
    if verdict.needs_scan:
        log.emit(logger, "scan_deferred", logging.DEBUG, repository=repository, digest=image.digest, priority=klass)
    return None


def _not_scannable(
    image: ImageRecord | Candidate, reason: str | None, summary: SweepSummary, ledger: RepositoryLedger | None
) -> None:
    """Count an image ECR's basic scanning cannot scan (an artifact, core/scannable.py) and record it in the ledger
    (``reason``: why; None: the ledger already knows why, its record is only kept alive)."""
    summary.count("not_scannable")
    if ledger is not None:
        ledger.record_not_scannable(image.digest, image.tags, reason, image.registry_id)
    log.emit(logger, "scan_not_possible", logging.DEBUG, repository=summary.repository, digest=image.digest, why=reason)


def _last_scan(
    ecr: Any, image: ImageRecord, now: datetime, summary: SweepSummary, ledger: RepositoryLedger | None
) -> freshness.ScanState:
    """The image's last scan: listed by DescribeImages, else recorded in the ledger, else looked up in ECR (and
    then recorded, so the next sweep knows it). A record older than the image's push (the digest was deleted and
    pushed again since) is of the earlier push: ECR is asked."""
    if image.scan is not None:
        return image.scan
    if ledger is not None:
        entry = ledger.entry(image.digest, image.registry_id)
        if entry is not None and freshness.recorded_before_push(
            image.pushed_at, entry.scan_started_at, entry.scan_completed_at
        ):
            log.emit(logger, "ledger_record_predates_push", logging.DEBUG, digest=image.digest)
        elif entry is not None:
            known = freshness.ledger_scan_state(entry.scan_status, entry.scan_started_at, entry.scan_completed_at, now)
            if known is not None:
                summary.ledger_known += 1
                return known
        elif freshness.unrecorded_means_never_scanned(image.pushed_at, ledger.complete_at):
            summary.ledger_known += 1
            return freshness.ScanState()
    summary.looked_up += 1
    state = registry.last_scan(ecr, image)
    if ledger is not None and state.status:
        ledger.record_state(image.digest, image.tags, state.status, state.completed_at, image.registry_id)
    return state


def _pages(
    ecr: Any,
    repository: str,
    registry_id: str | None,
    options: SweepOptions,
    now: datetime,
    continuation: Continuation | None,
    summary: SweepSummary,
) -> Iterator[tuple[ImageRecord | None, Position | None]]:
    """Every image, page by page (None for those the pull filter skips), resuming inside a page by digest."""
    token = continuation.next_token if continuation else None
    after = continuation.after_digest if continuation else None
    pages = registry.iter_image_pages(ecr, repository, registry_id, token, options.listed_scans)
    for page in _refusing_token(pages) if token else pages:
        images, start = page.images, 0
        if after is not None:
            digests = [image.digest for image in images]
            start = digests.index(after) + 1 if after in digests else 0
            if not start:
                log.emit(logger, "continuation_marker_missing", repository=repository, digest=after)
            after = None
        for i in range(start, len(images)):
            image = images[i]
            # Resume in this page after this image, even at the page's end: the next part fetches this page
            # again and carries on after the marker, so no image is skipped whatever ECR's tokens are (a token
            # that is an offset would skip one image per image deleted before it between parts).
            resume: Position | None = {"next_token": page.token, "after_digest": image.digest}
            if i == len(images) - 1 and not page.next_token:
                resume = None
            summary.count("considered")
            if freshness.recently_used(image.pushed_at, image.last_pulled_at, now, options.pulled_within_days):
                yield image, resume
            else:
                summary.count("skipped_filter")
                yield None, resume


def _refusing_token(pages: Iterator[registry.ImagePage]) -> Iterator[registry.ImagePage]:
    """``pages``; an InvalidParameterException on the first page (the one a continuation's token asks for) raises
    :class:`_TokenRefused`. ECR's tokens may expire while a continuation waits in the queue; retrying the message
    with the same token would fail every time until it reached the dead-letter queue."""
    try:
        first = next(pages, None)
    except ClientError as exc:
        if registry.error_code(exc) == "InvalidParameterException":
            raise _TokenRefused(exc) from exc
        raise
    if first is not None:
        yield first
        yield from pages


def _newest(
    ecr: Any,
    repository: str,
    registry_id: str | None,
    options: SweepOptions,
    now: datetime,
    continuation: Continuation | None,
    summary: SweepSummary,
    deadline: Callable[[], bool] | None = None,
    ledger: RepositoryLedger | None = None,
) -> Iterator[tuple[ImageRecord | None, Position | None]]:
    """The ``max_images`` newest images that pass the pull filter, newest first, after the continuation's key; an
    artifact DescribeImages shows ECR cannot scan is never one of them (counted and recorded, :func:`_not_scannable`).
    Counting (considered, skipped_filter, not_scannable) happens on the first part only: later parts list the same
    images. ``deadline()`` is asked after every DescribeImages page: True raises :class:`_OutOfTime`."""
    after = continuation.after_key if continuation else None
    first_part = after is None
    eligible_count = 0

    def eligible() -> Iterator[ImageRecord]:
        nonlocal eligible_count
        for page in registry.iter_image_pages(ecr, repository, registry_id, listed_scans=options.listed_scans):
            if deadline is not None and page.next_token and deadline():
                raise _OutOfTime
            for image in page.images:
                if first_part:
                    summary.considered += 1
                if not freshness.recently_used(image.pushed_at, image.last_pulled_at, now, options.pulled_within_days):
                    if first_part:
                        summary.skipped_filter += 1
                    continue
                reason = artifact_reason(image.manifest_media_type, image.artifact_media_type, image.tags)
                if reason is None:
                    eligible_count += 1
                    yield image
                elif first_part:
                    _not_scannable(image, reason, summary, ledger)

    top = heapq.nlargest(options.max_images or 0, eligible(), key=_key)
    if first_part:
        summary.skipped_filter += eligible_count - len(top)
    todo = [image for image in top if after is None or _key(image) < after]
    for i, image in enumerate(todo):
        yield image, ({"after_key": _key(image)} if i < len(todo) - 1 else None)


def _key(image: ImageRecord) -> tuple[float, str]:
    return freshness.newest_key(image.pushed_at, image.digest)
