"""CloudWatch metrics as Embedded Metric Format (EMF) log lines: no PutMetricData call, no extra permission.

Lambda sends everything a function writes to stdout to its log group, and CloudWatch Logs extracts the metrics
from every line that is an EMF document. :func:`render` is pure (metrics + namespace + time -> JSON lines);
:func:`emit` writes them to stdout, one line each, outside the logging module (Lambda's JSON log format would
wrap a logged line in its own envelope).

Every metric carries the ``FunctionName`` dimension (the function that measured it); a few carry one more small,
bounded dimension (``Severity``, ``EventType``). A digest, tag or repository name is never a dimension: each
distinct value would be a new metric, billed by the month.

The metrics (all unit ``Count``; see the README's "Metrics" section):

=========================  ===============  ===============================================================
name                       extra dimension  meaning
=========================  ===============  ===============================================================
RepositoriesQueued         --               work messages sent by the repositories function (one per repo)
ImagesConsidered           --               images the images function looked at
ScansStarted               --               scans the images function started
ScansRefusedByDailyLimit   --               scans ECR refused (one scan per image per day, registry quota)
ImagesNotScannable         --               images the images function looked at that ECR's basic scanning cannot
                                            scan (artifacts: signatures, attestations, charts, indexes; never asked)
ImagesInBreach             Severity         scan results over a severity's threshold (findings function)
RegistryImagesInBreach     Severity, Team   images in breach in the whole ledger when the report was built (Team:
                                            a team's images over its own thresholds; with teams only)
NotificationsSent          EventType        notifications published, by type
NotificationsHeldBack      --               notifications not sent because the image was already notified
FindingsSuppressed         --               findings hidden by a suppression (accepted risk)
RepositoriesNotFound       --               work messages whose repository was deleted (images function)
ReportsNotStored           --               reports S3 refused to store (published all the same)
SuppressionsNotApplied     --               evaluations that applied no suppression: the stored list could not
                                            be read or is not the version SUPPRESSIONS_SHA256 names (all count)
OwnersUndecided            --               results whose owner could not be decided (teams not the version
                                            TEAMS_SHA256 names, tags throttled or denied): retried, not sent
HubReportsNotStored        --               reports the organization hub's bucket refused (stored locally and
                                            published all the same)
=========================  ===============  ===============================================================

The hub's organization report function (modules/hub; its dashboard draws these, HUB_NAMES) also emits
``NotificationsSent`` and ``ReportsNotStored``, and:

===============================  ===============  ======================================================
SpokesReporting                  --               spokes whose latest report is within two report periods
SilentSpokes                     --               expected spokes that never reported or not for two periods
OrganizationImagesInBreach       Severity         images in breach across every spoke's latest report
OrganizationReportsNotPublished  --               destinations (the central topic, the chat topic, a
                                                  team's topic) that refused the report (alarmed)
===============================  ===============  ======================================================

The scan budget's registry-wide figures (repositories function, once per sweep, from the sweep markers: each
repository as its last sweep left it; ages in whole days, unit ``None``; sweep/budget.py):

================================  ==========================================================================
name                              meaning
================================  ==========================================================================
ImagesInUse                       images pulled within ``in_use_days``
InUseScanAgeP50 / P95 / Max       their scan age (days)
ScanAgeP95                        the scan age of every scanned image, p95 (days)
ImagesPastExpiryInUse             in-use images whose scan is ``scan_expiry_days`` old or more
ImagesPastExpiryNotInUse          ... not in use
InUseImagesPastExpiryPlusOneDay   in-use images unscanned for ``scan_expiry_days`` + 1 day (the alarm)
ImagesNeverScanned                images never scanned
ScanBudget / ScansPlanned         the day's budget and what this sweep's plan takes of what is left of it
ScansSpent / ScansRefusedByQuota  scans the last sweep day started; 1 when ECR refused it for the registry quota
ScansNeededPerDay                 images / the levelled rescan interval: what keeping this registry fresh takes
QuotaNeededPercent                (needed + pushes a day) / 100,000 (Percent)
AffordableExpiryDays              the shortest expiry the configured budget keeps at this size and push rate
ImagesPushedLastDay               images pushed within a day of their repository's last sweep
================================  ==========================================================================
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TextIO

DEFAULT_NAMESPACE = "ECRScanReporter"

# Metric names: the one list the handlers, the dashboard and the README use.
REPOSITORIES_QUEUED = "RepositoriesQueued"
IMAGES_CONSIDERED = "ImagesConsidered"
SCANS_STARTED = "ScansStarted"
SCANS_REFUSED_BY_DAILY_LIMIT = "ScansRefusedByDailyLimit"
IMAGES_NOT_SCANNABLE = "ImagesNotScannable"
IMAGES_IN_BREACH = "ImagesInBreach"
REGISTRY_IMAGES_IN_BREACH = "RegistryImagesInBreach"
NOTIFICATIONS_SENT = "NotificationsSent"
NOTIFICATIONS_HELD_BACK = "NotificationsHeldBack"
FINDINGS_SUPPRESSED = "FindingsSuppressed"
REPOSITORIES_NOT_FOUND = "RepositoriesNotFound"
REPORTS_NOT_STORED = "ReportsNotStored"
SUPPRESSIONS_NOT_APPLIED = "SuppressionsNotApplied"
OWNERS_UNDECIDED = "OwnersUndecided"
HUB_REPORTS_NOT_STORED = "HubReportsNotStored"
SPOKES_REPORTING = "SpokesReporting"
SILENT_SPOKES = "SilentSpokes"
ORGANIZATION_IMAGES_IN_BREACH = "OrganizationImagesInBreach"
ORGANIZATION_REPORTS_NOT_PUBLISHED = "OrganizationReportsNotPublished"
SECURITY_HUB_EXPORT_FAILURES = "SecurityHubExportFailures"
IMAGES_IN_USE = "ImagesInUse"
IN_USE_SCAN_AGE_P50 = "InUseScanAgeP50"
IN_USE_SCAN_AGE_P95 = "InUseScanAgeP95"
IN_USE_SCAN_AGE_MAX = "InUseScanAgeMax"
SCAN_AGE_P95 = "ScanAgeP95"
IMAGES_PAST_EXPIRY_IN_USE = "ImagesPastExpiryInUse"
IMAGES_PAST_EXPIRY_NOT_IN_USE = "ImagesPastExpiryNotInUse"
IN_USE_IMAGES_PAST_EXPIRY_PLUS_ONE_DAY = "InUseImagesPastExpiryPlusOneDay"
IMAGES_NEVER_SCANNED = "ImagesNeverScanned"
SCAN_BUDGET = "ScanBudget"
SCANS_PLANNED = "ScansPlanned"
SCANS_SPENT = "ScansSpent"
SCANS_REFUSED_BY_QUOTA = "ScansRefusedByQuota"
SCANS_NEEDED_PER_DAY = "ScansNeededPerDay"
QUOTA_NEEDED_PERCENT = "QuotaNeededPercent"
AFFORDABLE_EXPIRY_DAYS = "AffordableExpiryDays"
IMAGES_PUSHED_LAST_DAY = "ImagesPushedLastDay"
BUDGET_NAMES: tuple[str, ...] = (
    IMAGES_IN_USE,
    IN_USE_SCAN_AGE_P50,
    IN_USE_SCAN_AGE_P95,
    IN_USE_SCAN_AGE_MAX,
    SCAN_AGE_P95,
    IMAGES_PAST_EXPIRY_IN_USE,
    IMAGES_PAST_EXPIRY_NOT_IN_USE,
    IN_USE_IMAGES_PAST_EXPIRY_PLUS_ONE_DAY,
    IMAGES_NEVER_SCANNED,
    SCAN_BUDGET,
    SCANS_PLANNED,
    SCANS_SPENT,
    SCANS_REFUSED_BY_QUOTA,
    SCANS_NEEDED_PER_DAY,
    QUOTA_NEEDED_PERCENT,
    AFFORDABLE_EXPIRY_DAYS,
    IMAGES_PUSHED_LAST_DAY,
)
NAMES: tuple[str, ...] = (
    REPOSITORIES_QUEUED,
    IMAGES_CONSIDERED,
    SCANS_STARTED,
    SCANS_REFUSED_BY_DAILY_LIMIT,
    IMAGES_NOT_SCANNABLE,
    IMAGES_IN_BREACH,
    REGISTRY_IMAGES_IN_BREACH,
    NOTIFICATIONS_SENT,
    NOTIFICATIONS_HELD_BACK,
    FINDINGS_SUPPRESSED,
    REPOSITORIES_NOT_FOUND,
    REPORTS_NOT_STORED,
    SUPPRESSIONS_NOT_APPLIED,
    OWNERS_UNDECIDED,
    HUB_REPORTS_NOT_STORED,
    SECURITY_HUB_EXPORT_FAILURES,
    *BUDGET_NAMES,
)
#: What the hub's organization report function emits (its dashboard is modules/hub/alarms.tf's).
HUB_NAMES: tuple[str, ...] = (
    SPOKES_REPORTING,
    SILENT_SPOKES,
    ORGANIZATION_IMAGES_IN_BREACH,
    NOTIFICATIONS_SENT,
    REPORTS_NOT_STORED,
    ORGANIZATION_REPORTS_NOT_PUBLISHED,
)

# Dimensions: names fixed here, values bounded (a function name, a severity, a notification type, a team: one of
# the configured teams, or "unowned").
FUNCTION_NAME = "FunctionName"
SEVERITY = "Severity"
EVENT_TYPE = "EventType"
TEAM = "Team"
DIMENSIONS: tuple[str, ...] = (FUNCTION_NAME, SEVERITY, EVENT_TYPE, TEAM)

# Limits of the EMF specification and of CloudWatch.
MAX_METRICS_PER_DOCUMENT = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_DIMENSION_VALUE = 1024
MAX_NAMESPACE = 255
UNITS = frozenset(
    {
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
        "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
        "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
        "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    }
)  # fmt: skip
_NAMESPACE = re.compile(r"^[A-Za-z0-9.\-_/#:]{1,255}$")


class MetricError(ValueError):
    """A metric, dimension or namespace the EMF specification or CloudWatch would refuse."""


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str = "Count"
    dimensions: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def validate_namespace(namespace: str) -> str:
    """The namespace if CloudWatch accepts it (1-255 of letters, digits and ``. - _ / # :``, not ``AWS/...``)."""
    if not _NAMESPACE.match(namespace) or namespace.startswith("AWS/"):
        raise MetricError(
            f"metrics namespace {namespace!r} must be 1-{MAX_NAMESPACE} characters of letters, digits and . - _ / # :"
            " and must not start with AWS/"
        )
    return namespace


def render(
    metrics: Iterable[Metric], namespace: str, timestamp: datetime, dimensions: Mapping[str, str] | None = None
) -> list[str]:
    """EMF documents (one JSON line each) for ``metrics``; ``dimensions`` are added to every metric.

    Metrics with the same name and dimension values are summed; metrics sharing dimension values share a document
    (at most 100 metrics each). Raises :class:`MetricError` for anything the specification would refuse.
    """
    validate_namespace(namespace)
    common = dict(dimensions or {})
    groups: dict[tuple[tuple[str, str], ...], dict[str, tuple[float, str]]] = {}
    for metric in metrics:
        dims = {**common, **metric.dimensions}
        _check(metric, dims)
        key = tuple(sorted(dims.items()))
        values = groups.setdefault(key, {})
        previous = values.get(metric.name)
        if previous is not None and previous[1] != metric.unit:
            raise MetricError(f"metric {metric.name} given in two units: {previous[1]} and {metric.unit}")
        values[metric.name] = ((previous[0] if previous else 0) + metric.value, metric.unit)
    millis = int(timestamp.timestamp()) * 1000 + timestamp.microsecond // 1000  # exact, no float rounding
    lines = []
    for key, values in groups.items():
        names = list(values)
        for start in range(0, len(names), MAX_METRICS_PER_DOCUMENT):
            chunk = names[start : start + MAX_METRICS_PER_DOCUMENT]
            directive = {
                "Namespace": namespace,
                "Dimensions": [[name for name, _ in key]],
                "Metrics": [{"Name": name, "Unit": values[name][1]} for name in chunk],
            }
            document: dict[str, object] = {"_aws": {"Timestamp": millis, "CloudWatchMetrics": [directive]}}
            document.update(dict(key))
            document.update({name: _number(values[name][0]) for name in chunk})
            lines.append(json.dumps(document, separators=(",", ":")))
    return lines


def emit(
    metrics: Iterable[Metric],
    namespace: str,
    timestamp: datetime,
    dimensions: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> int:
    """Write the EMF lines of ``metrics`` to ``stream`` (default stdout, read at call time); returns the count."""
    lines = render(metrics, namespace, timestamp, dimensions)
    out = sys.stdout if stream is None else stream
    for line in lines:
        out.write(line + "\n")
    out.flush()
    return len(lines)


def counts(values: Mapping[str, float], dimensions: Mapping[str, str] | None = None) -> list[Metric]:
    """``Count`` metrics from a name -> value mapping, all with the same extra ``dimensions``."""
    extra = MappingProxyType(dict(dimensions or {}))
    return [Metric(name, value, "Count", extra) for name, value in values.items()]


def _check(metric: Metric, dims: Mapping[str, str]) -> None:
    if not metric.name or len(metric.name) > 1024 or metric.name in dims or metric.name == "_aws":
        raise MetricError(f"metric name {metric.name!r} must be 1-1024 characters, not _aws and not a dimension")
    if metric.unit not in UNITS:
        raise MetricError(f"metric {metric.name}: unit {metric.unit!r} is not a CloudWatch unit")
    value = metric.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise MetricError(f"metric {metric.name}: value {value!r} is not a finite number")
    if len(dims) > MAX_DIMENSIONS_PER_SET:
        raise MetricError(f"metric {metric.name}: {len(dims)} dimensions, at most {MAX_DIMENSIONS_PER_SET} allowed")
    for name, dim_value in dims.items():
        if name not in DIMENSIONS:
            raise MetricError(f"dimension {name!r} is not one of {', '.join(DIMENSIONS)} (dimensions stay bounded)")
        if not isinstance(dim_value, str) or not 1 <= len(dim_value) <= MAX_DIMENSION_VALUE:
            raise MetricError(f"dimension {name}={dim_value!r} must be a string of 1-{MAX_DIMENSION_VALUE} characters")


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
