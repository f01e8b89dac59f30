"""Postmart pushes: signature check and the meaning of each push code (marketplaces.md §2 "Push")."""

from __future__ import annotations

import hashlib
import hmac
import json

from ..base import Reason, RemoteItem
from .consts import STATUS_TO_STATE

CODE_VERIFY, CODE_ORDER_STATUS, CODE_ITEM_BANNED = 0, 3, 6


def signature_valid(*, partner_key: str, callback_url: str, body: bytes, authorization: str) -> bool:
    expected = hmac.new(partner_key.encode(), callback_url.encode() + b"|" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, authorization.strip())


def dedupe_key(payload: dict) -> str:
    # No message id on Postmart pushes: the same (code, shop, data) is the same message.
    blob = json.dumps([payload.get("code"), payload.get("shop_id"), payload.get("data")], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def item_from_push(payload: dict) -> RemoteItem | None:
    data = payload.get("data") or {}
    if payload.get("code") != CODE_ITEM_BANNED or "item_id" not in data:
        return None
    status = str(data.get("item_status") or "BANNED")
    reason = data.get("ban_reason") or {}
    reasons = (Reason(str(reason.get("code", "")), str(reason.get("message", ""))),) if reason else ()
    return RemoteItem(str(data["item_id"]), status, STATUS_TO_STATE.get(status, "rejected"), reasons=reasons)
