"""Reads and scope rules for photos."""

import logging

import imagehash
from django.db.models import QuerySet

from catalog.models import ChannelProfile, Product
from catalog.selectors import producers_in_reach
from marketplace.accounts.scoping import Reach, scope_rule

from .models import PhotoStatus, ProductPhoto
from .pipeline import ExportSpec, export_spec_check

logger = logging.getLogger(__name__)

# phash distance at or under which two photos are "the same picture" (re-encoded, resized, lightly edited).
NEAR_DUPLICATE_DISTANCE = 6


@scope_rule(ProductPhoto)
def _photos(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(product__producer__in=producers_in_reach(reach))


# Exports never exceed this longest side even when a channel allows more (Voso-like: up to 5000 px): any
# size inside the channel's range meets its rule, and decoding a 48 MP photo at full scale to make a 5000 px
# export would cost ~370 MB of worker memory instead of ~120 MB.
EXPORT_LONGEST_CAP = 2048


def channel_export_specs() -> list[ExportSpec]:
    """One export per channel whose profile states its image rules (data, edited in the admin). A profile
    whose rules cannot be met is skipped with an error in the log, rather than blocking every photo."""
    specs = []
    for profile in ChannelProfile.objects.filter(product_set_number__isnull=True).exclude(image_format=""):
        max_px = min(profile.image_max_px or EXPORT_LONGEST_CAP, EXPORT_LONGEST_CAP)
        spec = ExportSpec(
            channel=profile.channel,
            format=profile.image_format,
            min_px=min(profile.image_min_px or 0, max_px),
            max_px=max_px,
            max_bytes=profile.image_max_bytes or 10 * 1024 * 1024,
        )
        try:
            export_spec_check(spec)
        except ValueError:
            logger.exception("Channel profile %s has image rules that cannot be met; no export for it", profile.pk)
            continue
        specs.append(spec)
    return sorted(specs, key=lambda spec: spec.channel)


def photo_near_duplicate(*, photo: ProductPhoto) -> ProductPhoto | None:
    """A ready photo of another producer's product that looks the same (perceptual hash), if any.

    Compared in Python over the candidates' hashes: a Hamming distance has no portable SQL form, and the
    candidates are the photos of other producers only.
    """
    if not photo.phash:
        return None
    mine = imagehash.hex_to_hash(photo.phash)
    candidates = (
        ProductPhoto.objects.filter(status=PhotoStatus.READY)
        .exclude(phash="")
        .exclude(product__producer_id=photo.product.producer_id)
        .select_related("product__producer")
        .only("id", "phash", "product__name", "product__producer__legal_name")
    )
    for other in candidates.iterator(chunk_size=2000):
        if mine - imagehash.hex_to_hash(other.phash) <= NEAR_DUPLICATE_DISTANCE:
            return other
    return None


def product_ready_photo_count(*, product: Product, role: str | None = None) -> int:
    photos = product.photos.filter(status=PhotoStatus.READY)
    return (photos.filter(role=role) if role else photos).count()
