"""Reads for GIs: the lineage check of a commune against a GI's area, the area as it lies today, and the
scope rules of this app's models."""

from collections import defaultdict

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from catalog.selectors import producers_in_reach
from marketplace.accounts.scoping import Reach, scope_rule, user_reach
from marketplace.core.text import fold
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level, UnitSuccession

from .models import AreaMatch, GeographicalIndication, GiClaim, GiStatusEvent, GiUseRight

# In the place data every lineage edge goes straight from a legacy unit to a current one (the 2025 reform is
# a single step), so one hop backwards from a current commune reaches the units a GI area is listed in.


def _names(units) -> str:
    return ", ".join(u.short_name for u in units)


def gi_area_legacy_units(*, gi: GeographicalIndication) -> dict[int, AdministrativeUnit]:
    """Every legacy unit the area covers, by id: the units listed at the grant and the communes of listed
    districts (or provinces). Units of the current system in the list are ignored: the law lists the units
    that existed at the grant."""
    listed = [u for u in gi.area_units.all() if u.system == CodeSystem.LEGACY]
    ids = [u.pk for u in listed]
    area = {u.pk: u for u in listed}
    if ids:
        below = AdministrativeUnit.objects.filter(system=CodeSystem.LEGACY, level=Level.COMMUNE).filter(
            Q(parent_id__in=ids) | Q(parent__parent_id__in=ids)
        )
        area.update((u.pk, u) for u in below.select_related("parent"))
    return area


def _match_current(*, unit, edges, area: dict, gi) -> tuple[str, str]:
    """`edges`: the UnitSuccession rows into the current commune `unit`, with their predecessors loaded."""
    origins = sorted({e.predecessor for e in edges}, key=lambda u: u.code)
    inside = [u for u in origins if u.pk in area]
    outside = [u for u in origins if u.pk not in area]
    # Conservative on purpose: the data says only that part of a split commune went here, not which part,
    # so a commune that came from a split one is never certified automatically.
    split = sorted({e.predecessor for e in edges if e.partial and e.predecessor_id in area}, key=lambda u: u.code)
    names = {"commune": unit.name, "gi": gi.name}
    if not origins:
        return AreaMatch.OUTSIDE, _(
            "No former commune is recorded for %(commune)s, so it cannot be matched to the area of %(gi)s."
        ) % names
    if not inside:
        return AreaMatch.OUTSIDE, _(
            "%(commune)s was formed from %(outside)s, none of which lies in the area of %(gi)s."
        ) % {**names, "outside": _names(outside)}
    if outside:
        return AreaMatch.PARTIAL, _(
            "%(commune)s was formed from %(inside)s (inside the area) and %(outside)s (outside): "
            "an officer must confirm where the product comes from."
        ) % {**names, "inside": _names(inside), "outside": _names(outside)}
    if split:
        return AreaMatch.PARTIAL, _(
            "%(commune)s was formed from %(inside)s, inside the area of %(gi)s, but received only part of "
            "%(split)s when it was split: an officer must confirm where the product comes from."
        ) % {**names, "inside": _names(inside), "split": _names(split)}
    return AreaMatch.INSIDE, _("%(commune)s was formed from %(inside)s, all inside the area of %(gi)s.") % {
        **names,
        "inside": _names(inside),
    }


def gi_area_match(*, gi: GeographicalIndication, unit: AdministrativeUnit) -> tuple[str, str]:
    """Whether commune `unit` (legacy or current) lies inside, partly inside or outside `gi`'s area, and why.

    A legacy commune is inside if the area lists it (or its district). A current commune is inside only if
    every former commune it was formed from is, partly inside if some are, outside if none are: a current
    address alone cannot prove eligibility (domain.md §4), so partial cases go to an officer. A GI whose area
    is not recorded yet sends every claim to an officer rather than refusing it.
    """
    names = {"commune": unit.name, "gi": gi.name}
    area = gi_area_legacy_units(gi=gi)
    if not area:
        return AreaMatch.PARTIAL, _(
            "The registry does not list the communes of the area of %(gi)s yet: "
            "an officer must confirm where the product comes from."
        ) % names
    if unit.level != Level.COMMUNE:
        return AreaMatch.OUTSIDE, _(
            "%(commune)s is not a commune: the area of %(gi)s is checked commune by commune."
        ) % names
    if unit.system == CodeSystem.LEGACY:
        if unit.pk in area:
            return AreaMatch.INSIDE, _("%(commune)s lies in the area of %(gi)s as listed at the grant.") % names
        return AreaMatch.OUTSIDE, _("%(commune)s is not in the area of %(gi)s as listed at the grant.") % names
    edges = UnitSuccession.objects.filter(successor=unit).select_related("predecessor")
    return _match_current(unit=unit, edges=list(edges), area=area, gi=gi)


def gi_area_today(*, gi: GeographicalIndication) -> list[dict]:
    """For each unit of the area as listed: the current communes it now lies in, each marked inside (wholly
    in the area) or partial (also formed from communes outside it). Four queries, whatever the area's size."""
    area = gi_area_legacy_units(gi=gi)
    listed = sorted(gi.area_units.all(), key=lambda u: (u.system, u.level, u.code))
    if not area:
        return [{"unit": unit, "current_communes": []} for unit in listed]
    forward = UnitSuccession.objects.filter(
        predecessor_id__in=list(area), successor__system=CodeSystem.CURRENT, successor__level=Level.COMMUNE
    ).select_related("successor__parent")
    currents_by_origin: dict[int, set[int]] = defaultdict(set)
    currents: dict[int, AdministrativeUnit] = {}
    for edge in forward:
        currents_by_origin[edge.predecessor_id].add(edge.successor_id)
        currents[edge.successor_id] = edge.successor
    backward: dict[int, list] = defaultdict(list)
    for edge in UnitSuccession.objects.filter(successor_id__in=list(currents)).select_related("predecessor"):
        backward[edge.successor_id].append(edge)
    match = {pk: _match_current(unit=u, edges=backward[pk], area=area, gi=gi)[0] for pk, u in currents.items()}

    # Which listed unit each covered legacy unit belongs to: itself (a listed commune, or a listed district
    # that became a commune), or the listed district or province above it (loaded by gi_area_legacy_units).
    listed_ids = {u.pk for u in listed}
    origins_of: dict[int, set[int]] = defaultdict(set)
    for pk, u in area.items():
        roots = {pk} if pk in listed_ids else {u.parent_id, u.parent.parent_id}
        for root in roots & listed_ids:
            origins_of[root].add(pk)

    rows = []
    for unit in listed:
        ids = {current for pk in origins_of[unit.pk] for current in currents_by_origin[pk]}
        now = sorted((currents[pk] for pk in ids), key=lambda u: u.code)
        rows.append({"unit": unit, "current_communes": [{"unit": u, "match": match[u.pk]} for u in now]})
    return rows


# An undated event (the date is not known) counts as older than any dated one.
_NEWEST_FIRST = (F("date").desc(nulls_last=True), "-id")


def gi_list(*, queryset: QuerySet[GeographicalIndication]) -> QuerySet[GeographicalIndication]:
    """GIs annotated with their latest status (the newest dated event), in the same query."""
    latest = GiStatusEvent.objects.filter(gi=OuterRef("pk")).order_by(*_NEWEST_FIRST).values("status")[:1]
    return queryset.annotate(status=Subquery(latest))


def gi_search(*, queryset: QuerySet[GeographicalIndication], q: str) -> QuerySet[GeographicalIndication]:
    key = fold(q)
    return queryset.filter(search_key__contains=key) if key else queryset


def gi_latest_status(*, gi: GeographicalIndication) -> str | None:
    event = gi.status_events.order_by(*_NEWEST_FIRST).first()
    return event.status if event else None


def gi_claim_can_decide(*, user, claim: GiClaim) -> bool:
    """Administrators, and officers whose area covers the commune of the claiming producer (its current
    commune, or when a split left that ambiguous, any commune its captured commune became)."""
    from catalog.selectors import officer_covers_producer

    return officer_covers_producer(reach=user_reach(user), producer=claim.product.producer)


def gi_use_rights_of(*, producer_id: int, gi_ids) -> dict[int, GiUseRight]:
    """The newest right-to-use authorisation the producer holds for each of these GIs, in one query."""
    rights: dict[int, GiUseRight] = {}
    for right in GiUseRight.objects.filter(producer_id=producer_id, gi_id__in=list(gi_ids)).order_by("-valid_from"):
        rights.setdefault(right.gi_id, right)
    return rights


# Scope rules (see marketplace.accounts.scoping). GIs are public reference data; claims and right-to-use
# authorisations follow the producer they belong to.


@scope_rule(GeographicalIndication)
def _gis(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset


@scope_rule(GiStatusEvent)
def _gi_status_events(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset


@scope_rule(GiUseRight)
def _gi_use_rights(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(producer__in=producers_in_reach(reach))


@scope_rule(GiClaim)
def _gi_claims(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(product__producer__in=producers_in_reach(reach))
