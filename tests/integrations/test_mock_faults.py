"""Fault injection (integrations/mocks/faults.py, docs/marketplaces.md §4) exercised against the Postmart-like mock:
every request-side action, the app-specific ones (stale_read, expire_token, partial_batch) and every webhook-side
action on pushes."""

import asyncio
import json
import time

import aiohttp
import pytest

from integrations.mocks.faults import Faults
from tests.integrations.test_postmart_mock import PARTNER_ID, SHOP_ID, T0, admin, png, public_post
from tests.integrations.test_postmart_mock_orders import (
    R1,
    R2,
    deliveries,
    live_item,
    lost,
    make_env,
    move,
    new_order,
)

ADD_ITEM = "^/api/v2/product/add_item$"


@pytest.fixture
async def env(aiohttp_client, aiohttp_server):
    """A seeded Postmart mock, an authorized shop and a loopback receiver subscribed to pushes 3 and 6."""
    return await make_env(aiohttp_client, aiohttp_server)


async def add_fault(client, match, action, rule_id=None):
    body = {"match": match, "action": action} | ({"id": rule_id} if rule_id else {})
    return await admin(client, "POST", "/faults", body)


async def search_sku(shop, sku="HONEY-001"):
    _, body, _ = await shop.call("GET", "/api/v2/product/search_item", params=[("item_sku", sku)])
    return body["response"]["item_id_list"]


async def raw_add_item(shop, timeout=None, **override):
    """add_item without reading the answer as JSON, for faults that break the response."""
    path = "/api/v2/product/add_item"
    body = await shop.item_body(**override)
    kwargs = {"timeout": aiohttp.ClientTimeout(total=timeout)} if timeout else {}
    return await shop.client.post(path, params=shop.query(path), json=body, **kwargs)


# ---------------------------------------------------------------------- admin API and matching


async def test_fault_rules_are_listed_with_counters_and_deleted(env):
    # given a rule firing twice after skipping the first match
    rule = await add_fault(
        env.client, {"method": "GET", "path": "get_category", "times": 2, "after": 1}, {"type": "http_error"}
    )
    # when the path is called four times
    statuses = [(await env.shop.call("GET", "/api/v2/product/get_category"))[0] for _ in range(4)]
    # then the 2nd and 3rd calls fail, and the counters say so
    assert rule["id"] == "f1"
    assert statuses == [200, 500, 500, 200]
    (listed,) = (await admin(env.client, "GET", "/faults"))["faults"]
    assert (listed["seen"], listed["fired"]) == (4, 2)
    # when it is deleted (and a second delete is 404)
    await admin(env.client, "DELETE", f"/faults/{rule['id']}")
    again = await env.client.delete(f"/__admin/faults/{rule['id']}")
    # then the list is empty
    assert again.status == 404
    assert (await admin(env.client, "GET", "/faults"))["faults"] == []


@pytest.mark.parametrize(
    "rule",
    [
        {"match": {}, "action": {"type": "explode"}},
        {"match": {"path": "("}, "action": {"type": "http_error"}},
        {"match": {"times": -1}, "action": {"type": "http_error"}},
        {"match": {"probability": 2}, "action": {"type": "http_error"}},
        {"match": {"colour": "red"}, "action": {"type": "http_error"}},
    ],
)
async def test_malformed_fault_rule_is_refused(env, rule):
    # when a malformed rule is posted
    resp = await env.client.post("/__admin/faults", json=rule)
    # then 400 and nothing is stored
    assert resp.status == 400
    assert (await admin(env.client, "GET", "/faults"))["faults"] == []


async def test_rules_match_method_path_and_shop_and_never_the_admin_api(env):
    # given rules for another shop, for POST only, and one for every path
    await add_fault(env.client, {"shop": 999}, {"type": "http_error", "status": 503})
    await add_fault(env.client, {"method": "POST", "path": "get_category"}, {"type": "http_error"})
    await add_fault(env.client, {"shop": SHOP_ID, "path": "get_channel_list"}, {"type": "http_error", "status": 502})
    # when the shop calls get_category (GET) and get_channel_list, and the admin API is used
    category, _, _ = await env.shop.call("GET", "/api/v2/product/get_category")
    channels, body, _ = await env.shop.call("GET", "/api/v2/logistics/get_channel_list")
    state = await env.client.get("/__admin/state")
    # then only the rule for this shop and path fires; the admin API is never faulted
    assert category == 200
    assert (channels, body["error"]) == (502, "error_inner")
    assert state.status == 200


async def test_probability_draws_from_the_seeded_rng(aiohttp_client, aiohttp_server):
    # given two mocks with the same seed and a 50 % fault on get_category
    patterns = []
    for _ in range(2):
        mock = await make_env(aiohttp_client, aiohttp_server, subscribe=False)
        await add_fault(mock.client, {"path": "get_category", "probability": 0.5}, {"type": "http_error"})
        # when get_category is called 20 times
        patterns.append([(await mock.shop.call("GET", "/api/v2/product/get_category"))[0] for _ in range(20)])
    # then both fail on the same calls, and some but not all fail
    assert patterns[0] == patterns[1]
    assert 0 < patterns[0].count(500) < 20


def test_faults_store_windowed_receiver_down_and_event_matching():
    # given a store with a receiver_down window of 10 s for code 3 only, on a controllable clock
    now = [100.0]
    faults = Faults(seed=1, now=lambda: now[0])
    faults.add({"match": {"event_type": 3, "times": 1}, "action": {"type": "receiver_down", "seconds": 10}})
    # when events are looked up during and after the window, and for another code
    first = faults.take_event("receiver_down", ["3", "order.status_updated"])
    other = faults.take_event("receiver_down", ["6"])
    now[0] = 109.0
    inside = faults.take_event("receiver_down", ["3"])
    now[0] = 110.0
    after = faults.take_event("receiver_down", ["3"])
    # then the window holds for 10 s for code 3 only, and times=1 ends it
    assert first and inside and not other and after is None
    assert faults.rules[0]["fired"] == 1


# ---------------------------------------------------------------------- request-side actions


async def test_http_error_returns_the_envelope_without_executing(env):
    # given a 503 with Retry-After on add_item, once
    await add_fault(
        env.client,
        {"method": "POST", "path": ADD_ITEM, "times": 1},
        {"type": "http_error", "status": 503, "code": "error_inner", "retry_after": 2},
    )
    # when an item is added
    status, body, resp = await env.shop.add_item()
    # then 503 in the Postmart envelope, with Retry-After, and nothing was created
    assert (status, body["error"]) == (503, "error_inner")
    assert set(body) == {"request_id", "error", "message", "warning", "response"}
    assert resp.headers["Retry-After"] == "2"
    assert await search_sku(env.shop) == []
    # and the retry goes through
    assert (await env.shop.add_item())[0] == 200


async def test_commit_then_error_commits_the_write(env):
    # given commit_then_error on add_item, once
    await add_fault(env.client, {"path": ADD_ITEM, "times": 1}, {"type": "commit_then_error", "status": 502})
    # when an item is added
    status, body, _ = await env.shop.add_item()
    # then the caller sees 502 although the item exists; a retry is a duplicate, recovered by search_item
    assert (status, body["error"]) == (502, "error_inner")
    found = await search_sku(env.shop)
    assert len(found) == 1
    retry_status, retry, _ = await env.shop.add_item()
    assert (retry_status, retry["error"]) == (400, "error_repeated_mtsku")


async def test_commit_then_error_can_drop_the_response(env):
    # given commit_then_error with the response dropped
    await add_fault(env.client, {"path": ADD_ITEM, "times": 1}, {"type": "commit_then_error", "drop": True})
    # when an item is added
    with pytest.raises(aiohttp.ClientConnectionError):
        await raw_add_item(env.shop)
    # then the connection broke but the item was created
    assert len(await search_sku(env.shop)) == 1


@pytest.mark.parametrize("commit", [False, True])
async def test_timeout_holds_past_the_client_timeout(env, commit):
    # given a 0.4 s hold on add_item, committing or not
    await add_fault(env.client, {"path": ADD_ITEM, "times": 1}, {"type": "timeout", "hold_s": 0.4, "commit": commit})
    # when the client gives up after 0.1 s
    with pytest.raises(asyncio.TimeoutError):
        await raw_add_item(env.shop, timeout=0.1)
    await asyncio.sleep(0.4)  # let the held request finish on the server side
    # then the item exists only when the fault committed it
    assert len(await search_sku(env.shop)) == (1 if commit else 0)


async def test_latency_slows_the_answer(env):
    # given 300 ms of latency on get_category
    await add_fault(env.client, {"path": "get_category"}, {"type": "latency", "ms": 300})
    # when it is called
    started = time.perf_counter()
    status, body, _ = await env.shop.call("GET", "/api/v2/product/get_category")
    # then the normal answer comes, late
    assert time.perf_counter() - started >= 0.3
    assert status == 200 and body["response"]["category_list"]


async def test_reset_closes_the_connection_without_executing(env):
    # given a reset on add_item
    await add_fault(env.client, {"path": ADD_ITEM, "times": 1}, {"type": "reset"})
    # when an item is added
    with pytest.raises(aiohttp.ClientConnectionError):
        await raw_add_item(env.shop)
    # then nothing was created, and the request log shows the fault
    assert await search_sku(env.shop) == []
    log = (await admin(env.client, "GET", "/requests?limit=10"))["requests"]
    assert [(e["fault"]["type"], e["status"]) for e in log if "fault" in e] == [("reset", None)]


async def test_rate_limit_fault_gives_429_with_retry_after(env):
    # given a rate_limit fault with Retry-After 7
    await add_fault(env.client, {"path": ADD_ITEM, "times": 1}, {"type": "rate_limit", "retry_after": 7})
    # when an item is added
    status, body, resp = await env.shop.add_item()
    # then 429 error_too_many_request with Retry-After: 7, and nothing was created
    assert (status, body["error"]) == (429, "error_too_many_request")
    assert resp.headers["Retry-After"] == "7"
    assert await search_sku(env.shop) == []


async def test_malformed_body_is_truncated_json(env):
    # given malformed_body on get_category
    await add_fault(env.client, {"path": "get_category", "times": 1}, {"type": "malformed_body"})
    # when it is called twice
    path = "/api/v2/product/get_category"
    broken = await env.client.get(path, params=env.shop.query(path))
    whole = await env.client.get(path, params=env.shop.query(path))
    # then the first answer is 200 with a cut JSON document, a prefix of a real answer
    text = await broken.text()
    assert broken.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    good = await whole.text()
    assert text.startswith('{"request_id"') and len(text) < len(good)


# ---------------------------------------------------------------------- app-specific actions


async def test_stale_read_returns_the_previous_version_for_n_seconds(env):
    # given a live item and stale_read for 30 s on item reads
    item_id = await live_item(env.shop)
    await add_fault(env.client, {"path": "get_item"}, {"type": "stale_read", "seconds": 30})
    # when its price is updated and it is read at once, then after 30 s
    await env.shop.call(
        "POST", "/api/v2/product/update_price", {"item_id": item_id, "price_list": [{"original_price": 260000}]}
    )
    stale = await env.shop.base_info(item_id)
    await env.shop.tick(30)
    fresh = await env.shop.base_info(item_id)
    # then the first read still shows the old price, the later one the new
    assert stale["price_info"][0]["original_price"] == 250000
    assert fresh["price_info"][0]["original_price"] == 260000


async def test_stale_read_hides_a_new_item_and_old_status_in_item_list(env):
    # given stale_read for 30 s, and reviews decided by the admin only
    await admin(env.client, "PUT", "/review-config", {"shop_modes": {str(SHOP_ID): "manual"}})
    await add_fault(env.client, {"path": "get_item"}, {"type": "stale_read", "seconds": 30})
    # when an item is added and approved, then read at once
    _, added, _ = await env.shop.add_item(item_status="NORMAL")
    item_id = added["response"]["item_id"]
    _, base, _ = await env.shop.call(
        "GET", "/api/v2/product/get_item_base_info", params=[("item_id_list", str(item_id))]
    )
    await env.shop.tick(31)
    await admin(env.client, "POST", f"/review/{item_id}", {"decision": "approve"})
    _, listed, _ = await env.shop.call("GET", "/api/v2/product/get_item_list")
    # then the new item is not visible yet, and just after approval the list still says REVIEWING
    assert base["response"]["item_list"] == []
    assert [(i["item_id"], i["item_status"]) for i in listed["response"]["item"]] == [(item_id, "REVIEWING")]


async def test_expire_token_makes_the_next_call_refresh(env):
    # given expire_token on the next shop call
    await add_fault(env.client, {"times": 1}, {"type": "expire_token"})
    # when the shop calls twice with its token
    first, body, _ = await env.shop.call("GET", "/api/v2/product/get_category")
    second, _, _ = await env.shop.call("GET", "/api/v2/product/get_category")
    # then the token is expired from then on, and a refresh gives a working one
    assert (first, body["error"], body["message"]) == (403, "error_auth", "Invalid access_token.")
    assert second == 403
    refresh = {"refresh_token": env.shop.refresh_token, "shop_id": SHOP_ID, "partner_id": PARTNER_ID}
    status, pair = await public_post(env.client, "/api/v2/auth/access_token/get", refresh)
    assert status == 200
    env.shop.access_token = pair["response"]["access_token"]
    assert (await env.shop.call("GET", "/api/v2/product/get_category"))[0] == 200


async def test_partial_batch_fails_only_the_listed_upload_entries(env):
    # given partial_batch failing entry 1 of an upload
    await add_fault(env.client, {"path": "upload_image", "times": 1}, {"type": "partial_batch", "fail_indices": [1]})
    # when three valid images are uploaded
    status, body, _ = await env.shop.upload(*[png(600, 600, bytes([i])) for i in range(3)])
    # then HTTP 200, entries 0 and 2 have image ids, entry 1 an error and no image
    results = body["response"]["image_info_list"]
    assert status == 200
    assert [r["error"] for r in results] == ["", "error_inner", ""]
    assert "image_info" not in results[1] and results[0]["image_info"]["image_id"]


async def test_partial_batch_fails_only_the_listed_unlist_entries(env):
    # given two live items and partial_batch failing entry 0 of an unlist batch
    first, second = await live_item(env.shop, n=1), await live_item(env.shop, n=2)
    await add_fault(env.client, {"path": "unlist_item", "times": 1}, {"type": "partial_batch", "fail_indices": [0]})
    # when both are unlisted
    _, body, _ = await env.shop.call(
        "POST",
        "/api/v2/product/unlist_item",
        {"item_list": [{"item_id": first, "unlist": True}, {"item_id": second, "unlist": True}]},
    )
    # then only the second is unlisted; the first failed and is untouched
    assert [f["item_id"] for f in body["response"]["failure_list"]] == [first]
    assert body["response"]["success_list"] == [{"item_id": second, "unlist": True}]
    assert (await env.shop.base_info(first))["item_status"] == "NORMAL"
    assert (await env.shop.base_info(second))["item_status"] == "UNLIST"


# ---------------------------------------------------------------------- webhook-side actions


async def test_duplicate_delivers_the_same_push_several_times(env):
    # given duplicate (3 copies, 200 ms apart) for order pushes
    await add_fault(env.client, {"event_type": "order.status_updated"}, {"type": "duplicate", "copies": 3})
    # when an order is made and time passes
    await new_order(env.client, await live_item(env.shop))
    await env.shop.tick(0)
    await env.shop.tick(0.5)
    # then three identical pushes arrived for one event
    datas = [b["data"] for b in env.receiver.accepted()]
    assert len(datas) == 3 and datas[0] == datas[1] == datas[2]
    rows = await deliveries(env.client)
    assert {r["event_id"] for r in rows} == {rows[0]["event_id"]}
    assert sorted(r["copy"] for r in rows) == [1, 2, 3]
    assert [r["time"] for r in rows] == [T0, T0 + 0.5, T0 + 0.5]


async def test_reorder_holds_a_push_so_a_later_one_arrives_first(env):
    # given the first order push held for 5 s
    await add_fault(env.client, {"event_type": 3, "times": 1}, {"type": "reorder", "hold_ms": 5000})
    sn = (await new_order(env.client, await live_item(env.shop)))["order_sn"]
    # when the order moves on at once
    await move(env.client, sn, "PROCESSED")
    await env.shop.tick(0)
    before = [b["data"]["status"] for b in env.receiver.accepted()]
    await env.shop.tick(5)
    # then PROCESSED arrives before READY_TO_SHIP
    assert before == ["PROCESSED"]
    assert [b["data"]["status"] for b in env.receiver.accepted()] == ["PROCESSED", "READY_TO_SHIP"]


async def test_drop_never_delivers_and_the_push_is_in_the_lost_store(env):
    # given order pushes dropped once, and an item to ban (code 6 is not matched)
    await add_fault(env.client, {"event_type": "order.status_updated", "times": 1}, {"type": "drop"})
    item_id = await live_item(env.shop)
    # when an order is made and an item banned
    sn = (await new_order(env.client, item_id))["order_sn"]
    await admin(env.client, "POST", f"/items/{item_id}/ban", {})
    await env.shop.tick(0)
    await env.shop.tick(3600)
    # then only the ban arrived; the order push is in the lost store
    assert env.receiver.codes() == [6]
    (message,) = (await lost(env.shop))["push_message_list"]
    assert message["code"] == 3 and json.loads(message["data"])["ordersn"] == sn
    assert [(r["attempt"], r["outcome"]) for r in await deliveries(env.client, code="3")] == [(0, "dropped")]


async def test_bad_signature_is_rejected_then_the_retry_is_accepted(env):
    # given the first order push badly signed
    await add_fault(env.client, {"event_type": 3, "times": 1}, {"type": "bad_signature"})
    # when it is delivered, and retried after 60 s × time_scale
    await new_order(env.client, await live_item(env.shop))
    await env.shop.tick(0)
    await env.shop.tick(R1)
    # then the receiver refused the first (recorded as a 401 failure) and accepted the retry
    rows = await deliveries(env.client)
    assert [(r["attempt"], r["status"], r["outcome"], r["fault"]) for r in rows] == [
        (1, 401, "failed", "bad_signature"),
        (2, 200, "success", None),
    ]
    assert rows[0]["signature"] != rows[1]["signature"]
    assert len(env.receiver.accepted()) == 1


async def test_stale_timestamp_is_rejected_then_the_retry_is_accepted(env):
    # given the first order push 900 s old
    await add_fault(env.client, {"event_type": 3, "times": 1}, {"type": "stale_timestamp", "skew_s": 900})
    # when it is delivered and retried
    await new_order(env.client, await live_item(env.shop))
    await env.shop.tick(0)
    await env.shop.tick(R1)
    # then the receiver refused the stale one, and the retry carries a fresh timestamp
    assert [p["answer"] for p in env.receiver.pushes] == [400, 200]
    assert env.receiver.pushes[0]["json"]["timestamp"] == T0 - 900
    assert [(r["attempt"], r["status"]) for r in await deliveries(env.client)] == [(1, 400), (2, 200)]


async def test_receiver_down_fails_every_attempt_in_the_window(env):
    # given the receiver down for 2 virtual seconds
    await add_fault(env.client, {"times": 1}, {"type": "receiver_down", "seconds": 2})
    # when an order is pushed and retried at +R1, then +R2 (outside the window)
    await new_order(env.client, await live_item(env.shop))
    for step in (0, R1, R2):
        await env.shop.tick(step)
    # then the first two attempts failed without reaching the receiver, the third succeeded
    rows = await deliveries(env.client)
    assert [(r["attempt"], r["status"], r["fault"]) for r in rows] == [
        (1, None, "receiver_down"),
        (2, None, "receiver_down"),
        (3, 200, None),
    ]
    assert len(env.receiver.pushes) == 1
