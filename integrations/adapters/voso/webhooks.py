"""Voso webhooks: Stripe-style `t=…,v1=…` signatures and the product events (marketplaces.md §3)."""

from __future__ import annotations

import hashlib
import hmac
import time

from ..base import Reason, RemoteItem
from .consts import STATUS_TO_STATE

TOLERANCE_S = 300


def signature_valid(*, secrets: list[str], header: str, body: bytes, now: float | None = None) -> bool:
    """True if one `v1` of the header matches one of our secrets (two during a rotation) and `t` is recent."""
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k.strip() == "t"]
    signatures = [v.strip() for k, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not signatures:
        return False
    try:
        t = int(stamps[0])
    except ValueError:
        return False
    if abs((now or time.time()) - t) > TOLERANCE_S:
        return False
    for secret in secrets:
        expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, s) for s in signatures):
            return True
    return False


def item_from_event(event: dict) -> RemoteItem | None:
    if event.get("type") != "product.qc_updated":
        return None
    data = event.get("data") or {}
    status = str(data.get("status", ""))
    qc = data.get("qc") or {}
    reasons = tuple(
        Reason(str(r.get("code", "")), str(r.get("message", "")), str(r.get("field") or ""))
        for r in qc.get("reasons", [])
    )
    return RemoteItem(
        str(data.get("productId", "")),
        status,
        STATUS_TO_STATE.get(status, "pending_review"),
        reasons=reasons,
        version=data.get("version"),
    )
