"""The one place that builds boto3 clients.

Every client gets adaptive retries (client-side rate limiting on throttling, so ECR's API limits are respected
without sleeps in our code) and a user agent suffix. Endpoints come from the standard environment
(``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_ECR``, ...) which boto3 honours by itself, or from an explicit
``endpoint_url`` (the CLI's ``--endpoint-url``).

:func:`localstack_client` is the CLI's ``--localstack``: the client comes from the ``localstack-client`` package
(an optional extra, ``ecr-scan-reporter[localstack]``; the functions never import it), which points it at
LocalStack (``LOCALSTACK_HOST``, default ``localhost:4566``, or ``AWS_ENDPOINT_URL``) with test credentials.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from ecr_scan_reporter import __version__

RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 10},  # DEFAULT_MAX_ATTEMPTS
    user_agent_extra=f"ecr-scan-reporter/{__version__}",
    connect_timeout=10,
    read_timeout=30,
)

DEFAULT_MAX_ATTEMPTS = 10
LOCALSTACK_EXTRA = "pip install 'ecr-scan-reporter[localstack]'"
LOCALSTACK_REGION = "us-east-1"  # localstack-client's default, when neither the caller nor the environment names one

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str | None, int], Any] = {}


def client(
    service: str, region: str | None = None, endpoint_url: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS
) -> Any:
    """Return a cached boto3 client for ``service`` (one per service/region/endpoint/attempts per process).
    Interactive callers (the CLI) pass fewer ``max_attempts`` so an unreachable endpoint fails fast."""
    key = (service, region, endpoint_url, max_attempts)
    with _lock:
        found = _clients.get(key)
        if found is None:
            config = RETRY_CONFIG
            if max_attempts != DEFAULT_MAX_ATTEMPTS:
                config = RETRY_CONFIG.merge(Config(retries={"mode": "adaptive", "max_attempts": max_attempts}))
            found = boto3.session.Session().client(
                service, region_name=region, endpoint_url=endpoint_url, config=config
            )
            _clients[key] = found
        return found


class LocalStackClientMissing(RuntimeError):
    """``--localstack`` was asked for but the localstack-client package is not installed."""


def localstack_client(service: str, region: str | None = None, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> Any:
    """A client for ``service`` on LocalStack, built by ``localstack_client.session.Session`` (its endpoint and
    credentials), with this module's retries and user agent. The region is ``region``, else the standard
    configuration's (``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile), else us-east-1. Not cached: the CLI
    asks once per service. Raises :class:`LocalStackClientMissing` when localstack-client is not installed."""
    try:
        from localstack_client.session import Session  # the optional extra: imported only when asked for
    except ImportError:
        raise LocalStackClientMissing(f"--localstack needs the localstack-client package: {LOCALSTACK_EXTRA}") from None
    region = region or boto3.session.Session().region_name or LOCALSTACK_REGION
    config = RETRY_CONFIG.merge(Config(retries={"mode": "adaptive", "max_attempts": max_attempts}))
    return Session(region_name=region).client(service, config=config)


def reset_clients() -> None:
    """Forget cached clients (tests switch credentials and endpoints between cases)."""
    with _lock:
        _clients.clear()
