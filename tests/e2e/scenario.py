"""The sample registry the suite and the demo seed, with what the pipeline must do with every image.

The expectations are written out by hand from the test root's settings (tests/e2e/root: include ``^team/``,
exclude ``scratch``, scan expiry 7 days, thresholds CRITICAL 0 and HIGH 2, MEDIUM and LOW ignored), never
computed by the code under test.

=================  ======  ==============================  ========================  ============================
image              repo?   before the sweep                the sweep                 what its scan reports
=================  ======  ==============================  ========================  ============================
team/api:1.0       in      never scanned                   scan                      CRITICAL 1, HIGH 1 -> alert
team/api:1.1       in      never scanned                   scan                      HIGH 2 (= threshold): quiet
team/api@untagged  in      never scanned                   scan                      HIGH 3 -> alert (no tags)
team/api:0.9       in      scanned 30 days ago (expired)   rescan                    (moto refuses: see seeding)
team/web:stable    in      scanned yesterday (fresh)       left alone                --
team/web:edge      in      never scanned                   scan                      FAILED -> alert
team/web:legacy    in      never scanned                   scan                      HIGH 1, MEDIUM, LOW: quiet
team/scratch:wip   out     never scanned                   left alone (excluded)     --
team/scratch:push  out     scanned on push, just now       left alone (excluded)     CRITICAL 4: event, no alert
tools/builder:1    out     never scanned                   left alone (not included) --
=================  ======  ==============================  ========================  ============================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from e2e.seeding import RegistrySeeder, ScanReport, Unsupported

History = Literal["never", "fresh", "expired", "on_push"]

#: The test root's settings the expectations below are written for.
INCLUDE_REGEX = "^team/"
EXCLUDE_REGEX = "scratch"
THRESHOLDS = {"CRITICAL": 0, "HIGH": 2, "MEDIUM": None, "LOW": None}
FAILURE_REASON = "UnsupportedImageError: The operating system and/or package manager are not supported."


@dataclass(frozen=True)
class ImageCase:
    label: str
    repository: str
    tag: str | None
    history: History
    counts: dict[str, int] = field(default_factory=dict)  # what its (past or next) scan reports
    failed: bool = False  # its next scan FAILS
    expect_scan: bool = False  # the sweep starts a scan of it
    expect_event: bool = False  # a scan of it finishes during the run, so ECR emits an "ECR Image Scan" event
    expect_alert: str | None = None  # "threshold_breached" | "scan_failed" | None
    expect_breached: tuple[str, ...] = ()
    expect_highest: str = "NONE"
    why: str = ""


# fmt: off
CASES: tuple[ImageCase, ...] = (
    ImageCase("team/api:1.0", "team/api", "1.0", "never", {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 3},
              expect_scan=True, expect_event=True, expect_alert="threshold_breached",
              expect_breached=("CRITICAL",), expect_highest="CRITICAL", why="CRITICAL 1 > 0"),
    ImageCase("team/api:1.1", "team/api", "1.1", "never", {"HIGH": 2, "MEDIUM": 7, "LOW": 4},
              expect_scan=True, expect_event=True, expect_highest="HIGH", why="HIGH 2 is at its threshold"),
    ImageCase("team/api@untagged", "team/api", None, "never", {"HIGH": 3},
              expect_scan=True, expect_event=True, expect_alert="threshold_breached",
              expect_breached=("HIGH",), expect_highest="HIGH", why="HIGH 3 > 2"),
    ImageCase("team/api:0.9", "team/api", "0.9", "expired", {"HIGH": 5},
              expect_scan=True, why="last scan 30 days old"),
    ImageCase("team/web:stable", "team/web", "stable", "fresh", {"LOW": 1}, why="scanned yesterday"),
    ImageCase("team/web:edge", "team/web", "edge", "never", failed=True,
              expect_scan=True, expect_event=True, expect_alert="scan_failed", why="scan FAILED"),
    ImageCase("team/web:legacy", "team/web", "legacy", "never", {"HIGH": 1, "MEDIUM": 2, "LOW": 12, "INFORMATIONAL": 3},
              expect_scan=True, expect_event=True, expect_highest="HIGH", why="below the thresholds"),
    ImageCase("team/scratch:wip", "team/scratch", "wip", "never", why="repository excluded"),
    ImageCase("team/scratch:push", "team/scratch", "push", "on_push", {"CRITICAL": 4},
              expect_event=True, expect_highest="CRITICAL", why="repository excluded"),
    ImageCase("tools/builder:1", "tools/builder", "1", "never", why="repository not included"),
)
# fmt: on

SELECTED_REPOSITORIES = ("team/api", "team/web")
#: The teams of tests/e2e/root (by repository_regex), with the module's thresholds for api: the alerts above hold.
OWNERS = {"team/api": "api", "team/web": "web"}
#: The thresholds each owner's alerts are evaluated with (api: the module's; web: CRITICAL only).
TEAM_THRESHOLDS = {"api": THRESHOLDS, "web": {"CRITICAL": 0, "HIGH": None, "MEDIUM": None, "LOW": None}}
REPOSITORIES = tuple(dict.fromkeys(case.repository for case in CASES))


@dataclass
class SeededImage:
    case: ImageCase
    digest: str
    # The completion time ECR reports for the scan that finishes during the run (None: no scan finishes).
    completes_at: datetime | None = None


@dataclass
class SeededRegistry:
    seeded_at: datetime
    images: list[SeededImage]
    findings_injected: bool  # False when the target could not set scan results (LocalStack)

    def by_label(self, label: str) -> SeededImage:
        return next(image for image in self.images if image.case.label == label)

    def by_digest(self, digest: str) -> SeededImage | None:
        return next((image for image in self.images if image.digest == digest), None)


def seed(seeder: RegistrySeeder, now: datetime | None = None) -> SeededRegistry:
    """Create the sample registry through ``seeder``. A target that cannot inject scan results gets the
    repositories and images only (``findings_injected`` False)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    for repository in REPOSITORIES:
        seeder.create_repository(repository)
    images = []
    for case in CASES:
        digest = seeder.put_image(case.repository, case.tag, seed=case.label)
        images.append(SeededImage(case, digest))
    injected = True
    try:
        for image in images:
            _set_scans(seeder, image, now)
    except Unsupported:
        injected = False
        for image in images:
            image.completes_at = None
    return SeededRegistry(now, images, injected)


def _set_scans(seeder: RegistrySeeder, image: SeededImage, now: datetime) -> None:
    case = image.case
    if case.failed:
        report = ScanReport("FAILED", now, {}, FAILURE_REASON)
    else:
        report = ScanReport("COMPLETE", now, dict(case.counts))
    if case.history == "never":
        seeder.set_next_scan_result(case.repository, image.digest, case.tag, report)
        image.completes_at = now if case.expect_event else None
    elif case.history == "on_push":
        seeder.set_past_scan(case.repository, image.digest, case.tag, report)
        image.completes_at = now
    else:
        age = timedelta(days=30) if case.history == "expired" else timedelta(days=1)
        past = ScanReport(report.status, now - age, report.counts, report.description)
        seeder.set_past_scan(case.repository, image.digest, case.tag, past)
