"""Pure: an image's findings in breach -> AWS Security Finding Format (ASFF) findings, one per image and
vulnerability, and what the export remembers of them (the ledger's ``securityhub_findings``).

A finding's ``Id`` is stable, ``<registry>/<repository>@<digest>/<vulnerability id>``, so importing it again
updates it in Security Hub. Its content digest (:func:`content_digest`) leaves out the times and the workflow: an
identical rescan gives the same digests and the same :func:`fingerprint`, and nothing is imported again.
A finding no longer in breach (fixed, suppressed, below the thresholds, or the image clean) is sent in its
resolved form (:func:`resolved`: ``Workflow.Status`` RESOLVED, ``RecordState`` ARCHIVED) from what the ledger
kept of it (its severity and first import time), since its details are gone.

No AWS SDK import: this module renders dicts; ``export.py`` sends them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecr_scan_reporter.core.finding_types import SEVERITY_ORDER, Finding

SCHEMA_VERSION = "2018-10-08"
FINDING_TYPE = "Software and Configuration Checks/Vulnerabilities/CVE"
GENERATOR = {"basic": "ecr-scan-reporter/ecr-basic-scan", "enhanced": "ecr-scan-reporter/inspector2"}
#: ASFF's limits: Title 256 characters, Description 1024, SourceUrl and ids 512 (the API refuses longer).
TITLE_MAX, DESCRIPTION_MAX, ID_MAX = 256, 1024, 512
#: ECR's UNDEFINED has no ASFF label; Security Hub's lowest is INFORMATIONAL.
LABELS = {"CRITICAL": "CRITICAL", "HIGH": "HIGH", "MEDIUM": "MEDIUM", "LOW": "LOW", "INFORMATIONAL": "INFORMATIONAL"}
DIGEST_CHARS = 16
_VOLATILE = ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt", "Workflow", "RecordState")


@dataclass(frozen=True)
class Image:
    """The image the findings are about, and where they are imported (``product_arn``: the account's default
    product, ``arn:<partition>:securityhub:<region>:<account>:product/<account>/default``)."""

    registry_id: str
    repository: str
    digest: str
    region: str
    tags: tuple[str, ...]
    product_arn: str

    @property
    def partition(self) -> str:
        return self.product_arn.split(":")[1]

    @property
    def account(self) -> str:
        return self.product_arn.split(":")[4]

    @property
    def resource_arn(self) -> str:
        """The image's ARN as Inspector names it in Security Hub: the repository ARN then ``/<digest>``."""
        return f"arn:{self.partition}:ecr:{self.region}:{self.registry_id}:repository/{self.repository}/{self.digest}"

    def finding_id(self, vulnerability_id: str) -> str:
        return f"{self.registry_id}/{self.repository}@{self.digest}/{vulnerability_id}"[:ID_MAX]


@dataclass(frozen=True)
class Exported:
    """What the ledger keeps of one exported finding: its severity label, content digest and first import."""

    severity: str
    digest: str
    first_at: datetime

    def encode(self) -> str:
        return f"{self.severity} {self.digest} {int(self.first_at.timestamp())}"

    @classmethod
    def decode(cls, text: str) -> Exported | None:
        """None for an entry this version cannot read (it is then imported again, never silently dropped)."""
        parts = text.split(" ")
        if len(parts) != 3 or parts[0] not in LABELS.values() or not parts[2].isdigit():
            return None
        return cls(parts[0], parts[1], datetime.fromtimestamp(int(parts[2]), UTC))


def label(severity: str) -> str:
    return LABELS.get(severity.upper(), "INFORMATIONAL")


def in_breach(findings: Iterable[Finding], breached: Sequence[str], exploitable: Iterable[str] = ()) -> list[Finding]:
    """The findings to export: those at a breached severity, and those that breach as exploitable (a team's
    ``alert_on_exploitable``), one per vulnerability id, most severe first."""
    severities, forced = set(breached), set(exploitable)
    chosen: dict[str, Finding] = {}
    for finding in findings:
        if (finding.severity in severities or finding.id in forced) and finding.id not in chosen:
            chosen[finding.id] = finding
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(chosen.values(), key=lambda f: (rank.get(f.severity, len(rank)), f.id))


def finding(
    image: Image,
    found: Finding,
    now: datetime,
    first_at: datetime | None = None,
    observed_at: datetime | None = None,
) -> dict[str, Any]:
    """One active ASFF finding (``first_at``: when it was first imported, default ``now``; ``observed_at``: the
    scan's completion)."""
    first = _time(first_at or now)
    package = found.package_name or "an unnamed package"
    version = f" {found.package_version}" if found.package_version else ""
    fix = f" Fixed in {found.fixed_in}." if found.fixed_in else ""
    scanner = "Amazon Inspector (ECR enhanced scanning)" if found.origin != "basic" else "ECR basic scanning"
    description = (
        f"{found.id} ({found.severity}) affects {package}{version} in the image {image.repository}@{image.digest}"
        f"{' (tags: ' + ', '.join(image.tags) + ')' if image.tags else ''}, reported by {scanner}.{fix}"
    )
    vulnerability: dict[str, Any] = {"Id": found.id}
    package_entry = {
        k: v
        for k, v in (
            ("Name", found.package_name),
            ("Version", found.package_version),
            ("FixedInVersion", found.fixed_in),
        )
        if v
    }
    if package_entry:
        vulnerability["VulnerablePackages"] = [package_entry]
    if found.score is not None:
        vulnerability["Cvss"] = [{"BaseScore": float(found.score)}]
    if found.epss is not None:
        vulnerability["EpssScore"] = float(found.epss)
    if found.exploit_available is not None:
        vulnerability["ExploitAvailable"] = "YES" if found.exploit_available else "NO"
    if found.fix_available is not None:
        vulnerability["FixAvailable"] = "YES" if found.fix_available else "NO"
    elif found.fixed_in:
        vulnerability["FixAvailable"] = "YES"
    if found.url:
        vulnerability["ReferenceUrls"] = [found.url[:ID_MAX]]
    body: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": image.finding_id(found.id),
        "ProductArn": image.product_arn,
        "GeneratorId": GENERATOR["basic" if found.origin == "basic" else "enhanced"],
        "AwsAccountId": image.account,
        "Types": [FINDING_TYPE],
        "CreatedAt": first,
        "UpdatedAt": _time(now),
        "FirstObservedAt": first,
        "LastObservedAt": _time(observed_at or now),
        "Severity": {"Label": label(found.severity), "Original": found.severity},
        "Title": f"{found.id} in {package} ({image.repository})"[:TITLE_MAX],
        "Description": description[:DESCRIPTION_MAX],
        "Resources": [_resource(image)],
        "Vulnerabilities": [vulnerability],
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
    }
    if found.url:
        body["SourceUrl"] = found.url[:ID_MAX]
    if found.fixed_in:
        body["Remediation"] = {"Recommendation": {"Text": f"Update {package} to {found.fixed_in}."[:512]}}
    return body


def resolved(
    image: Image, vulnerability_id: str, kept: Exported | None, now: datetime, deleted: bool = False
) -> dict[str, Any]:
    """The resolved form of a finding no longer in breach (``deleted``: the image was deleted from ECR), from what
    the ledger kept of it."""
    first = _time(kept.first_at if kept is not None else now)
    if deleted:
        title = f"{vulnerability_id}: image deleted ({image.repository})"
        why = f"{vulnerability_id} is resolved: the image {image.repository}@{image.digest} was deleted from ECR."
    else:
        title = f"{vulnerability_id} no longer in breach ({image.repository})"
        why = (
            f"{vulnerability_id} is no longer in breach in the image {image.repository}@{image.digest}: fixed, "
            "accepted (suppressed) or within the thresholds at the latest scan."
        )
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": image.finding_id(vulnerability_id),
        "ProductArn": image.product_arn,
        "GeneratorId": GENERATOR["basic"],
        "AwsAccountId": image.account,
        "Types": [FINDING_TYPE],
        "CreatedAt": first,
        "UpdatedAt": _time(now),
        "FirstObservedAt": first,
        "Severity": {"Label": kept.severity if kept is not None else "INFORMATIONAL"},
        "Title": title[:TITLE_MAX],
        "Description": why[:DESCRIPTION_MAX],
        "Resources": [_resource(image)],
        "Vulnerabilities": [{"Id": vulnerability_id}],
        "Workflow": {"Status": "RESOLVED"},
        "RecordState": "ARCHIVED",
    }


def content_digest(body: Mapping[str, Any]) -> str:
    """The digest of what a finding says (times and workflow left out)."""
    content = {k: v for k, v in body.items() if k not in _VOLATILE}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def fingerprint(digests: Mapping[str, str]) -> str:
    """The fingerprint of an exported set: vulnerability id -> content digest (the empty set has one too)."""
    text = "\n".join(f"{k}={v}" for k, v in sorted(digests.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _resource(image: Image) -> dict[str, Any]:
    details: dict[str, Any] = {
        "RegistryId": image.registry_id,
        "RepositoryName": image.repository,
        "ImageDigest": image.digest,
    }
    if image.tags:
        details["ImageTags"] = list(image.tags)
    return {
        "Type": "AwsEcrContainerImage",
        "Id": image.resource_arn[:ID_MAX],
        "Partition": image.partition,
        "Region": image.region,
        "Details": {"AwsEcrContainerImage": details},
    }


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
