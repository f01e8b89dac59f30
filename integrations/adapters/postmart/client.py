"""Signed calls to Postmart and its single-error envelope turned into ChannelErrors."""

from __future__ import annotations

import hashlib
import hmac
import time
from email.utils import parsedate_to_datetime

import requests

from ..base import (
    AuthExpired,
    AuthFailed,
    ChannelError,
    Invalid,
    NotFound,
    RateLimited,
    Reason,
    Retryable,
    Session,
)
from ..http import call, json_body, retry_after
from .consts import API, BUCKET_READ, BUCKET_WRITE, WRITE_OPERATIONS


class DuplicateItem(ChannelError):
    """error_repeated_mtsku: an item with this SKU (or name and category) exists; its id is not returned."""


class ImageExpired(ChannelError):
    """An image id we cached has expired on the marketplace: upload the bytes again."""


class ClockSkew(ChannelError):
    """The signature's timestamp is outside the marketplace's ±300 s window: our clock is off."""


def sign(partner_key: str, base: str) -> str:
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def _query(session: Session, path: str, *, shop: bool) -> dict:
    partner_id = str(session.credentials["partner_id"])
    timestamp = int(time.time())
    base = f"{partner_id}{path}{timestamp}"
    query = {"partner_id": partner_id, "timestamp": timestamp}
    if shop:
        base += f"{session.token}{session.shop_id}"
        query.update(access_token=session.token, shop_id=session.shop_id)
    query["sign"] = sign(session.credentials["partner_key"], base)
    return query


def _skew_seconds(response: requests.Response) -> int | None:
    try:
        return round(parsedate_to_datetime(response.headers["Date"]).timestamp() - time.time())
    except (KeyError, TypeError, ValueError):
        return None


def _parse(response: requests.Response) -> dict:
    status = response.status_code
    if status == 429:
        raise RateLimited("error_too_many_request", "Rate limited.", http_status=429, retry_after=retry_after(response))
    if status >= 500:
        raise Retryable(f"http_{status}", response.reason or "", http_status=status, retry_after=retry_after(response))
    body = json_body(response)
    error, message = body.get("error") or "", body.get("message") or ""
    if not error and status < 300:
        return body.get("response") or {}
    if error == "error_auth":
        raise AuthExpired(error, message, http_status=status)
    if error in ("error_shop_refresh_token", "shop_access_expired"):
        raise AuthFailed(error, message, http_status=status)
    if error == "error_param" and message == "Invalid timestamp":
        skew = _skew_seconds(response)
        detail = f"our clock differs from the marketplace's by {skew} s" if skew is not None else "clock skew"
        raise ClockSkew("clock_skew", f"Signature timestamp refused: {detail}; check NTP.", http_status=status)
    if error == "error_sign":
        raise AuthFailed(error, message, http_status=status)
    if error == "error_repeated_mtsku":
        raise DuplicateItem(error, message, http_status=status)
    if message == "Image not exist.":
        raise ImageExpired(error, message, http_status=status)
    if error in ("error_not_found", "error_busi_item_status_invalid"):
        raise NotFound(error, message, http_status=status)
    raise Invalid(error, message, http_status=status, reasons=[Reason(error, message)])


def request(
    session: Session, method: str, operation: str, *, shop: bool = True, query=None, summary=None, **kwargs
) -> dict:
    """One signed call to `/api/v2/product/<operation>`-style paths; `operation` is the path below /api/v2."""
    path = f"{API}/{operation}"
    name = operation.rsplit("/", 1)[-1]
    return call(
        session,
        operation=name,
        bucket=(BUCKET_WRITE, BUCKET_READ) if name in WRITE_OPERATIONS else BUCKET_READ,
        method=method,
        url=session.base_url.rstrip("/") + path,
        path=path,
        summary=summary or {},
        parse=_parse,
        params=_query(session, path, shop=shop) | (query or {}),
        **kwargs,
    )
