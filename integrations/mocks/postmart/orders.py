"""Orders of the Postmart-like mock (shared/docs/marketplaces.md §2 "Orders (PM)").

Buyers are simulated through the admin API; sellers read orders with get_order_list (a time window of at most
15 days, ordered by (time field, order_sn), paged with an opaque cursor that expires) and get_order_detail.
Every status change bumps update_time and emits push code 3, so an order can move past a cursor or out of a
window while a client pages through: the polling hazard the adapter has to handle.
"""

from __future__ import annotations

import base64
import binascii
import json
import string
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import ApiError, as_int

if TYPE_CHECKING:
    from .state import State

TRANSITIONS: dict[str, set[str]] = {
    "UNPAID": {"READY_TO_SHIP", "IN_CANCEL"},
    "READY_TO_SHIP": {"PROCESSED", "IN_CANCEL"},
    "PROCESSED": {"SHIPPED"},
    "SHIPPED": {"TO_CONFIRM_RECEIVE"},
    "TO_CONFIRM_RECEIVE": {"COMPLETED"},
    "IN_CANCEL": {"CANCELLED"},
    "COMPLETED": {"TO_RETURN"},
    "CANCELLED": set(),
    "TO_RETURN": set(),
}
PAYMENT_METHODS = ("COD", "Bank Transfer")
OPTIONAL_DETAIL_FIELDS = ("item_list", "total_amount", "buyer_username", "payment_method")
SHIPPING_CARRIER = "VNPost Chuyển phát nhanh"
SN_ALPHABET = string.digits + "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _order_sn(state: State) -> str:
    day = datetime.fromtimestamp(state.clock.now(), UTC).strftime("%y%m%d")
    while True:
        sn = day + "".join(state.ids.choice(SN_ALPHABET) for _ in range(8))
        if sn not in state.orders:
            return sn


def _masked_buyer(state: State) -> str:
    name = f"nguoimua{state.ids.randrange(10_000):04d}"
    return f"{name[0]}{'*' * (len(name) - 2)}{name[-1]}"


def create_order(state: State, body: dict) -> dict:
    """Simulate a buyer purchase: lines must name NORMAL items of the shop with enough stock (else 409)."""
    shop_id = as_int(body.get("shop_id"))
    if shop_id is None or shop_id not in state.shops:
        raise ApiError("error_not_found", "Shop not found.", 404)
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise ApiError("error_param", "lines should be a non-empty list of {item_id, qty}.")
    payment = body.get("payment_method", "COD")
    if payment not in PAYMENT_METHODS:
        raise ApiError("error_param", "payment_method should be COD or Bank Transfer.")
    wanted: dict[int, int] = {}
    for line in lines:
        item_id = as_int(line.get("item_id")) if isinstance(line, dict) else None
        qty = as_int(line.get("qty", 1)) if isinstance(line, dict) else None
        if item_id is None or qty is None or qty < 1:
            raise ApiError("error_param", "Each line needs an item_id and a qty of at least 1.")
        wanted[item_id] = wanted.get(item_id, 0) + qty
    for item_id, qty in wanted.items():
        item = state.items.get(item_id)
        if item is None or item["shop_id"] != shop_id:
            raise ApiError("error_not_found", f"Item {item_id} not found in this shop.", 404)
        if item["item_status"] != "NORMAL":
            raise ApiError("error_item_not_available", f"Item {item_id} is {item['item_status']}, not NORMAL.", 409)
        if item["seller_stock"][0]["stock"] < qty:
            raise ApiError("error_stock_insufficient", f"Item {item_id} has not enough stock.", 409)
    now = int(state.clock.now())
    item_list = []
    for line in lines:
        item = state.items[as_int(line["item_id"])]
        qty = as_int(line.get("qty", 1))
        state.before_write(item)
        item["seller_stock"][0]["stock"] -= qty
        item_list.append(
            {
                "item_id": item["item_id"],
                "item_sku": item["item_sku"],
                "item_name": item["item_name"],
                "model_quantity_purchased": qty,
                "model_discounted_price": item["current_price"],
            }
        )
    status = "READY_TO_SHIP" if payment == "COD" else "UNPAID"
    order = {
        "order_sn": _order_sn(state),
        "shop_id": shop_id,
        "order_status": status,
        "create_time": now,
        "update_time": now,
        "currency": "VND",
        "total_amount": sum(i["model_quantity_purchased"] * i["model_discounted_price"] for i in item_list),
        "payment_method": payment,
        "shipping_carrier": SHIPPING_CARRIER,
        "buyer_username": _masked_buyer(state),
        "buyer_province": str(body.get("buyer_province") or ""),
        "item_list": item_list,
        "history": [{"status": status, "time": now}],
    }
    state.orders[order["order_sn"]] = order
    # A new order is pushed like a status change, so a receiver learns of it without polling.
    state.emit(3, shop_id, {"ordersn": order["order_sn"], "status": status, "update_time": now})
    return order


def transition(state: State, order_sn: str, to: Any) -> dict:
    order = state.orders.get(order_sn)
    if order is None:
        raise ApiError("error_not_found", "Order not found.", 404)
    if to not in TRANSITIONS:
        raise ApiError("error_param", f"Unknown order status {to!r}.")
    if to not in TRANSITIONS[order["order_status"]]:
        raise ApiError("error_order_status", f"Illegal transition {order['order_status']} -> {to}.", 409)
    now = int(state.clock.now())
    if to == "CANCELLED":
        # Cancelled orders give their stock back, as marketplaces do.
        for line in order["item_list"]:
            item = state.items.get(line["item_id"])
            if item is not None:
                state.before_write(item)
                item["seller_stock"][0]["stock"] += line["model_quantity_purchased"]
    order["order_status"] = to
    order["update_time"] = now
    order["history"].append({"status": to, "time": now})
    state.emit(3, order["shop_id"], {"ordersn": order_sn, "status": to, "update_time": now})
    return order


# ---------------------------------------------------------------------- polling API


def _encode_cursor(field: str, key: tuple[int, str], issued: int) -> str:
    raw = json.dumps({"f": field, "t": key[0], "sn": key[1], "iat": issued}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(state: State, cursor: str, field: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        key = (int(data["t"]), str(data["sn"]))
        issued, cursor_field = int(data["iat"]), data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ApiError("error_param", "Invalid cursor.") from exc
    if cursor_field != field:
        raise ApiError("error_param", "The cursor belongs to another time_range_field.")
    if state.clock.now() - issued > float(state.config["cursor_ttl"]):
        raise ApiError("error_param", "cursor expired")
    return key


def _optional(query: Any) -> set[str]:
    return {f.strip() for f in query.get("response_optional_fields", "").split(",") if f.strip()}


def order_list(state: State, shop_id: int, query: Any) -> dict:
    field = query.get("time_range_field", "")
    if field not in ("create_time", "update_time"):
        raise ApiError("error_param", "time_range_field should be create_time or update_time.")
    t_from, t_to = as_int(query.get("time_from")), as_int(query.get("time_to"))
    if t_from is None or t_to is None:
        raise ApiError("error_param", "time_from and time_to are required.")
    if t_from >= t_to or t_to - t_from > int(state.config["order_window_max_s"]):
        raise ApiError(
            "order.order_list_invalid_time",
            "time_from should be before time_to and the window at most 15 days.",
        )
    size = as_int(query.get("page_size", "20"))
    if size is None or not 1 <= size <= 100:
        raise ApiError("error_param", "page_size should be between 1 and 100.")
    status = query.get("order_status")
    if status is not None and status not in TRANSITIONS:
        raise ApiError("error_param", "Invalid order_status.")
    cursor = query.get("cursor", "")
    after = _decode_cursor(state, cursor, field) if cursor else None
    rows = sorted(
        (
            o
            for o in state.orders.values()
            if o["shop_id"] == shop_id
            and t_from <= o[field] <= t_to
            and (status is None or o["order_status"] == status)
        ),
        key=lambda o: (o[field], o["order_sn"]),
    )
    if after is not None:
        rows = [o for o in rows if (o[field], o["order_sn"]) > after]
    page, more = rows[:size], len(rows) > size
    with_status = "order_status" in _optional(query)
    return {
        "more": more,
        "next_cursor": _encode_cursor(field, (page[-1][field], page[-1]["order_sn"]), int(state.clock.now()))
        if more
        else "",
        "order_list": [
            {"order_sn": o["order_sn"], **({"order_status": o["order_status"]} if with_status else {})} for o in page
        ],
    }


def order_detail(state: State, shop_id: int, query: Any) -> dict:
    sns = [s.strip() for s in query.get("order_sn_list", "").split(",") if s.strip()]
    if not 1 <= len(sns) <= 50:
        raise ApiError("error_param", "order_sn_list should contain 1 to 50 order_sn.")
    wanted = _optional(query)
    out = []
    for sn in sns:
        order = state.orders.get(sn)
        if order is None or order["shop_id"] != shop_id:
            continue
        view = {
            "order_sn": order["order_sn"],
            "order_status": order["order_status"],
            "create_time": order["create_time"],
            "update_time": order["update_time"],
            "currency": order["currency"],
            "shipping_carrier": order["shipping_carrier"],
        }
        for name in OPTIONAL_DETAIL_FIELDS:
            if name in wanted:
                view[name] = order[name]
        out.append(view)
    return {"order_list": out}
