"""Lambda entry points: parse the event, call the library, shape the response. Nothing more."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ecr_scan_reporter.core import log, metrics
from ecr_scan_reporter.core.config import Settings


@functools.cache
def load_settings(*require: str) -> Settings:
    """The function's settings, read and validated once per execution environment (cold start), with logging set
    up from them; ``require`` names the fields the function cannot run without. Tests: ``cache_clear()``."""
    loaded = Settings.from_env(require=require)
    log.setup(loaded.log_level)
    return loaded


def emit_metrics(context: Any, config: Settings, measured: Iterable[metrics.Metric]) -> None:
    """Write ``measured`` as EMF lines to stdout, with the function's name as the ``FunctionName`` dimension."""
    name = getattr(context, "function_name", None) or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "local"
    metrics.emit(measured, config.metrics_namespace, datetime.now(UTC), {metrics.FUNCTION_NAME: str(name)})
