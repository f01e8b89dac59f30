"""Reads for the KPI "OCOP products online with sales" (domain.md §6), the funnel and the trend.

For a scope S, a period P = [start, end) and channels C, as of D (the last day of P, or today while P runs):

- N: products with a verified, unrevoked OCOP certificate valid on D (catalog.ocop.selectors), whose producer's
  current commune lies in S's current communes (lineage: places.selectors.scope_current_communes) and that the
  viewer may see. Tourism services (product sets flagged `is_service`, number 26) are a separate line.
- O(p): a live span of one of p's listings on C meets P (kpi.models.ListingLiveSpan), an open span counting
  only up to 7 days after the channel last confirmed the listing.
- S(p): a sold line on a listing of p on C, sold in P and not cancelled or returned by D (ProductSaleDay).
- KPI = |N ∩ O ∩ S| / |N|, None when N is empty.

Every read goes to the rollups, certificates, listings and places, never to the orders. The number of queries
does not grow with the number of products: the facts are fetched in a handful of set-wise queries and tallied
in Python.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property, reduce
from operator import or_

from django.db.models import (
    Case,
    Count,
    DateField,
    F,
    JSONField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractMonth, ExtractQuarter, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Producer, Product, ProductReadiness, ProductSet
from catalog.ocop.selectors import certificates_counting
from catalog.selectors import producers_in_reach
from integrations.models import Listing, ListingEvent, ListingState, MarketChannel
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import Reach, scope_rule
from marketplace.places.models import AdministrativeUnit, Level, NamedScope, UnitSuccession
from marketplace.places.selectors import scope_current_commune_ids
from sales.models import Order

from .models import ListingLiveSpan, ProductSaleDay, RollupState, UnitChannelDay
from .periods import Period
from .rollups import rollup_generations

UNCONFIRMED_AFTER = timedelta(days=7)  # domain.md §6: unconfirmed for longer is "unknown", not live
RECENT_DAYS = 30  # certified within 30 days before D: counted, shown in their own column
EXPIRING_DAYS = 90  # a certificate running out within 90 days after D is a reason to act
FAR = date(9999, 12, 31)
LABELS_BY_ID = 2000
# The listing states that mean "sent to the channel, not live": the gap reason is the state itself. A draft
# or a withdrawn listing is "not listed".
NOT_SENT = (ListingState.DRAFT, ListingState.DELISTED)


@scope_rule(RollupState)
def _rollup_states(queryset: QuerySet, reach: Reach) -> QuerySet:
    """The fill state is operational data: officers, community teams and administrators read it."""
    return queryset if reach.has_role(Role.OFFICER, Role.COMMUNITY_TEAM) else queryset.none()


@dataclass
class Ask:
    """What a KPI request asks: a scope (None: everything the viewer may see), a period, channels, and who asks.

    The scope's communes and the viewer's producers are resolved once, on first use, into lists of ids that
    every query of the request then filters on (resolving a legacy scope through lineage is the costliest
    lookup of a request; done inside each query, it would be done a dozen times)."""

    scope: NamedScope | None
    reach: Reach
    period: Period
    channels: tuple[str, ...]
    today: date

    @property
    def as_of(self) -> date:
        return self.period.as_of(self.today)

    @cached_property
    def communes(self) -> list[int] | None:
        """The scope's current communes (None: no scope)."""
        if self.scope is None:
            return None
        # Kept by the process until a refresh sees the scope's units change (the inputs' generation).
        return sorted(scope_current_commune_ids(scope=self.scope, stamp=self.generations.get("inputs")))

    @cached_property
    def sees_whole_scope(self) -> bool:
        """The viewer sees every producer of the scope: an administrator, or a viewer whose area covers every
        commune of the scope (catalog.selectors covers a commune's producers, split communes included). Such a
        viewer's answers are an administrator's, and are shared with them (kpi.answers)."""
        if self.reach.is_admin:
            return True
        return self.scope is not None and bool(self.reach.commune_ids) and set(self.communes) <= self.reach.commune_ids

    @cached_property
    def producers(self) -> list[int] | None:
        """The producers counted: those of the scope the viewer may see (None: every producer)."""
        if self.reach.is_admin and self.scope is None:
            return None
        producers = Producer.objects.all() if self.sees_whole_scope else producers_in_reach(self.reach)
        if self.scope is not None:
            producers = producers.filter(current_commune_id__in=self.communes)
        return sorted(producers.values_list("pk", flat=True))

    @cached_property
    def generations(self) -> dict[str, int]:
        """Every rollup source's generation (kpi.rollups): part of the key of a cached answer."""
        return rollup_generations()


def in_scope(ask: Ask, path: str = "") -> Q:
    """Products (path "") or rows with a product (path "product__") whose producer resolves into the scope
    through lineage and that the viewer's reach covers. A producer whose commune was split (no current commune)
    resolves nowhere: it is counted apart as unresolved, for an officer to settle."""
    return Q() if ask.producers is None else Q(**{f"{path}producer_id__in": ask.producers})


def producers_in_scope(ask: Ask) -> QuerySet[Producer]:
    producers = Producer.objects.all()
    return producers if ask.producers is None else producers.filter(pk__in=ask.producers)


def unresolved_producers(ask: Ask) -> int:
    """Producers of the scope's area whose captured commune was split, so that no current commune is known."""
    producers = Producer.objects.filter(current_commune__isnull=True)
    if ask.scope is not None:
        producers = producers.filter(
            commune_as_captured__in=UnitSuccession.objects.filter(successor_id__in=ask.communes).values("predecessor")
        )
    if not ask.sees_whole_scope:
        producers = producers.filter(pk__in=producers_in_reach(ask.reach))
    return producers.count()


# --------------------------------------------------------------------------------------------- product facts
@dataclass
class ProductFact:
    """One product of N, with what the KPI needs to know of it."""

    id: int
    name: str
    producer_id: int
    producer_name: str
    set_id: int
    is_service: bool
    commune_id: int | None
    captured_id: int
    star: str
    decision_number: str
    certificate_number: str
    valid_until: date
    recent: bool = False
    online: set[str] = field(default_factory=set)
    # Channel → whether a sale there has platform evidence (False: only officer-attested sales).
    sold: dict[str, bool] = field(default_factory=dict)
    # Sold in P, but every such sale was cancelled or returned by D.
    undone: bool = False

    @property
    def in_numerator(self) -> bool:
        return bool(self.online) and bool(self.sold)

    @property
    def attested_only(self) -> bool:
        return self.in_numerator and not any(self.sold.values())


def product_facts(ask: Ask, *, period: Period | None = None) -> list[ProductFact]:
    """N with, for each product, its star, whether it is recent, and on which channels it was online and sold."""
    period = period or ask.period
    as_of = period.as_of(ask.today)
    facts: dict[int, ProductFact] = {}
    newest: dict[int, tuple] = {}
    certificates = certificates_counting(on=as_of).filter(in_scope(ask, "product__")).order_by()
    for row in certificates.values_list(
        "product_id", "star", "decision_date", "pk", "valid_until", "decision_number", "certificate_number",
        "product__name", "product__product_set_id", "product__product_set__is_service", "product__producer_id",
        "product__producer__legal_name", "product__producer__current_commune_id",
        "product__producer__commune_as_captured_id",
    ):  # fmt: skip
        (product_id, star, decided, pk, valid_until, decision_number, number, name, set_id, is_service,
         producer_id, producer_name, commune_id, captured_id) = row  # fmt: skip
        fact = facts.get(product_id)
        if fact is None:
            fact = facts[product_id] = ProductFact(
                id=product_id, name=name, producer_id=producer_id, producer_name=producer_name, set_id=set_id,
                is_service=is_service, commune_id=commune_id, captured_id=captured_id, star=star,
                decision_number=decision_number, certificate_number=number, valid_until=valid_until,
            )  # fmt: skip
        fact.valid_until = max(fact.valid_until, valid_until)
        # After an upgrade or a re-evaluation the newest decision gives the star (catalog.ocop.selectors).
        if (decided, pk) > newest.get(product_id, (date.min, 0)):
            newest[product_id] = (decided, pk)
            fact.star, fact.decision_number, fact.certificate_number = star, decision_number, number
    earlier = (
        certificates_counting(on=as_of - timedelta(days=RECENT_DAYS)).filter(in_scope(ask, "product__")).order_by()
    )
    certified_before = set(earlier.values_list("product_id", flat=True))
    for fact in facts.values():
        fact.recent = fact.id not in certified_before
    for product_id, channel in online_pairs(ask, period):
        if product_id in facts:
            facts[product_id].online.add(channel)
    for product_id, channel, valid, platform in sale_rows(ask, period):
        fact = facts.get(product_id)
        if fact is None:
            continue
        if valid > as_of:
            fact.sold[channel] = fact.sold.get(channel, False) or (platform is not None and platform > as_of)
        else:
            fact.undone = True
    for fact in facts.values():
        fact.undone = fact.undone and not fact.sold
    return sorted(facts.values(), key=lambda f: f.id)


def _confirmed_after(moment) -> Q:
    """An open span still counts at `moment`: the channel confirmed the listing (or it went live) within 7 days."""
    lapse = moment - UNCONFIRMED_AFTER
    return Q(listing__remote_confirmed_at__gt=lapse) | Q(started_at__gt=lapse)


def online_pairs(ask: Ask, period: Period):
    """(product, channel) pairs live at some instant of the period."""
    spans = ListingLiveSpan.objects.filter(in_scope(ask, "product__"), channel__in=ask.channels)
    meets = Q(ended_at__gt=period.start_at) | (Q(ended_at__isnull=True) & _confirmed_after(period.start_at))
    return spans.filter(meets, started_at__lt=period.end_at).values_list("product_id", "channel").distinct()


def sale_rows(ask: Ask, period: Period):
    """Per (product, channel) sold in the period: the latest day a sale of it stays valid (its undoing, or FAR),
    and the same for sales with platform evidence (None when every sale was officer-attested)."""
    valid_until = Coalesce("undone_on", Value(FAR), output_field=DateField())
    return (
        ProductSaleDay.objects.filter(
            in_scope(ask, "product__"), channel__in=ask.channels, day__gte=period.start, day__lt=period.end
        )
        .values("product_id", "channel")
        .annotate(
            valid=Max(valid_until),
            platform=Max(Case(When(lines__gt=F("attested_lines"), then=valid_until), output_field=DateField())),
        )
        .values_list("product_id", "channel", "valid", "platform")
        .order_by()
    )


# --------------------------------------------------------------------------------------------- tallies
def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def tally(facts, *, channel: str | None = None) -> dict:
    """The counts of a group of products: N, recent, online, online with sales, their rates."""
    if channel is None:
        online = [f for f in facts if f.online]
        numerator = [f for f in online if f.sold]
        attested = sum(1 for f in numerator if f.attested_only)
    else:
        online = [f for f in facts if channel in f.online]
        numerator = [f for f in online if channel in f.sold]
        attested = sum(1 for f in numerator if not f.sold[channel])
    return counted(len(facts), sum(1 for f in facts if f.recent), len(online), len(numerator), attested)


def counted(denominator: int, recent: int, online: int, numerator: int, attested: int) -> dict:
    return {
        "denominator": denominator,
        "recently_certified": recent,
        "online": online,
        "numerator": numerator,
        "attested_only": attested,
        "rate": _rate(numerator, denominator),
        "online_rate": _rate(online, denominator),
    }


@dataclass
class Places:
    """Labels of the current and legacy communes of a set of products, and each producer's legacy commune."""

    units: dict[int, dict]  # id → {"key", "code", "name"}
    legacy_of: dict[int, int | None]  # producer's captured commune → its legacy commune (None: not known)

    def current(self, fact: ProductFact) -> dict | None:
        return self.units.get(fact.commune_id)

    def legacy(self, fact: ProductFact) -> dict | None:
        return self.units.get(self.legacy_of.get(fact.captured_id))


def places_of(facts) -> Places:
    """Two queries whatever the number of products. The legacy commune is the one captured when it was captured
    before the reform; for a producer captured in a current commune, the one former commune it continues, if
    there is only one (a commune formed by merging several has no single former commune)."""
    captured_current = {f.captured_id for f in facts if f.captured_id == f.commune_id}
    predecessors: dict[int, list[int]] = defaultdict(list)
    edges = UnitSuccession.objects.filter(successor_id__in=captured_current, predecessor__level=Level.COMMUNE)
    for successor_id, predecessor_id in edges.values_list("successor_id", "predecessor_id"):
        predecessors[successor_id].append(predecessor_id)
    legacy_of: dict[int, int | None] = {}
    for fact in facts:
        if fact.captured_id in captured_current:
            found = predecessors.get(fact.captured_id, [])
            legacy_of[fact.captured_id] = found[0] if len(found) == 1 else None
        else:
            legacy_of[fact.captured_id] = fact.captured_id
    ids = ({f.commune_id for f in facts} | {i for i in legacy_of.values() if i}) - {None}
    # Past a few thousand ids, reading every commune (13,000 rows) is three times faster than a list that long.
    wanted = AdministrativeUnit.objects.filter(level=Level.COMMUNE)
    if len(ids) <= LABELS_BY_ID:
        wanted = wanted.filter(pk__in=ids)
    units = {}
    for pk, system, code, *names in wanted.values_list(
        "pk", "system", "code", "name", "parent__name", "parent__parent__name"
    ).order_by():
        if pk in ids:
            units[pk] = {"key": f"{system}:{code}", "code": code, "name": ", ".join(n for n in names if n)}
    return Places(units=units, legacy_of=legacy_of)


def _grouped(facts, key, label) -> list[dict]:
    groups: dict = defaultdict(list)
    for fact in facts:
        groups[key(fact)].append(fact)
    rows = [{"key": k, "name": label(k, members[0]), **tally(members)} for k, members in groups.items()]
    return sorted(rows, key=lambda r: (r["key"] is None, str(r["name"] or ""), str(r["key"])))


STAR_LABELS = {"3": "3★", "4": "4★", "5": "5★", "potential_5": "5★ tiềm năng"}


def breakdowns(ask: Ask, goods: list[ProductFact], places: Places) -> dict:
    sets = {s.pk: s for s in ProductSet.objects.filter(pk__in={f.set_id for f in goods})}
    channel_names = dict(MarketChannel.choices)
    return {
        "star": _grouped(goods, lambda f: f.star, lambda k, f: STAR_LABELS.get(k, k)),
        "product_set": _grouped(goods, lambda f: sets[f.set_id].number, lambda k, f: str(sets[f.set_id])),
        "commune": _grouped(
            goods, lambda f: (places.current(f) or {}).get("key"), lambda k, f: (places.current(f) or {}).get("name")
        ),
        "legacy_commune": _grouped(
            goods, lambda f: (places.legacy(f) or {}).get("key"), lambda k, f: (places.legacy(f) or {}).get("name")
        ),
        "channel": [{"key": c, "name": str(channel_names[c]), **tally(goods, channel=c)} for c in ask.channels],
    }


# --------------------------------------------------------------------------------------------- gaps
GAP_REASONS = (
    "not_listed",
    "listing_rejected",
    "listing_not_live",
    "listing_unconfirmed",
    "no_completed_order",
    "certificate_expiring",
)


def gap_reasons(ask: Ask, facts: list[ProductFact]) -> dict[int, list[dict]]:
    """Why each product of N is not in the numerator: the first reason is the main one, an expiring certificate
    is added to it. Two queries whatever the number of products."""
    as_of, period = ask.as_of, ask.period
    gaps = [f for f in facts if not f.in_numerator]
    offline = {f.id for f in gaps if not f.online}
    # Only the products that were not online need their listings' states: far fewer rows than the scope's.
    online = online_pairs(ask, period).values("product_id")
    listings = (
        Listing.objects.filter(in_scope(ask, "product__"), channel__in=ask.channels, created_at__lt=period.end_at)
        .exclude(product_id__in=online)
        .order_by("channel", "pk")
    )
    if as_of < ask.today:  # a past period: the state each listing was in on D, from its history
        last = ListingEvent.objects.filter(listing=OuterRef("pk"), at__lt=period.end_at).order_by("-at", "-pk")
        # No event before the end of the period: the listing was still a draft then.
        listings = listings.annotate(
            then_state=Coalesce(Subquery(last.values("to_state")[:1]), Value(ListingState.DRAFT.value)),
            then_reasons=Subquery(last.values("reasons")[:1], output_field=JSONField()),
        )
    else:
        listings = listings.annotate(then_state=F("state"), then_reasons=F("reasons"))
    by_product: dict[int, list[tuple]] = defaultdict(list)
    for product_id, channel, state, reasons in listings.values_list(
        "product_id", "channel", "then_state", "then_reasons"
    ):
        if product_id in offline:
            by_product[product_id].append((channel, state, reasons or []))
    lapsed: dict[int, list[tuple]] = defaultdict(list)
    open_spans = ListingLiveSpan.objects.filter(
        in_scope(ask, "product__"), channel__in=ask.channels, ended_at__isnull=True, started_at__lt=period.end_at
    ).exclude(_confirmed_after(period.start_at))
    for product_id, channel, confirmed in open_spans.values_list(
        "product_id", "channel", "listing__remote_confirmed_at"
    ):
        if product_id in offline:
            lapsed[product_id].append((channel, confirmed))
    state_names = dict(ListingState.choices)
    out = {}
    for fact in gaps:
        reasons = []
        if fact.online:
            if fact.undone:
                message = _("Online, but its orders of the period were cancelled or returned.")
            else:
                message = _("Online, but no completed order in the period.")
            reasons.append({"code": "no_completed_order", "message": message, "details": []})
        elif lapsed.get(fact.id):
            details = [
                {"channel": c, "last_confirmed_at": confirmed.isoformat() if confirmed else None}
                for c, confirmed in lapsed[fact.id]
            ]
            message = _("On sale per our records, but the channel has not confirmed it for more than 7 days.")
            reasons.append({"code": "listing_unconfirmed", "message": message, "details": details})
        else:
            sent = [(c, s, r) for c, s, r in by_product.get(fact.id, []) if s not in NOT_SENT]
            rejected = [(c, r) for c, s, r in sent if s == ListingState.REJECTED]
            if rejected:
                said = "; ".join(
                    str(item.get("message") or item.get("code"))
                    for _c, r in rejected
                    for item in r
                    if isinstance(item, dict)
                )
                message = _("Listing rejected by the channel: %(reasons)s") % {"reasons": said or _("no reason given")}
                details = [{"channel": c, "reasons": r} for c, r in rejected]
                reasons.append({"code": "listing_rejected", "message": message, "details": details})
            elif sent:
                states = ", ".join(sorted({str(state_names.get(s, s)) for _c, s, _r in sent}))
                message = _("Listed, but not live: %(states)s.") % {"states": states}
                details = [{"channel": c, "state": s, "reasons": r} for c, s, r in sent]
                reasons.append({"code": "listing_not_live", "message": message, "details": details})
            else:
                reasons.append({"code": "not_listed", "message": _("Not listed on any channel."), "details": []})
        if fact.valid_until <= as_of + timedelta(days=EXPIRING_DAYS):
            message = _("Its OCOP certificate expires on %(date)s.") % {"date": fact.valid_until.strftime("%d/%m/%Y")}
            details = [{"valid_until": fact.valid_until.isoformat()}]
            reasons.append({"code": "certificate_expiring", "message": message, "details": details})
        out[fact.id] = reasons
    return out


def gap_rows(ask: Ask, facts: list[ProductFact], places: Places, *, reason: str | None = None) -> list[dict]:
    """The gap list: every product of `facts` not in the numerator, with its reasons; most urgent reason first,
    then by commune and name."""
    reasons = gap_reasons(ask, facts)
    sets = {s.pk: s for s in ProductSet.objects.filter(pk__in={f.set_id for f in facts if f.id in reasons})}
    rows = []
    for fact in facts:
        if fact.id not in reasons or (reason and reason not in {r["code"] for r in reasons[fact.id]}):
            continue
        product_set = sets[fact.set_id]
        rows.append({
            "product": {"id": fact.id, "name": fact.name},
            "producer": {"id": fact.producer_id, "name": fact.producer_name},
            "commune": places.current(fact),
            "legacy_commune": places.legacy(fact),
            "star": fact.star,
            "product_set": {"number": product_set.number, "name": product_set.name},
            "is_service": fact.is_service,
            "certificate": {"decision_number": fact.decision_number, "certificate_number": fact.certificate_number,
                            "valid_until": fact.valid_until},
            "recently_certified": fact.recent,
            "online_channels": sorted(fact.online),
            "reasons": reasons[fact.id],
        })  # fmt: skip
    order = {code: i for i, code in enumerate(GAP_REASONS)}
    rows.sort(key=lambda r: (order[r["reasons"][0]["code"]], (r["commune"] or {}).get("name") or "",
                             r["product"]["name"], r["product"]["id"]))  # fmt: skip
    return rows


# --------------------------------------------------------------------------------------------- freshness
def rollup_states() -> dict[str, RollupState]:
    return {state.name: state for state in RollupState.objects.all()}


def freshness(ask: Ask, states: dict[str, RollupState]) -> list[dict]:
    """Per channel: the last time the channel confirmed one of the scope's listings, its live listings not
    confirmed for more than 7 days, the newest order change the rollups have read, the orders changed since the
    last refresh, and when the rollups were last complete."""
    now = timezone.now()
    unconfirmed = Q(state=ListingState.LIVE) & (
        Q(remote_confirmed_at__isnull=True) | Q(remote_confirmed_at__lte=now - UNCONFIRMED_AFTER)
    )
    listings = {
        row["channel"]: row
        for row in Listing.objects.filter(in_scope(ask, "product__"), channel__in=ask.channels)
        .values("channel")
        .annotate(
            last_confirmed_at=Max("remote_confirmed_at"),
            live=Count("pk", filter=Q(state=ListingState.LIVE)),
            live_unconfirmed=Count("pk", filter=unconfirmed),
        )
        .order_by()
    }
    orders_state = states.get("orders")
    since = (orders_state.finished_at or orders_state.cursor_at) if orders_state else None
    waiting_orders = Order.objects.filter(channel__in=ask.channels)
    if since is not None:
        waiting_orders = waiting_orders.filter(updated_at__gt=since)
    waiting = dict(waiting_orders.values("channel").annotate(n=Count("pk")).values_list("channel", "n").order_by())
    newest = (orders_state.details.get("last_order_change", {}) if orders_state else {}) or {}
    refreshed = [s.finished_at for s in states.values() if s.finished_at]
    channel_names = dict(MarketChannel.choices)
    return [
        {
            "channel": channel,
            "name": str(channel_names[channel]),
            "last_confirmed_at": listings.get(channel, {}).get("last_confirmed_at"),
            "live_listings": listings.get(channel, {}).get("live", 0),
            "live_unconfirmed": listings.get(channel, {}).get("live_unconfirmed", 0),
            "last_order_change_at": newest.get(channel),
            "orders_waiting": waiting.get(channel, 0),
            "rollups_refreshed_at": min(refreshed) if len(refreshed) == len(states) and states else None,
        }
        for channel in ask.channels
    ]


# --------------------------------------------------------------------------------------------- the three reads
def scope_ref(ask: Ask) -> dict | None:
    return {"id": ask.scope.pk, "slug": ask.scope.slug, "name": ask.scope.name} if ask.scope else None


def kpi_online_with_sales(*, ask: Ask) -> dict:
    """The KPI with its online-only rate, services line, breakdowns, gap counts and freshness per channel."""
    states = rollup_states()
    facts = product_facts(ask)
    goods = [f for f in facts if not f.is_service]
    services = [f for f in facts if f.is_service]
    places = places_of(goods)
    reasons = gap_reasons(ask, goods)
    by_reason = Counter(r["code"] for rs in reasons.values() for r in rs)
    return {
        "scope": scope_ref(ask),
        "period": ask.period.as_dict(ask.today),
        "channels": list(ask.channels),
        "kpi": tally(goods),
        "services": tally(services),
        "unresolved_producers": unresolved_producers(ask),
        "gaps": {"total": len(reasons), "by_reason": {code: by_reason.get(code, 0) for code in GAP_REASONS}},
        "breakdowns": breakdowns(ask, goods, places),
        "freshness": freshness(ask, states),
    }


def kpi_gaps(*, ask: Ask, line: str = "goods", reason: str | None = None) -> list[dict]:
    """The gap list of the goods line (or of the services line)."""
    facts = [f for f in product_facts(ask) if f.is_service == (line == "services")]
    return gap_rows(ask, facts, places_of(facts), reason=reason)


FUNNEL_STEPS = ("registered", "with_product", "ocop_verified", "ready", "live", "with_sale")


def kpi_funnel(*, ask: Ask) -> dict:
    """Producers of the scope, step by step: registered, with a product, with an OCOP product (valid on D),
    with one ready for a channel (readiness now, or live in P: it was ready then), live on a channel in P, and
    with a sale in P. Each step keeps the products of the step before, so the last step is the producers of the
    KPI's numerator (goods and services alike)."""
    producers = producers_in_scope(ask)
    registered = set(producers.values_list("pk", flat=True))
    with_product = set(
        Product.objects.filter(in_scope(ask)).values_list("producer_id", flat=True).distinct().order_by()
    )
    facts = product_facts(ask)
    ready_now = set(
        ProductReadiness.objects.filter(
            in_scope(ask, "product__"), channel__in=ask.channels, ready=True,
            product__in=certificates_counting(on=ask.as_of).values("product_id"),
        ).values_list("product_id", flat=True)
    )  # fmt: skip
    steps = {
        "registered": registered,
        "with_product": with_product & registered,
        "ocop_verified": {f.producer_id for f in facts},
        "ready": {f.producer_id for f in facts if f.id in ready_now or f.online},
        "live": {f.producer_id for f in facts if f.online},
        "with_sale": {f.producer_id for f in facts if f.in_numerator},
    }
    labels = {
        "registered": _("Producers registered"),
        "with_product": _("With a product"),
        "ocop_verified": _("With a verified OCOP product"),
        "ready": _("Ready for at least one channel"),
        "live": _("Live on at least one channel"),
        "with_sale": _("With at least one sale"),
    }
    rows, previous = [], None
    for step in FUNNEL_STEPS:
        count = len(steps[step])
        rows.append({
            "step": step,
            "name": str(labels[step]),
            "producers": count,
            "conversion": _rate(count, previous) if previous is not None else None,
            "of_registered": _rate(count, len(registered)),
        })  # fmt: skip
        previous = count
    return {"scope": scope_ref(ask), "period": ask.period.as_dict(ask.today), "channels": list(ask.channels),
            "steps": rows}  # fmt: skip


def _bucket_key(day: date, interval: str) -> int:
    """202403 for March 2024, 20241 for its first quarter, 2024 for the year."""
    if interval == "year":
        return day.year
    if interval == "quarter":
        return day.year * 10 + (day.month - 1) // 3 + 1
    return day.year * 100 + day.month


def _bucket_of(interval: str):
    """The same key in SQL: integers, which cross the wire and convert far faster than timestamps."""
    if interval == "year":
        return ExtractYear("day")
    if interval == "quarter":
        return ExtractYear("day") * 10 + ExtractQuarter("day")
    return ExtractYear("day") * 100 + ExtractMonth("day")


def kpi_trend(*, ask: Ask, buckets: list[Period], interval: str) -> dict:
    """The KPI of each month (quarter, year) of the period, as of each one's last day, with the sales of each
    (lines, quantity, value in đồng) net of those since cancelled or returned. The same handful of queries
    whatever the number of months: the facts of the whole period are fetched once and sorted into months."""
    states = rollup_states()
    rows = [{"from": b.start, "to": b.last_day, "as_of": b.as_of(ask.today), **counts}
            for b, counts in zip(buckets, _bucket_tallies(ask, buckets, interval), strict=True)]  # fmt: skip
    sums = _trend_sums(ask, interval)
    for row in rows:
        found = sums.get(_bucket_key(row["from"], interval), {})
        row.update({name: found.get(name) or 0 for name in ("lines", "quantity", "gmv_vnd", "attested_lines")})
    return {
        "scope": scope_ref(ask),
        "period": ask.period.as_dict(ask.today),
        "channels": list(ask.channels),
        "interval": interval,
        "buckets": rows,
        "rollups_refreshed_at": min((s.finished_at for s in states.values() if s.finished_at), default=None),
    }


def _bits(low: int, high: int) -> int:
    """Buckets low … high - 1 as a bit mask."""
    return ((1 << high) - 1) ^ ((1 << low) - 1) if high > low else 0


def _bucket_tallies(ask: Ask, buckets: list[Period], interval: str) -> list[dict]:
    """The KPI counts of each bucket, from three queries over the whole period.

    Each product gets bit masks over the buckets (in N; certified 30 days before; online; sold; sold with
    platform evidence), found by bisection on the buckets' dates; products with the same masks are counted
    together. A national trend is tens of thousands of products by a dozen months: this keeps it linear in
    the rows read."""
    as_ofs = [b.as_of(ask.today) for b in buckets]
    earlier = [d - timedelta(days=RECENT_DAYS) for d in as_ofs]
    starts, ends = [b.start_at for b in buckets], [b.end_at for b in buckets]
    index = {_bucket_key(b.start, interval): i for i, b in enumerate(buckets)}
    member, certified_before = defaultdict(int), defaultdict(int)
    # The certificate rule of catalog.ocop.selectors, for every day that matters, in one query.
    counting = reduce(or_, (certificates_counting(on=d) for d in {*as_ofs, *earlier}))
    for product_id, valid_from, valid_until in (
        counting.filter(in_scope(ask, "product__"), product__product_set__is_service=False)
        .values_list("product_id", "valid_from", "valid_until")
        .order_by()
        .distinct()
    ):
        member[product_id] |= _bits(bisect_left(as_ofs, valid_from), bisect_right(as_ofs, valid_until))
        certified_before[product_id] |= _bits(bisect_left(earlier, valid_from), bisect_right(earlier, valid_until))
    online = defaultdict(int)
    for product_id, started, ended, confirmed in (
        ListingLiveSpan.objects.filter(in_scope(ask, "product__"), channel__in=ask.channels, started_at__lt=ends[-1])
        .filter(Q(ended_at__gt=starts[0]) | Q(ended_at__isnull=True))
        .values_list("product_id", "started_at", "ended_at", "listing__remote_confirmed_at")
    ):
        until = ended or max(started, confirmed or started) + UNCONFIRMED_AFTER
        # Bucket i meets [started, until) when it starts before `until` and ends after `started`.
        online[product_id] |= _bits(bisect_right(ends, started), bisect_left(starts, until))
    valid_until = Coalesce("undone_on", Value(FAR), output_field=DateField())
    sold, platform = defaultdict(int), defaultdict(int)
    for product_id, bucket, valid, evidenced in (
        ProductSaleDay.objects.filter(
            in_scope(ask, "product__"), channel__in=ask.channels, day__gte=buckets[0].start, day__lt=buckets[-1].end
        )
        .annotate(bucket=_bucket_of(interval))
        .values("product_id", "bucket")
        .annotate(
            valid=Max(valid_until),
            platform=Max(Case(When(lines__gt=F("attested_lines"), then=valid_until), output_field=DateField())),
        )
        .values_list("product_id", "bucket", "valid", "platform")
        .order_by()
    ):
        i = index[bucket]
        if valid > as_ofs[i]:
            sold[product_id] |= 1 << i
        if evidenced is not None and evidenced > as_ofs[i]:
            platform[product_id] |= 1 << i
    groups = Counter()
    for product_id, inside in member.items():
        live = inside & online.get(product_id, 0)
        numerator = live & sold.get(product_id, 0)
        groups[(inside, inside & ~certified_before.get(product_id, 0), live, numerator,
                numerator & ~platform.get(product_id, 0))] += 1  # fmt: skip
    totals = [[0] * 5 for _ in buckets]
    for masks, products in groups.items():
        for j, mask in enumerate(masks):
            while mask:
                low = mask & -mask
                totals[low.bit_length() - 1][j] += products
                mask ^= low
    return [counted(*row) for row in totals]


def _trend_sums(ask: Ask, interval: str) -> dict[int, dict]:
    """Sales per bucket. From the communes' daily sums when the viewer sees the whole scope (the same figures,
    fewer rows); from the products' rows otherwise, so that a producer member sees their own sales only."""
    period = ask.period
    if ask.sees_whole_scope:
        rows = UnitChannelDay.objects.filter(channel__in=ask.channels, day__gte=period.start, day__lt=period.end)
        if ask.scope is not None:
            rows = rows.filter(unit_id__in=ask.communes)
    else:
        rows = ProductSaleDay.objects.filter(
            in_scope(ask, "product__"), undone_on__isnull=True, channel__in=ask.channels,
            day__gte=period.start, day__lt=period.end,
        )  # fmt: skip
    sums = (
        rows.annotate(bucket=_bucket_of(interval))
        .values("bucket")
        .annotate(
            lines=Sum("lines"), quantity=Sum("quantity"), gmv_vnd=Sum("gmv_vnd"), attested_lines=Sum("attested_lines")
        )
        .order_by()
    )
    return {row["bucket"]: row for row in sums}
