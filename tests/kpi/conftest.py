"""Builders for the KPI stories: OCOP products with certificates, listings with a dated history, orders.

Dates are given, never taken from the clock, so that a hand-computed figure stays true whatever day the tests
run. History is back-dated after creation (`at`, `created_at` are set by the database on insert)."""

import itertools
from datetime import date, datetime, time

import pytest
from django.utils import timezone

from catalog.models import Product, ProductSet, Sku
from catalog.ocop.services import ocop_certificate_create, ocop_certificate_revoke, ocop_certificate_verify
from integrations.models import ChannelConnection, ConnectionKind, Listing, ListingEvent
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from sales.models import Order, OrderLine
from tests.factories import producer, unit, user_with_role

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_kpi_cache(settings):
    """The stories change data and read again at once: no cached answers, except where a test asks for them."""
    settings.KPI_CACHE_SECONDS = 0


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def legacy_commune(code: str):
    return unit(CodeSystem.LEGACY, Level.COMMUNE, code)


def officer_of(*units):
    return user_with_role(Role.OFFICER, units=list(units))


def _verifier():
    return user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])


def ocop_product(
    name: str,
    *,
    maker=None,
    set_number: int = 11,
    star: str = "3",
    decided: date = date(2023, 3, 1),
    valid_until: date | None = None,
    verified: bool = True,
    revoked_on: date | None = None,
    officer=None,
) -> Product:
    """A product with one package and one certificate (verified unless told otherwise), by default decided on
    1 March 2023 by the province, valid 36 months."""
    product_set = ProductSet.objects.filter(number=set_number).order_by("-version").first()
    product = Product.objects.create(
        producer=maker or producer(), name=name, product_set=product_set,
        kind="service" if product_set.is_service else "goods", search_key=name.lower(),
    )  # fmt: skip
    Sku.objects.create(
        product=product, net_quantity=200, net_unit="g", weight_grams=300, length_cm=10, width_cm=8, height_cm=6,
        price_vnd=150000,
    )  # fmt: skip
    certify(product, star=star, decided=decided, valid_until=valid_until, verified=verified, revoked_on=revoked_on,
            officer=officer)  # fmt: skip
    return product


def certify(product, *, star="3", decided: date, valid_until=None, verified=True, revoked_on=None, officer=None):
    officer = officer or _verifier()
    certificate = ocop_certificate_create(
        product=product, star=star, decision_number=f"{next(_numbers)}/QĐ-UBND", decision_date=decided,
        issuing_level="province", issuing_body="UBND tỉnh Yên Bái", valid_until=valid_until,
        certificate_number=f"OCOP-{next(_numbers):05d}",
    )  # fmt: skip
    if verified:
        certificate = ocop_certificate_verify(certificate=certificate, officer=officer, decision="verified")
    if revoked_on:
        certificate = ocop_certificate_revoke(
            certificate=certificate, officer=officer, reason="Vi phạm tiêu chuẩn", now=at(revoked_on)
        )
    return certificate


def booth(channel: str) -> ChannelConnection:
    connection, _created = ChannelConnection.objects.get_or_create(
        channel=channel, shop_id=f"booth-{channel}",
        defaults={"kind": ConnectionKind.SHARED_BOOTH, "name": f"Gian hàng {channel}",
                  "base_url": "http://127.0.0.1:9"},
    )  # fmt: skip
    return connection


def listing(product, channel: str, history: list, *, confirmed: date | None = None, reasons=None) -> Listing:
    """A listing whose dated history is `history` = [(state, day), ...]; it ends in the last state. `confirmed`
    is the last day its channel confirmed it."""
    sku = product.skus.first()
    final = history[-1][0] if history else "draft"
    made = Listing.objects.create(
        sku=sku, product=product, channel=channel, connection=booth(channel), state=final,
        seller_sku=f"S{sku.pk}-{channel}", external_id=f"{channel}-{sku.pk}", reasons=reasons or [],
        remote_confirmed_at=at(confirmed) if confirmed else None,
    )  # fmt: skip
    previous = "draft"
    for state, day in history:
        event = ListingEvent.objects.create(
            listing=made, from_state=previous, to_state=state, reasons=reasons if state == "rejected" else []
        )
        ListingEvent.objects.filter(pk=event.pk).update(at=at(day))
        previous = state
    first = history[0][1] if history else date(2023, 1, 1)
    Listing.objects.filter(pk=made.pk).update(created_at=at(first, 8))
    made.refresh_from_db()
    return made


def sale(
    on: Listing,
    *,
    sold: date | None,
    status: str = "completed",
    undone: date | None = None,
    evidence: str = "platform_api",
    quantity: int = 1,
    price: int = 150000,
) -> Order:
    """An order of one line on a listing, sold (delivered or completed) on `sold`, and cancelled or returned on
    `undone` when given."""
    attested_by = _verifier() if evidence == "officer_attested" else None
    changed = undone or sold or date(2024, 1, 1)
    order = Order.objects.create(
        channel=on.channel, connection=on.connection, external_id=f"O-{next(_numbers)}",
        status=status, placed_at=at(sold or changed, 8), status_changed_at=at(changed, 12),
        sold_at=at(sold) if sold else None, total_vnd=quantity * price, evidence=evidence, attested_by=attested_by,
        attested_document="Biên bản xác nhận" if attested_by else "",
    )  # fmt: skip
    OrderLine.objects.create(
        order=order, listing=on, sku=on.sku, product=on.product, quantity=quantity, unit_price_vnd=price,
        total_vnd=quantity * price, seller_sku=on.seller_sku,
    )  # fmt: skip
    return order


def a_maker(commune_code: str = "04657", **fields):
    return producer(commune_as_captured=legacy_commune(commune_code), **fields)
