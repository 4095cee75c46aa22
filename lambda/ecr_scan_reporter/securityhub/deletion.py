"""Pure: an ECR image deletion (``aws.ecr`` / ``ECR Image Action``, ``action-type`` DELETE, ``result`` SUCCESS; the
documented sample is ``tests/unit/fixtures/events/ecr-eventbridge-doc_ecr-image-action-delete.json``) -> one typed
:class:`ImageDeleted`, and the resolved form of what the ledger says was exported for the image.

ECR sends the event for a tag removed as well as for an image deleted (``image-tag`` names the tag; a delete by
digest may name none): whether the digest itself is gone is asked of ECR afterwards (``export.resolve_deleted``),
never decided from the event.

A malformed event raises :class:`MalformedEvent` naming what is wrong; a well-formed image action that is not a
successful deletion (a PUSH, a FAILURE) raises :class:`UnsupportedEvent`. Nothing here calls AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from ecr_scan_reporter.securityhub import asff

if TYPE_CHECKING:  # the ledger module reads DynamoDB: its record type only
    from ecr_scan_reporter.core import ledger

SOURCE: Final = "aws.ecr"
DETAIL_TYPE: Final = "ECR Image Action"
_ACCOUNT = re.compile(r"^\d{12}$")


class MalformedEvent(ValueError):
    """The event lacks a field or has one of the wrong type; the message names it."""


class UnsupportedEvent(ValueError):
    """A well-formed image action that is not a successful deletion (nothing to resolve)."""


@dataclass(frozen=True)
class ImageDeleted:
    """A successful ``DELETE`` image action: the image (by digest) and the tag it named, if any."""

    repository: str
    registry_id: str
    region: str
    image_digest: str
    image_tag: str | None
    time: datetime


def is_image_action(event: Any) -> bool:
    """Whether ``event`` claims to be an ECR image action (then :func:`parse` decides the rest)."""
    return isinstance(event, Mapping) and event.get("source") == SOURCE and event.get("detail-type") == DETAIL_TYPE


def parse(event: Any) -> ImageDeleted:
    """Parse an ``ECR Image Action`` event; raise MalformedEvent or UnsupportedEvent."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"event must be a JSON object, got {type(event).__name__}")
    if not is_image_action(event):
        raise UnsupportedEvent(f"not an {SOURCE} {DETAIL_TYPE!r} event")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("detail is missing or not an object" if detail is None else "detail is not an object")
    action = _string(detail, "action-type", "detail").upper()
    if action != "DELETE":
        raise UnsupportedEvent(f"detail.action-type {action!r} is not DELETE")
    result = _string(detail, "result", "detail").upper()
    if result != "SUCCESS":
        raise UnsupportedEvent(f"detail.result {result!r} is not SUCCESS: nothing was deleted")
    account = _string(event, "account", "event")
    if not _ACCOUNT.match(account):
        raise MalformedEvent(f"event.account {account!r} is not a 12-digit account id")
    tag = detail.get("image-tag")
    if tag is not None and not isinstance(tag, str):
        raise MalformedEvent(f"detail.image-tag must be a string, got {tag!r}")
    raw_time = _string(event, "time", "event")
    try:
        time = datetime.fromisoformat(raw_time)
    except ValueError:
        raise MalformedEvent(f"event.time {raw_time!r} is not an ISO-8601 timestamp") from None
    return ImageDeleted(
        repository=_string(detail, "repository-name", "detail"),
        registry_id=account,
        region=_string(event, "region", "event"),
        image_digest=_string(detail, "image-digest", "detail"),
        image_tag=(tag.strip() or None) if tag is not None else None,
        time=time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC),
    )


def resolved_bodies(image: asff.Image, record: ledger.LedgerRecord, now: datetime) -> list[dict[str, Any]]:
    """The archived form of every finding the record says is exported (and not archived yet) for a deleted image,
    in the record's order (its workflow: ``export.resolve_workflow``)."""
    return [
        asff.resolved(image, vulnerability_id, entry, now, deleted=True)
        for vulnerability_id, entry in asff.active(record.securityhub_findings).items()
    ]


def _string(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if value is None:
        raise MalformedEvent(f"{where}.{key} is missing")
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{where}.{key} must be a non-empty string, got {value!r}")
    return value.strip()
