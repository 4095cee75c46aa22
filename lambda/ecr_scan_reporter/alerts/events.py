"""ECR / Inspector scan events -> one typed :class:`ScanResult`.

Two EventBridge shapes are accepted (documented samples under ``tests/unit/fixtures/events/``):

- ``aws.ecr`` / ``ECR Image Scan`` (basic scanning): ``detail.scan-status`` COMPLETE or FAILED, the repository
  by name, the account and region from the event envelope.
- ``aws.inspector2`` / ``Inspector2 Scan`` (enhanced scanning): ``detail.scan-status`` e.g.
  INITIAL_SCAN_COMPLETE, ``detail.repository-name`` given as a repository ARN, counts including ``TOTAL``.
  Inspector reports CRITICAL, HIGH, MEDIUM and TOTAL only: a severity it leaves out (LOW) is absent from
  ``severity_counts``, never 0 (the findings stage reads the real count from Inspector).

and, through :func:`parse_finding_event` (or :func:`parse_any`), ``aws.inspector2`` / ``Inspector2 Finding``: one
finding of an ECR image created, updated or closed by continuous scanning -> :class:`FindingEvent` (the image and
the finding's id, severity and status).

Anything malformed raises :class:`MalformedEvent` naming what is wrong; a well-formed event that is not an ECR
image scan (another detail-type, an Inspector scan of an EC2 instance or Lambda function) raises
:class:`UnsupportedEvent`. Nothing here calls AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

from ecr_scan_reporter.core.config import SEVERITIES

COMPLETE: Final = "COMPLETE"
FAILED: Final = "FAILED"
#: Every severity ECR reports (most severe first); the first four are the ones with thresholds.
ALL_SEVERITIES: tuple[str, ...] = (*SEVERITIES, "INFORMATIONAL", "UNDEFINED")

_KINDS: Mapping[str, tuple[Literal["ecr", "inspector2"], str]] = {
    "aws.ecr": ("ecr", "ECR Image Scan"),
    "aws.inspector2": ("inspector2", "Inspector2 Scan"),
}
_STATUS_MAP: Mapping[str, Mapping[str, str]] = {
    "ecr": {"COMPLETE": COMPLETE, "FAILED": FAILED},
    "inspector2": {"INITIAL_SCAN_COMPLETE": COMPLETE},
}
_REPOSITORY_ARN = re.compile(r"^arn:aws[a-z-]*:ecr:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):repository/(?P<name>.+)$")
_ACCOUNT = re.compile(r"^\d{12}$")


class MalformedEvent(ValueError):
    """The event lacks a field or has one of the wrong type; the message names it."""


class UnsupportedEvent(ValueError):
    """A well-formed event that is not a scan of an ECR image (nothing to report)."""


@dataclass(frozen=True)
class ScanResult:
    source: Literal["ecr", "inspector2"]
    status: str  # COMPLETE, FAILED, or the event's own status upper-cased when it is neither
    repository: str
    registry_id: str
    region: str
    image_digest: str
    image_tags: tuple[str, ...]
    severity_counts: Mapping[str, int]  # upper-case keys from ALL_SEVERITIES; the four thresholded ones always set
    scan_completed_at: datetime

    @property
    def display_name(self) -> str:
        """The image's tags joined, or its digest when untagged."""
        return ", ".join(self.image_tags) or self.image_digest


def parse(event: Any) -> ScanResult:
    """Parse an EventBridge ECR/Inspector scan event; raise MalformedEvent or UnsupportedEvent."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"event must be a JSON object, got {type(event).__name__}")
    source_name = _string(event, "source", "event")
    if source_name not in _KINDS:
        raise UnsupportedEvent(f"source {source_name!r} is not aws.ecr or aws.inspector2")
    source, detail_type = _KINDS[source_name]
    if event.get("detail-type") != detail_type:
        raise UnsupportedEvent(f"detail-type {event.get('detail-type')!r} is not {detail_type!r} for {source_name}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("detail is missing or not an object" if detail is None else "detail is not an object")
    if source == "inspector2" and "repository-name" not in detail and "image-digest" not in detail:
        raise UnsupportedEvent("Inspector2 Scan event is not for an ECR image (no repository-name or image-digest)")

    raw_status = _string(detail, "scan-status", "detail").upper()
    status = _STATUS_MAP[source].get(raw_status, raw_status)
    repository, registry_id, region = _repository(event, detail)
    return ScanResult(
        source=source,
        status=status,
        repository=repository,
        registry_id=registry_id,
        region=region,
        image_digest=_string(detail, "image-digest", "detail"),
        image_tags=_tags(detail),
        severity_counts=_counts(detail) if source == "ecr" else _unreported(_counts(detail), detail),
        scan_completed_at=_time(event),
    )


FINDING_DETAIL_TYPE: Final = "Inspector2 Finding"


@dataclass(frozen=True)
class FindingEvent:
    """One ``Inspector2 Finding`` event about an ECR image: which image, and which finding changed how."""

    repository: str
    registry_id: str
    region: str
    image_digest: str
    image_tags: tuple[str, ...]
    finding_id: str  # the vulnerability id (e.g. a CVE), or the title when there is none
    severity: str  # upper-case as Inspector reports it (UNTRIAGED included)
    status: str  # ACTIVE, CLOSED or SUPPRESSED
    finding_arn: str | None
    time: datetime

    @property
    def image_key(self) -> tuple[str, str, str, str]:
        """(region, registry, repository, digest): what a burst of events is grouped by."""
        return (self.region, self.registry_id, self.repository, self.image_digest)


def parse_any(event: Any) -> ScanResult | FindingEvent:
    """:func:`parse_finding_event` for ``Inspector2 Finding`` events, :func:`parse` for everything else."""
    if isinstance(event, Mapping) and event.get("detail-type") == FINDING_DETAIL_TYPE:
        return parse_finding_event(event)
    return parse(event)


def parse_finding_event(event: Any) -> FindingEvent:
    """Parse an ``Inspector2 Finding`` event; raise MalformedEvent, or UnsupportedEvent when it is not about an
    ECR image (an EC2 instance, a Lambda function)."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"event must be a JSON object, got {type(event).__name__}")
    if event.get("source") != "aws.inspector2" or event.get("detail-type") != FINDING_DETAIL_TYPE:
        raise UnsupportedEvent(f"not an aws.inspector2 {FINDING_DETAIL_TYPE!r} event")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("detail is missing or not an object" if detail is None else "detail is not an object")
    resources = detail.get("resources")
    if not isinstance(resources, list):
        raise MalformedEvent("detail.resources must be a list")
    image = next((r for r in resources if isinstance(r, Mapping) and r.get("type") == "AWS_ECR_CONTAINER_IMAGE"), None)
    if image is None:
        types = sorted({str(r.get("type")) for r in resources if isinstance(r, Mapping)})
        raise UnsupportedEvent(f"Inspector2 Finding is not about an ECR image (resources: {', '.join(types)})")
    ecr = (image.get("details") or {}).get("awsEcrContainerImage")
    if not isinstance(ecr, Mapping):
        raise MalformedEvent("detail.resources[].details.awsEcrContainerImage is missing or not an object")
    where = "detail.resources[].details.awsEcrContainerImage"
    registry = _string(ecr, "registry", where)
    if not _ACCOUNT.match(registry):
        raise MalformedEvent(f"{where}.registry {registry!r} is not a 12-digit account id")
    region = str(image.get("region") or "")
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):  # the ECR guide's sample says "N/A"
        region = _string(event, "region", "event")
    tags = ecr.get("imageTags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise MalformedEvent(f"{where}.imageTags must be a list of non-empty strings, got {tags!r}")
    details = detail.get("packageVulnerabilityDetails") or {}
    finding_id = details.get("vulnerabilityId") if isinstance(details, Mapping) else None
    finding_id = finding_id if isinstance(finding_id, str) and finding_id.strip() else detail.get("title")
    if not isinstance(finding_id, str) or not finding_id.strip():
        raise MalformedEvent("detail has neither packageVulnerabilityDetails.vulnerabilityId nor a title")
    arn = detail.get("findingArn")
    return FindingEvent(
        repository=_string(ecr, "repositoryName", where),
        registry_id=registry,
        region=region,
        image_digest=_string(ecr, "imageHash", where),
        image_tags=tuple(tags),
        finding_id=finding_id.strip(),
        severity=_string(detail, "severity", "detail").upper(),
        status=_string(detail, "status", "detail").upper(),
        finding_arn=arn if isinstance(arn, str) and arn else None,
        time=_time(event),
    )


def _unreported(counts: Mapping[str, int], detail: Mapping[str, Any]) -> Mapping[str, int]:
    """Inspector's counts without the thresholded severities it did not report (LOW): absent, never 0."""
    raw = detail.get("finding-severity-counts")
    reported = {str(k).upper() for k in raw} if isinstance(raw, Mapping) else set()
    return MappingProxyType({s: n for s, n in counts.items() if s not in SEVERITIES or s in reported})


def _string(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if value is None:
        raise MalformedEvent(f"{where}.{key} is missing")
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{where}.{key} must be a non-empty string, got {value!r}")
    return value.strip()


def _repository(event: Mapping[str, Any], detail: Mapping[str, Any]) -> tuple[str, str, str]:
    """(name, registry id, region): from a repository ARN when given one, else the name and the envelope."""
    name = _string(detail, "repository-name", "detail")
    arn = _REPOSITORY_ARN.match(name)
    if arn:
        return arn["name"], arn["account"], arn["region"]
    if name.startswith("arn:"):
        raise MalformedEvent(f"detail.repository-name {name!r} is not an ECR repository ARN")
    account = _string(event, "account", "event")
    if not _ACCOUNT.match(account):
        raise MalformedEvent(f"event.account {account!r} is not a 12-digit account id")
    return name, account, _string(event, "region", "event")


def _tags(detail: Mapping[str, Any]) -> tuple[str, ...]:
    tags = detail.get("image-tags")
    if tags is None:
        return ()
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise MalformedEvent(f"detail.image-tags must be a list of non-empty strings, got {tags!r}")
    return tuple(tags)


def _counts(detail: Mapping[str, Any]) -> Mapping[str, int]:
    """AWS reports a severity only when it has findings, so an absent object means none (a clean image).

    Keys are matched case-insensitively. Two spellings of one severity (``{"CRITICAL": 5, "critical": 0}``; AWS
    never sends that) keep the larger count: whichever was meant, the larger one cannot hide a breach, whereas
    refusing the event would turn a possible breach into a log line nobody is paged for. Each value is still
    checked on its own.
    """
    raw = detail.get("finding-severity-counts")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise MalformedEvent(f"detail.finding-severity-counts must be an object, got {type(raw).__name__}")
    counts = dict.fromkeys(SEVERITIES, 0)
    seen: set[str] = set()
    for key, value in raw.items():
        severity = str(key).upper()
        if severity not in ALL_SEVERITIES:
            continue  # TOTAL (Inspector) and anything unknown
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MalformedEvent(f"detail.finding-severity-counts.{key} must be a non-negative integer, got {value!r}")
        counts[severity] = max(value, counts[severity]) if severity in seen else value
        seen.add(severity)
    return MappingProxyType({s: counts[s] for s in ALL_SEVERITIES if s in counts})


def _time(event: Mapping[str, Any]) -> datetime:
    raw = _string(event, "time", "event")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise MalformedEvent(f"event.time {raw!r} is not an ISO-8601 timestamp") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
