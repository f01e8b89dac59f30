"""Orders, pushes, lost pushes, deliveries and snapshots of the Postmart-like mock (docs/marketplaces.md §2).

The helpers here (a loopback push receiver, signed public calls, live items and orders) are shared with
test_mock_faults.py.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time

import pytest
from aiohttp import web

from integrations.mocks.postmart import create_app
from tests.integrations.test_postmart_mock import (
    PARTNER_ID,
    PARTNER_KEY,
    SHOP_ID,
    T0,
    Shop,
    admin,
    authorize,
    ocop_attributes,
    sign,
)

DAY = 86400
# time_scale of these tests: 1/64 keeps the scaled retry delays exact binary fractions, so "due" compares exactly.
SCALE = 1 / 64
R1, R2, R3 = 60 * SCALE, 300 * SCALE, 1800 * SCALE  # the three push retries, after each failed attempt


class Receiver:
    """A loopback push receiver (aiohttp test server) that checks what a real adapter must check."""

    def __init__(self, clock):
        self.clock = clock  # the mock's virtual "now", to judge push timestamps
        self.url = ""
        self.pushes = []
        self.verifications = []
        self.status = 200
        self.body = b""
        self.delay = 0.0
        self.verify_status = 200
        self.check_signature = True
        self.check_timestamp = True

    def app(self):
        app = web.Application()
        app.router.add_post("/push", self.handle)
        return app

    async def handle(self, request):
        raw = (await request.read()).decode()
        data = json.loads(raw)
        auth = request.headers.get("Authorization", "")
        if data.get("code") == 0:
            self.verifications.append({"json": data, "auth": auth})
            return web.Response(status=self.verify_status)
        entry = {"json": data, "raw": raw, "auth": auth, "answer": None}
        self.pushes.append(entry)
        if self.delay:
            await asyncio.sleep(self.delay)
        expected = hmac.new(PARTNER_KEY.encode(), f"{self.url}|{raw}".encode(), hashlib.sha256).hexdigest()
        if self.check_signature and not hmac.compare_digest(expected, auth):
            entry["answer"] = 401
            return web.Response(status=401, text="bad signature")
        if self.check_timestamp and abs(data["timestamp"] - self.clock()) > 300:
            entry["answer"] = 400
            return web.Response(status=400, text="stale timestamp")
        entry["answer"] = self.status
        return web.Response(status=self.status, body=self.body)

    def codes(self):
        return [p["json"]["code"] for p in self.pushes]

    def accepted(self):
        return [p["json"] for p in self.pushes if p["answer"] == 200]


class Env:
    """A seeded mock with an authorized shop, and a receiver subscribed to pushes 3 and 6."""

    def __init__(self, shop, receiver):
        self.shop = shop
        self.client = shop.client
        self.receiver = receiver


async def public_call(shop, method, path, body=None, params=None):
    """A public (partner-only signed) API call at the shop's virtual timestamp."""
    now = int(shop.now)
    q = {"partner_id": PARTNER_ID, "timestamp": now, "sign": sign(path, now)}
    query = [(k, str(v)) for k, v in q.items()] + list(params or [])
    resp = await shop.client.request(method, path, params=query, json=body)
    return resp.status, await resp.json()


async def mock_client(aiohttp_client, time_scale=SCALE, seed=7):
    client = await aiohttp_client(create_app(seed=seed, time_scale=time_scale))
    await admin(client, "POST", "/clock", {"freeze_at": T0})
    await admin(client, "POST", "/partners", {"partner_id": PARTNER_ID, "partner_key": PARTNER_KEY})
    await admin(client, "POST", "/shops", {"shop_id": SHOP_ID})
    await admin(client, "POST", "/rate-limits", {"enabled": False})
    return client


async def make_env(aiohttp_client, aiohttp_server, subscribe=True, time_scale=SCALE):
    client = await mock_client(aiohttp_client, time_scale=time_scale)
    shop = Shop(client, await authorize(client))
    receiver = Receiver(lambda: shop.now)
    server = await aiohttp_server(receiver.app())
    receiver.url = str(server.make_url("/push"))
    if subscribe:
        status, body = await public_call(
            shop,
            "POST",
            "/api/v2/push/set_app_push_config",
            {"callback_url": receiver.url, "set_push_config_on": [3, 6], "set_push_config_off": []},
        )
        assert status == 200, body
    return Env(shop, receiver)


@pytest.fixture
async def env(aiohttp_client, aiohttp_server):
    return await make_env(aiohttp_client, aiohttp_server)


async def live_item(shop, n=1, stock=40):
    """An approved (NORMAL) honey item with its own SKU and name."""
    status, body, _ = await shop.add_item(
        item_sku=f"HONEY-{n:03d}", item_name=f"Mật ong bạc hà Mèo Vạc lô {n}", seller_stock=[{"stock": stock}]
    )
    assert status == 200, body
    item_id = body["response"]["item_id"]
    await admin(shop.client, "POST", f"/review/{item_id}", {"decision": "approve"})
    return item_id


async def new_order(client, item_id, qty=1, payment="COD"):
    return await admin(
        client,
        "POST",
        "/orders",
        {
            "shop_id": SHOP_ID,
            "lines": [{"item_id": item_id, "qty": qty}],
            "payment_method": payment,
            "buyer_province": "Hà Giang",
        },
    )


async def move(client, order_sn, to):
    resp = await client.post(f"/__admin/orders/{order_sn}/transition", json={"to": to})
    return resp.status, await resp.json()


async def order_list(shop, **params):
    q = {"time_range_field": "update_time", "page_size": "100", **params}
    status, body, _ = await shop.call("GET", "/api/v2/order/get_order_list", params=list(q.items()))
    return status, body


async def deliveries(client, **params):
    resp = await client.get("/__admin/deliveries", params=params)
    return (await resp.json())["deliveries"]


async def lost(shop):
    status, body = await public_call(shop, "GET", "/api/v2/push/get_lost_push_message")
    assert status == 200, body
    return body["response"]


def expected_signature(url, raw):
    return hmac.new(PARTNER_KEY.encode(), f"{url}|{raw}".encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------- orders


async def test_cod_order_starts_ready_to_ship_and_takes_stock(env):
    # given a live item with 40 in stock
    item_id = await live_item(env.shop)
    # when a buyer orders 3 with cash on delivery
    order = await new_order(env.client, item_id, qty=3)
    # then the order is READY_TO_SHIP with an integer VND total, and the stock went down
    assert order["order_status"] == "READY_TO_SHIP"
    assert order["total_amount"] == 3 * 250000 and order["currency"] == "VND"
    assert order["create_time"] == order["update_time"] == T0
    assert (await env.shop.base_info(item_id))["seller_stock"] == [{"stock": 37}]


async def test_bank_transfer_order_starts_unpaid(env):
    # given a live item
    item_id = await live_item(env.shop)
    # when it is bought by bank transfer
    order = await new_order(env.client, item_id, payment="Bank Transfer")
    # then the order waits for payment
    assert order["order_status"] == "UNPAID"


@pytest.mark.parametrize(("approve", "qty"), [(False, 1), (True, 41)])
async def test_order_of_item_not_normal_or_short_of_stock_is_409(env, approve, qty):
    # given an item still REVIEWING, or a live item with 40 in stock
    _, added, _ = await env.shop.add_item(seller_stock=[{"stock": 40}])
    item_id = added["response"]["item_id"]
    if approve:
        await admin(env.client, "POST", f"/review/{item_id}", {"decision": "approve"})
    # when a buyer orders it
    resp = await env.client.post(
        "/__admin/orders",
        json={"shop_id": SHOP_ID, "lines": [{"item_id": item_id, "qty": qty}], "payment_method": "COD"},
    )
    # then 409 and the stock is untouched
    assert resp.status == 409, await resp.text()
    assert (await env.shop.base_info(item_id))["seller_stock"] == [{"stock": 40}]
    assert (await admin(env.client, "GET", "/orders"))["orders"] == []


async def test_transitions_follow_the_graph_and_bump_update_time(env):
    # given an unpaid order
    item_id = await live_item(env.shop)
    order = await new_order(env.client, item_id, payment="Bank Transfer")
    sn = order["order_sn"]
    # when it walks the whole happy path, one virtual minute per step
    path = ["READY_TO_SHIP", "PROCESSED", "SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED", "TO_RETURN"]
    seen = []
    for status in path:
        await env.shop.tick(60)
        code, moved = await move(env.client, sn, status)
        assert code == 200, moved
        seen.append((moved["order_status"], moved["update_time"]))
    # then each step is recorded with its own update_time
    assert seen == [(s, T0 + 60 * i) for i, s in enumerate(path, start=1)]
    # and an illegal move is 409 and changes nothing
    code, body = await move(env.client, sn, "SHIPPED")
    assert code == 409 and "TO_RETURN -> SHIPPED" in body["message"]


@pytest.mark.parametrize(
    ("steps", "to", "allowed"),
    [
        ([], "IN_CANCEL", True),
        (["PROCESSED"], "IN_CANCEL", False),
        (["PROCESSED"], "COMPLETED", False),
        (["IN_CANCEL"], "CANCELLED", True),
        (["IN_CANCEL"], "READY_TO_SHIP", False),
    ],
)
async def test_cancel_is_only_possible_before_processing(env, steps, to, allowed):
    # given a COD order (READY_TO_SHIP) moved through `steps`
    item_id = await live_item(env.shop)
    sn = (await new_order(env.client, item_id))["order_sn"]
    for step in steps:
        assert (await move(env.client, sn, step))[0] == 200
    # when it is moved to `to`
    code, _ = await move(env.client, sn, to)
    # then only legal moves pass
    assert code == (200 if allowed else 409)


async def test_cancelled_order_gives_stock_back(env):
    # given an order of 5 out of 40
    item_id = await live_item(env.shop)
    sn = (await new_order(env.client, item_id, qty=5))["order_sn"]
    # when it is cancelled
    await move(env.client, sn, "IN_CANCEL")
    await move(env.client, sn, "CANCELLED")
    # then the stock is back to 40
    assert (await env.shop.base_info(item_id))["seller_stock"] == [{"stock": 40}]


@pytest.mark.parametrize(
    ("time_from", "time_to", "ok"),
    [
        (T0 - 15 * DAY, T0, True),
        (T0 - 15 * DAY - 1, T0, False),
        (T0, T0, False),
        (T0 + 10, T0, False),
    ],
)
async def test_order_list_window_is_at_most_15_days_and_ordered(env, time_from, time_to, ok):
    # given a window
    # when orders are listed in it
    status, body = await order_list(env.shop, time_from=str(time_from), time_to=str(time_to))
    # then a window over 15 days or not increasing is order.order_list_invalid_time
    if ok:
        assert (status, body["error"]) == (200, ""), body
    else:
        assert (status, body["error"]) == (400, "order.order_list_invalid_time")


async def test_order_list_pages_by_time_then_order_sn_with_cursor(env):
    # given 5 orders: two in the same second, the others 10 s apart
    item_id = await live_item(env.shop)
    created = []
    for step in (0, 0, 10, 10, 10):
        await env.shop.tick(step)
        created.append(await new_order(env.client, item_id))
    expected = [o["order_sn"] for o in sorted(created, key=lambda o: (o["create_time"], o["order_sn"]))]
    # when they are listed two by two
    pages, cursor = [], ""
    while True:
        params = {"time_range_field": "create_time", "time_from": str(T0 - 60), "time_to": str(T0 + 60)}
        status, body = await order_list(env.shop, page_size="2", cursor=cursor, **params)
        assert status == 200, body
        pages.append([o["order_sn"] for o in body["response"]["order_list"]])
        if not body["response"]["more"]:
            assert body["response"]["next_cursor"] == ""
            break
        cursor = body["response"]["next_cursor"]
        assert cursor and json.loads(base64.urlsafe_b64decode(cursor))["sn"] == pages[-1][-1]
    # then the pages follow (create_time, order_sn) without gap or repeat
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [sn for page in pages for sn in page] == expected


@pytest.mark.parametrize("page_size", ["0", "101", "x"])
async def test_order_list_page_size_is_1_to_100(env, page_size):
    # when a bad page_size is asked
    status, body = await order_list(env.shop, time_from=str(T0 - 60), time_to=str(T0), page_size=page_size)
    # then error_param
    assert (status, body["error"]) == (400, "error_param")


async def test_order_list_cursor_expires_after_ten_virtual_minutes(env):
    # given a first page and its cursor
    item_id = await live_item(env.shop)
    for _ in range(3):
        await new_order(env.client, item_id)
    window = {"time_from": str(T0 - 60), "time_to": str(T0 + 60)}
    _, first = await order_list(env.shop, page_size="1", **window)
    cursor = first["response"]["next_cursor"]
    # when it is used after 600 s, then after 601 s
    await env.shop.tick(600)
    fresh_status, fresh = await order_list(env.shop, page_size="1", cursor=cursor, **window)
    await env.shop.tick(1)
    status, body = await order_list(env.shop, page_size="1", cursor=cursor, **window)
    # then it works at 600 s and is expired at 601 s; a forged cursor is refused too
    assert fresh_status == 200 and fresh["response"]["order_list"]
    assert (status, body["error"], body["message"]) == (400, "error_param", "cursor expired")
    status, body = await order_list(env.shop, page_size="1", cursor="not-a-cursor", **window)
    assert (status, body["error"]) == (400, "error_param")


async def test_order_status_filter_and_optional_status_field(env):
    # given one order per status READY_TO_SHIP and UNPAID
    item_id = await live_item(env.shop)
    cod = await new_order(env.client, item_id)
    await new_order(env.client, item_id, payment="Bank Transfer")
    window = {"time_from": str(T0 - 60), "time_to": str(T0 + 60)}
    # when listing READY_TO_SHIP only, asking for the status field
    _, body = await order_list(
        env.shop, order_status="READY_TO_SHIP", response_optional_fields="order_status", **window
    )
    _, plain = await order_list(env.shop, **window)
    # then only the COD order is listed, with its status; without the option only order_sn comes back
    assert body["response"]["order_list"] == [{"order_sn": cod["order_sn"], "order_status": "READY_TO_SHIP"}]
    assert all(set(o) == {"order_sn"} for o in plain["response"]["order_list"])
    assert len(plain["response"]["order_list"]) == 2


async def test_order_updated_while_paging_leaves_the_window_and_an_overlapping_window_finds_it(env):
    # given orders A, B, C updated at T0, T0+10 and T0+20, and a poll of [T0, T0+30] by update_time
    item_id = await live_item(env.shop)
    a = (await new_order(env.client, item_id))["order_sn"]
    await env.shop.tick(10)
    b = (await new_order(env.client, item_id))["order_sn"]
    await env.shop.tick(10)
    c = (await new_order(env.client, item_id))["order_sn"]
    await env.shop.tick(10)
    window = {"time_from": str(T0), "time_to": str(T0 + 30)}
    _, first = await order_list(env.shop, page_size="1", **window)
    # when B is updated between two pages
    await env.shop.tick(5)
    assert (await move(env.client, b, "PROCESSED"))[0] == 200
    _, rest = await order_list(env.shop, page_size="10", cursor=first["response"]["next_cursor"], **window)
    # then this pass misses B: it moved past the window's end
    first_pass = [o["order_sn"] for o in first["response"]["order_list"] + rest["response"]["order_list"]]
    assert first_pass == [a, c]
    # and the next pass, overlapping the last high-water mark by 10 minutes, finds it; a dedupe on
    # (order_sn, update_time) keeps only the change not seen yet
    seen = {(a, T0), (c, T0 + 20)}
    _, again = await order_list(env.shop, time_from=str(T0 + 30 - 600), time_to=str(T0 + 35))
    sns = [o["order_sn"] for o in again["response"]["order_list"]]
    _, detail, _ = await env.shop.call(
        "GET", "/api/v2/order/get_order_detail", params=[("order_sn_list", ",".join(sns))]
    )
    new = {(o["order_sn"], o["update_time"]) for o in detail["response"]["order_list"]} - seen
    assert new == {(b, T0 + 35)}


async def test_order_detail_fields_and_limit(env):
    # given a COD order of 2 items
    item_id = await live_item(env.shop)
    sn = (await new_order(env.client, item_id, qty=2))["order_sn"]
    fields = "item_list,total_amount,buyer_username,payment_method"
    # when the detail is asked with and without the optional fields, for it and an unknown order
    params = [("order_sn_list", f"{sn},240101UNKNOWN1"), ("response_optional_fields", fields)]
    _, full, _ = await env.shop.call("GET", "/api/v2/order/get_order_detail", params=params)
    _, bare, _ = await env.shop.call("GET", "/api/v2/order/get_order_detail", params=[("order_sn_list", sn)])
    # then the documented fields come back, the buyer is masked, the unknown order is left out
    (order,) = full["response"]["order_list"]
    assert order["order_sn"] == sn and order["order_status"] == "READY_TO_SHIP"
    assert order["currency"] == "VND" and order["total_amount"] == 500000 and isinstance(order["total_amount"], int)
    assert order["payment_method"] == "COD" and order["shipping_carrier"].startswith("VNPost")
    assert "*" in order["buyer_username"]
    assert order["item_list"] == [
        {
            "item_id": item_id,
            "item_sku": "HONEY-001",
            "item_name": "Mật ong bạc hà Mèo Vạc lô 1",
            "model_quantity_purchased": 2,
            "model_discounted_price": 250000,
        }
    ]
    assert "item_list" not in bare["response"]["order_list"][0]
    # and more than 50 order_sn is error_param
    many = ",".join(f"SN{i}" for i in range(51))
    status, body, _ = await env.shop.call("GET", "/api/v2/order/get_order_detail", params=[("order_sn_list", many)])
    assert (status, body["error"]) == (400, "error_param")


# ---------------------------------------------------------------------- push config


async def test_set_push_config_verifies_the_callback(aiohttp_client, aiohttp_server):
    # given a mock without push config and a receiver
    env = await make_env(aiohttp_client, aiohttp_server, subscribe=False)
    body = {"callback_url": env.receiver.url, "set_push_config_on": [3]}
    # when the receiver fails the verification POST
    env.receiver.verify_status = 500
    failed_status, failed = await public_call(env.shop, "POST", "/api/v2/push/set_app_push_config", body)
    # then the config is refused
    assert (failed_status, failed["error"]) == (400, "error_param") and "verification" in failed["message"]
    # when it answers 2xx
    env.receiver.verify_status = 204
    status, ok = await public_call(env.shop, "POST", "/api/v2/push/set_app_push_config", body)
    # then it is accepted, and the verification POST was signed like a push
    assert (status, ok["response"]) == (200, {"result": "success"})
    verification = env.receiver.verifications[-1]
    raw = json.dumps(verification["json"], separators=(",", ":"))
    assert verification["auth"] == expected_signature(env.receiver.url, raw)
    _, cfg = await public_call(env.shop, "GET", "/api/v2/push/get_app_push_config")
    assert cfg["response"] == {"callback_url": env.receiver.url, "push_config_on_list": [3], "blocked": False}


@pytest.mark.parametrize("url", ["http://example.com/push", "http://10.0.0.5/push", "ftp://127.0.0.1/push"])
async def test_push_callback_must_be_loopback(env, url):
    # when a non-loopback callback is configured
    status, body = await public_call(env.shop, "POST", "/api/v2/push/set_app_push_config", {"callback_url": url})
    # then CALLBACK_NOT_ALLOWED
    assert (status, body["error"]) == (400, "CALLBACK_NOT_ALLOWED")


async def test_push_config_needs_the_public_signature(env):
    # when the call is signed with a wrong key
    path = "/api/v2/push/set_app_push_config"
    params = {"partner_id": PARTNER_ID, "timestamp": T0, "sign": sign(path, T0, key="00" * 16)}
    resp = await env.client.post(path, params={k: str(v) for k, v in params.items()}, json={"callback_url": "x"})
    # then error_sign
    assert (resp.status, (await resp.json())["error"]) == (403, "error_sign")


# ---------------------------------------------------------------------- push delivery


async def test_order_push_is_code_3_signed_over_url_and_body(env):
    # given a live item
    item_id = await live_item(env.shop)
    # when an order is made and moved on, and due pushes are sent
    sn = (await new_order(env.client, item_id))["order_sn"]
    await env.shop.tick(5)
    await move(env.client, sn, "PROCESSED")
    await env.shop.tick(0)
    # then both changes were pushed as code 3, without message id, signed over url|raw body
    bodies = env.receiver.accepted()
    assert [b["data"] for b in bodies] == [
        {"ordersn": sn, "status": "READY_TO_SHIP", "update_time": T0},
        {"ordersn": sn, "status": "PROCESSED", "update_time": T0 + 5},
    ]
    assert all(set(b) == {"code", "shop_id", "timestamp", "data"} and b["code"] == 3 for b in bodies)
    assert bodies[0]["shop_id"] == SHOP_ID
    for push in env.receiver.pushes:
        assert push["auth"] == expected_signature(env.receiver.url, push["raw"])


async def test_pushes_are_sent_by_the_background_task(env):
    # given a slow receiver
    item_id = await live_item(env.shop)
    env.receiver.delay = 0.3
    # when an order is made, without any tick
    started = time.perf_counter()
    await new_order(env.client, item_id)
    answered = time.perf_counter() - started
    deadline = time.monotonic() + 5
    while not env.receiver.accepted() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    # then the admin call did not wait for the push, and the push still arrived
    assert answered < 0.3
    assert [b["data"]["status"] for b in env.receiver.accepted()] == ["READY_TO_SHIP"]


async def test_bans_push_code_6_for_admin_takedown_and_review_rule(env):
    # given a live item, and an item with an expired OCOP certificate under review
    live = await live_item(env.shop)
    _, added, _ = await env.shop.add_item(
        item_sku="HONEY-EXP", item_name="Mật ong hết hạn OCOP", attribute_list=ocop_attributes(expiry=T0 - 1)
    )
    expired = added["response"]["item_id"]
    # when the platform takes the live item down and the review runs
    await admin(env.client, "POST", f"/items/{live}/ban", {"reason": {"code": "FAKE", "message": "Hàng giả"}})
    await env.shop.tick(400)
    # then both bans were pushed as code 6 with their reason
    pushed = {b["data"]["item_id"]: b["data"] for b in env.receiver.accepted() if b["code"] == 6}
    assert pushed[live]["item_status"] == "BANNED" and pushed[live]["ban_reason"] == {
        "code": "FAKE",
        "message": "Hàng giả",
    }
    assert pushed[live]["update_time"] == T0
    assert pushed[expired]["ban_reason"]["code"] == "OCOP_CERT_EXPIRED"


async def test_unsubscribed_code_is_not_pushed(env):
    # given pushes of code 6 turned off
    status, _ = await public_call(env.shop, "POST", "/api/v2/push/set_app_push_config", {"set_push_config_off": [6]})
    assert status == 200
    live = await live_item(env.shop)
    # when an item is banned and an order made
    await admin(env.client, "POST", f"/items/{live}/ban", {})
    await new_order(env.client, await live_item(env.shop, n=2))
    await env.shop.tick(0)
    # then only the order was pushed
    assert env.receiver.codes() == [3]


async def test_non_empty_200_is_a_failure_retried_on_the_virtual_clock(env):
    # given a receiver answering 200 with a body ("ok"), as a careless adapter does
    env.receiver.body = b"ok"
    item_id = await live_item(env.shop)
    await new_order(env.client, item_id)
    await env.shop.tick(0)
    # when half the first retry delay (60 s × time_scale) passes, then the other half
    await env.shop.tick(R1 / 2)
    before_retry = len(env.receiver.pushes)
    env.receiver.body = b""
    await env.shop.tick(R1 / 2)
    # then the first attempt failed, nothing was retried early, and the retry with an empty answer succeeded
    assert before_retry == 1
    rows = await deliveries(env.client)
    assert [(r["attempt"], r["status"], r["outcome"]) for r in rows] == [(1, 200, "failed"), (2, 200, "success")]
    assert rows[0]["error"] == "non-empty response body" and rows[0]["response_body"] == "ok"
    assert rows[0]["next_attempt_at"] == T0 + R1
    assert rows[0]["event_id"] == rows[1]["event_id"]


async def test_non_empty_200_succeeds_when_strict_empty_body_is_off(env):
    # given strict_empty_body turned off through the admin config
    await admin(env.client, "POST", "/config", {"strict_empty_body": False})
    env.receiver.body = b'{"ok": true}'
    # when an order is pushed
    await new_order(env.client, await live_item(env.shop))
    await env.shop.tick(0)
    # then the first attempt counts as a success
    assert [(r["attempt"], r["outcome"]) for r in await deliveries(env.client)] == [(1, "success")]


async def test_slow_receiver_is_a_timeout_failure(env):
    # given a receiver slower than the push timeout
    await admin(env.client, "POST", "/config", {"push_timeout_s": 0.1})
    env.receiver.delay = 0.4
    # when an order is pushed
    await new_order(env.client, await live_item(env.shop))
    await env.shop.tick(0)
    # then the attempt failed on the timeout
    (row,) = await deliveries(env.client)
    assert (row["outcome"], row["error"], row["status"]) == ("failed", "timeout", None)
    assert row["latency_ms"] >= 100


async def test_three_retries_then_the_lost_push_store_and_confirm(env):
    # given a receiver that always answers 500
    env.receiver.status = 500
    sn = (await new_order(env.client, await live_item(env.shop)))["order_sn"]
    # when the retries come due at +60, +300 and +1800 s (× time_scale) after each failure
    for step in (0, R1, R2, R3):
        await env.shop.tick(step)
    await env.shop.tick(100)
    # then 4 attempts were made, then the push went to the lost store
    rows = await deliveries(env.client)
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, 500), (2, 500), (3, 500), (4, 500)]
    assert [r["time"] for r in rows] == [T0, T0 + R1, T0 + R1 + R2, T0 + R1 + R2 + R3]
    assert rows[-1]["lost"] is True
    page = await lost(env.shop)
    assert page["has_next_page"] is False and page["last_message_id"] >= 1
    (message,) = page["push_message_list"]
    assert (message["shop_id"], message["code"], message["timestamp"]) == (SHOP_ID, 3, T0)
    assert json.loads(message["data"]) == {"ordersn": sn, "status": "READY_TO_SHIP", "update_time": T0}
    # when the message is confirmed
    status, body = await public_call(
        env.shop,
        "POST",
        "/api/v2/push/confirm_consumed_lost_push_message",
        {"last_message_id": page["last_message_id"]},
    )
    # then it is gone
    assert status == 200, body
    assert (await lost(env.shop))["push_message_list"] == []


async def test_lost_push_pages_by_100_and_keeps_three_days(env):
    # given 101 pushes lost (dropped by a fault, which files them in the lost store at once)
    await admin(env.client, "POST", "/faults", {"match": {"event_type": 3}, "action": {"type": "drop"}})
    item_id = await live_item(env.shop, stock=500)
    for _ in range(101):
        await new_order(env.client, item_id)
    # when the lost pushes are read, the first page confirmed, and read again
    first = await lost(env.shop)
    await public_call(
        env.shop,
        "POST",
        "/api/v2/push/confirm_consumed_lost_push_message",
        {"last_message_id": first["last_message_id"]},
    )
    second = await lost(env.shop)
    # then the earliest 100 come first, then the last one
    assert len(first["push_message_list"]) == 100 and first["has_next_page"] is True
    assert len(second["push_message_list"]) == 1 and second["has_next_page"] is False
    assert second["last_message_id"] > first["last_message_id"]
    # and after 3 days the unconfirmed message is no longer returned
    await env.shop.tick(3 * DAY + 1)
    assert (await lost(env.shop))["push_message_list"] == []


async def test_health_disables_pushes_and_set_config_enables_them_again(env):
    # given lowered health thresholds (more than 3 pushes, success below 30 %) and a failing receiver
    await admin(env.client, "POST", "/config", {"push_health_min_pushes": 3, "push_health_min_success": 0.3})
    env.receiver.status = 500
    item_id = await live_item(env.shop, stock=100)
    # when 4 pushes fail
    for _ in range(4):
        await new_order(env.client, item_id)
    await env.shop.tick(0)
    # then pushes are disabled and the pending retries are dropped
    push_state = await admin(env.client, "GET", "/push")
    (cfg,) = push_state["configs"]
    assert cfg["enabled"] is False and cfg["disabled_at"] == T0
    assert push_state["queue"] == []
    _, shown = await public_call(env.shop, "GET", "/api/v2/push/get_app_push_config")
    assert shown["response"]["blocked"] is True
    # when another order is made while disabled
    await new_order(env.client, item_id)
    await env.shop.tick(60)
    # then it is not delivered and not in the lost store
    assert len(env.receiver.pushes) == 4
    assert (await lost(env.shop))["push_message_list"] == []
    assert (await admin(env.client, "GET", "/push"))["configs"][0]["dropped"] == 5
    # when the app sets its push config again and the receiver is fixed
    env.receiver.status = 200
    status, _ = await public_call(
        env.shop, "POST", "/api/v2/push/set_app_push_config", {"callback_url": env.receiver.url}
    )
    await new_order(env.client, item_id)
    await env.shop.tick(0)
    # then pushes flow again
    assert status == 200
    assert len(env.receiver.accepted()) == 1


async def test_deliveries_list_every_attempt_with_signature_and_latency(env):
    # given a receiver that fails once
    env.receiver.status = 503
    sn = (await new_order(env.client, await live_item(env.shop)))["order_sn"]
    await env.shop.tick(0)
    env.receiver.status = 200
    await env.shop.tick(R1)
    # when the deliveries are listed (all, and by event id)
    rows = await deliveries(env.client)
    by_event = await deliveries(env.client, event_id=rows[0]["event_id"])
    # then each attempt is there with event id, attempt number, status, latency and the signature sent
    assert by_event == rows and len(rows) == 2
    for row, (attempt, status) in zip(rows, [(1, 503), (2, 200)], strict=True):
        assert (row["attempt"], row["status"], row["code"], row["shop_id"]) == (attempt, status, 3, SHOP_ID)
        assert row["event_id"].startswith("pm-evt-") and row["latency_ms"] >= 0
        assert row["signature"] == expected_signature(env.receiver.url, row["body"])
        assert json.loads(row["body"])["data"]["ordersn"] == sn


# ---------------------------------------------------------------------- snapshot and restore


async def test_snapshot_and_restore_round_trip(env, tmp_path):
    # given an item, an order, a fault rule and a lost push
    item_id = await live_item(env.shop)
    await admin(env.client, "POST", "/faults", {"id": "keep", "match": {"times": 1}, "action": {"type": "drop"}})
    first = await new_order(env.client, item_id)
    path = tmp_path / "pm.json"
    # when the state is saved, changed (a new order, a transition) and restored
    saved = await admin(env.client, "POST", "/snapshot", {"path": str(path)})
    after_snapshot = await new_order(env.client, item_id)
    await move(env.client, first["order_sn"], "PROCESSED")
    await admin(env.client, "POST", "/restore", {"path": str(path)})
    # then the file is JSON, and the state is back as saved
    assert saved["bytes"] > 0 and json.loads(path.read_text())["format"] == "postmart-snapshot/1"
    orders = (await admin(env.client, "GET", "/orders"))["orders"]
    assert [(o["order_sn"], o["order_status"]) for o in orders] == [(first["order_sn"], "READY_TO_SHIP")]
    assert (await env.shop.base_info(item_id))["seller_stock"] == [{"stock": 39}]
    faults = (await admin(env.client, "GET", "/faults"))["faults"]
    assert [(f["id"], f["fired"]) for f in faults] == [("keep", 1)]
    assert len((await lost(env.shop))["push_message_list"]) == 1
    # and the seeded ids continue as they did: the next order gets the same order_sn again
    assert (await new_order(env.client, item_id))["order_sn"] == after_snapshot["order_sn"]


async def test_restore_refuses_a_file_that_is_not_a_snapshot(env, tmp_path):
    # given a JSON file that is not a snapshot
    path = tmp_path / "other.json"
    path.write_text('{"hello": 1}')
    # when it is restored
    resp = await env.client.post("/__admin/restore", json={"path": str(path)})
    # then error_param, and the mock keeps working
    assert (resp.status, (await resp.json())["error"]) == (400, "error_param")
    status, _, _ = await env.shop.call("GET", "/api/v2/product/get_category")
    assert status == 200
