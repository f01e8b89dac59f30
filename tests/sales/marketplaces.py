"""Live listings on the real mock marketplaces, and the mocks' buyers: what the order scenarios start from."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from integrations.adapters.postmart.adapter import PostmartAdapter
from integrations.models import ChannelConnection, Listing
from integrations.sync.engine import listing_sync
from integrations.sync.polling import listings_poll_reviews
from integrations.sync.sessions import session_for
from marketplace.accounts.models import Role
from tests.factories import user_with_role
from tests.integrations.marketplaces import (
    PM_SHOP,
    admin,
    lao_cai,
    mock_requests,  # noqa: F401 (the order tests take it from here with the rest)
    pm_connect,
    ready_product,
    register_certificate,
    vs_connect,
    wait_for,
)

ALL_VOSO_EVENTS = ("product.qc_updated", "order.created", "order.status_updated")


@dataclass
class Shops:
    pm: ChannelConnection
    vs: ChannelConnection
    pm_listing: Listing
    vs_listing: Listing
    product: object


def voso_subscribe(url: str, connection: ChannelConnection, webhook_url: str, events) -> None:
    answer = requests.put(
        f"{url}/v2/webhooks", json={"url": webhook_url, "events": list(events)},
        headers={"Token": connection.access_token}, timeout=5,
    ).json()  # fmt: skip
    secret = answer["data"].get("secret")
    if secret:
        connection.credentials = {**connection.credentials, "webhook_secrets": [secret]}
        connection.save()


def live_shops(api, login, pm_url, vs_url, live_server, *, pushes=True, voso_events=ALL_VOSO_EVENTS) -> Shops:
    """A booth on each marketplace with one product live on both. Postmart pushes come to our callback when
    `pushes`; Voso sends `voso_events` (its QC outcome at least, which is how the listing goes live)."""
    pm = pm_connect(pm_url, area=lao_cai())
    if pushes:
        PostmartAdapter().configure_push(session_for(pm), f"{live_server.url}/webhooks/postmart/")
    vs = vs_connect(vs_url, area=lao_cai())
    voso_subscribe(vs_url, vs, f"{live_server.url}/webhooks/voso/", ("product.qc_updated",))
    product, certificate = ready_product()
    register_certificate(pm_url, vs_url, certificate)
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    listings = {}
    for channel in ("postmart", "voso"):
        response = login(officer).post(f"/api/v1/products/{product.pk}/listings/", {"channel": channel}, format="json")
        assert response.status_code == 201, response.content
        listings[channel] = Listing.objects.get(pk=response.json()[0]["id"])
        assert listing_sync(listing_id=listings[channel].pk).result == "pushed"
    time.sleep(0.5)  # the Postmart mock's review scheduler ticks every 0.2 s
    listings_poll_reviews(channel="postmart")
    wait_for(lambda: {x.state for x in Listing.objects.filter(product=product)} == {"live"})
    voso_subscribe(vs_url, vs, f"{live_server.url}/webhooks/voso/", voso_events)
    api.credentials()
    return Shops(pm, vs, *(Listing.objects.get(pk=listings[c].pk) for c in ("postmart", "voso")), product)


def pm_buy(pm_url: str, listing: Listing, qty: int = 2, payment: str = "COD") -> str:
    order = admin(pm_url, "POST", "/orders", shop_id=PM_SHOP, lines=[{"item_id": int(listing.external_id), "qty": qty}],
                  payment_method=payment)  # fmt: skip
    return order["order_sn"]


def pm_move(pm_url: str, order_sn: str, *statuses: str) -> None:
    for status in statuses:
        admin(pm_url, "POST", f"/orders/{order_sn}/transition", to=status)


def vs_buy(vs_url: str, listing: Listing, qty: int = 3, payment: str = "COD") -> str:
    order = admin(vs_url, "POST", "/orders", externalId=str(listing.pk), quantity=qty, paymentMethod=payment,
                  buyer={"provinceCode": "15", "name": "Lò Thị Mai"})  # fmt: skip
    return order["orderId"]


def vs_move(vs_url: str, order_id: str, *statuses: str) -> None:
    for status in statuses:
        admin(vs_url, "POST", f"/orders/{order_id}/transition", to=status)


def pm_deliveries(pm_url: str) -> list[dict]:
    return admin(pm_url, "GET", "/deliveries?code=3")["deliveries"]


def vs_deliveries(vs_url: str) -> list[dict]:
    return admin(vs_url, "GET", "/deliveries")["deliveries"]
