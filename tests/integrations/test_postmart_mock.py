"""Tests of the Postmart-like mock marketplace (integrations/mocks/postmart), docs/marketplaces.md §1-§2."""

import hashlib
import hmac
import json
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from integrations.mocks.postmart import create_app

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_800_000_000
PARTNER_ID = 1001
PARTNER_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
SHOP_ID = 3001
HONEY = 101
CRAFT = 301
VALID_CERT = "OCOP-HG-2024-0001"


def sign(path, timestamp, access_token="", shop_id="", partner_id=PARTNER_ID, key=PARTNER_KEY):
    base = f"{partner_id}{path}{timestamp}{access_token}{shop_id}"
    return hmac.new(key.encode(), base.encode(), hashlib.sha256).hexdigest()


def png(width, height, nonce=b""):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\x00\x00\x00\x00" + nonce


def jpeg(width, height, nonce=b""):
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9" + nonce


class Shop:
    """A signed client for one shop of the mock."""

    def __init__(self, client, tokens):
        self.client = client
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        self.now = T0

    def query(self, path, **override):
        q = {
            "partner_id": PARTNER_ID,
            "timestamp": self.now,
            "access_token": self.access_token,
            "shop_id": SHOP_ID,
        }
        q["sign"] = sign(path, self.now, self.access_token, SHOP_ID)
        q.update(override)
        return {k: str(v) for k, v in q.items() if v is not None}

    async def call(self, method, path, body=None, params=None, data=None, **override):
        query = self.query(path, **override)
        if params:
            query = list(query.items()) + list(params)
        resp = await self.client.request(method, path, params=query, json=body, data=data)
        return resp.status, await resp.json(), resp

    async def upload(self, *images):
        form = aiohttp.FormData()
        for i, content in enumerate(images):
            form.add_field("image", content, filename=f"p{i}.png", content_type="application/octet-stream")
        return await self.call("POST", "/api/v2/media_space/upload_image", data=form)

    async def image_ids(self, count=3, width=800, height=800):
        nonce = str(time.perf_counter_ns()).encode()
        status, body, _ = await self.upload(*[png(width, height, nonce + bytes([i])) for i in range(count)])
        assert status == 200, body
        return [e["image_info"]["image_id"] for e in body["response"]["image_info_list"]]

    async def item_body(self, **override):
        body = {
            "item_name": "Mật ong bạc hà Mèo Vạc",
            "description": "Mật ong bạc hà nguyên chất từ cao nguyên đá Đồng Văn, thu hoạch mùa đông.",
            "original_price": 250000,
            "seller_stock": [{"stock": 40}],
            "weight": 0.75,
            "dimension": {"package_length": 10, "package_width": 10, "package_height": 20},
            "category_id": HONEY,
            "image": {"image_id_list": await self.image_ids(3)},
            "item_sku": "HONEY-001",
            "attribute_list": ocop_attributes(),
            "logistic_info": [{"logistic_id": 50011, "enabled": True}],
            "pickup_address_id": SHOP_ID * 10 + 1,
            "pre_order": {"is_pre_order": False, "days_to_ship": 2},
            "condition": "NEW",
            "brand": {"brand_id": 0, "original_brand_name": "No brand"},
            "item_status": "NORMAL",
        }
        body.update(override)
        return body

    async def add_item(self, **override):
        return await self.call("POST", "/api/v2/product/add_item", await self.item_body(**override))

    async def base_info(self, item_id):
        status, body, _ = await self.call(
            "GET", "/api/v2/product/get_item_base_info", params=[("item_id_list", str(item_id))]
        )
        assert status == 200, body
        return body["response"]["item_list"][0]

    async def tick(self, seconds):
        """Advance the virtual clock through the admin API and keep the signed timestamps in step."""
        self.now += seconds
        return await admin(self.client, "POST", "/tick", {"seconds": seconds})

    async def issues(self):
        status, body, _ = await self.call("GET", "/api/v2/account_health/get_listings_with_issues")
        assert status == 200, body
        return body["response"]["listing_list"]


def ocop_attributes(star=4, cert=VALID_CERT, expiry=T0 + 365 * 86400, skip=()):
    values = {
        9001: {"value_id": star, "original_value_name": str(star)},
        9002: {"value_id": 0, "original_value_name": cert},
        9003: {"value_id": 0, "original_value_name": "UBND tỉnh Hà Giang"},
        9004: {"value_id": 0, "original_value_name": str(expiry)},
        9005: {"value_id": 0, "original_value_name": "730"},
        9006: {"value_id": 0, "original_value_name": "Hà Giang"},
    }
    return [{"attribute_id": k, "attribute_value_list": [v]} for k, v in values.items() if k not in skip]


async def admin(client, method, path, body=None):
    resp = await client.request(method, f"/__admin{path}", json=body)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def public_post(client, path, body, timestamp=T0):
    params = {"partner_id": PARTNER_ID, "timestamp": timestamp, "sign": sign(path, timestamp)}
    resp = await client.post(path, params={k: str(v) for k, v in params.items()}, json=body)
    return resp.status, await resp.json()


async def authorize(client):
    code = (await admin(client, "POST", "/auth-codes", {"shop_id": SHOP_ID}))["code"]
    status, body = await public_post(
        client, "/api/v2/auth/token/get", {"code": code, "shop_id": SHOP_ID, "partner_id": PARTNER_ID}
    )
    assert status == 200, body
    return body["response"]


async def seeded_client(aiohttp_client, seed=7, limits=False):
    client = await aiohttp_client(create_app(seed=seed, time_scale=1.0))
    await admin(client, "POST", "/clock", {"freeze_at": T0})
    await admin(client, "POST", "/partners", {"partner_id": PARTNER_ID, "partner_key": PARTNER_KEY})
    await admin(client, "POST", "/shops", {"shop_id": SHOP_ID})
    await admin(client, "POST", "/rate-limits", {"enabled": limits})
    return client


@pytest.fixture
async def shop(aiohttp_client):
    client = await seeded_client(aiohttp_client)
    return Shop(client, await authorize(client))


# ---------------------------------------------------------------------- auth and signing


async def test_signed_call_is_accepted_with_envelope(shop):
    # given an authorized shop
    # when it calls a shop-level API with a correct signature
    status, body, _ = await shop.call("GET", "/api/v2/logistics/get_channel_list")
    # then the envelope carries the response and no error
    assert status == 200
    assert set(body) == {"request_id", "error", "message", "warning", "response"}
    assert body["error"] == "" and body["request_id"]
    ids = {c["logistics_channel_id"] for c in body["response"]["logistics_channel_list"]}
    assert ids == {50011, 50012}


@pytest.mark.parametrize(
    ("override", "status", "error", "message"),
    [
        ({"sign": None}, 400, "error_param", "There is no sign in query."),
        ({"access_token": None}, 400, "error_param", "There is no access_token in query."),
        ({"sign": "0" * 64}, 403, "error_sign", "Wrong sign."),
        ({"timestamp": T0 + 301}, 403, "error_param", "Invalid timestamp"),
        ({"timestamp": T0 - 301}, 403, "error_param", "Invalid timestamp"),
    ],
)
async def test_auth_failures_have_exact_code_message_and_status(shop, override, status, error, message):
    # given an authorized shop
    # when the query is missing a parameter, badly signed or out of the timestamp window
    got_status, body, _ = await shop.call("GET", "/api/v2/product/get_category", **override)
    # then the mock answers with the documented error inside the envelope
    assert (got_status, body["error"], body["message"]) == (status, error, message)
    assert set(body) == {"request_id", "error", "message", "warning", "response"}


async def test_timestamp_within_300_seconds_is_accepted(shop):
    # given a request timestamp 300 s behind the virtual clock, correctly signed
    ts = T0 - 300
    query = {"sign": sign("/api/v2/product/get_category", ts, shop.access_token, SHOP_ID), "timestamp": ts}
    # when it is sent
    status, body, _ = await shop.call("GET", "/api/v2/product/get_category", **query)
    # then it is accepted
    assert status == 200, body


async def test_unknown_and_expired_access_tokens_are_refused(shop):
    # given an unknown token, correctly signed with it
    path = "/api/v2/product/get_category"
    bogus = "f" * 32
    # when it is used
    status, body, _ = await shop.call("GET", path, access_token=bogus, sign=sign(path, T0, bogus, SHOP_ID))
    # then error_auth
    assert (status, body["error"], body["message"]) == (403, "error_auth", "Invalid access_token.")
    # and when the real token outlives its 4 h TTL
    await admin(shop.client, "POST", "/clock", {"advance_s": 14401})
    shop.now = T0 + 14401
    status, body, _ = await shop.call("GET", path)
    assert (status, body["error"], body["message"]) == (403, "error_auth", "Invalid access_token.")


async def test_auth_code_is_single_use(shop):
    # given a code already exchanged for tokens
    client = shop.client
    code = (await admin(client, "POST", "/auth-codes", {"shop_id": SHOP_ID}))["code"]
    body = {"code": code, "shop_id": SHOP_ID, "partner_id": PARTNER_ID}
    first, _ = await public_post(client, "/api/v2/auth/token/get", body)
    # when it is used again
    second, answer = await public_post(client, "/api/v2/auth/token/get", body)
    # then the second exchange is refused
    assert first == 200
    assert (second, answer["error"]) == (403, "error_auth")


async def test_refresh_token_is_single_use_and_old_access_token_stays_valid(shop):
    # given a refresh token
    body = {"refresh_token": shop.refresh_token, "shop_id": SHOP_ID, "partner_id": PARTNER_ID}
    # when it is exchanged twice
    first, pair = await public_post(shop.client, "/api/v2/auth/access_token/get", body)
    second, answer = await public_post(shop.client, "/api/v2/auth/access_token/get", body)
    # then the first gives a new pair and the second error_shop_refresh_token
    assert first == 200 and pair["response"]["refresh_token"] != shop.refresh_token
    assert (second, answer["error"]) == (403, "error_shop_refresh_token")
    # and the old access token still works, the new one too
    assert (await shop.call("GET", "/api/v2/product/get_category"))[0] == 200
    shop.access_token = pair["response"]["access_token"]
    assert (await shop.call("GET", "/api/v2/product/get_category"))[0] == 200


async def test_shop_authorization_expiry_gives_shop_access_expired(shop):
    # given an authorization whose auth_ttl has passed
    await admin(shop.client, "POST", "/clock", {"advance_s": 365 * 86400 + 1})
    shop.now = T0 + 365 * 86400 + 1
    # when the shop calls
    status, body, _ = await shop.call("GET", "/api/v2/product/get_category")
    # then shop_access_expired
    assert (status, body["error"]) == (403, "shop_access_expired")


# ---------------------------------------------------------------------- rate limits


async def test_rate_limit_429_with_retry_after_counts_rejected_calls(aiohttp_client):
    # given the default limits (10 r/s, burst 20) and a frozen clock
    client = await seeded_client(aiohttp_client, limits=True)
    shop = Shop(client, await authorize(client))
    # when 20 badly signed calls use the burst
    for _ in range(20):
        status, _, _ = await shop.call("GET", "/api/v2/product/get_category", sign="0" * 64)
        assert status == 403
    # then a correctly signed call is refused with 429 and Retry-After
    status, body, resp = await shop.call("GET", "/api/v2/product/get_category")
    assert (status, body["error"]) == (429, "error_too_many_request")
    assert int(resp.headers["Retry-After"]) >= 1
    # and after one virtual second the bucket has refilled
    await admin(client, "POST", "/clock", {"advance_s": 1})
    shop.now = T0 + 1
    assert (await shop.call("GET", "/api/v2/product/get_category"))[0] == 200


async def test_write_bucket_allows_burst_of_four_and_is_configurable(aiohttp_client):
    # given the default write bucket (2 r/s, burst 4)
    client = await seeded_client(aiohttp_client, limits=True)
    shop = Shop(client, await authorize(client))
    statuses = [(await shop.upload(png(600, 600, bytes([i]))))[0] for i in range(5)]
    # then the fifth write is limited
    assert statuses == [200, 200, 200, 200, 429]
    # when the limits are raised through the admin API (benchmark at 50 r/s)
    await admin(client, "POST", "/rate-limits", {"write_rate": 50, "write_burst": 50, "shop_rate": 50})
    # then writes pass again
    assert (await shop.upload(png(600, 600, b"x")))[0] == 200


# ---------------------------------------------------------------------- master data


async def test_categories_have_leaf_flags_and_attributes_only_for_leaves(shop):
    # given the seeded OCOP category tree
    status, body, _ = await shop.call("GET", "/api/v2/product/get_category")
    cats = {c["category_id"]: c for c in body["response"]["category_list"]}
    # then parents have children and leaves do not
    assert cats[100]["has_children"] is True and cats[HONEY]["has_children"] is False
    assert cats[HONEY]["display_category_name"] == "Mật ong"
    # when attributes are asked for a leaf OCOP category and for a parent
    _, leaf, _ = await shop.call("GET", "/api/v2/product/get_attributes", params=[("category_id", str(HONEY))])
    status, parent, _ = await shop.call("GET", "/api/v2/product/get_attributes", params=[("category_id", "100")])
    # then the OCOP attributes are mandatory for the leaf and the parent is refused
    mandatory = {a["attribute_id"] for a in leaf["response"]["attribute_list"] if a["is_mandatory"]}
    assert mandatory == {9001, 9002, 9003, 9004, 9005, 9006}
    assert (status, parent["error"]) == (400, "error_param")


async def test_address_list_is_the_pickup_origin(shop):
    # when the shop lists its addresses
    _, body, _ = await shop.call("GET", "/api/v2/logistics/get_address_list")
    # then it has a pickup address
    address = body["response"]["address_list"][0]
    assert address["address_type"] == ["PICKUP_ADDRESS"] and address["address_id"] == SHOP_ID * 10 + 1


# ---------------------------------------------------------------------- images


async def test_image_upload_checks_format_and_size(shop):
    # given PNG 500x500, PNG 499x499, a JPEG 640x520 and a GIF
    gif = b"GIF89a" + struct.pack("<HH", 800, 800) + b"\x00" * 20
    # when uploaded in one call
    status, body, _ = await shop.upload(png(500, 500), png(499, 499), jpeg(640, 520), gif)
    # then HTTP 200 with a per-image result
    assert status == 200
    results = body["response"]["image_info_list"]
    assert results[0]["error"] == "" and results[0]["image_info"]["image_id"]
    url = results[0]["image_info"]["image_url_list"][0]
    assert url["image_url_region"] == "VN" and url["image_url"].endswith(results[0]["image_info"]["image_id"])
    assert results[1]["error"] == "error_param" and "500" in results[1]["message"]
    assert results[2]["error"] == ""
    assert results[3]["error"] == "error_param" and "JPG" in results[3]["message"]


async def test_nine_images_in_one_upload_is_error_param(shop):
    # when 9 images are sent
    status, body, _ = await shop.upload(*[png(600, 600, bytes([i])) for i in range(9)])
    # then the whole call is refused
    assert (status, body["error"]) == (400, "error_param")


async def test_same_bytes_get_a_new_random_image_id(shop):
    # when the same bytes are uploaded twice
    _, first, _ = await shop.upload(png(600, 600))
    _, second, _ = await shop.upload(png(600, 600))
    # then the ids differ
    ids = [b["response"]["image_info_list"][0]["image_info"]["image_id"] for b in (first, second)]
    assert ids[0] != ids[1]


async def test_expired_image_id_gives_image_not_exist(shop):
    # given images uploaded, then image_ttl (3 days) passed without attaching them
    body = await shop.item_body()
    await admin(shop.client, "POST", "/clock", {"advance_s": 3 * 86400 + 1})
    shop.now = T0 + 3 * 86400 + 1
    refresh = {"refresh_token": shop.refresh_token, "shop_id": SHOP_ID, "partner_id": PARTNER_ID}
    _, pair = await public_post(shop.client, "/api/v2/auth/access_token/get", refresh, timestamp=shop.now)
    shop.access_token = pair["response"]["access_token"]
    # when add_item references them
    status, answer, _ = await shop.call("POST", "/api/v2/product/add_item", body)
    # then "Image not exist."
    assert (status, answer["error"], answer["message"]) == (400, "error_param", "Image not exist.")


# ---------------------------------------------------------------------- add_item


async def test_add_item_success_is_reviewing(shop):
    # when a valid honey item is added
    status, body, _ = await shop.add_item()
    # then it is REVIEWING with integer VND price
    assert status == 200, body
    item = body["response"]
    assert item["item_status"] == "REVIEWING" and isinstance(item["item_id"], int)
    assert item["price_info"] == {"original_price": 250000, "current_price": 250000, "currency": "VND"}
    assert len(item["images"]["image_id_list"]) == 3


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ({"weight": 30.001}, "error_param", "Invalid Weight."),
        ({"weight": 1.2345}, "error_param", "Invalid Weight."),
        ({"original_price": 1500.5}, "error_invalid_price", None),
        ({"original_price": 999}, "error_invalid_price", None),
        ({"dimension": {"package_length": 0, "package_width": 10, "package_height": 10}}, "error_param", None),
        ({"dimension": None}, "error_param", "dimension is required"),
        ({"category_id": 100}, "error_param", None),
        ({"attribute_list": ocop_attributes(skip=(9002,))}, "error_less_required_attribute", None),
        (
            {"attribute_list": [{"attribute_id": 1234, "attribute_value_list": []}]},
            "error_invalid_category_attribute",
            None,
        ),
        ({"logistic_info": [{"logistic_id": 50011, "enabled": False}]}, "error_invalid_logistic_info", None),
        ({"item_name": "Short"}, "error_param", None),
        ({"pickup_address_id": 42}, "error_param", "Invalid pickup_address_id."),
    ],
)
async def test_add_item_validation_errors(shop, override, error, message):
    # given an otherwise valid body with one bad field
    # when it is added
    status, body, _ = await shop.add_item(**override)
    # then one error is returned
    assert (status, body["error"]) == (400, error), body
    if message:
        assert body["message"] == message


async def test_food_category_needs_three_images(shop):
    # given two images only
    ids = await shop.image_ids(2)
    # when a honey item uses them
    status, body, _ = await shop.add_item(image={"image_id_list": ids})
    # then error_param
    assert (status, body["error"]) == (400, "error_param")
    assert "3 images" in body["message"]


async def test_non_food_category_accepts_one_image_without_ocop(shop):
    # given a rattan craft (not OCOP-required, not food) with one image
    ids = await shop.image_ids(1)
    # when added
    status, body, _ = await shop.add_item(
        category_id=CRAFT, image={"image_id_list": ids}, attribute_list=[], item_sku="CRAFT-1", original_price=400000
    )
    # then it is accepted
    assert status == 200, body


async def test_duplicate_by_sku_and_by_normalized_name(shop):
    # given an item
    _, first, _ = await shop.add_item()
    item_id = first["response"]["item_id"]
    # when the same SKU is added again, and then the same name in other case/spacing with another SKU
    by_sku = await shop.add_item(item_name="Another honey product name")
    by_name = await shop.add_item(item_name="  MẬT ONG  bạc hà Mèo   Vạc ", item_sku="HONEY-002")
    # then both are error_repeated_mtsku without the existing id
    for status, body, _ in (by_sku, by_name):
        assert (status, body["error"]) == (400, "error_repeated_mtsku")
        assert body["message"] == "A similar product has already been uploaded"
        assert str(item_id) not in json.dumps(body)
    # and search_item finds the existing one by SKU and by name
    _, found, _ = await shop.call("GET", "/api/v2/product/search_item", params=[("item_sku", "HONEY-001")])
    assert found["response"]["item_id_list"] == [item_id]
    _, found, _ = await shop.call("GET", "/api/v2/product/search_item", params=[("item_name", "bạc hà")])
    assert found["response"]["item_id_list"] == [item_id]


async def test_deleted_item_frees_its_sku(shop):
    # given a deleted item
    _, first, _ = await shop.add_item()
    await shop.call("POST", "/api/v2/product/delete_item", {"item_id": first["response"]["item_id"]})
    # when the SKU is reused
    status, body, _ = await shop.add_item()
    # then it is accepted
    assert status == 200, body


# ---------------------------------------------------------------------- moderation


async def test_review_approves_to_normal_after_delay(shop):
    # given an added item
    _, added, _ = await shop.add_item()
    item_id = added["response"]["item_id"]
    # when less than the review delay passes, then more
    await shop.tick(200)
    before = (await shop.base_info(item_id))["item_status"]
    ran = await shop.tick(200)
    # then it goes from REVIEWING to NORMAL
    assert before == "REVIEWING"
    assert ran["reviews_run"] == 1
    assert (await shop.base_info(item_id))["item_status"] == "NORMAL"


async def test_review_gives_unlist_when_requested(shop):
    # given an item asked to be UNLIST after approval
    _, added, _ = await shop.add_item(item_status="UNLIST")
    # when reviewed
    await shop.tick(400)
    # then UNLIST
    assert (await shop.base_info(added["response"]["item_id"]))["item_status"] == "UNLIST"


@pytest.mark.parametrize(
    ("override", "code", "message"),
    [
        ({"attribute_list": ocop_attributes(expiry=T0 - 1)}, "OCOP_CERT_EXPIRED", "Giấy chứng nhận OCOP đã hết hạn"),
        ({"attribute_list": ocop_attributes(cert="OCOP-XX-0000")}, "OCOP_CERT_INVALID", None),
        ({"attribute_list": ocop_attributes(star=5)}, "OCOP_CERT_INVALID", None),
        ({"description": "Mật ong rừng nguyên chất, giúp chữa bệnh dạ dày hiệu quả."}, "PROHIBITED_CLAIM", None),
        ({"original_price": 24000}, "PRICE_ABNORMAL", None),
        ({"original_price": 2600000}, "PRICE_ABNORMAL", None),
    ],
)
async def test_review_ban_rules(shop, override, code, message):
    # given an item breaking one rule
    _, added, _ = await shop.add_item(**override)
    item_id = added["response"]["item_id"]
    # when the review runs
    await shop.tick(400)
    # then it is BANNED with the code listed in get_listings_with_issues only
    info = await shop.base_info(item_id)
    assert info["item_status"] == "BANNED"
    assert "reason" not in json.dumps(info) and code not in json.dumps(info)
    issues = await shop.issues()
    assert [(i["item_id"], i["reason"]["code"]) for i in issues] == [(item_id, code)]
    if message:
        assert issues[0]["reason"]["message"] == message
    assert issues[0]["detected_time"] >= T0


async def test_review_bans_bad_image_hash(shop):
    # given an image whose sha256 is on the bad list
    bad = png(600, 600, b"blurry")
    ids = await shop.image_ids(2)
    _, up, _ = await shop.upload(bad)
    ids.append(up["response"]["image_info_list"][0]["image_info"]["image_id"])
    await admin(shop.client, "PUT", "/review-config", {"bad_image_sha256": [hashlib.sha256(bad).hexdigest()]})
    assert (await shop.add_item(image={"image_id_list": ids}))[0] == 200
    # when reviewed
    await shop.tick(400)
    # then IMAGE_QUALITY
    assert [i["reason"]["code"] for i in await shop.issues()] == ["IMAGE_QUALITY"]


async def test_admin_decision_and_manual_mode(shop):
    # given a shop in manual review mode
    await admin(shop.client, "PUT", "/review-config", {"shop_modes": {str(SHOP_ID): "manual"}})
    _, added, _ = await shop.add_item()
    item_id = added["response"]["item_id"]
    # when time passes, nothing happens
    await shop.tick(1000)
    assert (await shop.base_info(item_id))["item_status"] == "REVIEWING"
    # when the admin rejects it with a reason
    reasons = [{"code": "WRONG_CATEGORY", "message": "Sai danh mục"}]
    decided = await admin(shop.client, "POST", f"/review/{item_id}", {"decision": "reject", "reasons": reasons})
    # then it is BANNED with that reason
    assert decided["item_status"] == "BANNED"
    assert (await shop.issues())[0]["reason"] == reasons[0]


async def test_admin_ban_of_live_item(shop):
    # given an approved item
    _, added, _ = await shop.add_item()
    item_id = added["response"]["item_id"]
    await shop.tick(400)
    # when the platform takes it down
    await admin(shop.client, "POST", f"/items/{item_id}/ban", {"reason": {"code": "FAKE", "message": "Hàng giả"}})
    # then it is BANNED and listed
    assert (await shop.base_info(item_id))["item_status"] == "BANNED"
    assert (await shop.issues())[0]["reason"]["code"] == "FAKE"


async def test_update_item_content_re_reviews_but_update_price_does_not(shop):
    # given an approved item
    _, added, _ = await shop.add_item()
    item_id = added["response"]["item_id"]
    await shop.tick(400)
    # when its price and stock change
    _, price, _ = await shop.call(
        "POST", "/api/v2/product/update_price", {"item_id": item_id, "price_list": [{"original_price": 260000}]}
    )
    _, stock, _ = await shop.call(
        "POST", "/api/v2/product/update_stock", {"item_id": item_id, "stock_list": [{"seller_stock": [{"stock": 7}]}]}
    )
    # then no review starts
    assert price["response"]["success_list"] and not price["response"]["failure_list"]
    assert stock["response"]["success_list"]
    info = await shop.base_info(item_id)
    assert info["item_status"] == "NORMAL" and info["price_info"][0]["original_price"] == 260000
    # when its description changes
    status, body, _ = await shop.call(
        "POST",
        "/api/v2/product/update_item",
        {"item_id": item_id, "description": "Mật ong bạc hà vụ đông 2026, đóng chai thủy tinh 500 ml."},
    )
    # then it goes back to REVIEWING, and is approved again later
    assert status == 200, body
    assert (await shop.base_info(item_id))["item_status"] == "REVIEWING"
    await shop.tick(400)
    assert (await shop.base_info(item_id))["item_status"] == "NORMAL"


async def test_update_price_with_fraction_fails_in_failure_list(shop):
    # given an item
    _, added, _ = await shop.add_item()
    item_id = added["response"]["item_id"]
    # when a fractional price is sent
    _, body, _ = await shop.call(
        "POST", "/api/v2/product/update_price", {"item_id": item_id, "price_list": [{"original_price": 1000.5}]}
    )
    # then it is in the failure list
    assert body["response"]["failure_list"][0]["item_id"] == item_id


async def test_unlist_and_delete_state_rules(shop):
    # given a REVIEWING item and an approved item
    _, reviewing, _ = await shop.add_item()
    _, live, _ = await shop.add_item(item_sku="HONEY-XYZ", item_name="Mật ong hoa bạc hà Đồng Văn")
    live_id = live["response"]["item_id"]
    await admin(shop.client, "POST", f"/review/{live_id}", {"decision": "approve"})
    reviewing_id = reviewing["response"]["item_id"]
    # when both are unlisted
    _, body, _ = await shop.call(
        "POST",
        "/api/v2/product/unlist_item",
        {"item_list": [{"item_id": reviewing_id, "unlist": True}, {"item_id": live_id, "unlist": True}]},
    )
    # then the REVIEWING one fails and the live one is UNLIST
    assert body["response"]["failure_list"] == [{"item_id": reviewing_id, "failed_reason": "Item status invalid"}]
    assert body["response"]["success_list"] == [{"item_id": live_id, "unlist": True}]
    assert (await shop.base_info(live_id))["item_status"] == "UNLIST"
    # when it is deleted, then edited
    await shop.call("POST", "/api/v2/product/delete_item", {"item_id": live_id})
    status, edit, _ = await shop.call(
        "POST", "/api/v2/product/update_item", {"item_id": live_id, "item_name": "Mật ong đã xoá nhưng sửa"}
    )
    # then it is SELLER_DELETE and cannot be edited
    assert (await shop.base_info(live_id))["item_status"] == "SELLER_DELETE"
    assert (status, edit["error"], edit["message"]) == (400, "error_busi_item_status_invalid", "Invalid item status")
    # and an empty unlist batch is error_param
    status, empty, _ = await shop.call("POST", "/api/v2/product/unlist_item", {"item_list": []})
    assert (status, empty["error"]) == (400, "error_param")


async def test_get_item_list_filters_by_status_and_update_time(shop):
    # given one approved item and one item added later still REVIEWING
    _, first, _ = await shop.add_item()
    await shop.tick(400)
    _, second, _ = await shop.add_item(item_sku="HONEY-2", item_name="Mật ong hoa cà phê Sơn La")
    # when listing NORMAL items, then items updated since T0+400
    _, normal, _ = await shop.call("GET", "/api/v2/product/get_item_list", params=[("item_status", "NORMAL")])
    _, recent, _ = await shop.call("GET", "/api/v2/product/get_item_list", params=[("update_time_from", str(T0 + 400))])
    # then each filter applies
    assert [i["item_id"] for i in normal["response"]["item"]] == [first["response"]["item_id"]]
    ids = {i["item_id"] for i in recent["response"]["item"]}
    assert second["response"]["item_id"] in ids


async def test_get_item_base_info_refuses_more_than_50_ids(shop):
    # when 51 ids are asked
    ids = ",".join(str(i) for i in range(1, 52))
    status, body, _ = await shop.call("GET", "/api/v2/product/get_item_base_info", params=[("item_id_list", ids)])
    # then error_param
    assert (status, body["error"]) == (400, "error_param")


# ---------------------------------------------------------------------- determinism and admin


async def _ids_for(aiohttp_client, seed):
    client = await seeded_client(aiohttp_client, seed=seed)
    shop = Shop(client, await authorize(client))
    _, up, _ = await shop.upload(png(600, 600, b"same"))
    image_id = up["response"]["image_info_list"][0]["image_info"]["image_id"]
    _, added, _ = await shop.add_item()
    return shop.access_token, image_id, added["response"]["item_id"]


async def test_same_seed_gives_same_ids(aiohttp_client):
    # given two mocks with the same seed and one with another seed
    first = await _ids_for(aiohttp_client, 11)
    second = await _ids_for(aiohttp_client, 11)
    other = await _ids_for(aiohttp_client, 12)
    # then the same request sequence gives the same ids only for the same seed
    assert first == second
    assert first != other


async def test_request_log_and_reset(shop):
    # given some API calls
    await shop.call("GET", "/api/v2/product/get_category")
    # when the request log is read, then the state reset
    log = await admin(shop.client, "GET", "/requests?limit=1")
    await admin(shop.client, "POST", "/reset")
    state = await admin(shop.client, "GET", "/state")
    # then the call is logged with its status and the reset cleared seeded partners and items
    assert log["requests"][0]["path"].startswith("/api/v2/product/get_category")
    assert log["requests"][0]["status"] == 200
    assert state["partners"] == [] and state["items"] == []
    assert any(c["category_id"] == HONEY for c in state["categories"])


async def test_unknown_api_path_is_enveloped_404(shop):
    # when an unknown path is called
    status, body, _ = await shop.call("GET", "/api/v2/product/nope")
    # then 404 error_not_found in the envelope
    assert (status, body["error"]) == (404, "error_not_found")


# ---------------------------------------------------------------------- real process


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_process_serves_and_refuses_non_loopback():
    # given the mock started as a process on a free loopback port
    port = _free_port()
    cmd = [sys.executable, "-m", "integrations.mocks.postmart", "--port", str(port), "--seed", "3"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"{base}/__admin/state", timeout=1) as resp:  # noqa: S310
                    state = json.load(resp)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "mock did not start"
                time.sleep(0.05)
        # when an admin seed call and an unsigned API call are made over HTTP
        req = urllib.request.Request(  # noqa: S310
            f"{base}/__admin/partners",
            data=json.dumps({"partner_id": PARTNER_ID, "partner_key": PARTNER_KEY}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=2) as resp:  # noqa: S310
            assert json.load(resp)["partner_id"] == PARTNER_ID
        try:
            urllib.request.urlopen(f"{base}/api/v2/product/get_category?partner_id={PARTNER_ID}", timeout=2)  # noqa: S310
            raise AssertionError("expected an HTTP error")
        except urllib.error.HTTPError as err:
            body = json.load(err)
            status = err.code
        # then the process answers with the seed and the documented error envelope
        assert state["seed"] == 3
        assert (status, body["error"], body["message"]) == (400, "error_param", "There is no timestamp in query.")
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    # and a non-loopback host is refused
    non_loopback = "0.0.0.0"  # noqa: S104
    refused = subprocess.run(
        [*cmd[:-2], "--host", non_loopback], cwd=ROOT, capture_output=True, timeout=10, check=False
    )
    assert refused.returncode == 2 and b"loopback" in refused.stderr


async def test_auth_partner_redirects_with_a_usable_code(shop):
    # given a loopback redirect URL
    path = "/api/v2/shop/auth_partner"
    params = {"partner_id": PARTNER_ID, "timestamp": T0, "sign": sign(path, T0), "redirect": "http://127.0.0.1:9/cb"}
    # when the partner asks for authorization
    resp = await shop.client.get(path, params={k: str(v) for k, v in params.items()}, allow_redirects=False)
    # then a 302 carries a code that token/get accepts
    assert resp.status == 302
    query = dict(p.split("=") for p in resp.headers["Location"].split("?")[1].split("&"))
    assert query["shop_id"] == str(SHOP_ID)
    status, _ = await public_post(
        shop.client, "/api/v2/auth/token/get", {"code": query["code"], "shop_id": SHOP_ID, "partner_id": PARTNER_ID}
    )
    assert status == 200
    # and a non-loopback redirect is refused
    params["redirect"] = "http://example.com/cb"
    resp = await shop.client.get(path, params={k: str(v) for k, v in params.items()}, allow_redirects=False)
    assert (resp.status, (await resp.json())["error"]) == (400, "CALLBACK_NOT_ALLOWED")


async def test_registered_certificate_passes_review_and_image_file_is_served(shop):
    # given a certificate added to the registry through the admin API
    await admin(shop.client, "POST", "/ocop-certificates", {"certificate_no": "OCOP-CB-2026-0099", "star": 5})
    _, added, _ = await shop.add_item(attribute_list=ocop_attributes(star=5, cert="OCOP-CB-2026-0099"))
    item_id = added["response"]["item_id"]
    # when reviewed
    await shop.tick(400)
    # then it is NORMAL and its image URLs serve the bytes
    info = await shop.base_info(item_id)
    assert info["item_status"] == "NORMAL"
    url = info["image"]["image_url_list"][0]["image_url"]
    resp = await shop.client.get(url.split(str(shop.client.port), 1)[1])
    assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")


async def test_platform_delete_is_terminal(shop):
    # given an item deleted by the platform
    _, added, _ = await shop.add_item()
    item_id = added["response"]["item_id"]
    await admin(shop.client, "POST", f"/items/{item_id}/platform_delete")
    # when the seller edits it
    status, body, _ = await shop.call("POST", "/api/v2/product/update_item", {"item_id": item_id, "weight": 1.0})
    # then error_busi_item_status_invalid
    assert (status, body["error"]) == (400, "error_busi_item_status_invalid")
    assert (await shop.base_info(item_id))["item_status"] == "SHOPEE_DELETE"
