"""make demo: the module on local emulators, one sweep, the notifications a user would get, then tear down.

Starts moto (ECR, CloudWatch) + ministack (Lambda, SQS, SNS, EventBridge, IAM, Logs, KMS) on 127.0.0.1, seeds the sample
registry of tests/e2e/scenario.py, applies tests/e2e/root (the module with the demo's settings), subscribes to
the topic (an SQS queue and an HTTP endpoint), runs one sweep (the repositories function invoked exactly as
the schedule invokes it), plays ECR's part for the scans that finished (tests/e2e/bridge.py, the one stand-in),
prints the notifications, then plays the same results again as a rescan a week later would report them (the
scan ledger holds those alerts back as already notified), prints a summary, and always tears down: terraform
destroy and the emulators stopped by PID, on success, failure or Ctrl-C.

    python demo/run.py [--workdir .build/demo] [--keep-workdir]

Uses the e2e suite's helpers (tests/e2e): one implementation of seeding, deployment, the bridge, observation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import signal
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from e2e import observe, scenario  # noqa: E402
from e2e.deploy import Deployment, TerraformError  # noqa: E402
from e2e.pipeline import Pipeline  # noqa: E402
from e2e.subscribers import Delivered, HttpSubscriber, SqsSubscriber  # noqa: E402
from e2e.targets import open_target  # noqa: E402

PREFIX = "demo-esr"
WIDTH = 100


# Printed once the demo succeeded: where a first-time user goes next.
WHAT_NEXT = "\n".join(
    [
        "",
        " what next ".center(WIDTH, "─"),
        "  your own root on these emulators: make local-plan ROOT_DIR=../my-root (docs/testing.md#your-own-root)",
        "  a root to copy: README.md#usage; teams, organization, budget, CLI: docs/teams.md, organization.md, "
        "budget.md, cli.md",
        "─" * WIDTH,
    ]
)


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        print(f"==> [{time.monotonic() - self.started:4.0f}s] {message}", flush=True)

    def run(self) -> int:
        print(f"ecr-scan-reporter demo: the Terraform module on local emulators (work directory {self.workdir})\n")
        self.say("starting the emulators (moto for ECR and CloudWatch, ministack for the rest) on 127.0.0.1")
        with open_target(self.workdir / "emulators", "emulators") as target:
            self.say("up: " + "; ".join(target.notes))
            deployment = Deployment(
                "demo",
                self.workdir / "terraform",
                target.env,
                {"region": target.region, "name_prefix": PREFIX, "schedule_expression": "rate(1 day)"},
            )
            pipeline = Pipeline(target, deployment)
            try:
                return self._run(pipeline)
            except Exception:
                if deployment.applied:
                    print("\n!! what the pipeline looked like:\n" + pipeline.dump(), file=sys.stderr)
                raise
            finally:
                if deployment.has_resources():
                    self.say("tearing down: terraform destroy")
                    try:
                        deployment.destroy()
                        self.say(f"destroyed ({deployment.timings.get('destroy', 0):.0f}s); stopping the emulators")
                    except TerraformError as exc:
                        print(f"\n!! terraform destroy failed:\n{exc}", file=sys.stderr)
                else:
                    self.say("stopping the emulators")

    def _run(self, pipeline: Pipeline) -> int:
        target, deployment = pipeline.target, pipeline.deployment
        counts = f"{len(scenario.REPOSITORIES)} repositories, {len(scenario.CASES)} images"
        self.say(f"seeding a sample registry in moto: {counts}")
        registry = pipeline.registry = scenario.seed(target.seeder(target.region))
        target.seeder(target.region).start_request_log()

        self.say("terraform init + apply of tests/e2e/root (the module, region us-east-1); ~90 s, mostly the")
        print("            AWS provider waiting for SQS attributes to settle", flush=True)
        deployment.init()
        deployment.apply()
        out = pipeline.outputs
        self.say(
            f"deployed in {deployment.timings['apply']:.0f}s: functions {', '.join(out['function_names'].values())}; "
            f"topic {out['sns_topic_arn'].rsplit(':', 1)[1]}"
        )

        sns, sqs = pipeline.client("sns"), pipeline.client("sqs")
        topic = out["sns_topic_arn"]
        self.say("subscribing to the topic: an SQS queue (gets the JSON document) and an HTTP endpoint (the text)")
        queue = SqsSubscriber(sns, sqs, topic, "demo-subscriber")
        web = HttpSubscriber(sns, topic)
        team_topics = out.get("team_topic_arns") or {}
        self.say(
            f"{len(team_topics)} teams, each with its own topic and thresholds (tests/e2e/root): "
            + ", ".join(f"{name} -> {arn.rsplit(':', 1)[1]}" for name, arn in sorted(team_topics.items()))
            + "; the module's topic gets every notification too"
        )
        teams = {name: SqsSubscriber(sns, sqs, arn, f"demo-team-{name}") for name, arn in sorted(team_topics.items())}
        try:
            web.wait_confirmed()
            self._sweep(pipeline)
            self.say(
                "playing ECR's part: scans that finished -> 'ECR Image Scan' events -> the deployed rule's targets"
            )
            before = pipeline.invocations("findings")
            deliveries = pipeline.play_scan_events(since=registry.seeded_at)
            matched = [d for d in deliveries if d.matched]
            rule = out["event_rule_names"]["ecr_scan"]
            self.say(
                f"{len(deliveries)} events; rule {rule} matched {len(matched)} (TestEventPattern) -> findings function"
            )
            observe.wait_until(
                "the findings function",
                lambda: (pipeline.invocations("findings") >= before + len(matched), ""),
                60,
            )
            # In the registry's order, not the order of arrival: the same run prints the same output.
            texts = self._in_registry_order(pipeline, web.collect(expected=1, timeout=10, quiet=2))
            documents = self._in_registry_order(pipeline, queue.collect(expected=len(texts), timeout=10, quiet=1))
            self.say(f"{len(texts)} notifications delivered")
            self._print_notifications(texts)
            self._print_document(documents)
            for name, subscriber in teams.items():
                got = subscriber.collect(expected=0, timeout=3, quiet=1)
                subjects = sorted(d.subject or "" for d in got)
                self.say(
                    f"team {name}'s topic got {len(got)}: " + ("; ".join(subjects) or "nothing over its thresholds")
                )
            rescan = self._rescan_a_week_later(pipeline, [d.event for d in matched])
            later = queue.collect(expected=len(documents) + 1, timeout=12, quiet=4)[len(documents) :]
            self.say(f"{len(later)} notifications for the rescan (the ledger held the rest back)")
            self._print_summary(pipeline, documents, rescan, later)
            self._report(pipeline, web)
            return 0
        finally:
            queue.close()
            web.close()
            for subscriber in teams.values():
                subscriber.close()

    @staticmethod
    def _in_registry_order(pipeline: Pipeline, deliveries: list[Delivered]) -> list[Delivered]:
        """``deliveries`` sorted as the registry's images are seeded (a text names its image's digest, a JSON
        document has ``image_digest``); then by subject, for anything else."""
        registry = pipeline.registry
        order = {image.digest: i for i, image in enumerate(registry.images)} if registry else {}

        def key(delivered: Delivered) -> tuple[int, str]:
            found = re.search(r"(sha256:[0-9a-f]{64})", delivered.message)
            return order.get(found.group(1) if found else "", len(order)), delivered.subject or ""

        return sorted(deliveries, key=key)

    def _report(self, pipeline: Pipeline, web: HttpSubscriber) -> None:
        """The weekly exposure report, run now: built from the scan ledger, published, written to the bucket."""
        self.say("the exposure report (weekly on its schedule; invoked now): the ledger -> the topic and the bucket")
        seen = len(web.received)
        response = pipeline.invoke_report()
        texts = [
            d
            for d in web.collect(expected=seen + 1, timeout=20, quiet=1)[seen:]
            if "exposure report" in (d.subject or "")
        ]
        bucket = pipeline.outputs["report_bucket_name"]
        print("\n" + f" {texts[0].subject if texts else 'exposure report'} ".center(WIDTH, "─"))
        print(textwrap.indent((texts[0].message if texts else json.dumps(response, indent=2)).rstrip(), "  "))
        print("─" * WIDTH)
        print(f"  also written to s3://{bucket}/: " + ", ".join(response.get("stored", [])))

    def _sweep(self, pipeline: Pipeline) -> None:
        self.say("one sweep: the repositories function invoked as the schedule invokes it (async, 'Scheduled Event')")
        pipeline.invoke_like_schedule()
        observe.wait_until(
            "the repositories function", lambda: (pipeline.invocations("repositories") >= 1, ""), 60, 0.5
        )
        stable: list[bool] = []

        def quiet() -> tuple[bool, str]:
            drained, seen = pipeline.work_drained()
            stable.append(drained and pipeline.invocations("images") >= 1)
            return len(stable) >= 3 and all(stable[-3:]), seen

        observe.wait_until("the images function to drain the work queue", quiet, 90)
        started = observe.records(pipeline.logs("images"), "scan_started")
        self.say(f"sweep done: images function ran {pipeline.invocations('images')}x, {len(started)} scans started")

    def _rescan_a_week_later(self, pipeline: Pipeline, events: list[dict[str, Any]]) -> int:
        """Deliver each scan event again as the weekly rescan of the same images would: a week later, the same
        findings. Returns when the rescan started (epoch ms): the findings function's log lines from then on are
        the rescan's (log streams are not interleaved in time order, so counting lines would not tell)."""
        from datetime import datetime, timedelta

        from e2e import bridge

        self.say("a week later the same images are rescanned with the same findings: their events, delivered again")
        first_round = int(time.time() * 1000)
        before = pipeline.invocations("findings")
        rule = pipeline.outputs["event_rule_names"]["ecr_scan"]
        for event in events:
            when = datetime.fromisoformat(event["time"].replace("Z", "+00:00")) + timedelta(days=7)
            later = dict(event, id=f"{event['id']}-rescan", time=when.strftime("%Y-%m-%dT%H:%M:%SZ"))
            bridge.deliver(pipeline.client("events"), pipeline.client("lambda"), rule, later)
        observe.wait_until(
            "the findings function (rescan)",
            lambda: (pipeline.invocations("findings") >= before + len(events), ""),
            60,
        )
        return first_round

    def _print_notifications(self, texts: list[Delivered]) -> None:
        for number, delivered in enumerate(texts, 1):
            title = f" notification {number}/{len(texts)}: {delivered.subject} "
            print("\n" + title.center(WIDTH, "─"))
            attributes = "  ".join(f"{k}={v}" for k, v in sorted(delivered.attributes.items()))
            print(f"message attributes: {attributes}\n")
            print(textwrap.indent(delivered.message.rstrip(), "  "))
        print("─" * WIDTH)

    def _print_summary(
        self, pipeline: Pipeline, documents: list[Delivered], rescan_from: int, rescan_sent: list[Delivered]
    ) -> None:
        registry = pipeline.registry
        assert registry is not None
        repo_records = observe.records(pipeline.logs("repositories"))
        image_records = observe.records(pipeline.logs("images"))
        lines = pipeline.logs("findings")
        finding_records = observe.records(line for line in lines if line.timestamp < rescan_from)
        rescan_records = observe.records(line for line in lines if line.timestamp >= rescan_from)
        filtered = {r["repository"] for r in repo_records if r.get("message") == "repository_filtered_out"}
        swept = [r for r in image_records if r.get("message") == "repository_swept"]
        # Every repository the images function worked on (its decision lines name it).
        worked_on = {r["repository"] for r in image_records if r.get("repository")}
        decisions: dict[str, str] = {}
        for record in image_records:
            digest, kind = record.get("digest"), record.get("message")
            if kind == "scan_started":
                decisions[digest] = f"scan started ({record.get('reason')})"
            elif kind == "scan_not_started":
                decisions[digest] = f"{record.get('reason')}: scan refused ({record.get('outcome')})"
            elif kind == "scan_not_needed":
                decisions[digest] = f"left alone ({record.get('verdict')})"
        outcomes: dict[str, str] = {}
        for record in finding_records:
            digest, kind = record.get("image_digest"), record.get("message")
            if kind == "scan_notified":
                outcomes[digest] = f"SENT {record.get('event_type')}"
            elif kind in ("scan_below_threshold", "scan_not_news"):
                outcomes[digest] = "none: below thresholds"
            elif kind == "scan_event_ignored":
                outcomes[digest] = (
                    "none: repository not selected"
                    if "REPOSITORY" in str(record.get("reason"))
                    else (f"none: {record.get('reason')}")
                )

        held_back: dict[str, str] = {}
        for record in rescan_records:
            digest, kind, reason = record.get("image_digest"), record.get("message"), record.get("reason")
            if kind == "scan_notified":
                held_back[digest] = f"SENT {record.get('event_type')}"
            elif kind == "scan_not_news" and reason in ("already_notified", "failure_already_notified"):
                held_back[digest] = "held back: already notified"
            elif kind == "scan_not_news":
                held_back[digest] = "none: below thresholds"

        print("\nSummary")
        limits = ", ".join(f"{k} {v}" for k, v in scenario.THRESHOLDS.items() if v is not None)
        print(
            f"  settings      include {scenario.INCLUDE_REGEX!r}, exclude {scenario.EXCLUDE_REGEX!r}, "
            f"rescan after 7 days, thresholds {limits} (others ignored)"
        )
        owned = []
        for repository, team in sorted(scenario.OWNERS.items()):
            team_limits = ", ".join(f"{k} {v}" for k, v in scenario.TEAM_THRESHOLDS[team].items() if v is not None)
            owned.append(f"{team} owns {repository} (thresholds {team_limits})")
        print("  teams         " + "; ".join(owned) + "; the module's topic gets every notification")
        names = ", ".join(sorted(worked_on))
        print(
            f"  repositories  {len(scenario.REPOSITORIES)} in the registry; swept {len(worked_on)} ({names}); "
            f"filtered out {len(filtered)} ({', '.join(sorted(filtered))})"
        )
        print(
            f"\n  {'image':<19} {'before the sweep':<20} {'the sweep':<40} {'latest scan':<18} "
            f"{'notification':<26} rescan a week later"
        )
        ecr = pipeline.client("ecr")
        for image in registry.images:
            case = image.case
            decision = "not swept (filtered out)" if case.repository in filtered else decisions.get(image.digest, "?")
            state = observe.scan_state(ecr, case.repository, image.digest)
            if state is None:
                result = "none"
            elif state["status"] == "FAILED":
                result = "FAILED"
            else:
                result = " ".join(f"{k[0]}{v}" for k, v in state["counts"].items() if v) or "clean"
            before = {
                "never": "never scanned",
                "fresh": "scanned 1 day ago",
                "expired": "scanned 30 days ago",
                "on_push": "scanned on push",
            }[case.history]
            print(
                f"  {case.label:<19} {before:<20} {decision:<40} {result:<18} "
                f"{outcomes.get(image.digest, '-'):<26} {held_back.get(image.digest, '-')}"
            )
        print("  (latest scan: C/H/M/L/I = CRITICAL/HIGH/MEDIUM/LOW/INFORMATIONAL findings)")
        kinds = Counter(d.attributes.get("event_type") for d in documents)
        print(f"\n  alerts sent   {len(documents)}: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
        held = sorted(
            image.case.label for image in registry.images if held_back.get(image.digest, "").startswith("held back")
        )
        print(
            f"  rescan        {len(rescan_sent)} alerts sent; {len(held)} held back as already notified "
            f"(scan ledger, notify_on = new_findings): {', '.join(held) or 'none'}"
        )
        totals: Counter[str] = Counter()
        for record in swept:
            for key in ("considered", "scan_started", "fresh", "limit_exceeded", "looked_up", "ledger_known"):
                totals[key] += int(record.get(key, 0))
        print("  sweep counts  " + ", ".join(f"{k} {v}" for k, v in totals.items()) + " (from repository_swept)")
        print("  note          moto refuses a second scan of an image on the same day (LimitExceededException), and")
        print(
            "                the image 'scanned 30 days ago' had to be seeded by a scan today: ECR would rescan it.\n"
        )

    def _print_document(self, documents: list[Delivered]) -> None:
        if documents:
            print("\nSQS, Lambda and HTTPS subscribers get the same notification as a JSON document; the first one:")
            print(textwrap.indent(json.dumps(documents[0].document(), indent=2), "  "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".build" / "demo")
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and state of the previous run")
    args = parser.parse_args(argv)
    workdir = args.workdir.resolve()
    if workdir.exists() and not args.keep_workdir:
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    demo = Demo(workdir)
    try:
        status = demo.run()
        if status == 0:
            print(WHAT_NEXT, flush=True)
        return status
    except KeyboardInterrupt:
        print("\n!! interrupted: everything was torn down", file=sys.stderr)
        return 130
    except Exception as exc:
        print(f"\n!! the demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"   logs and state: {workdir} (terraform/*.log, emulators/*.log)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
