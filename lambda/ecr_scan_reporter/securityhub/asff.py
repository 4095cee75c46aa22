"""Pure: an image's findings in breach -> AWS Security Finding Format (ASFF) findings, one per image and
vulnerability, and what the export remembers of them (the ledger's ``securityhub_findings``).

A finding's ``Id`` is stable, ``<registry>/<repository>@<digest>/<vulnerability id>``, so importing it again
updates it in Security Hub. Its content digest (:func:`content_digest`) leaves out the times, the record state and
the top-level copies of what ``FindingProviderFields`` says: an identical rescan gives the same digests and the same
:func:`fingerprint`, and nothing is imported again.

The forms follow AWS's ``BatchImportFindings`` reference: a provider sets severity and types through
``FindingProviderFields`` (a new finding carries them at the top level as well; an update never does: the
top-level fields are the customer's, ``BatchUpdateFindings``), and never sends ``Workflow`` (a new finding's is
NEW; ``BatchImportFindings`` cannot change it afterwards). A finding no longer in breach (fixed, suppressed, below
the thresholds, the image clean or deleted) is sent in its archived form (:func:`resolved`: ``RecordState``
ARCHIVED) from what the ledger kept of it (its severity and first import time), since its details are gone; its
workflow is set to RESOLVED apart, with ``BatchUpdateFindings`` (``export.py``).

Every field is bounded (:data:`TITLE_MAX` and the others: AWS's documented limits, :data:`FIELD_MAX` where AWS
documents none, the image's tags by :data:`TAGS_MAX_BYTES`) so that any finding, whatever the scanner and ECR
report, stays well within Security Hub's 240 KB a finding.

No AWS SDK import: this module renders dicts; ``export.py`` sends them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ecr_scan_reporter.core.finding_types import SEVERITY_ORDER, Finding

SCHEMA_VERSION = "2018-10-08"
FINDING_TYPE = "Software and Configuration Checks/Vulnerabilities/CVE"
GENERATOR = {"basic": "ecr-scan-reporter/ecr-basic-scan", "enhanced": "ecr-scan-reporter/inspector2"}
#: ASFF's documented limits (API reference: AwsSecurityFinding, Recommendation, FindingProviderSeverity): Title 256
#: characters, Description 1024, Id 512, Remediation.Recommendation.Text 512, Severity.Original 64.
TITLE_MAX, DESCRIPTION_MAX, ID_MAX, TEXT_MAX, ORIGINAL_MAX = 256, 1024, 512, 512, 64
#: Any other string (package names and versions, URLs, the image's registry, repository, digest and region, the
#: vulnerability id): AWS documents no limit; 512 characters, as its ids.
FIELD_MAX = 512
#: The image's tags: the first ones, each whole, while their JSON takes at most this many bytes (ECR allows 1,000
#: tags of 300 characters: unbounded, 306 KB, and the finding is refused).
TAGS_MAX_BYTES = 16 * 1024
#: ECR's UNDEFINED has no ASFF label; Security Hub's lowest is INFORMATIONAL.
LABELS = {"CRITICAL": "CRITICAL", "HIGH": "HIGH", "MEDIUM": "MEDIUM", "LOW": "LOW", "INFORMATIONAL": "INFORMATIONAL"}
DIGEST_CHARS = 16
#: How long the ledger remembers an archived finding (Security Hub ages a finding out 90 days after its last update):
#: back in breach within it, the finding is reopened with an update; later, it is imported as new.
ARCHIVED_MEMORY = timedelta(days=90)
#: Left out of a finding's content digest: the times, the state, and the top-level copies of FindingProviderFields
#: (a new finding has them, an update does not: the same content either way).
_NOT_CONTENT = (
    "CreatedAt",
    "UpdatedAt",
    "FirstObservedAt",
    "LastObservedAt",
    "Workflow",
    "RecordState",
    "Severity",
    "Types",
)


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
    """What the ledger keeps of one exported finding: its severity label, content digest and first import, and
    when it was archived (None: active). An archived finding is remembered for :data:`ARCHIVED_MEMORY`: it is still
    in Security Hub, so one back in breach is an update (reopened), not a new finding."""

    severity: str
    digest: str
    first_at: datetime
    archived_at: datetime | None = None

    def encode(self) -> str:
        text = f"{self.severity} {self.digest} {int(self.first_at.timestamp())}"
        return text if self.archived_at is None else f"{text} {int(self.archived_at.timestamp())}"

    @classmethod
    def decode(cls, text: str) -> Exported | None:
        """None for an entry this version cannot read (it is then imported again, never silently dropped)."""
        parts = text.split(" ")
        if len(parts) not in (3, 4) or parts[0] not in LABELS.values() or not all(p.isdigit() for p in parts[2:]):
            return None
        archived = datetime.fromtimestamp(int(parts[3]), UTC) if len(parts) == 4 else None
        return cls(parts[0], parts[1], datetime.fromtimestamp(int(parts[2]), UTC), archived)

    def archived(self, at: datetime) -> Exported:
        return Exported(self.severity, self.digest, self.first_at, at)

    def in_security_hub(self, now: datetime) -> bool:
        """Whether Security Hub still has the finding: active, or archived less than :data:`ARCHIVED_MEMORY` ago."""
        return self.archived_at is None or now - self.archived_at < ARCHIVED_MEMORY


def active(entries: Mapping[str, str]) -> dict[str, Exported | None]:
    """The ledger's entries of findings exported and not archived (one this version cannot read counts as
    exported), by vulnerability id, in their order."""
    decoded = {k: Exported.decode(v) for k, v in entries.items()}
    return {k: e for k, e in decoded.items() if e is None or e.archived_at is None}


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
    """One active ASFF finding. ``first_at``: when it was first imported, for a finding exported before: the body
    is then an update, whose severity and types are in ``FindingProviderFields`` only; without it the finding is new
    (first import ``now``) and carries them at the top level too. ``observed_at``: the scan's completion."""
    first = _time(first_at or now)
    package = _text(found.package_name) or "an unnamed package"
    version = f" {_text(found.package_version)}" if found.package_version else ""
    fixed_in = _text(found.fixed_in)
    fix = f" Fixed in {fixed_in}." if fixed_in else ""
    scanner = "Amazon Inspector (ECR enhanced scanning)" if found.origin != "basic" else "ECR basic scanning"
    repository, digest = _text(image.repository), _text(image.digest)
    tags = _tags(image.tags)
    description = (
        f"{_text(found.id)} ({_text(found.severity, ORIGINAL_MAX)}) affects {package}{version} in the image "
        f"{repository}@{digest}{' (tags: ' + ', '.join(tags) + ')' if tags else ''}, reported by {scanner}.{fix}"
    )
    vulnerability: dict[str, Any] = {"Id": _text(found.id)}
    package_entry = {
        k: v
        for k, v in (
            ("Name", _text(found.package_name)),
            ("Version", _text(found.package_version)),
            ("FixedInVersion", fixed_in),
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
    url = _text(found.url)
    if url:
        vulnerability["ReferenceUrls"] = [url]
    severity = {"Label": label(found.severity), "Original": _text(found.severity, ORIGINAL_MAX)}
    body: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": image.finding_id(found.id),
        "ProductArn": image.product_arn,
        "GeneratorId": GENERATOR["basic" if found.origin == "basic" else "enhanced"],
        "AwsAccountId": image.account,
        "CreatedAt": first,
        "UpdatedAt": _time(now),
        "FirstObservedAt": first,
        "LastObservedAt": _time(observed_at or now),
        "FindingProviderFields": {"Severity": severity, "Types": [FINDING_TYPE]},
        "Title": f"{_text(found.id)} in {package} ({repository})"[:TITLE_MAX],
        "Description": description[:DESCRIPTION_MAX],
        "Resources": [_resource(image, tags)],
        "Vulnerabilities": [vulnerability],
        "RecordState": "ACTIVE",
    }
    if first_at is None:  # a new finding: the top-level fields too (Security Hub's required ones)
        body["Severity"], body["Types"] = dict(severity), [FINDING_TYPE]
    if url:
        body["SourceUrl"] = url
    if fixed_in:
        body["Remediation"] = {"Recommendation": {"Text": f"Update {package} to {fixed_in}."[:TEXT_MAX]}}
    return body


def resolved(
    image: Image, vulnerability_id: str, kept: Exported | None, now: datetime, deleted: bool = False
) -> dict[str, Any]:
    """The archived form of a finding no longer in breach (``deleted``: the image was deleted from ECR), from what
    the ledger kept of it: an update (``RecordState`` ARCHIVED, its severity in ``FindingProviderFields``; left as
    it is when the entry cannot be read). Its workflow is not in it: ``BatchUpdateFindings`` sets it (``export.py``)."""
    first = _time(kept.first_at if kept is not None else now)
    vulnerability, repository = _text(vulnerability_id), _text(image.repository)
    where = f"the image {repository}@{_text(image.digest)}"
    if deleted:
        title = f"{vulnerability}: image deleted ({repository})"
        why = f"{vulnerability} is resolved: {where} was deleted from ECR."
    else:
        title = f"{vulnerability} no longer in breach ({repository})"
        why = (
            f"{vulnerability} is no longer in breach in {where}: fixed, accepted (suppressed) or within the "
            "thresholds at the latest scan."
        )
    provider: dict[str, Any] = {"Types": [FINDING_TYPE]}
    if kept is not None:
        provider = {"Severity": {"Label": kept.severity}, **provider}
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": image.finding_id(vulnerability_id),
        "ProductArn": image.product_arn,
        "GeneratorId": GENERATOR["basic"],
        "AwsAccountId": image.account,
        "CreatedAt": first,
        "UpdatedAt": _time(now),
        "FirstObservedAt": first,
        "FindingProviderFields": provider,
        "Title": title[:TITLE_MAX],
        "Description": why[:DESCRIPTION_MAX],
        "Resources": [_resource(image, _tags(image.tags))],
        "Vulnerabilities": [{"Id": vulnerability}],
        "RecordState": "ARCHIVED",
    }


def as_new(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with the top-level attributes Security Hub requires of a new finding (``Severity``, ``Types``), from
    its ``FindingProviderFields``: for an update Security Hub refused because the finding is no longer there."""
    provider = body.get("FindingProviderFields") or {}
    severity = provider.get("Severity") or {"Label": "INFORMATIONAL"}
    return {**body, "Severity": dict(severity), "Types": list(provider.get("Types") or [FINDING_TYPE])}


def content_digest(body: Mapping[str, Any]) -> str:
    """The digest of what a finding says (times, state and top-level copies of FindingProviderFields left out)."""
    content = {k: v for k, v in body.items() if k not in _NOT_CONTENT}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def fingerprint(digests: Mapping[str, str]) -> str:
    """The fingerprint of an exported set: vulnerability id -> content digest (the empty set has one too)."""
    text = "\n".join(f"{k}={v}" for k, v in sorted(digests.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def _resource(image: Image, tags: list[str]) -> dict[str, Any]:
    details: dict[str, Any] = {
        "RegistryId": _text(image.registry_id),
        "RepositoryName": _text(image.repository),
        "ImageDigest": _text(image.digest),
    }
    if tags:
        details["ImageTags"] = tags
    return {
        "Type": "AwsEcrContainerImage",
        "Id": image.resource_arn[:ID_MAX],
        "Partition": image.partition,
        "Region": _text(image.region),
        "Details": {"AwsEcrContainerImage": details},
    }


def _text(value: str | None, limit: int = FIELD_MAX) -> str:
    """``value`` cut to ``limit`` characters ("" for None)."""
    return (value or "")[:limit]


def _tags(tags: Iterable[str]) -> list[str]:
    """The first tags, each whole (cut to :data:`FIELD_MAX`), while their JSON fits :data:`TAGS_MAX_BYTES`."""
    kept: list[str] = []
    size = 0
    for tag in tags:
        tag = _text(tag)
        size += len(json.dumps(tag)) + 1
        if size > TAGS_MAX_BYTES:
            break
        kept.append(tag)
    return kept


def _time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
