"""The ECR event bridge: the suite's one stand-in, playing ECR's part for scan events.

On AWS, ECR puts an ``aws.ecr`` / ``ECR Image Scan`` event on the default bus when a basic scan finishes, and
EventBridge hands it to the targets of every rule whose pattern matches. No emulator emits ECR events, and a
client may not publish them itself (PutEvents refuses ``source: aws.*`` on AWS). So the bridge does exactly the
two halves, through public APIs only:

1. **ECR's half** (:func:`finished_scans`): read the scans that finished since a point in time from ECR
   (DescribeImages + DescribeImageScanFindings) and build the documented event for each
   (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html, "Event for a completed image
   scan (basic scanning)"; FAILED scans carry no ``finding-severity-counts``).
2. **EventBridge's half** (:func:`deliver`): ask EventBridge itself whether the deployed rule's pattern
   (DescribeRule) matches the event (TestEventPattern); if it does, invoke each of the rule's targets
   (ListTargetsByRule) the way EventBridge does, an asynchronous Lambda Invoke (``InvocationType=Event``) with
   the event, or the target's ``Input``/``InputPath``, as payload.

Nothing else is stood in for: the schedule, the SQS event source, SNS and the functions are the emulator's own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from e2e import observe

SOURCE = "aws.ecr"
DETAIL_TYPE = "ECR Image Scan"
FINISHED = ("COMPLETE", "FAILED")


@dataclass
class Delivery:
    """One event offered to one rule: did its pattern match, and which targets were invoked."""

    event: dict[str, Any]
    rule: str
    matched: bool
    targets: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        detail = self.event["detail"]
        image = ",".join(detail.get("image-tags") or []) or detail["image-digest"][:19]
        return f"{detail['repository-name']}:{image} ({detail['scan-status']})"


def scan_event(
    *,
    account: str,
    region: str,
    repository: str,
    digest: str,
    tags: list[str],
    status: str,
    counts: dict[str, int],
    time: datetime,
) -> dict[str, Any]:
    """The event ECR emits when a basic scan of an image finishes."""
    detail: dict[str, Any] = {
        "scan-status": status,
        "repository-name": repository,
        "image-digest": digest,
        "image-tags": list(tags),
    }
    if status == "COMPLETE":
        detail["finding-severity-counts"] = dict(counts)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account,
        "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:ecr:{region}:{account}:repository/{repository}"],
        "detail": detail,
    }


def finished_scans(ecr: Any, *, account: str, region: str, since: datetime) -> Iterator[dict[str, Any]]:
    """An event for every image whose latest scan finished (COMPLETE or FAILED) at or after ``since``."""
    for page in ecr.get_paginator("describe_repositories").paginate():
        for repo in page["repositories"]:
            name = repo["repositoryName"]
            for images in ecr.get_paginator("describe_images").paginate(repositoryName=name):
                for image in images["imageDetails"]:
                    event = _finished_scan(ecr, account, region, name, image, since)
                    if event is not None:
                        yield event


def deliver(events: Any, lambda_: Any, rule: str, event: dict[str, Any]) -> Delivery:
    """Offer ``event`` to ``rule`` as EventBridge would: match its pattern, then invoke its targets."""
    pattern = events.describe_rule(Name=rule)["EventPattern"]
    matched = bool(events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"])
    delivery = Delivery(event, rule, matched)
    if not matched:
        return delivery
    for page in events.get_paginator("list_targets_by_rule").paginate(Rule=rule):
        for target in page["Targets"]:
            arn = target["Arn"]
            if ":lambda:" not in arn:
                raise NotImplementedError(f"the bridge only delivers to Lambda targets, rule {rule} has {arn}")
            response = lambda_.invoke(
                FunctionName=arn, InvocationType="Event", Payload=json.dumps(_payload(target, event)).encode()
            )
            if response["StatusCode"] != 202:
                raise RuntimeError(f"asynchronous Invoke of {arn} answered {response['StatusCode']}")
            delivery.targets.append(arn)
    return delivery


def play(
    ecr: Any, events: Any, lambda_: Any, *, rule: str, account: str, region: str, since: datetime
) -> list[Delivery]:
    """Both halves: every scan finished since ``since`` becomes an event delivered to ``rule``."""
    return [
        deliver(events, lambda_, rule, event)
        for event in finished_scans(ecr, account=account, region=region, since=since)
    ]


# --- internals ----------------------------------------------------------------------------------------------------


def _finished_scan(
    ecr: Any, account: str, region: str, repository: str, image: dict[str, Any], since: datetime
) -> dict[str, Any] | None:
    digest = image["imageDigest"]
    state = observe.scan_state(ecr, repository, digest)  # by digest, as the functions ask
    if state is None or state["status"] not in FINISHED or state["completed_at"] is None:
        return None
    if state["completed_at"] < since:
        return None
    return scan_event(
        account=account,
        region=region,
        repository=repository,
        digest=digest,
        tags=image.get("imageTags") or [],
        status=state["status"],
        counts=state["counts"],
        time=state["completed_at"],
    )


def _payload(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What EventBridge sends to a target: the event, its constant ``Input``, or the part ``InputPath`` names."""
    if target.get("InputTransformer"):
        raise NotImplementedError("the bridge does not apply InputTransformer")
    if target.get("Input"):
        return json.loads(target["Input"])
    path = target.get("InputPath")
    if not path or path == "$":
        return event
    value: Any = event
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value
