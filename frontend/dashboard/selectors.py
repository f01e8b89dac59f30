"""Reads for the officers' dashboard: the scope an officer picked, the KPI answers (the same cached answers as the
API, kpi.answers), a commune's producers and products, and the verification queues. Everything goes through the
one scoping mechanism (marketplace.accounts.scoping)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from catalog.gis.models import GiClaim, GiClaimStatus
from catalog.models import Producer, Product
from catalog.ocop.models import CertificateStatus, OcopCertificate, Verification
from catalog.ocop.selectors import products_with_current_star
from catalog.photos.models import ProductPhoto
from catalog.selectors import producer_personal_data_visible_ids
from kpi import answers
from kpi.periods import Period, channels_from_params
from kpi.selectors import Ask
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import Reach, scope_queryset, user_reach
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level, NamedScope
from marketplace.places.selectors import unit_newest, unit_search

GAPS_PER_PAGE = 50
PLACES_FOUND = 20
QUEUE_LENGTH = 100  # a queue longer than this is shown in part, with its total: nobody acts on row 101 first


def dashboard_allowed(reach: Reach) -> bool:
    """Officers and administrators read the dashboard; producers and community teams have pages of their own."""
    return reach.has_role(Role.OFFICER)


@dataclass(frozen=True)
class PlaceScope:
    """A current or legacy place picked on the dashboard, asked as a scope (kpi.selectors.Ask reads a scope's
    `pk`, `slug`, `name` and `units.all()`). Its `pk` is a string, so an answer of a place is cached under a key
    no saved scope (integer ids) can share. It has no id in the API: the export buttons need a saved scope."""

    unit: AdministrativeUnit

    @property
    def pk(self) -> str:
        return f"place:{self.unit.system}:{self.unit.code}:{self.unit.level}"

    @property
    def slug(self) -> str:
        return f"{self.unit.system}-{self.unit.level}-{self.unit.code}"

    @property
    def name(self) -> str:
        return self.unit.display_name

    @property
    def key(self) -> str:
        return f"{self.unit.system}:{self.unit.level}:{self.unit.code}"

    @property
    def units(self) -> PlaceScope:
        return self

    def all(self) -> list[AdministrativeUnit]:
        return [self.unit]


def saved_scopes(*, user) -> QuerySet[NamedScope]:
    return scope_queryset(NamedScope.objects.all(), user).order_by("name", "pk")


def saved_scope(*, user, scope_id: int) -> NamedScope | None:
    return saved_scopes(user=user).filter(pk=scope_id).first()


def place_from_key(key: str) -> PlaceScope | None:
    """`legacy:province:15` or `2025:commune:04672` → the newest unit with that code, or None."""
    system, _sep, rest = key.partition(":")
    level, _sep, code = rest.partition(":")
    if system not in CodeSystem.values or level not in Level.values or not code:
        return None
    unit = unit_newest(queryset=AdministrativeUnit.objects.select_related("parent"), system=system, code=code,
                       level=level)  # fmt: skip
    return PlaceScope(unit) if unit else None


def places_matching(*, user, q: str) -> list[PlaceScope]:
    """Current and legacy places whose name matches `q` (accent-insensitive), provinces first."""
    found = unit_search(queryset=scope_queryset(AdministrativeUnit.objects.all(), user), q=q)
    order = {Level.PROVINCE: 0, Level.DISTRICT: 1, Level.COMMUNE: 2}
    units = list(found.select_related("parent")[: PLACES_FOUND * 2])
    units.sort(key=lambda u: (order.get(u.level, 3), u.system != CodeSystem.CURRENT, u.name, u.code))
    return [PlaceScope(u) for u in units[:PLACES_FOUND]]


def dashboard_ask(*, user, scope, period: Period, today: date | None = None) -> Ask:
    return Ask(scope=scope, reach=user_reach(user), period=period, channels=channels_from_params({}),
               today=today or timezone.localdate())  # fmt: skip


def dashboard_answers(*, ask: Ask) -> dict:
    """The KPI, the funnel, the monthly trend and the gap list, under the API's cache keys (kpi.answers), so an
    answer warmed after a refresh or asked through the API is reused here, and the other way round."""
    compute = answers.computations(ask, interval="month")
    extra = {
        answers.GAPS: {"reason": None, "line": "goods"},
        answers.TREND: {"interval": "month"},
    }
    return {kind: answers.answer_data(kind, ask, compute[kind], **extra.get(kind, {})) for kind in compute}


def gap_phones(*, user, rows: list[dict]) -> dict[int, str]:
    """The phone numbers of the producers of these gap rows that `user` may see personal data of (their own
    members, officers of their area, administrators: catalog.selectors, as the catalogue API)."""
    ids = {row["producer"]["id"] for row in rows}
    producers = list(Producer.objects.filter(pk__in=ids).only("pk", "phone", "current_commune_id",
                                                               "commune_as_captured_id"))  # fmt: skip
    visible = producer_personal_data_visible_ids(user=user, producers=producers)
    return {p.pk: p.phone for p in producers if p.pk in visible and p.phone}


def commune_in_ask(*, ask: Ask, system: str, code: str) -> AdministrativeUnit | None:
    """The current commune `system:code`, if it lies in the asked scope (any, when no scope is asked)."""
    unit = unit_newest(queryset=AdministrativeUnit.objects.select_related("parent"), system=system, code=code,
                       level=Level.COMMUNE)  # fmt: skip
    if unit is None or (ask.communes is not None and unit.pk not in set(ask.communes)):
        return None
    return unit


def commune_producers(*, ask: Ask, user, commune: AdministrativeUnit) -> list[Producer]:
    """The producers of the commune that the viewer may see, each with its products (`shown_products`, with
    `ocop_star` on D) and `shown_phone` (blank unless the viewer may see personal data). Four queries."""
    products = products_with_current_star(Product.objects.select_related("product_set"), on=ask.as_of)
    producers = list(
        scope_queryset(Producer.objects.filter(current_commune=commune), user)
        .prefetch_related(Prefetch("products", queryset=products.order_by("name", "pk"), to_attr="shown_products"))
        .order_by("legal_name", "pk")
    )
    visible = producer_personal_data_visible_ids(user=user, producers=producers)
    for producer in producers:
        producer.shown_phone = producer.phone if producer.pk in visible else ""
    return producers


# ------------------------------------------------------------------------------------------ verification queues
@dataclass
class Queue:
    rows: list
    total: int


def _queue(queryset: QuerySet) -> Queue:
    return Queue(rows=list(queryset[:QUEUE_LENGTH]), total=queryset.count())


def certificates_waiting(*, user) -> Queue:
    """OCOP certificates not yet verified (nor revoked), oldest first: the producer waits on them."""
    waiting = OcopCertificate.objects.filter(verification=Verification.UNVERIFIED).exclude(
        status=CertificateStatus.REVOKED
    )
    queryset = scope_queryset(waiting, user).select_related("product__producer__current_commune__parent")
    return _queue(queryset.order_by("created_at", "pk"))


def gi_claims_waiting(*, user) -> Queue:
    waiting = GiClaim.objects.filter(status=GiClaimStatus.PENDING_VERIFICATION)
    queryset = scope_queryset(waiting, user).select_related("product__producer", "gi", "checked_commune__parent")
    return _queue(queryset.order_by("created_at", "pk"))


def photos_flagged(*, user) -> Queue:
    """Photos that look like another producer's photo (catalog.photos.selectors.photo_near_duplicate)."""
    flagged = ProductPhoto.objects.filter(near_duplicate_of__isnull=False)
    queryset = scope_queryset(flagged, user).select_related("product__producer", "near_duplicate_of__product__producer")
    return _queue(queryset.order_by("created_at", "pk"))


def certificate_for(*, user, pk: int) -> OcopCertificate | None:
    return scope_queryset(OcopCertificate.objects.select_related("product__producer"), user).filter(pk=pk).first()


def gi_claim_for(*, user, pk: int) -> GiClaim | None:
    return scope_queryset(GiClaim.objects.select_related("product__producer"), user).filter(pk=pk).first()


def photo_for(*, user, pk: int) -> ProductPhoto | None:
    return scope_queryset(ProductPhoto.objects.select_related("product__producer"), user).filter(pk=pk).first()
