"""aiohttp application of the Postmart-like mock: /api/v2 (Shopee-v2 style), /file and the /__admin test API."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from aiohttp import web

from integrations.mocks.clock import Clock
from integrations.mocks.faults import FAULT_KEY, fault_middleware, register_admin_routes

from . import orders, push
from .imaging import sniff
from .state import CHANNELS, ApiError, State, as_int, image_url, normalize_text

STATE_KEY = web.AppKey("state", State)
TASK_KEY = web.AppKey("scheduler_task", asyncio.Task)
SESSION_KEY = web.AppKey("push_session", aiohttp.ClientSession)
DISPATCHER_KEY = web.AppKey("push_dispatcher", push.Dispatcher)
MAX_BODY = 100 * 1024 * 1024
REQUEST_LOG_MAX = 2000
SCHEDULER_INTERVAL = 0.2

Handler = Callable[[web.Request, State, dict], Awaitable[Any]]


def envelope(state: State, response: Any = None, error: str = "", message: str = "", warning: str = "") -> dict:
    return {
        "request_id": state.next_request_id(),
        "error": error,
        "message": message,
        "warning": warning,
        "response": response if response is not None else {},
    }


async def read_json(request: web.Request) -> dict:
    try:
        data = json.loads(await request.text() or "{}")
    except ValueError as exc:
        raise ApiError("error_param", "Invalid JSON body.") from exc
    if not isinstance(data, dict):
        raise ApiError("error_param", "The body should be a JSON object.")
    return data


def fault(request: web.Request, kind: str, applies: Callable[[dict], bool] | None = None) -> dict | None:
    """The app-specific fault (stale_read, expire_token, partial_batch) that fires for this request, if any."""
    return request.app[STATE_KEY].faults.take(kind, request, shop=request.query.get("shop_id"), applies=applies)


FAULT_DEFAULTS = {
    429: ("error_too_many_request", "Too many requests, please try again later."),
    500: ("error_server", "Internal server error, please try again later."),
}


def fault_error(
    request: web.Request, status: int, code: str | None, message: str | None, retry_after: float | None
) -> web.Response:
    """A fault's error in the Postmart envelope (the shared middleware knows nothing of it)."""
    default_code, default_message = FAULT_DEFAULTS.get(status, ("error_inner", "Service unavailable, please retry."))
    headers = {"Retry-After": str(max(0, math.ceil(float(retry_after))))} if retry_after is not None else {}
    body = envelope(request.app[STATE_KEY], None, code or default_code, message or default_message)
    return web.json_response(body, status=status, headers=headers)


def _page(query: Any, default_size: int = 50) -> tuple[int, int]:
    offset = as_int(query.get("offset", "0"))
    size = as_int(query.get("page_size", str(default_size)))
    if offset is None or offset < 0 or size is None or not 1 <= size <= 100:
        raise ApiError("error_param", "Invalid offset or page_size.")
    return offset, size


# ---------------------------------------------------------------------- auth endpoints


def _loopback_url(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def h_auth_partner(request: web.Request, state: State, ctx: dict) -> web.StreamResponse:
    redirect = request.query.get("redirect", "")
    if not _loopback_url(redirect):
        raise ApiError("CALLBACK_NOT_ALLOWED", "The redirect URL must resolve to loopback.")
    shop_id = as_int(state.config.get("auth_partner_shop_id")) or next(iter(state.shops), None)
    if shop_id is None:
        raise ApiError("error_not_found", "No shop is seeded.", 404)
    code = state.issue_code(shop_id, ctx["partner_id"])
    sep = "&" if "?" in redirect else "?"
    raise web.HTTPFound(f"{redirect}{sep}{urlencode({'code': code, 'shop_id': shop_id})}")


async def h_token_get(request: web.Request, state: State, ctx: dict) -> dict:
    body = await read_json(request)
    if body.get("partner_id") is not None and as_int(body.get("partner_id")) != ctx["partner_id"]:
        raise ApiError("error_auth", "Invalid code.", 403)
    return state.token_get(ctx["partner_id"], body)


async def h_refresh(request: web.Request, state: State, ctx: dict) -> dict:
    body = await read_json(request)
    if body.get("partner_id") is not None and as_int(body.get("partner_id")) != ctx["partner_id"]:
        raise ApiError("error_shop_refresh_token", "Invalid refresh_token.", 403)
    return state.refresh(ctx["partner_id"], body)


# ---------------------------------------------------------------------- master data


async def h_get_category(request: web.Request, state: State, ctx: dict) -> dict:
    cats = state.categories.values()
    return {
        "category_list": [
            {
                "category_id": c["category_id"],
                "parent_category_id": c["parent_category_id"],
                "original_category_name": c["original_category_name"],
                "display_category_name": c["display_category_name"],
                "has_children": not state.is_leaf(c["category_id"]),
            }
            for c in sorted(cats, key=lambda c: c["category_id"])
        ]
    }


async def h_get_attributes(request: web.Request, state: State, ctx: dict) -> dict:
    cid = as_int(request.query.get("category_id"))
    if cid is None or not state.is_leaf(cid):
        raise ApiError("error_param", "Invalid category_id, only leaf categories are accepted.")
    return {"attribute_list": state.attributes_for(cid)}


async def h_address_list(request: web.Request, state: State, ctx: dict) -> dict:
    return {"address_list": state.shops[ctx["shop_id"]]["addresses"]}


async def h_channel_list(request: web.Request, state: State, ctx: dict) -> dict:
    return {
        "logistics_channel_list": [
            {
                "logistics_channel_id": c["logistics_channel_id"],
                "logistics_channel_name": c["logistics_channel_name"],
                "weight_limit": {"item_max_weight": c["max_kg"], "item_min_weight": 0.01},
                "enabled": True,
            }
            for c in CHANNELS
        ]
    }


# ---------------------------------------------------------------------- images


async def h_upload_image(request: web.Request, state: State, ctx: dict) -> dict:
    if not request.content_type.startswith("multipart/"):
        raise ApiError("error_param", "The body should be multipart/form-data.")
    form = await request.post()
    files = form.getall("image", [])
    if not 1 <= len(files) <= 8:
        raise ApiError("error_param", "image should be given 1 to 8 times.")
    results = []
    min_px = int(state.config["min_image_px"])
    partial = fault(request, "partial_batch")
    failing = set(partial.get("fail_indices") or []) if partial else set()
    for index, part in enumerate(files):
        data = part.file.read() if isinstance(part, web.FileField) else str(part).encode()
        entry: dict[str, Any] = {"id": index, "error": "", "message": ""}
        info = sniff(data)
        if index in failing:
            entry.update(error="error_inner", message="System busy, please upload this image again.")
        elif len(data) > state.config["max_image_bytes"]:
            entry.update(error="error_param", message="Image size should be at most 10 MB.")
        elif info is None:
            entry.update(error="error_param", message="Invalid image format, only JPG and PNG are accepted.")
        elif info[1] < min_px or info[2] < min_px:
            entry.update(error="error_param", message=f"Image should be at least {min_px}x{min_px} px.")
        else:
            image = state.store_image(ctx["shop_id"], ctx["partner_id"], data, *info)
            entry["image_info"] = {
                "image_id": image["image_id"],
                "image_url_list": [image_url(request.host, image["image_id"])],
            }
        results.append(entry)
    return {"image_info_list": results}


async def file_handler(request: web.Request) -> web.Response:
    image = request.app[STATE_KEY].images.get(request.match_info["image_id"])
    if image is None:
        raise web.HTTPNotFound()
    return web.Response(body=image["data"], content_type=image["content_type"])


# ---------------------------------------------------------------------- items


async def h_add_item(request: web.Request, state: State, ctx: dict) -> dict:
    item = state.add_item(ctx["shop_id"], await read_json(request))
    view = state.item_view(item, request.host)
    keep = ("item_id", "item_status", "item_name", "weight", "dimension", "category_id", "create_time", "update_time")
    out = {k: view[k] for k in keep}
    out["images"] = view["image"]
    out["price_info"] = view["price_info"][0]
    return out


async def h_update_item(request: web.Request, state: State, ctx: dict) -> dict:
    item = state.update_item(ctx["shop_id"], await read_json(request))
    return state.item_view(item, request.host)


async def h_search_item(request: web.Request, state: State, ctx: dict) -> dict:
    offset, size = _page(request.query)
    sku = request.query.get("item_sku", "")
    name = normalize_text(request.query.get("item_name", ""))
    found = [
        i["item_id"]
        for i in sorted(state._live_items(ctx["shop_id"]), key=lambda i: i["item_id"])
        if (not sku or i["item_sku"] == sku) and (not name or name in normalize_text(i["item_name"]))
    ]
    page = found[offset : offset + size]
    more = offset + size < len(found)
    return {"item_id_list": page, "total_count": len(found), "next_offset": offset + size if more else -1}


async def h_item_base_info(request: web.Request, state: State, ctx: dict) -> dict:
    raw = [x for x in request.query.get("item_id_list", "").split(",") if x.strip()]
    if not 1 <= len(raw) <= 50 or any(as_int(x) is None for x in raw):
        raise ApiError("error_param", "item_id_list should contain 1 to 50 item ids.")
    items = [i for i in (state.items.get(as_int(x)) for x in raw) if i and i["shop_id"] == ctx["shop_id"]]
    stale_s = _stale_seconds(request, state, [i["item_id"] for i in items])
    seen = [state.read_item(i, stale_s) for i in items]
    return {"item_list": [state.item_view(i, request.host) for i in seen if i is not None]}


def _stale_seconds(request: web.Request, state: State, item_ids: list[int]) -> float | None:
    """Under a stale_read fault, how long after a write reads still see the previous version; else None.

    The rule only counts (and uses up `times`) when one of the items read was written within its window."""
    action = fault(request, "stale_read", lambda a: state.written_within(item_ids, float(a.get("seconds", 30))))
    return float(action.get("seconds", 30)) if action else None


ITEM_STATUSES = {"NORMAL", "BANNED", "UNLIST", "REVIEWING", "SELLER_DELETE", "SHOPEE_DELETE"}


async def h_item_list(request: web.Request, state: State, ctx: dict) -> dict:
    offset, size = _page(request.query, 100)
    statuses = set(request.query.getall("item_status", []))
    if statuses - ITEM_STATUSES:
        raise ApiError("error_param", "Invalid item_status.")
    t_from = as_int(request.query.get("update_time_from", "0"))
    t_to = as_int(request.query.get("update_time_to", str(2**62)))
    if t_from is None or t_to is None:
        raise ApiError("error_param", "Invalid update_time window.")
    mine = [i for i in state.items.values() if i["shop_id"] == ctx["shop_id"]]
    stale_s = _stale_seconds(request, state, [i["item_id"] for i in mine])
    seen = [v for v in (state.read_item(i, stale_s) for i in mine) if v is not None]
    rows = sorted(
        (i for i in seen if (not statuses or i["item_status"] in statuses) and t_from <= i["update_time"] <= t_to),
        key=lambda i: (i["update_time"], i["item_id"]),
    )
    page = rows[offset : offset + size]
    more = offset + size < len(rows)
    return {
        "item": [
            {"item_id": i["item_id"], "item_status": i["item_status"], "update_time": i["update_time"]} for i in page
        ],
        "total_count": len(rows),
        "has_next_page": more,
        "next_offset": offset + size if more else offset + len(page),
    }


async def h_update_price(request: web.Request, state: State, ctx: dict) -> dict:
    body = await read_json(request)
    item = state.get_item(ctx["shop_id"], body.get("item_id"))
    prices = body.get("price_list")
    if not isinstance(prices, list) or not prices or not isinstance(prices[0], dict):
        raise ApiError("error_param", "price_list is required")
    price = prices[0].get("original_price")
    if item["item_status"] in ("SELLER_DELETE", "SHOPEE_DELETE"):
        return {
            "success_list": [],
            "failure_list": [{"item_id": item["item_id"], "failed_reason": "Item status invalid"}],
        }
    if not isinstance(price, int | float) or isinstance(price, bool) or price != int(price):
        return {
            "success_list": [],
            "failure_list": [{"item_id": item["item_id"], "failed_reason": "error_invalid_price"}],
        }
    if not 1000 <= price <= 120_000_000:
        return {
            "success_list": [],
            "failure_list": [{"item_id": item["item_id"], "failed_reason": "error_invalid_price"}],
        }
    state.before_write(item)
    item["original_price"] = item["current_price"] = int(price)
    item["update_time"] = int(state.clock.now())
    return {"success_list": [{"item_id": item["item_id"], "original_price": int(price)}], "failure_list": []}


async def h_update_stock(request: web.Request, state: State, ctx: dict) -> dict:
    body = await read_json(request)
    item = state.get_item(ctx["shop_id"], body.get("item_id"))
    stock_list = body.get("stock_list")
    try:
        stock = as_int(stock_list[0]["seller_stock"][0]["stock"])
    except (TypeError, KeyError, IndexError) as exc:
        raise ApiError("error_param", "stock_list is required") from exc
    if item["item_status"] in ("SELLER_DELETE", "SHOPEE_DELETE"):
        return {
            "success_list": [],
            "failure_list": [{"item_id": item["item_id"], "failed_reason": "Item status invalid"}],
        }
    if stock is None or not 0 <= stock <= 999_999:
        return {"success_list": [], "failure_list": [{"item_id": item["item_id"], "failed_reason": "Invalid stock."}]}
    state.before_write(item)
    item["seller_stock"] = [{"stock": stock}]
    item["update_time"] = int(state.clock.now())
    return {"success_list": [{"item_id": item["item_id"], "stock": stock}], "failure_list": []}


async def h_unlist_item(request: web.Request, state: State, ctx: dict) -> dict:
    body = await read_json(request)
    entries = body.get("item_list")
    if not isinstance(entries, list) or not 1 <= len(entries) <= 50:
        raise ApiError("error_param", "item_list should contain 1 to 50 items.")
    success, failure = [], []
    partial = fault(request, "partial_batch")
    failing = set(partial.get("fail_indices") or []) if partial else set()
    for index, entry in enumerate(entries):
        item_id = as_int(entry.get("item_id")) if isinstance(entry, dict) else None
        item = state.items.get(item_id or -1)
        if index in failing:
            failure.append({"item_id": item_id, "failed_reason": "System busy, please retry."})
            continue
        if item is None or item["shop_id"] != ctx["shop_id"]:
            failure.append({"item_id": item_id, "failed_reason": "Item not found"})
            continue
        if item["item_status"] not in ("NORMAL", "UNLIST"):
            failure.append({"item_id": item_id, "failed_reason": "Item status invalid"})
            continue
        unlist = bool(entry.get("unlist"))
        state.before_write(item)
        item["item_status"] = "UNLIST" if unlist else "NORMAL"
        item["desired_status"] = item["item_status"]
        item["update_time"] = int(state.clock.now())
        success.append({"item_id": item_id, "unlist": unlist})
    return {"success_list": success, "failure_list": failure}


async def h_delete_item(request: web.Request, state: State, ctx: dict) -> dict:
    body = await read_json(request)
    item = state.get_item(ctx["shop_id"], body.get("item_id"))
    if item["item_status"] in ("SELLER_DELETE", "SHOPEE_DELETE"):
        raise ApiError("error_busi_item_status_invalid", "Invalid item status")
    state.before_write(item)
    item["item_status"] = "SELLER_DELETE"
    item["update_time"] = int(state.clock.now())
    state.jobs = [j for j in state.jobs if j["item_id"] != item["item_id"]]
    return {}


async def h_listings_with_issues(request: web.Request, state: State, ctx: dict) -> dict:
    page_no = as_int(request.query.get("page_no", "1"))
    size = as_int(request.query.get("page_size", "50"))
    if page_no is None or page_no < 1 or size is None or not 1 <= size <= 100:
        raise ApiError("error_param", "Invalid page_no or page_size.")
    banned = sorted(
        (i for i in state.items.values() if i["shop_id"] == ctx["shop_id"] and i["item_status"] == "BANNED"),
        key=lambda i: (i["ban_time"], i["item_id"]),
    )
    page = banned[(page_no - 1) * size : page_no * size]
    return {
        "listing_list": [
            {"item_id": i["item_id"], "reason": i["ban_reason"], "detected_time": i["ban_time"]} for i in page
        ],
        "total_count": len(banned),
        "has_next_page": page_no * size < len(banned),
    }


# ---------------------------------------------------------------------- orders and pushes


async def h_order_list(request: web.Request, state: State, ctx: dict) -> dict:
    return orders.order_list(state, ctx["shop_id"], request.query)


async def h_order_detail(request: web.Request, state: State, ctx: dict) -> dict:
    return orders.order_detail(state, ctx["shop_id"], request.query)


async def h_set_push_config(request: web.Request, state: State, ctx: dict) -> dict:
    body = await read_json(request)
    return await push.set_push_config(state, request.app[SESSION_KEY], ctx["partner_id"], body)


async def h_get_push_config(request: web.Request, state: State, ctx: dict) -> dict:
    cfg = state.push_configs.get(ctx["partner_id"])
    if cfg is None:
        return {"callback_url": "", "push_config_on_list": [], "blocked": False}
    return {"callback_url": cfg["callback_url"], "push_config_on_list": cfg["codes_on"], "blocked": not cfg["enabled"]}


async def h_lost_push(request: web.Request, state: State, ctx: dict) -> dict:
    return push.lost_messages(state, ctx["partner_id"])


async def h_confirm_lost_push(request: web.Request, state: State, ctx: dict) -> dict:
    return push.confirm_lost(state, ctx["partner_id"], await read_json(request))


ROUTES: dict[tuple[str, str], tuple[Handler, str]] = {
    ("GET", "/api/v2/shop/auth_partner"): (h_auth_partner, "public"),
    ("POST", "/api/v2/auth/token/get"): (h_token_get, "public"),
    ("POST", "/api/v2/auth/access_token/get"): (h_refresh, "public"),
    ("GET", "/api/v2/product/get_category"): (h_get_category, "shop"),
    ("GET", "/api/v2/product/get_attributes"): (h_get_attributes, "shop"),
    ("GET", "/api/v2/logistics/get_address_list"): (h_address_list, "shop"),
    ("GET", "/api/v2/logistics/get_channel_list"): (h_channel_list, "shop"),
    ("POST", "/api/v2/media_space/upload_image"): (h_upload_image, "shop"),
    ("POST", "/api/v2/product/add_item"): (h_add_item, "shop"),
    ("POST", "/api/v2/product/update_item"): (h_update_item, "shop"),
    ("GET", "/api/v2/product/search_item"): (h_search_item, "shop"),
    ("GET", "/api/v2/product/get_item_base_info"): (h_item_base_info, "shop"),
    ("GET", "/api/v2/product/get_item_list"): (h_item_list, "shop"),
    ("POST", "/api/v2/product/update_price"): (h_update_price, "shop"),
    ("POST", "/api/v2/product/update_stock"): (h_update_stock, "shop"),
    ("POST", "/api/v2/product/unlist_item"): (h_unlist_item, "shop"),
    ("POST", "/api/v2/product/delete_item"): (h_delete_item, "shop"),
    ("GET", "/api/v2/account_health/get_listings_with_issues"): (h_listings_with_issues, "shop"),
    ("GET", "/api/v2/order/get_order_list"): (h_order_list, "shop"),
    ("GET", "/api/v2/order/get_order_detail"): (h_order_detail, "shop"),
    ("POST", "/api/v2/push/set_app_push_config"): (h_set_push_config, "public"),
    ("GET", "/api/v2/push/get_app_push_config"): (h_get_push_config, "public"),
    ("GET", "/api/v2/push/get_lost_push_message"): (h_lost_push, "public"),
    ("POST", "/api/v2/push/confirm_consumed_lost_push_message"): (h_confirm_lost_push, "public"),
}


async def api_handler(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        route = ROUTES.get((request.method, request.path))
        if route is None:
            raise ApiError("error_not_found", "Wrong path or method.", 404)
        handler, kind = route
        q = request.query
        state.check_rate(q.get("partner_id", ""), q.get("shop_id", ""), request.path)
        token = q.get("access_token", "")
        if kind == "shop" and fault(request, "expire_token", lambda a: token in state.access_tokens):
            # The token expires "now", as if its TTL ran out under load: the caller has to refresh it.
            state.access_tokens[token]["expire_at"] = min(state.access_tokens[token]["expire_at"], state.clock.now())
        ctx = state.authenticate(request.path, q, kind)
        result = await handler(request, state, ctx)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(envelope(state, result))
    except ApiError as exc:
        return web.json_response(
            envelope(state, exc.response, exc.error, exc.message), status=exc.status, headers=exc.headers
        )
    except web.HTTPException:
        raise
    except Exception as exc:  # the mock answers with the platform's envelope, never a bare traceback
        return web.json_response(envelope(state, None, "error_server", f"Internal error: {exc}"), status=500)


@web.middleware
async def log_requests(request: web.Request, handler: Callable) -> web.StreamResponse:
    if request.path.startswith("/__admin"):
        return await handler(request)
    state = request.app[STATE_KEY]
    if request.content_type.startswith("multipart/"):
        body = f"<multipart {request.content_length} bytes>"
    else:
        body = (await request.read()).decode("utf-8", "replace")[:4000]
    entry = {
        "time": state.clock.now(),
        "method": request.method,
        "path": request.path_qs,
        "headers": dict(request.headers),
        "body": body,
        "status": None,
    }
    state.request_log.append(entry)
    del state.request_log[:-REQUEST_LOG_MAX]
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        entry["status"] = exc.status
        raise
    finally:
        if FAULT_KEY in request:
            entry["fault"] = request[FAULT_KEY]
    # A reset fault closed the connection: the client got no status at all.
    closed = request.transport is None or request.transport.is_closing()
    entry["status"] = None if closed else response.status
    return response


# ---------------------------------------------------------------------- admin


def admin(fn: Callable[[web.Request, State, dict], Awaitable[Any]]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapper(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        try:
            body = await read_json(request) if request.method in ("POST", "PUT") else {}
            return web.json_response(await fn(request, state, body))
        except ApiError as exc:
            return web.json_response({"error": exc.error, "message": exc.message}, status=exc.status)

    return wrapper


async def a_reset(request: web.Request, state: State, body: dict) -> dict:
    async with request.app[DISPATCHER_KEY].lock:  # not while a push is being sent
        state.clock.set_offset(0)
        state.reset()
    return {"ok": True}


async def a_state(request: web.Request, state: State, body: dict) -> dict:
    return json.loads(json.dumps(state.dump(), default=str))


async def a_requests(request: web.Request, state: State, body: dict) -> dict:
    limit = as_int(request.query.get("limit", "100")) or 100
    return {"requests": state.request_log[-limit:]}


async def a_clock(request: web.Request, state: State, body: dict) -> dict:
    if "offset_s" in body:
        state.clock.set_offset(float(body["offset_s"]))
    if "freeze_at" in body:
        state.clock.freeze(body["freeze_at"])
    if "advance_s" in body:
        state.clock.advance(float(body["advance_s"]))
    return state.clock.describe()


async def a_tick(request: web.Request, state: State, body: dict) -> dict:
    state.clock.advance(float(body.get("seconds") or 0))
    ran = state.run_due()
    sent = await request.app[DISPATCHER_KEY].run_due(state, request.app[SESSION_KEY])
    return {"now": state.clock.now(), "reviews_run": ran, "pushes_attempted": sent}


async def a_partners(request: web.Request, state: State, body: dict) -> dict:
    return state.add_partner(body)


async def a_shops(request: web.Request, state: State, body: dict) -> dict:
    return state.add_shop(body)


async def a_categories(request: web.Request, state: State, body: dict) -> dict:
    return state.add_category(body)


async def a_auth_codes(request: web.Request, state: State, body: dict) -> dict:
    shop_id = as_int(body.get("shop_id"))
    if shop_id is None:
        raise ApiError("error_param", "shop_id is required")
    return {"code": state.issue_code(shop_id, as_int(body.get("partner_id")))}


async def a_review(request: web.Request, state: State, body: dict) -> dict:
    item = state.decide(
        as_int(request.match_info["item_id"]) or -1, body.get("decision", ""), body.get("reasons") or []
    )
    return {"item_id": item["item_id"], "item_status": item["item_status"], "ban_reason": item["ban_reason"]}


async def a_review_config(request: web.Request, state: State, body: dict) -> dict:
    aliases = {
        "prohibited_claims": "prohibited_terms",
        "bad_image_hashes": "bad_image_sha256",
        "review_delay_s": "delay_s",
    }
    for key, value in body.items():
        key = aliases.get(key, key)
        if key == "shop_modes":
            state.review["shop_modes"].update({str(k): v for k, v in value.items()})
        elif key in state.review:
            state.review[key] = value
        else:
            raise ApiError("error_param", f"Unknown review-config key {key}.")
    return state.review


async def a_certificates(request: web.Request, state: State, body: dict) -> dict:
    certs = body.get("certificates") if "certificates" in body else [body]
    return {"certificates": [state.add_certificate(c) for c in certs]}


async def a_ban(request: web.Request, state: State, body: dict) -> dict:
    item = state.items.get(as_int(request.match_info["item_id"]) or -1)
    if item is None:
        raise ApiError("error_not_found", "Item not found.", 404)
    if item["item_status"] not in ("NORMAL", "UNLIST"):
        raise ApiError("error_busi_item_status_invalid", "Only live items can be banned.", 409)
    reason = body.get("reason") or {"code": "ADMIN_BAN", "message": "Sản phẩm vi phạm chính sách"}
    state.ban(item, reason)
    return {"item_id": item["item_id"], "item_status": item["item_status"], "ban_reason": item["ban_reason"]}


async def a_platform_delete(request: web.Request, state: State, body: dict) -> dict:
    item = state.items.get(as_int(request.match_info["item_id"]) or -1)
    if item is None:
        raise ApiError("error_not_found", "Item not found.", 404)
    state.before_write(item)
    item["item_status"] = "SHOPEE_DELETE"
    item["update_time"] = int(state.clock.now())
    state.jobs = [j for j in state.jobs if j["item_id"] != item["item_id"]]
    return {"item_id": item["item_id"], "item_status": item["item_status"]}


def _order_view(order: dict) -> dict:
    return {k: v for k, v in order.items() if k != "history"} | {"history": list(order["history"])}


async def a_create_order(request: web.Request, state: State, body: dict) -> dict:
    return _order_view(orders.create_order(state, body))


async def a_transition(request: web.Request, state: State, body: dict) -> dict:
    return _order_view(orders.transition(state, request.match_info["order_sn"], body.get("to")))


async def a_orders(request: web.Request, state: State, body: dict) -> dict:
    return {"orders": [_order_view(o) for o in state.orders.values()]}


async def a_deliveries(request: web.Request, state: State, body: dict) -> dict:
    q = request.query
    rows = [
        d
        for d in state.deliveries
        if ("event_id" not in q or d["event_id"] == q["event_id"]) and ("code" not in q or str(d["code"]) == q["code"])
    ]
    limit = as_int(q.get("limit", "1000")) or 1000
    return {"deliveries": rows[-limit:]}


async def a_push(request: web.Request, state: State, body: dict) -> dict:
    return {
        "configs": [{"partner_id": k, **v} for k, v in state.push_configs.items()],
        "queue": state.push_queue,
        "lost_push": state.lost_push,
    }


def _snapshot_path(body: dict) -> Path:
    path = body.get("path")
    if not isinstance(path, str) or not path:
        raise ApiError("error_param", "path is required")
    return Path(path)


async def a_snapshot(request: web.Request, state: State, body: dict) -> dict:
    path = _snapshot_path(body)
    async with request.app[DISPATCHER_KEY].lock:
        text = json.dumps(state.snapshot(), ensure_ascii=False)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ApiError("error_param", f"Cannot write {path}: {exc.strerror}.") from exc
    return {"path": str(path), "bytes": len(text.encode())}


async def a_restore(request: web.Request, state: State, body: dict) -> dict:
    path = _snapshot_path(body)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ApiError("error_param", f"Cannot read a snapshot from {path}.") from exc
    async with request.app[DISPATCHER_KEY].lock:
        state.restore(data)
    return {"path": str(path), "restored": True, "now": state.clock.now()}


async def a_limits(request: web.Request, state: State, body: dict) -> dict:
    for key, value in body.items():
        if key not in state.limits:
            raise ApiError("error_param", f"Unknown limit {key}.")
        state.limits[key] = bool(value) if key == "enabled" else float(value)
    state.buckets.clear()
    return state.limits


async def a_config(request: web.Request, state: State, body: dict) -> dict:
    for key, value in body.items():
        if key not in state.config:
            raise ApiError("error_param", f"Unknown config key {key}.")
        state.config[key] = value
    return state.config


# ---------------------------------------------------------------------- app


async def _scheduler(app: web.Application) -> None:
    """Background loop: due reviews, then due pushes (sent from here, never inline in the triggering request)."""
    while True:
        await asyncio.sleep(SCHEDULER_INTERVAL)
        state = app[STATE_KEY]
        try:
            state.run_due()
            await app[DISPATCHER_KEY].run_due(state, app[SESSION_KEY])
        except Exception as exc:  # keep the loop alive; the failure shows in the process output
            print(f"postmart scheduler error: {exc!r}", flush=True)


async def _start(app: web.Application) -> None:
    app[SESSION_KEY] = aiohttp.ClientSession()
    app[TASK_KEY] = asyncio.get_running_loop().create_task(_scheduler(app))


async def _stop(app: web.Application) -> None:
    task = app[TASK_KEY]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await app[SESSION_KEY].close()


def create_app(*, seed: int = 0, time_scale: float = 1.0, clock: Clock | None = None) -> web.Application:
    faults = fault_middleware(
        lambda request: request.app[STATE_KEY].faults, fault_error, shop_of=lambda request: request.query.get("shop_id")
    )
    # log_requests is outermost so the request log shows what a fault made of each call.
    app = web.Application(middlewares=[log_requests, faults], client_max_size=MAX_BODY)
    app[STATE_KEY] = State(seed=seed, time_scale=time_scale, clock=clock)
    app[DISPATCHER_KEY] = push.Dispatcher()
    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
    r = app.router
    r.add_route("*", "/api/v2/{tail:.*}", api_handler)
    r.add_get("/file/{image_id}", file_handler)
    r.add_post("/__admin/reset", admin(a_reset))
    r.add_get("/__admin/state", admin(a_state))
    r.add_get("/__admin/requests", admin(a_requests))
    r.add_post("/__admin/clock", admin(a_clock))
    r.add_post("/__admin/tick", admin(a_tick))
    r.add_post("/__admin/partners", admin(a_partners))
    r.add_post("/__admin/shops", admin(a_shops))
    r.add_post("/__admin/categories", admin(a_categories))
    r.add_post("/__admin/auth-codes", admin(a_auth_codes))
    r.add_post("/__admin/review/{item_id}", admin(a_review))
    r.add_put("/__admin/review-config", admin(a_review_config))
    r.add_post("/__admin/ocop-certificates", admin(a_certificates))
    r.add_post("/__admin/items/{item_id}/ban", admin(a_ban))
    r.add_post("/__admin/items/{item_id}/platform_delete", admin(a_platform_delete))
    r.add_post("/__admin/rate-limits", admin(a_limits))
    r.add_put("/__admin/limits", admin(a_limits))
    r.add_post("/__admin/config", admin(a_config))
    r.add_post("/__admin/orders", admin(a_create_order))
    r.add_get("/__admin/orders", admin(a_orders))
    r.add_post("/__admin/orders/{order_sn}/transition", admin(a_transition))
    r.add_get("/__admin/deliveries", admin(a_deliveries))
    r.add_get("/__admin/push", admin(a_push))
    r.add_post("/__admin/snapshot", admin(a_snapshot))
    r.add_post("/__admin/restore", admin(a_restore))
    register_admin_routes(app, lambda request: request.app[STATE_KEY].faults)
    return app
