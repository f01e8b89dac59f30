"""Webhooks replayed, forged, stale or oversized: refused in the error shape, and a refused webhook stores nothing.
(tests/sales/test_inbox.py, tests/integrations/test_listings_api.py and tests/storefront/test_payments.py already
cover a bad or stale Voso signature, a stale Postmart push, Stripe's forged and stale signatures and duplicates;
these are the cases they leave out.)"""

import hashlib
import hmac
import json
import time

import pytest

from integrations.models import ChannelConnection, ConnectionKind, InboundEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def shops():
    common = {"kind": ConnectionKind.SHARED_BOOTH, "base_url": "http://127.0.0.1:9"}
    return {
        "pm": ChannelConnection.objects.create(channel="postmart", name="PM", shop_id="3001",
                                               credentials={"partner_id": 1, "partner_key": "k-3001"}, **common),
        "pm_other": ChannelConnection.objects.create(channel="postmart", name="PM2", shop_id="3002",
                                                     credentials={"partner_id": 2, "partner_key": "k-3002"}, **common),
        "vs": ChannelConnection.objects.create(channel="voso", name="VS", shop_id="SHOP-1",
                                               credentials={"webhook_secrets": ["vswh_secret"]}, **common),
    }  # fmt: skip


def postmart(api, settings, body: bytes, key: str = "k-3001"):
    url = f"{settings.WEBHOOK_BASE_URL}/webhooks/postmart/"
    signature = hmac.new(key.encode(), url.encode() + b"|" + body, hashlib.sha256).hexdigest()
    return api.post("/webhooks/postmart/", body, content_type="application/json", HTTP_AUTHORIZATION=signature)


SECRET = "vswh_secret"


def voso(api, body: bytes, *, t: float | None = None, secret: str = SECRET):
    t = int(t or time.time())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return api.post(
        "/webhooks/voso/", body, content_type="application/json", HTTP_X_VOSO_SIGNATURE=f"t={t},v1={digest}"
    )


def assert_refused(response, status):
    assert response.status_code == status, response.content[:200]
    assert set(response.json()) == {"code", "message", "fields"}


def test_a_postmart_push_forged_signed_by_another_shop_or_from_the_future_stores_nothing(api, settings, shops):
    push = {"code": 3, "shop_id": 3001, "timestamp": int(time.time()), "data": {"ordersn": "A1"}}
    body = json.dumps(push).encode()
    future = json.dumps({**push, "timestamp": int(time.time()) + 900}).encode()

    answers = [
        api.post("/webhooks/postmart/", body, content_type="application/json", HTTP_AUTHORIZATION="0" * 64),
        api.post("/webhooks/postmart/", body, content_type="application/json"),
        postmart(api, settings, body, key="k-3002"),  # a real key, but of another shop than the one named
        postmart(api, settings, future),
    ]

    for answer in answers:
        assert_refused(answer, 401)
    assert not InboundEvent.objects.exists()


def test_a_postmart_push_replayed_is_stored_once(api, settings, shops):
    body = json.dumps({"code": 3, "shop_id": 3001, "timestamp": int(time.time()), "data": {"ordersn": "A1"}}).encode()

    answers = [postmart(api, settings, body) for _ in range(3)]

    assert [a.status_code for a in answers] == [204, 204, 204]
    assert InboundEvent.objects.filter(source="postmart").count() == 1


def test_a_voso_event_from_the_future_for_another_shop_or_without_an_id_stores_nothing(api, shops):
    event = {"eventId": "evt_1", "type": "order.status_updated", "shopId": "SHOP-1", "data": {"orderId": "V1"}}
    body = json.dumps(event).encode()

    answers = {
        401: [voso(api, body, t=time.time() + 900), voso(api, body[:-1] + b' }', t=None, secret="vswh_other")],
        404: [voso(api, json.dumps({**event, "shopId": "SHOP-2"}).encode())],
        400: [voso(api, json.dumps({k: v for k, v in event.items() if k != "eventId"}).encode()),
              voso(api, b"[1, 2, 3]")],
    }  # fmt: skip

    for status, responses in answers.items():
        for response in responses:
            assert_refused(response, status)
    assert not InboundEvent.objects.exists()


def test_a_voso_event_signed_for_one_body_and_sent_with_another_is_refused(api, shops):
    signed = json.dumps({"eventId": "evt_1", "shopId": "SHOP-1", "data": {"status": "shipped"}}).encode()
    swapped = json.dumps({"eventId": "evt_1", "shopId": "SHOP-1", "data": {"status": "completed"}}).encode()
    t = int(time.time())
    digest = hmac.new(b"vswh_secret", f"{t}.".encode() + signed, hashlib.sha256).hexdigest()

    response = api.post("/webhooks/voso/", swapped, content_type="application/json",
                        HTTP_X_VOSO_SIGNATURE=f"t={t},v1={digest}")  # fmt: skip

    assert_refused(response, 401)
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("url", ["/webhooks/postmart/", "/webhooks/voso/", "/webhooks/stripe/"])
def test_an_oversized_webhook_is_a_413_in_the_error_shape_and_stores_nothing(api, settings, shops, url):
    # given a small in-memory limit and a body over it (a well-formed, even well-signed, one: size is checked first)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 32 * 1024
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    body = json.dumps({"eventId": "evt_big", "shopId": "SHOP-1", "code": 3, "shop_id": 3001,
                       "timestamp": int(time.time()), "data": {"pad": "x" * 64 * 1024}}).encode()  # fmt: skip

    response = voso(api, body) if url == "/webhooks/voso/" else postmart(api, settings, body)
    if url == "/webhooks/stripe/":
        response = api.post(url, body, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00")

    assert_refused(response, 413)
    assert not InboundEvent.objects.exists()


def test_webhooks_answer_only_post(api, shops):
    for url in ("/webhooks/postmart/", "/webhooks/voso/", "/webhooks/stripe/"):
        assert api.get(url).status_code == 405
    assert not InboundEvent.objects.exists()
