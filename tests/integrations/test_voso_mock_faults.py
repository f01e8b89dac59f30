"""Fault injection (shared/docs/marketplaces.md §4) wired into the Voso-like mock: the shared rule store and
middleware from integrations/mocks/faults.py, plus Voso's own stale_read, expire_token, partial_batch and the
webhook-side actions on its signed deliveries. Real sleeps are kept to fractions of a second."""

import asyncio
import json
import time

import aiohttp
import pytest
from aiohttp import web

from tests.integrations.test_voso_mock import (
    PASSWORD,
    USERNAME,
    create,
    get_product,
    login,
    migrate,
    product_body,
    verify,
)

TOLERANCE_S = 300  # what §3 tells receivers to accept between t= and their clock


async def add_fault(client, rule: dict) -> dict:
    resp = await client.post("/__admin/faults", json=rule)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def mock_now(client) -> float:
    return (await (await client.post("/__admin/clock", json={})).json())["now"]


async def tick(client, seconds: float = 0) -> None:
    assert (await client.post("/__admin/tick", json={"seconds": seconds})).status == 200


async def product_count(client) -> int:
    return len((await (await client.get("/__admin/state")).json())["products"])


async def active_product(client, token: str, cdn_urls: list[str]) -> dict:
    resp, created = await create(client, token, product_body(cdn_urls))
    assert resp.status == 201, created
    pid = created["data"]["productId"]
    await client.post(f"/__admin/review/{pid}", json={"decision": "approve"})
    return await get_product(client, token, pid)


@pytest.fixture
async def receiver(aiohttp_server, client):
    """A strict loopback receiver: it checks the signature with `secret` and t against the mock's clock
    (±300 s), answers 400 when either is wrong, else `reply["status"]`; every call is recorded."""
    calls: list[dict] = []
    conf = {"status": 200, "secret": None}

    async def hook(request: web.Request) -> web.Response:
        body = await request.text()
        header = request.headers.get("X-Voso-Signature", "")
        t = int(dict(p.split("=", 1) for p in header.split(",")).get("t", "0"))
        fresh = abs(await mock_now(client) - t) <= TOLERANCE_S
        signed = conf["secret"] is not None and verify(conf["secret"], header, body)
        status = conf["status"] if fresh and signed else 400
        calls.append({"headers": dict(request.headers), "body": body, "answered": status, "fresh": fresh})
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return {"url": str(server.make_url("/hook")), "calls": calls, "conf": conf}


async def subscribe(client, token: str, receiver: dict, events: list[str]) -> None:
    resp = await client.put("/v2/webhooks", json={"url": receiver["url"], "events": events}, headers={"Token": token})
    assert resp.status == 200
    receiver["conf"]["secret"] = (await resp.json())["data"]["secret"]


async def place(client, product_id: str) -> dict:
    body = {"productId": product_id, "quantity": 1, "paymentMethod": "COD", "buyer": {"provinceCode": "01"}}
    resp = await client.post("/__admin/orders", json=body)
    assert resp.status == 201
    return await resp.json()


async def transition(client, order_id: str, to: str) -> None:
    resp = await client.post(f"/__admin/orders/{order_id}/transition", json={"to": to})
    assert resp.status == 200


def events_of(receiver: dict) -> list[dict]:
    return [json.loads(c["body"]) for c in receiver["calls"]]


# ------------------------------------------------------------------------------------------------ admin


async def test_fault_rules_are_added_listed_and_deleted(client):
    # given two rules, one without an id
    first = await add_fault(client, {"id": "f1", "match": {"path": "^/v2/products$"}, "action": {"type": "reset"}})
    second = await add_fault(client, {"match": {"event_type": "order.created"}, "action": {"type": "drop"}})
    # when they are listed, one is deleted, and a malformed rule is posted
    listed = (await (await client.get("/__admin/faults")).json())["faults"]
    deleted = await client.delete("/__admin/faults/f1")
    bad = await client.post("/__admin/faults", json={"action": {"type": "explode"}})
    # then both were kept in order with counters, deletion leaves one, and the bad rule is refused
    assert [r["id"] for r in listed] == ["f1", second["id"]] and first["fired"] == 0
    assert deleted.status == 200
    assert [r["id"] for r in (await (await client.get("/__admin/faults")).json())["faults"]] == [second["id"]]
    assert bad.status == 400


async def test_reset_clears_the_rules(client):
    # given a rule
    await add_fault(client, {"match": {}, "action": {"type": "http_error", "status": 500}})
    # when the mock is reset
    await client.post("/__admin/reset")
    # then no rule is left
    assert (await (await client.get("/__admin/faults")).json())["faults"] == []


# ------------------------------------------------------------------------------------------------ request side


async def test_http_error_answers_in_the_voso_envelope_without_running_the_handler(client, token, cdn_urls):
    # given a one-shot 503 with Retry-After on product creation
    rule = {"match": {"method": "POST", "path": "^/v2/products$", "times": 1}, "action": {"type": "http_error"}}
    rule["action"] |= {"status": 503, "retry_after": 4}
    await add_fault(client, rule)
    # when a product is created twice
    resp, body = await create(client, token, product_body(cdn_urls))
    # then the first call gets 503 SERVICE_UNAVAILABLE in the envelope and nothing is created
    assert resp.status == 503 and resp.headers["Retry-After"] == "4"
    assert body["status"] == 503 and body["error"] is True and body["code"] == "SERVICE_UNAVAILABLE"
    assert await product_count(client) == 0
    # and the rule is used up: the second call goes through
    resp, _ = await create(client, token, product_body(cdn_urls))
    assert resp.status == 201 and await product_count(client) == 1


async def test_commit_then_error_is_recovered_through_the_idempotency_key(client, token, cdn_urls):
    # given a 502 after the create commits
    await add_fault(
        client,
        {"match": {"method": "POST", "path": "^/v2/products$", "times": 1}, "action": {"type": "commit_then_error"}},
    )
    # when the adapter creates with an Idempotency-Key, gets 502, and retries with the same key
    first, failed = await create(client, token, product_body(cdn_urls), key="create-listing-0001")
    second, replayed = await create(client, token, product_body(cdn_urls), key="create-listing-0001")
    # then the write had committed, and the retry replays the stored 201: still one product
    assert first.status == 502 and failed["code"] == "BAD_GATEWAY"
    assert second.status == 201 and second.headers["Idempotent-Replayed"] == "true"
    assert await product_count(client) == 1
    listed = await client.get("/v2/products", params={"externalId": "listing-0001"}, headers={"Token": token})
    assert [p["productId"] for p in (await listed.json())["data"]["items"]] == [replayed["data"]["productId"]]


async def test_commit_then_error_without_a_key_is_recovered_through_the_sku_clash(client, token, cdn_urls):
    # given a 502 after the create commits
    await add_fault(
        client,
        {"match": {"method": "POST", "path": "^/v2/products$", "times": 1}, "action": {"type": "commit_then_error"}},
    )
    # when the adapter retries without a key
    first, _ = await create(client, token, product_body(cdn_urls))
    second, clash = await create(client, token, product_body(cdn_urls))
    # then the retry names the product that was committed
    assert first.status == 502 and second.status == 409 and clash["code"] == "SELLER_SKU_DUPLICATE"
    state = await (await client.get("/__admin/state")).json()
    assert clash["data"]["existingProductId"] == state["products"][0]["productId"]


@pytest.mark.parametrize(("commit", "created"), [(True, 1), (False, 0)])
async def test_timeout_holds_past_the_client_timeout_and_commits_only_when_told(
    client, token, cdn_urls, commit, created
):
    # given a 0.3 s hold on product creation
    rule = {"match": {"path": "^/v2/products$"}, "action": {"type": "timeout", "hold_s": 0.3, "commit": commit}}
    await add_fault(client, rule)
    # when a client with a 0.1 s timeout creates a product
    with pytest.raises(TimeoutError):
        await client.post(
            "/v2/products",
            json=product_body(cdn_urls),
            headers={"Token": token},
            timeout=aiohttp.ClientTimeout(total=0.1),
        )
    await asyncio.sleep(0.35)  # let the held handler finish
    # then the outcome is ambiguous for the client, and the product exists only with commit
    assert await product_count(client) == created


async def test_timeout_without_commit_answers_504_to_a_patient_client(client, token):
    # given a short hold without commit
    await add_fault(client, {"match": {"path": "^/v2/categories$"}, "action": {"type": "timeout", "hold_s": 0.05}})
    # when a patient client waits for the answer
    resp = await client.get("/v2/categories", headers={"Token": token})
    # then it is a 504 in the envelope
    assert resp.status == 504 and (await resp.json())["code"] == "GATEWAY_TIMEOUT"


async def test_latency_slows_the_answer_down(client, token):
    # given 150 ms of latency on the category tree
    await add_fault(client, {"match": {"path": "^/v2/categories$"}, "action": {"type": "latency", "ms": 150}})
    # when it is read
    started = time.perf_counter()
    resp = await client.get("/v2/categories", headers={"Token": token})
    # then the answer is normal but late
    assert resp.status == 200 and (await resp.json())["code"] == "OK"
    assert time.perf_counter() - started >= 0.15


async def test_reset_closes_the_connection_without_an_answer(client, token):
    # given a connection reset on the warehouse list
    await add_fault(client, {"match": {"path": "^/v2/warehouses$", "times": 1}, "action": {"type": "reset"}})
    # when it is read
    # then the client sees a dropped connection
    with pytest.raises(aiohttp.ClientConnectionError):
        resp = await client.get("/v2/warehouses", headers={"Token": token})
        await resp.read()


async def test_rate_limit_gives_429_with_the_given_retry_after(client, token):
    # given a rate_limit fault of 7 s
    await add_fault(client, {"match": {"path": "^/v2/categories$"}, "action": {"type": "rate_limit", "retry_after": 7}})
    # when the category tree is read
    resp = await client.get("/v2/categories", headers={"Token": token})
    # then 429 RATE_LIMITED with Retry-After: 7
    assert resp.status == 429 and resp.headers["Retry-After"] == "7"
    assert (await resp.json())["code"] == "RATE_LIMITED"


async def test_malformed_body_is_truncated_json_with_200(client, token):
    # given a malformed_body fault on the category tree
    await add_fault(client, {"match": {"path": "^/v2/categories$"}, "action": {"type": "malformed_body"}})
    # when it is read
    resp = await client.get("/v2/categories", headers={"Token": token})
    raw = await resp.read()
    # then the status is 200 but the body does not parse
    assert resp.status == 200
    with pytest.raises(ValueError):
        json.loads(raw)


async def test_after_times_and_shop_select_which_calls_fail_and_the_log_shows_it(client, token):
    # given a rule skipping one matching call, firing once, for the seller's shop only, and a rule for another shop
    shop_id = (await (await client.get("/__admin/state")).json())["shops"][0]["shopId"]
    other = {"match": {"path": "^/v2/categories$", "shop": "VSS-0000"}, "action": {"type": "http_error"}}
    mine = {"id": "mine", "match": {"path": "^/v2/categories$", "after": 1, "times": 1, "shop": shop_id}}
    mine["action"] = {"type": "http_error", "status": 500}
    await add_fault(client, other)
    await add_fault(client, mine)
    # when the category tree is read three times
    statuses = [(await client.get("/v2/categories", headers={"Token": token})).status for _ in range(3)]
    # then only the second call failed, and the request log names the rule
    assert statuses == [200, 500, 200]
    logged = (await (await client.get("/__admin/requests", params={"limit": "3"})).json())["requests"]
    assert [r.get("fault") for r in logged] == [None, {"id": "mine", "type": "http_error"}, None]
    rules = {r["id"]: r for r in (await (await client.get("/__admin/faults")).json())["faults"]}
    assert (rules["mine"]["seen"], rules["mine"]["fired"]) == (3, 1)


async def test_admin_routes_are_never_faulted(client):
    # given a rule matching every path
    await add_fault(client, {"match": {}, "action": {"type": "http_error", "status": 500}})
    # when the admin API is used
    resp = await client.get("/__admin/state")
    # then it still answers
    assert resp.status == 200


# ------------------------------------------------------------------------------------------------ Voso-specific


async def test_stale_read_serves_the_previous_version_for_n_seconds_after_a_write(client, token, cdn_urls):
    # given a product whose stock was just changed from 120 to 7, and a 30 s stale_read on product reads
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    await tick(client, 60)
    resp = await client.put(f"/v2/products/{pid}/price-stock", json={"stock": 7}, headers={"Token": token})
    assert (await resp.json())["data"]["version"] == 2
    await add_fault(client, {"match": {"method": "GET", "path": "^/v2/products"}, "action": {"type": "stale_read"}})
    # when it is read at once (by id and in the list), and again 30 s later
    stale = await get_product(client, token, pid)
    listed = await client.get("/v2/products", headers={"Token": token})
    await tick(client, 30)
    fresh = await get_product(client, token, pid)
    # then the first reads see version 1 (stock 120), the later read version 2 (stock 7)
    assert (stale["version"], stale["stock"]) == (1, 120)
    assert [(p["version"], p["stock"]) for p in (await listed.json())["data"]["items"]] == [(1, 120)]
    assert (fresh["version"], fresh["stock"]) == (2, 7)


async def test_stale_read_hides_a_product_created_moments_ago(client, token, cdn_urls):
    # given a stale_read of 10 s and a product created now
    await add_fault(client, {"match": {"method": "GET"}, "action": {"type": "stale_read", "seconds": 10}})
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    # when it is read at once and 10 s later
    early = await client.get(f"/v2/products/{pid}", headers={"Token": token})
    await tick(client, 10)
    late = await client.get(f"/v2/products/{pid}", headers={"Token": token})
    # then the lagging read does not know it yet; the later one does
    assert early.status == 404 and (await early.json())["code"] == "PRODUCT_NOT_FOUND"
    assert late.status == 200


async def test_stale_read_only_counts_reads_it_changes(client, token, cdn_urls):
    # given a one-shot stale_read and a product last written 60 s ago
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    await tick(client, 60)
    await add_fault(client, {"id": "lag", "match": {"times": 1}, "action": {"type": "stale_read", "seconds": 30}})
    # when it is read (nothing recent: the rule is not used up), then written and read twice
    await get_product(client, token, pid)
    await client.patch(f"/v2/products/{pid}", json={"brand": "HTX Mèo Vạc"}, headers={"Token": token})
    first = await get_product(client, token, pid)
    second = await get_product(client, token, pid)
    # then only the first read after the write was stale
    assert (first["version"], second["version"]) == (1, 2)


async def test_expire_token_makes_the_next_call_fail_until_a_new_login(client, token):
    # given an expire_token fault
    await add_fault(client, {"match": {"times": 1}, "action": {"type": "expire_token"}})
    # when the seller calls twice with its token, then logs in again
    first = await client.get("/v2/categories", headers={"Token": token})
    second = await client.get("/v2/categories", headers={"Token": token})
    fresh = await login(client, USERNAME, PASSWORD)
    third = await client.get("/v2/categories", headers={"Token": fresh})
    # then the token is expired for good (401 TOKEN_EXPIRED), and the new token works
    assert first.status == second.status == 401
    assert (await first.json())["code"] == (await second.json())["code"] == "TOKEN_EXPIRED"
    assert third.status == 200


async def test_partial_batch_fails_only_the_given_migrate_entries(client, token, image_server):
    # given a partial_batch on media migration failing entry 1
    await add_fault(
        client,
        {"match": {"path": "^/v2/media/migrate$"}, "action": {"type": "partial_batch", "fail_indices": [1]}},
    )
    # when three good images are migrated
    urls = [str(image_server.make_url(f"/img/600x600/pb{i}.png")) for i in range(3)]
    data = await migrate(client, token, urls)
    # then entry 1 failed as a transient fetch error, the others are on the CDN
    assert [(r["sourceUrl"], r["ok"], r.get("errorCode")) for r in data["results"]] == [
        (urls[0], True, None),
        (urls[1], False, "FETCH_TIMEOUT"),
        (urls[2], True, None),
    ]


# ------------------------------------------------------------------------------------------------ webhook side


@pytest.fixture
async def ordered(client, token, cdn_urls):
    """An ACTIVE product with a subscription-free history, ready for orders."""
    return await active_product(client, token, cdn_urls)


async def test_duplicate_delivers_copies_with_the_same_event_id(client, token, ordered, receiver):
    # given three copies of every order.created
    await subscribe(client, token, receiver, ["order.created"])
    await add_fault(
        client,
        {"match": {"event_type": "order.created"}, "action": {"type": "duplicate", "copies": 3, "spacing_ms": 200}},
    )
    # when an order is placed and the scheduler runs for a second
    await place(client, ordered["productId"])
    await tick(client, 0)
    await tick(client, 1)
    # then three signed, identical deliveries arrive with one eventId
    assert len(receiver["calls"]) == 3
    assert len({c["headers"]["X-Voso-Event-Id"] for c in receiver["calls"]}) == 1
    assert len({c["body"] for c in receiver["calls"]}) == 1
    assert all(c["answered"] == 200 for c in receiver["calls"])


async def test_reorder_holds_an_event_so_a_later_one_arrives_first(client, token, ordered, receiver):
    # given ready_to_ship updates held for 5 s
    await subscribe(client, token, receiver, ["order.status_updated"])
    await add_fault(
        client,
        {"match": {"event_type": "order.status_updated", "times": 1}, "action": {"type": "reorder", "hold_ms": 5000}},
    )
    # when the order moves to ready_to_ship then shipped at once
    order = await place(client, ordered["productId"])
    await transition(client, order["orderId"], "ready_to_ship")
    await transition(client, order["orderId"], "shipped")
    await tick(client, 0)
    await tick(client, 5)
    # then shipped (v3) arrives before ready_to_ship (v2): the receiver must keep the higher version
    assert [(e["data"]["status"], e["data"]["version"]) for e in events_of(receiver)] == [
        ("shipped", 3),
        ("ready_to_ship", 2),
    ]


async def test_drop_never_delivers_but_the_feed_and_failed_list_have_it(client, token, ordered, receiver):
    # given order.created events dropped
    await subscribe(client, token, receiver, ["order.created"])
    await add_fault(client, {"match": {"event_type": "order.created"}, "action": {"type": "drop"}})
    # when an order is placed and the scheduler runs
    order = await place(client, ordered["productId"])
    await tick(client, 0)
    await tick(client, 3600)
    token = await login(client)
    # then nothing arrived; the change feed and the FAILED list both show it, and a manual retry delivers it
    assert receiver["calls"] == []
    feed = await client.get("/v2/orders/changes", headers={"Token": token})
    assert [c["orderId"] for c in (await feed.json())["data"]["changes"]] == [order["orderId"]]
    failed = await client.get("/v2/webhooks/deliveries", params={"status": "FAILED"}, headers={"Token": token})
    [delivery] = (await failed.json())["data"]["items"]
    assert delivery["fault"] == "drop" and delivery["attempts"] == 0 and delivery["lastError"] == "DROPPED"
    attempts = (await (await client.get("/__admin/deliveries")).json())["attempts"]
    assert [(a["attempt"], a["fault"]) for a in attempts] == [(0, "drop")]
    resp = await client.post(f"/v2/webhooks/deliveries/{delivery['deliveryId']}/retry", headers={"Token": token})
    assert (await resp.json())["data"]["status"] == "DELIVERED"
    assert json.loads(receiver["calls"][0]["body"])["data"]["orderId"] == order["orderId"]


async def test_bad_signature_is_rejected_then_the_retry_is_signed_correctly(client, token, ordered, receiver):
    # given one badly signed delivery
    await subscribe(client, token, receiver, ["order.created"])
    await add_fault(client, {"match": {"times": 1}, "action": {"type": "bad_signature"}})
    # when an order event is sent and retried a minute later
    await place(client, ordered["productId"])
    await tick(client, 0)
    await tick(client, 60)
    # then the receiver refused the first (400, recorded as a failure) and accepted the retry
    assert [c["answered"] for c in receiver["calls"]] == [400, 200]
    attempts = (await (await client.get("/__admin/deliveries")).json())["attempts"]
    assert [(a["status"], a["ok"], a["fault"]) for a in attempts] == [(400, False, "bad_signature"), (200, True, None)]
    assert not verify(receiver["conf"]["secret"], attempts[0]["signature"], receiver["calls"][0]["body"])


async def test_stale_timestamp_is_rejected_by_a_receiver_checking_the_tolerance(client, token, ordered, receiver):
    # given one delivery stamped 900 s in the past
    await subscribe(client, token, receiver, ["order.created"])
    await add_fault(client, {"match": {"times": 1}, "action": {"type": "stale_timestamp", "skew_s": 900}})
    # when an order event is sent and retried
    await place(client, ordered["productId"])
    await tick(client, 0)
    now = await mock_now(client)
    await tick(client, 60)
    # then the first carried a valid HMAC over t = now − 900, which the receiver refused as stale
    first, second = receiver["calls"]
    assert first["headers"]["X-Voso-Signature"].startswith(f"t={int(now - 900)},v1=")
    assert verify(receiver["conf"]["secret"], first["headers"]["X-Voso-Signature"], first["body"])
    assert (first["fresh"], first["answered"]) == (False, 400)
    assert (second["fresh"], second["answered"]) == (True, 200)


async def test_receiver_down_fails_every_attempt_in_its_window(client, token, ordered, receiver):
    # given the receiver down for 120 s from the first attempt
    await subscribe(client, token, receiver, ["order.created"])
    await add_fault(client, {"match": {"times": 1}, "action": {"type": "receiver_down", "seconds": 120}})
    # when the retry schedule runs: attempts at +0 and +60 s fall in the window, +360 s does not
    await place(client, ordered["productId"])
    await tick(client, 0)
    await tick(client, 60)
    await tick(client, 300)
    # then only the third attempt reached the receiver
    attempts = (await (await client.get("/__admin/deliveries")).json())["attempts"]
    assert [(a["attempt"], a["error"], a["ok"]) for a in attempts] == [
        (1, "RECEIVER_DOWN", False),
        (2, "RECEIVER_DOWN", False),
        (3, None, True),
    ]
    assert len(receiver["calls"]) == 1


async def test_faults_survive_a_snapshot_and_restore(client, tmp_path):
    # given a rule that fired once, and a snapshot
    await add_fault(client, {"id": "keep", "match": {"path": "^/v2/categories$"}, "action": {"type": "reset"}})
    path = tmp_path / "faults.json"
    await client.post("/__admin/snapshot", json={"path": str(path)})
    # when the mock is reset and restored
    await client.post("/__admin/reset")
    await client.post("/__admin/restore", json={"path": str(path)})
    # then the rule is back
    assert [r["id"] for r in (await (await client.get("/__admin/faults")).json())["faults"]] == ["keep"]
