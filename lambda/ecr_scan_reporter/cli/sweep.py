"""``plan`` and ``scan``: the images stage's sweep from a terminal (``plan`` lists what a sweep would scan and
changes nothing, with ``--budget`` what a daily scan budget would scan today; ``scan`` starts the scans), and their
printing."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from ecr_scan_reporter.cli.common import (
    PROG,
    _client,
    _connection,
    _iso,
    _Parser,
    _select,
    _selection,
    _table,
    _whole,
    logger,
)
from ecr_scan_reporter.core import ledger, log, ownership, repository_tags, teams
from ecr_scan_reporter.sweep import budget, freshness, plan_counts, registry, scanning
from ecr_scan_reporter.sweep.stage import (
    COUNTERS,
    BudgetRun,
    Candidate,
    SweepOptions,
    SweepSummary,
    plan_repository,
    sweep_repository,
)


def _add_sweep_parsers(commands: Any) -> None:
    """``plan`` and ``scan``: the same options (``plan`` adds the budget's)."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--expiry-days",
        type=_whole(1, 365),
        default=7,
        metavar="N",
        help="rescan when the last scan is older than N days (1-365, default 7)",
    )
    common.add_argument(
        "--only-pulled-within-days",
        type=_whole(1),
        default=None,
        metavar="N",
        help="only images pushed or pulled within N days",
    )
    common.add_argument(
        "--max-images", type=_whole(1), default=None, metavar="N", help="at most the N newest images per repository"
    )
    common.add_argument(
        "--table",
        default=None,
        metavar="NAME",
        help="the scan ledger (output ledger_table_name): read the images' last scans from it, and with scan "
        "record what is learned and started; its endpoint: --dynamodb-endpoint-url, else the standard one",
    )
    common.add_argument("--output", choices=("table", "json"), default="table")
    parents = [_selection(), common, _connection("ecr")]
    plan = commands.add_parser("plan", parents=parents, help="list the images a sweep would scan, and why")
    plan.add_argument(
        "--budget",
        type=_whole(1, budget.REGISTRY_QUOTA),
        default=None,
        metavar="N",
        help="what a daily scan budget of N (daily_scan_budget, 1-100000) would scan today, registry-wide, by "
        "class (docs/budget.md): in-use images first, levelled",
    )
    plan.add_argument(
        "--in-use-days",
        type=_whole(1, 3650),
        default=budget.DEFAULT_IN_USE_DAYS,
        metavar="N",
        help="with --budget: an image pulled within N days is in use (in_use_days, default 30)",
    )
    commands.add_parser("scan", parents=parents, help="start those scans and print a summary")


def _run(args: argparse.Namespace, ecr: Any, out: TextIO) -> int:
    scan_type = registry.registry_scan_type(ecr)
    enhanced = not freshness.manual_scans_apply(scan_type)
    listed = None if enhanced else registry.scans_listed(ecr)
    budgeted = args.command == "plan" and args.budget is not None
    in_use_days = args.in_use_days if budgeted else budget.DEFAULT_IN_USE_DAYS
    options = SweepOptions(args.expiry_days, args.only_pulled_within_days, args.max_images, listed, in_use_days)
    items: list[budget.Item] = []
    today = budget.day_of(datetime.now(UTC))
    if enhanced:
        print(
            f"{PROG}: the registry uses {scan_type} scanning: Amazon Inspector rescans continuously, "
            "no manual scan applies",
            file=sys.stderr,
        )
    now = datetime.now(UTC)
    candidates: list[Candidate] = []
    summaries: list[SweepSummary] = []
    repositories, filtered_out = ([], 0) if enhanced else _select(ecr, args.include, args.exclude)
    gone = 0
    quota = scanning.ScanQuota()
    dynamodb = _client(args, "dynamodb") if args.table else None
    ttl, plan = ledger.expires_at(now, args.expiry_days), args.command == "plan"
    for repo in repositories:
        if quota.exhausted:
            print(f"{PROG}: warning: repository {repo.name!r} skipped: the daily scan quota is spent", file=sys.stderr)
            continue
        records = None
        if dynamodb is not None:
            records = ledger.RepositoryLedger(dynamodb, args.table, repo.name, repo.registry_id, now, ttl, plan)
        kwargs: dict[str, Any] = {"now": now, "registry_id": repo.registry_id, "options": options, "ledger": records}
        try:
            if plan:
                summary = SweepSummary(repo.name, repo.registry_id)
                # With --budget every schedulable image is collected (an allowance of nothing takes none) and
                # ranked registry-wide afterwards, as the repositories function ranks the censuses.
                run = BudgetRun(budget.Spender(budget.Allowance(today, 0)), today, collect=items) if budgeted else None
                found = list(plan_repository(ecr, repo.name, summary=summary, run=run, **kwargs))
                for candidate in found:
                    log.emit(logger, "scan_needed", logging.DEBUG, **candidate.to_json())
                candidates.extend(found)
                summaries.append(summary)
            else:
                summaries.append(sweep_repository(ecr, repo.name, quota=quota, **kwargs))
        except registry.RepositoryNotFound:
            gone += 1
            print(f"{PROG}: warning: repository {repo.name!r} no longer exists, skipped", file=sys.stderr)
    if budgeted:
        matched = len(summaries) + gone
        counts = plan_counts.plan_counts(
            matched=matched, filtered_out=filtered_out, gone=gone, summaries=[s.counts() for s in summaries], reasons=[]
        )
        _print_budget_plan(budget.select(items, args.budget, today, args.expiry_days), counts, args.output, out)
    elif plan:
        matched = len(summaries) + gone
        counts = plan_counts.plan_counts(
            matched=matched,
            filtered_out=filtered_out,
            gone=gone,
            summaries=[s.counts() for s in summaries],
            reasons=[c.reason for c in candidates],
        )
        owners = _plan_owners(ecr, dynamodb, args.table, candidates) if dynamodb is not None else None
        _print_plan(candidates, counts, args.output, out, owners)
    else:
        _print_summaries(summaries, args.output, out)
    return 0


def _plan_owners(ecr: Any, dynamodb: Any, table: str, candidates: list[Candidate]) -> dict[str, str | None] | None:
    """The owning team of each repository with an image to scan, when the module stores teams (else None): the
    resolution the findings function applies (core/ownership.py), the tags read once per repository."""
    document = teams.read(dynamodb, table)
    if document is None:
        return None
    reader, owners = repository_tags.TagReader(), {}
    for candidate in candidates:
        if candidate.repository in owners:
            continue
        tags = None
        if document.tag_key is not None and candidate.registry_id:
            arn = repository_tags.repository_arn(
                ecr.meta.partition, ecr.meta.region_name, candidate.registry_id, candidate.repository
            )
            tags = reader.tags(ecr, arn)
        owners[candidate.repository] = ownership.resolve(candidate.repository, tags, document).name
    return owners


def _print_plan(
    candidates: list[Candidate],
    counts: dict[str, Any],
    output: str,
    out: TextIO,
    owners: dict[str, str | None] | None = None,
) -> None:
    if output == "json":
        images = [c.to_json() | ({"team": owners[c.repository]} if owners is not None else {}) for c in candidates]
        json.dump({"images": images, "counts": counts}, out, indent=2)
        out.write("\n")
        return
    rows = [[c.repository, c.digest, ",".join(c.tags) or "<untagged>", c.reason, _iso(c.last_scan)] for c in candidates]
    header = ["REPOSITORY", "DIGEST", "TAGS", "REASON", "LAST SCAN"]
    if owners is not None:
        header.insert(1, "TEAM")
        for row, candidate in zip(rows, candidates, strict=True):
            row.insert(1, owners[candidate.repository] or "-")
    _table(header, rows, out)
    repositories = len({c.repository for c in candidates})
    out.write(f"{len(candidates)} image(s) in {repositories} repository(ies) would be scanned\n")
    for line in plan_counts.render_text(counts):
        out.write(line + "\n")


def _print_budget_plan(
    selected: tuple[budget.Plan, list[budget.Item]], counts: dict[str, Any], output: str, out: TextIO
) -> None:
    """``plan --budget``: the images today's budget would scan, and the plan by class."""
    plan, chosen = selected
    by_class = {budget.CLASS_NAMES[k]: {"due": plan.due[k], "would_scan": plan.taken[k]} for k in budget.CLASSES}
    if output == "json":
        doc = {
            "images": [
                {
                    "repository": i.repository,
                    "digest": i.digest,
                    "class": budget.CLASS_NAMES[_klass(i, plan.day)],
                    "in_use": i.used,
                    "due_day": i.due_day,
                }
                for i in chosen
            ],
            "budget": {"budget": plan.budget, "levelled_amount": plan.amount, "classes": by_class},
            "counts": {"repositories": counts["repositories"], "images": _budget_left_out(counts)},
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
        return
    rows = [
        [i.repository, i.digest, budget.CLASS_NAMES[_klass(i, plan.day)], "yes" if i.used else "no"] for i in chosen
    ]
    _table(["REPOSITORY", "DIGEST", "CLASS", "IN USE"], rows, out)
    out.write(
        f"budget {plan.budget:,}: today's levelled amount {plan.amount:,}, {len(chosen):,} image(s) would be scanned\n"
    )
    for name, figures in by_class.items():
        out.write(f"  {name}: {figures['due']:,} due, {figures['would_scan']:,} would be scanned\n")
    out.write(plan_counts.render_text(counts)[0] + "\n")
    if left_out := _budget_left_out(counts)["not_scannable"]:
        out.write(f"{left_out:,} image(s) not scannable (artifacts ECR cannot scan): never in the budget\n")


def _budget_left_out(counts: dict[str, Any]) -> dict[str, int]:
    """What a budget plan leaves out of its ranking: the artifacts ECR cannot scan (issue 26)."""
    return {"not_scannable": counts["images"]["not_scannable"]}


def _klass(item: budget.Item, today: int) -> int:
    return budget.priority(never=item.never, used=item.used, due_day=item.due_day, today=today)


def _print_summaries(summaries: list[SweepSummary], output: str, out: TextIO) -> None:
    total = {name: sum(s.counts()[name] for s in summaries) for name in COUNTERS}
    if output == "json":
        doc = {
            "repositories": [
                {"repository": s.repository, "registry_id": s.registry_id, **s.counts()} for s in summaries
            ],
            "total": total,
        }
        json.dump(doc, out, indent=2)
        out.write("\n")
        return
    rows = [[s.repository, *(str(v) for v in s.counts().values())] for s in summaries]
    rows.append(["TOTAL", *(str(total[name]) for name in COUNTERS)])
    _table(["REPOSITORY", *(name.upper() for name in COUNTERS)], rows, out)
    out.write(f"{total['scan_started']} scan(s) started in {len(summaries)} repository(ies)\n")
