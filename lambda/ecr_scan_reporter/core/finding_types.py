"""The types of an image's findings, shared by the reader (``alerts/findings.py``, which calls AWS) and the pure
modules that render or filter them (``alerts/notify.py``, ``alerts/suppressions.py``). Pure: no AWS SDK import, so
importing a renderer never pulls in botocore."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

#: ECR's severities, most severe first (Inspector's UNTRIAGED is reported as UNDEFINED, as ECR does).
SEVERITY_ORDER: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")

Origin = Literal["basic", "enhanced", "inspector2"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability in one image. Several vulnerable packages of one finding are joined with ``", "`` in
    ``package_name`` (and in ``package_version`` / ``fixed_in`` when they differ), as Inspector's titles do."""

    id: str  # the finding's name: a CVE id (or the vendor's id, e.g. ALAS-2024-1234)
    severity: str  # one of SEVERITY_ORDER
    package_name: str | None = None
    package_version: str | None = None
    fixed_in: str | None = None  # None when no fixed version is known
    url: str | None = None  # the vendor's / NVD's page about the vulnerability
    score: float | None = None  # CVSS base score (Inspector's score for enhanced findings) when reported
    epss: float | None = None  # EPSS probability when reported (Inspector)
    origin: Origin = "basic"
    finding_arn: str | None = None  # Inspector's finding ARN (enhanced / inspector2)
    #: The scanner says a fix exists (``fixAvailable`` YES or PARTIAL) / does not (NO); None: it does not say
    #: (basic scanning gives no fix information).
    fix_available: bool | None = None
    #: ``exploitAvailable`` YES (True) / NO (False); None: the scanner does not say (basic scanning).
    exploit_available: bool | None = None


@dataclass(frozen=True, slots=True)
class ImageFindings:
    findings: tuple[Finding, ...]
    status: str | None  # imageScanStatus.status (COMPLETE, ACTIVE, FAILED, ...); ACTIVE for Inspector's findings
    completed_at: datetime | None  # imageScanCompletedAt; for Inspector, the latest update of its findings
    severity_counts: Mapping[str, int]  # as the scanner reported them (ECR: findingSeverityCounts)
    failure_reason: str | None = None  # imageScanStatus.description when the status is a failure

    @property
    def total(self) -> int:
        return len(self.findings)
