"""The storefront end to end, as a buyer and localstripe see it: the officer lists a product through the API, the
sync engine puts it live, the buyer finds it, buys it on the pages and pays; localstripe's own signed webhook
reaches the running server (live_server) and is applied by the task. Committed data (transaction=True)."""

import time

import pytest
from django.core.management import call_command

from catalog.models import Sku
from integrations.models import InboundEvent, Listing
from integrations.tasks import listing_sync_task
from marketplace.accounts.models import Role
from sales.models import Order, OrderEvent
from storefront import stripe_api
from storefront.models import PaymentAttempt
from storefront.setup import storefront_setup
from storefront.tasks import stripe_event_process_task
from tests.factories import user_with_role
from tests.integrations.marketplaces import lao_cai, ready_product

from .helpers import buyer_form

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh():
    # transaction=True tests start from an empty database
    for command in ("load_admin_units", "load_catalog_reference", "load_channel_reference"):
        call_command(command, verbosity=0)
    storefront_setup()


def webhook_event(kind: str, timeout: float = 10.0) -> InboundEvent:
    """localstripe sends each event once, about a second after it happens."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = InboundEvent.objects.filter(source="stripe", payload__type=kind).first()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {kind} webhook arrived")


def test_list_find_buy_and_pay_then_the_webhook_changes_nothing_more(client, api, login, webhooks_to_live_server):
    # given an officer who lists a ready product on the storefront, which the sync engine puts live
    product, _certificate = ready_product(name="Mật ong hoa bạc hà", price=150_000, photos=2)
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    listed = login(officer).post(f"/api/v1/products/{product.pk}/listings/", {"channel": "storefront"}, format="json")
    assert listed.status_code == 201, listed.content
    listing_id = listed.json()[0]["id"]
    assert listing_sync_task(listing_id) == "pushed"
    listing = Listing.objects.get(pk=listing_id)
    assert listing.state == "live" and listing.external_id == str(listing.pk)

    # when a buyer searches without accents, opens the product and pays for two with a good card
    found = client.get("/cua-hang/", {"q": "mat ong bac ha"})
    assert f"/cua-hang/san-pham/{product.pk}/" in found.content.decode()
    assert "150.000 ₫" in found.content.decode()
    page = client.get(f"/cua-hang/san-pham/{product.pk}/")
    assert page.status_code == 200 and str(listing.pk) in page.content.decode()
    assert client.get("/cua-hang/mua/", {"listing": listing.pk, "quantity": 2}).status_code == 200
    paid = client.post("/cua-hang/mua/", buyer_form(listing))

    # then the order is a sale on the storefront channel, with its buyer's details and the stock taken
    assert paid.status_code == 302
    order = Order.objects.get()
    assert (order.channel, order.status, order.evidence, order.total_vnd) == (
        "storefront", "completed", "platform_api", 300_000
    )  # fmt: skip
    assert order.sold_at is not None and order.buyer_phone == "+84912345678"
    assert order.delivery_unit.code == "04252"
    [line] = order.lines.all()
    assert (line.listing_id, line.product_id, line.quantity, line.unit_price_vnd) == (
        listing.pk,
        product.pk,
        2,
        150_000,
    )
    assert Sku.objects.get(pk=listing.sku_id).stock == 118
    attempt = PaymentAttempt.objects.get()
    assert attempt.state == "succeeded" and attempt.payment_intent_id.startswith("pi_")

    # when localstripe's own webhook arrives at the running server and its task runs
    arrived = webhook_event("payment_intent.succeeded")
    assert arrived.payload["data"]["object"]["id"] == attempt.payment_intent_id
    result = stripe_event_process_task(arrived.pk)

    # then it re-read the payment and found nothing more to do: one sale, one history entry each
    assert result == "unchanged"
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == ["placed", "completed"]
    status_page = client.get(paid["Location"])
    assert status_page.status_code == 200 and order.external_id in status_page.content.decode()
    assert status_page["Referrer-Policy"] == "no-referrer"  # the link's secret stays on this page


def test_3d_secure_confirmed_at_the_bank_is_paid_through_the_webhook(client, webhooks_to_live_server):
    # given a buyer whose card asks for 3-D Secure
    product, _certificate = ready_product(price=90_000, photos=2)
    from integrations.sync.engine import listing_sync
    from integrations.sync.services import listing_request

    [listing] = listing_request(product=product, channel="storefront")
    listing_sync(listing_id=listing.pk)
    response = client.post("/cua-hang/mua/", buyer_form(listing, payment_method="card_3ds", quantity="1"))
    attempt = PaymentAttempt.objects.get()
    assert response.status_code == 302 and attempt.state == "requires_action"

    # when they confirm at their bank (Stripe.js in production; localstripe's simulation here), away from us
    stripe_api.test_authenticate(payment_intent_id=attempt.payment_intent_id, success=True)

    # then the webhook brings the news, and its task pays the order
    arrived = webhook_event("payment_intent.succeeded")
    assert stripe_event_process_task(arrived.pk) == "applied"
    attempt.refresh_from_db()
    assert attempt.state == "succeeded"
    assert Order.objects.get().status == "completed"
