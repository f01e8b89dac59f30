"""Reads for places: search, lineage across the 2025 reform, and resolving named scopes to current communes."""

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date

from django.core.cache import cache
from django.db.models import F, Q, QuerySet

from marketplace.core.cache import cache_get, cache_set
from marketplace.core.text import fold

from .models import AdministrativeUnit, CodeSystem, Level, NamedScope, UnitAlias, UnitSuccession

_PUNCTUATION = re.compile(r"[^\w\s]")


def unit_search(*, queryset: QuerySet[AdministrativeUnit], q: str) -> QuerySet[AdministrativeUnit]:
    """Accent-insensitive search on the name and its parent's name, and on the package's aliases.

    "tu le" finds "Xã Tú Lệ"; "tu le lao cai" finds it too; "mu cang chai" finds both spellings.
    Matches start at a word boundary so that "le" does not find "Phường Quế".
    """
    key = fold(_PUNCTUATION.sub(" ", q))
    if not key:
        return queryset.none()  # a query of punctuation alone matches nothing, rather than everything
    compact = key.replace(" ", "")
    matching = (
        Q(search_key__startswith=key)
        | Q(search_key__contains=f" {key}")
        | Q(pk__in=UnitAlias.objects.filter(search_key__contains=compact).values("unit_id"))
    )
    return queryset.filter(matching)


def unit_is_valid_at(unit: AdministrativeUnit, at: date) -> bool:
    return (unit.valid_from is None or unit.valid_from <= at) and (unit.valid_to is None or at <= unit.valid_to)


def unit_successors_at(*, unit: AdministrativeUnit, at: date) -> list[AdministrativeUnit]:
    """The units that cover `unit`'s area on date `at`, following the succession graph forward.

    A unit still valid at `at` is its own answer. A legacy commune gives the current commune(s) it became;
    a legacy district or province gives the current communes its communes became. Split communes yield
    every successor (each edge is flagged partial in UnitSuccession).
    """
    if unit_is_valid_at(unit, at):
        return [unit]
    frontier = [unit, *_communes_below(unit)]
    found: dict[int, AdministrativeUnit] = {}
    seen: set[int] = set()
    while frontier:
        edges = UnitSuccession.objects.filter(predecessor__in=frontier, effective_date__lte=at).select_related(
            "successor__parent"
        )
        seen.update(u.pk for u in frontier)
        frontier = []
        for edge in edges:
            successor = edge.successor
            if successor.pk in seen:
                continue
            if unit_is_valid_at(successor, at):
                found[successor.pk] = successor
            else:
                frontier.append(successor)
    return sorted(found.values(), key=lambda u: u.code)


def unit_predecessors(*, unit: AdministrativeUnit) -> QuerySet[AdministrativeUnit]:
    """The legacy communes (or provinces, for a province) whose area is wholly or partly in `unit`."""
    return AdministrativeUnit.objects.filter(successions__successor=unit).select_related("parent__parent").distinct()


def _communes_below(unit: AdministrativeUnit) -> list[AdministrativeUnit]:
    if unit.level == Level.DISTRICT:
        return list(AdministrativeUnit.objects.filter(parent=unit, level=Level.COMMUNE))
    return list(AdministrativeUnit.objects.filter(level=Level.COMMUNE).filter(Q(parent=unit) | Q(parent__parent=unit)))


def units_current_communes(*, units: Iterable[AdministrativeUnit]) -> QuerySet[AdministrativeUnit]:
    """The current communes covering a set of units of any system and level, in one query.

    This is how a reporting scope such as "Old Yên Bái" (legacy province 15) becomes the 51 current communes
    that descend from it, rather than "province code 15", which now means the new Lào Cai.
    """
    by_kind: dict[tuple[str, str], list[int]] = {}
    for unit in units:
        by_kind.setdefault((unit.system, unit.level), []).append(unit.pk)
    current, legacy = CodeSystem.CURRENT, CodeSystem.LEGACY
    condition = Q(pk__in=[])
    if ids := by_kind.get((current, Level.COMMUNE)):
        condition |= Q(pk__in=ids)
    if ids := by_kind.get((current, Level.PROVINCE)):
        condition |= Q(parent__in=ids)
    lineage = Q()
    if ids := by_kind.get((legacy, Level.COMMUNE)):
        lineage |= Q(predecessor__in=ids)
    if ids := by_kind.get((legacy, Level.DISTRICT)):
        lineage |= Q(predecessor__parent__in=ids) | Q(predecessor__in=ids)
    if ids := by_kind.get((legacy, Level.PROVINCE)):
        lineage |= Q(predecessor__parent__parent__in=ids) | Q(
            predecessor__parent__in=ids, predecessor__level=Level.DISTRICT
        )
    if lineage:
        condition |= Q(pk__in=UnitSuccession.objects.filter(lineage).values("successor_id"))
    return AdministrativeUnit.objects.filter(condition, system=current, level=Level.COMMUNE)


LINEAGE_VERSION = "places:lineage-version"
LINEAGE_SECONDS = 3600
# Each process also keeps the answers it used last (an answer never changes within a version) and reads the
# version at most every few seconds: an officer's request then resolves their area without leaving the
# process. Hand-written because the standard library has no size- and age-bounded memo and these ten lines do
# not justify a dependency.
_VERSION_SECONDS = 5.0
_LOCAL_SIZE = 512
_local: OrderedDict[str, frozenset[int]] = OrderedDict()
_version_read: list = [0.0, 0]  # [monotonic time read, version]


def _lineage_version() -> int:
    now = time.monotonic()
    if now - _version_read[0] > _VERSION_SECONDS:
        _version_read[:] = [now, cache_get(LINEAGE_VERSION, 0)]
    return _version_read[1]


def units_current_commune_ids(*, units: Iterable[AdministrativeUnit | int]) -> frozenset[int]:
    """The ids of `units_current_communes`, cached: every request of an officer resolves their area through
    lineage (a few milliseconds for a legacy province), and the answer changes only when the administrative
    units are loaded again (admin_units_load then calls `lineage_changed`). Units or their ids: the ids are
    enough to find a kept answer (a user's reach reads only them), the units are loaded on a miss."""
    units = list(units)
    ids = sorted({getattr(unit, "pk", unit) for unit in units})
    if not ids:
        return frozenset()
    key = f"places:communes:{_lineage_version()}:" + hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
    found = _local.get(key)
    if found is None:
        found = cache_get(key)
    if found is None:
        if not all(isinstance(unit, AdministrativeUnit) for unit in units):
            units = AdministrativeUnit.objects.filter(pk__in=ids).only("pk", "system", "level")
        found = frozenset(units_current_communes(units=units).values_list("pk", flat=True))
        cache_set(key, found, LINEAGE_SECONDS)
    return _remember(key, found)


def _remember(key: str, found: frozenset[int]) -> frozenset[int]:
    _local[key] = found
    _local.move_to_end(key)
    while len(_local) > _LOCAL_SIZE:
        _local.popitem(last=False)
    return found


def scope_current_commune_ids(*, scope: NamedScope, stamp: object) -> frozenset[int]:
    """The ids of `scope_current_communes`, kept by this process while `stamp` stays the same: the caller's
    token for "the scope's units have not changed" (the KPI passes its inputs' generation, which grows when a
    scope's units change)."""
    key = f"places:scope:{_lineage_version()}:{scope.pk}:{stamp}"
    found = _local.get(key)
    if found is None:
        found = units_current_commune_ids(units=scope.units.all())
    return _remember(key, found)


def lineage_changed() -> None:
    """Make every cached lineage answer unreachable (after the administrative units were loaded again); other
    processes follow within _VERSION_SECONDS."""
    try:
        cache.incr(LINEAGE_VERSION)
    except ValueError:  # no version yet: the first load
        cache.set(LINEAGE_VERSION, 1, None)
    _version_read[0] = 0.0
    _local.clear()


def scope_current_communes(*, scope: NamedScope) -> QuerySet[AdministrativeUnit]:
    return units_current_communes(units=scope.units.all())


def _newest_first(queryset: QuerySet[AdministrativeUnit]) -> QuerySet[AdministrativeUnit]:
    return queryset.order_by(F("valid_from").desc(nulls_last=True))


def unit_newest(*, queryset: QuerySet[AdministrativeUnit], system: str, code: str, level: str | None = None):
    """The newest dated version of the unit with this code in this system, or None.

    The level disambiguates the rare code that two levels share; dated versions of one code are ordered by
    valid_from, newest first.
    """
    queryset = queryset.filter(system=system, code=code)
    return _newest_first(queryset.filter(level=level) if level else queryset).first()


def units_by_keys(*, keys: list[dict]) -> tuple[list[AdministrativeUnit], list[int]]:
    """Resolve [{system, level, code}, ...] in one query: the units in order, and the indexes not found."""
    condition = Q(pk__in=[])
    for key in keys:
        condition |= Q(system=key["system"], level=key["level"], code=key["code"])
    newest: dict[tuple, AdministrativeUnit] = {}
    for unit in _newest_first(AdministrativeUnit.objects.filter(condition).select_related("parent")):
        newest.setdefault((unit.system, unit.level, unit.code), unit)
    found = [newest.get((key["system"], key["level"], key["code"])) for key in keys]
    return [u for u in found if u is not None], [i for i, u in enumerate(found) if u is None]


# Scope rules (see marketplace.accounts.scoping). Administrative units are public reference data; a named
# scope is seen by everyone when shared, otherwise by its owner and administrators.
from marketplace.accounts.scoping import Reach, scope_rule  # noqa: E402


@scope_rule(AdministrativeUnit)
def _units(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset


@scope_rule(NamedScope)
def _named_scopes(queryset: QuerySet, reach: Reach) -> QuerySet:
    if reach.is_admin:
        return queryset
    return queryset.filter(Q(is_shared=True) | Q(owner_id=reach.user_id)) if reach.user_id else queryset.none()
