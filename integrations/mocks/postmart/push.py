"""Pushes of the Postmart-like mock (shared/docs/marketplaces.md §2 "Push (PM)").

An event (order status code 3, banned item code 6) is fanned out, when it is emitted, into one queued delivery per
partner whose push config has the code on and who is authorized by the shop. The `Dispatcher` then POSTs due
deliveries from the app's background task (or from POST /__admin/tick), never inline in the request that caused
the event. A delivery succeeds on a 2xx within `push_timeout_s` with an empty body (when `strict_empty_body`);
otherwise it is retried after each of `push_retry_delays` (× time_scale) and, after the last failure, moved to the
lost-push store that get_lost_push_message reads. Too many failures disable a partner's pushes (health).

Webhook-side faults (§4) apply here: duplicate / reorder / drop when an event is queued, bad_signature /
stale_timestamp / receiver_down on each attempt.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from .errors import ApiError, as_int

if TYPE_CHECKING:
    from .state import State

# The names a push answers to in a fault rule's match.event_type (the code itself, or a readable name).
EVENT_NAMES = {
    3: ("3", "order.status_updated", "order_status_push"),
    6: ("6", "item.banned", "banned_item_push"),
    12: ("12", "open_api.authorization_expiry"),
}
QUEUE_FAULTS = ("duplicate", "reorder", "drop")
ATTEMPT_FAULTS = ("receiver_down", "bad_signature", "stale_timestamp")
RESPONSE_KEEP = 500


def event_names(code: int) -> tuple[str, ...]:
    return EVENT_NAMES.get(code, (str(code),))


def push_signature(partner_key: str, url: str, raw_body: str) -> str:
    """Authorization header of a push: hex(HMAC_SHA256(partner_key, callback_url + "|" + raw_body))."""
    return hmac.new(partner_key.encode(), f"{url}|{raw_body}".encode(), hashlib.sha256).hexdigest()


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https"):
            return False
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------- queueing (synchronous, inside State)


def enqueue(state: State, event: dict) -> None:
    """Queue one delivery per subscribed, authorized partner, applying queue-time webhook faults."""
    now = state.clock.now()
    for partner_id, cfg in sorted(state.push_configs.items()):
        if event["code"] not in cfg["codes_on"] or (partner_id, event["shop_id"]) not in state.authorizations:
            continue
        if not cfg["enabled"]:
            # As on Shopee: pushes of a disabled app are dropped and do not reach the lost-push store.
            cfg["dropped"] += 1
            continue
        fault = state.faults.take_event(
            QUEUE_FAULTS, event_names(event["code"]), shop=event["shop_id"], url=cfg["callback_url"]
        )
        kind = fault["type"] if fault else None
        if kind == "drop":
            state.counters["delivery"] += 1
            delivery = _delivery(state, event, partner_id, copy_no=1, due=now)
            _record(state, delivery, cfg["callback_url"], attempt=0, outcome="dropped", fault="drop")
            _to_lost(state, delivery)
            continue
        copies = max(1, int(fault.get("copies", 3))) if kind == "duplicate" else 1
        spacing = float(fault.get("spacing_ms", 200)) / 1000 if kind == "duplicate" else 0.0
        hold = float(fault.get("hold_ms", 5000)) / 1000 if kind == "reorder" else 0.0
        for i in range(copies):
            state.counters["delivery"] += 1
            delivery = _delivery(state, event, partner_id, copy_no=i + 1, due=now + hold + i * spacing)
            delivery["fault"] = kind
            state.push_queue.append(delivery)


def _delivery(state: State, event: dict, partner_id: int, copy_no: int, due: float) -> dict:
    return {
        "delivery_id": f"pm-dlv-{state.counters['delivery']:06d}",
        "event_id": event["event_id"],
        "copy": copy_no,
        "partner_id": partner_id,
        "shop_id": event["shop_id"],
        "code": event["code"],
        "data": event["data"],
        "event_timestamp": event["timestamp"],
        "attempt": 0,
        "due": due,
        "fault": None,
    }


def _record(state: State, delivery: dict, url: str, attempt: int, outcome: str, **extra: Any) -> dict:
    record = {
        "delivery_id": delivery["delivery_id"],
        "event_id": delivery["event_id"],
        "copy": delivery["copy"],
        "attempt": attempt,
        "partner_id": delivery["partner_id"],
        "shop_id": delivery["shop_id"],
        "code": delivery["code"],
        "url": url,
        "time": state.clock.now(),
        "status": None,
        "outcome": outcome,
        "error": "",
        "latency_ms": 0.0,
        "signature": None,
        "body": None,
        "response_body": None,
        "fault": None,
        "next_attempt_at": None,
    }
    record.update(extra)
    state.deliveries.append(record)
    return record


def _to_lost(state: State, delivery: dict) -> None:
    state.counters["lost"] += 1
    state.lost_push.append(
        {
            "message_id": state.counters["lost"],
            "partner_id": delivery["partner_id"],
            "shop_id": delivery["shop_id"],
            "code": delivery["code"],
            "timestamp": delivery["event_timestamp"],
            "data": json.dumps(delivery["data"], ensure_ascii=False, separators=(",", ":")),
            "event_id": delivery["event_id"],
        }
    )


def check_health(state: State, partner_id: int) -> None:
    """Disable a partner's pushes after more than N pushes in the window with a success rate below the floor."""
    cfg = state.push_configs.get(partner_id)
    if cfg is None or not cfg["enabled"]:
        return
    now = state.clock.now()
    since = max(now - float(state.config["push_health_window_s"]), cfg["health_since"])
    attempts = [
        r for r in state.deliveries if r["partner_id"] == partner_id and r["attempt"] >= 1 and r["time"] >= since
    ]
    if len(attempts) <= int(state.config["push_health_min_pushes"]):
        return
    rate = sum(r["outcome"] == "success" for r in attempts) / len(attempts)
    if rate < float(state.config["push_health_min_success"]):
        cfg["enabled"] = False
        cfg["disabled_at"] = now
        pending = [d for d in state.push_queue if d["partner_id"] == partner_id]
        cfg["dropped"] += len(pending)
        state.push_queue = [d for d in state.push_queue if d["partner_id"] != partner_id]


# ---------------------------------------------------------------------- push config and lost pushes (API)


async def verify_callback(state: State, session: aiohttp.ClientSession, partner_id: int, url: str) -> str:
    """POST a signed verification message; returns "" when the callback answered 2xx, else why it failed."""
    raw = json.dumps(
        {"code": 0, "timestamp": int(state.clock.now()), "data": {"verify_info": state.next_hex(16)}},
        separators=(",", ":"),
    )
    signature = push_signature(state.partners[partner_id], url, raw)
    headers = {"Content-Type": "application/json", "Authorization": signature}
    timeout = aiohttp.ClientTimeout(total=float(state.config["push_timeout_s"]))
    try:
        async with session.post(url, data=raw.encode(), headers=headers, timeout=timeout) as resp:
            await resp.read()
            return "" if 200 <= resp.status < 300 else f"the callback answered HTTP {resp.status}"
    except TimeoutError:
        return "the callback did not answer in time"
    except aiohttp.ClientError as exc:
        return f"the callback is unreachable ({exc.__class__.__name__})"


def _codes(value: Any, name: str) -> set[int]:
    if value is None:
        return set()
    if not isinstance(value, list) or any(as_int(c) is None or as_int(c) <= 0 for c in value):
        raise ApiError("error_param", f"{name} should be a list of push codes.")
    return {as_int(c) for c in value}


async def set_push_config(state: State, session: aiohttp.ClientSession, partner_id: int, body: dict) -> dict:
    current = state.push_configs.get(partner_id)
    url = body.get("callback_url") or (current["callback_url"] if current else None)
    if not isinstance(url, str) or not url:
        raise ApiError("error_param", "callback_url is required.")
    if not is_loopback_url(url):
        raise ApiError("CALLBACK_NOT_ALLOWED", "The callback URL must resolve to loopback.")
    on = _codes(body.get("set_push_config_on"), "set_push_config_on")
    off = _codes(body.get("set_push_config_off"), "set_push_config_off")
    codes = (set(current["codes_on"]) if current else set()) | on
    codes -= off
    problem = await verify_callback(state, session, partner_id, url)
    if problem:
        raise ApiError("error_param", f"Callback URL verification failed: {problem}.")
    # Setting the config again is also how a disabled app turns pushes back on: health counts from now.
    state.push_configs[partner_id] = {
        "callback_url": url,
        "codes_on": sorted(codes),
        "enabled": True,
        "disabled_at": None,
        "health_since": state.clock.now(),
        "dropped": current["dropped"] if current else 0,
    }
    return {"result": "success"}


def lost_messages(state: State, partner_id: int, limit: int = 100) -> dict:
    cutoff = state.clock.now() - float(state.config["lost_push_retention_s"])
    mine = sorted(
        (m for m in state.lost_push if m["partner_id"] == partner_id and m["timestamp"] >= cutoff),
        key=lambda m: m["message_id"],
    )
    page = mine[:limit]
    return {
        "push_message_list": [
            {"shop_id": m["shop_id"], "code": m["code"], "timestamp": m["timestamp"], "data": m["data"]} for m in page
        ],
        "has_next_page": len(mine) > limit,
        "last_message_id": page[-1]["message_id"] if page else 0,
    }


def confirm_lost(state: State, partner_id: int, body: dict) -> dict:
    last = as_int(body.get("last_message_id"))
    if last is None or last < 0:
        raise ApiError("error_param", "last_message_id is required.")
    state.lost_push = [m for m in state.lost_push if m["partner_id"] != partner_id or m["message_id"] > last]
    return {"result": "success"}


# ---------------------------------------------------------------------- delivery (asynchronous)


class Dispatcher:
    """Sends due pushes one at a time, in (due, delivery) order; the lock keeps the background loop and
    POST /__admin/tick from sending the same delivery twice, and lets a tick wait for a pass under way."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()

    async def run_due(self, state: State, session: aiohttp.ClientSession) -> int:
        sent = 0
        async with self.lock:
            while True:
                now = state.clock.now()
                due = [d for d in state.push_queue if d["due"] <= now]
                if not due:
                    return sent
                delivery = min(due, key=lambda d: (d["due"], d["delivery_id"]))
                await self.attempt(state, session, delivery)
                sent += 1

    async def attempt(self, state: State, session: aiohttp.ClientSession, delivery: dict) -> dict | None:
        cfg = state.push_configs.get(delivery["partner_id"])
        if cfg is None or not cfg["enabled"] or delivery["code"] not in cfg["codes_on"]:
            state.push_queue.remove(delivery)
            if cfg is not None and not cfg["enabled"]:
                cfg["dropped"] += 1
            return None
        delivery["attempt"] += 1
        url = cfg["callback_url"]
        key = state.partners[delivery["partner_id"]]
        fault = state.faults.take_event(
            ATTEMPT_FAULTS, event_names(delivery["code"]), shop=delivery["shop_id"], url=url
        )
        kind = fault["type"] if fault else None
        now = state.clock.now()
        skew = float(fault.get("skew_s", 900)) if kind == "stale_timestamp" else 0.0
        body = {
            "code": delivery["code"],
            "shop_id": delivery["shop_id"],
            "timestamp": int(now - skew),
            "data": delivery["data"],
        }
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        signature = push_signature(key + ("-wrong" if kind == "bad_signature" else ""), url, raw)
        status, answer, error = None, b"", ""
        started = time.perf_counter()
        if kind == "receiver_down":
            error = "receiver down (fault)"
        else:
            timeout = aiohttp.ClientTimeout(total=float(state.config["push_timeout_s"]))
            headers = {"Content-Type": "application/json", "Authorization": signature}
            try:
                async with session.post(url, data=raw.encode(), headers=headers, timeout=timeout) as resp:
                    answer = await resp.read()
                    status = resp.status
            except TimeoutError:
                error = "timeout"
            except aiohttp.ClientError as exc:
                error = f"connection error ({exc.__class__.__name__})"
        latency = round((time.perf_counter() - started) * 1000, 1)
        ok = status is not None and 200 <= status < 300
        if ok and answer and state.config["strict_empty_body"]:
            ok, error = False, "non-empty response body"
        elif status is not None and not ok:
            error = f"HTTP {status}"
        record = _record(
            state,
            delivery,
            url,
            attempt=delivery["attempt"],
            outcome="success" if ok else "failed",
            status=status,
            error=error,
            latency_ms=latency,
            signature=signature,
            body=raw,
            response_body=answer[:RESPONSE_KEEP].decode("utf-8", "replace"),
            fault=kind or delivery.get("fault"),
        )
        if delivery not in state.push_queue:  # reset or restore while the request was in flight
            return record
        if ok:
            state.push_queue.remove(delivery)
        else:
            delays = list(state.config["push_retry_delays"])
            if delivery["attempt"] <= len(delays):
                delivery["due"] = state.clock.now() + float(delays[delivery["attempt"] - 1]) * state.time_scale
                record["next_attempt_at"] = delivery["due"]
            else:
                state.push_queue.remove(delivery)
                record["lost"] = True
                _to_lost(state, delivery)
        check_health(state, delivery["partner_id"])
        return record
