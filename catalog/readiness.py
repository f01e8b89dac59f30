"""Where a product's readiness per channel is decided: each channel's profile (data) lists what it needs,
and this module checks each item against the product and says, in plain words, what is missing.

score = satisfied ÷ required × 100, ready = nothing missing (as Akeneo PIM computes completeness).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .models import Channel, ChannelProfile, ChannelRequirement, Product, ProductReadiness, RequirementKind

# Food-safety papers: any one of them satisfies the "food_safety" document requirement (domain.md §5).
FOOD_SAFETY_TYPES = ("food_safety_self_declaration", "food_safety_certificate", "food_safety_exemption")


def _attribute(name: str) -> Callable[[Product, int], bool]:
    return lambda product, _min: bool(getattr(product, name)) or getattr(product, f"{name}_id", None) is not None


ATTRIBUTE_CHECKS: dict[str, Callable[[Product, int], bool]] = {
    name: _attribute(name)
    for name in ("description", "ingredients", "storage", "shelf_life_days", "brand", "origin_commune")
}
SKU_CHECKS: dict[str, Callable[[Product, int], bool]] = {
    "any": lambda product, minimum: len(product.skus.all()) >= minimum,
    "in_stock": lambda product, minimum: any(s.stock > 0 for s in product.skus.all()),
    "gtin": lambda product, minimum: bool(product.skus.all()) and all(s.gtin for s in product.skus.all()),
}


def _documents(product: Product, doc_type: str, minimum: int) -> bool:
    from catalog.documents.models import Document

    types = FOOD_SAFETY_TYPES if doc_type == "food_safety" else (doc_type,)
    today = timezone.localdate()
    current = Document.objects.filter(
        Q(product=product) | Q(producer_id=product.producer_id, product__isnull=True),
        doc_type__in=types,
    ).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
    return current.count() >= minimum


def _photos(product: Product, role: str, minimum: int) -> bool:
    from catalog.photos.selectors import product_ready_photo_count

    return product_ready_photo_count(product=product, role=None if role == "any" else role) >= minimum


def _ocop(product: Product, key: str, minimum: int) -> bool:
    from catalog.ocop.selectors import products_counting_as_ocop

    return products_counting_as_ocop(on=timezone.localdate()).filter(pk=product.pk).exists()


KNOWN_KEYS = {
    RequirementKind.ATTRIBUTE: set(ATTRIBUTE_CHECKS),
    RequirementKind.SKU: set(SKU_CHECKS),
    RequirementKind.DOCUMENT: {
        "food_safety",
        *FOOD_SAFETY_TYPES,
        "vietgap",
        "organic",
        "test_report",
        "ocop_certificate_scan",
        "gi_right_to_use",
    },
    RequirementKind.PHOTO: {
        "any",
        "front",
        "label_back",
        "ingredients_nutrition",
        "packaging",
        "in_use",
        "production_area",
        "certificate",
    },
    RequirementKind.OCOP: {"verified"},
}


def requirement_met(requirement: ChannelRequirement, product: Product) -> bool:
    kind, key, minimum = requirement.kind, requirement.key, requirement.min_count
    if kind == RequirementKind.ATTRIBUTE:
        return ATTRIBUTE_CHECKS[key](product, minimum)
    if kind == RequirementKind.SKU:
        return SKU_CHECKS[key](product, minimum)
    if kind == RequirementKind.DOCUMENT:
        return _documents(product, key, minimum)
    if kind == RequirementKind.PHOTO:
        return _photos(product, key, minimum)
    return _ocop(product, key, minimum)


@dataclass
class ChannelReadiness:
    channel: str
    score: int
    ready: bool
    missing: list[ChannelRequirement] = field(default_factory=list)
    satisfied: list[ChannelRequirement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # photo quality hints: advice, never a refusal

    def missing_labels(self) -> list[str]:
        english = (get_language() or "vi").startswith("en")
        return [r.label_en if english else r.label_vi for r in self.missing]


def product_readiness(*, product: Product) -> list[ChannelReadiness]:
    """Readiness of one product for every channel, from the channel profiles that apply to its set."""
    profiles = ChannelProfile.objects.filter(
        Q(product_set_number__isnull=True) | Q(product_set_number=product.product_set.number)
    ).prefetch_related("requirements")
    by_channel: dict[str, dict[tuple, ChannelRequirement]] = {c: {} for c in Channel.values}
    for profile in profiles:
        for requirement in profile.requirements.all():
            # A set-specific requirement replaces the default one with the same kind and key.
            key = (requirement.kind, requirement.key)
            if profile.product_set_number is not None or key not in by_channel[profile.channel]:
                by_channel[profile.channel][key] = requirement
    results = []
    for channel, requirements in by_channel.items():
        met, missing = [], []
        for requirement in sorted(requirements.values(), key=lambda r: (r.position, r.pk)):
            (met if requirement_met(requirement, product) else missing).append(requirement)
        total = len(met) + len(missing)
        score = round(100 * len(met) / total) if total else 100
        warnings = photo_warnings(product=product, channel=channel)
        results.append(ChannelReadiness(channel, score, not missing, missing, met, warnings))
    return results


def photo_warnings(*, product: Product, channel: str) -> list[str]:
    """Quality hints of the product's ready photos, as advice for this channel, in the reader's language."""
    from catalog.photos.models import PhotoStatus

    texts = {
        "blurry": _("Photo %(n)s looks blurry: take it again, holding the phone still."),
        "dark": _("Photo %(n)s is very dark: take it again in daylight."),
        "bright": _("Photo %(n)s is very bright: take it again out of direct sun."),
        f"small:{channel}": _(
            "Photo %(n)s is smaller than this channel wants: take it closer or at a higher resolution."
        ),
    }
    warnings = []
    for number, photo in enumerate(product.photos.filter(status=PhotoStatus.READY).order_by("position", "pk"), 1):
        warnings.extend(texts[hint] % {"n": number} for hint in photo.hints if hint in texts)
    return warnings


@transaction.atomic
def readiness_refresh(*, product: Product) -> list[ChannelReadiness]:
    """Recompute and store a product's readiness; called by every service that changes what it depends on."""
    product = Product.objects.select_related("product_set").prefetch_related("skus").get(pk=product.pk)
    results = product_readiness(product=product)
    for result in results:
        ProductReadiness.objects.update_or_create(
            product=product,
            channel=result.channel,
            defaults={
                "score": result.score,
                "ready": result.ready,
                "missing": [{"kind": r.kind, "key": r.key} for r in result.missing],
            },
        )
    # What the product is on the marketplaces may have changed too: its listings push the difference.
    from integrations.sync.services import listings_resync_product

    listings_resync_product(product_id=product.pk)
    return results
