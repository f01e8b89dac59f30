"""The storefront's place among the channels: one shared booth for the province, and categories that are the
OCOP product sets themselves (the storefront has no taxonomy of its own to map to)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from catalog.models import ProductSet
from integrations.models import CategoryMapping, ChannelConnection, ConnectionKind
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level

from .consts import CHANNEL

PROVINCE_CODE = "15"  # new Lào Cai (2025 codes), which took in old Yên Bái
BOOTH_SHOP_ID = "LC15"
BOOTH_NAME = "Sàn OCOP tỉnh Lào Cai"


@transaction.atomic
def storefront_setup() -> dict:
    """Create (or find) the booth and the category of every product set; admin edits are kept."""
    area = AdministrativeUnit.objects.get(system=CodeSystem.CURRENT, level=Level.PROVINCE, code=PROVINCE_CODE)
    base_url = settings.WEBHOOK_BASE_URL.rstrip("/") + reverse("storefront-home")
    _booth, made = ChannelConnection.objects.get_or_create(
        channel=CHANNEL, shop_id=BOOTH_SHOP_ID,
        defaults={"kind": ConnectionKind.SHARED_BOOTH, "name": BOOTH_NAME, "area": area, "base_url": base_url},
    )  # fmt: skip
    created = 0
    for product_set in ProductSet.objects.order_by("number", "-version"):
        _mapping, new = CategoryMapping.objects.get_or_create(
            channel=CHANNEL, product_set_number=product_set.number,
            defaults={"category_code": f"ocop-{product_set.number}", "category_name": product_set.name[:160]},
        )  # fmt: skip
        created += new
    return {"booth": "created" if made else "kept", "categories": created}


def storefront_demo_queue() -> tuple[int, int]:
    """Every ready demo product on the storefront (through the same bulk push as the marketplaces)."""
    from integrations.sync.services import listings_bulk_push
    from marketplace.places.models import NamedScope

    with transaction.atomic():
        bulk = listings_bulk_push(scope=NamedScope.objects.get(slug="old-yen-bai"), channel=CHANNEL)
    return bulk.listings.count(), len(bulk.skipped)
