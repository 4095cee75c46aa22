"""A repository's ECR tags (``ecr:ListTagsForResource``), cached per execution environment for a bounded time.

Teams are found by a repository tag (``core/ownership.py``); an invocation would otherwise read the tags of every
image's repository for every result. :class:`TagReader` keeps each repository's tags for ``ttl_seconds``
(``TEAM_TAG_CACHE_SECONDS``, default 300), so a tag change takes effect within that time in every warm function.

Failures are never cached: the next read asks ECR again. :meth:`TagReader.read` raises :class:`TagsUnavailable`,
which says whether the failure is ``transient`` (throttled after botocore's retries, a 5xx, the network: a retry
may succeed) or permanent (denied, or any other refusal: only a person can fix it); the findings function then
leaves the result undecided and retries it (``alerts/routing.py``). A repository ECR no longer has
(``RepositoryNotFoundException``) has no tags: ``{}``, not cached. :meth:`TagReader.tags` is the lenient form (the
report, the CLI): a failure is logged (``repository_tags_unavailable``) and answers None (the regexes decide).
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


#: ClientError codes a later attempt may not meet (besides any HTTP 5xx): throttling, as botocore names it.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "InternalError",
    }
)
REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"


class TagsUnavailable(RuntimeError):
    """The tags could not be read. ``transient``: a retry may succeed (throttled, a 5xx, the network); otherwise
    the refusal is permanent until a person acts (``AccessDeniedException``: the role lacks
    ``ecr:ListTagsForResource``). ``code``: ECR's error code, or the botocore exception's name."""

    def __init__(self, message: str, code: str, transient: bool) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


def unavailable(exc: BotoCoreError | ClientError, arn: str) -> TagsUnavailable:
    """The :class:`TagsUnavailable` a failed ListTagsForResource call means."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "") or "ClientError")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        transient = code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    else:
        code, transient = type(exc).__name__, True  # connection errors, timeouts: the network
    return TagsUnavailable(f"ListTagsForResource {arn}: {exc}", code, transient)


class TagReader:
    """``read(ecr, arn)`` and ``tags(ecr, arn)``: the repository's tags, from the cache when younger than
    ``ttl_seconds``."""

    def __init__(self, ttl_seconds: int = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Mapping[str, str]]] = {}
        self.calls = 0  # ListTagsForResource calls made (the benchmark counts them)

    def read(self, ecr: Any, arn: str) -> Mapping[str, str]:
        """The tags; raises :class:`TagsUnavailable` (nothing cached) when ECR does not answer them."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(arn)
        if cached is not None and now - cached[0] < self.ttl_seconds:
            return cached[1]
        try:
            self.calls += 1
            response = ecr.list_tags_for_resource(resourceArn=arn)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == REPOSITORY_NOT_FOUND:
                return {}  # a repository deleted since its result: it has no tags (not cached: it may come back)
            raise unavailable(exc, arn) from exc
        except BotoCoreError as exc:
            raise unavailable(exc, arn) from exc
        found = {str(t.get("Key")): str(t.get("Value", "")) for t in response.get("tags") or () if t.get("Key")}
        with self._lock:
            self._cache[arn] = (now, found)
        return found

    def tags(self, ecr: Any, arn: str) -> Mapping[str, str] | None:
        """The tags, or None (logged) when they cannot be read: for callers that resolve by regex instead."""
        try:
            return self.read(ecr, arn)
        except TagsUnavailable as exc:
            log.emit(
                logger,
                "repository_tags_unavailable",
                logging.WARNING,
                error=str(exc),
                error_code=exc.code,
                transient=exc.transient,
                resource_arn=arn,
                hint="the owner is resolved by repository_regex until the tags can be read (ecr:ListTagsForResource)",
            )
            return None

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
