"""The scan expiry (pure): is a scan older than ``scan_expiry_days``? The sweep rescans such images, the report
counts them as not covered. "Expired" means strictly older than ``expiry_days`` whole days: a scan exactly
``expiry_days`` old is still fresh. Naive datetimes are UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def scan_expired(completed_at: datetime, now: datetime, expiry_days: int) -> bool:
    """True when ``completed_at`` is strictly more than ``expiry_days`` days before ``now`` (naive = UTC)."""
    if expiry_days < 1:
        raise ValueError(f"expiry_days must be at least 1, got {expiry_days}")
    return as_utc(now) - as_utc(completed_at) > timedelta(days=expiry_days)


def as_utc(value: datetime) -> datetime:
    """``value`` with UTC as its time zone when it has none."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
