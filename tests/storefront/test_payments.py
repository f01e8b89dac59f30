"""Storefront checkout against a real localstripe process: paying, declines, 3-D Secure, refunds, webhooks
(duplicates, stale signatures), the crash between the payment call and the database write, the backstops
(reconciler, refresh, event feed, the inbox's), an order paid twice, and refunds whose answer was lost.
Webhook delivery from localstripe itself: test_end_to_end.py."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from catalog.models import Sku
from integrations.models import InboundEvent
from integrations.tasks import inbound_events_process_pending_task
from marketplace.accounts.models import Role
from sales.models import Order, OrderEvent
from storefront import services, stripe_api
from storefront import tasks as storefront_tasks
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


def refunds_at_stripe(payment_intent_id: str) -> list[tuple[int, str]]:
    page = stripe_client().v1.refunds.list(params={"payment_intent": payment_intent_id})
    return [(r["amount"], r["status"]) for r in page.data]


def lost_call(**kwargs):
    raise stripe_api.Ambiguous("APIConnectionError", "timed out")


def paid_again_after_a_lost_call(client, listing, monkeypatch, **retry) -> tuple[str, PaymentAttempt]:
    """Attempt 1's call got no answer, the reconciler found nothing at Stripe and failed it, and the buyer paid
    again (attempt 2, with `retry`'s payment method)."""
    monkeypatch.setattr(stripe_api, "payment_intent_create", lost_call)
    response = checkout(client, listing, quantity="1")
    monkeypatch.undo()
    [first] = PaymentAttempt.objects.all()
    assert services.payment_attempts_reconcile(older_than_s=0)["failed"] == [first.pk]
    client.post(response["Location"] + "thanh-toan/", {"payment_method": "pm_card_visa", **retry})
    first.refresh_from_db()
    return response["Location"], first


def late_payment(attempt: PaymentAttempt) -> dict:
    """The call of this attempt reaching Stripe after all (held up on the way, or sent again by the SDK, which
    localstripe takes as a new payment): the card is charged for it."""
    metadata = {"order_ref": attempt.order.external_id, "attempt_no": str(attempt.attempt_no), "channel": "storefront"}
    params = {"amount": attempt.amount_vnd, "currency": "vnd", "payment_method": "pm_card_visa", "confirm": True,
              "payment_method_types": ["card"], "metadata": metadata}  # fmt: skip
    return stripe_client().v1.payment_intents.create(params=params).to_dict()


def webhook(client, payment_intent_id: str, event_id: str) -> int:
    body, signature = signed(event(payment_intent_id, event_id=event_id))
    return client.post(
        "/webhooks/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    ).status_code


def test_a_first_payment_that_arrives_after_the_order_was_paid_again_is_refunded_once(
    api, login, client, stripe_server, monkeypatch
):
    # given an order paid by attempt 2 after attempt 1's call got no answer
    listing = on_sale(price=150_000, stock=120)
    _url, first = paid_again_after_a_lost_call(client, listing, monkeypatch)
    order = Order.objects.get()
    second = order.payment_attempts.get(attempt_no=2)
    assert (order.status, second.state) == ("completed", "succeeded")
    # and attempt 1's call reaching Stripe after all: the buyer is charged a second time
    late = late_payment(first)

    # when its webhook comes twice (its task runs twice), the event feed catches up, and the refresh job runs
    assert [webhook(client, late["id"], "evt_late_1") for _ in range(2)] == [200, 200]
    [stored] = InboundEvent.objects.filter(source="stripe")
    results = [stripe_event_process_task(stored.pk) for _ in range(2)]
    services.stripe_events_catch_up()
    services.payment_attempts_refresh(older_than_s=0)

    # then the late payment is refunded in full, once, and its attempt says why
    assert results == ["applied", "duplicate"]
    assert refunds_at_stripe(late["id"]) == [(150_000, "succeeded")]
    first.refresh_from_db()
    assert (first.state, first.payment_intent_id) == ("succeeded", late["id"])
    assert (first.refund_state, first.refund_reason) == ("succeeded", "paid_twice") and first.refund_id
    # the order stays paid by attempt 2: a sale once, its stock taken once, nothing refunded on it
    assert refunds_at_stripe(second.payment_intent_id) == []
    order.refresh_from_db()
    assert order.status == "completed" and order.checkout.refunded_vnd == 0
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == ["placed", "completed"]
    assert Sku.objects.get(pk=listing.sku_id).stock == 119
    # officers see it in the API
    officer = login(user_with_role(Role.OFFICER, units=[lao_cai()]))
    attempts = officer.get(f"/api/v1/storefront/orders/{order.external_id}/").json()["attempts"]
    assert [(a["attempt_no"], a["state"], a["refund_state"], a["refund_reason"]) for a in attempts] == [
        (1, "succeeded", "succeeded", "paid_twice"), (2, "succeeded", "", "")
    ]  # fmt: skip

    # when an officer then refunds the order, then it is the payment that paid it which is refunded
    assert officer.post(f"/api/v1/storefront/orders/{order.external_id}/refund/").status_code == 200
    assert refunds_at_stripe(second.payment_intent_id) == [(150_000, "succeeded")]
    assert refunds_at_stripe(late["id"]) == [(150_000, "succeeded")]


def test_a_second_payment_confirmed_at_the_bank_after_the_order_was_paid_is_refunded_by_the_refresh_job(
    client, stripe_server, monkeypatch
):
    # given attempt 1's call got no answer, and the buyer paying again with a card that asks for 3-D Secure
    listing = on_sale(price=90_000)
    _url, first = paid_again_after_a_lost_call(client, listing, monkeypatch, payment_method="card_3ds")
    second = PaymentAttempt.objects.get(attempt_no=2)
    assert second.state == "requires_action"
    # and attempt 1's payment reaching Stripe after all, which pays the order (the event feed brings it)
    late_payment(first)
    services.stripe_events_catch_up()
    assert Order.objects.get().status == "completed"

    # when the buyer confirms attempt 2 at the bank all the same (no webhook comes), and the refresh job runs twice
    stripe_api.test_authenticate(payment_intent_id=second.payment_intent_id, success=True)
    moved = [services.payment_attempts_refresh(older_than_s=0) for _ in range(2)]

    # then attempt 2's payment is refunded once and says why; attempt 1 keeps the order
    assert moved == [1, 0]
    assert refunds_at_stripe(second.payment_intent_id) == [(90_000, "succeeded")]
    second.refresh_from_db()
    assert (second.state, second.refund_state, second.refund_reason) == ("succeeded", "succeeded", "paid_twice")
    first.refresh_from_db()
    assert (first.state, first.refund_state) == ("succeeded", "")
    assert Order.objects.get().status == "completed"


def test_a_second_payment_still_waiting_for_3d_secure_on_a_paid_order_is_canceled_by_the_refresh_job(
    client, stripe_server, monkeypatch
):
    # given an order paid by attempt 1's late payment while attempt 2 waits for 3-D Secure
    listing = on_sale(price=90_000)
    _url, first = paid_again_after_a_lost_call(client, listing, monkeypatch, payment_method="card_3ds")
    second = PaymentAttempt.objects.get(attempt_no=2)
    late_payment(first)
    services.stripe_events_catch_up()

    # when the refresh job runs (twice)
    services.payment_attempts_refresh(older_than_s=0)
    services.payment_attempts_refresh(older_than_s=0)

    # then attempt 2 is canceled at Stripe before it could take the money, and says why
    assert stripe_api.payment_intent_retrieve(second.payment_intent_id).status == "canceled"
    second.refresh_from_db()
    assert (second.state, second.refund_state, second.refund_reason) == ("canceled", "canceled", "paid_twice")
    assert Order.objects.get().status == "completed"


def test_two_payments_of_one_attempt_seen_by_the_reconciler_and_by_their_webhooks_are_given_back_once(
    client, stripe_server, monkeypatch
):
    # given a crash after the payment, whose call had been sent twice (localstripe ignores the idempotency key)
    listing = on_sale(price=80_000)
    attempt = crashed_checkout(listing, monkeypatch)
    late_payment(attempt)
    order = attempt.order

    # when the reconciler runs, then both payments' webhooks come, then the event feed catches up
    report = services.payment_attempts_reconcile(older_than_s=0)
    for n, intent in enumerate(intents_of(order)):
        webhook(client, intent["id"], f"evt_twin_{n}")
    for stored in InboundEvent.objects.filter(source="stripe"):
        stripe_event_process_task(stored.pk)
    services.stripe_events_catch_up()

    # then one payment pays the order and the other was refunded once
    attempt.refresh_from_db()
    [extra] = [i["id"] for i in intents_of(order) if i["id"] != attempt.payment_intent_id]
    assert report["bound"] == [attempt.pk] and report["voided"] == [extra]
    assert refunds_at_stripe(extra) == [(160_000, "succeeded")]
    assert refunds_at_stripe(attempt.payment_intent_id) == []
    assert attempt.state == "succeeded" and Order.objects.get().status == "completed"


def test_a_refund_whose_call_never_reached_stripe_is_sent_again_by_the_refresh_job_once(
    api, login, client, stripe_server, monkeypatch
):
    # given a paid order, and an officer's refund whose call to Stripe timed out before it got there
    listing = on_sale(price=120_000)
    checkout(client, listing, quantity="1")
    order = Order.objects.get()
    officer = login(user_with_role(Role.OFFICER, units=[lao_cai()]))
    monkeypatch.setattr(stripe_api, "refund_create", lost_call)
    pending = officer.post(f"/api/v1/storefront/orders/{order.external_id}/refund/")
    monkeypatch.undo()
    assert pending.status_code == 202 and pending.json()["code"] == "refund_pending"

    # when the refresh job runs while the call could still be on its way, then later, twice
    young = services.payment_attempts_refresh()
    later = [services.payment_attempts_refresh(older_than_s=0) for _ in range(2)]

    # then it waited, then sent the refund once: Stripe holds one, and the order is returned
    assert young == 0 and later == [1, 0]
    [intent] = intents_of(order)
    [refund] = stripe_client().v1.refunds.list(params={"payment_intent": intent["id"]}).data
    assert (refund["amount"], refund["status"]) == (120_000, "succeeded")
    attempt = PaymentAttempt.objects.get()
    assert (attempt.refund_state, attempt.refund_reason, attempt.refund_id) == ("succeeded", "order", refund["id"])
    order.refresh_from_db()
    assert order.status == "returned" and order.checkout.refunded_vnd == 120_000


def test_a_refund_whose_answer_was_lost_is_recorded_by_the_refresh_job_without_a_second_one(
    api, login, client, stripe_server, monkeypatch
):
    # given a paid order, and an officer's refund that Stripe made but whose answer was lost
    listing = on_sale(price=120_000)
    checkout(client, listing, quantity="1")
    order = Order.objects.get()
    officer = login(user_with_role(Role.OFFICER, units=[lao_cai()]))
    made = stripe_api.refund_create

    def made_then_lost(**kwargs):
        made(**kwargs)
        lost_call()

    monkeypatch.setattr(stripe_api, "refund_create", made_then_lost)
    assert officer.post(f"/api/v1/storefront/orders/{order.external_id}/refund/").status_code == 202
    monkeypatch.undo()

    # when the refresh job runs (twice)
    moved = [services.payment_attempts_refresh(older_than_s=0) for _ in range(2)]

    # then it found Stripe's refund and recorded it: still one refund, and the order is returned
    [intent] = intents_of(order)
    assert moved == [1, 0] and refunds_at_stripe(intent["id"]) == [(120_000, "succeeded")]
    assert PaymentAttempt.objects.get().refund_state == "succeeded"
    assert Order.objects.get().status == "returned"


def test_a_stripe_event_kept_while_the_broker_was_down_is_applied_by_the_inbox_backstop_once(
    client, stripe_server, monkeypatch, django_capture_on_commit_callbacks
):
    # given a payment Stripe holds but whose answer we lost, and its webhook arriving while the broker is down
    listing = on_sale()
    attempt = crashed_checkout(listing, monkeypatch)
    [intent] = intents_of(attempt.order)

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(storefront_tasks, "stripe_event_process_task", SimpleNamespace(apply_async=broker_down))
    with django_capture_on_commit_callbacks(execute=True):
        answer = webhook(client, intent["id"], "evt_broker_down")
    monkeypatch.undo()
    [stored] = InboundEvent.objects.filter(source="stripe")
    assert answer == 200 and stored.state == "received"

    # when the inbox's backstop runs at once (the event is fresh: its task may still come), then later, twice
    fresh = inbound_events_process_pending_task()
    InboundEvent.objects.filter(pk=stored.pk).update(received_at=timezone.now() - timedelta(minutes=2))
    later = [inbound_events_process_pending_task() for _ in range(2)]

    # then it applied the event once, as the webhook's task does: the attempt is bound and the order paid once
    assert fresh == 0 and later == [1, 0]
    stored.refresh_from_db()
    attempt.refresh_from_db()
    assert stored.state == "processed"
    assert (attempt.state, attempt.payment_intent_id) == ("succeeded", intent["id"])
    order = Order.objects.get()
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == ["placed", "completed"]
    # and the task, should it come after all, changes nothing
    assert stripe_event_process_task(stored.pk) == "duplicate"
