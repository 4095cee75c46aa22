"""What CloudWatch Logs does with a function's Embedded Metric Format lines, played by the suite.

On AWS, CloudWatch Logs turns every log line that is an EMF document into metric data points: the namespace, the
dimension set and the metrics named by ``_aws.CloudWatchMetrics``, the values and dimension values from the
document's own keys, at ``_aws.Timestamp``. ministack keeps the functions' logs and moto serves CloudWatch, and
neither extracts EMF, so :func:`publish` reads the documents from a log group and puts their data points into
CloudWatch (PutMetricData), as the extraction would; what an alarm or a dashboard reads can then be asked of
CloudWatch's metrics API. A line that claims to be EMF (``"_aws"``) but is not a valid document fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from e2e import observe


@dataclass(frozen=True)
class DataPoint:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float
    unit: str
    timestamp: datetime


def documents(lines: list[observe.LogLine]) -> list[dict[str, Any]]:
    """The EMF documents among ``lines`` (a log event may carry several lines; each line is one document)."""
    found = []
    for line in lines:
        if '"_aws"' not in line.message:
            continue
        record = line.record()
        assert record is not None, f"not an EMF document: {line.message}"
        assert isinstance(record.get("_aws"), dict), f"not an EMF document: {line.message}"
        found.append(record)
    return found


def data_points(document: dict[str, Any]) -> list[DataPoint]:
    """The data points CloudWatch Logs would extract from one EMF document (fails on an invalid one)."""
    meta = document["_aws"]
    timestamp = datetime.fromtimestamp(int(meta["Timestamp"]) / 1000, UTC)
    points = []
    for directive in meta["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dimensions = tuple((name, str(document[name])) for name in dimension_set)
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                assert isinstance(value, int | float), f"{metric['Name']}={value!r} is not a number"
                points.append(
                    DataPoint(
                        directive["Namespace"],
                        metric["Name"],
                        dimensions,
                        float(value),
                        metric.get("Unit", "None"),
                        timestamp,
                    )
                )
    return points


def publish(cloudwatch: Any, points: list[DataPoint]) -> int:
    """PutMetricData for ``points`` (grouped by namespace, 20 a call); returns how many were put."""
    by_namespace: dict[str, list[DataPoint]] = {}
    for point in points:
        by_namespace.setdefault(point.namespace, []).append(point)
    for namespace, mine in by_namespace.items():
        for start in range(0, len(mine), 20):
            cloudwatch.put_metric_data(
                Namespace=namespace,
                MetricData=[
                    {
                        "MetricName": p.name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in p.dimensions],
                        "Value": p.value,
                        "Unit": p.unit,
                        "Timestamp": p.timestamp,
                    }
                    for p in mine[start : start + 20]
                ],
            )
    return len(points)
