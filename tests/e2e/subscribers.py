"""Subscribers to the notification topic, as a user would subscribe: an SQS queue (gets the message's ``sqs``
JSON document) and an HTTP endpoint on 127.0.0.1 (gets ``default``, the readable text an email subscriber also
reads, since the message has no ``http`` key). Both keep what SNS delivered: subject, message, attributes.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivered:
    """One notification as SNS delivered it (the standard SNS envelope, unpacked)."""

    subject: str | None
    message: str
    attributes: dict[str, str]
    envelope: dict[str, Any]

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> Delivered:
        attributes = {name: str(attr.get("Value")) for name, attr in (envelope.get("MessageAttributes") or {}).items()}
        return cls(envelope.get("Subject"), str(envelope.get("Message", "")), attributes, envelope)

    def document(self) -> dict[str, Any]:
        return json.loads(self.message)


class SqsSubscriber:
    """A queue subscribed to the topic (raw delivery off: the envelope carries subject and attributes)."""

    def __init__(self, sns: Any, sqs: Any, topic_arn: str, queue_name: str) -> None:
        self.sns, self.sqs, self.topic_arn = sns, sqs, topic_arn
        self.queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": self.queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)})
        self.subscription_arn = sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=self.queue_arn, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        self.received: list[Delivered] = []

    def collect(self, expected: int, timeout: float = 30.0, quiet: float = 2.0) -> list[Delivered]:
        """Receive (and delete) until ``expected`` messages arrived and then nothing more for ``quiet`` seconds,
        or until ``timeout``; returns everything received so far."""
        deadline = time.monotonic() + timeout
        last_arrival = time.monotonic()
        while time.monotonic() < deadline:
            if len(self.received) >= expected and time.monotonic() - last_arrival >= quiet:
                break
            found = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
            )
            for message in found.get("Messages", []):
                self.received.append(Delivered.from_envelope(json.loads(message["Body"])))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                last_arrival = time.monotonic()
        return list(self.received)

    def close(self) -> None:
        try:
            self.sns.unsubscribe(SubscriptionArn=self.subscription_arn)
        finally:
            self.sqs.delete_queue(QueueUrl=self.queue_url)


class HttpSubscriber:
    """An HTTP endpoint on 127.0.0.1 subscribed to the topic; confirms the subscription like a real endpoint."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns, self.topic_arn = sns, topic_arn
        self.received: list[Delivered] = []
        self.confirmed = threading.Event()
        self._lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.end_headers()
                subscriber._handle(json.loads(body or b"{}"))

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sns-http-subscriber", daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}/sns"
        self.subscription_arn: str | None = None
        sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=self.endpoint)

    def wait_confirmed(self, timeout: float = 15.0) -> None:
        if not self.confirmed.wait(timeout):
            raise TimeoutError(f"SNS did not confirm the HTTP subscription of {self.endpoint} within {timeout:.0f}s")

    def collect(self, expected: int, timeout: float = 30.0, quiet: float = 2.0) -> list[Delivered]:
        deadline = time.monotonic() + timeout
        seen, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            with self._lock:
                count = len(self.received)
            if count != seen:
                seen, last_change = count, time.monotonic()
            if count >= expected and time.monotonic() - last_change >= quiet:
                break
            time.sleep(0.2)
        with self._lock:
            return list(self.received)

    def close(self) -> None:
        try:
            if self.subscription_arn:
                self.sns.unsubscribe(SubscriptionArn=self.subscription_arn)
        finally:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, document: dict[str, Any]) -> None:
        kind = document.get("Type")
        if kind == "SubscriptionConfirmation":
            # Confirm from another thread: SNS may be waiting for this very response.
            threading.Thread(target=self._confirm, args=(document["Token"],), daemon=True).start()
        elif kind == "Notification":
            with self._lock:
                self.received.append(Delivered.from_envelope(document))

    def _confirm(self, token: str) -> None:
        response = self.sns.confirm_subscription(TopicArn=self.topic_arn, Token=token)
        self.subscription_arn = response.get("SubscriptionArn")
        self.confirmed.set()
