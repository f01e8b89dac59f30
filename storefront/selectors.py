"""Reads of the province storefront (public pages: a constant number of queries per page) and the scope rules of
its records (officers, community teams and the producer's members see the orders of the producers in reach;
only officers of the area, the producer's members and administrators see who the buyer is)."""

from __future__ import annotations

import hashlib
import hmac

from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from catalog.gis.models import GiClaim, GiClaimStatus
from catalog.models import Product, ProductStatus
from catalog.ocop.selectors import products_with_current_star
from catalog.photos.models import PhotoRole, PhotoStatus, ProductPhoto
from catalog.selectors import producer_personal_data_visible_ids, producers_in_reach
from integrations.models import Listing, ListingState
from marketplace.accounts.scoping import Reach, scope_rule
from marketplace.core.text import fold
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level

from .consts import CHANNEL
from .models import Checkout, PaymentAttempt


@scope_rule(Checkout)
def _checkouts(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(listing__product__producer__in=producers_in_reach(reach))


@scope_rule(PaymentAttempt)
def _attempts(queryset: QuerySet, reach: Reach) -> QuerySet:
    if reach.is_admin:
        return queryset
    return queryset.filter(order__checkout__listing__product__producer__in=producers_in_reach(reach))


def token_digest(token: str) -> str:
    """The order link's secret is stored as this digest only: the database never holds a working link."""
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------------------------------ public pages
def _live() -> Q:
    return Q(channel=CHANNEL, state=ListingState.LIVE, wanted_visible=True, wanted_removed=False)


def _live_listing() -> Q:
    return Q(
        listings__channel=CHANNEL,
        listings__state=ListingState.LIVE,
        listings__wanted_visible=True,
        listings__wanted_removed=False,
    )


def listings_on_sale() -> QuerySet[Listing]:
    return Listing.objects.filter(_live(), product__status=ProductStatus.APPROVED)


def _photos() -> Prefetch:
    # Every ready photo but the certificate scans, primary first: the list page takes the first one only.
    photos = (
        ProductPhoto.objects.filter(status=PhotoStatus.READY)
        .exclude(role=PhotoRole.CERTIFICATE)
        .only("id", "product_id", "role", "alt_text", "derivatives", "is_primary", "position")
        .order_by("-is_primary", "position", "id")
    )
    return Prefetch("photos", queryset=photos, to_attr="shop_photos")


def _gis() -> Prefetch:
    verified = GiClaim.objects.filter(status=GiClaimStatus.VERIFIED).select_related("gi").order_by("gi__name")
    return Prefetch("gi_claims", queryset=verified, to_attr="verified_gis")


def storefront_products(*, q: str = "") -> QuerySet[Product]:
    """Approved products with at least one package on sale in the storefront: star, lowest price, producer
    and commune in the same query; photos and verified GIs in one query each. Accent-insensitive search on
    the product, its brand and its producer, word by word ("mat ong mu cang chai" finds "Mật ong Mù Cang Chải")."""
    on_sale = listings_on_sale()
    products = Product.objects.filter(status=ProductStatus.APPROVED).filter(
        Exists(on_sale.filter(product_id=OuterRef("pk")))
    )
    for word in fold(q or "").split()[:8]:  # every word, in any order: "mat ong bac ha" finds "Mật ong hoa bạc hà"
        products = products.filter(Q(search_key__contains=word) | Q(producer__search_key__contains=word))
    products = products_with_current_star(products, on=timezone.localdate()).annotate(
        price_from=Min("listings__sku__price_vnd", filter=_live_listing())
    )
    return (
        products.select_related("producer", "origin_commune__parent", "producer__current_commune__parent")
        .prefetch_related(_photos(), _gis())
        .order_by("name", "pk")
    )


def storefront_product(*, product_id: int) -> tuple[Product, list[Listing]] | None:
    """One product of the storefront with its packages on sale (cheapest first), or None."""
    product = storefront_products().filter(pk=product_id).first()
    if product is None:
        return None
    listings = list(listings_on_sale().filter(product=product).select_related("sku").order_by("sku__price_vnd", "pk"))
    return product, listings


def listing_for_checkout(*, listing_id) -> Listing | None:
    return (
        listings_on_sale()
        .filter(pk=listing_id)
        .select_related("sku", "product__producer", "product__origin_commune__parent")
        .first()
    )


def provinces() -> QuerySet[AdministrativeUnit]:
    return AdministrativeUnit.objects.filter(
        system=CodeSystem.CURRENT, level=Level.PROVINCE, valid_to__isnull=True
    ).order_by("name")


def communes_of(*, province_id: int | None) -> QuerySet[AdministrativeUnit]:
    """The current communes and wards of a province, for the delivery address picker."""
    if not province_id:
        return AdministrativeUnit.objects.none()
    return AdministrativeUnit.objects.filter(
        system=CodeSystem.CURRENT, level=Level.COMMUNE, parent_id=province_id, valid_to__isnull=True
    ).order_by("name")


def order_for_buyer(*, order_ref: str, token: str) -> Checkout | None:
    """The buyer's order by its reference and the secret of its link (compared in constant time)."""
    checkout = (
        Checkout.objects.select_related("order__delivery_unit__parent", "listing__product", "listing__sku")
        .filter(order__channel=CHANNEL, order__external_id=order_ref)
        .first()
    )
    if checkout is None or not hmac.compare_digest(checkout.token_digest, token_digest(token)):
        return None
    return checkout


def checkout_latest_attempt(*, checkout: Checkout) -> PaymentAttempt | None:
    return checkout.order.payment_attempts.order_by("-attempt_no").first()


# --------------------------------------------------------------------------------------------- the API
def checkouts_for_api(queryset: QuerySet[Checkout]) -> QuerySet[Checkout]:
    attempts = PaymentAttempt.objects.order_by("attempt_no")
    return queryset.select_related(
        "order__delivery_unit__parent", "listing__product__producer", "listing__sku"
    ).prefetch_related(Prefetch("order__payment_attempts", queryset=attempts))


def buyer_visible_producer_ids(*, user, checkouts) -> set[int]:
    """The producers whose buyers' personal data this user may see: the producer's members, officers of its
    area, administrators (community teams see the orders, not who placed them)."""
    producers = {c.listing.product.producer_id: c.listing.product.producer for c in checkouts}
    return producer_personal_data_visible_ids(user=user, producers=list(producers.values()))
