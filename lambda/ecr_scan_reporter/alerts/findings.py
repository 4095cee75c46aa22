"""Reading an image's findings into typed records: ECR basic, ECR enhanced (AWS_NATIVE / Inspector) and Inspector's
own findings API, all into one :class:`ImageFindings` of :class:`Finding` (both defined in the pure
``core/finding_types.py``, with ``SEVERITY_ORDER``, and importable from here too).

- :func:`read_image_findings`: DescribeImageScanFindings by ``imageDigest``, every page. Basic scanning lists
  ``findings`` (``name``, ``uri``, ``severity``, ``attributes`` such as ``package_name``, ``package_version``,
  ``CVSS3_SCORE``); enhanced scanning lists ``enhancedFindings`` (``packageVulnerabilityDetails`` with the
  vulnerable packages and their ``fixedInVersion``, ``score``). Both lists are read when both are present.
- :func:`read_inspector_findings`: inspector2 ListFindings filtered to one image (registry, repository, digest),
  active findings only, every page. Inspector reports every severity it found, LOW included, so its counts are the
  real ones where an ``Inspector2 Scan`` event leaves LOW out.

Nothing here decides anything: thresholds, suppressions and ordering for a message live elsewhere. AWS errors
propagate except "no such repository / image / scan", which become :class:`FindingsNotFound`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from botocore.exceptions import ClientError

# The types live in a pure module (the renderer needs them without botocore); importers here keep working.
from ecr_scan_reporter.core.finding_types import SEVERITY_ORDER, Finding, ImageFindings, Origin

ECR_PAGE_SIZE: Final = 1000  # DescribeImageScanFindings maximum
INSPECTOR_PAGE_SIZE: Final = 100  # ListFindings maximum
#: Scan statuses whose ``description`` explains why there are no findings.
FAILURE_STATUSES: frozenset[str] = frozenset(
    {"FAILED", "UNSUPPORTED_IMAGE", "SCAN_ELIGIBILITY_EXPIRED", "FINDINGS_UNAVAILABLE", "LIMIT_EXCEEDED"}
)
_NOT_FOUND = {"RepositoryNotFoundException", "ImageNotFoundException", "ScanNotFoundException"}
_NO_FIX = {None, "NotAvailable", "None", "N/A"}  # Inspector writes "NotAvailable" when no fixed version is known


class FindingsNotFound(LookupError):
    """The repository, the image or its scan does not exist (ECR's error code is in the message)."""


def read_image_findings(ecr: Any, registry_id: str | None, repository: str, digest: str) -> ImageFindings:
    """Every finding of the image's last scan (DescribeImageScanFindings by digest, all pages)."""
    request: dict[str, Any] = {
        "repositoryName": repository,
        "imageId": {"imageDigest": digest},
        "maxResults": ECR_PAGE_SIZE,
    }
    if registry_id:
        request["registryId"] = registry_id
    found: list[Finding] = []
    first: Mapping[str, Any] | None = None
    for page in _pages(ecr.describe_image_scan_findings, request, "DescribeImageScanFindings"):
        first = first or page
        scan = page.get("imageScanFindings") or {}
        found += (parse_basic(raw) for raw in scan.get("findings") or ())
        found += (parse_enhanced(raw) for raw in scan.get("enhancedFindings") or ())
    assert first is not None  # _pages yields at least one page
    status_obj = first.get("imageScanStatus") or {}
    scan = first.get("imageScanFindings") or {}
    status = _str(status_obj.get("status"))
    description = _str(status_obj.get("description"))
    return ImageFindings(
        findings=tuple(found),
        status=status.upper() if status else None,
        completed_at=_time(scan.get("imageScanCompletedAt")),
        severity_counts=_counts(scan.get("findingSeverityCounts")),
        failure_reason=description if status and status.upper() in FAILURE_STATUSES else None,
    )


def inspector_filter(registry_id: str, repository: str, digest: str) -> dict[str, Any]:
    """ListFindings criteria: the image's active findings (registry, repository and digest all equal)."""

    def equals(value: str) -> list[dict[str, str]]:
        return [{"comparison": "EQUALS", "value": value}]

    return {
        "resourceType": equals("AWS_ECR_CONTAINER_IMAGE"),
        "ecrImageRegistry": equals(registry_id),
        "ecrImageRepositoryName": equals(repository),
        "ecrImageHash": equals(digest),
        "findingStatus": equals("ACTIVE"),
    }


def read_inspector_findings(inspector2: Any, registry_id: str, repository: str, digest: str) -> ImageFindings:
    """Inspector's active findings for one image (ListFindings, all pages). The counts are computed from them, so
    every severity Inspector found is there, LOW included."""
    request = {"filterCriteria": inspector_filter(registry_id, repository, digest), "maxResults": INSPECTOR_PAGE_SIZE}
    found: list[Finding] = []
    latest: datetime | None = None
    for page in _pages(inspector2.list_findings, request, "ListFindings"):
        for raw in page.get("findings") or ():
            if _str(raw.get("status")) not in (None, "ACTIVE"):
                continue  # the filter asks for ACTIVE; a closed or suppressed one is never counted
            found.append(parse_enhanced(raw, origin="inspector2"))
            updated = _time(raw.get("updatedAt")) or _time(raw.get("lastObservedAt"))
            if updated is not None and (latest is None or updated > latest):
                latest = updated
    return ImageFindings(
        findings=tuple(found),
        status="ACTIVE",
        completed_at=latest,
        severity_counts=count_by_severity(found),
        failure_reason=None,
    )


def count_by_severity(findings: Iterable[Finding]) -> Mapping[str, int]:
    """Findings per severity (only severities with findings), most severe first."""
    counts = Counter(f.severity for f in findings)
    return MappingProxyType({s: counts[s] for s in SEVERITY_ORDER if counts[s]})


def parse_basic(raw: Mapping[str, Any]) -> Finding:
    """One ``imageScanFindings.findings`` entry (basic scanning)."""
    attributes = {
        str(a.get("key")): a.get("value")
        for a in raw.get("attributes") or ()
        if isinstance(a, Mapping) and a.get("key") is not None
    }
    return Finding(
        id=_str(raw.get("name")) or "unnamed finding",
        severity=severity(raw.get("severity")),
        package_name=_str(attributes.get("package_name")),
        package_version=_str(attributes.get("package_version")),
        fixed_in=None,  # basic scanning does not report fixed versions
        url=_str(raw.get("uri")),
        score=_float(attributes.get("CVSS3_SCORE")) or _float(attributes.get("CVSS2_SCORE")),
        origin="basic",
    )


def parse_enhanced(raw: Mapping[str, Any], origin: Origin = "enhanced") -> Finding:
    """One ``enhancedFindings`` entry, or one Inspector finding (ListFindings, or an ``Inspector2 Finding`` event's
    detail): the same shape, except Inspector's score is ``inspectorScore`` where ECR's is ``score``."""
    details = raw.get("packageVulnerabilityDetails") or {}
    packages = [p for p in details.get("vulnerablePackages") or () if isinstance(p, Mapping)]
    names = _distinct(p.get("name") for p in packages)
    fixes = _distinct(p.get("fixedInVersion") for p in packages if _str(p.get("fixedInVersion")) not in _NO_FIX)
    cvss = [_float(c.get("baseScore")) for c in details.get("cvss") or () if isinstance(c, Mapping)]
    score = _float(raw.get("score")) if "score" in raw else _float(raw.get("inspectorScore"))
    if score is None:
        score = max((c for c in cvss if c is not None), default=None)
    references = [u for u in details.get("referenceUrls") or () if isinstance(u, str) and u]
    recommendation = (raw.get("remediation") or {}).get("recommendation") or {}
    advice = _str(recommendation.get("url") or recommendation.get("Url"))  # ECR: url, Inspector: Url
    return Finding(
        id=_str(details.get("vulnerabilityId")) or _str(raw.get("title")) or _str(raw.get("findingArn")) or "unnamed",
        severity=severity(raw.get("severity")),
        package_name=", ".join(names) or None,
        package_version=", ".join(_distinct(p.get("version") for p in packages)) or None,
        fixed_in=", ".join(fixes) or None,
        url=_str(details.get("sourceUrl")) or next(iter(references), None) or advice,
        score=score,
        epss=_float((raw.get("epss") or {}).get("score")),
        origin=origin,
        finding_arn=_str(raw.get("findingArn")),
        fix_available=_yes_no(raw.get("fixAvailable"), yes=("YES", "PARTIAL")),
        exploit_available=_yes_no(raw.get("exploitAvailable")),
    )


def _yes_no(value: Any, yes: tuple[str, ...] = ("YES",)) -> bool | None:
    """Inspector's YES / PARTIAL / NO fields; None when absent or unknown."""
    text = (_str(value) or "").upper()
    if text in yes:
        return True
    return False if text == "NO" else None


def severity(value: Any) -> str:
    """Upper-case severity from SEVERITY_ORDER; Inspector's UNTRIAGED and anything unknown are UNDEFINED."""
    text = str(value or "").strip().upper()
    return text if text in SEVERITY_ORDER else "UNDEFINED"


def _pages(call: Any, request: dict[str, Any], operation: str) -> Iterator[Mapping[str, Any]]:
    """Every page of a nextToken-paginated call; a token seen twice ends the loop with an error (never spins)."""
    seen: set[str] = set()
    token: str | None = None
    while True:
        try:
            page = call(**request, **({"nextToken": token} if token else {}))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _NOT_FOUND:
                message = exc.response.get("Error", {}).get("Message", "")
                raise FindingsNotFound(f"{operation}: {code}: {message}") from exc
            raise
        yield page
        token = page.get("nextToken")
        if not token:
            return
        if token in seen:
            raise RuntimeError(f"{operation} returned the same nextToken twice; stopping instead of looping")
        seen.add(token)


def _distinct(values: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = _str(value)
        if text and text not in out:
            out.append(text)
    return out


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is not a score


def _counts(raw: Any) -> Mapping[str, int]:
    if not isinstance(raw, Mapping):
        return MappingProxyType({})
    counts: dict[str, int] = {}
    for key, value in raw.items():
        name = severity(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            counts[name] = counts.get(name, 0) + value
    return MappingProxyType({s: counts[s] for s in SEVERITY_ORDER if s in counts})


def _time(value: Any) -> datetime | None:
    """boto3 gives datetimes; the documented samples show epoch seconds and ISO-8601 strings: accept all three."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None
