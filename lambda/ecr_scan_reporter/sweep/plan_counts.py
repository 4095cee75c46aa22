"""The counts a plan ends with: repositories matched and filtered out, images to scan, fresh, in flight. Pure.

The images' counts are the plan's sweep summaries (``SweepSummary.counts()`` of each repository: every image
considered, and why each one that needs no scan needs none) and the reasons of the images that need one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Images left alone for another reason than "fresh" or "in flight", in the order they are shown.
OTHER = ("failed_recently", "unsupported", "archived", "skipped_filter", "not_found", "not_scannable")
_WORDS = {
    "never_scanned": "never scanned",
    "expired": "expired",
    "failed_recently": "failed recently",
    "unsupported": "unsupported",
    "archived": "archived",
    "skipped_filter": "left out by --only-pulled-within-days/--max-images",
    "not_found": "gone",
    "not_scannable": "not scannable (artifacts ECR cannot scan)",
}


def plan_counts(
    *,
    matched: int,
    filtered_out: int,
    gone: int,
    summaries: Iterable[Mapping[str, int]],
    reasons: Iterable[str],
) -> dict[str, Any]:
    """``{"repositories": {matched, filtered_out, gone}, "images": {considered, to_scan, never_scanned, expired,
    fresh, in_progress, failed_recently, ...}}``. ``matched`` counts the repositories the regexes select (``gone``
    of them vanished while planned); ``reasons`` holds one ``never_scanned``/``expired`` per image to scan."""
    images = {name: 0 for name in ("considered", "to_scan", "never_scanned", "expired", "fresh", "in_progress")}
    images.update(dict.fromkeys(OTHER, 0))
    for counts in summaries:
        for name in ("considered", "fresh", "in_progress", *OTHER):
            images[name] += counts.get(name, 0)
    for reason in reasons:
        images["to_scan"] += 1
        images[reason] += 1
    return {"repositories": {"matched": matched, "filtered_out": filtered_out, "gone": gone}, "images": images}


def render_text(counts: Mapping[str, Any]) -> list[str]:
    """Two lines: the repositories, then the images (other reasons only when there are any)."""
    repos, images = counts["repositories"], counts["images"]
    first = f"repositories: {repos['matched']} matched, {repos['filtered_out']} filtered out"
    if repos["gone"]:
        first += f" ({repos['gone']} of those matched gone while planned)"
    second = (
        f"images: {images['considered']} considered, {images['to_scan']} to scan ({images['never_scanned']} never "
        f"scanned, {images['expired']} expired), {images['fresh']} fresh, {images['in_progress']} in flight"
    )
    others = [f"{images[name]} {_WORDS[name]}" for name in OTHER if images[name]]
    if others:
        second += ", " + ", ".join(others)
    return [first, second]
