"""Orders of the Voso-like mock: admin purchases and transitions, search, change feed, order webhooks and their
deliveries, snapshot and restore (shared/docs/marketplaces.md §1 and §3), all on the frozen virtual clock."""

import datetime as dt
import json

import pytest
from aiohttp import web

from tests.integrations.test_voso_mock import (
    T0,
    create,
    get_product,
    login,
    product_body,
    verify,
)

ORDER_KEYS = {
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
}
ORDER_EVENTS = ["order.created", "order.status_updated"]
DAY = 86400
T1 = T0 + 1  # the cdn_urls fixture's migrate ticks the clock one second before any product exists


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def iso_ms(epoch: float) -> str:
    """How the mock writes instants: UTC, milliseconds, Z."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def active_product(client, token: str, cdn_urls: list[str], **overrides) -> dict:
    """Creates a product and has the admin approve it, so that buyers can order it."""
    resp, created = await create(client, token, product_body(cdn_urls, **overrides))
    assert resp.status == 201, created
    pid = created["data"]["productId"]
    assert (await client.post(f"/__admin/review/{pid}", json={"decision": "approve"})).status == 200
    return await get_product(client, token, pid)


@pytest.fixture
async def product(client, token, cdn_urls):
    return await active_product(client, token, cdn_urls)


async def place(client, **body) -> tuple[int, dict]:
    """POST /__admin/orders with a COD order for one unit shipped to Hà Nội unless told otherwise."""
    body = {"quantity": 1, "paymentMethod": "COD", "buyer": {"provinceCode": "01"}} | body
    resp = await client.post("/__admin/orders", json=body)
    return resp.status, await resp.json()


async def transition(client, order_id: str, to: str) -> tuple[int, dict]:
    resp = await client.post(f"/__admin/orders/{order_id}/transition", json={"to": to})
    return resp.status, await resp.json()


async def tick(client, seconds: float = 0) -> dict:
    return await (await client.post("/__admin/tick", json={"seconds": seconds})).json()


async def api_get(client, token: str, path: str, **params) -> tuple[int, dict]:
    resp = await client.get(path, params=params, headers={"Token": token})
    return resp.status, await resp.json()


async def changes(client, token: str, after: int = 0, limit: int = 100) -> tuple[int, dict]:
    return await api_get(client, token, "/v2/orders/changes", after=str(after), limit=str(limit))


@pytest.fixture
async def receiver(aiohttp_server):
    """A loopback webhook receiver recording each call and answering `reply["status"]`."""
    calls: list[dict] = []
    reply = {"status": 200}

    async def hook(request: web.Request) -> web.Response:
        calls.append({"headers": dict(request.headers), "body": await request.text()})
        return web.Response(status=reply["status"])

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return {"url": str(server.make_url("/hook")), "calls": calls, "reply": reply}


async def subscribe(client, token: str, url: str, events: list[str] = ORDER_EVENTS) -> str:
    resp = await client.put("/v2/webhooks", json={"url": url, "events": events}, headers={"Token": token})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]["secret"]


# ------------------------------------------------------------------------------------------------ orders


async def test_admin_order_has_the_specified_shape_and_takes_stock(client, token, product):
    # given an ACTIVE product with 120 in stock, sold at its sale price 169,000 VND from a Hà Giang warehouse
    # when a buyer in Hà Nội orders 2 units, paying cash on delivery
    status, order = await place(
        client, productId=product["productId"], quantity=2, buyer={"provinceCode": "01", "name": "Trần Thị Bình"}
    )
    # then the order has exactly the §3 fields, starts pending (COD needs no payment) at version 1
    assert status == 201
    assert set(order) == ORDER_KEYS
    assert order["orderId"].startswith("VSO-")
    assert order["status"] == "pending" and order["version"] == 1
    assert order["createdAt"] == order["updatedAt"] == iso_ms(T1)
    assert order["paymentMethod"] == "COD" and order["currency"] == "VND"
    assert order["items"] == [
        {
            "productId": product["productId"],
            "externalId": "listing-0001",
            "sellerSku": "HTXMO-HG-001",
            "quantity": 2,
            "unitPrice": 169000,
        }
    ]
    assert order["shippingFee"] == 30000  # another province than the warehouse's
    assert order["totalAmount"] == 2 * 169000 + 30000
    assert order["buyer"] == {"nameMasked": "T*** T** B***", "provinceCode": "01"}
    # and the stock went down with a new product version
    after = await get_product(client, token, product["productId"])
    assert after["stock"] == 118 and after["version"] == product["version"] + 1


async def test_order_by_external_id_or_seller_sku_and_prepaid_orders_start_unpaid(client, token, product):
    # given an ACTIVE product
    # when orders reference it by externalId (ViettelPay) and by sellerSku (bank transfer, same province)
    s1, by_ext = await place(client, externalId="listing-0001", paymentMethod="VIETTELPAY")
    s2, by_sku = await place(
        client, sellerSku="HTXMO-HG-001", paymentMethod="BANK_TRANSFER", buyer={"provinceCode": "02"}
    )
    # then both resolve to the product; prepaid orders wait for payment as unpaid
    assert s1 == s2 == 201
    assert by_ext["items"][0]["productId"] == by_sku["items"][0]["productId"] == product["productId"]
    assert by_ext["status"] == by_sku["status"] == "unpaid"
    assert by_sku["shippingFee"] == 15000  # same province as the warehouse
    assert by_ext["orderId"] != by_sku["orderId"]


async def test_multi_line_order_sums_lines_and_stock_per_product(client, token, cdn_urls, product):
    # given two ACTIVE products
    other = await active_product(
        client, token, cdn_urls, externalId="listing-0002", sellerSku="HTXMO-HG-002", stock=5, salePrice=None
    )
    # when one order buys 1 of the first and 3 of the second
    status, order = await place(
        client,
        items=[{"productId": product["productId"], "quantity": 1}, {"sellerSku": "HTXMO-HG-002", "quantity": 3}],
        shippingFee=0,
    )
    # then every line is priced (sale price if any) and each product loses its own quantity
    assert status == 201
    assert [(i["productId"], i["quantity"], i["unitPrice"]) for i in order["items"]] == [
        (product["productId"], 1, 169000),
        (other["productId"], 3, 185000),
    ]
    assert order["totalAmount"] == 169000 + 3 * 185000 and order["shippingFee"] == 0
    assert (await get_product(client, token, other["productId"]))["stock"] == 2


async def test_order_needs_an_active_product_with_enough_stock(client, token, cdn_urls, product):
    # given an ACTIVE product with 120 in stock and a product still waiting for QC
    _, pending = await create(client, token, product_body(cdn_urls, externalId="x-2", sellerSku="PENDING-1"))
    # when orders ask for more than the stock, for the unreviewed product, and for an unknown product
    s_stock, too_many = await place(client, productId=product["productId"], quantity=121)
    s_qc, not_active = await place(client, productId=pending["data"]["productId"])
    s_unknown, unknown = await place(client, sellerSku="NOPE")
    # then 409 INSUFFICIENT_STOCK / PRODUCT_NOT_ACTIVE and 404, and the stock is untouched
    assert s_stock == 409 and too_many["code"] == "INSUFFICIENT_STOCK"
    assert too_many["data"] == {"productId": product["productId"], "available": 120, "requested": 121}
    assert s_qc == 409 and not_active["code"] == "PRODUCT_NOT_ACTIVE"
    assert not_active["data"]["status"] == "PENDING_QC"
    assert s_unknown == 404 and unknown["code"] == "PRODUCT_NOT_FOUND"
    assert (await get_product(client, token, product["productId"]))["stock"] == 120


async def test_stock_is_checked_across_lines_of_one_order(client, token, product):
    # given an ACTIVE product with 120 in stock
    # when two lines of one order ask for 60 and 61 of it
    status, body = await place(
        client,
        items=[
            {"productId": product["productId"], "quantity": 60},
            {"productId": product["productId"], "quantity": 61},
        ],
    )
    # then the order is refused as a whole
    assert status == 409 and body["data"]["requested"] == 121


async def test_order_validation_reports_every_error_at_once(client, product):
    # given / when an order with a bad quantity, payment method and province
    status, body = await place(
        client, productId=product["productId"], quantity=0, paymentMethod="CASH", buyer={"provinceCode": "HN"}
    )
    # then 400 VALIDATION_FAILED names each field
    assert status == 400 and body["code"] == "VALIDATION_FAILED"
    fields = {(e["field"], e["code"]) for e in body["data"]["errors"]}
    assert fields == {
        ("quantity", "OUT_OF_RANGE"),
        ("paymentMethod", "INVALID_VALUE"),
        ("buyer.provinceCode", "INVALID_FORMAT"),
    }


async def test_product_stock_changed_is_emitted_for_each_order(client, token, product):
    # given an ACTIVE product
    # when it is ordered
    _, order = await place(client, productId=product["productId"], quantity=3)
    # then the outbox holds order.created and product.stock_changed with the new stock and version
    events = (await (await client.get("/__admin/events")).json())["events"]
    created = [e for e in events if e["type"] == "order.created"]
    stock = [e for e in events if e["type"] == "product.stock_changed"]
    assert created[-1]["data"] == {
        "orderId": order["orderId"],
        "status": "pending",
        "version": 1,
        "updatedAt": order["updatedAt"],
    }
    assert stock[-1]["data"]["stock"] == 117 and stock[-1]["data"]["version"] == product["version"] + 1


# ------------------------------------------------------------------------------------------------ transitions


async def test_legal_path_bumps_version_and_updated_at_each_time(client, token, product):
    # given an unpaid order
    _, order = await place(client, productId=product["productId"], paymentMethod="VIETTELPAY")
    # when it walks unpaid → pending → ready_to_ship → shipped → delivered → returned, one minute apart
    seen = []
    for step, to in enumerate(["pending", "ready_to_ship", "shipped", "delivered", "returned"], start=1):
        await tick(client, 60)
        status, moved = await transition(client, order["orderId"], to)
        assert status == 200, moved
        seen.append((moved["status"], moved["version"], moved["updatedAt"]))
        assert moved["updatedAt"] == iso_ms(T1 + 60 * step)
    # then every change raised the version by one and the API read returns the last state
    assert [v for _, v, _ in seen] == [2, 3, 4, 5, 6]
    status, read = await api_get(client, token, f"/v2/orders/{order['orderId']}")
    assert status == 200 and read["data"]["status"] == "returned" and read["data"]["version"] == 6
    assert read["data"]["createdAt"] == order["createdAt"]


async def test_failed_delivery_then_returned_and_cancel_from_unpaid_or_pending(client, product):
    # given three orders
    _, a = await place(client, productId=product["productId"])
    _, b = await place(client, productId=product["productId"], paymentMethod="BANK_TRANSFER")
    _, c = await place(client, productId=product["productId"])
    # when one fails delivery and comes back, and the others are canceled (unpaid, pending)
    for to in ("ready_to_ship", "shipped", "failed_delivery", "returned"):
        assert (await transition(client, a["orderId"], to))[0] == 200
    s_b, canceled_b = await transition(client, b["orderId"], "canceled")
    s_c, canceled_c = await transition(client, c["orderId"], "canceled")
    # then every move is accepted
    assert s_b == s_c == 200
    assert canceled_b["status"] == canceled_c["status"] == "canceled"


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "shipped"),  # pending cannot skip ready_to_ship
        (["ready_to_ship"], "canceled"),  # only unpaid|pending can be canceled
        (["ready_to_ship", "shipped", "delivered"], "failed_delivery"),
        (["canceled"], "pending"),  # canceled is final
        (["ready_to_ship", "shipped", "delivered", "returned"], "delivered"),  # returned is final
        ([], "pending"),  # no self-transition
    ],
)
async def test_illegal_transitions_give_409_and_change_nothing(client, token, product, path, illegal):
    # given a COD order moved along `path`
    _, order = await place(client, productId=product["productId"])
    for to in path:
        assert (await transition(client, order["orderId"], to))[0] == 200
    # when an illegal move is asked for
    status, body = await transition(client, order["orderId"], illegal)
    # then 409 INVALID_TRANSITION says what is allowed, and the order keeps its version
    assert status == 409 and body["code"] == "INVALID_TRANSITION"
    assert body["data"]["to"] == illegal and illegal not in body["data"]["allowed"]
    _, read = await api_get(client, token, f"/v2/orders/{order['orderId']}")
    assert read["data"]["version"] == 1 + len(path)


async def test_unknown_status_or_order_in_a_transition(client, product):
    # given an order
    _, order = await place(client, productId=product["productId"])
    # when the target status is unknown, or the order is
    s_status, bad_status = await transition(client, order["orderId"], "lost")
    s_order, bad_order = await transition(client, "VSO-00000000", "pending")
    # then 400 naming `to`, and 404
    assert s_status == 400 and bad_status["data"]["errors"][0]["field"] == "to"
    assert s_order == 404 and bad_order["code"] == "ORDER_NOT_FOUND"


async def test_cancel_puts_the_stock_back(client, token, product):
    # given an order for 5 units (stock 120 → 115)
    _, order = await place(client, productId=product["productId"], quantity=5)
    assert (await get_product(client, token, product["productId"]))["stock"] == 115
    # when it is canceled
    await transition(client, order["orderId"], "canceled")
    # then the 5 units are available again
    assert (await get_product(client, token, product["productId"]))["stock"] == 120


async def test_orders_are_private_to_their_shop(client, token, product):
    # given an order of the default shop and a second seller
    _, order = await place(client, productId=product["productId"])
    shop = {
        "username": "htx-che",
        "password": "che-2025",
        "warehouses": [{"warehouseId": "WH-TN", "provinceCode": "19"}],
    }
    assert (await client.post("/__admin/shops", json=shop)).status == 201
    other = await login(client, "htx-che", "che-2025")
    # when the other seller reads it, searches and reads its feed
    status, _ = await api_get(client, other, f"/v2/orders/{order['orderId']}")
    _, found = await api_get(client, other, "/v2/orders", updatedFrom=iso(T0 - 60))
    _, feed = await changes(client, other)
    # then it sees nothing of the first shop
    assert status == 404
    assert found["data"]["items"] == [] and feed["data"] == {"changes": [], "lastSeq": 0, "hasMore": False}


# ------------------------------------------------------------------------------------------------ search


async def test_search_filters_by_a_window_including_both_ends_and_by_status(client, token, product):
    # given orders updated at T0, T0+1h and T0+2h (the last one moved to ready_to_ship)
    _, first = await place(client, productId=product["productId"])
    await tick(client, 3600)
    _, second = await place(client, productId=product["productId"])
    await tick(client, 3600)
    _, third = await place(client, productId=product["productId"])
    await transition(client, third["orderId"], "ready_to_ship")
    # when searching [T0, T0+1h], then everything, then only ready_to_ship
    _, window = await api_get(client, token, "/v2/orders", updatedFrom=iso(T1), updatedTo=iso(T1 + 3600))
    _, everything = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0))
    _, ready = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0), status="ready_to_ship")
    # then the window includes both ends; updatedTo defaults to now
    assert [o["orderId"] for o in window["data"]["items"]] == [first["orderId"], second["orderId"]]
    assert window["data"]["nextCursor"] is None
    assert [o["orderId"] for o in everything["data"]["items"]] == [
        first["orderId"],
        second["orderId"],
        third["orderId"],
    ]
    assert [o["orderId"] for o in ready["data"]["items"]] == [third["orderId"]]
    assert set(ready["data"]["items"][0]) == ORDER_KEYS


async def test_search_accepts_vietnam_offsets_even_when_the_plus_was_not_encoded(client, token, product):
    # given an order at T1 (10:00:01 in Hà Nội)
    _, order = await place(client, productId=product["productId"])
    # when searching from 10:00:01+07:00, once encoded and once with a raw "+" (decoded as a space)
    _, encoded = await api_get(client, token, "/v2/orders", updatedFrom="2026-03-10T10:00:01+07:00")
    resp = await client.get("/v2/orders?updatedFrom=2026-03-10T10:00:01+07:00", headers={"Token": token})
    # then both find the order
    assert [o["orderId"] for o in encoded["data"]["items"]] == [order["orderId"]]
    assert resp.status == 200
    assert [o["orderId"] for o in (await resp.json())["data"]["items"]] == [order["orderId"]]


async def test_search_window_over_seven_days_is_refused_naming_the_field(client, token):
    # given the frozen clock at T0
    # when a window of 7 days + 1 s is asked for, with and without updatedTo
    _, explicit = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0 - 7 * DAY - 1), updatedTo=iso(T0))
    _, implicit = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0 - 7 * DAY - 1))
    status, _ = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0 - 7 * DAY), updatedTo=iso(T0))
    # then VALIDATION_FAILED names updatedTo (or updatedFrom when updatedTo was not sent); exactly 7 days is fine
    assert explicit["code"] == "VALIDATION_FAILED"
    assert explicit["data"]["errors"] == [
        {"field": "updatedTo", "code": "WINDOW_TOO_LARGE", "message": "updatedTo − updatedFrom ≤ 7 days"}
    ]
    assert [e["field"] for e in implicit["data"]["errors"]] == ["updatedFrom"]
    assert status == 200


async def test_search_parameters_are_validated_together(client, token):
    # given / when updatedFrom is missing, the page size too big, the status unknown and the cursor garbage
    status, body = await api_get(client, token, "/v2/orders", pageSize="101", status="lost", cursor="%%%")
    _, naive = await api_get(client, token, "/v2/orders", updatedFrom="2026-03-10T10:00:00")
    _, backwards = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0), updatedTo=iso(T0 - 1))
    # then each field is named; a time without an offset and an inverted window are refused
    assert status == 400
    assert {e["field"] for e in body["data"]["errors"]} == {"updatedFrom", "pageSize", "status", "cursor"}
    assert naive["data"]["errors"][0] == {
        "field": "updatedFrom",
        "code": "INVALID_FORMAT",
        "message": "a UTC offset (Z or +07:00) is required",
    }
    assert backwards["data"]["errors"][0]["code"] == "INVALID_RANGE"


async def test_seek_paging_orders_by_updated_at_then_order_id_and_never_misses_a_moved_order(client, token, product):
    # given five orders, two of them at the same instant (ties are broken by orderId)
    ids = []
    for i in range(5):
        if i in (1, 3):
            await tick(client, 10)
        ids.append((await place(client, productId=product["productId"]))[1]["orderId"])
    # when a client pages by 2 and, between pages, the first order is updated (it moves behind the cursor)
    _, page1 = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0), pageSize="2")
    await tick(client, 5)
    await transition(client, ids[0], "ready_to_ship")
    seen = [o["orderId"] for o in page1["data"]["items"]]
    cursor = page1["data"]["nextCursor"]
    while cursor:
        _, page = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0), pageSize="2", cursor=cursor)
        seen += [o["orderId"] for o in page["data"]["items"]]
        cursor = page["data"]["nextCursor"]
    # then pages follow (updatedAt, orderId); the moved order shows up again at the end, nothing is missed
    assert seen == [*ids, ids[0]]
    assert set(seen) == set(ids)


# ------------------------------------------------------------------------------------------------ change feed


async def test_change_feed_lists_every_change_in_seq_order_with_paging(client, token, product):
    # given an order created and moved twice, and a second order
    _, a = await place(client, productId=product["productId"])
    await transition(client, a["orderId"], "ready_to_ship")
    await transition(client, a["orderId"], "shipped")
    _, b = await place(client, productId=product["productId"])
    # when the feed is read 3 at a time from the start
    _, first = await changes(client, token, after=0, limit=3)
    _, second = await changes(client, token, after=first["data"]["lastSeq"], limit=3)
    _, empty = await changes(client, token, after=second["data"]["lastSeq"], limit=3)
    # then seqs are 1..4 with status and version of each change, hasMore tells when to stop
    assert [(c["seq"], c["orderId"], c["status"], c["version"]) for c in first["data"]["changes"]] == [
        (1, a["orderId"], "pending", 1),
        (2, a["orderId"], "ready_to_ship", 2),
        (3, a["orderId"], "shipped", 3),
    ]
    assert first["data"]["lastSeq"] == 3 and first["data"]["hasMore"] is True
    assert set(first["data"]["changes"][0]) == {"seq", "orderId", "status", "version", "updatedAt"}
    assert second["data"] == {
        "changes": [
            {"seq": 4, "orderId": b["orderId"], "status": "pending", "version": 1, "updatedAt": b["updatedAt"]}
        ],
        "lastSeq": 4,
        "hasMore": False,
    }
    assert empty["data"] == {"changes": [], "lastSeq": 4, "hasMore": False}


async def test_seq_is_per_shop(client, token, cdn_urls, product):
    # given a second shop with its own ACTIVE product, and an order in each shop
    shop = {
        "username": "htx-che",
        "password": "che-2025",
        "warehouses": [{"warehouseId": "WH-TN", "provinceCode": "19"}],
    }
    shop_id = (await (await client.post("/__admin/shops", json=shop)).json())["shopId"]
    other = await login(client, "htx-che", "che-2025")
    await place(client, productId=product["productId"])
    theirs = await active_product(
        client,
        other,
        cdn_urls,
        warehouseId="WH-TN",
        attributes={"shelfLifeDays": 730, "netWeightGram": 500, "originProvinceCode": "19"},
    )
    # when the second shop orders by sellerSku (used by both shops, so the shop must be named) and reads its feed
    s_ambiguous, ambiguous = await place(client, sellerSku="HTXMO-HG-001")
    status, order = await place(client, sellerSku="HTXMO-HG-001", shopId=shop_id)
    _, feed = await changes(client, other)
    # then its feed starts at seq 1
    assert s_ambiguous == 400 and ambiguous["data"]["errors"][0]["field"] == "shopId"
    assert status == 201 and order["items"][0]["productId"] == theirs["productId"]
    assert [c["seq"] for c in feed["data"]["changes"]] == [1]


async def test_compaction_keeps_only_the_latest_change_per_order_once_older_than_24h(client, token, product):
    # given order A with three changes and order B with one, 25 h ago, then a fresh change of A
    _, a = await place(client, productId=product["productId"])
    await transition(client, a["orderId"], "ready_to_ship")
    _, b = await place(client, productId=product["productId"])
    await transition(client, a["orderId"], "shipped")
    await tick(client, 25 * 3600)
    await transition(client, a["orderId"], "delivered")
    token = await login(client)  # tokens live 24 h
    # when the feed is read from the start
    _, feed = await changes(client, token)
    # then A's old changes were compacted away (its latest is recent), B's only change is kept
    assert [(c["seq"], c["orderId"], c["status"]) for c in feed["data"]["changes"]] == [
        (3, b["orderId"], "pending"),
        (5, a["orderId"], "delivered"),
    ]


async def test_changes_younger_than_24h_are_not_compacted(client, token, product):
    # given an order with two changes 24 h ago exactly
    _, a = await place(client, productId=product["productId"])
    await transition(client, a["orderId"], "ready_to_ship")
    await tick(client, 24 * 3600)
    token = await login(client)  # tokens live 24 h
    # when the feed is read
    _, feed = await changes(client, token)
    # then both are still there (only changes *older* than 24 h are compacted)
    assert [c["seq"] for c in feed["data"]["changes"]] == [1, 2]
    # and one second later the superseded one goes
    await tick(client, 1)
    _, feed = await changes(client, token)
    assert [c["seq"] for c in feed["data"]["changes"]] == [2]


async def test_cursor_not_handed_out_for_more_than_72h_gives_410(client, token, product):
    # given a reader that got lastSeq=1 and then stayed away for 72 h + 1 s while the order moved on
    _, a = await place(client, productId=product["productId"])
    _, feed = await changes(client, token)
    cursor = feed["data"]["lastSeq"]
    await tick(client, 3600)
    await transition(client, a["orderId"], "ready_to_ship")
    await tick(client, 72 * 3600 - 3600 + 1)
    token = await login(client)
    # when it resumes from its cursor
    status, body = await changes(client, token, after=cursor)
    # then 410 CURSOR_EXPIRED sends it to a resync through search, which finds the order
    assert status == 410 and body["code"] == "CURSOR_EXPIRED" and body["error"] is True
    assert body["data"]["after"] == cursor and body["data"]["maxAgeSeconds"] == 72 * 3600
    _, found = await api_get(client, token, "/v2/orders", updatedFrom=iso(T0))
    assert [o["status"] for o in found["data"]["items"]] == ["ready_to_ship"]
    # and a newer cursor still works, as does starting again from 0
    assert (await changes(client, token, after=2))[0] == 200
    assert (await changes(client, token, after=0))[0] == 200


async def test_cursor_exactly_72h_old_still_works(client, token, product):
    # given a cursor handed out at T0
    await place(client, productId=product["productId"])
    _, feed = await changes(client, token)
    # when it is used 72 h later exactly
    await tick(client, 72 * 3600)
    token = await login(client)
    status, _ = await changes(client, token, after=feed["data"]["lastSeq"])
    # then it is accepted (only cursors *older* than 72 h expire)
    assert status == 200


async def test_polling_a_quiet_shop_renews_the_cursor(client, token, product):
    # given one change at T0, then a shop with no activity for four days, polled once a day
    await place(client, productId=product["productId"])
    _, feed = await changes(client, token)
    cursor = feed["data"]["lastSeq"]
    for _ in range(4):
        await tick(client, DAY)
        token = await login(client)
        status, feed = await changes(client, token, after=cursor)
        # then each poll is accepted and hands the same cursor back, which renews it
        assert status == 200 and feed["data"]["lastSeq"] == cursor


async def test_compacted_cursor_within_72h_still_returns_the_latest_state(client, token, product):
    # given a reader holding seq 1 (A created), after which A moved twice more and 30 h passed
    _, a = await place(client, productId=product["productId"])
    _, feed = await changes(client, token, limit=1)
    await transition(client, a["orderId"], "ready_to_ship")
    await transition(client, a["orderId"], "shipped")
    await tick(client, 30 * 3600)
    token = await login(client)
    # when it resumes, although seq 1 and 2 were compacted away
    status, resumed = await changes(client, token, after=feed["data"]["lastSeq"])
    # then it is not expired and gets A's latest change
    assert status == 200
    assert [(c["seq"], c["status"]) for c in resumed["data"]["changes"]] == [(3, "shipped")]


async def test_change_feed_parameters_are_validated(client, token, product):
    # given a feed whose last seq is 1
    await place(client, productId=product["productId"])
    # when `after` is past the end or not a number, or the limit is over 200
    s_future, future = await changes(client, token, after=2)
    status, garbage = await api_get(client, token, "/v2/orders/changes", after="x", limit="201")
    # then 400 names the fields
    assert s_future == 400 and future["data"]["errors"][0]["field"] == "after"
    assert status == 400 and {e["field"] for e in garbage["data"]["errors"]} == {"after", "limit"}


# ------------------------------------------------------------------------------------------------ webhooks


async def test_order_webhooks_are_signed_and_carry_the_version(client, token, product, receiver):
    # given a subscription to order events
    secret = await subscribe(client, token, receiver["url"])
    # when an order is created and moved to ready_to_ship
    _, order = await place(client, productId=product["productId"])
    await tick(client, 30)
    _, moved = await transition(client, order["orderId"], "ready_to_ship")
    await tick(client, 0)
    # then two signed events arrive: order.created (v1) then order.status_updated (v2), with §3's body
    assert len(receiver["calls"]) == 2
    bodies = [json.loads(c["body"]) for c in receiver["calls"]]
    assert [(b["type"], b["data"]["version"]) for b in bodies] == [("order.created", 1), ("order.status_updated", 2)]
    assert set(bodies[1]) == {"eventId", "type", "shopId", "createdAt", "data"}
    assert bodies[1]["data"] == {
        "orderId": order["orderId"],
        "status": "ready_to_ship",
        "version": 2,
        "updatedAt": moved["updatedAt"],
    }
    for call, body in zip(receiver["calls"], bodies, strict=True):
        assert call["headers"]["X-Voso-Event-Id"] == body["eventId"]
        assert verify(secret, call["headers"]["X-Voso-Signature"], call["body"])


async def test_unsubscribed_event_types_are_not_delivered(client, token, product, receiver):
    # given a subscription to order.status_updated only
    await subscribe(client, token, receiver["url"], events=["order.status_updated"])
    # when an order is created (order.created, product.stock_changed) and canceled
    _, order = await place(client, productId=product["productId"])
    await transition(client, order["orderId"], "canceled")
    await tick(client, 0)
    # then only the status update is sent
    assert [json.loads(c["body"])["type"] for c in receiver["calls"]] == ["order.status_updated"]


async def test_order_webhook_is_retried_then_failed_listed_paged_and_retried(client, token, product, receiver):
    # given a receiver answering 503 and two order events
    receiver["reply"]["status"] = 503
    await subscribe(client, token, receiver["url"])
    _, order = await place(client, productId=product["productId"])
    await transition(client, order["orderId"], "ready_to_ship")
    # when the whole retry schedule runs out
    await tick(client, 0)
    for delay in (60, 300, 1800, 7200, 21600):
        await tick(client, delay)
    token = await login(client)
    # then both deliveries are FAILED after 6 attempts each; the list pages with a cursor
    assert len(receiver["calls"]) == 12
    _, page1 = await api_get(client, token, "/v2/webhooks/deliveries", status="FAILED", pageSize="1")
    _, page2 = await api_get(
        client, token, "/v2/webhooks/deliveries", status="FAILED", pageSize="1", cursor=page1["data"]["nextCursor"]
    )
    failed = page1["data"]["items"] + page2["data"]["items"]
    assert page2["data"]["nextCursor"] is None
    assert [(d["type"], d["status"], d["attempts"], d["lastStatus"]) for d in failed] == [
        ("order.created", "FAILED", 6, 503),
        ("order.status_updated", "FAILED", 6, 503),
    ]
    assert failed[1]["payload"]["data"]["version"] == 2
    # and a manual retry of the first, with the receiver back, delivers it with the same event id
    receiver["reply"]["status"] = 200
    resp = await client.post(f"/v2/webhooks/deliveries/{failed[0]['deliveryId']}/retry", headers={"Token": token})
    retried = (await resp.json())["data"]
    assert resp.status == 200 and retried["status"] == "DELIVERED" and retried["attempts"] == 7
    assert receiver["calls"][-1]["headers"]["X-Voso-Event-Id"] == failed[0]["eventId"]
    _, still_failed = await api_get(client, token, "/v2/webhooks/deliveries", status="FAILED")
    assert [d["deliveryId"] for d in still_failed["data"]["items"]] == [failed[1]["deliveryId"]]


async def test_admin_deliveries_lists_every_attempt(client, token, product, receiver):
    # given a receiver that fails once, then recovers
    receiver["reply"]["status"] = 500
    await subscribe(client, token, receiver["url"], events=["order.created"])
    await place(client, productId=product["productId"])
    await tick(client, 0)
    receiver["reply"]["status"] = 204
    await tick(client, 60)
    # when the admin lists deliveries
    body = await (await client.get("/__admin/deliveries")).json()
    # then each attempt has the event id, attempt number, status, latency and signature header
    attempts = body["attempts"]
    assert [(a["attempt"], a["status"], a["ok"]) for a in attempts] == [(1, 500, False), (2, 204, True)]
    for a, call in zip(attempts, receiver["calls"], strict=True):
        assert a["eventId"] == json.loads(call["body"])["eventId"] and a["type"] == "order.created"
        assert isinstance(a["latencyMs"], int) and a["latencyMs"] >= 0
        assert a["signature"] == call["headers"]["X-Voso-Signature"]
    assert body["deliveries"][0]["status"] == "DELIVERED"


async def test_unreachable_receiver_is_recorded_as_a_failed_attempt(client, token, product, unused_tcp_port):
    # given a subscription to a loopback port nobody listens on
    await subscribe(client, token, f"http://127.0.0.1:{unused_tcp_port}/hook", events=["order.created"])
    # when an order event is sent
    await place(client, productId=product["productId"])
    await tick(client, 0)
    # then the attempt has no HTTP status but an error, and is scheduled again
    attempts = (await (await client.get("/__admin/deliveries")).json())["attempts"]
    assert attempts[0]["status"] is None and attempts[0]["error"] and attempts[0]["ok"] is False
    _, listed = await api_get(client, token, "/v2/webhooks/deliveries", status="RETRYING")
    assert len(listed["data"]["items"]) == 1


async def test_deliveries_are_kept_14_days(client, token, product, receiver):
    # given a failed delivery
    receiver["reply"]["status"] = 500
    await subscribe(client, token, receiver["url"], events=["order.created"])
    await place(client, productId=product["productId"])
    await tick(client, 0)
    for delay in (60, 300, 1800, 7200, 21600):
        await tick(client, delay)
    token = await login(client)
    _, failed = await api_get(client, token, "/v2/webhooks/deliveries", status="FAILED")
    delivery_id = failed["data"]["items"][0]["deliveryId"]
    # when 14 days have passed since it was created
    await tick(client, 14 * DAY - (60 + 300 + 1800 + 7200 + 21600) + 1)
    token = await login(client)
    # then it is no longer listed and cannot be retried
    _, listed = await api_get(client, token, "/v2/webhooks/deliveries", status="FAILED")
    resp = await client.post(f"/v2/webhooks/deliveries/{delivery_id}/retry", headers={"Token": token})
    assert listed["data"]["items"] == []
    assert resp.status == 404 and (await resp.json())["code"] == "DELIVERY_NOT_FOUND"


async def test_deliveries_list_parameters_are_validated(client, token):
    # given / when an unknown status and a bad cursor
    status, body = await api_get(client, token, "/v2/webhooks/deliveries", status="LOST", cursor="!!")
    # then 400 names both
    assert status == 400 and {e["field"] for e in body["data"]["errors"]} == {"status", "cursor"}


# ------------------------------------------------------------------------------------------------ snapshot


async def test_snapshot_and_restore_bring_back_orders_feed_products_and_id_sequences(client, token, product, tmp_path):
    # given a product, an order moved once, and a snapshot of that state
    _, order = await place(client, productId=product["productId"], quantity=2)
    await transition(client, order["orderId"], "ready_to_ship")
    path = tmp_path / "vs.json"
    resp = await client.post("/__admin/snapshot", json={"path": str(path)})
    snap = await resp.json()
    assert resp.status == 200 and snap["path"] == str(path) and snap["counts"]["orders"] == 1
    _, next_before = await place(client, productId=product["productId"])
    # when the mock is reset (everything gone) and the snapshot restored
    await client.post("/__admin/reset")
    assert (await client.get("/v2/orders/changes", headers={"Token": token})).status == 401
    resp = await client.post("/__admin/restore", json={"path": str(path)})
    # then tokens, the order, the feed, the product stock and the clock come back ...
    assert resp.status == 200 and (await resp.json())["counts"]["orders"] == 1
    status, read = await api_get(client, token, f"/v2/orders/{order['orderId']}")
    assert status == 200 and read["data"]["status"] == "ready_to_ship" and read["data"]["version"] == 2
    _, feed = await changes(client, token)
    assert [c["seq"] for c in feed["data"]["changes"]] == [1, 2]
    assert (await get_product(client, token, product["productId"]))["stock"] == 118
    clock = await (await client.post("/__admin/clock", json={})).json()
    assert clock["now"] == T1
    # ... and ids continue exactly where they were, so a replay after restore is deterministic
    _, next_after = await place(client, productId=product["productId"])
    assert next_after["orderId"] == next_before["orderId"]
    _, feed = await changes(client, token, after=2)
    assert [c["seq"] for c in feed["data"]["changes"]] == [3]


async def test_restored_cdn_images_are_served_again(client, token, cdn_urls, tmp_path):
    # given a migrated image and a snapshot
    path = tmp_path / "cdn.json"
    await client.post("/__admin/snapshot", json={"path": str(path)})
    await client.post("/__admin/reset")
    # when the snapshot is restored
    await client.post("/__admin/restore", json={"path": str(path)})
    # then the hosted bytes are served from the same URL
    resp = await client.get("/cdn/" + cdn_urls[0].rsplit("/cdn/", 1)[1])
    assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")


async def test_snapshot_without_a_path_uses_the_var_dir(client, tmp_path, monkeypatch):
    # given VAR_DIR pointing at a temporary directory
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    # when a snapshot is taken without a path
    body = await (await client.post("/__admin/snapshot")).json()
    # then it is written under VAR_DIR/mocks
    assert body["path"] == str(tmp_path / "mocks" / "voso-snapshot-0.json")
    assert json.loads((tmp_path / "mocks" / "voso-snapshot-0.json").read_text())["format"] == "voso-mock-snapshot/1"


async def test_restore_refuses_missing_foreign_or_non_json_files(client, tmp_path):
    # given a file that is not a snapshot
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    # when restoring it, a missing file and a non-.json path
    resp_missing = await client.post("/__admin/restore", json={"path": str(tmp_path / "none.json")})
    resp_other = await client.post("/__admin/restore", json={"path": str(other)})
    resp_txt = await client.post("/__admin/restore", json={"path": str(tmp_path / "x.txt")})
    # then 404 SNAPSHOT_NOT_FOUND, and 400 for the others; the running state is kept
    assert resp_missing.status == 404 and (await resp_missing.json())["code"] == "SNAPSHOT_NOT_FOUND"
    assert resp_other.status == 400 and (await resp_other.json())["data"]["errors"][0]["code"] == "INVALID_SNAPSHOT"
    assert resp_txt.status == 400
    assert (
        await client.post("/v2/user/Login", json={"USERNAME": "htx-meovac", "PASSWORD": "matong-2025"})
    ).status == 200
