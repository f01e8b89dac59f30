"""The storefront in a real browser on a phone-sized screen: a buyer opens the list, a product, fills the checkout
form and pays with a test card on the real localstripe process; each step is screenshotted, and the list's weight
is read from the browser's own resource timing. Committed data (transaction=True): live_server serves it."""

import json
import re

import pytest
from playwright.sync_api import expect

from sales.models import Order
from storefront.models import PaymentAttempt
from tests.storefront.helpers import buyer_form, commune, on_sale

from .conftest import PAGE_WEIGHT, vi

pytestmark = pytest.mark.django_db(transaction=True)

LIST_BUDGET_BYTES = 150 * 1024  # the list over 3G on a prepaid plan: HTML, inline CSS and the visible photos


def test_a_buyer_on_a_phone_finds_a_product_fills_the_form_and_pays(browser_page, live_server, stripe_server,
                                                                     artifacts):  # fmt: skip
    page = browser_page
    shot = iter(range(1, 100))

    def screenshot(step: str) -> None:
        page.screenshot(path=artifacts / f"{next(shot):02d}-{step}.png", full_page=True)

    # given a honey on sale at 150,000 đồng (real photos through the pipeline) and a tea beside it
    listing = on_sale(name="Mật ong hoa bạc hà Mù Cang Chải", price=150_000)
    on_sale(name="Chè Shan tuyết Suối Giàng", price=90_000)
    honey = listing.product.name
    form = buyer_form(listing)

    # when a buyer opens the storefront on a fresh phone
    page.goto(f"{live_server.url}/cua-hang/", wait_until="load")
    page.wait_for_load_state("networkidle")  # lazy photos in view are part of the page
    weight = page.evaluate(PAGE_WEIGHT)
    screenshot("list")

    # then the list is within its weight budget, counted by the browser
    total = weight["document"] + sum(r["bytes"] for r in weight["resources"])
    (artifacts / "list-weight.json").write_text(json.dumps({"total_bytes": total, **weight}, indent=2))
    print(f"storefront list: {total} bytes transferred, document {weight['document']}")  # shown with -s
    assert weight["document"] > 0, "no transfer size: the numbers would mean nothing"
    assert any(r["type"] == "img" and r["bytes"] > 0 for r in weight["resources"]), "no photo was loaded"
    assert total <= LIST_BUDGET_BYTES, weight

    # when they open the honey and ask for two
    page.get_by_role("link").filter(has_text=honey).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(honey)
    page.get_by_label(vi("Quantity")).fill("2")
    screenshot("product")
    page.get_by_role("button", name=vi("Buy now")).click()
    page.wait_for_url(re.compile(r"/cua-hang/mua/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(vi("Checkout"))
    expect(page.get_by_label(vi("Quantity"))).to_have_value("2")

    # and fill the form: their name and phone, the province (its communes come back from the server), the ward
    page.get_by_label(vi("Recipient's name")).fill(form["buyer_name"])
    page.get_by_label(vi("Phone number")).fill(form["phone"])
    ward = commune()
    with page.expect_navigation():
        page.get_by_label(vi("Province or city")).select_option(label=ward.parent.name)
    page.get_by_label(vi("Commune or ward")).select_option(label=ward.name)
    page.get_by_label(vi("House number, street or village")).fill(form["address_line"])
    page.get_by_label(re.compile("Visa 4242")).check()
    screenshot("checkout")
    page.get_by_role("button", name=vi("Place the order and pay")).click()

    # then their order's page says it is paid, for two at 150,000 đồng, to their ward
    page.wait_for_url(re.compile(r"/cua-hang/don-hang/"))
    expect(page.locator("#status")).to_have_text(vi("Paid. Thank you! The producer is preparing your parcel."))
    screenshot("paid")
    order = Order.objects.get()
    assert (order.channel, order.status, order.total_vnd, order.buyer_phone) == (
        "storefront", "completed", 300_000, "+84912345678"
    )  # fmt: skip
    assert order.delivery_unit_id == ward.pk
    assert order.external_id in page.title()
    attempt = PaymentAttempt.objects.get()
    assert attempt.state == "succeeded" and attempt.payment_intent_id.startswith("pi_")  # localstripe's own id
    assert sorted(p.name for p in artifacts.glob("*.png")) == ["01-list.png", "02-product.png", "03-checkout.png",
                                                              "04-paid.png"]  # fmt: skip
