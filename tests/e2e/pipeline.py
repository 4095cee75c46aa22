"""One deployed pipeline on a target: its outputs, clients, and what the suite and the demo do with it (invoke as
EventBridge would, pause the schedule, play ECR's scan events, observe queues and logs, dump its state).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from e2e import bridge, observe
from e2e.deploy import Deployment
from e2e.scenario import SeededRegistry
from e2e.targets import Target

FUNCTIONS = ("repositories", "images", "findings", "report")
QUEUES = {"work": "work_queue_url", "dead-letter": "dead_letter_queue_url", "failed-events": "failed_events_queue_url"}


@dataclass
class Pipeline:
    target: Target
    deployment: Deployment
    registry: SeededRegistry | None = None
    _outputs: dict[str, Any] | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    # --- basics ---------------------------------------------------------------------------------------------------

    @property
    def region(self) -> str:
        return self.deployment.region

    @property
    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = self.deployment.reporter()
        return self._outputs

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.target.client(service, self.region)
        return self._clients[service]

    def function_name(self, key: str) -> str:
        return str(self.outputs["function_names"][key])

    def queue_url(self, key: str) -> str:
        return str(self.outputs[QUEUES[key]])

    # --- observing --------------------------------------------------------------------------------------------------

    def logs(self, key: str) -> list[observe.LogLine]:
        return observe.log_lines(self.client("logs"), self.outputs["log_group_names"][key])

    def invocations(self, key: str) -> int:
        return observe.invocations(self.logs(key))

    def depths(self) -> dict[str, dict[str, int]]:
        return {name: observe.queue_depth(self.client("sqs"), self.queue_url(name)) for name in QUEUES}

    def work_drained(self) -> tuple[bool, str]:
        depths = self.depths()
        return sum(depths["work"].values()) == 0, _depths_text(depths)

    # --- acting as AWS would ------------------------------------------------------------------------------------------

    def invoke_like_schedule(self) -> None:
        """Invoke the repositories function as the schedule rule does: asynchronously, with a Scheduled Event."""
        event = self._scheduled_event("schedule")
        response = self.client("lambda").invoke(
            FunctionName=self.function_name("repositories"), InvocationType="Event", Payload=json.dumps(event).encode()
        )
        assert response["StatusCode"] == 202, response

    def invoke_report(self) -> dict[str, Any]:
        """Invoke the report function with the event its schedule rule sends, synchronously: its answer."""
        event = self._scheduled_event("report")
        response = self.client("lambda").invoke(FunctionName=self.function_name("report"), Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        assert "FunctionError" not in response, payload
        return dict(payload)

    def _scheduled_event(self, rule: str) -> dict[str, Any]:
        """The event an EventBridge schedule rule (``event_rule_arns[rule]``) sends its target."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.target.account_id,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [self.outputs["event_rule_arns"][rule]],
            "detail": {},
        }

    def set_schedule(self, enabled: bool) -> None:
        events, rule = self.client("events"), self.outputs["event_rule_names"]["schedule"]
        (events.enable_rule if enabled else events.disable_rule)(Name=rule)

    def set_work_consumer(self, enabled: bool, timeout: float = 20) -> None:
        """Enable/disable the work queue's event source mapping (the images function's trigger)."""
        lam = self.client("lambda")
        for mapping in self._work_mappings():
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=enabled)
        want = "Enabled" if enabled else "Disabled"

        def settled() -> tuple[bool, str]:
            states = [mapping["State"] for mapping in self._work_mappings()]
            return all(state == want for state in states), f"states {states}"

        observe.wait_until(f"the event source mapping to be {want}", settled, timeout, 0.5)

    def _work_mappings(self) -> list[dict[str, Any]]:
        found = self.client("lambda").list_event_source_mappings(FunctionName=self.function_name("images"))
        return list(found["EventSourceMappings"])

    def play_scan_events(self, since: datetime) -> list[bridge.Delivery]:
        """The ECR event bridge: scans finished since ``since`` -> events -> the ecr_scan rule's targets."""
        return bridge.play(
            self.client("ecr"),
            self.client("events"),
            self.client("lambda"),
            rule=self.outputs["event_rule_names"]["ecr_scan"],
            account=self.target.account_id,
            region=self.region,
            since=since,
        )

    # --- the dump -----------------------------------------------------------------------------------------------------

    def dump(self) -> str:
        sections: list[tuple[str, Any]] = [
            (f"deployment {self.deployment.name} ({self.region})", self._render_deployment),
            ("queues (visible / in flight / delayed)", lambda: _depths_text(self.depths())),
            (
                "dead-letter queue messages",
                lambda: "\n".join(observe.peek(self.client("sqs"), self.queue_url("dead-letter"))),
            ),
            (
                "failed-events queue messages",
                lambda: "\n".join(observe.peek(self.client("sqs"), self.queue_url("failed-events"))),
            ),
        ]
        sections += [
            (f"CloudWatch Logs: {key} function", lambda key=key: observe.render_logs(self.logs(key)))
            for key in FUNCTIONS
        ]
        if self.registry is not None:
            sections.append(("ECR scan state of the seeded images", self._render_scans))
        seeder = self.target.seeder(self.region)
        if self.target.can_observe_requests:
            sections.append(
                (
                    "ECR calls made by the deployed functions (moto's request log)",
                    lambda: _render_requests(seeder.requests(), self.region),
                )
            )
        for path in self.target.log_files:
            sections.append(
                (
                    f"emulator log {path.name} (tail)",
                    lambda path=path: _tail_log(path),
                )
            )
        return observe.describe(sections)

    def _render_deployment(self) -> str:
        d = self.deployment
        timings = ", ".join(f"{k} {v:.0f}s" for k, v in d.timings.items())
        return (
            f"applied={d.applied} workdir={d.workdir} timings: {timings}\n"
            + json.dumps(self._outputs or {}, indent=1)[:3000]
        )

    def _render_scans(self) -> str:
        assert self.registry is not None
        ecr, rows = self.client("ecr"), []
        for image in self.registry.images:
            state = observe.scan_state(ecr, image.case.repository, image.digest)
            shown = (
                "never scanned (ScanNotFoundException)"
                if state is None
                else (f"{state['status']} at {state['completed_at']} {state['counts']} {state['description'] or ''}")
            )
            rows.append(f"{image.case.label:<20} {image.digest[:19]}  {shown}")
        return "\n".join(rows)


def _depths_text(depths: dict[str, dict[str, int]]) -> str:
    return ", ".join(f"{name} {d['visible']}/{d['in_flight']}/{d['delayed']}" for name, d in depths.items())


def _render_requests(requests: Any, region: str) -> str:
    if requests is None:
        return "(the target keeps no request log)"
    rows = [
        f"{r.operation:<32} {r.repository or '':<16} {(r.image_digest or '')[:19]}"
        for r in requests
        if not r.harness and r.region == region
    ]
    return "\n".join(rows[-80:])


def _tail_log(path: Path, lines: int = 25) -> str:
    """The last lines of an emulator's log, without the suite's own polling of moto's recorder."""
    kept = [line for line in path.read_text(errors="replace").splitlines() if "/moto-api/recorder/" not in line]
    return "\n".join(kept[-lines:])
