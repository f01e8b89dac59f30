"""The Voso-like mock marketplace (integrations/mocks/voso), tested over HTTP with a frozen virtual clock."""

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from aiohttp import web

from integrations.mocks.voso.__main__ import main as voso_main
from tests.integrations.voso_support import (  # re-exported for the other Voso test files
    PASSWORD,
    T0,
    USERNAME,
    login,
    make_client,
    migrate,
    png,
)

ROOT = Path(__file__).resolve().parents[2]
ENVELOPE_KEYS = {"status", "error", "code", "message", "data", "requestId"}


def product_body(images: list[str], **overrides) -> dict:
    body = {
        "externalId": "listing-0001",
        "sellerSku": "HTXMO-HG-001",
        "name": "Mật ong bạc hà Hà Giang 500g - OCOP 4 sao",
        "description": "<p>Mật ong bạc hà nguyên chất từ cao nguyên đá Đồng Văn.</p>",
        "categoryCode": "NS.MO.01",
        "brand": "HTX Mật ong Mèo Vạc",
        "price": 185000,
        "salePrice": 169000,
        "stock": 120,
        "weightGram": 650,
        "lengthCm": 10,
        "widthCm": 10,
        "heightCm": 15,
        "images": images,
        "warehouseId": "WH-001",
        "attributes": {"shelfLifeDays": 730, "netWeightGram": 500, "originProvinceCode": "02"},
        "certificates": [
            {
                "type": "OCOP",
                "star": 4,
                "number": "OCOP-HG-2023-0123",
                "issuedBy": "UBND tỉnh Hà Giang",
                "issuedDate": "2023-06-01",
                "expiryDate": "2026-06-01",
            }
        ],
    }
    body.update(overrides)
    return body


async def create(client, token: str, body: dict, key: str | None = None):
    headers = {"Token": token, **({"Idempotency-Key": key} if key else {})}
    resp = await client.post("/v2/products", json=body, headers=headers)
    return resp, await resp.json()


async def get_product(client, token: str, product_id: str) -> dict:
    resp = await client.get(f"/v2/products/{product_id}", headers={"Token": token})
    assert resp.status == 200
    return (await resp.json())["data"]


# ------------------------------------------------------------------------------------------------ auth


async def test_login_returns_token_shop_and_expiry_in_ms(client):
    # given the default seeded seller
    # when it logs in
    resp = await client.post("/v2/user/Login", json={"USERNAME": USERNAME, "PASSWORD": PASSWORD})
    # then a token valid for 86400 s is returned in the success envelope
    body = await resp.json()
    assert resp.status == 200
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == 200 and body["error"] is False and body["code"] == "OK"
    assert body["data"]["token"] and body["data"]["shopId"] and body["data"]["userId"]
    assert body["data"]["expiresAt"] == int((T0 + 86400) * 1000)


async def test_login_with_wrong_password_gives_401_invalid_credentials(client):
    # given a seeded seller
    # when the password is wrong
    resp = await client.post("/v2/user/Login", json={"USERNAME": USERNAME, "PASSWORD": "nope"})
    # then 401 INVALID_CREDENTIALS
    body = await resp.json()
    assert resp.status == 401 and body["status"] == 401 and body["error"] is True
    assert body["code"] == "INVALID_CREDENTIALS"


async def test_login_without_fields_gives_validation_failed(client):
    # given / when a login without a password
    resp = await client.post("/v2/user/Login", json={"USERNAME": USERNAME})
    # then 400 VALIDATION_FAILED listing the field
    body = await resp.json()
    assert resp.status == 400 and body["code"] == "VALIDATION_FAILED"
    assert body["data"]["errors"] == [{"field": "PASSWORD", "code": "REQUIRED", "message": "PASSWORD is required"}]


async def test_five_wrong_passwords_lock_the_account_for_15_minutes(client):
    # given four wrong passwords
    for _ in range(4):
        assert (await client.post("/v2/user/Login", json={"USERNAME": USERNAME, "PASSWORD": "x"})).status == 401
    # when the fifth is wrong too
    resp = await client.post("/v2/user/Login", json={"USERNAME": USERNAME, "PASSWORD": "x"})
    # then the account is locked, even for the right password, until 15 virtual minutes pass
    assert resp.status == 423 and (await resp.json())["code"] == "ACCOUNT_LOCKED"
    await client.post("/__admin/tick", json={"seconds": 899})
    resp = await client.post("/v2/user/Login", json={"USERNAME": USERNAME, "PASSWORD": PASSWORD})
    assert resp.status == 423
    await client.post("/__admin/tick", json={"seconds": 1})
    assert (await client.post("/v2/user/Login", json={"USERNAME": USERNAME, "PASSWORD": PASSWORD})).status == 200


async def test_more_than_five_logins_per_minute_are_rate_limited(client):
    # given five logins within one minute
    for _ in range(5):
        await login(client)
    # when a sixth follows
    resp = await client.post("/v2/user/Login", json={"USERNAME": USERNAME, "PASSWORD": PASSWORD})
    # then 429 with Retry-After, and a minute later logins work again
    assert resp.status == 429 and (await resp.json())["code"] == "RATE_LIMITED"
    assert resp.headers["Retry-After"] == "60"
    await client.post("/__admin/tick", json={"seconds": 60})
    await login(client)


async def test_missing_or_unknown_token_gives_401_token_invalid(client):
    # given / when calls without a token and with an unknown one
    no_token = await client.get("/v2/categories")
    bad_token = await client.get("/v2/categories", headers={"Token": "vst_forged"})
    # then both are 401 TOKEN_INVALID
    for resp in (no_token, bad_token):
        body = await resp.json()
        assert resp.status == 401 and body["code"] == "TOKEN_INVALID" and body["data"] is None


async def test_expired_token_gives_401_token_expired_and_a_new_login_works(client):
    # given a token TTL of 120 s
    await client.put("/__admin/limits", json={"token_ttl_s": 120})
    token = await login(client)
    assert (await client.get("/v2/categories", headers={"Token": token})).status == 200
    # when 120 virtual seconds pass
    await client.post("/__admin/tick", json={"seconds": 120})
    resp = await client.get("/v2/categories", headers={"Token": token})
    # then the token is expired (no refresh) and a fresh login gives a working token
    assert resp.status == 401 and (await resp.json())["code"] == "TOKEN_EXPIRED"
    new = await login(client)
    assert new != token
    assert (await client.get("/v2/categories", headers={"Token": new})).status == 200


async def test_revoke_all_simulates_a_forced_logout(client, token):
    # given a working token
    # when the admin revokes every token
    resp = await client.post("/__admin/tokens/revoke-all")
    # then the token is unknown
    assert (await resp.json())["revoked"] == 1
    resp = await client.get("/v2/categories", headers={"Token": token})
    assert resp.status == 401 and (await resp.json())["code"] == "TOKEN_INVALID"


# ------------------------------------------------------------------------------------------------ envelope, master data


async def test_unknown_product_gives_404_in_the_error_envelope(client, token):
    # given / when an unknown product is read
    resp = await client.get("/v2/products/VSP-999999", headers={"Token": token})
    # then the error envelope carries the HTTP status, a machine code and a request id
    body = await resp.json()
    assert resp.status == 404
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == 404 and body["error"] is True and body["code"] == "PRODUCT_NOT_FOUND"
    assert body["data"] is None and body["message"] and body["requestId"].startswith("req_")


async def test_unknown_route_and_malformed_json_use_the_envelope(client, token):
    # given / when an unknown route and a malformed body
    missing = await client.get("/v2/nothing-here", headers={"Token": token})
    malformed = await client.post("/v2/products", data=b"{not json", headers={"Token": token})
    # then both answer in the envelope
    assert missing.status == 404 and (await missing.json())["code"] == "NOT_FOUND"
    body = await malformed.json()
    assert malformed.status == 400 and body["data"]["errors"][0]["code"] == "INVALID_JSON"


async def test_category_tree_is_ocop_oriented(client, token):
    # given / when the category tree is read
    resp = await client.get("/v2/categories", headers={"Token": token})
    # then honey is a leaf that requires OCOP and lists typed attributes
    cats = {c["categoryCode"]: c for c in (await resp.json())["data"]}
    assert cats["NS.MO.01"]["leaf"] is True and cats["NS.MO.01"]["parentCode"] == "NS.MO"
    assert cats["NS.MO.01"]["requiredCertificates"] == ["OCOP"]
    keys = {a["key"]: a for a in cats["NS.MO.01"]["attributes"]}
    assert keys["shelfLifeDays"] == {"key": "shelfLifeDays", "type": "int", "required": True, "unit": "day"}
    assert cats["NS.MO"]["leaf"] is False
    assert {"NS.TR.01", "NS.GA.01", "NS.CF.01", "NS.NM.01", "DL.01", "TC.MT.01", "TC.TC.01"} <= set(cats)


async def test_warehouses_are_listed_and_created(client, token):
    # given the seeded warehouse
    # when a pickup point is created
    new = {"name": "Điểm lấy hàng", "provinceCode": "02", "districtCode": "024", "wardCode": "00700", "address": "X"}
    resp = await client.post("/v2/warehouses", json=new, headers={"Token": token})
    # then both are listed for the shop
    assert resp.status == 201
    resp = await client.get("/v2/warehouses", headers={"Token": token})
    ids = [w["warehouseId"] for w in (await resp.json())["data"]]
    assert ids[0] == "WH-001" and len(ids) == 2


# ------------------------------------------------------------------------------------------------ images


async def test_migrate_fetches_loopback_images_into_the_content_addressed_cdn(client, token, image_server):
    # given a loopback image
    url = str(image_server.make_url("/img/640x480/a.png"))
    resp = await client.post("/v2/media/migrate", json={"urls": [url]}, headers={"Token": token})
    assert resp.status == 202
    batch_id = (await resp.json())["data"]["batchId"]
    # when the batch is read before and after the worker delay
    early = await client.get(f"/v2/media/migrate/{batch_id}", headers={"Token": token})
    await client.post("/__admin/tick", json={"seconds": 0.5})
    done = await client.get(f"/v2/media/migrate/{batch_id}", headers={"Token": token})
    # then it is PROCESSING first, then DONE with a /cdn/<sha256>.jpg URL that serves the same bytes
    assert (await early.json())["data"]["state"] == "PROCESSING"
    data = (await done.json())["data"]
    assert data["state"] == "DONE"
    result = data["results"][0]
    assert result["ok"] is True and (result["width"], result["height"]) == (640, 480)
    assert result["url"].endswith(f"/cdn/{result['sha256']}.jpg")
    cdn = await client.get(f"/cdn/{result['sha256']}.jpg")
    assert await cdn.read() == png(640, 480, "a")


async def test_migrate_reports_per_url_errors_and_blocks_non_loopback_domains(client, token, image_server):
    # given a non-loopback URL, a 404, a non-image, a too small and a too big image
    urls = [
        "http://example.com/a.jpg",
        "http://10.0.0.1/a.jpg",
        str(image_server.make_url("/missing.png")),
        str(image_server.make_url("/text")),
        str(image_server.make_url("/img/200x600/s.png")),
        str(image_server.make_url("/img/5001x400/b.png")),
    ]
    # when they are migrated
    data = await migrate(client, token, urls)
    # then each has its error code and nothing is fetched from outside loopback
    codes = [r.get("errorCode") for r in data["results"]]
    assert codes == [
        "DOMAIN_BLOCKED",
        "DOMAIN_BLOCKED",
        "HTTP_4XX",
        "UNSUPPORTED_FORMAT",
        "TOO_SMALL",
        "TOO_BIG_DIMENSION",
    ]
    assert not any(r["ok"] for r in data["results"])


async def test_migrate_batch_size_is_limited_to_eight(client, token):
    # given / when nine URLs
    resp = await client.post("/v2/media/migrate", json={"urls": ["http://127.0.0.1/x"] * 9}, headers={"Token": token})
    # then VALIDATION_FAILED
    assert resp.status == 400 and (await resp.json())["data"]["errors"][0]["field"] == "urls"


async def test_migrate_is_limited_to_two_batches_per_second(client, token):
    # given the default migrate limit
    await client.put("/__admin/limits", json={"migrate_per_s": 2})
    body = {"urls": ["http://127.0.0.1:9/x.png"]}
    for _ in range(2):
        assert (await client.post("/v2/media/migrate", json=body, headers={"Token": token})).status == 202
    # when a third batch is sent in the same second
    resp = await client.post("/v2/media/migrate", json=body, headers={"Token": token})
    # then 429 RATE_LIMITED
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"


async def test_product_with_an_external_image_url_is_refused(client, token, cdn_urls):
    # given a product whose first image is not a /cdn/ URL
    body = product_body(["http://127.0.0.1:9999/photo.jpg", *cdn_urls[1:]])
    # when it is created
    resp, payload = await create(client, token, body)
    # then 400 EXTERNAL_IMAGE_NOT_ALLOWED on images[0]
    assert resp.status == 400
    first = payload["data"]["errors"][0]
    assert (first["field"], first["code"]) == ("images[0]", "EXTERNAL_IMAGE_NOT_ALLOWED")


# ------------------------------------------------------------------------------------------------ products


async def test_create_product_returns_201_pending_qc(client, token, cdn_urls):
    # given a valid product
    # when it is created
    resp, payload = await create(client, token, product_body(cdn_urls))
    # then 201 with PENDING_QC and version 1, readable with its fields and qc block
    assert resp.status == 201 and payload["status"] == 201 and payload["code"] == "OK"
    data = payload["data"]
    assert data["productId"].startswith("VSP-") and data["skuId"].startswith("VSK-")
    assert data["status"] == "PENDING_QC" and data["version"] == 1
    product = await get_product(client, token, data["productId"])
    assert product["weightGram"] == 650 and product["images"] == cdn_urls
    assert product["qc"] == {"status": "PENDING", "reasons": [], "reviewedAt": None}


async def test_idempotent_replay_returns_the_same_product(client, token, cdn_urls):
    # given a product created with an Idempotency-Key
    first, first_payload = await create(client, token, product_body(cdn_urls), key="key-1")
    # when the same body is sent again with the same key
    again, again_payload = await create(client, token, product_body(cdn_urls), key="key-1")
    # then the stored response is replayed and no second product exists
    assert first.status == again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again_payload == first_payload
    state = await (await client.get("/__admin/state")).json()
    assert len(state["products"]) == 1


async def test_idempotency_key_reused_with_another_body_gives_409(client, token, cdn_urls):
    # given a product created with a key
    await create(client, token, product_body(cdn_urls), key="key-1")
    # when the key is reused with another body
    resp, payload = await create(client, token, product_body(cdn_urls, stock=1), key="key-1")
    # then 409 IDEMPOTENCY_KEY_REUSED
    assert resp.status == 409 and payload["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_validation_failures_are_not_stored_under_the_idempotency_key(client, token, cdn_urls):
    # given a create with a key that fails validation
    resp, _ = await create(client, token, product_body(cdn_urls, price=1), key="key-2")
    assert resp.status == 400
    # when the corrected body is sent with the same key
    resp, _ = await create(client, token, product_body(cdn_urls), key="key-2")
    # then it is executed
    assert resp.status == 201 and "Idempotent-Replayed" not in resp.headers


async def test_too_long_idempotency_key_is_refused(client, token, cdn_urls):
    # given / when a key of 129 characters
    resp, payload = await create(client, token, product_body(cdn_urls), key="k" * 129)
    # then VALIDATION_FAILED on the header
    assert resp.status == 400 and payload["data"]["errors"][0]["field"] == "Idempotency-Key"


async def test_external_id_and_seller_sku_lookup(client, token, cdn_urls):
    # given two products
    _, first = await create(client, token, product_body(cdn_urls))
    await create(client, token, product_body(cdn_urls, externalId="listing-0002", sellerSku="HTXMO-HG-002"))
    # when listing by externalId and by sellerSku
    by_ext = await client.get("/v2/products", params={"externalId": "listing-0001"}, headers={"Token": token})
    by_sku = await client.get("/v2/products", params={"sellerSku": "HTXMO-HG-002"}, headers={"Token": token})
    # then exactly the matching product is returned
    items = (await by_ext.json())["data"]["items"]
    assert [p["productId"] for p in items] == [first["data"]["productId"]]
    assert (await by_ext.json())["data"]["nextCursor"] is None
    assert [p["externalId"] for p in (await by_sku.json())["data"]["items"]] == ["listing-0002"]


async def test_product_list_paginates_with_a_cursor(client, token, cdn_urls):
    # given three products
    for i in range(3):
        await create(client, token, product_body(cdn_urls, externalId=f"l-{i}", sellerSku=f"SKU-{i}"))
    # when listed two per page
    resp = await client.get("/v2/products", params={"pageSize": "2"}, headers={"Token": token})
    first = (await resp.json())["data"]
    resp = await client.get(
        "/v2/products", params={"pageSize": "2", "cursor": first["nextCursor"]}, headers={"Token": token}
    )
    second = (await resp.json())["data"]
    # then the pages are disjoint and complete
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["nextCursor"] is None
    too_big = await client.get("/v2/products", params={"pageSize": "51"}, headers={"Token": token})
    assert too_big.status == 400


async def test_duplicate_seller_sku_gives_409_with_the_existing_product_id(client, token, cdn_urls):
    # given a product
    _, first = await create(client, token, product_body(cdn_urls))
    # when another product uses the same sellerSku
    resp, payload = await create(client, token, product_body(cdn_urls, externalId="listing-9"))
    # then 409 SELLER_SKU_DUPLICATE names the existing product
    assert resp.status == 409 and payload["code"] == "SELLER_SKU_DUPLICATE"
    assert payload["data"]["existingProductId"] == first["data"]["productId"]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"sellerSku": "HTX MO"}, "sellerSku", "INVALID_FORMAT"),
        ({"sellerSku": "S" * 51}, "sellerSku", "OUT_OF_RANGE"),
        ({"name": "Mật ong ngắn"}, "name", "OUT_OF_RANGE"),
        ({"name": None}, "name", "REQUIRED"),
        ({"price": 999}, "price", "OUT_OF_RANGE"),
        ({"price": 200_000_001}, "price", "OUT_OF_RANGE"),
        ({"price": 185000.5}, "price", "INVALID_TYPE"),
        ({"salePrice": 185000}, "salePrice", "SALE_PRICE_NOT_LOWER"),
        ({"stock": 100_000}, "stock", "OUT_OF_RANGE"),
        ({"stock": -1}, "stock", "OUT_OF_RANGE"),
        ({"weightGram": 0.65}, "weightGram", "INVALID_TYPE"),
        ({"weightGram": 50_001}, "weightGram", "OUT_OF_RANGE"),
        ({"lengthCm": 201}, "lengthCm", "OUT_OF_RANGE"),
        ({"heightCm": 0}, "heightCm", "OUT_OF_RANGE"),
        ({"categoryCode": "NS.MO"}, "categoryCode", "NOT_LEAF_CATEGORY"),
        ({"categoryCode": "XX.99"}, "categoryCode", "CATEGORY_NOT_FOUND"),
        ({"certificates": []}, "certificates", "CERTIFICATE_REQUIRED"),
        ({"attributes": {"netWeightGram": 500, "originProvinceCode": "02"}}, "attributes.shelfLifeDays", "REQUIRED"),
        (
            {"attributes": {"shelfLifeDays": "730", "netWeightGram": 500, "originProvinceCode": "02"}},
            "attributes.shelfLifeDays",
            "INVALID_TYPE",
        ),
        ({"warehouseId": "WH-404"}, "warehouseId", "WAREHOUSE_NOT_FOUND"),
    ],
)
async def test_each_validation_rule_has_its_code(client, token, cdn_urls, overrides, field, code):
    # given a product breaking one rule
    body = product_body(cdn_urls, **overrides)
    # when it is created
    resp, payload = await create(client, token, body)
    # then 400 VALIDATION_FAILED names that field and code
    assert resp.status == 400 and payload["code"] == "VALIDATION_FAILED"
    assert [(e["field"], e["code"]) for e in payload["data"]["errors"]] == [(field, code)]


async def test_image_count_and_unknown_cdn_images_are_validated(client, token, cdn_urls):
    # given two images, and three images of which one was never migrated
    unknown = cdn_urls[0].rsplit("/", 1)[0] + "/" + "0" * 64 + ".jpg"
    # when both are created
    _, too_few = await create(client, token, product_body(cdn_urls[:2]))
    _, not_found = await create(client, token, product_body([*cdn_urls[:2], unknown]))
    # then OUT_OF_RANGE on images and IMAGE_NOT_FOUND on images[2]
    assert [(e["field"], e["code"]) for e in too_few["data"]["errors"]] == [("images", "OUT_OF_RANGE")]
    assert [(e["field"], e["code"]) for e in not_found["data"]["errors"]] == [("images[2]", "IMAGE_NOT_FOUND")]


async def test_all_validation_errors_are_reported_together(client, token, cdn_urls):
    # given a product breaking several rules at once
    body = product_body(cdn_urls, name="short", price=10.5, weightGram=1.5, stock=-5)
    # when it is created
    resp, payload = await create(client, token, body)
    # then every error is listed in one response
    assert resp.status == 400
    assert {(e["field"], e["code"]) for e in payload["data"]["errors"]} == {
        ("name", "OUT_OF_RANGE"),
        ("price", "INVALID_TYPE"),
        ("weightGram", "INVALID_TYPE"),
        ("stock", "OUT_OF_RANGE"),
    }


async def test_patch_with_stale_if_match_gives_412_and_content_change_requeues_qc(client, token, cdn_urls):
    # given an approved product
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    await client.post(f"/__admin/review/{pid}", json={"decision": "approve"})
    # when it is patched with a stale version, then with the current one
    stale = await client.patch(f"/v2/products/{pid}", json={"stock": 5}, headers={"Token": token, "If-Match": "0"})
    current = await client.patch(
        f"/v2/products/{pid}", json={"description": "<p>Mô tả mới</p>"}, headers={"Token": token, "If-Match": "1"}
    )
    # then 412 VERSION_CONFLICT, and the content change moves it back to PENDING_QC with version 2
    assert stale.status == 412 and (await stale.json())["code"] == "VERSION_CONFLICT"
    assert current.status == 200
    assert (await current.json())["data"] == {"productId": pid, "status": "PENDING_QC", "version": 2}


async def test_patch_is_validated_and_sku_clash_is_409(client, token, cdn_urls):
    # given two products
    _, first = await create(client, token, product_body(cdn_urls))
    await create(client, token, product_body(cdn_urls, externalId="l-2", sellerSku="SKU-2"))
    pid = first["data"]["productId"]
    # when patched with an invalid weight, then with the other product's SKU
    bad = await client.patch(f"/v2/products/{pid}", json={"weightGram": 1.5}, headers={"Token": token})
    clash = await client.patch(f"/v2/products/{pid}", json={"sellerSku": "SKU-2"}, headers={"Token": token})
    # then 400 and 409
    assert bad.status == 400 and (await bad.json())["data"]["errors"][0]["code"] == "INVALID_TYPE"
    assert clash.status == 409 and (await clash.json())["code"] == "SELLER_SKU_DUPLICATE"


async def test_price_stock_update_does_not_trigger_qc_and_emits_stock_changed(client, token, cdn_urls):
    # given an approved product
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    await client.post(f"/__admin/review/{pid}", json={"decision": "approve"})
    # when price and stock change
    resp = await client.put(
        f"/v2/products/{pid}/price-stock", json={"price": 190000, "stock": 7}, headers={"Token": token}
    )
    # then it stays ACTIVE with version 2 and a product.stock_changed event exists
    assert resp.status == 200 and (await resp.json())["data"]["version"] == 2
    assert (await get_product(client, token, pid))["status"] == "ACTIVE"
    events = (await (await client.get("/__admin/events")).json())["events"]
    assert events[-1]["type"] == "product.stock_changed" and events[-1]["data"]["stock"] == 7
    bad = await client.put(f"/v2/products/{pid}/price-stock", json={"salePrice": 999999}, headers={"Token": token})
    assert bad.status == 400 and (await bad.json())["data"]["errors"][0]["code"] == "SALE_PRICE_NOT_LOWER"


async def test_deactivate_activate_and_delete(client, token, cdn_urls):
    # given an approved product
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    pending = await client.post(f"/v2/products/{pid}/deactivate", headers={"Token": token})
    await client.post(f"/__admin/review/{pid}", json={"decision": "approve"})
    # when it is deactivated, activated, then deleted
    off = await client.post(f"/v2/products/{pid}/deactivate", headers={"Token": token})
    on = await client.post(f"/v2/products/{pid}/activate", headers={"Token": token})
    gone = await client.delete(f"/v2/products/{pid}", headers={"Token": token})
    # then the statuses follow and a deleted product cannot be edited; its SKU stays blocked for 24 h
    assert pending.status == 409 and (await pending.json())["code"] == "INVALID_STATUS"
    assert (await off.json())["data"]["status"] == "INACTIVE"
    assert (await on.json())["data"]["status"] == "ACTIVE"
    assert (await gone.json())["data"]["status"] == "DELETED"
    assert (await get_product(client, token, pid))["status"] == "DELETED"
    patch = await client.patch(f"/v2/products/{pid}", json={"stock": 1}, headers={"Token": token})
    assert patch.status == 404
    resp, _ = await create(client, token, product_body(cdn_urls, externalId="again"))
    assert resp.status == 409
    await client.post("/__admin/tick", json={"seconds": 86400})
    resp, _ = await create(client, await login(client), product_body(cdn_urls, externalId="again"))
    assert resp.status == 201


# ------------------------------------------------------------------------------------------------ QC


async def test_qc_approves_after_the_review_delay_on_the_virtual_clock(client, token, cdn_urls):
    # given a valid product just created
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    # when less than the 600 s delay passes, then the delay plus the maximum jitter
    await client.post("/__admin/tick", json={"seconds": 599})
    before = await get_product(client, token, pid)
    await client.post("/__admin/tick", json={"seconds": 61})
    after = await get_product(client, token, pid)
    # then it is still pending first, then ACTIVE with an APPROVED qc and a product.qc_updated event
    assert before["status"] == "PENDING_QC"
    assert after["status"] == "ACTIVE" and after["qc"]["status"] == "APPROVED" and after["qc"]["reasons"] == []
    events = (await (await client.get("/__admin/events")).json())["events"]
    assert [e["type"] for e in events] == ["product.qc_updated"]
    assert events[0]["data"]["qc"]["status"] == "APPROVED" and events[0]["eventId"].startswith("evt_")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {
                "certificates": [
                    {
                        "type": "OCOP",
                        "star": 3,
                        "number": "OCOP-DL-2021-0007",
                        "issuedBy": "UBND",
                        "issuedDate": "2021-01-15",
                        "expiryDate": "2024-01-15",
                    }
                ]
            },
            "OCOP_CERT_EXPIRED",
        ),
        (
            {
                "certificates": [
                    {
                        "type": "OCOP",
                        "star": 4,
                        "number": "OCOP-XX-0000",
                        "issuedBy": "UBND",
                        "issuedDate": "2023-06-01",
                        "expiryDate": "2026-06-01",
                    }
                ]
            },
            "OCOP_CERT_NOT_FOUND",
        ),
        (
            {
                "certificates": [
                    {
                        "type": "OCOP",
                        "star": 5,
                        "number": "OCOP-HG-2023-0123",
                        "issuedBy": "UBND",
                        "issuedDate": "2023-06-01",
                        "expiryDate": "2026-06-01",
                    }
                ]
            },
            "OCOP_STAR_MISMATCH",
        ),
        ({"description": "<p>Mật ong chữa bệnh dạ dày</p>"}, "PROHIBITED_HEALTH_CLAIM"),
        ({"name": "Mật ong pha cà phê Hà Giang thơm ngon đặc biệt"}, "CATEGORY_MISMATCH"),
        ({"price": 5_000_000, "salePrice": None}, "PRICE_ABNORMAL"),
        (
            {"attributes": {"shelfLifeDays": 730, "netWeightGram": 500, "originProvinceCode": "66"}},
            "MISSING_ORIGIN_INFO",
        ),
    ],
)
async def test_qc_rejects_with_reasons(client, token, cdn_urls, overrides, reason):
    # given a product breaking one QC rule
    body = {k: v for k, v in product_body(cdn_urls, **overrides).items() if v is not None}
    _, created = await create(client, token, body)
    pid = created["data"]["productId"]
    # when the review runs
    await client.post("/__admin/tick", json={"seconds": 700})
    # then it is REJECTED with that reason
    product = await get_product(client, token, pid)
    assert product["status"] == "REJECTED" and product["qc"]["status"] == "REJECTED"
    assert [r["code"] for r in product["qc"]["reasons"]] == [reason]
    assert product["qc"]["reasons"][0]["message"]


async def test_qc_rejects_low_quality_main_image(client, token, image_server):
    # given a main image below 500x500 px
    urls = [str(image_server.make_url(f"/img/{400 if i == 0 else 600}x600/q{i}.png")) for i in range(3)]
    cdn = [r["url"] for r in (await migrate(client, token, urls))["results"]]
    _, created = await create(client, token, product_body(cdn))
    # when the review runs
    await client.post("/__admin/tick", json={"seconds": 700})
    # then IMAGE_LOW_QUALITY on images[0]
    product = await get_product(client, token, created["data"]["productId"])
    assert product["qc"]["reasons"][0] == {
        "code": "IMAGE_LOW_QUALITY",
        "message": "Hình ảnh chất lượng thấp",
        "field": "images[0]",
    }


async def test_manual_review_mode_waits_for_admin_decisions(client, token, cdn_urls):
    # given manual review mode
    await client.put("/__admin/review-config", json={"mode": "manual"})
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    await client.post("/__admin/tick", json={"seconds": 7200})
    assert (await get_product(client, token, pid))["status"] == "PENDING_QC"
    # when the admin rejects with reasons
    reasons = [{"code": "IMAGE_LOW_QUALITY", "message": "Ảnh mờ"}]
    resp = await client.post(f"/__admin/review/{pid}", json={"decision": "reject", "reasons": reasons})
    # then it is REJECTED with those reasons
    assert resp.status == 200
    product = await get_product(client, token, pid)
    assert product["status"] == "REJECTED" and product["qc"]["reasons"] == reasons


async def test_admin_decision_overrides_the_automatic_rules(client, token, cdn_urls):
    # given a product that the rules would reject
    _, created = await create(client, token, product_body(cdn_urls, description="<p>Thuốc bổ</p>"))
    pid = created["data"]["productId"]
    # when the admin approves it before the review runs
    await client.post(f"/__admin/review/{pid}", json={"decision": "approve"})
    await client.post("/__admin/tick", json={"seconds": 700})
    # then it stays ACTIVE
    assert (await get_product(client, token, pid))["status"] == "ACTIVE"


async def test_ban_and_lock_sanctions(client, token, cdn_urls):
    # given two approved products
    pids = []
    for i in range(2):
        _, created = await create(client, token, product_body(cdn_urls, externalId=f"e{i}", sellerSku=f"S{i}"))
        pids.append(created["data"]["productId"])
        await client.post(f"/__admin/review/{pids[-1]}", json={"decision": "approve"})
    # when one is banned (live rejected) and the other locked
    reasons = [{"code": "PROHIBITED_HEALTH_CLAIM", "message": "Quảng cáo sai"}]
    await client.post(f"/__admin/review/{pids[0]}", json={"decision": "ban", "reasons": reasons})
    await client.post(f"/__admin/review/{pids[1]}", json={"decision": "lock", "reasons": reasons})
    # then the banned one is editable (back to PENDING_QC) and the locked one gives 423 until the admin lifts it
    banned = await get_product(client, token, pids[0])
    assert banned["status"] == "LIVE_REJECTED" and banned["sanction"]["type"] == "LIVE_REJECTED"
    edit = await client.patch(f"/v2/products/{pids[0]}", json={"description": "<p>Sửa</p>"}, headers={"Token": token})
    assert (await edit.json())["data"]["status"] == "PENDING_QC"
    locked = await get_product(client, token, pids[1])
    assert locked["status"] == "LOCKED" and locked["sanction"]["type"] == "LOCKED"
    edit = await client.patch(f"/v2/products/{pids[1]}", json={"stock": 1}, headers={"Token": token})
    assert edit.status == 423 and (await edit.json())["code"] == "PRODUCT_LOCKED"
    await client.post(f"/__admin/review/{pids[1]}", json={"decision": "approve"})
    assert (await get_product(client, token, pids[1]))["status"] == "ACTIVE"


async def test_review_config_rejects_unknown_keys(client):
    # given / when an unknown key
    resp = await client.put("/__admin/review-config", json={"nonsense": 1})
    # then 400
    assert resp.status == 400


# ------------------------------------------------------------------------------------------------ limits


async def test_rate_limit_gives_429_with_its_headers(client, token):
    # given the default 5 requests per second per token
    await client.put("/__admin/limits", json={"rate_per_s": 5})
    for remaining in range(4, -1, -1):
        resp = await client.get("/v2/categories", headers={"Token": token})
        assert resp.status == 200 and resp.headers["X-RateLimit-Remaining"] == str(remaining)
    # when a sixth call is made in the same virtual second
    resp = await client.get("/v2/categories", headers={"Token": token})
    # then 429 RATE_LIMITED with Retry-After and the X-RateLimit-* headers, until a second passes
    assert resp.status == 429 and (await resp.json())["code"] == "RATE_LIMITED"
    assert resp.headers["Retry-After"] == "1"
    assert resp.headers["X-RateLimit-Limit"] == "5"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert resp.headers["X-RateLimit-Reset"] == str(int(T0) + 1)
    await client.post("/__admin/tick", json={"seconds": 1})
    assert (await client.get("/v2/categories", headers={"Token": token})).status == 200


async def test_rate_limit_can_be_raised_for_a_benchmark(client, token):
    # given 50 requests per second
    await client.put("/__admin/limits", json={"rate_per_s": 50})
    # when 50 calls are made in one second, then a 51st
    statuses = [(await client.get("/v2/categories", headers={"Token": token})).status for _ in range(51)]
    # then only the 51st is limited
    assert statuses == [200] * 50 + [429]


async def test_daily_quota_is_exhausted_then_resets_at_vietnam_midnight(client, token, cdn_urls):
    # given a quota of two listings a day
    await client.put("/__admin/limits", json={"daily_quota": 2})
    for i in range(2):
        resp, _ = await create(client, token, product_body(cdn_urls, externalId=f"q{i}", sellerSku=f"Q{i}"))
        assert resp.status == 201
    # when a third listing is posted at about 10:00 Asia/Ho_Chi_Minh
    resp, payload = await create(client, token, product_body(cdn_urls, externalId="q2", sellerSku="Q2"))
    # then 429 DAILY_LISTING_QUOTA with Retry-After until 00:00 local (14 h), and it works after midnight
    assert resp.status == 429 and payload["code"] == "DAILY_LISTING_QUOTA"
    now = (await (await client.get("/__admin/state")).json())["clock"]["now"]
    midnight = T0 + 14 * 3600
    assert resp.headers["Retry-After"] == str(int(midnight - now))
    await client.post("/__admin/tick", json={"seconds": midnight - now - 1})
    resp, _ = await create(client, token, product_body(cdn_urls, externalId="q2", sellerSku="Q2"))
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    await client.post("/__admin/tick", json={"seconds": 1})
    resp, _ = await create(client, token, product_body(cdn_urls, externalId="q2", sellerSku="Q2"))
    assert resp.status == 201


async def test_rejected_creates_do_not_count_and_the_quota_can_be_lifted(client, token, cdn_urls):
    # given a quota of one, used up after a validation failure that does not count
    await client.put("/__admin/limits", json={"daily_quota": 1})
    resp, _ = await create(client, token, product_body(cdn_urls, price=1))
    assert resp.status == 400
    resp, _ = await create(client, token, product_body(cdn_urls))
    assert resp.status == 201
    # when the quota is lifted
    await client.put("/__admin/limits", json={"daily_quota": None})
    resp, _ = await create(client, token, product_body(cdn_urls, externalId="x", sellerSku="X"))
    # then creates go through
    assert resp.status == 201


async def test_limits_reject_unknown_keys(client):
    # given / when an unknown limit
    resp = await client.put("/__admin/limits", json={"bogus": 1})
    # then 400
    assert resp.status == 400


# ------------------------------------------------------------------------------------------------ webhooks


@pytest.fixture
async def receiver(aiohttp_server):
    """A loopback webhook receiver that records each call and answers with `reply["status"]`."""
    calls: list[dict] = []
    reply = {"status": 200}

    async def hook(request: web.Request) -> web.Response:
        calls.append({"headers": dict(request.headers), "body": await request.text()})
        return web.Response(status=reply["status"])

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return {"url": str(server.make_url("/hook")), "calls": calls, "reply": reply}


def verify(secret: str, header: str, body: str) -> bool:
    parts = [p.split("=", 1) for p in header.split(",")]
    t = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


async def subscribe(client, token: str, url: str) -> str:
    resp = await client.put(
        "/v2/webhooks",
        json={"url": url, "events": ["product.qc_updated", "product.stock_changed"]},
        headers={"Token": token},
    )
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]["secret"]


async def test_webhook_url_must_be_loopback(client, token):
    # given / when a public callback URL
    resp = await client.put(
        "/v2/webhooks",
        json={"url": "https://example.com/hook", "events": ["product.qc_updated"]},
        headers={"Token": token},
    )
    # then 400 CALLBACK_NOT_ALLOWED
    assert resp.status == 400 and (await resp.json())["code"] == "CALLBACK_NOT_ALLOWED"


async def test_qc_webhook_is_signed_with_t_and_v1(client, token, cdn_urls, receiver):
    # given a subscription and an approved product
    secret = await subscribe(client, token, receiver["url"])
    assert secret.startswith("vswh_")
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    await client.post(f"/__admin/review/{pid}", json={"decision": "approve"})
    # when the scheduler runs
    await client.post("/__admin/tick", json={"seconds": 0})
    # then one product.qc_updated event arrives with an event id and a valid signature over "{t}.{body}"
    assert len(receiver["calls"]) == 1
    call = receiver["calls"][0]
    event = json.loads(call["body"])
    assert event["type"] == "product.qc_updated" and call["headers"]["X-Voso-Event-Id"] == event["eventId"]
    assert event["data"]["productId"] == pid and event["data"]["qc"]["status"] == "APPROVED"
    assert call["headers"]["X-Voso-Signature"].startswith(f"t={int(T0) + 1},v1=")
    assert verify(secret, call["headers"]["X-Voso-Signature"], call["body"])
    assert not verify("vswh_wrong", call["headers"]["X-Voso-Signature"], call["body"])


async def test_rotated_secret_signs_with_both_secrets_for_24_hours(client, token, cdn_urls, receiver):
    # given a subscription whose secret is rotated
    old = await subscribe(client, token, receiver["url"])
    resp = await client.post("/v2/webhooks/rotate-secret", headers={"Token": token})
    new = (await resp.json())["data"]["secret"]
    _, created = await create(client, token, product_body(cdn_urls))
    pid = created["data"]["productId"]
    # when an event is sent now, and another after 24 h
    await client.put(f"/v2/products/{pid}/price-stock", json={"stock": 1}, headers={"Token": token})
    await client.post("/__admin/tick", json={"seconds": 0})
    await client.post("/__admin/tick", json={"seconds": 86400})
    token = await login(client)
    await client.put(f"/v2/products/{pid}/price-stock", json={"stock": 2}, headers={"Token": token})
    await client.post("/__admin/tick", json={"seconds": 0})
    # then the first carries two v1 values (both verify), the second only the new one
    first, second = receiver["calls"]
    assert first["headers"]["X-Voso-Signature"].count("v1=") == 2
    assert verify(old, first["headers"]["X-Voso-Signature"], first["body"])
    assert verify(new, first["headers"]["X-Voso-Signature"], first["body"])
    assert second["headers"]["X-Voso-Signature"].count("v1=") == 1
    assert verify(new, second["headers"]["X-Voso-Signature"], second["body"])
    assert not verify(old, second["headers"]["X-Voso-Signature"], second["body"])


async def test_failed_webhook_is_retried_on_the_virtual_clock_then_listed_and_retried_manually(
    client, token, cdn_urls, receiver
):
    # given a receiver that answers 500
    receiver["reply"]["status"] = 500
    await subscribe(client, token, receiver["url"])
    _, created = await create(client, token, product_body(cdn_urls))
    await client.post(f"/__admin/review/{created['data']['productId']}", json={"decision": "approve"})
    # when the retry schedule (+1 m, +5 m, +30 m, +2 h, +6 h) runs out
    await client.post("/__admin/tick", json={"seconds": 0})
    await client.post("/__admin/tick", json={"seconds": 59})
    assert len(receiver["calls"]) == 1
    for delay in (1, 300, 1800, 7200, 21600):
        await client.post("/__admin/tick", json={"seconds": delay})
    # then six attempts carried the same event id, and the delivery is FAILED and listed
    assert len(receiver["calls"]) == 6
    assert len({c["headers"]["X-Voso-Event-Id"] for c in receiver["calls"]}) == 1
    token = await login(client)
    resp = await client.get("/v2/webhooks/deliveries", params={"status": "FAILED"}, headers={"Token": token})
    failed = (await resp.json())["data"]["items"]
    assert len(failed) == 1 and failed[0]["attempts"] == 6 and failed[0]["lastStatus"] == 500
    attempts = (await (await client.get("/__admin/deliveries")).json())["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4, 5, 6]
    # and a manual retry once the receiver is back delivers it
    receiver["reply"]["status"] = 204
    resp = await client.post(f"/v2/webhooks/deliveries/{failed[0]['deliveryId']}/retry", headers={"Token": token})
    assert (await resp.json())["data"]["status"] == "DELIVERED"
    assert len(receiver["calls"]) == 7


# ------------------------------------------------------------------------------------------------ admin, determinism


async def test_admin_seeding_of_shops_categories_and_ocop(client, cdn_urls):
    # given a new seller with a warehouse, a new category and a new OCOP certificate
    shop = {
        "username": "htx-che",
        "password": "che-2025",
        "name": "HTX Chè Tân Cương",
        "warehouses": [{"warehouseId": "WH-TN", "provinceCode": "19", "districtCode": "164", "wardCode": "05500"}],
    }
    assert (await client.post("/__admin/shops", json=shop)).status == 201
    category = {"categoryCode": "NS.TR.02", "name": "Trà túi lọc", "parentCode": "NS.TR", "leaf": True}
    assert (await client.post("/__admin/categories", json=category)).status == 201
    cert = {"number": "OCOP-TN-2025-0001", "star": 5, "expiryDate": "2028-01-01", "provinceCode": "19"}
    assert (await client.post("/__admin/ocop-certificates", json=cert)).status == 201
    # when the new seller lists in the new category
    token = await login(client, "htx-che", "che-2025")
    body = product_body(
        cdn_urls,
        categoryCode="NS.TR.02",
        warehouseId="WH-TN",
        attributes={},
        certificates=[],
        name="Trà túi lọc Tân Cương Thái Nguyên",
    )
    resp, payload = await create(client, token, body)
    # then the product is accepted for that shop, and the other shop's warehouse is not usable
    assert resp.status == 201
    resp, payload = await create(client, token, product_body(cdn_urls, warehouseId="WH-001"))
    assert ("warehouseId", "WAREHOUSE_NOT_FOUND") in [(e["field"], e["code"]) for e in payload["data"]["errors"]]
    state = await (await client.get("/__admin/state")).json()
    assert "OCOP-TN-2025-0001" in {c["number"] for c in state["ocopCertificates"]}


async def test_admin_requests_log_and_reset(client, token):
    # given a few calls
    await client.get("/v2/categories", headers={"Token": token})
    await client.get("/v2/products/VSP-1", headers={"Token": token})
    # when the log is read with a limit
    resp = await client.get("/__admin/requests", params={"limit": "2"})
    # then the last calls are listed with method, path, headers and status; reset clears the state
    logged = (await resp.json())["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in logged] == [
        ("GET", "/v2/categories", 200),
        ("GET", "/v2/products/VSP-1", 404),
    ]
    assert logged[0]["headers"]["Token"] == token
    await client.post("/__admin/reset")
    resp = await client.get("/v2/categories", headers={"Token": token})
    assert resp.status == 401


async def _id_sequence(aiohttp_client, seed: int, image_server) -> list[str]:
    client = await make_client(aiohttp_client, seed=seed)
    token = await login(client)
    data = await migrate(client, token, [str(image_server.make_url(f"/img/600x600/d{i}.png")) for i in range(3)])
    urls = [r["url"] for r in data["results"]]
    ids = [token]
    for i in range(2):
        _, payload = await create(client, token, product_body(urls, externalId=f"d{i}", sellerSku=f"D{i}"))
        ids += [payload["data"]["productId"], payload["data"]["skuId"], payload["requestId"]]
    return ids


async def test_same_seed_gives_the_same_ids(aiohttp_client, image_server):
    # given two mocks with seed 7 and one with seed 8
    # when the same sequence of requests is sent to each
    first = await _id_sequence(aiohttp_client, 7, image_server)
    second = await _id_sequence(aiohttp_client, 7, image_server)
    other = await _id_sequence(aiohttp_client, 8, image_server)
    # then the same seed gives the same ids and another seed different ones
    assert first == second
    assert first[1] != other[1] and first[0] != other[0]


def test_refuses_to_bind_a_non_loopback_host(capsys):
    # given / when the server is asked to bind every interface
    code = voso_main(["--host", "0.0.0.0", "--port", "1"])  # noqa: S104 - the point of the test
    # then it refuses
    assert code == 2 and "loopback" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback only
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_real_process_serves_http_on_loopback():
    # given the mock started as a process on a free loopback port
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "integrations.mocks.voso", "--port", str(port), "--seed", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _ = _http("GET", f"{base}/__admin/state")
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "mock did not start"
                time.sleep(0.05)
        # when a seller logs in and reads the category tree over HTTP
        status, body = _http("POST", f"{base}/v2/user/Login", {"USERNAME": USERNAME, "PASSWORD": PASSWORD})
        bad_status, bad = _http("POST", f"{base}/v2/user/Login", {"USERNAME": USERNAME, "PASSWORD": "x"})
        # then the envelope comes back over the wire
        assert status == 200 and body["code"] == "OK" and body["data"]["token"]
        assert bad_status == 401 and bad["code"] == "INVALID_CREDENTIALS"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
