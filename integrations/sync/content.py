"""The canonical listing built from the catalogue: what every adapter receives (marketplaces.md §5)."""

from __future__ import annotations

import html
import time
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.signing import TimestampSigner
from django.urls import reverse
from django.utils import timezone

from catalog.models import Sku
from catalog.ocop.selectors import certificates_counting
from catalog.photos.models import PhotoRole, PhotoStatus, ProductPhoto
from marketplace.core.errors import ServiceError
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level
from marketplace.places.selectors import units_current_communes

from ..adapters.base import ListingContent, ListingImage, OcopInfo
from ..models import CategoryMapping, Listing

# Photos go first in this order on every channel: the front of the pack sells, the back label informs.
ROLE_ORDER = [PhotoRole.FRONT, PhotoRole.LABEL_BACK, PhotoRole.PACKAGING, PhotoRole.IN_USE]
EXPORT_URL_SALT = "integrations.photo-export"


def _reader(key: str):
    def read() -> bytes:
        with default_storage.open(key, "rb") as handle:
            return handle.read()

    return read


def export_url(photo_id: int, name: str) -> str:
    """A signed URL a marketplace may fetch a photo export from (Voso fetches from URLs), valid for a day."""
    token = TimestampSigner(salt=EXPORT_URL_SALT).sign(f"{photo_id}:{name}")
    path = reverse("photo-export", kwargs={"token": token})
    return settings.PHOTO_EXPORT_BASE_URL.rstrip("/") + path


def _image(photo: ProductPhoto, channel: str) -> ListingImage | None:
    name = f"export-{channel}"
    derivative = photo.derivatives.get(name)
    if not derivative:
        return None
    # Keys are content-addressed (".../<sha256>.jpg"), so the name is the digest of the bytes sent. Its first 64
    # characters only: two processes storing the same bytes at once get ".../<sha256>_<suffix>.jpg" from storage.
    sha = derivative["key"].rsplit("/", 1)[-1][:64]
    return ListingImage(
        sha, export_url(photo.pk, name), derivative["width"], derivative["height"], _reader(derivative["key"])
    )


def _photos(listing: Listing) -> tuple[list[ListingImage], ListingImage | None]:
    """The product's ready photos in channel order, and the scan of its OCOP certificate if one was taken."""
    photos = list(ProductPhoto.objects.filter(product_id=listing.product_id, status=PhotoStatus.READY))
    rank = {role: index for index, role in enumerate(ROLE_ORDER)}
    ordered = sorted(
        (p for p in photos if p.role != PhotoRole.CERTIFICATE),
        key=lambda p: (not p.is_primary, rank.get(p.role, len(rank)), p.position, p.pk),
    )
    scans = sorted((p for p in photos if p.role == PhotoRole.CERTIFICATE), key=lambda p: (p.position, p.pk))
    images = [image for photo in ordered if (image := _image(photo, listing.channel))]
    return images, (_image(scans[0], listing.channel) if scans else None)


def _certificate(listing: Listing, scan: ListingImage | None) -> OcopInfo | None:
    certificate = (
        certificates_counting(on=timezone.localdate())
        .filter(product_id=listing.product_id)
        .order_by("-valid_until")
        .first()
    )
    if certificate is None:
        return None
    return OcopInfo(
        star=5 if certificate.star == "potential_5" else int(certificate.star),
        number=certificate.certificate_number or certificate.decision_number,
        issued_by=certificate.issuing_body,
        issued_date=certificate.decision_date,
        expiry_date=certificate.valid_until,
        scan=scan,
    )


# Origin province per commune: the lineage walk costs more than the rest of the listing, and the places of the
# 2025 reform do not move while a worker runs; kept a few minutes so that a reload of the units is seen.
_ORIGIN_TTL_S = 600.0
_origins: dict[int, tuple[float, tuple[str, str] | None]] = {}


def _origin_province(commune: AdministrativeUnit | None) -> tuple[str, str] | None:
    """(code, short name) of the current province of the place of origin, whichever code system it was captured in."""
    if commune is None:
        return None
    cached = _origins.get(commune.pk)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    if commune.system == CodeSystem.CURRENT:
        province = commune.parent if commune.level == Level.COMMUNE else commune
    else:
        current = units_current_communes(units=[commune]).select_related("parent").first()
        province = current.parent if current else None
    found = (province.code, province.short_name) if province else None
    _origins[commune.pk] = (time.monotonic() + _ORIGIN_TTL_S, found)
    return found


def _net_grams(sku: Sku) -> int | None:
    per_unit = {"g": 1, "kg": 1000}.get(sku.net_unit)
    return int(Decimal(sku.net_quantity) * per_unit) if per_unit else None


def listing_title(sku: Sku, ocop: OcopInfo | None) -> str:
    amount = f"{Decimal(sku.net_quantity).normalize():f} {sku.net_unit}"
    title = f"{sku.product.name} {amount}"
    if ocop is not None:
        title += f" - OCOP {ocop.star} sao"
    return title


def listing_content(*, listing: Listing) -> ListingContent:
    """The listing as it should be on its channel now. Raises ServiceError when the channel has no category
    for the product's set (an admin must map it)."""
    sku = Sku.objects.select_related("product__product_set", "product__producer", "product__origin_commune").get(
        pk=listing.sku_id
    )
    product = sku.product
    mapping = CategoryMapping.objects.filter(
        channel=listing.channel, product_set_number=product.product_set.number
    ).first()
    if mapping is None:
        raise ServiceError(
            "no_category_mapping",
            f"No {listing.channel} category is mapped for OCOP product set {product.product_set.number}.",
        )
    images, scan = _photos(listing)
    ocop = _certificate(listing, scan)
    origin = _origin_province(product.origin_commune)
    paragraphs = [product.description, product.ingredients and f"Thành phần: {product.ingredients}"]
    paragraphs += [product.storage and f"Bảo quản: {product.storage}"]
    description = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p)
    return ListingContent(
        listing_id=str(listing.pk),
        seller_sku=listing.seller_sku,
        title=listing_title(sku, ocop),
        description_html=description,
        category=mapping.category_code,
        brand=product.brand or product.producer.trade_name or product.producer.legal_name,
        price_vnd=int(sku.price_vnd),
        stock=int(sku.stock),
        weight_g=int(sku.weight_grams),
        dims_cm=(int(sku.length_cm), int(sku.width_cm), int(sku.height_cm)),
        images=tuple(images),
        ocop=ocop,
        shelf_life_days=product.shelf_life_days,
        net_weight_g=_net_grams(sku),
        origin_province_code=origin[0] if origin else "",
        origin_province_name=origin[1] if origin else "",
        ingredients=product.ingredients,
        visible=listing.wanted_visible,
    )
