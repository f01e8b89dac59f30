"""Storefront checkout against a real localstripe process: paying, declines, 3-D Secure, refunds, webhooks
(duplicates, stale signatures), the crash between the payment call and the database write, and the backstops
(reconciler, refresh, event feed). Webhook delivery from localstripe itself: test_end_to_end.py."""

import time

import pytest

from integrations.models import InboundEvent
from marketplace.accounts.models import Role
from sales.models import Order, OrderEvent
from storefront import services, stripe_api
from storefront.models import PaymentAttempt
from storefront.stripe_api import stripe_client
from storefront.tasks import stripe_event_process_task
from tests.factories import user_with_role
from tests.integrations.marketplaces import lao_cai

from .helpers import buyer_form, event, on_sale, signed

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def checkout(client, listing, **changes):
    return client.post("/cua-hang/mua/", buyer_form(listing, **changes), **EN)


def fields(listing, **changes) -> dict:
    form = buyer_form(listing, **changes)
    return {
        "listing_id": form["listing"], "quantity": form["quantity"], "buyer_name": form["buyer_name"],
        "phone": form["phone"], "address_line": form["address_line"], "commune_id": form["commune"],
        "payment_method": form["payment_method"],
    }  # fmt: skip


def intents_of(order: Order) -> list[dict]:
    """What localstripe holds for this order, read through the SDK."""
    page = stripe_client().v1.payment_intents.list(params={"limit": 100})
    return [pi.to_dict() for pi in page.data if pi.to_dict()["metadata"].get("order_ref") == order.external_id]


def crashed_checkout(listing, monkeypatch) -> PaymentAttempt:
    """Stripe took the payment, then the process died before the result reached the database."""

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(services, "payment_attempt_record", crash)
    with pytest.raises(RuntimeError):
        services.checkout_start(**fields(listing))
    monkeypatch.undo()
    return PaymentAttempt.objects.get()


def test_a_declined_card_keeps_the_order_and_a_second_attempt_with_a_good_card_pays_it(client, stripe_server):
    # given a product on sale
    listing = on_sale(price=150_000)

    # when the buyer pays with a card that the bank declines
    response = checkout(client, listing, payment_method="pm_card_chargeCustomerFail")

    # then they land on the order's page, which says so in plain words and offers to pay again; the order waits
    assert response.status_code == 302
    page = client.get(response["Location"], **EN)
    assert "The bank declined this card." in page.content.decode()
    assert "Pay again" in page.content.decode()
    order = Order.objects.get()
    assert order.status == "placed" and order.sold_at is None
    attempt = PaymentAttempt.objects.get()
    assert (attempt.attempt_no, attempt.state, attempt.error_code) == (1, "failed", "card_declined")

    # when they pay again with a good card
    again = client.post(response["Location"] + "thanh-toan/", {"payment_method": "pm_card_visa"})

    # then attempt 2 pays the order: a sale, once
    assert again.status_code == 302
    order.refresh_from_db()
    assert order.status == "completed" and order.sold_at is not None
    assert list(order.payment_attempts.values_list("attempt_no", "state")) == [(1, "failed"), (2, "succeeded")]
    # the declined PaymentIntent stays unpaid at Stripe: money was taken once
    assert sorted(pi["status"] for pi in intents_of(order)) == ["requires_payment_method", "succeeded"]
    assert OrderEvent.objects.filter(order=order, to_status="completed").count() == 1


def test_3d_secure_refused_then_confirmed_with_the_test_bank(client, stripe_server):
    # given a buyer whose card asks for 3-D Secure
    listing = on_sale(price=90_000)
    response = checkout(client, listing, payment_method="card_3ds", quantity="1")
    order_url = response["Location"]
    attempt = PaymentAttempt.objects.get()
    assert attempt.state == "requires_action" and attempt.payment_intent_id
    assert "Confirm (test bank)" in client.get(order_url, **EN).content.decode()

    # when they refuse on the (test) bank's page
    client.post(order_url + "xac-thuc/", {"success": "0"})

    # then the attempt failed, with a plain reason, and the order still waits for its payment
    attempt.refresh_from_db()
    assert (attempt.state, attempt.error_code) == ("failed", "payment_intent_authentication_failure")
    assert "not confirmed with the bank" in client.get(order_url, **EN).content.decode()

    # when they pay again with the same kind of card and confirm this time
    client.post(order_url + "thanh-toan/", {"payment_method": "card_3ds"})
    client.post(order_url + "xac-thuc/", {"success": "1"})

    # then attempt 2 paid the order
    order = Order.objects.get()
    assert order.status == "completed"
    assert list(order.payment_attempts.values_list("attempt_no", "state")) == [(1, "failed"), (2, "succeeded")]
    assert "Paid." in client.get(order_url, **EN).content.decode()


def test_3d_secure_completed_at_the_bank_without_a_webhook_is_found_by_the_refresh_job(client, stripe_server):
    # given a buyer who confirmed at the bank (Stripe.js in production), and no webhook came
    listing = on_sale()
    checkout(client, listing, payment_method="card_3ds", quantity="1")
    attempt = PaymentAttempt.objects.get()
    stripe_api.test_authenticate(payment_intent_id=attempt.payment_intent_id, success=True)

    # when the refresh job runs
    moved = services.payment_attempts_refresh(older_than_s=0)

    # then it read the PaymentIntent and the order is paid
    attempt.refresh_from_db()
    assert moved == 1 and attempt.state == "succeeded"
    assert Order.objects.get().status == "completed"


def test_the_crash_between_the_payment_and_its_record_is_repaired_by_the_reconciler(stripe_server, monkeypatch):
    # given the process died right after Stripe took the payment, before the result reached the database
    listing = on_sale(price=80_000)
    attempt = crashed_checkout(listing, monkeypatch)
    order = attempt.order
    assert (order.status, attempt.state, attempt.payment_intent_id) == ("placed", "creating", "")

    # when the reconciler runs (twice, as beat would)
    first = services.payment_attempts_reconcile(older_than_s=0)
    second = services.payment_attempts_reconcile(older_than_s=0)

    # then it found the payment by its metadata and bound it: one payment, not two, and the order is a sale
    assert first["bound"] == [attempt.pk] and second == {"bound": [], "failed": [], "voided": []}
    [intent] = intents_of(order)
    attempt.refresh_from_db()
    order.refresh_from_db()
    assert (attempt.state, attempt.payment_intent_id) == ("succeeded", intent["id"])
    assert intent["status"] == "succeeded" and intent["amount"] == 160_000 and intent["currency"] == "vnd"
    assert order.status == "completed" and order.total_vnd == 160_000 and order.sold_at is not None


def test_a_call_that_never_reached_stripe_is_failed_by_the_reconciler_and_the_buyer_pays_again(
    client, stripe_server, monkeypatch
):
    # given the payment call was lost on the way (Stripe holds nothing for it)
    listing = on_sale()

    def lost(**kwargs):
        raise stripe_api.Ambiguous("APIConnectionError", "timed out")

    monkeypatch.setattr(stripe_api, "payment_intent_create", lost)
    response = checkout(client, listing)
    monkeypatch.undo()
    assert "checking your payment" in client.get(response["Location"], **EN).content.decode()

    # when the reconciler runs, then the attempt is failed rather than left hanging
    assert services.payment_attempts_reconcile(older_than_s=0)["failed"] == [PaymentAttempt.objects.get().pk]

    # and the buyer can pay again: attempt 2, paid
    client.post(response["Location"] + "thanh-toan/", {"payment_method": "pm_card_visa"})
    order = Order.objects.get()
    assert order.status == "completed"
    assert list(order.payment_attempts.values_list("state", flat=True)) == ["failed", "succeeded"]
    assert len(intents_of(order)) == 1


def test_a_missed_webhook_is_caught_up_from_the_event_list(stripe_server, monkeypatch):
    # given a crash after the payment, and the webhook lost (localstripe never retries)
    listing = on_sale()
    attempt = crashed_checkout(listing, monkeypatch)

    # when the event catch-up job runs twice
    first = services.stripe_events_catch_up()
    second = services.stripe_events_catch_up()

    # then the payment_intent.succeeded event was applied once: the attempt is bound and the order paid
    attempt.refresh_from_db()
    assert first == 1 and second == 0
    assert attempt.state == "succeeded" and attempt.order.status == "completed"
    assert InboundEvent.objects.filter(source="stripe", state="processed").count() == 1


def test_the_same_signed_webhook_three_times_changes_the_order_once(
    client, stripe_server, monkeypatch, django_capture_on_commit_callbacks
):
    # given a payment Stripe holds but whose answer we lost
    listing = on_sale()
    attempt = crashed_checkout(listing, monkeypatch)
    [intent] = intents_of(attempt.order)
    body, signature = signed(event(intent["id"], event_id="evt_dup_1"))

    # when the same signed event arrives three times
    with django_capture_on_commit_callbacks() as enqueued:
        answers = [
            client.post("/webhooks/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
            for _ in range(3)
        ]
    [stored] = InboundEvent.objects.filter(source="stripe")
    results = [stripe_event_process_task(stored.pk) for _ in range(2)]  # a redelivered task, too

    # then every copy is acknowledged, one is kept and applied, and the order changed once
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len(enqueued) == 1 and stored.dedupe_key == "evt_dup_1"
    assert results == ["applied", "duplicate"]
    order = Order.objects.get()
    assert order.status == "completed"
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == ["placed", "completed"]


def test_a_stale_or_forged_signature_is_a_400_and_nothing_is_kept(client, stripe_server):
    # given an event signed 15 minutes ago (Stripe's tolerance is 5), and one signed with another secret
    stale_body, stale = signed(event("pi_whatever"), at=int(time.time()) - 900)
    forged_body, forged = signed(event("pi_whatever", event_id="evt_2"), secret="whsec_someone_else")

    # when they are posted
    answers = [
        client.post("/webhooks/stripe/", stale_body, content_type="application/json", HTTP_STRIPE_SIGNATURE=stale),
        client.post("/webhooks/stripe/", forged_body, content_type="application/json", HTTP_STRIPE_SIGNATURE=forged),
        client.post("/webhooks/stripe/", forged_body, content_type="application/json"),
    ]

    # then 400 in the API's error shape, and the inbox is empty
    assert [a.status_code for a in answers] == [400, 400, 400]
    assert {a.json()["code"] for a in answers} == {"bad_signature"}
    assert set(answers[0].json()) == {"code", "message", "fields"}
    assert not InboundEvent.objects.exists()


def test_bad_input_names_each_field_and_saves_nothing(client, stripe_server):
    # given a product with 5 left
    listing = on_sale(stock=5)

    # when the buyer asks for 6, with a phone number that is not one, and a commune that does not exist
    response = checkout(client, listing, quantity="6", phone="12345", commune="999999999", buyer_name="")

    # then the form comes back (400) with an error on each of those fields, and nothing was written or charged
    assert response.status_code == 400
    assert set(response.context["errors"]) == {"quantity", "phone", "commune", "buyer_name"}
    assert "Only 5 left in stock." in response.content.decode()
    assert not Order.objects.exists() and not PaymentAttempt.objects.exists()
    assert stripe_client().v1.payment_intents.list(params={"limit": 10}).data == []


def test_a_refund_by_an_officer_returns_the_order(api, login, client, stripe_server):
    # given a paid order
    listing = on_sale(price=120_000)
    checkout(client, listing, quantity="1")
    order = Order.objects.get()
    assert order.status == "completed"
    team = user_with_role(Role.COMMUNITY_TEAM, units=[lao_cai()])
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])

    # when a community team member tries to refund it, then an officer does, then the officer tries again
    refused = login(team).post(f"/api/v1/storefront/orders/{order.external_id}/refund/")
    done = login(officer).post(f"/api/v1/storefront/orders/{order.external_id}/refund/")
    twice = login(officer).post(f"/api/v1/storefront/orders/{order.external_id}/refund/")

    # then only the officer's went through, once: Stripe holds one refund, and the order is returned, not a sale
    assert refused.status_code == 403 and twice.status_code == 409
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "returned" and done.json()["refunded_vnd"] == 120_000
    [intent] = intents_of(order)
    refunds = stripe_client().v1.refunds.list(params={"payment_intent": intent["id"]}).data
    assert [(r["amount"], r["status"]) for r in refunds] == [(120_000, "succeeded")]
    order.refresh_from_db()
    assert order.status == "returned"
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == [
        "placed", "completed", "returned"
    ]  # fmt: skip


def test_the_same_checkout_form_sent_twice_places_and_charges_one_order(client, stripe_server):
    # given the checkout form as a buyer received it (with its one-time value)
    listing = on_sale()
    page = client.get(f"/cua-hang/mua/?listing={listing.pk}", **EN)
    nonce = page.context["values"]["nonce"]
    assert nonce and f'value="{nonce}"' in page.content.decode()

    # when it is sent twice (a double tap, or a retry after the first answer was lost)
    first = checkout(client, listing, nonce=nonce)
    second = checkout(client, listing, nonce=nonce)

    # then both lead to the same order page, and Stripe holds one payment for it
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    order = Order.objects.get()
    assert order.status == "completed" and len(intents_of(order)) == 1
    assert client.get(second["Location"], **EN).status_code == 200
