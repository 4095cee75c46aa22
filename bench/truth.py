"""The seeded registry as ground truth: which images exist, when each was last scanned, which need a scan.

Everything here is computed from the seed alone, never from the library under test, so the benchmark can judge
the library's decisions ("needed", "wasted", "missed") independently.

The mix (per image, deterministic from a seeded RNG):

==============  =====  ============================================================================
state           share  last basic scan
==============  =====  ============================================================================
never           25 %   none: needs a scan
today           10 %   within the last hour, same calendar day: fresh, and a StartImageScan would be
                       refused with LimitExceededException (one basic scan per image per 24 h)
fresh           25 %   1 day to (expiry - 1) days ago: fresh, no scan needed
expired         40 %   (expiry + 1) to 365 days ago: needs a scan
==============  =====  ============================================================================

Orthogonally 20 % of the images are untagged and 5 % of the tagged ones carry two tags (so a library that works
from ``ListImages`` image ids, one per tag, would scan them twice). Scan ages stay a whole day away from the expiry
boundary so that "needed" never depends on rounding.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MIX: dict[str, float] = {"never": 0.25, "today": 0.10, "fresh": 0.25, "expired": 0.40}
UNTAGGED_SHARE = 0.20
MULTI_TAG_SHARE = 0.05


@dataclass(frozen=True)
class Size:
    """A registry shape: ``repos`` repositories of ``images`` images each."""

    name: str
    repos: int
    images: int

    @property
    def total_images(self) -> int:
        return self.repos * self.images


SIZES: dict[str, Size] = {
    "small": Size("10x100", 10, 100),
    "medium": Size("100x1000", 100, 1_000),
    "large": Size("1x20000", 1, 20_000),
    "huge": Size("1x100000", 1, 100_000),  # with the ledger only: one repository at ECR's default image quota
}
#: Sizes swept in every mode; "huge" runs in ledger-warm mode only.
BASE_SIZES = ("small", "medium", "large")


@dataclass(frozen=True, slots=True)
class SeededImage:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime  # naive local time, like moto's own timestamps
    last_scan: datetime | None  # naive local time (moto stores ``datetime.today()``)
    state: str  # a MIX key


@dataclass
class Registry:
    """Ground truth for one seeded registry (naive local datetimes, as moto keeps them)."""

    size: Size
    now: datetime
    expiry_days: int
    repos: dict[str, list[SeededImage]] = field(default_factory=dict)

    @property
    def total_images(self) -> int:
        return sum(len(images) for images in self.repos.values())

    def needs_scan(self, image: SeededImage) -> bool:
        """The contract (SCAN_EXPIRY_DAYS, no pull filter, no per-repository cap): never scanned, or the last
        scan completed more than ``expiry_days`` ago."""
        return image.last_scan is None or self.now - image.last_scan > timedelta(days=self.expiry_days)

    def needed(self) -> set[tuple[str, str]]:
        """(repository, digest) of every image that needs a scan."""
        return {(repo, img.digest) for repo, images in self.repos.items() for img in images if self.needs_scan(img)}

    def scanned_today(self) -> set[tuple[str, str]]:
        """(repository, digest) of every image whose StartImageScan would be refused (LimitExceededException)."""
        return {(repo, img.digest) for repo, images in self.repos.items() for img in images if img.state == "today"}

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(MIX, 0) | {"untagged": 0, "multi_tag": 0}
        for images in self.repos.values():
            for img in images:
                out[img.state] += 1
                out["untagged"] += not img.tags
                out["multi_tag"] += len(img.tags) > 1
        return out


def repo_name(size: Size, index: int) -> str:
    return f"bench/{size.name}/app-{index:04d}"


def build(size: Size, expiry_days: int = 7, seed: int = 20_240_601, now: datetime | None = None) -> Registry:
    """Deterministic ground truth for ``size`` (same seed, same registry, whatever the machine)."""
    now = now or datetime.now()  # naive local time, like moto's ``datetime.today()``
    rng = random.Random(f"{seed}/{size.name}")
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today_window = max(1.0, min(3600.0, (now - midnight).total_seconds() - 1))
    states = list(MIX)
    weights = [MIX[s] for s in states]
    registry = Registry(size=size, now=now, expiry_days=expiry_days)
    for r in range(size.repos):
        name = repo_name(size, r)
        images: list[SeededImage] = []
        for i in range(size.images):
            state = rng.choices(states, weights)[0]
            if state == "never":
                last_scan = None
            elif state == "today":
                last_scan = now - timedelta(seconds=rng.uniform(0, today_window))
            elif state == "fresh":
                last_scan = now - timedelta(days=rng.uniform(1, expiry_days - 1))
            else:
                last_scan = now - timedelta(days=rng.uniform(expiry_days + 1, 365))
            pushed_at = (last_scan or now) - timedelta(days=rng.uniform(0, 30), seconds=1)
            if rng.random() < UNTAGGED_SHARE:
                tags: tuple[str, ...] = ()
            elif rng.random() < MULTI_TAG_SHARE:
                tags = (f"v{i}", f"build-{i}")
            else:
                tags = (f"v{i}",)
            digest = "sha256:" + hashlib.sha256(f"{name}@{i}".encode()).hexdigest()
            images.append(SeededImage(digest, tags, pushed_at, last_scan, state))
        registry.repos[name] = images
    return registry
