"""Products on sale in the storefront, buyers' forms, and signed Stripe events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from catalog.models import Sku
from integrations.models import Listing
from integrations.sync.engine import listing_sync
from integrations.sync.services import listing_request
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level
from storefront.setup import storefront_setup
from tests.integrations.marketplaces import ready_product

from .conftest import WEBHOOK_SECRET


def on_sale(*, price: int = 150_000, stock: int = 120, name: str = "Mật ong hoa bạc hà Mù Cang Chải") -> Listing:
    """A ready product (two photos, verified OCOP) put on the storefront through the sync engine: live."""
    storefront_setup()
    product, _certificate = ready_product(name=name, price=price, photos=2)
    Sku.objects.filter(product=product).update(stock=stock)
    [listing] = listing_request(product=product, channel="storefront")
    assert listing_sync(listing_id=listing.pk).result == "pushed"
    listing.refresh_from_db()
    assert listing.state == "live", listing.state
    return listing


def commune(code: str = "04252") -> AdministrativeUnit:
    """A current ward of new Lào Cai (Phường Yên Bái)."""
    return AdministrativeUnit.objects.get(system=CodeSystem.CURRENT, level=Level.COMMUNE, code=code)


def buyer_form(listing: Listing, **changes) -> dict:
    form = {
        "listing": str(listing.pk),
        "quantity": "2",
        "buyer_name": "Nguyễn Thị Hoa",
        "phone": "0912 345 678",
        "province": str(commune().parent_id),
        "commune": str(commune().pk),
        "address_line": "Số 12, đường Điện Biên",
        "payment_method": "pm_card_visa",
        "action": "pay",
    }
    form.update(changes)
    return form


def signed(payload: dict, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, str]:
    """A body and its Stripe-Signature header, as Stripe signs them: HMAC-SHA256 over "{t}.{body}"."""
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={timestamp},v1={digest}"


def event(payment_intent_id: str, *, event_id: str = "evt_test_1", kind: str = "payment_intent.succeeded") -> dict:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": {"id": payment_intent_id, "object": "payment_intent"}},
    }


_numbers = iter(range(1, 100_000))


def quick_on_sale(name: str, *, price: int = 100_000, gi_slug: str | None = None, star: str = "4") -> Listing:
    """A product on sale without the photo pipeline (for page tests that need many): an approved product, a
    package, a processed-looking photo, a verified certificate, optionally a verified GI claim, a live listing."""
    from datetime import timedelta

    from django.utils import timezone

    from catalog.gis.models import AreaMatch, GeographicalIndication, GiClaim, GiClaimStatus
    from catalog.ocop.services import ocop_certificate_create, ocop_certificate_verify
    from catalog.photos.models import ProductPhoto
    from catalog.services import product_create, sku_create
    from integrations.models import ChannelConnection
    from tests.factories import producer, product_set

    n = next(_numbers)
    maker = producer(legal_name=f"Hợp tác xã Sơn Thịnh {n}")
    product = product_create(producer=maker, name=name, product_set=product_set(4), status="approved",
                             description="Sản phẩm OCOP của tỉnh.")  # fmt: skip
    sku = sku_create(product=product, net_quantity=500, net_unit="g", weight_grams=600, length_cm=10, width_cm=10,
                     height_cm=10, price_vnd=price, stock=50)  # fmt: skip
    derivatives = {
        size: {"key": f"photos/x/{n:04d}{size}{'0' * 40}.jpg", "width": 320, "height": 320, "type": "image/jpeg"}
        for size in ("w320", "w320.webp", "w800", "w800.webp")
    }
    ProductPhoto.objects.create(product=product, role="front", status="ready", is_primary=True, original_key="o",
                                sha256=f"{n:064d}", original_bytes=1, original_format="jpeg",
                                derivatives=derivatives)  # fmt: skip
    today = timezone.localdate()
    certificate = ocop_certificate_create(
        product=product, star=star, decision_number=f"{n}/QĐ-UBND", decision_date=today - timedelta(days=30),
        issuing_level="province", issuing_body="UBND tỉnh Lào Cai",
    )  # fmt: skip
    ocop_certificate_verify(certificate=certificate, officer=None, decision="verified")
    if gi_slug:
        GiClaim.objects.create(product=product, gi=GeographicalIndication.objects.get(slug=gi_slug),
                               status=GiClaimStatus.VERIFIED, checked_commune=maker.commune_as_captured,
                               area_match=AreaMatch.INSIDE)  # fmt: skip
    storefront_setup()
    booth = ChannelConnection.objects.get(channel="storefront")
    listing = Listing.objects.create(sku=sku, product=product, channel="storefront", connection=booth,
                                     seller_sku=f"P{maker.pk}-S{sku.pk}", state="live")  # fmt: skip
    Listing.objects.filter(pk=listing.pk).update(external_id=str(listing.pk))
    return listing
