"""notify.render for the ledger's types (resolved, reminder) and the new_findings list."""

from __future__ import annotations

import json

import pytest

from alerts.test_notify import THRESHOLDS, scan
from ecr_scan_reporter.alerts import notify
from ecr_scan_reporter.core import sns_message


def document(notification: sns_message.Notification) -> dict[str, object]:
    return json.loads(notification.message["sqs"])


def test_resolved_has_its_type_title_subject_and_attribute() -> None:
    clean = scan(severity_counts={"CRITICAL": 0, "HIGH": 0, "MEDIUM": 7, "LOW": 0})
    notification = notify.render(clean, [], THRESHOLDS, "resolved")
    assert document(notification)["type"] == "resolved"
    assert document(notification)["breached"] == []
    assert "new_findings" not in document(notification)
    assert notification.attributes["event_type"] == "resolved"
    assert notification.subject == "ECR scan: resolved, within thresholds: team/app:1.2.3"
    assert notification.message["default"].startswith("Image scan findings within every threshold again")


def test_reminder_names_the_breach_and_needs_one() -> None:
    notification = notify.render(scan(), ["CRITICAL"], THRESHOLDS, "reminder", new_findings=[])
    assert notification.subject == "ECR scan reminder: 3 CRITICAL in team/app:1.2.3"
    assert (document(notification)["type"], document(notification)["new_findings"]) == ("reminder", [])
    assert notification.attributes["event_type"] == "reminder"
    with pytest.raises(ValueError, match="reminder needs at least one breached severity"):
        notify.render(scan(), [], THRESHOLDS, "reminder")


def test_new_findings_are_listed_in_the_document_and_the_text() -> None:
    new = [("CVE-2026-0002", "CRITICAL"), ("CVE-2026-0001", "HIGH")]
    notification = notify.render(scan(), ["CRITICAL", "HIGH"], THRESHOLDS, "threshold_breached", new_findings=new)
    assert document(notification)["new_findings"] == [
        {"id": "CVE-2026-0002", "severity": "CRITICAL"},
        {"id": "CVE-2026-0001", "severity": "HIGH"},
    ]
    assert document(notification)["new_findings_total"] == 2
    assert "New findings (2):\n  CRITICAL  CVE-2026-0002\n  HIGH      CVE-2026-0001" in notification.message["email"]


def test_a_huge_list_of_new_findings_is_capped() -> None:
    new = [(f"CVE-2026-{i:05d}", "CRITICAL") for i in range(5000)]
    notification = notify.render(scan(), ["CRITICAL"], THRESHOLDS, "threshold_breached", new_findings=new)
    doc = document(notification)
    assert len(doc["new_findings"]) == notify.NEW_FINDINGS_MAX  # type: ignore[arg-type]
    assert doc["new_findings_total"] == 5000
    assert "... and 4980 more" in notification.message["email"]
    assert len(json.dumps(dict(notification.message)).encode()) < 256 * 1024
