"""scanning.no_quota_retries: StartImageScan's LimitExceededException reaches neither botocore's retry handler nor
its adaptive rate limiter, whatever else is hooked to the event (moto, in-process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.retries import adaptive, standard
from ecr_fakes import push

from ecr_scan_reporter.core import aws
from ecr_scan_reporter.sweep import scanning
from ecr_scan_reporter.sweep.scanning import ScanOutcome


def _error_code(kwargs: dict[str, Any]) -> str | None:
    response = kwargs.get("response")
    return ((response[1] if response else {}).get("Error") or {}).get("Code")


@pytest.mark.usefixtures("moto")
def test_botocores_retry_handler_and_rate_limiter_never_see_the_quota_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str | None]] = []

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def handler(self: Any, **kwargs: Any) -> Any:
            seen.append((name, _error_code(kwargs)))
            return real(self, **kwargs)

        return handler

    # Patched before the client exists: botocore registers these bound methods when it creates the client.
    monkeypatch.setattr(standard.RetryHandler, "needs_retry", spy("retry", standard.RetryHandler.needs_retry))
    limiter = adaptive.ClientRateLimiter
    monkeypatch.setattr(limiter, "on_receiving_response", spy("limiter", limiter.on_receiving_response))
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/app")
    image = push(ecr, "team/app", 1, "v1")
    assert scanning.start_scan(ecr, "team/app", image) is ScanOutcome.STARTED
    seen.clear()
    assert scanning.start_scan(ecr, "team/app", image) is ScanOutcome.LIMIT_EXCEEDED  # moto: one scan per day
    assert seen == []  # refused at once: no retry decision, no rate adjustment
    assert scanning.start_scan(ecr, "team/app", image) is ScanOutcome.LIMIT_EXCEEDED
    assert seen == []


def test_the_hook_runs_before_any_other_handler_of_the_event() -> None:
    """Registered first: a handler hooked to StartImageScan's needs-retry earlier (a retry handler of another
    library, or botocore's should it ever move there) never gets the refusal."""
    ecr = aws.client("ecr")
    calls: list[str] = []
    ecr.meta.events.register("needs-retry.ecr.StartImageScan", lambda **_: calls.append("earlier"))
    scanning.no_quota_retries(ecr)
    scanning.no_quota_retries(ecr)  # idempotent
    response = (None, {"Error": {"Code": "LimitExceededException", "Message": "quota"}})
    with pytest.raises(ClientError, match="LimitExceededException"):
        ecr.meta.events.emit("needs-retry.ecr.StartImageScan", response=response, attempts=1, operation=None)
    assert calls == []
