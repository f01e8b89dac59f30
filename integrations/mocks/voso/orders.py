"""Orders of the Voso-like mock (marketplaces.md §3 "Orders (VS)"): the simulated buyer purchase behind
POST /__admin/orders, the status graph, and the two read models (seek-paginated search, per-shop change feed).

Functions take the mock's `State` (app.py) and use only its clock helpers, id generator, products, `emit` and the
`orders` / `order_feeds` dicts, so the HTTP handlers in app.py stay thin.

Change-feed rules (the parts §3 leaves to the mock):
* Every order change (creation included) appends `{seq, orderId, status, version, updatedAt}` to its shop's feed;
  `seq` starts at 1 per shop and never repeats.
* Compaction: a change recorded more than 24 h ago (virtual clock) is dropped when a later change of the same order
  exists. The latest change of every order is kept for ever, so replaying from any valid cursor still yields the
  current status of every order changed after it.
* Cursor expiry: `after=N` (N ≥ 1) is a cursor the mock handed out, either as a change's `seq` or as `lastSeq`.
  Its age is the time since the mock last handed it out (or, if it never did, since change N was recorded).
  Older than 72 h gives 410 CURSOR_EXPIRED, whether or not change N itself has since been compacted away. A reader
  that keeps polling a quiet shop gets the same `lastSeq` back, which renews it, so only a reader that stayed away
  for more than 72 h has to resynchronise through search. `after=0` (from the start) never expires.
"""

import base64
import binascii
import datetime as dt
import json
import re

from .errors import ApiError, validation_error

ORDER_STATUSES = (
    "unpaid",
    "pending",
    "ready_to_ship",
    "shipped",
    "delivered",
    "canceled",
    "failed_delivery",
    "returned",
)
TRANSITIONS = {
    "unpaid": ("pending", "canceled"),
    "pending": ("ready_to_ship", "canceled"),
    "ready_to_ship": ("shipped",),
    "shipped": ("delivered", "failed_delivery"),
    "failed_delivery": ("returned",),
    "delivered": ("returned",),
    "canceled": (),
    "returned": (),
}
PAYMENT_METHODS = ("COD", "VIETTELPAY", "BANK_TRANSFER")
ORDER_KEYS = (
    "orderId",
    "status",
    "createdAt",
    "updatedAt",
    "version",
    "paymentMethod",
    "totalAmount",
    "shippingFee",
    "currency",
    "items",
    "buyer",
)
COMPACT_AFTER_S = 24 * 3600
CURSOR_TTL_S = 72 * 3600
SEARCH_WINDOW_S = 7 * 86400
MAX_QUANTITY = 999
SHIPPING_FEE_SAME_PROVINCE = 15000
SHIPPING_FEE_OTHER_PROVINCE = 30000
DEFAULT_BUYER_NAME = "Nguyễn Văn An"


def public_order(order: dict) -> dict:
    """The order exactly as §3 shapes it (the shop and the millisecond sort key stay internal)."""
    return json.loads(json.dumps({k: order[k] for k in ORDER_KEYS}))


def mask_name(name: str) -> str:
    """ "Nguyễn Văn An" -> "N***** V** A*": buyers' names are never exposed to sellers in full."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _now_ms(state) -> int:
    return int(state.now() * 1000)


def _iso_ms(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------------ creation


def _resolve(state, ref: dict, shop_id, prefix: str, errors: list[dict]) -> dict | None:
    """Finds the product an order line names by productId, externalId or sellerSku (non-deleted products only)."""
    keys = [k for k in ("productId", "externalId", "sellerSku") if ref.get(k) is not None]
    if len(keys) != 1:
        message = "exactly one of productId|externalId|sellerSku"
        errors.append({"field": prefix + "productId", "code": "REFERENCE_REQUIRED", "message": message})
        return None
    key = keys[0]
    candidates = [
        p
        for p in state.products.values()
        if p.get(key) == ref[key] and p["status"] != "DELETED" and (shop_id is None or p["shopId"] == shop_id)
    ]
    if not candidates:
        raise ApiError(404, "PRODUCT_NOT_FOUND", f"no product with {key}={ref[key]!r}", {"field": prefix + key})
    if len({p["shopId"] for p in candidates}) > 1:
        errors.append({"field": "shopId", "code": "REQUIRED", "message": f"{key} is used by several shops"})
        return None
    return candidates[0]


def create_order(state, body: dict) -> dict:
    """Simulates a buyer purchase: checks every line, then reserves stock and records the order in one step.

    Body: `{shopId?, productId|externalId|sellerSku, quantity}` for one line, or `{shopId?, items:[{…, quantity}]}`,
    plus `paymentMethod`, `buyer {provinceCode, name?}`, optional `shippingFee` and initial `status`
    (`unpaid`|`pending`; by default COD orders start `pending`, prepaid ones `unpaid`).
    """
    errors: list[dict] = []
    shop_id = body.get("shopId")
    if shop_id is not None and shop_id not in state.shops:
        errors.append({"field": "shopId", "code": "SHOP_NOT_FOUND", "message": "unknown shop"})
        shop_id = None
    lines = body.get("items")
    if lines is None:
        lines = [{k: body[k] for k in ("productId", "externalId", "sellerSku", "quantity") if k in body}]
    elif not isinstance(lines, list) or not lines or not all(isinstance(line, dict) for line in lines):
        errors.append({"field": "items", "code": "INVALID_TYPE", "message": "a non-empty list of order lines"})
        lines = []
    for i, line in enumerate(lines):
        qty = line.get("quantity")
        if not _is_int(qty) or not 1 <= qty <= MAX_QUANTITY:
            field = f"items[{i}].quantity" if "items" in body else "quantity"
            errors.append({"field": field, "code": "OUT_OF_RANGE", "message": f"integer 1–{MAX_QUANTITY}"})
    method = body.get("paymentMethod")
    if method not in PAYMENT_METHODS:
        errors.append({"field": "paymentMethod", "code": "INVALID_VALUE", "message": "|".join(PAYMENT_METHODS)})
    buyer = body.get("buyer")
    if not isinstance(buyer, dict):
        errors.append({"field": "buyer", "code": "REQUIRED", "message": "buyer {provinceCode, name?} is required"})
        buyer = {}
    province = buyer.get("provinceCode")
    if not (isinstance(province, str) and re.fullmatch(r"\d{2}", province)):
        errors.append({"field": "buyer.provinceCode", "code": "INVALID_FORMAT", "message": "2-digit province code"})
    name = buyer.get("name", DEFAULT_BUYER_NAME)
    if not isinstance(name, str) or not name.strip():
        errors.append({"field": "buyer.name", "code": "INVALID_TYPE", "message": "non-empty string"})
    fee = body.get("shippingFee")
    if fee is not None and (not _is_int(fee) or not 0 <= fee <= 10_000_000):
        errors.append({"field": "shippingFee", "code": "OUT_OF_RANGE", "message": "integer VND 0–10,000,000"})
    initial = body.get("status")
    if initial is not None and initial not in ("unpaid", "pending"):
        errors.append({"field": "status", "code": "INVALID_VALUE", "message": "unpaid|pending"})
    if errors:
        raise validation_error(errors)

    prefixes = [f"items[{i}]." if "items" in body else "" for i in range(len(lines))]
    products = [_resolve(state, line, shop_id, prefix, errors) for line, prefix in zip(lines, prefixes, strict=True)]
    if not errors and len({p["shopId"] for p in products}) > 1:
        errors.append({"field": "items", "code": "MIXED_SHOPS", "message": "all lines must belong to one shop"})
    if errors:
        raise validation_error(errors)
    wanted: dict[str, int] = {}
    for p, line in zip(products, lines, strict=True):
        if p["status"] != "ACTIVE":
            raise ApiError(
                409,
                "PRODUCT_NOT_ACTIVE",
                f"Sản phẩm không bán được (hiện: {p['status']}) / product not on sale",
                {"productId": p["productId"], "status": p["status"]},
            )
        wanted[p["productId"]] = wanted.get(p["productId"], 0) + line["quantity"]
    for pid, qty in wanted.items():
        available = state.products[pid].get("stock", 0)
        if qty > available:
            raise ApiError(
                409,
                "INSUFFICIENT_STOCK",
                "Không đủ hàng / not enough stock",
                {"productId": pid, "available": available, "requested": qty},
            )

    # Every check passed: from here on nothing can fail, so the order and the stock move together.
    shop_id = products[0]["shopId"]
    items = [
        {
            "productId": p["productId"],
            "externalId": p.get("externalId"),
            "sellerSku": p.get("sellerSku"),
            "quantity": line["quantity"],
            "unitPrice": p.get("salePrice") or p["price"],
        }
        for p, line in zip(products, lines, strict=True)
    ]
    if fee is None:
        origin = state.warehouses.get(products[0].get("warehouseId"), {}).get("provinceCode")
        fee = SHIPPING_FEE_SAME_PROVINCE if origin == province else SHIPPING_FEE_OTHER_PROVINCE
    now_ms = _now_ms(state)
    order = {
        "orderId": state.ids.next("VSO", 8),
        "status": initial or ("pending" if method == "COD" else "unpaid"),
        "createdAt": _iso_ms(now_ms),
        "updatedAt": _iso_ms(now_ms),
        "version": 1,
        "paymentMethod": method,
        "totalAmount": sum(i["quantity"] * i["unitPrice"] for i in items) + fee,
        "shippingFee": fee,
        "currency": "VND",
        "items": items,
        "buyer": {"nameMasked": mask_name(name), "provinceCode": province},
        "shopId": shop_id,
        "updatedMs": now_ms,
    }
    state.orders[order["orderId"]] = order
    _record(state, order, "order.created")
    for pid, qty in wanted.items():
        _move_stock(state, state.products[pid], -qty)
    return order


def _move_stock(state, p: dict, delta: int) -> None:
    # An order changes the product like a price-stock update does: new version, product.stock_changed.
    state.before_write(p)
    p["stock"] = p.get("stock", 0) + delta
    p["version"] += 1
    p["updatedAt"], p["updatedEpoch"] = state.iso(), state.now()
    data = {"productId": p["productId"], "externalId": p.get("externalId"), "stock": p["stock"]}
    state.emit(p["shopId"], "product.stock_changed", {**data, "version": p["version"]})


# ------------------------------------------------------------------------------------------------ transitions


def transition_order(state, order_id: str, to) -> dict:
    """Moves an order along the §3 graph; a cancellation puts the reserved stock back (a return does not: the
    goods come back through the warehouse, not onto the shelf)."""
    order = state.orders.get(order_id)
    if order is None:
        raise ApiError(404, "ORDER_NOT_FOUND", "Không tìm thấy đơn hàng / order not found")
    if to not in ORDER_STATUSES:
        raise validation_error([{"field": "to", "code": "INVALID_VALUE", "message": "|".join(ORDER_STATUSES)}])
    allowed = TRANSITIONS[order["status"]]
    if to not in allowed:
        raise ApiError(
            409,
            "INVALID_TRANSITION",
            f"Không thể chuyển {order['status']} → {to} / illegal transition",
            {"from": order["status"], "to": to, "allowed": list(allowed)},
        )
    now_ms = max(_now_ms(state), order["updatedMs"])  # never backwards, even if an admin moved the clock back
    order["status"] = to
    order["version"] += 1
    order["updatedMs"] = now_ms
    order["updatedAt"] = _iso_ms(now_ms)
    _record(state, order, "order.status_updated")
    if to == "canceled":
        for item in order["items"]:
            p = state.products.get(item["productId"])
            if p is not None and p["status"] != "DELETED":
                _move_stock(state, p, item["quantity"])
    return order


def _record(state, order: dict, event_type: str) -> None:
    feed = shop_feed(state, order["shopId"])
    feed["seq"] += 1
    change = {
        "seq": feed["seq"],
        "orderId": order["orderId"],
        "status": order["status"],
        "version": order["version"],
        "updatedAt": order["updatedAt"],
    }
    feed["changes"].append({**change, "recordedAt": state.now()})
    feed["issued"][feed["seq"]] = state.now()
    data = {k: order[k] for k in ("orderId", "status", "version", "updatedAt")}
    state.emit(order["shopId"], event_type, data)


# ------------------------------------------------------------------------------------------------ change feed


def shop_feed(state, shop_id: str) -> dict:
    """`{seq: last seq issued, changes: [...], issued: {seq: when the mock last handed that cursor out}}`."""
    return state.order_feeds.setdefault(shop_id, {"seq": 0, "changes": [], "issued": {}})


def compact(state) -> int:
    """Drops every change older than 24 h that a later change of the same order supersedes. Returns the count."""
    horizon, dropped = state.now() - COMPACT_AFTER_S, 0
    for feed in state.order_feeds.values():
        latest = {c["orderId"]: c["seq"] for c in feed["changes"]}
        kept = [c for c in feed["changes"] if c["recordedAt"] >= horizon or latest[c["orderId"]] == c["seq"]]
        dropped += len(feed["changes"]) - len(kept)
        feed["changes"] = kept
    return dropped


def read_changes(state, shop_id: str, query) -> dict:
    errors = []
    try:
        after = int(query.get("after", "0"))
    except ValueError:
        after = None
    feed = shop_feed(state, shop_id)
    if after is None or not 0 <= after <= feed["seq"]:
        errors.append({"field": "after", "code": "OUT_OF_RANGE", "message": f"0–{feed['seq']} (a seq from this feed)"})
    try:
        limit = int(query.get("limit", "100"))
        if not 1 <= limit <= 200:
            raise ValueError
    except ValueError:
        errors.append({"field": "limit", "code": "OUT_OF_RANGE", "message": "1–200"})
    if errors:
        raise validation_error(errors)
    compact(state)
    now = state.now()
    if after > 0:
        age = now - feed["issued"].get(after, 0.0)
        if age > CURSOR_TTL_S:
            raise ApiError(
                410,
                "CURSOR_EXPIRED",
                "Con trỏ đã hết hạn, hãy đồng bộ lại qua tìm kiếm / cursor expired, resync through GET /v2/orders",
                {"after": after, "ageSeconds": int(age), "maxAgeSeconds": CURSOR_TTL_S},
            )
    pending = [c for c in feed["changes"] if c["seq"] > after]
    page = pending[:limit]
    last_seq = page[-1]["seq"] if page else after
    for c in page:
        feed["issued"][c["seq"]] = now
    if last_seq:
        feed["issued"][last_seq] = now
    changes = [{k: c[k] for k in ("seq", "orderId", "status", "version", "updatedAt")} for c in page]
    return {"changes": changes, "lastSeq": last_seq, "hasMore": len(pending) > limit}


# ------------------------------------------------------------------------------------------------ search


def _parse_iso(query, field: str, errors: list[dict]) -> int | None:
    raw = query.get(field)
    if raw is None or raw == "":
        return None
    # An unencoded "+07:00" in a query string arrives as " 07:00": take it back rather than refuse the offset.
    raw = re.sub(r" (\d{2}(:?\d{2})?)$", r"+\1", raw)
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        errors.append({"field": field, "code": "INVALID_FORMAT", "message": "ISO 8601 with offset expected"})
        return None
    if value.tzinfo is None:
        errors.append({"field": field, "code": "INVALID_FORMAT", "message": "a UTC offset (Z or +07:00) is required"})
        return None
    return round(value.timestamp() * 1000)


def _encode_cursor(order: dict) -> str:
    raw = json.dumps([order["updatedMs"], order["orderId"]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    ms, order_id = json.loads(raw)
    if not isinstance(ms, int) or not isinstance(order_id, str):
        raise ValueError("bad cursor")
    return ms, order_id


def search_orders(state, shop_id: str, query) -> dict:
    """`updatedFrom` ≤ updatedAt ≤ `updatedTo`, seek-paged on (updatedAt, orderId).

    Both ends are included: windows sharing a boundary give a harmless duplicate rather than a miss. `updatedTo`
    defaults to now. A window over 7 days names `updatedTo` when it was sent, else `updatedFrom`. Like PM, an order
    updated while a client pages moves behind the cursor: it shows up again on a later page if still inside the
    window, or drops out of it (the hazard adapters must overlap windows for).
    """
    errors: list[dict] = []
    start = _parse_iso(query, "updatedFrom", errors)
    if query.get("updatedFrom") in (None, ""):
        errors.append({"field": "updatedFrom", "code": "REQUIRED", "message": "updatedFrom is required"})
    end = _parse_iso(query, "updatedTo", errors)
    end_field = "updatedTo" if query.get("updatedTo") else "updatedFrom"
    if end is None and not query.get("updatedTo"):
        end = _now_ms(state)
    if start is not None and end is not None:
        if end < start:
            errors.append({"field": "updatedTo", "code": "INVALID_RANGE", "message": "updatedTo < updatedFrom"})
        elif end - start > SEARCH_WINDOW_S * 1000:
            errors.append(
                {"field": end_field, "code": "WINDOW_TOO_LARGE", "message": "updatedTo − updatedFrom ≤ 7 days"}
            )
    status = query.get("status")
    if status and status not in ORDER_STATUSES:
        errors.append({"field": "status", "code": "INVALID_VALUE", "message": "|".join(ORDER_STATUSES)})
    try:
        page_size = int(query.get("pageSize", "50"))
        if not 1 <= page_size <= 100:
            raise ValueError
    except ValueError:
        errors.append({"field": "pageSize", "code": "OUT_OF_RANGE", "message": "1–100"})
    seek = None
    if query.get("cursor"):
        try:
            seek = _decode_cursor(query["cursor"])
        except (ValueError, TypeError, binascii.Error):
            errors.append({"field": "cursor", "code": "INVALID_FORMAT", "message": "bad cursor"})
    if errors:
        raise validation_error(errors)
    matching = sorted(
        (
            o
            for o in state.orders.values()
            if o["shopId"] == shop_id
            and start <= o["updatedMs"] <= end
            and (not status or o["status"] == status)
            and (seek is None or (o["updatedMs"], o["orderId"]) > seek)
        ),
        key=lambda o: (o["updatedMs"], o["orderId"]),
    )
    page = matching[:page_size]
    more = len(matching) > page_size
    return {"items": [public_order(o) for o in page], "nextCursor": _encode_cursor(page[-1]) if more else None}


def get_order(state, shop_id: str, order_id: str) -> dict:
    order = state.orders.get(order_id)
    if order is None or order["shopId"] != shop_id:
        raise ApiError(404, "ORDER_NOT_FOUND", "Không tìm thấy đơn hàng / order not found")
    return order
