"""Lambda entry points: parse the event, call the library, shape the response. Nothing more."""

from __future__ import annotations

import functools

from ecr_scan_reporter import log
from ecr_scan_reporter.config import Settings


@functools.cache
def load_settings(*require: str) -> Settings:
    """The function's settings, read and validated once per execution environment (cold start), with logging set
    up from them; ``require`` names the fields the function cannot run without. Tests: ``cache_clear()``."""
    loaded = Settings.from_env(require=require)
    log.setup(loaded.log_level)
    return loaded
