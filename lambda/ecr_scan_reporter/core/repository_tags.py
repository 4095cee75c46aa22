"""A repository's ECR tags (``ecr:ListTagsForResource``), cached per execution environment for a bounded time.

Teams are found by a repository tag (``core/ownership.py``); an invocation would otherwise read the tags of every
image's repository for every result. :class:`TagReader` keeps each repository's tags for ``ttl_seconds``
(``TEAM_TAG_CACHE_SECONDS``, default 300), so a tag change takes effect within that time in every warm function.
A read that fails (no permission, throttled for good, the repository deleted) is logged and answers None (the
caller then resolves by regex); failures are not cached, so the next result tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_scan_reporter.core import log

logger = log.get_logger(__name__)
DEFAULT_TTL_SECONDS = 300


def repository_arn(partition: str, region: str, registry_id: str, repository: str) -> str:
    return f"arn:{partition}:ecr:{region}:{registry_id}:repository/{repository}"


class TagReader:
    """``tags(ecr, arn)``: the repository's tags, from the cache when younger than ``ttl_seconds``."""

    def __init__(self, ttl_seconds: int = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Mapping[str, str]]] = {}
        self.calls = 0  # ListTagsForResource calls made (the benchmark counts them)

    def tags(self, ecr: Any, arn: str) -> Mapping[str, str] | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(arn)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        try:
            self.calls += 1
            response = ecr.list_tags_for_resource(resourceArn=arn)
        except (BotoCoreError, ClientError) as exc:
            log.emit(
                logger,
                "repository_tags_unavailable",
                logging.WARNING,
                error=str(exc),
                resource_arn=arn,
                hint="the owner is resolved by repository_regex until the tags can be read (ecr:ListTagsForResource)",
            )
            return None
        found = {str(t.get("Key")): str(t.get("Value", "")) for t in response.get("tags") or () if t.get("Key")}
        with self._lock:
            self._cache[arn] = (now, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
