"""``make bench`` (third part): the findings stage with 50 teams and 1,000 repositories.

Every scan result is one invocation of ``handlers.findings.handler`` (EventBridge delivers one event per
invocation); one execution environment handles them all, as a warm function does during a sweep's burst of
results. Three configurations over the same 5,000 results (1,000 repositories, 5 images each, in random order):

- **no teams**: the module as before teams (the baseline);
- **50 teams by regex**: ``teams`` set, no ``team_tag_key``: ownership costs no AWS call at all;
- **50 teams by tag**: ``team_tag_key`` set too, 30 % of the repositories tagged for another team than their
  regex names; the tags are cached ``TEAM_TAG_CACHE_SECONDS`` (300 s): one ``ListTagsForResource`` per repository
  per cache period, so at most 200 per 1,000 results here. A fourth run with the cache off (0 s) shows the cost
  without it: one call per result.

DynamoDB is ``bench.dynamodb``'s in-memory stand-in (botocore-serialized requests, answered in microseconds), ECR
and SNS are moto in process; the image's findings are given (the stage's reading of ECR's findings is not what is
measured here). Each run checks its routing: every notification reached its owner's topic (and the module's,
which receives all of them), none any other.

Targets (``bench/teams_results.json``, checked here, exit status 1 when one fails):

- ListTagsForResource calls per 1,000 results, cached: at most 1,000 x repositories / results (200);
- the teams document is read once per execution environment (one GetItem of ``config#teams``);
- the routing is right (every notification on its owner's topic);
- the pure ownership resolution among 50 teams within 100 microseconds per result; CPU per result of each
  configuration against the baseline is reported (it includes moto answering in process, on a shared machine).

Environment: ``BENCH_OUTPUT_TEAMS`` (default ``bench/teams_results.json``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambda"))

ACCOUNT, REGION = "123456789012", "eu-west-1"  # moto's default account
TABLE = "bench-ledger"
TEAMS, REPOSITORIES, IMAGES_PER_REPOSITORY = 50, 1_000, 5
TAGGED_SHARE = 0.3  # repositories whose tag names another team than their regex
UNOWNED_SHARE = 0.1  # repositories no team's regex matches (misc/...)
MODES = ("no-teams", "teams-regex", "teams-tag", "teams-tag-uncached")
RESOLVE_US_MAX = 100.0  # microseconds: the pure resolution among 50 teams, per result


def _topic(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:bench-{name}"


def registry(seed: int = 19) -> tuple[list[tuple[str, str | None, str | None]], list[dict[str, Any]]]:
    """(repository, regex owner, tag owner) per repository, and the results (events) in random order."""
    rng = random.Random(seed)
    repos: list[tuple[str, str | None, str | None]] = []
    for i in range(REPOSITORIES):
        if rng.random() < UNOWNED_SHARE:
            repos.append((f"misc/svc-{i:04d}", None, None))
            continue
        team = f"team-{i % TEAMS:02d}"
        tag = f"team-{rng.randrange(TEAMS):02d}" if rng.random() < TAGGED_SHARE else None
        repos.append((f"{team}/svc-{i:04d}", team, tag))
    events = []
    for name, _, _ in repos:
        for j in range(IMAGES_PER_REPOSITORY):
            counts = {"HIGH": 1} if j % 2 == 0 else {"MEDIUM": 2}  # half in breach under the defaults
            events.append(_event(name, f"sha256:{rng.getrandbits(256):064x}", counts, j))
    rng.shuffle(events)
    return repos, events


def _event(repository: str, digest: str, counts: dict[str, int], n: int) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"{repository}-{n}",
        "detail-type": "ECR Image Scan",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2026-12-01T06:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "scan-status": "COMPLETE",
            "repository-name": repository,
            "finding-severity-counts": counts,
            "image-digest": digest,
            "image-tags": [f"v{n}"],
        },
    }


def run(mode: str) -> dict[str, Any]:
    """One configuration, in this process (call it in a fresh one)."""

    import boto3
    from moto import mock_aws

    from bench import dynamodb
    from ecr_scan_reporter.alerts import routing, stage
    from ecr_scan_reporter.core import aws, config_items, teams
    from ecr_scan_reporter.core.finding_types import Finding, ImageFindings
    from ecr_scan_reporter.handlers import findings, load_settings

    repos, events = registry()
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "SNS_TOPIC_ARN": _topic("module"),
            "LEDGER_TABLE_NAME": TABLE,
            "TEAM_TAG_CACHE_SECONDS": "0" if mode == "teams-tag-uncached" else "300",
        }
    )
    store = dynamodb.Store()
    store.create_table(TABLE, "pk", "digest")
    dynamodb.install(store)
    calls: Counter[str] = Counter()

    def count_call(event_name: str, **_: Any) -> None:
        calls[event_name.split(".", 1)[1]] += 1

    def given_findings(client: Any, registry_id: Any, repository: str, digest: str) -> ImageFindings:
        found = (Finding("CVE-2026-0001", "HIGH", "curl", "8.0"),) if digest[-1] in "02468ace" else ()
        return ImageFindings(found, "COMPLETE", None, {})

    stage.image_findings.read_image_findings = given_findings  # type: ignore[assignment]
    published: Counter[str] = Counter()
    with mock_aws(), contextlib.redirect_stdout(io.StringIO()):
        sns, ecr = boto3.client("sns", region_name=REGION), boto3.client("ecr", region_name=REGION)
        names = ["module", *(f"team-{t:02d}" for t in range(TEAMS))]
        for name in names:
            sns.create_topic(Name=f"bench-{name}")
        for name, _, tag in repos:
            ecr.create_repository(repositoryName=name, tags=[{"Key": "team", "Value": tag}] if tag else [])
        if mode != "no-teams":
            document = teams.document(
                [
                    {
                        "name": f"team-{t:02d}",
                        "repository_regex": f"^team-{t:02d}/",
                        "topic_arn": _topic(f"team-{t:02d}"),
                    }
                    for t in range(TEAMS)
                ],
                tag_key="team" if mode.startswith("teams-tag") else None,
            )
            store.tables[TABLE].put({**config_items.key("teams"), "document": {"S": document}})
            os.environ["TEAMS_SHA256"] = config_items.document_hash(document)
        else:
            os.environ.pop("TEAMS_SHA256", None)
        load_settings.cache_clear()
        config_items.clear_cache()
        routing.TAGS.clear()
        for service in ("dynamodb", "sns", "ecr"):
            aws.client(service, region=REGION if service != "dynamodb" else None).meta.events.register(
                "before-parameter-build", count_call
            )

        def record_publish(params: dict[str, Any], **_: Any) -> None:
            published[params["TopicArn"].rsplit("-", 2)[-1] if "team-" in params["TopicArn"] else "module"] += 1

        aws.client("sns", region=REGION).meta.events.register("before-parameter-build.sns.Publish", record_publish)

        class Context:
            function_name = "bench-findings"

        statuses: Counter[str] = Counter()
        expected: Counter[str] = Counter()
        by_tag = mode.startswith("teams-tag")
        owners = {name: (tag if by_tag else None) or regex for name, regex, tag in repos}
        started = time.process_time()
        for event in events:
            response = findings.handler(event, Context())
            statuses[response["status"]] += 1
            if response["status"] == "notified" and mode != "no-teams":
                owner = owners[event["detail"]["repository-name"]]
                if owner is not None:
                    expected[owner.rsplit("-", 1)[-1]] += 1
                    if response.get("team") != owner:
                        raise AssertionError(f"{event['detail']['repository-name']}: {response.get('team')} != {owner}")
        cpu_s = time.process_time() - started
    dynamodb.uninstall()
    notified = statuses["notified"]
    team_published = {k: v for k, v in published.items() if k != "module"}
    routing_ok = (
        published["module"] == notified and team_published == dict(expected)
        if mode != "no-teams"
        else published["module"] == notified
    )
    per_1000 = 1000 / len(events)
    return {
        "mode": mode,
        "results": len(events),
        "repositories": len(repos),
        "notified": notified,
        "statuses": dict(statuses),
        "cpu_ms_per_result": round(cpu_s * 1000 / len(events), 3),
        "list_tags_per_1000_results": round(calls["ecr.ListTagsForResource"] * per_1000, 1),
        "teams_document_reads": calls["dynamodb.GetItem"] - len(events),  # one GetItem per result is the record's
        "dynamodb_calls_per_result": round(
            sum(v for k, v in calls.items() if k.startswith("dynamodb")) / len(events), 3
        ),
        "sns_publishes_per_result": round(calls["sns.Publish"] / len(events), 3),
        "routing_ok": routing_ok,
    }


def _targets(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    bound = 1000 * REPOSITORIES / (REPOSITORIES * IMAGES_PER_REPOSITORY)
    base = runs["no-teams"]["cpu_ms_per_result"]
    out = [
        {
            "name": "ListTagsForResource per 1,000 results, cached",
            "value": runs["teams-tag"]["list_tags_per_1000_results"],
            "limit": f"<= {bound:.0f}",
            "status": "PASS" if runs["teams-tag"]["list_tags_per_1000_results"] <= bound else "FAIL",
        },
        {
            "name": "teams document reads per execution environment",
            "value": runs["teams-tag"]["teams_document_reads"],
            "limit": "1",
            "status": "PASS" if all(runs[m]["teams_document_reads"] == 1 for m in MODES[1:]) else "FAIL",
        },
        {
            "name": "every notification on its owner's topic (and the module's)",
            "value": all(r["routing_ok"] for r in runs.values()),
            "limit": "true",
            "status": "PASS" if all(r["routing_ok"] for r in runs.values()) else "FAIL",
        },
    ]
    resolve_us = resolution_us()
    out.append(
        {
            "name": "ownership resolution per result, 50 teams (pure)",
            "value": resolve_us,
            "limit": f"<= {RESOLVE_US_MAX} us",
            "status": "PASS" if resolve_us <= RESOLVE_US_MAX else "FAIL",
        }
    )
    for mode in ("teams-regex", "teams-tag"):
        # In-process CPU includes moto answering ECR and SNS, and the machine is shared: reported, not judged.
        out.append(
            {
                "name": f"CPU per result over the baseline ({mode}, moto included)",
                "value": round(runs[mode]["cpu_ms_per_result"] - base, 3),
                "limit": "reported",
                "status": "SKIP",
            }
        )
    return out


def resolution_us(rounds: int = 20) -> float:
    """Microseconds to resolve one repository's owner among 50 teams (tags given), the median of ``rounds``."""
    from ecr_scan_reporter.core import ownership, teams

    repos, _ = registry()
    listed = [f"team-{t:02d}" for t in range(TEAMS)]
    document = teams.parse(
        teams.document(
            [{"name": n, "repository_regex": f"^{n}/", "topic_arn": _topic(n)} for n in listed], tag_key="team"
        )
    )
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for name, _, tag in repos:
            ownership.resolve(name, {"team": tag} if tag else {}, document)
        samples.append((time.perf_counter() - started) * 1e6 / len(repos))
    return round(sorted(samples)[len(samples) // 2], 1)


def markdown(document: dict[str, Any]) -> str:
    """docs/benchmarks.md's teams table."""
    rows = [
        "| configuration | results | notified | CPU / result | ListTagsForResource / 1,000 results "
        "| DynamoDB calls / result | SNS publishes / result |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in document["runs"]:
        rows.append(
            f"| {r['mode']} | {r['results']:,} | {r['notified']:,} | {r['cpu_ms_per_result']:.2f} ms "
            f"| {r['list_tags_per_1000_results']:g} | {r['dynamodb_calls_per_result']:.3f} "
            f"| {r['sns_publishes_per_result']:.3f} |"
        )
    return "\n".join(rows)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--run":
        print(json.dumps(run(sys.argv[2])))
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "--markdown":
        path = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "bench" / "teams_results.json"
        print(markdown(json.loads(path.read_text())))
        return 0
    runs = {}
    for mode in MODES:  # one fresh process each: a cold execution environment per configuration
        out = subprocess.run(
            [sys.executable, "-m", "bench.teams", "--run", mode], cwd=ROOT, capture_output=True, text=True
        )
        if out.returncode:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"==> {mode}: {runs[mode]}", flush=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    document = {
        "git": {"commit": commit},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "runs": [runs[m] for m in MODES],
        "targets": _targets(runs),
    }
    output = Path(os.environ.get("BENCH_OUTPUT_TEAMS") or ROOT / "bench" / "teams_results.json")
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(markdown(document))
    for target in document["targets"]:
        print(f"  {target['status']}  {target['name']}: {target['value']} ({target['limit']})")
    return 1 if any(t["status"] == "FAIL" for t in document["targets"]) else 0


if __name__ == "__main__":
    sys.exit(main())
