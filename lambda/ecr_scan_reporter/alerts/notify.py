"""The SNS message: rendered by a pure function, published by a thin one.

:func:`render` turns a :class:`~ecr_scan_reporter.alerts.events.ScanResult` and a verdict into a :class:`Notification`
(subject, ``MessageStructure=json`` message, message attributes); ``core.sns_message.publish`` sends it. The
message has one readable text for ``default`` and ``email`` and one JSON document (``version`` 1) for ``sqs``,
``lambda`` and ``https`` subscribers; the attributes ``repository``, ``highest_severity`` and ``event_type`` let
subscribers filter.

With a :class:`FindingsSection` the message also lists the most severe findings (``findings``,
``findings_total``, ``suppressed``, ``expired_suppressions``) and, for a chat topic, :attr:`Notification.chat`
holds the same notification in the Amazon Q Developer in chat applications custom-notification format.
Whatever the image (1,000 tags, 5,000 findings, a 256-character repository name), the message fits SNS's
256 KB: lists are shortened with "and N more" until it does (:data:`MESSAGE_BUDGET`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from ecr_scan_reporter.alerts.events import ALL_SEVERITIES, ScanResult
from ecr_scan_reporter.core.config import SEVERITIES
from ecr_scan_reporter.core.finding_types import SEVERITY_ORDER, Finding
from ecr_scan_reporter.core.sns_message import (
    SNS_MAX_BYTES,
    SUBJECT_MAX,
    Notification,
    fit_subject,
    highest_severity,
    message_bytes,
)

Kind = Literal["threshold_breached", "scan_failed", "resolved", "reminder"]


class Unowned:
    """The type of :data:`NO_TEAMS`."""


#: ``render(team=NO_TEAMS)``: no teams are configured (the message has no team attribute nor document key).
NO_TEAMS = Unowned()
KINDS: tuple[Kind, ...] = ("threshold_breached", "scan_failed", "resolved", "reminder")
#: Types that report an image in breach (they need at least one breached severity).
BREACH_KINDS: tuple[Kind, ...] = ("threshold_breached", "reminder")
#: At most this many ``new_findings`` entries in the document (``new_findings_total`` gives the count), so the
#: message stays far below SNS's 256 KB whatever the image; the text lists fewer.
NEW_FINDINGS_MAX = 200
NEW_FINDINGS_TEXT_MAX = 20
#: What the rendered message (and its attributes and subject) may use: SNS's limit less a margin.
MESSAGE_BUDGET = SNS_MAX_BYTES - 4_096
FINDINGS_IN_NOTIFICATION_MAX = 50
#: Shortening steps, tried in order until the message fits: (tags shown, findings shown, expired entries shown).
#: None = all (findings: as many as configured). Each field is also capped (_FIELD_MAX) at every step.
_LEVELS: tuple[tuple[int | None, int | None, int | None], ...] = (
    (None, None, None),
    (100, None, 20),
    (20, 20, 10),
    (5, 10, 5),
    (1, 3, 1),
    (1, 0, 0),
)
_FIELD_MAX = 300  # characters of one tag, package list, URL, reason... in a message
_REASON_MAX = 2_000  # characters of a scan failure reason
# Amazon Q Developer in chat applications: the custom-notification schema documents the fields but, as far as we
# could confirm, not their limits; these caps keep a chat message short enough for any chat client to show whole.
CHAT_TITLE_MAX = 250
CHAT_DESCRIPTION_MAX = 4_000
CHAT_NEXT_STEPS_MAX = 5
CHAT_KEYWORDS_MAX = 5
CHAT_KEYWORD_LEN = 50
CHAT_TAGS_MAX = 5  # tags named in the chat form (the e-mail and the document show more, see _LEVELS)


@dataclass(frozen=True)
class FindingsSection:
    """What the findings stage knows about the image's findings, for the message.

    ``findings`` are the ones that count (suppressed ones removed), in any order: the message lists the ``limit``
    most severe (severity, then score, then EPSS). ``unavailable`` says why the findings could not be read (the
    message then shows the scanner's counts only, and says suppressions were not applied)."""

    findings: Sequence[Finding] = ()
    limit: int = 10
    suppressed: int = 0
    expired: Sequence[Mapping[str, Any]] = ()  # Suppression.describe() of expired entries naming these findings
    unavailable: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # reserved for additive document keys


# Region name prefix -> partition (commercial: any other region), as botocore's partitions.json matches them.
_PARTITIONS: tuple[tuple[str, str], ...] = (
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)
# Partition -> console host, as AWS documents them (each also answers as <region>.<host>). The ISO partitions
# have no public console: their links use the commercial host's form, which is what they always were.
_CONSOLE_HOSTS: Mapping[str, str] = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
    "aws-eusc": "console.amazonaws-eusc.eu",
}
_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}")


def partition(region: str) -> str:
    """The AWS partition of a region name (``aws`` for any region of no other partition)."""
    return next((name for prefix, name in _PARTITIONS if region.startswith(prefix)), "aws")


def console_url(result: ScanResult) -> str:
    """The ECR console page with the image's scan findings (enhanced-scanning findings are shown there too), on
    the console of the region's partition. A region that is not shaped like one never becomes part of the host,
    and every part of the path is URL-quoted, so an odd event cannot point the link anywhere else."""
    region = result.region
    host = _CONSOLE_HOSTS.get(partition(region), _CONSOLE_HOSTS["aws"])
    if _REGION.fullmatch(region):
        host = f"{region}.{host}"
    path = "/".join(
        [
            "ecr/repositories/private",
            quote(result.registry_id, safe=""),
            quote(result.repository, safe="/"),
            "_/image",
            quote(result.image_digest, safe=":"),
            "scan-results",
        ]
    )
    return f"https://{host}/{path}?region={quote(region, safe='')}"


def render(
    result: ScanResult,
    breached: Sequence[str],
    thresholds: Mapping[str, int | None],
    kind: Kind,
    failure_reason: str | None = None,
    new_findings: Sequence[tuple[str, str]] | None = None,
    section: FindingsSection | None = None,
    team: str | Unowned | None = NO_TEAMS,
) -> Notification:
    """Render the notification. ``team``: the team that owns the repository (None: nobody; :data:`NO_TEAMS`: no
    teams are configured), as the message attribute ``team`` (absent for nobody) and the document's ``team``
    (absent without teams). ``breached`` comes from ``policy.evaluate_thresholds``; ``failure_reason`` is
    used (default ``"unknown"``) only for ``scan_failed``. ``new_findings`` ((id, severity) pairs the ledger has
    not notified before; None without a ledger) adds ``new_findings`` (and ``new_findings_total``) to the
    document; ``section`` adds the findings list. A thresholded severity missing from ``result.severity_counts``
    is shown as "not reported", never as 0. Lists are shortened until the message fits :data:`MESSAGE_BUDGET`."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    breached = [s for s in SEVERITIES if s in breached]  # most severe first, whatever the caller's order
    if kind in BREACH_KINDS and not breached:
        raise ValueError(f"{kind} needs at least one breached severity")
    if section is not None and not 0 <= section.limit <= FINDINGS_IN_NOTIFICATION_MAX:
        raise ValueError(f"findings limit must be 0..{FINDINGS_IN_NOTIFICATION_MAX}, got {section.limit}")
    ranked = rank(section.findings) if section else []
    for level in _LEVELS:
        notification = _render(
            result, breached, thresholds, kind, failure_reason, new_findings, section, ranked, level, team
        )
        if message_size(notification) <= MESSAGE_BUDGET and len(notification.chat.encode()) <= MESSAGE_BUDGET:
            return notification
    raise AssertionError("the most shortened message still exceeds the SNS limit")  # pragma: no cover


def rank(findings: Sequence[Finding]) -> list[Finding]:
    """Findings with a known exploit at MEDIUM or above first, then most severe first: by severity, then score
    (CVSS / Inspector) high to low, then EPSS, then id."""
    order = {s: i for i, s in enumerate(SEVERITY_ORDER)}

    def key(f: Finding) -> tuple[bool, int, float, float, str]:
        score = -f.score if f.score is not None else 1.0
        epss = -f.epss if f.epss is not None else 1.0
        return (not exploitable(f), order.get(f.severity, len(order)), score, epss, f.id)

    return sorted(findings, key=key)


def exploitable(finding: Finding) -> bool:
    """The scanner says an exploit is available (``exploitAvailable`` YES) and the finding is MEDIUM or above."""
    return finding.exploit_available is True and finding.severity in ("CRITICAL", "HIGH", "MEDIUM")


def message_size(notification: Notification) -> int:
    """Bytes SNS counts for a publish of ``notification`` (message, attributes) plus the subject, to be safe."""
    return message_bytes(notification) + len(notification.subject.encode())


def _render(
    result: ScanResult,
    breached: list[str],
    thresholds: Mapping[str, int | None],
    kind: Kind,
    failure_reason: str | None,
    new_findings: Sequence[tuple[str, str]] | None,
    section: FindingsSection | None,
    ranked: list[Finding],
    level: tuple[int | None, int | None, int | None],
    team: str | Unowned | None = NO_TEAMS,
) -> Notification:
    max_tags, max_findings, max_expired = level
    limits = {s: thresholds.get(s) for s in SEVERITIES}
    url = console_url(result)
    tags = [_cap(t) for t in result.image_tags[:max_tags]] if max_tags is not None else list(result.image_tags)
    if max_tags is None and any(len(t) > _FIELD_MAX for t in tags):
        tags = [_cap(t) for t in tags]
    doc: dict[str, Any] = {
        "version": 1,
        "type": kind,
        "repository": result.repository,
        "registry_id": result.registry_id,
        "region": result.region,
        "image_digest": result.image_digest,
        "image_tags": tags,
        "severity_counts": dict(result.severity_counts),
        "thresholds": limits,
        "breached": breached,
        "scan_completed_at": _iso(result),
        "console_url": url,
    }
    if team is not NO_TEAMS:
        doc["team"] = team
    if len(tags) < len(result.image_tags):
        doc["image_tags_total"] = len(result.image_tags)
    if kind == "scan_failed":
        doc["failure_reason"] = _cap(failure_reason or "unknown", _REASON_MAX)
    new_listed: Sequence[tuple[str, str]] = ()
    if new_findings is not None:
        new_listed = new_findings[: NEW_FINDINGS_MAX if max_findings is None else max_findings]
        doc["new_findings"] = [{"id": _cap(i), "severity": s} for i, s in new_listed]
        doc["new_findings_total"] = len(new_findings)
    listed: list[Finding] = []
    if section is not None:
        count = section.limit if max_findings is None else min(section.limit, max_findings)
        listed = ranked[:count]
        expired = list(section.expired)[:max_expired] if max_expired is not None else list(section.expired)
        doc["findings"] = [_finding_doc(f) for f in listed]
        doc["findings_total"] = None if section.unavailable else len(ranked)
        doc["suppressed"] = section.suppressed
        doc["expired_suppressions"] = [{k: _cap(v) if isinstance(v, str) else v for k, v in e.items()} for e in expired]
        if len(expired) < len(section.expired):
            doc["expired_suppressions_total"] = len(section.expired)
        if section.unavailable:
            doc["findings_unavailable"] = _cap(section.unavailable)
        doc.update(section.extra)
    text = _text(result, breached, limits, kind, doc.get("failure_reason"), url, new_findings or (), tags, doc, listed)
    document = json.dumps(doc, sort_keys=False)
    subject = _subject(result, breached, kind)
    attributes = {
        "repository": result.repository,
        "highest_severity": highest_severity(result.severity_counts),
        "event_type": kind,
    }
    if isinstance(team, str):
        attributes["team"] = team
    return Notification(
        subject=subject,
        message={"default": text, "email": text, "sqs": document, "lambda": document, "https": document},
        attributes=attributes,
        chat=_chat(result, kind, subject, doc, listed, url),
    )


def publish_chat(sns_client: Any, topic_arn: str, notification: Notification) -> str:
    """Publish the chat form (a plain message, as Amazon Q Developer in chat applications reads it) to a chat
    topic and return the SNS message id."""
    request: dict[str, Any] = {
        "TopicArn": topic_arn,
        "Subject": notification.subject,
        "Message": notification.chat,
        "MessageAttributes": {
            name: {"DataType": "String", "StringValue": value} for name, value in notification.attributes.items()
        },
    }
    if topic_arn.endswith(".fifo"):
        request["MessageGroupId"] = notification.attributes["repository"][:128]
        request["MessageDeduplicationId"] = hashlib.sha256(notification.chat.encode()).hexdigest()
    return str(sns_client.publish(**request)["MessageId"])


def _iso(result: ScanResult) -> str:
    return result.scan_completed_at.isoformat().replace("+00:00", "Z")


def _text(
    result: ScanResult,
    breached: Sequence[str],
    limits: Mapping[str, int | None],
    kind: Kind,
    failure_reason: str | None,
    url: str,
    new_findings: Sequence[tuple[str, str]] = (),
    tags: Sequence[str] = (),
    doc: Mapping[str, Any] | None = None,
    listed: Sequence[Finding] = (),
) -> str:
    scanner = "Amazon ECR basic scanning" if result.source == "ecr" else "Amazon Inspector (ECR enhanced scanning)"
    title = {
        "threshold_breached": "Image scan findings over threshold",
        "scan_failed": "Image scan FAILED",
        "resolved": "Image scan findings within every threshold again (resolved)",
        "reminder": "Reminder: image scan findings still over threshold",
    }[kind]
    doc = doc or {}
    image = ", ".join(tags) or result.image_digest
    if len(tags) < len(result.image_tags):
        image += f" and {len(result.image_tags) - len(tags)} more tags"
    lines = [
        title,
        "",
        f"Repository:  {result.repository}",
        f"Image:       {image}",
        f"Digest:      {result.image_digest}",
        f"Registry:    {result.registry_id} ({result.region})",
        f"Scanned at:  {_iso(result)}",
        f"Scanner:     {scanner}",
        "",
    ]
    if kind == "scan_failed":
        lines += [f"Reason:      {failure_reason}", ""]
    else:
        lines += [f"{'Severity':<15}{'Count':>7}  Threshold", f"{'-' * 22}  {'-' * 9}"]
        for severity in ALL_SEVERITIES:
            if severity not in SEVERITIES and severity not in result.severity_counts:
                continue
            limit = limits.get(severity)
            shown = "-" if severity not in SEVERITIES else ("ignored" if limit is None else str(limit))
            mark = "  BREACHED" if severity in breached else ""
            if severity not in result.severity_counts:  # e.g. LOW in an Inspector2 Scan event: never read as 0
                lines.append(f"{severity:<15}{'?':>7}  {shown:<10}  not reported by the scanner".rstrip())
                continue
            lines.append(f"{severity:<15}{result.severity_counts[severity]:>7}  {shown:<10}{mark}".rstrip())
        lines += ["", f"Breached:    {', '.join(breached) or 'none'}", ""]
        if new_findings:
            lines.append(f"New findings ({len(new_findings)}):")
            shown_new = new_findings[:NEW_FINDINGS_TEXT_MAX]
            lines += [f"  {severity:<10}{_cap(finding_id)}" for finding_id, severity in shown_new]
            if len(new_findings) > len(shown_new):
                lines.append(f"  ... and {len(new_findings) - len(shown_new)} more")
            lines.append("")
    if "findings" in doc:
        lines += _findings_text(doc, listed, url)
    lines += ["Findings in the console:", url, ""]
    return "\n".join(lines)


def _findings_text(doc: Mapping[str, Any], listed: Sequence[Finding], url: str) -> list[str]:
    total, suppressed = doc.get("findings_total"), doc.get("suppressed", 0)
    lines: list[str] = []
    if doc.get("findings_unavailable"):
        lines += [
            f"Findings could not be read ({doc['findings_unavailable']}): counts as the scanner reported them, "
            "suppressions not applied.",
            "",
        ]
    elif total is not None:
        head = f"Findings: {total}" + (f" ({suppressed} suppressed as accepted risks)" if suppressed else "")
        lines += [head + (f"; the {len(listed)} most severe:" if listed else ""), ""]
        for f in listed:
            package = " ".join(p for p in (f.package_name, f.package_version) if p) or "-"
            fix = f"fixed in {f.fixed_in}" if f.fixed_in else "no fix known"
            score = f"  score {f.score:g}" if f.score is not None else ""
            exploit = "  [exploit available]" if exploitable(f) else ""
            lines.append(f"  {f.severity:<9} {_cap(f.id)}  {_cap(package)}  ({_cap(fix)}){score}{exploit}")
            if f.url:
                lines.append(f"            {_cap(f.url)}")
        if total > len(listed):
            lines.append(f"  and {total - len(listed)} more: {url}" if listed else f"  See them all: {url}")
        lines.append("")
    if doc.get("suppressions_unavailable"):
        lines += [f"Suppressions could not be read ({doc['suppressions_unavailable']}): every finding counts.", ""]
    expired = doc.get("expired_suppressions") or []
    if expired:
        lines.append("Expired suppressions (these findings count again):")
        for entry in expired:
            where = f" in repositories matching {entry['repository_regex']}" if entry.get("repository_regex") else ""
            lines.append(f"  {entry['vulnerability_id']}{where}: expired {entry['expires']} ({entry['reason']})")
        more = doc.get("expired_suppressions_total", len(expired)) - len(expired)
        if more > 0:
            lines.append(f"  and {more} more")
        lines.append("")
    return lines


def _finding_doc(f: Finding) -> dict[str, Any]:
    return {
        "id": _cap(f.id),
        "severity": f.severity,
        "package_name": _cap(f.package_name),
        "package_version": _cap(f.package_version),
        "fixed_in": _cap(f.fixed_in),
        "url": _cap(f.url),
        "score": f.score,
        "epss": f.epss,
        **({"exploit_available": f.exploit_available} if f.exploit_available is not None else {}),
    }


def _chat(
    result: ScanResult, kind: Kind, subject: str, doc: Mapping[str, Any], listed: Sequence[Finding], url: str
) -> str:
    """The Amazon Q Developer in chat applications custom notification (version 1.0, source custom)."""
    icon = {"threshold_breached": ":rotating_light:", "reminder": ":bell:", "resolved": ":white_check_mark:"}.get(
        kind, ":x:"
    )
    counts = result.severity_counts
    limits = doc["thresholds"]
    tags = doc["image_tags"][:CHAT_TAGS_MAX]  # a few, so that the counts and findings always fit the description
    image = _cap(", ".join(tags)) if tags else result.image_digest
    lines = [f"*Repository:* `{result.repository}`", f"*Image:* `{image}`"]
    more = doc.get("image_tags_total", len(doc["image_tags"])) - len(tags)
    if more > 0:
        lines[-1] += f" and {more} more tags"
    lines.append(f"*Digest:* `{result.image_digest}`")
    if kind == "scan_failed":
        lines.append(f"*Reason:* {doc.get('failure_reason')}")
    else:
        shown = []
        for severity in SEVERITIES:
            count = counts.get(severity)
            limit = limits.get(severity)
            value = "not reported" if count is None else str(count)
            mark = " *(over threshold)*" if severity in doc["breached"] else ""
            shown.append(f"{severity} {value}" + (f" / {limit}" if limit is not None else "") + mark)
        lines.append("*Counts / thresholds:* " + ", ".join(shown))
    if doc.get("findings_unavailable"):
        lines.append(f"_Findings could not be read ({doc['findings_unavailable']}); suppressions not applied._")
    elif "findings" in doc:
        total = doc.get("findings_total") or 0
        if listed:
            lines.append("*Most severe findings:*")
            for f in listed:
                package = " ".join(p for p in (f.package_name, f.package_version) if p)
                fix = f" -> {f.fixed_in}" if f.fixed_in else ""
                lines.append(f"- {f.severity} `{_cap(f.id, 80)}` {_cap(package, 80)}{_cap(fix, 80)}")
        if total > len(listed):
            lines.append(f"_and {total - len(listed)} more in the console_")
        if doc.get("suppressed"):
            lines.append(f"_{doc['suppressed']} suppressed as accepted risks_")
    if doc.get("suppressions_unavailable"):
        lines.append(f"_Suppressions could not be read ({doc['suppressions_unavailable']}): every finding counts_")
    for entry in (doc.get("expired_suppressions") or [])[:3]:
        lines.append(f"_Suppression of `{entry['vulnerability_id']}` expired {entry['expires']}: it counts again_")
    description = "\n".join(lines)
    if len(description) > CHAT_DESCRIPTION_MAX:
        description = description[: CHAT_DESCRIPTION_MAX - 2].rsplit("\n", 1)[0] + "\n…"
    next_steps = [f"Open the findings in the Amazon ECR console: {url}"]
    fixable = next((f for f in listed if f.fixed_in and f.package_name), None)
    if fixable:
        next_steps.append(_cap(f"Update {fixable.package_name} to {fixable.fixed_in} and rebuild the image", 200))
    if kind in BREACH_KINDS:
        next_steps.append("Accepted a risk? Add it to the module's `suppressions` with an expiry date and a reason")
    keywords = ["ECR", kind, highest_severity(counts), _cap(result.repository, CHAT_KEYWORD_LEN)]
    message = {
        "version": "1.0",
        "source": "custom",
        "id": f"{result.image_digest}:{kind}",
        "content": {
            "textType": "client-markdown",
            "title": _cap(f"{icon} {subject}", CHAT_TITLE_MAX),
            "description": description,
            "nextSteps": next_steps[:CHAT_NEXT_STEPS_MAX],
            "keywords": [_cap(k, CHAT_KEYWORD_LEN) for k in keywords][:CHAT_KEYWORDS_MAX],
        },
        "metadata": {
            "threadId": f"ecr-scan-reporter/{result.registry_id}/{result.repository}/{result.image_digest}",
            "summary": subject,
            "eventType": kind,
            "relatedResources": [f"arn:aws:ecr:{result.region}:{result.registry_id}:repository/{result.repository}"],
            "additionalContext": {"image_digest": result.image_digest, "console_url": url},
        },
    }
    return json.dumps(message, ensure_ascii=False)


def _cap(text: Any, width: int = _FIELD_MAX) -> Any:
    """``text`` cut to ``width`` characters (with "...") so no single field can blow the message size."""
    if text is None:
        return None
    return text if len(text) <= width else text[: width - 3] + "..."


def _subject(result: ScanResult, breached: Sequence[str], kind: Kind) -> str:
    if kind == "scan_failed":
        prefix = "ECR scan FAILED for "
    elif kind == "resolved":
        prefix = "ECR scan: resolved, within thresholds: "
    else:
        label = "ECR scan reminder: " if kind == "reminder" else "ECR scan: "
        prefix = label + ", ".join(f"{result.severity_counts.get(s, 0)} {s}" for s in breached) + " in "
    suffix = f":{result.image_tags[0]}" if result.image_tags else f"@{result.image_digest[:19]}"
    suffix = fit_subject(suffix, 40)
    room = SUBJECT_MAX - len(prefix) - len(suffix)
    subject = prefix + fit_subject(result.repository, max(room, 8)) + suffix
    return subject[:SUBJECT_MAX]
