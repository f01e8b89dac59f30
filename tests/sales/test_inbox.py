"""The inbox without a marketplace: signatures (Voso's secret rotation, Postmart's timestamp), the quick empty
acknowledgement, deduplication, and how a stored event is applied, retried or marked failed."""

import hashlib
import hmac
import json
import time

import pytest

from integrations import inbox
from integrations.adapters.base import Invalid, Retryable
from integrations.inbox import MAX_ATTEMPTS, inbound_event_process, inbound_event_receive
from integrations.models import ChannelConnection, ConnectionKind, InboundEvent
from tests.integrations.marketplaces import lao_cai

pytestmark = pytest.mark.django_db


@pytest.fixture
def voso():
    return ChannelConnection.objects.create(
        channel="voso", kind=ConnectionKind.SHARED_BOOTH, name="VS", area=lao_cai(), base_url="http://127.0.0.1:9",
        shop_id="SHOP-1", credentials={"username": "u", "password": "p", "webhook_secrets": ["vswh_new", "vswh_old"]},
    )  # fmt: skip


@pytest.fixture
def postmart():
    return ChannelConnection.objects.create(
        channel="postmart", kind=ConnectionKind.SHARED_BOOTH, name="PM", area=lao_cai(), base_url="http://127.0.0.1:9",
        shop_id="3001", credentials={"partner_id": 1, "partner_key": "k"},
    )  # fmt: skip


def v1(secret: str, t: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_during_a_secret_rotation_either_signature_is_accepted_and_the_event_is_stored_once(api, voso):
    # given an order event signed, as during Voso's rotation, with the new and the old secret
    event = {"eventId": "evt_9", "type": "order.status_updated", "shopId": "SHOP-1",
             "data": {"orderId": "VSO-1", "status": "shipped", "version": 3}}  # fmt: skip
    body = json.dumps(event).encode()
    t = int(time.time())
    both = f"t={t},v1={v1('vswh_new', t, body)},v1={v1('vswh_old', t, body)}"
    old_only = f"t={t},v1={v1('vswh_old', t, body)}"

    # when it comes twice, signed both ways
    answers = [
        api.post("/webhooks/voso/", body, content_type="application/json", HTTP_X_VOSO_SIGNATURE=signature)
        for signature in (both, old_only)
    ]

    # then both are acknowledged with 204, and it is stored once, raw, waiting for its task
    assert [a.status_code for a in answers] == [204, 204]
    stored = InboundEvent.objects.get()
    assert (stored.source, stored.dedupe_key, stored.state, stored.payload) == ("voso", "evt_9", "received", event)


def test_a_postmart_push_needs_a_fresh_timestamp_and_gets_an_empty_204(api, postmart, settings):
    url = f"{settings.WEBHOOK_BASE_URL}/webhooks/postmart/"

    def send(stamp):
        body = json.dumps({"code": 3, "shop_id": 3001, "timestamp": stamp, "data": {"ordersn": "A"}}).encode()
        signature = hmac.new(b"k", url.encode() + b"|" + body, hashlib.sha256).hexdigest()
        return api.post("/webhooks/postmart/", body, content_type="application/json", HTTP_AUTHORIZATION=signature)

    fresh, stale = send(int(time.time())), send(int(time.time()) - 900)
    assert (fresh.status_code, fresh.content) == (204, b"")
    assert stale.status_code == 401 and stale.json()["code"] == "stale_timestamp"
    assert InboundEvent.objects.count() == 1


def test_a_retryable_failure_is_retried_until_the_last_attempt_then_marked_failed(voso, monkeypatch):
    # given a handler that meets a marketplace 503 every time
    calls = []

    def flaky(event):
        calls.append(event.pk)
        raise Retryable("http_503", "Service Unavailable", retry_after=7)

    monkeypatch.setitem(inbox.HANDLERS, "test", flaky)
    event = inbound_event_receive(source="test", key="e1", payload={}, connection=voso)

    # when it is processed until it gives up (each time as soon as it is due)
    outcomes = []
    for _ in range(MAX_ATTEMPTS):
        InboundEvent.objects.filter(pk=event.pk).update(next_attempt_at=None)
        outcomes.append(inbound_event_process(event_id=event.pk))

    # then each failure asked for a retry (honouring Retry-After) until the last, which marks it failed
    assert [o.result for o in outcomes] == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    assert outcomes[0].retry_in >= 7
    event.refresh_from_db()
    assert (event.state, event.attempts, len(calls)) == ("failed", MAX_ATTEMPTS, MAX_ATTEMPTS)
    assert event.error.startswith("http_503")
    assert inbound_event_process(event_id=event.pk).result == "busy"  # a failed event is left to a person


def test_a_permanent_failure_is_marked_failed_at_once_and_success_marks_it_processed(voso, monkeypatch):
    def refused(event):
        raise Invalid("error_param", "Wrong order.")

    monkeypatch.setitem(inbox.HANDLERS, "bad", refused)
    monkeypatch.setitem(inbox.HANDLERS, "good", lambda event: "applied")
    bad = inbound_event_receive(source="bad", key="b", payload={}, connection=voso)
    good = inbound_event_receive(source="good", key="g", payload={}, connection=voso)

    assert inbound_event_process(event_id=bad.pk).result == "failed"
    assert inbound_event_process(event_id=good.pk).result == "processed"
    assert inbound_event_process(event_id=good.pk).result == "busy"  # once applied, never again
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.state, bad.attempts, bad.error) == ("failed", 1, "error_param: Wrong order.")
    assert (good.state, good.error) == ("processed", "") and good.processed_at is not None
    assert inbound_event_receive(source="good", key="g", payload={}, connection=voso) is None  # a duplicate


def test_events_of_a_source_without_a_handler_here_are_left_alone(voso):
    # given a Stripe event kept in the inbox by the storefront, which applies it itself
    stripe = InboundEvent.objects.create(source="stripe-elsewhere", dedupe_key="evt_1", payload={})

    # when the inbox's backstop runs, then it neither claims nor fails it
    assert inbox.inbound_events_process_pending() == 0
    assert inbound_event_process(event_id=stripe.pk).result == "skipped"
    stripe.refresh_from_db()
    assert (stripe.state, stripe.attempts) == ("received", 0)
