"""notify.py and core/finding_types.py: what the message and its chat form promise, pinned where no other test does
(issue 17). Each test was checked against a planted bug that changes exactly the behaviour it names."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from alerts.test_notify_findings import DIGEST, EXPIRED, FOUND, THRESHOLDS, doc_of, scan
from ecr_scan_reporter.alerts import findings, notify
from ecr_scan_reporter.alerts.notify import FindingsSection
from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.core.finding_types import SEVERITY_ORDER, Finding

BREACHED = ["CRITICAL", "HIGH"]


def expired_entry(n: int, reason: str = "legacy") -> dict[str, Any]:
    """An expired suppression as Suppression.describe() shows it."""
    return {
        "vulnerability_id": f"CVE-2023-{n:04d}",
        "repository_regex": None,
        "expires": "2026-01-01",
        "reason": reason,
    }


def render(kind: notify.Kind = "threshold_breached", **section: Any) -> sns_message.Notification:
    breached = [] if kind in ("resolved", "scan_failed") else BREACHED
    return notify.render(scan(), breached, THRESHOLDS, kind, section=FindingsSection(**section))


# --- _render: expired_suppressions_total -------------------------------------------------------------------------


def test_every_expired_suppression_listed_means_no_total() -> None:
    doc = doc_of(render(findings=FOUND, expired=[*EXPIRED, expired_entry(1)]))
    assert [e["vulnerability_id"] for e in doc["expired_suppressions"]] == ["CVE-2023-9999", "CVE-2023-0001"]
    assert "expired_suppressions_total" not in doc


def test_a_shortened_list_of_expired_suppressions_gives_the_total() -> None:
    many = [expired_entry(n, "r" * 300) for n in range(600)]  # ~1.2 MB unshortened: at most 20 listed
    notification = render(findings=FOUND, expired=many)
    doc = doc_of(notification)
    assert 0 < len(doc["expired_suppressions"]) < 600
    assert doc["expired_suppressions_total"] == 600
    assert f"  and {600 - len(doc['expired_suppressions'])} more" in notification.message["email"]
    assert notify.message_size(notification) <= notify.MESSAGE_BUDGET


def test_no_expired_suppression_gives_an_empty_list_and_no_total() -> None:
    doc = doc_of(render(findings=FOUND))
    assert doc["expired_suppressions"] == []
    assert "expired_suppressions_total" not in doc
    assert "Expired suppressions" not in render(findings=FOUND).message["email"]


def test_findings_total_counts_every_finding_not_only_those_listed() -> None:
    doc = doc_of(render(findings=FOUND, limit=2, suppressed=3))
    assert (len(doc["findings"]), doc["findings_total"], doc["suppressed"]) == (2, 5, 3)
    assert (
        "Findings: 5 (3 suppressed as accepted risks); the 2 most severe:"
        in render(findings=FOUND, limit=2, suppressed=3).message["email"]
    )


# --- _chat: the next steps and the id -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["threshold_breached", "reminder"])
def test_a_breach_or_a_reminder_suggests_accepting_the_risk_in_suppressions(kind: notify.Kind) -> None:
    steps = json.loads(render(kind, findings=FOUND).chat)["content"]["nextSteps"]
    assert "Accepted a risk? Add it to the module's `suppressions` with an expiry date and a reason" in steps


@pytest.mark.parametrize("kind", ["resolved", "scan_failed"])
def test_a_resolved_or_failed_scan_suggests_no_suppression(kind: notify.Kind) -> None:
    steps = json.loads(render(kind, findings=()).chat)["content"]["nextSteps"]
    assert not any("suppressions" in step for step in steps)
    assert steps == [f"Open the findings in the Amazon ECR console: {notify.console_url(scan())}"]


def test_the_chat_message_id_names_the_image_and_the_notification_type() -> None:
    ids = {kind: json.loads(render(kind, findings=FOUND).chat)["id"] for kind in notify.KINDS}
    assert ids == {kind: f"{DIGEST}:{kind}" for kind in notify.KINDS}


def test_the_chat_keywords_and_event_type_follow_the_type() -> None:
    chat = json.loads(render("reminder", findings=FOUND).chat)
    assert chat["content"]["keywords"] == ["ECR", "reminder", "CRITICAL", "team/api"]
    assert chat["metadata"]["eventType"] == "reminder"
    assert chat["content"]["title"].startswith(":bell: ECR scan reminder: 1 CRITICAL, 2 HIGH in team/api")
    resolved = json.loads(render("resolved", findings=()).chat)["content"]["title"]
    assert resolved.startswith(":white_check_mark: ECR scan: resolved")


def test_chat_lists_at_most_three_expired_suppressions() -> None:
    description = json.loads(render(findings=FOUND, expired=[expired_entry(n) for n in range(5)]).chat)["content"][
        "description"
    ]
    assert description.count("expired 2026-01-01: it counts again") == 3


# --- publish_chat: a FIFO chat topic --------------------------------------------------------------------------


class RecordingSns:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def publish(self, **request: Any) -> dict[str, str]:
        self.requests.append(request)
        return {"MessageId": f"m-{len(self.requests)}"}


def test_a_fifo_chat_topic_deduplicates_by_the_chat_body_not_the_subject() -> None:
    sns = RecordingSns()
    first = render(findings=FOUND, limit=1)
    second = render(findings=FOUND, limit=2)
    assert first.subject == second.subject
    assert first.chat != second.chat
    topic = "arn:aws:sns:eu-west-1:123456789012:chat.fifo"
    assert [notify.publish_chat(sns, topic, n) for n in (first, second)] == ["m-1", "m-2"]
    one, two = sns.requests
    assert one["MessageDeduplicationId"] == hashlib.sha256(first.chat.encode()).hexdigest()
    assert two["MessageDeduplicationId"] == hashlib.sha256(second.chat.encode()).hexdigest()
    assert one["MessageGroupId"] == two["MessageGroupId"] == "team/api"
    assert one["Message"] == first.chat
    assert "MessageStructure" not in one  # a plain message, as the chat service reads it


def test_a_standard_chat_topic_gets_no_fifo_fields() -> None:
    sns = RecordingSns()
    notify.publish_chat(sns, "arn:aws:sns:eu-west-1:123456789012:chat", render(findings=FOUND))
    assert not {"MessageDeduplicationId", "MessageGroupId"} & set(sns.requests[0])
    attribute = sns.requests[0]["MessageAttributes"]["event_type"]
    assert attribute == {"DataType": "String", "StringValue": "threshold_breached"}


def test_a_fifo_notification_topic_deduplicates_by_the_whole_message() -> None:
    sns = RecordingSns()
    first, second = render(findings=FOUND, limit=1), render(findings=FOUND, limit=2)
    for n in (first, second):
        sns_message.publish(sns, "arn:aws:sns:eu-west-1:123456789012:findings.fifo", n)
    one, two = sns.requests
    assert one["MessageDeduplicationId"] == hashlib.sha256(one["Message"].encode()).hexdigest()
    assert one["MessageDeduplicationId"] != two["MessageDeduplicationId"]
    assert one["MessageGroupId"] == "team/api"
    assert json.loads(one["Message"]) == dict(first.message)


# --- _cap: a capped field is never longer than its width ------------------------------------------------------


@pytest.mark.parametrize(("length", "shown"), [(299, 299), (300, 300), (301, 300), (5_000, 300)])
def test_a_capped_tag_is_never_longer_than_the_field_width(length: int, shown: int) -> None:
    tag = "t" * length
    doc = doc_of(notify.render(scan(image_tags=(tag,)), BREACHED, THRESHOLDS, "threshold_breached"))
    [rendered] = doc["image_tags"]
    assert len(rendered) == shown
    assert rendered == (tag if length <= 300 else "t" * 297 + "...")


@pytest.mark.parametrize(("length", "shown"), [(300, 300), (301, 300)])
def test_a_finding_id_of_exactly_the_width_is_kept_whole(length: int, shown: int) -> None:
    finding_id = "C" * length
    [listed] = doc_of(render(findings=[Finding(finding_id, "HIGH")]))["findings"]
    assert listed["id"] == (finding_id if length <= 300 else "C" * 297 + "...")
    assert len(listed["id"]) == shown


@pytest.mark.parametrize("length", [79, 80])
def test_a_finding_id_of_at_most_80_characters_is_kept_whole_in_the_chat(length: int) -> None:
    finding_id = "C" * length
    description = json.loads(render(findings=[Finding(finding_id, "HIGH")]).chat)["content"]["description"]
    assert f"- HIGH `{finding_id}`" in description


def test_capped_finding_fields_in_the_document_and_the_chat_keep_their_widths() -> None:
    long_id = "CVE-" + "9" * 500
    found = [Finding(long_id, "CRITICAL", "p" * 500, "1", "2", "https://x/" + "u" * 500)]
    notification = render(findings=found)
    [listed] = doc_of(notification)["findings"]
    assert all(len(listed[k]) == 300 and listed[k].endswith("...") for k in ("id", "package_name", "url"))
    description = json.loads(notification.chat)["content"]["description"]
    assert f"`{long_id[:77]}...`" in description  # 80 characters in the chat
    assert long_id[:78] not in description


def test_a_long_failure_reason_is_capped_at_2000_characters() -> None:
    notification = notify.render(scan(status="FAILED"), [], THRESHOLDS, "scan_failed", "r" * 3_000)
    assert len(doc_of(notification)["failure_reason"]) == 2_000


# --- SEVERITY_ORDER: MEDIUM before LOW, UNDEFINED kept -----------------------------------------------------------


def test_severities_in_order_most_severe_first() -> None:
    assert SEVERITY_ORDER == ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


def test_a_medium_finding_is_listed_before_a_low_one_whatever_their_scores() -> None:
    low = Finding("CVE-LOW", "LOW", score=9.9, epss=0.99)
    medium = Finding("CVE-MEDIUM", "MEDIUM", score=1.0, epss=0.01)
    undefined = Finding("CVE-UNDEFINED", "UNDEFINED", score=10.0)
    informational = Finding("CVE-INFO", "INFORMATIONAL", score=10.0)
    assert [f.id for f in notify.rank([undefined, low, informational, medium])] == [
        "CVE-MEDIUM",
        "CVE-LOW",
        "CVE-INFO",
        "CVE-UNDEFINED",
    ]


def test_counts_keep_every_severity_undefined_included_most_severe_first() -> None:
    found = [Finding(f"CVE-{n}", s) for n, s in enumerate(["UNDEFINED", "LOW", "UNDEFINED", "MEDIUM", "INFORMATIONAL"])]
    counts = findings.count_by_severity(found)
    assert list(counts.items()) == [("MEDIUM", 1), ("LOW", 1), ("INFORMATIONAL", 1), ("UNDEFINED", 2)]


class OnePageEcr:
    def __init__(self, page: dict[str, Any]) -> None:
        self.page = page

    def describe_image_scan_findings(self, **request: Any) -> dict[str, Any]:
        return self.page


def test_reported_counts_keep_undefined_and_untriaged_in_severity_order() -> None:
    page = {
        "imageScanStatus": {"status": "COMPLETE"},
        "imageScanFindings": {
            "findingSeverityCounts": {"UNTRIAGED": 2, "UNDEFINED": 1, "LOW": 3, "MEDIUM": 4, "CRITICAL": 1},
            "findings": [{"name": "CVE-1", "severity": "UNDEFINED"}, {"name": "CVE-2", "severity": "untriaged"}],
        },
    }
    read = findings.read_image_findings(OnePageEcr(page), None, "team/api", DIGEST)
    assert list(read.severity_counts.items()) == [("CRITICAL", 1), ("MEDIUM", 4), ("LOW", 3), ("UNDEFINED", 3)]
    assert [f.severity for f in read.findings] == ["UNDEFINED", "UNDEFINED"]
    assert findings.count_by_severity(read.findings) == {"UNDEFINED": 2}


def test_the_text_shows_undefined_counts_after_the_thresholded_severities() -> None:
    counts = {"CRITICAL": 1, "HIGH": 0, "MEDIUM": 2, "LOW": 3, "INFORMATIONAL": 4, "UNDEFINED": 5}
    text = notify.render(scan(severity_counts=counts), ["CRITICAL"], THRESHOLDS, "threshold_breached").message["email"]
    rows = [line.split()[:2] for line in text.splitlines() if line.split()[:1] and line.split()[0] in SEVERITY_ORDER]
    assert rows == [["CRITICAL", "1"], ["HIGH", "0"], ["MEDIUM", "2"], ["LOW", "3"], ["INFORMATIONAL", "4"],
                    ["UNDEFINED", "5"]]  # fmt: skip


# --- the e-mail text and the chat description, whole -------------------------------------------------------------

URL = notify.console_url(scan())
COUNTS = {"CRITICAL": 1, "HIGH": 2, "MEDIUM": 1, "LOW": 0, "UNDEFINED": 3}
TWO_EXPIRED = [*EXPIRED, {"vulnerability_id": "CVE-2023-0002", "repository_regex": None, "expires": "2026-01-02",
                          "reason": "old"}]  # fmt: skip


def breach() -> sns_message.Notification:
    section = FindingsSection(findings=FOUND, limit=2, suppressed=1, expired=TWO_EXPIRED)
    new = [("CVE-2024-0001", "CRITICAL"), ("CVE-2024-0005", "HIGH")]
    result = scan(image_tags=("1.0", "latest"), severity_counts=COUNTS)
    return notify.render(
        result, ["HIGH", "CRITICAL"], THRESHOLDS, "threshold_breached", new_findings=new, section=section
    )


def test_the_text_of_a_breach_with_findings_new_findings_and_expired_suppressions() -> None:
    assert (
        breach().message["email"]
        == f"""Image scan findings over threshold

Repository:  team/api
Image:       1.0, latest
Digest:      {DIGEST}
Registry:    123456789012 (eu-west-1)
Scanned at:  2026-01-02T03:04:05Z
Scanner:     Amazon ECR basic scanning

Severity         Count  Threshold
----------------------  ---------
CRITICAL             1  0           BREACHED
HIGH                 2  0           BREACHED
MEDIUM               1  ignored
LOW                  0  5
UNDEFINED            3  -

Breached:    CRITICAL, HIGH

New findings (2):
  CRITICAL  CVE-2024-0001
  HIGH      CVE-2024-0005

Findings: 5 (1 suppressed as accepted risks); the 2 most severe:

  CRITICAL  CVE-2024-0001  openssl 3.0.13  (fixed in 3.0.14)  score 9.8
            https://nvd.example/1
  HIGH      CVE-2024-0005  glibc 2.36  (no fix known)  score 8.8
  and 3 more: {URL}

Expired suppressions (these findings count again):
  CVE-2023-9999 in repositories matching ^team/: expired 2026-01-01 (legacy)
  CVE-2023-0002: expired 2026-01-02 (old)

Findings in the console:
{URL}
"""
    )


def test_the_chat_description_of_a_breach() -> None:
    assert (
        json.loads(breach().chat)["content"]["description"]
        == f"""*Repository:* `team/api`
*Image:* `1.0, latest`
*Digest:* `{DIGEST}`
*Counts / thresholds:* CRITICAL 1 / 0 *(over threshold)*, HIGH 2 / 0 *(over threshold)*, MEDIUM 1, LOW 0 / 5
*Most severe findings:*
- CRITICAL `CVE-2024-0001` openssl 3.0.13 -> 3.0.14
- HIGH `CVE-2024-0005` glibc 2.36
_and 3 more in the console_
_1 suppressed as accepted risks_
_Suppression of `CVE-2023-9999` expired 2026-01-01: it counts again_
_Suppression of `CVE-2023-0002` expired 2026-01-02: it counts again_"""
    )


def test_the_text_and_chat_of_a_failed_enhanced_scan_of_an_untagged_image() -> None:
    notification = notify.render(
        scan(source="inspector2", status="FAILED", image_tags=()), [], THRESHOLDS, "scan_failed", "Unsupported: no"
    )
    assert (
        notification.message["email"]
        == f"""Image scan FAILED

Repository:  team/api
Image:       {DIGEST}
Digest:      {DIGEST}
Registry:    123456789012 (eu-west-1)
Scanned at:  2026-01-02T03:04:05Z
Scanner:     Amazon Inspector (ECR enhanced scanning)

Reason:      Unsupported: no

Findings in the console:
{URL}
"""
    )
    assert json.loads(notification.chat)["content"]["description"] == (
        f"*Repository:* `team/api`\n*Image:* `{DIGEST}`\n*Digest:* `{DIGEST}`\n*Reason:* Unsupported: no"
    )


def test_the_text_and_chat_of_a_resolved_image_whose_scanner_left_counts_out() -> None:
    result = scan(severity_counts={"CRITICAL": 0, "HIGH": 0})
    notification = notify.render(result, [], THRESHOLDS, "resolved", section=FindingsSection(findings=(), limit=2))
    text = notification.message["email"]
    assert text.startswith("Image scan findings within every threshold again (resolved)\n")
    table = text[text.index("Severity") : text.index("Breached:")]
    assert table == (
        "Severity         Count  Threshold\n"
        "----------------------  ---------\n"
        "CRITICAL             0  0\n"
        "HIGH                 0  0\n"
        "MEDIUM               ?  ignored     not reported by the scanner\n"
        "LOW                  ?  5           not reported by the scanner\n"
        "\n"
    )
    assert "Breached:    none\n" in text
    assert "Findings: 0\n" in text
    assert "most severe" not in text
    assert "See them all" not in text
    description = json.loads(notification.chat)["content"]["description"]
    assert description.endswith(
        "*Counts / thresholds:* CRITICAL 0 / 0, HIGH 0 / 0, MEDIUM not reported, LOW not reported / 5"
    )


def test_a_reminder_is_titled_as_one() -> None:
    text = render("reminder", findings=FOUND).message["email"]
    assert text.startswith("Reminder: image scan findings still over threshold\n\n")


def test_listed_none_of_several_findings_points_to_them_all() -> None:
    text = render(findings=FOUND, limit=0).message["email"]
    assert f"Findings: 5\n\n  See them all: {URL}\n\n" in text


def test_tags_left_out_of_a_long_message_are_counted_in_the_text_and_the_chat() -> None:
    tags = tuple(f"{n:03d}-" + "t" * 296 for n in range(1_000))  # 300 KB of tags: only some are shown
    notification = notify.render(scan(image_tags=tags), BREACHED, THRESHOLDS, "threshold_breached")
    doc = doc_of(notification)
    shown = len(doc["image_tags"])
    assert 0 < shown < 1_000
    assert doc["image_tags_total"] == 1_000
    image_line = next(line for line in notification.message["email"].splitlines() if line.startswith("Image:"))
    assert image_line.endswith(f"{tags[shown - 1]} and {1_000 - shown} more tags")
    # the chat names the first few tags, so the counts still fit its description (they were cut off before)
    lines = json.loads(notification.chat)["content"]["description"].splitlines()
    assert lines[0] == "*Repository:* `team/api`"
    assert lines[1] == f"*Image:* `{(', '.join(tags[:5]))[:297]}...` and 995 more tags"
    assert lines[3].startswith("*Counts / thresholds:* CRITICAL 1 / 0 *(over threshold)*")


def test_the_chat_names_five_tags_and_counts_the_others() -> None:
    tags = tuple(f"v{n}" for n in range(7))
    notification = notify.render(scan(image_tags=tags), BREACHED, THRESHOLDS, "threshold_breached")
    assert "Image:       v0, v1, v2, v3, v4, v5, v6\n" in notification.message["email"]
    lines = json.loads(notification.chat)["content"]["description"].splitlines()
    assert lines[1] == "*Image:* `v0, v1, v2, v3, v4` and 2 more tags"
    five = notify.render(scan(image_tags=tags[:5]), BREACHED, THRESHOLDS, "threshold_breached")
    assert json.loads(five.chat)["content"]["description"].splitlines()[1] == "*Image:* `v0, v1, v2, v3, v4`"


def test_more_new_findings_than_the_text_shows_are_counted() -> None:
    new = [(f"CVE-2026-{n:04d}", "HIGH") for n in range(notify.NEW_FINDINGS_TEXT_MAX + 5)]
    notification = notify.render(scan(), BREACHED, THRESHOLDS, "threshold_breached", new_findings=new)
    text = notification.message["email"]
    assert f"New findings ({len(new)}):\n" in text
    assert f"  HIGH      CVE-2026-{notify.NEW_FINDINGS_TEXT_MAX - 1:04d}\n  ... and 5 more\n" in text
    doc = doc_of(notification)
    assert (len(doc["new_findings"]), doc["new_findings_total"]) == (len(new), len(new))


# --- subject, console link, next steps, message size ------------------------------------------------------------


def test_subjects_of_each_kind_fit_and_keep_the_head_and_tail_of_long_names() -> None:
    long = notify.render(
        scan(repository="team/" + "r" * 250, image_tags=("t" * 120 + "END",)),
        BREACHED,
        THRESHOLDS,
        "threshold_breached",
    )
    tag = ":" + "t" * 17 + "..." + "t" * 16 + "END"  # 40 characters: head and tail of ":ttt...END"
    assert long.subject == "ECR scan: 1 CRITICAL, 2 HIGH in team/rrrrrrr...rrrrrrrrrrrr" + tag
    assert len(long.subject) == sns_message.SUBJECT_MAX
    untagged = notify.render(scan(image_tags=()), ["CRITICAL"], THRESHOLDS, "reminder")
    assert untagged.subject == "ECR scan reminder: 1 CRITICAL in team/api@sha256:cdcdcdcdcdcd"
    assert (
        notify.render(scan(), [], THRESHOLDS, "resolved").subject
        == "ECR scan: resolved, within thresholds: team/api:1.0"
    )
    failed = notify.render(scan(repository="tëam/api"), [], THRESHOLDS, "scan_failed")
    assert failed.subject == "ECR scan FAILED for t?am/api:1.0"  # SNS subjects are ASCII


def test_every_part_of_the_console_link_is_quoted() -> None:
    odd = scan(registry_id="1/2", region="eu/west?x=1#", repository="a b/c")
    assert notify.console_url(odd) == (
        f"https://console.aws.amazon.com/ecr/repositories/private/1%2F2/a%20b/c/_/image/{DIGEST}/scan-results"
        "?region=eu%2Fwest%3Fx%3D1%23"
    )


def test_the_update_step_needs_a_package_and_a_fixed_version() -> None:
    no_package = Finding("CVE-1", "CRITICAL", None, None, "1.2.4")
    no_fix = Finding("CVE-2", "CRITICAL", "zlib", "1.2", None)
    fixable = Finding("CVE-3", "HIGH", "curl", "8.0", "8.1")
    steps = json.loads(render(findings=[no_package, no_fix, fixable], limit=3).chat)["content"]["nextSteps"]
    assert steps[1] == "Update curl to 8.1 and rebuild the image"
    long = Finding("CVE-4", "CRITICAL", "p" * 300, "1", "2")
    step = json.loads(render(findings=[long]).chat)["content"]["nextSteps"][1]
    assert len(step) == 200
    assert step.startswith("Update ppp")
    assert step.endswith("...")


def test_the_chat_keyword_of_a_long_repository_is_capped() -> None:
    chat = json.loads(notify.render(scan(repository="r" * 256), BREACHED, THRESHOLDS, "threshold_breached").chat)
    assert chat["content"]["keywords"][3] == "r" * 47 + "..."


def test_message_size_counts_the_message_the_attributes_and_the_subject() -> None:
    notification = render(findings=FOUND)
    attributes = sum(len(k) + len("String") + len(v) for k, v in notification.attributes.items())
    expected = len(json.dumps(dict(notification.message)).encode()) + attributes + len(notification.subject)
    assert notify.message_size(notification) == expected


def test_a_package_list_is_capped_at_80_characters_in_the_chat() -> None:
    found = [Finding("CVE-1", "CRITICAL", "p" * 500, None, "9" * 100)]
    line = next(
        line
        for line in json.loads(render(findings=found).chat)["content"]["description"].splitlines()
        if line.startswith("- CRITICAL")
    )
    assert line == "- CRITICAL `CVE-1` " + "p" * 77 + "..." + " -> " + "9" * 73 + "..."


def test_findings_of_an_unknown_severity_are_listed_last() -> None:
    odd = Finding("CVE-ODD", "URGENT", score=10.0)
    assert [f.id for f in notify.rank([odd, Finding("CVE-LOW", "LOW"), Finding("CVE-UNDEF", "UNDEFINED")])] == [
        "CVE-LOW",
        "CVE-UNDEF",
        "CVE-ODD",
    ]


def test_one_expired_suppression_left_out_is_counted() -> None:
    tags = tuple(f"{n:03d}-" + "t" * 296 for n in range(1_000))  # forces the first shortening: 20 expired shown
    section = FindingsSection(findings=FOUND, expired=[expired_entry(n) for n in range(21)])
    notification = notify.render(scan(image_tags=tags), BREACHED, THRESHOLDS, "threshold_breached", section=section)
    doc = doc_of(notification)
    assert (len(doc["expired_suppressions"]), doc["expired_suppressions_total"]) == (20, 21)
    assert "  CVE-2023-0019: expired 2026-01-01 (legacy)\n  and 1 more\n" in notification.message["email"]


def test_suppressions_that_could_not_be_read_leave_the_findings_in_the_text() -> None:
    text = render(findings=FOUND, limit=1, extra={"suppressions_unavailable": "AccessDenied"}).message["email"]
    assert "Findings: 5; the 1 most severe:\n" in text
    assert "Suppressions could not be read (AccessDenied): every finding counts.\n" in text


def test_a_fifo_group_id_is_at_most_128_characters() -> None:
    sns = RecordingSns()
    long = notify.render(scan(repository="r" * 256), BREACHED, THRESHOLDS, "threshold_breached")
    notify.publish_chat(sns, "arn:aws:sns:eu-west-1:123456789012:chat.fifo", long)
    sns_message.publish(sns, "arn:aws:sns:eu-west-1:123456789012:findings.fifo", long)
    assert [r["MessageGroupId"] for r in sns.requests] == ["r" * 128, "r" * 128]


def test_a_subject_with_four_breached_counts_keeps_eight_characters_of_the_repository() -> None:
    counts = {"CRITICAL": 1111, "HIGH": 2222, "MEDIUM": 3333, "LOW": 4444}
    result = scan(repository="team/" + "r" * 200, image_tags=("t" * 100,), severity_counts=counts)
    subject = notify.render(result, ["CRITICAL", "HIGH", "MEDIUM", "LOW"], THRESHOLDS, "reminder").subject
    prefix = "ECR scan reminder: 1111 CRITICAL, 2222 HIGH, 3333 MEDIUM, 4444 LOW in "
    tag = ":" + "t" * 17 + "..." + "t" * 19  # 40 characters
    assert subject == (prefix + "te...rrr" + tag)[: sns_message.SUBJECT_MAX]  # the repository: at least 8 characters


def test_a_long_chat_description_is_cut_at_a_line_within_the_limit() -> None:
    found = [Finding(f"CVE-{n:04d}-" + "i" * 90, "HIGH", "p" * 90, "1", "2" * 90) for n in range(50)]
    description = json.loads(render(findings=found, limit=50).chat)["content"]["description"]
    assert len(description) <= notify.CHAT_DESCRIPTION_MAX
    assert description.endswith("\n…")
    kept = description[: -len("\n…")].split("\n")
    assert kept[:2] == ["*Repository:* `team/api`", "*Image:* `1.0`"]
    assert all(line.startswith("- HIGH `CVE-") and line.endswith("...") for line in kept[5:])  # whole lines only
    # maximal: one more line (every finding line is as long as the last) would pass the limit
    assert len(description) - len("\n…") + 1 + len(kept[-1]) > notify.CHAT_DESCRIPTION_MAX - 2
    assert len({len(line) for line in kept[5:]}) == 1


def test_the_chat_metadata_names_the_thread_the_repository_and_the_image() -> None:
    metadata = json.loads(render(findings=FOUND).chat)["metadata"]
    assert metadata == {
        "threadId": f"ecr-scan-reporter/123456789012/team/api/{DIGEST}",
        "summary": render(findings=FOUND).subject,
        "eventType": "threshold_breached",
        "relatedResources": ["arn:aws:ecr:eu-west-1:123456789012:repository/team/api"],
        "additionalContext": {"image_digest": DIGEST, "console_url": URL},
    }


def test_findings_that_could_not_be_read_are_said_so_in_the_text() -> None:
    text = render(findings=(), unavailable="AccessDeniedException").message["email"]
    assert (
        "Findings could not be read (AccessDeniedException): counts as the scanner reported them, "
        "suppressions not applied.\n\nFindings in the console:\n" in text
    )


def test_a_finding_without_package_or_score_shows_a_dash_and_nothing() -> None:
    text = render(findings=[Finding("CVE-1", "HIGH")]).message["email"]
    assert "  HIGH      CVE-1  -  (no fix known)\n" in text


def test_at_most_200_new_findings_are_listed_in_the_document() -> None:
    new = [(f"CVE-2026-{n:04d}", "HIGH") for n in range(300)]
    doc = doc_of(notify.render(scan(), BREACHED, THRESHOLDS, "threshold_breached", new_findings=new))
    assert (len(doc["new_findings"]), doc["new_findings_total"]) == (notify.NEW_FINDINGS_MAX, 300)
    assert doc["new_findings"][-1] == {"id": "CVE-2026-0199", "severity": "HIGH"}


def test_an_expired_entrys_long_reason_is_capped() -> None:
    [listed] = doc_of(render(findings=FOUND, expired=[expired_entry(1, "r" * 500)]))["expired_suppressions"]
    assert listed["reason"] == "r" * 297 + "..."
