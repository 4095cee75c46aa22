"""The organization report goes to each destination once a period (the hub's function, modules/hub).

A destination is the central topic (``topic``), the chat topic (``chat``) or a team's topic (``team-<name>``). The
function stores the report first, then publishes to each destination and records that it went in a marker object
of the hub's bucket::

    organization-report/published/<period>/<destination>.json     {"message_id", "topic_arn", "published_at"}

The **period** is what Lambda's retries of one invocation share: the scheduled event's ``time`` (EventBridge sets it
to the schedule's time; every retry, and a duplicate delivery of the event, carries the same), else the invocation's
request id (Lambda retries an asynchronous invocation under the same id), else none (nothing is recorded: every run
publishes). Before publishing, a destination whose marker exists is skipped: a retry after one destination failed
publishes only what did not go. A marker that cannot be read (S3 refusing) counts as a failed destination: the
report is not published there blind, the invocation fails and Lambda retries it.

One window is left: a marker that S3 refuses to write after its publish succeeded (logged as
``organization_report_publication_not_recorded``) lets a retry of that invocation publish there again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import sns_message
from ecr_scan_reporter.report import org

PREFIX = "organization-report/published/"
TOPIC, CHAT, TEAM = "topic", "chat", "team-"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def period(event: Any, request_id: Any = None) -> str | None:
    """The period an invocation publishes for: ``2026-12-07T080000Z`` (the scheduled event's time, UTC),
    ``request-<id>`` (an invocation without a time: its request id), or None."""
    when = event.get("time") if isinstance(event, Mapping) else None
    if isinstance(when, str):
        try:
            parsed = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    if isinstance(request_id, str) and _REQUEST_ID.match(request_id):
        return f"request-{request_id}"
    return None


def marker_key(period_key: str, destination: str) -> str:
    return f"{PREFIX}{period_key}/{destination}.json"


@dataclass(frozen=True)
class Destination:
    """Where the report goes: the central topic (the report), the chat topic (its chat form) or a team's topic (the
    team's own report)."""

    name: str  # the marker's name: topic, chat, team-<name>
    topic_arn: str
    team: str | None = None


def destinations(
    topic_arn: str, chat_topic_arn: str | None, team_topics: Sequence[tuple[str, str]]
) -> dict[str, Destination]:
    """The destinations by name, in order: the central topic, the chat topic, each ``(team, topic ARN)``."""
    found = [Destination(TOPIC, topic_arn)]
    if chat_topic_arn:
        found.append(Destination(CHAT, chat_topic_arn))
    found += [Destination(f"{TEAM}{team}", arn, team) for team, arn in team_topics]
    return {destination.name: destination for destination in found}


@dataclass(frozen=True)
class Failure:
    """A destination the report did not reach (or whose marker could not be read or written): S3's or SNS's error."""

    destination: str
    code: str
    message: str


def failure(destination: str, exc: ClientError | BotoCoreError) -> Failure:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return Failure(destination, str(error.get("Code", "")), str(error.get("Message", exc)))
    return Failure(destination, type(exc).__name__, str(exc))


@dataclass(frozen=True)
class Checked:
    """The destinations of a period before publishing: already published, still to publish, or unknown."""

    already: list[str]
    pending: list[str]
    unknown: list[Failure]


def check(s3: Any, bucket: str, period_key: str | None, destinations: Sequence[str]) -> Checked:
    """Which of ``destinations`` the period's report already reached (their markers exist)."""
    if period_key is None:
        return Checked([], list(destinations), [])
    already: list[str] = []
    pending: list[str] = []
    unknown: list[Failure] = []
    for destination in destinations:
        try:
            s3.head_object(Bucket=bucket, Key=marker_key(period_key, destination))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                pending.append(destination)
            else:
                unknown.append(failure(destination, exc))
            continue
        except BotoCoreError as exc:
            unknown.append(failure(destination, exc))
            continue
        already.append(destination)
    return Checked(already, pending, unknown)


def record(
    s3: Any, bucket: str, period_key: str | None, destination: str, topic_arn: str, message_id: str, at: datetime
) -> Failure | None:
    """Write the destination's marker for the period (nothing without a period); the failure if S3 refused it."""
    if period_key is None:
        return None
    body = {"message_id": message_id, "topic_arn": topic_arn, "published_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
    try:
        s3.put_object(
            Bucket=bucket,
            Key=marker_key(period_key, destination),
            Body=json.dumps(body).encode(),
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as exc:
        return failure(destination, exc)
    return None


@dataclass
class Delivery:
    """What one invocation published: message ids by destination, the notifications by event type (NotificationsSent;
    the chat form is not counted: it is the central topic's message), the destinations that failed, the markers
    S3 refused (those destinations went)."""

    message_ids: dict[str, str]
    sent: dict[str, int]
    failures: list[Failure]
    not_recorded: list[Failure]


def deliver(
    s3: Any,
    sns: Any,
    bucket: str,
    period_key: str | None,
    pending: Sequence[Destination],
    built: org.OrgReport,
    message: sns_message.Notification,
    now: datetime,
) -> Delivery:
    """Publish to every destination of ``pending`` (one failing does not stop the others), recording each that went."""
    delivery = Delivery({}, {}, [], [])
    for destination in pending:
        try:
            message_id, event_type = _publish(sns, destination, built, message)
        except (ClientError, BotoCoreError) as exc:
            delivery.failures.append(failure(destination.name, exc))
            continue
        delivery.message_ids[destination.name] = message_id
        if event_type is not None:
            delivery.sent[event_type] = delivery.sent.get(event_type, 0) + 1
        refused = record(s3, bucket, period_key, destination.name, destination.topic_arn, message_id, now)
        if refused is not None:
            delivery.not_recorded.append(refused)
    return delivery


def _publish(
    sns: Any, destination: Destination, built: org.OrgReport, message: sns_message.Notification
) -> tuple[str, str | None]:
    """The SNS message id, and the event type NotificationsSent counts it under (None: the chat form)."""
    if destination.team is not None:
        team_message = org.team_notification(built, destination.team)
        return sns_message.publish(sns, destination.topic_arn, team_message), team_message.attributes["event_type"]
    if destination.name == CHAT:
        response = sns.publish(TopicArn=destination.topic_arn, Subject=message.subject, Message=message.chat)
        return str(response["MessageId"]), None
    return sns_message.publish(sns, destination.topic_arn, message), message.attributes["event_type"]
