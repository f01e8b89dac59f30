"""Reads for the producers' wizard. Every producer, product and listing goes through `scope_queryset`, so a
page never shows what the signed-in user could not see through the API."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import get_language

from catalog.models import Channel, Producer, ProducerMembership, Product, ProductSet, Sku
from catalog.photos.models import ProductPhoto
from catalog.readiness import product_readiness
from integrations.models import Listing
from integrations.sync.reasons import reason_text
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import scope_queryset, user_reach
from marketplace.core.text import fold
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level, UnitSuccession
from marketplace.places.selectors import unit_search, unit_successors_at
from sales.models import OrderLine
from sales.selectors import NOT_SALES

CHOICE_LIMIT = 50
PLACE_LIMIT = 10


def producers_to_choose(*, user, q: str = "") -> QuerySet[Producer]:
    """The producers a user may act for, by name (accent-insensitive), at most CHOICE_LIMIT."""
    producers = scope_queryset(Producer.objects.select_related("current_commune__parent"), user)
    if q.strip():
        producers = producers.filter(search_key__contains=fold(q))
    return producers.order_by("legal_name", "pk")[:CHOICE_LIMIT]


def producer_get(*, user, producer_id) -> Producer | None:
    """One producer in the user's reach (None otherwise: its existence is not revealed)."""
    queryset = Producer.objects.select_related("commune_as_captured__parent", "current_commune__parent")
    return scope_queryset(queryset, user).filter(pk=producer_id).first()


def producer_own_only(*, user) -> Producer | None:
    """The producer a producer member works for, when that is the whole of their reach: they skip the choice."""
    reach = user_reach(user)
    if reach.is_admin or reach.has_role(Role.COMMUNITY_TEAM, Role.OFFICER):
        return None
    own = list(ProducerMembership.objects.filter(user=user).values_list("producer_id", flat=True)[:2])
    return producer_get(user=user, producer_id=own[0]) if len(own) == 1 else None


def producer_is_own(*, user, producer: Producer) -> bool:
    return ProducerMembership.objects.filter(user=user, producer=producer).exists()


def producer_products(*, user, producer: Producer) -> list[Product]:
    """The producer's products with their packages (two queries)."""
    products = scope_queryset(Product.objects.select_related("product_set"), user).filter(producer=producer)
    packages = Prefetch("skus", queryset=Sku.objects.order_by("price_vnd", "pk"), to_attr="sku_list")
    return list(products.prefetch_related(packages).order_by("-created_at", "pk"))


def product_get(*, user, producer: Producer, product_id) -> Product | None:
    products = scope_queryset(Product.objects.select_related("producer", "product_set"), user)
    packages = Prefetch("skus", queryset=Sku.objects.order_by("price_vnd", "pk"), to_attr="sku_list")
    return products.filter(producer=producer, pk=product_id).prefetch_related(packages).first()


def product_sets() -> list[ProductSet]:
    """The newest version of each OCOP product set, by number."""
    newest: dict[int, ProductSet] = {}
    for product_set in ProductSet.objects.order_by("number", "-version"):
        newest.setdefault(product_set.number, product_set)
    return list(newest.values())


@dataclass
class PlaceMatch:
    unit: AdministrativeUnit
    current: list[AdministrativeUnit] = field(default_factory=list)  # what a legacy unit is today

    @property
    def value(self) -> str:
        return f"{self.unit.system}:{self.unit.code}"

    @property
    def is_legacy(self) -> bool:
        return self.unit.system == CodeSystem.LEGACY


def place_matches(*, q: str) -> list[PlaceMatch]:
    """Communes of both code systems matching `q` (accent-insensitive), current ones first; each legacy
    commune with the current commune(s) it became. Two queries whatever the number of matches."""
    if len(fold(q).strip()) < 2:
        return []
    units = unit_search(
        queryset=AdministrativeUnit.objects.filter(level=Level.COMMUNE).select_related("parent"), q=q
    ).order_by("system", "name", "pk")  # "2025" sorts before "legacy": current communes first
    matches = [PlaceMatch(unit) for unit in units[:PLACE_LIMIT]]
    legacy = {m.unit.pk: m for m in matches if m.is_legacy}
    if legacy:
        edges = UnitSuccession.objects.filter(
            predecessor_id__in=legacy, successor__system=CodeSystem.CURRENT
        ).select_related("successor__parent")
        for edge in edges.order_by("successor__name"):
            legacy[edge.predecessor_id].current.append(edge.successor)
    return matches


def place_from_value(value: str) -> AdministrativeUnit | None:
    """`<system>:<code>` of a commune, as the place picker posts it, to the unit (newest when codes repeat)."""
    system, _sep, code = (value or "").partition(":")
    if system not in CodeSystem.values or not code.isdigit():
        return None
    units = AdministrativeUnit.objects.filter(system=system, level=Level.COMMUNE, code=code).select_related("parent")
    return units.order_by("-valid_from").first()


@dataclass
class ChecklistItem:
    label: str
    met: bool


@dataclass
class ChannelChecklist:
    channel: str
    label: str
    score: int
    ready: bool
    items: list[ChecklistItem]
    warnings: list[str]


def product_checklists(*, product: Product) -> list[ChannelChecklist]:
    """Readiness per channel as a checklist in plain words, in the reader's language."""
    english = (get_language() or "vi").startswith("en")
    labels = dict(Channel.choices)
    out = []
    for result in product_readiness(product=product):
        items = [
            ChecklistItem(r.label_en if english else r.label_vi, met)
            for met, group in ((True, result.satisfied), (False, result.missing))
            for r in group
        ]
        items.sort(key=lambda item: item.met)  # what is missing first
        out.append(
            ChannelChecklist(
                result.channel, str(labels[result.channel]), result.score, result.ready, items, result.warnings
            )
        )
    return out


def product_photos(*, user, product: Product) -> list[ProductPhoto]:
    return list(scope_queryset(ProductPhoto.objects.all(), user).filter(product=product).order_by("position", "pk"))


@dataclass
class ListingView:
    listing: Listing
    reasons: list[dict]


def product_listings(*, user, product: Product) -> list[ListingView]:
    """The product's listings on every channel, with the marketplace's reasons put into plain words."""
    listings = scope_queryset(Listing.objects.select_related("sku"), user).filter(product=product)
    return [
        ListingView(listing, [reason_text(r) for r in listing.reasons])
        for listing in listings.order_by("channel", "sku_id")
    ]


def product_sales(*, product: Product) -> dict:
    """Orders and their sum for the product (orders neither cancelled nor returned), in one query."""
    row = (
        OrderLine.objects.filter(product=product)
        .exclude(order__status__in=NOT_SALES)
        .aggregate(orders=Count("order", distinct=True), total=Sum("total_vnd"))
    )
    return {"orders": row["orders"] or 0, "total_vnd": row["total"] or 0}


def place_match_for(*, unit: AdministrativeUnit) -> PlaceMatch:
    """The chosen commune, with what it is today when it is a legacy one."""
    match = PlaceMatch(unit)
    if match.is_legacy:
        match.current = unit_successors_at(unit=unit, at=timezone.localdate())
    return match
