"""The README's sample notification (between ``<!-- BEGIN_SAMPLE_NOTIFICATION -->`` and its END marker) is what
``notify.render`` prints for the image it describes, line for line, and the subject the README names is its
subject. A change to the message's layout fails here until the README shows the new one."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from ecr_scan_reporter.alerts import notify
from ecr_scan_reporter.alerts.events import ScanResult
from ecr_scan_reporter.alerts.notify import FindingsSection
from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.core.finding_types import Finding

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- BEGIN_SAMPLE_NOTIFICATION -->", "<!-- END_SAMPLE_NOTIFICATION -->"

FOUND = [
    Finding(
        "CVE-2024-6119",
        "CRITICAL",
        "openssl",
        "3.0.13",
        "3.0.14",
        "https://nvd.nist.gov/vuln/detail/CVE-2024-6119",
        9.8,
    ),
    Finding("CVE-2024-2398", "HIGH", "curl", "8.5.0", "8.7.1", "https://curl.se/docs/CVE-2024-2398.html", 8.6),
    Finding(
        "CVE-2023-44487", "HIGH", "nghttp2", "1.52.0", "1.57.0", "https://nvd.nist.gov/vuln/detail/CVE-2023-44487", 7.5
    ),
    Finding(
        "CVE-2024-0727", "HIGH", "openssl", "3.0.13", "3.0.14", "https://nvd.nist.gov/vuln/detail/CVE-2024-0727", 5.5
    ),
    Finding("CVE-2023-5678", "MEDIUM", "openssl", "3.0.13", "3.0.13", None, 5.3),
    Finding("CVE-2024-2511", "MEDIUM", "openssl", "3.0.13", None, None, 5.9),
    Finding("CVE-2023-7008", "MEDIUM", "systemd", "252.22", None, None, 5.9),
    Finding("CVE-2024-28182", "MEDIUM", "nghttp2", "1.52.0", "1.61.0", None, 5.3),
]
EXPIRED = [
    {
        "vulnerability_id": "CVE-2023-4911",
        "repository_regex": "^team/",
        "expires": "2026-11-01",
        "reason": "glibc not used by the service",
    }
]


def _sample() -> sns_message.Notification:
    result = ScanResult(
        source="ecr",
        status="COMPLETE",
        repository="team/api",
        registry_id="123456789012",
        region="eu-west-1",
        image_digest="sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        image_tags=("1.4.2", "latest"),
        severity_counts={"CRITICAL": 1, "HIGH": 3, "MEDIUM": 4, "LOW": 0},
        scan_completed_at=datetime(2026, 11, 29, 9, 12, 44, tzinfo=UTC),
    )
    return notify.render(
        result,
        ["CRITICAL", "HIGH"],
        {"CRITICAL": 0, "HIGH": 2, "MEDIUM": None, "LOW": None},
        "threshold_breached",
        new_findings=[(f.id, f.severity) for f in FOUND if f.severity in ("CRITICAL", "HIGH")],
        section=FindingsSection(findings=FOUND, limit=3, suppressed=1, expired=EXPIRED),
    )


def _documented() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index(BEGIN) + len(BEGIN) : readme.index(END)].strip("\n").splitlines()
    assert block[0].startswith("```"), "the sample must be one fenced block"
    assert block[-1] == "```", "the sample must be one fenced block"
    before = readme[: readme.index(BEGIN)].rstrip().rsplit("\n\n", 1)[-1]
    subject = re.search(r"\(subject `([^`]+)`\)", before)
    assert subject, "the paragraph before the sample names its subject: (subject `...`)"
    return subject.group(1), "\n".join(block[1:-1])


def test_readme_sample_is_what_notify_renders() -> None:
    subject, text = _documented()
    notification = _sample()
    assert notification.subject == subject
    assert notification.message["default"].rstrip("\n").splitlines() == text.splitlines()
