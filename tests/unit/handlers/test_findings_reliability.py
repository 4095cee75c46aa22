"""handlers.findings against moto, issue 17: batches of the same second, an image with 10,000 findings, claims taken
over once, a redelivery after the sweep recorded a rescan, the first image of a batch, the claim's deadline, and
the findings function's metrics."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from conftest import ACCOUNT, REGION

import handlers.test_findings_alerts as alerts
from ecr_scan_reporter.alerts import stage
from ecr_scan_reporter.alerts.findings import Finding
from ecr_scan_reporter.core import ledger, metrics
from ecr_scan_reporter.handlers import findings, load_settings
from handlers.test_findings_alerts import (
    CRIT,
    DIGEST,
    HIGH1,
    OTHER,
    TABLE,
    Inbox,
    Reader,
    ecr_event,
    finding_event,
    sqs_batch,
)

CRIT2 = Finding("CVE-2026-1001", "CRITICAL")
inbox, reader = alerts.inbox, alerts.reader  # the fixtures: moto's table and topics, the findings read


def client() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def stored(digest: str = DIGEST) -> ledger.LedgerRecord:
    record = ledger.get_record(client(), TABLE, ACCOUNT, "team/api", digest)
    assert record is not None
    return record


def every_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_ON", "every_scan")
    load_settings.cache_clear()


class Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


# --- item 2: a second batch of the same second ----------------------------------------------------------------------


def test_a_second_batch_of_the_same_second_with_a_new_finding_is_notified(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_scan(monkeypatch)  # every evaluated batch would notify: only staleness holds a redelivery back
    reader.by_digest[DIGEST] = [CRIT]
    first = sqs_batch([finding_event(DIGEST, CRIT.id, "CRITICAL", 0)])
    findings.handler(first, None)
    assert len(inbox()) == 1

    findings.handler(first, None)  # an exact redelivery: Inspector still has the same findings
    assert inbox() == []

    reader.by_digest[DIGEST] = [CRIT, CRIT2]  # a concurrent poller's batch, closed in the same second
    second = sqs_batch([finding_event(DIGEST, CRIT2.id, "CRITICAL", 0)])
    assert findings.handler(second, None) == {"batchItemFailures": []}
    (doc,) = inbox()
    assert doc["new_findings"] == [{"id": CRIT2.id, "severity": "CRITICAL"}]

    findings.handler(second, None)  # and its exact redelivery
    assert inbox() == []
    assert stored().scan_completed_at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_a_same_second_batch_arriving_while_the_first_is_publishing_is_retried_not_dropped(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 27: the concurrent half of a same-second burst. While the first batch's claim is live, a second batch
    of the same image and second (another poller's, carrying another finding) is a batch item failure (retried),
    never a ``duplicate`` SQS would delete; its finding is notified when it comes back."""
    reader.by_digest[DIGEST] = [CRIT]
    first = sqs_batch([finding_event(DIGEST, CRIT.id, "CRITICAL", 0)])
    second = sqs_batch([finding_event(DIGEST, CRIT2.id, "CRITICAL", 0)])
    real_publish = stage.sns_message.publish
    concurrent: list[dict[str, Any]] = []

    def publish(*args: Any, **kwargs: Any) -> str:
        if not concurrent:  # the first batch's alert is being published: the second batch arrives
            reader.by_digest[DIGEST] = [CRIT, CRIT2]
            concurrent.append(findings.handler(second, Context(60_000)))
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(stage.sns_message, "publish", publish)
    assert findings.handler(first, Context(60_000)) == {"batchItemFailures": []}
    assert concurrent == [{"batchItemFailures": [{"itemIdentifier": "m0"}]}]  # retried, not deleted
    assert [d["new_findings"] for d in inbox()] == [[{"id": CRIT.id, "severity": "CRITICAL"}]]

    assert findings.handler(second, Context(60_000)) == {"batchItemFailures": []}  # SQS redelivers it
    assert [d["new_findings"] for d in inbox()] == [[{"id": CRIT2.id, "severity": "CRITICAL"}]]
    assert findings.handler(second, Context(60_000)) == {"batchItemFailures": []}  # an exact redelivery
    assert inbox() == []


# --- item 3: an image with thousands of findings ------------------------------------------------------------------


def test_an_image_with_10000_findings_is_notified_and_its_record_fits(inbox: Inbox, reader: Reader) -> None:
    found = [Finding(f"CVE-{i:056d}", "CRITICAL" if i % 2 else "HIGH") for i in range(10_000)]  # 60-char ids
    reader.by_digest[DIGEST] = found
    response = findings.handler(ecr_event({"CRITICAL": 5_000, "HIGH": 5_000}), None)

    assert (response["status"], response["breached"]) == ("notified", ["CRITICAL", "HIGH"])
    (doc,) = inbox()
    assert doc["new_findings_total"] == 10_000
    item = client().get_item(TableName=TABLE, Key=ledger.item_key(ACCOUNT, "team/api", DIGEST))["Item"]
    assert ledger.item_size(item) <= ledger.ITEM_BUDGET < 400 * 1024  # moto refuses an item over 400 KB too
    record = ledger.from_item(item)
    assert record.pending_token is None  # confirmed
    assert set(record.findings.values()) == {"CRITICAL"}  # the most severe listed
    assert record.findings_omitted == 10_000 - len(record.findings)

    # The next scan: one more CRITICAL. Exactly it is news, though most ids could not be stored.
    reader.by_digest[DIGEST] = [*found, Finding("CVE-2026-9999", "CRITICAL")]
    response = findings.handler(ecr_event({"CRITICAL": 5_001, "HIGH": 5_000}, day=7), None)
    assert (response["status"], response["reason"]) == ("notified", "new_findings")
    (doc,) = inbox()
    assert doc["new_findings"] == [{"id": "CVE-2026-9999", "severity": "CRITICAL"}]
    assert findings.handler(ecr_event({"CRITICAL": 5_001, "HIGH": 5_000}, day=14), None)["status"] == "not_news"
    assert inbox() == []


# --- item 5 and the claim's gaps: takeover, deadline -------------------------------------------------------------


def leave_an_expired_claim(reader: Reader, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The first delivery dies after its claim, before SNS accepted the message; its deadline passes."""
    reader.by_digest[DIGEST] = [CRIT]
    event = ecr_event({"CRITICAL": 1})

    def crash(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("killed before SNS accepted the message")

    with monkeypatch.context() as patch:
        patch.setattr(stage.sns_message, "publish", crash)
        with pytest.raises(RuntimeError):
            findings.handler(event, None)
    claimed = stored()
    assert claimed.pending_type == "threshold_breached"
    expired = replace(claimed, pending_until=datetime.now(UTC) - timedelta(seconds=1))
    assert ledger.put_record(client(), TABLE, expired, claimed.revision) is not None
    return event


def test_a_claim_taken_over_is_not_taken_over_again_by_a_concurrent_delivery(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = leave_an_expired_claim(reader, monkeypatch)
    real_publish = stage.sns_message.publish
    published: list[str] = []
    concurrent: list[dict[str, Any]] = []

    def publish(*args: Any, **kwargs: Any) -> str:
        published.append("sent")
        if not concurrent:  # while the first retry re-sends the claimed alert, another delivery arrives
            concurrent.append(findings.handler(event, Context(60_000)))
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(stage.sns_message, "publish", publish)
    findings.handler(event, Context(60_000))

    assert concurrent[0]["reason"] == "notification_in_flight"
    assert published == ["sent"]
    assert len(inbox()) == 1


def test_a_takeover_that_lost_the_race_publishes_nothing(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between reading the expired claim and taking it over, another invocation re-claimed it: this one sends
    nothing (the other sends the alert)."""
    event = leave_an_expired_claim(reader, monkeypatch)
    real_put = ledger.put_record
    raced: list[bool] = []

    def put_record(dynamodb: Any, table: str, record: ledger.LedgerRecord, expected: int | None) -> Any:
        if not raced:
            raced.append(True)
            other = replace(stored(), pending_token="other", pending_until=datetime.now(UTC) + timedelta(minutes=1))
            assert real_put(dynamodb, table, other, expected) is not None  # the other invocation wins
        return real_put(dynamodb, table, record, expected)

    monkeypatch.setattr(stage.ledger, "put_record", put_record)
    response = findings.handler(event, Context(60_000))

    assert (response["status"], response["reason"]) == ("duplicate", "notification_in_flight")
    assert inbox() == []
    assert stored().pending_token == "other"


@pytest.mark.parametrize(("context", "seconds"), [(Context(123_456), 123.456), (None, 60)])
def test_the_claim_lasts_until_the_invocations_deadline(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch, context: Context | None, seconds: float
) -> None:
    """Lambda's remaining time is in milliseconds; the claim written before publishing is valid until the
    invocation's deadline (not expired at once, not days later). Unknown deadline: the function's timeout."""
    reader.by_digest[DIGEST] = [CRIT]
    real_publish = stage.sns_message.publish
    claims: list[ledger.LedgerRecord] = []

    def publish(*args: Any, **kwargs: Any) -> str:
        claims.append(stored())  # the record while the alert is being published
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(stage.sns_message, "publish", publish)
    before = datetime.now(UTC)
    findings.handler(ecr_event({"CRITICAL": 1}), context)
    after = datetime.now(UTC)

    (claim,) = claims
    assert claim.pending_token is not None
    assert claim.pending_until is not None
    slack = timedelta(milliseconds=1)  # the ledger stores milliseconds
    assert before + timedelta(seconds=seconds) - slack <= claim.pending_until <= after + timedelta(seconds=seconds)
    assert stored().pending_token is None


# --- item 6: a redelivery after the sweep recorded a rescan -----------------------------------------------------------


def test_a_redelivered_event_is_not_evaluated_again_after_the_sweep_recorded_a_rescan(
    inbox: Inbox, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_scan(monkeypatch)
    reader.by_digest[DIGEST] = [CRIT]
    event = ecr_event({"CRITICAL": 1})
    findings.handler(event, None)
    started = datetime(2026, 11, 1, 0, 2, tzinfo=UTC)  # the sweep starts a rescan two minutes after that result
    assert ledger.record_scan_started(client(), TABLE, ACCOUNT, "team/api", DIGEST, ("2.0",), started, ttl=9)
    assert stored().source == "sweep"

    response = findings.handler(event, None)  # the first result, delivered again

    assert (response["status"], response["reason"]) == ("duplicate", "not_newer_than_recorded")
    assert len(inbox()) == 1
    assert findings.handler(ecr_event({"CRITICAL": 1}, day=1), None)["status"] == "notified"  # the rescan's result


# --- the first image of a batch ---------------------------------------------------------------------------------------


def test_the_first_image_of_a_batch_is_reported_even_when_time_is_short(inbox: Inbox, reader: Reader) -> None:
    reader.by_digest[DIGEST] = [CRIT]
    reader.by_digest[OTHER] = [HIGH1, Finding("CVE-2026-2002", "HIGH")]
    batch = sqs_batch([finding_event(DIGEST, CRIT.id, "CRITICAL", 0), finding_event(OTHER, HIGH1.id, "HIGH", 1)])

    response = findings.handler(batch, Context(stage.FINDING_EVENTS_RESERVE_MS - 1))

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}  # the second image: later
    (doc,) = inbox()
    assert doc["image_digest"] == DIGEST


# --- the findings function's metrics ----------------------------------------------------------------------------------


def test_held_back_counts_only_results_in_breach_and_each_type_is_its_own_event_type() -> None:
    tally = stage.Tally(resent=["scan_failed"])
    for response in (
        {"status": "not_news", "breached": []},  # a clean image: nothing held back
        {"status": "not_news", "breached": ["HIGH"]},  # in breach, already notified: held back
        {"status": "notified", "event_type": "resolved", "breached": []},
        {"status": "notified", "event_type": "reminder", "breached": ["CRITICAL"]},
        {"status": "notified", "event_type": "scan_failed", "breached": []},
        {"status": "notified", "event_type": "threshold_breached", "breached": ["CRITICAL"]},
    ):
        tally.outcomes.append((response, 0))

    measured = findings._measured(tally)

    held = [m for m in measured if m.name == metrics.NOTIFICATIONS_HELD_BACK]
    assert [m.value for m in held] == [1]
    sent = sorted(m.dimensions[metrics.EVENT_TYPE] for m in measured if m.name == metrics.NOTIFICATIONS_SENT)
    assert sent == ["reminder", "resolved", "scan_failed", "scan_failed", "threshold_breached"]
    breach = sorted(m.dimensions[metrics.SEVERITY] for m in measured if m.name == metrics.IMAGES_IN_BREACH)
    assert breach == ["CRITICAL", "CRITICAL", "HIGH"]


def test_the_sent_metric_is_emitted_with_its_event_type(
    inbox: Inbox, reader: Reader, capsys: pytest.CaptureFixture[str]
) -> None:
    reader.by_digest[DIGEST] = [CRIT]
    findings.handler(ecr_event({"CRITICAL": 1}), None)
    reader.by_digest[DIGEST] = []
    capsys.readouterr()
    findings.handler(ecr_event({}, day=1), None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [(line["EventType"], line["NotificationsSent"]) for line in lines if "NotificationsSent" in line] == [
        ("resolved", 1)
    ]
