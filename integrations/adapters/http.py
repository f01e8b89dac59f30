"""What both adapters do around each HTTP call: throttle, time, record, and turn transport failures into
ChannelErrors. The marketplace-specific envelope is read by each adapter's client."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import requests

from marketplace.core.http import HostNotAllowed, http_session

from .base import CallRecord, ChannelError, RateLimited, Retryable, Session

_session = None


def shared_session() -> requests.Session:
    # One pooled session per process: keep-alive connections matter at 50 calls per second.
    global _session
    if _session is None:
        _session = http_session()
    return _session


# A lone 5xx or dropped connection is usually gone a moment later: the same call is tried once more at once (after
# a short jittered pause, through the rate limiter again) before the task gives up and backs off. Safe for creates
# too: each has its duplicate guard (Voso's Idempotency-Key; Postmart's error_repeated_mtsku, then a search).
# Not for 429 (Retry-After says how long to wait) nor a timeout (a second one would hold the worker as long).
INLINE_RETRIES = 1
INLINE_PAUSE_S = (0.1, 0.4)


def call(
    session: Session,
    *,
    operation: str,
    bucket: str | tuple[str, ...],
    method: str,
    url: str,
    path: str,
    summary: dict,
    parse: Callable[[requests.Response], dict],
    **kwargs,
) -> dict:
    """Make one call: wait for the shared rate limiter, send, parse with `parse`, record it either way."""
    for attempt in range(INLINE_RETRIES + 1):
        try:
            return _call_once(session, operation, bucket, method, url, path, summary, parse, **kwargs)
        except Retryable as exc:
            if attempt == INLINE_RETRIES or isinstance(exc, RateLimited) or exc.code == "timeout":
                raise
            time.sleep(random.uniform(*INLINE_PAUSE_S))
    raise AssertionError("unreachable")


def _call_once(session, operation, bucket, method, url, path, summary, parse, **kwargs) -> dict:
    for name in (bucket,) if isinstance(bucket, str) else bucket:
        session.throttle(name)
    started = time.monotonic()
    status = None
    try:
        response = shared_session().request(method, url, **kwargs)
        status = response.status_code
        result = parse(response)
    except ChannelError as exc:
        _record(session, operation, method, path, status, started, summary, exc)
        raise
    except HostNotAllowed as exc:  # a base URL outside OUTBOUND_ALLOWED_HOSTS: a person must fix it, no retry
        error = ChannelError("host_not_allowed", str(exc))
        _record(session, operation, method, path, status, started, summary, error)
        raise error from exc
    except requests.Timeout as exc:
        error = Retryable("timeout", "The marketplace did not answer in time.")
        _record(session, operation, method, path, status, started, summary, error)
        raise error from exc
    except requests.RequestException as exc:
        error = Retryable("connection_error", type(exc).__name__)
        _record(session, operation, method, path, status, started, summary, error)
        raise error from exc
    _record(session, operation, method, path, status, started, summary, None)
    return result


def json_body(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError as exc:  # a truncated or non-JSON body: the outcome is unknown, so it is retryable
        raise Retryable("malformed_body", "The marketplace answered with a body that is not JSON.") from exc
    if not isinstance(body, dict):
        raise Retryable("malformed_body", "The marketplace answered with an unexpected body.")
    return body


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _record(session, operation, method, path, status, started, summary, error) -> None:
    session.record(
        CallRecord(
            operation=operation,
            method=method,
            path=path,
            status=status,
            latency_ms=round((time.monotonic() - started) * 1000),
            ok=error is None,
            error_code=getattr(error, "code", "") if error else "",
            error_message=(getattr(error, "message", "") or str(error))[:500] if error else "",
            request_summary=summary,
        )
    )
