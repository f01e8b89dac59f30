"""Calls to Voso with its `Token` header, and its envelope turned into ChannelErrors."""

from __future__ import annotations

import requests

from ..base import (
    AuthExpired,
    AuthFailed,
    ChannelError,
    Invalid,
    ItemLocked,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Reason,
    Retryable,
    Session,
    VersionConflict,
)
from ..http import call, json_body, retry_after
from .consts import BUCKET


class Duplicate(ChannelError):
    """409 SELLER_SKU_DUPLICATE / EXTERNAL_ID_DUPLICATE: the product exists; `existing_id` says which."""

    def __init__(self, *args, existing_id: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.existing_id = existing_id


def _parse(response: requests.Response) -> dict:
    status = response.status_code
    if status >= 500:
        raise Retryable(f"http_{status}", response.reason or "", http_status=status, retry_after=retry_after(response))
    body = json_body(response)
    code, message, data = body.get("code") or "", body.get("message") or "", body.get("data")
    if status < 300 and not body.get("error"):
        return data if isinstance(data, dict) else {"items": data}
    if status == 429 and code == "DAILY_LISTING_QUOTA":
        raise QuotaExceeded(code, message, http_status=status, retry_after=retry_after(response) or 3600)
    if status == 429:
        raise RateLimited(code, message, http_status=status, retry_after=retry_after(response))
    if code in ("TOKEN_EXPIRED", "TOKEN_INVALID"):
        raise AuthExpired(code, message, http_status=status)
    if code in ("ACCOUNT_LOCKED", "INVALID_CREDENTIALS") or status in (401, 403):
        raise AuthFailed(code, message, http_status=status)
    if code == "REQUEST_IN_PROGRESS":
        raise Retryable(code, message, http_status=status, retry_after=1)
    if code in ("SELLER_SKU_DUPLICATE", "EXTERNAL_ID_DUPLICATE"):
        existing = (data or {}).get("existingProductId", "") if isinstance(data, dict) else ""
        raise Duplicate(code, message, http_status=status, existing_id=str(existing))
    if status == 412:
        raise VersionConflict(code, message, http_status=status)
    if status == 423:
        raise ItemLocked(code, message, http_status=status)
    if status == 404:
        raise NotFound(code, message, http_status=status)
    errors = (data or {}).get("errors", []) if isinstance(data, dict) else []
    reasons = [Reason(e.get("code", ""), e.get("message", ""), e.get("field", "")) for e in errors] or [
        Reason(code, message)
    ]
    raise Invalid(code, message, http_status=status, reasons=reasons)


def request(
    session: Session,
    method: str,
    path: str,
    *,
    operation: str,
    bucket: str | tuple[str, ...] = BUCKET,
    authenticated: bool = True,
    headers=None,
    summary=None,
    **kwargs,
) -> dict:
    headers = dict(headers or {})
    if authenticated:
        headers["Token"] = session.token
    return call(
        session,
        operation=operation,
        bucket=bucket,
        method=method,
        url=session.base_url.rstrip("/") + path,
        path=path,
        summary=summary or {},
        parse=_parse,
        headers=headers,
        **kwargs,
    )
