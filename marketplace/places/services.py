"""Writes for places: loading the administrative units and their lineage, and saving named scopes."""

import importlib.metadata
import importlib.util
import json
import sqlite3
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from marketplace.core.errors import ServiceError
from marketplace.core.text import fold, nfc

from . import selectors
from .models import (
    AdministrativeUnit,
    CodeSystem,
    Level,
    NamedScope,
    SuccessionEvent,
    UnitAlias,
    UnitSuccession,
)

PACKAGE = "vietnamadminunits"
REFORM_DATE = date(2025, 7, 1)
LEGACY_END = date(2025, 6, 30)
CURRENT_BASIS = (
    "Nghị quyết của Quốc hội ngày 12/6/2025 về sắp xếp ĐVHC cấp tỉnh (63 → 34) và các nghị quyết của "
    "UBTVQH năm 2025 về sắp xếp ĐVHC cấp xã; không tổ chức cấp huyện từ 01/7/2025"
)
LEGACY_BASIS = "Danh mục ĐVHC 3 cấp (tỉnh, huyện, xã) có hiệu lực đến 30/6/2025"

_UNIT_FIELDS = (
    "unit_type",
    "name",
    "short_name",
    "search_key",
    "parent_id",
    "valid_to",
    "latitude",
    "longitude",
    "legal_basis",
    "source",
)


@dataclass
class LoadReport:
    source: str
    created: dict = field(default_factory=lambda: defaultdict(int))
    updated: dict = field(default_factory=lambda: defaultdict(int))
    unchanged: dict = field(default_factory=lambda: defaultdict(int))
    removed_successions: int = 0

    def summary(self) -> str:
        kinds = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        parts = [f"{k}: +{self.created[k]} ~{self.updated[k]} ={self.unchanged[k]}" for k in kinds]
        return f"{self.source} | " + "; ".join(parts) + f"; successions removed: {self.removed_successions}"


def package_data_dir() -> Path:
    # find_spec locates the package without importing it: its __init__ pulls in an online geocoder path
    # that the service must never use. Only the data files are read.
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The {PACKAGE} package is not installed; run `make install`.")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _province_type(full_name: str) -> str:
    return "Thành phố" if full_name.startswith("Thành phố") else "Tỉnh"


@dataclass
class _Row:
    system: str
    level: str
    code: str
    unit_type: str
    name: str
    short_name: str
    parent_key: tuple | None
    latitude: float | None
    longitude: float | None
    aliases: list[str]

    @property
    def key(self):
        return (self.system, self.level, self.code)


def _read_rows(db_path: Path) -> tuple[list[_Row], dict, dict]:
    """Rows for every unit of both systems, plus the package's name keys → unit keys for joining lineage."""
    rows: dict[tuple, _Row] = {}
    legacy_by_name: dict[str, tuple] = {}
    current_by_name: dict[tuple, tuple] = {}
    province_by_name: dict[str, tuple] = {}
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        for r in con.execute("SELECT * FROM admin_units ORDER BY provinceCode, wardCode"):
            pkey = (CodeSystem.CURRENT, Level.PROVINCE, r["provinceCode"])
            if pkey not in rows:
                rows[pkey] = _Row(
                    *pkey,
                    _province_type(r["province"]),
                    nfc(r["province"]),
                    nfc(r["provinceShort"]),
                    None,
                    r["provinceLat"],
                    r["provinceLon"],
                    json.loads(r["provinceAlias"] or "[]"),
                )
                province_by_name[("2025", r["provinceKey"])] = pkey
            wkey = (CodeSystem.CURRENT, Level.COMMUNE, r["wardCode"])
            rows[wkey] = _Row(
                *wkey,
                nfc(r["wardType"]),
                nfc(r["ward"]),
                nfc(r["wardShort"]),
                pkey,
                r["wardLat"],
                r["wardLon"],
                json.loads(r["wardAlias"] or "[]"),
            )
            current_by_name[(r["provinceKey"], r["wardKey"])] = wkey
        for r in con.execute("SELECT * FROM admin_units_legacy ORDER BY provinceCode, districtCode, wardCode"):
            pkey = (CodeSystem.LEGACY, Level.PROVINCE, r["provinceCode"])
            if pkey not in rows:
                rows[pkey] = _Row(
                    *pkey,
                    _province_type(r["province"]),
                    nfc(r["province"]),
                    nfc(r["provinceShort"]),
                    None,
                    r["provinceLat"],
                    r["provinceLon"],
                    json.loads(r["provinceAlias"] or "[]"),
                )
                province_by_name[("legacy", r["provinceKey"])] = pkey
            dkey = (CodeSystem.LEGACY, Level.DISTRICT, r["districtCode"])
            if dkey not in rows:
                rows[dkey] = _Row(
                    *dkey,
                    nfc(r["districtType"]),
                    nfc(r["district"]),
                    nfc(r["districtShort"]),
                    pkey,
                    r["districtLat"],
                    r["districtLon"],
                    json.loads(r["districtAlias"] or "[]"),
                )
            if not r["wardCode"]:
                # Island districts with no commune level (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa…): the district
                # itself became a current unit (a đặc khu), so lineage starts at the district.
                legacy_by_name[f"{r['provinceKey']}_{r['districtKey']}_"] = dkey
                continue
            wkey = (CodeSystem.LEGACY, Level.COMMUNE, r["wardCode"])
            rows[wkey] = _Row(
                *wkey,
                nfc(r["wardType"]),
                nfc(r["ward"]),
                nfc(r["wardShort"]),
                dkey,
                r["wardLat"],
                r["wardLon"],
                json.loads(r["wardAlias"] or "[]"),
            )
            legacy_by_name[f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}"] = wkey
    finally:
        con.close()
    return list(rows.values()), {"legacy": legacy_by_name, "current": current_by_name}, province_by_name


def _read_lineage(converter_path: Path, names: dict, provinces: dict) -> tuple[set, set, set]:
    """(legacy commune, current commune) pairs, the pairs from split communes, and province pairs."""
    data = json.loads(converter_path.read_text(encoding="utf-8"))
    pairs, split_pairs, province_pairs = set(), set(), set()
    for new_province, wards in data["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, old_keys in wards.items():
            successor = names["current"][(new_province, new_ward)]
            for old_key in old_keys:
                pairs.add((names["legacy"][old_key], successor))
    for new_province, olds in data["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, news in olds.items():
            for new in news:
                pair = (names["legacy"][old_key], names["current"][(new_province, new["newWardKey"])])
                pairs.add(pair)
                split_pairs.add(pair)
    for new_province, old_provinces in data["DICT_PROVINCE"].items():
        for old_province in old_provinces:
            province_pairs.add((provinces[("legacy", old_province)], provinces[("2025", new_province)]))
    return pairs, split_pairs, province_pairs


def _event(pred: _Row, succ: _Row, n_successors: int, n_predecessors: int) -> str:
    if n_successors > 1:
        return SuccessionEvent.SPLIT
    if n_predecessors > 1:
        return SuccessionEvent.MERGE
    if pred.unit_type != succ.unit_type:
        return SuccessionEvent.RETYPE
    if pred.short_name != succ.short_name:
        return SuccessionEvent.RENAME
    if pred.code != succ.code:
        return SuccessionEvent.RECODE
    return SuccessionEvent.CONTINUE


@transaction.atomic
def admin_units_load(*, data_dir: Path | None = None) -> LoadReport:
    """Load or refresh every administrative unit, succession and alias from the vietnamadminunits data files.

    Idempotent: a rerun with the same data changes nothing; after a package upgrade, changed units are
    updated in place (ids kept, so references survive) and lineage edges the new data no longer has are
    removed. Units are never deleted: products and producers may point at them.
    """
    data_dir = data_dir or package_data_dir()
    source = f"{PACKAGE} {importlib.metadata.version(PACKAGE)}"
    report = LoadReport(source=source)
    rows, names, provinces = _read_rows(data_dir / "dataset.db")
    by_key = {row.key: row for row in rows}

    existing = {
        (u.system, u.level, u.code): u
        for u in AdministrativeUnit.objects.filter(valid_from__isnull=True, system=CodeSystem.LEGACY)
    }
    existing.update(
        {
            (u.system, u.level, u.code): u
            for u in AdministrativeUnit.objects.filter(valid_from=REFORM_DATE, system=CodeSystem.CURRENT)
        }
    )
    ids: dict[tuple, int] = {key: unit.pk for key, unit in existing.items()}

    # Parents before children, so that every parent id is known when its children are written.
    for level in (Level.PROVINCE, Level.DISTRICT, Level.COMMUNE):
        to_create, to_update = [], []
        for row in (r for r in rows if r.level == level):
            parent = by_key[row.parent_key] if row.parent_key else None
            current = row.system == CodeSystem.CURRENT
            values = {
                "unit_type": row.unit_type,
                "name": row.name,
                "short_name": row.short_name,
                "search_key": fold(f"{row.name} {parent.short_name}" if parent else row.name),
                "parent_id": ids[row.parent_key] if row.parent_key else None,
                "valid_to": None if current else LEGACY_END,
                "latitude": row.latitude,
                "longitude": row.longitude,
                "legal_basis": CURRENT_BASIS if current else LEGACY_BASIS,
                "source": source,
            }
            unit = existing.get(row.key)
            if unit is None:
                to_create.append(
                    AdministrativeUnit(
                        system=row.system,
                        level=row.level,
                        code=row.code,
                        valid_from=REFORM_DATE if current else None,
                        **values,
                    )
                )
            elif any(getattr(unit, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(unit, name, value)
                to_update.append(unit)
            else:
                report.unchanged[f"units.{level}"] += 1
        AdministrativeUnit.objects.bulk_create(to_create, batch_size=1000)
        AdministrativeUnit.objects.bulk_update(to_update, _UNIT_FIELDS, batch_size=1000)
        report.created[f"units.{level}"] += len(to_create)
        report.updated[f"units.{level}"] += len(to_update)
        if to_create:
            ids.update(
                ((u.system, u.level, u.code), u.pk)
                for u in AdministrativeUnit.objects.filter(level=level).only("id", "system", "level", "code")
            )

    _load_successions(report, by_key, ids, *_read_lineage(data_dir / "converter_2025.json", names, provinces))
    _load_aliases(report, rows, ids, source)
    # Lineage resolved before the load (reaches, scopes) was cached by places.selectors: drop it once committed.
    transaction.on_commit(selectors.lineage_changed)
    return report


def _load_successions(report, by_key, ids, pairs, split_pairs, province_pairs) -> None:
    n_successors, n_predecessors = defaultdict(int), defaultdict(int)
    for pred, succ in pairs | province_pairs:
        n_successors[pred] += 1
        n_predecessors[succ] += 1
    wanted = {}
    for pred, succ in pairs | province_pairs:
        event = _event(by_key[pred], by_key[succ], n_successors[pred], n_predecessors[succ])
        partial = (pred, succ) in split_pairs or n_successors[pred] > 1
        wanted[(ids[pred], ids[succ])] = (event, partial)

    source = report.source
    existing = {
        (s.predecessor_id, s.successor_id): s for s in UnitSuccession.objects.filter(effective_date=REFORM_DATE)
    }
    to_create, to_update = [], []
    for (pred_id, succ_id), (event, partial) in wanted.items():
        edge = existing.get((pred_id, succ_id))
        if edge is None:
            to_create.append(
                UnitSuccession(
                    predecessor_id=pred_id,
                    successor_id=succ_id,
                    event=event,
                    partial=partial,
                    effective_date=REFORM_DATE,
                    legal_basis=CURRENT_BASIS,
                    source=source,
                )
            )
        elif (edge.event, edge.partial, edge.source) != (event, partial, source):
            edge.event, edge.partial, edge.source = event, partial, source
            to_update.append(edge)
        else:
            report.unchanged["successions"] += 1
    stale = [edge.pk for key, edge in existing.items() if key not in wanted and edge.source.startswith(PACKAGE)]
    UnitSuccession.objects.bulk_create(to_create, batch_size=2000)
    UnitSuccession.objects.bulk_update(to_update, ["event", "partial", "source"], batch_size=2000)
    if stale:
        UnitSuccession.objects.filter(pk__in=stale).delete()
    report.created["successions"] += len(to_create)
    report.updated["successions"] += len(to_update)
    report.removed_successions = len(stale)


def _load_aliases(report, rows, ids, source) -> None:
    # The package's aliases are accent-folded keys without spaces (often a merged unit's old name); they are
    # matched against the query with its spaces removed.
    existing = set(UnitAlias.objects.values_list("unit_id", "search_key"))
    to_create = []
    for row in rows:
        for alias in row.aliases:
            key = (ids[row.key], alias)
            if key in existing:
                report.unchanged["aliases"] += 1
                continue
            existing.add(key)
            to_create.append(UnitAlias(unit_id=key[0], name=alias, search_key=alias, source=source))
    UnitAlias.objects.bulk_create(to_create, batch_size=2000)
    report.created["aliases"] += len(to_create)


@transaction.atomic
def named_scope_create(
    *,
    slug: str,
    name: str,
    units: list[AdministrativeUnit],
    description: str = "",
    is_shared: bool = False,
    owner=None,
) -> NamedScope:
    """Save a named set of units. Units may be current or legacy; lineage resolves them later."""
    if not units:
        raise ServiceError(
            "invalid", _("A scope needs at least one unit."), fields={"units": [_("Choose at least one unit.")]}
        )
    description = unicodedata.normalize("NFC", description)  # stored NFC; its line breaks kept (nfc() joins lines)
    scope = NamedScope(slug=slug, name=nfc(name), description=description, is_shared=is_shared, owner=owner)
    duplicate = ServiceError(
        "duplicate", _("A scope with this code already exists."), fields={"slug": [_("Choose another name or code.")]}
    )
    if NamedScope.objects.filter(slug=slug).exists():
        raise duplicate
    scope.full_clean(exclude=["slug"] if slug else None)
    try:
        # A savepoint, so that losing a race with a concurrent save of the same slug leaves the
        # transaction usable and the caller gets the same clear 400 as the check above.
        with transaction.atomic():
            scope.save()
    except IntegrityError:
        raise duplicate from None
    scope.units.set(units)
    return scope


# The scopes every installation starts with (domain.md §2): "Old Yên Bái" is the legacy province 15 resolved
# through lineage, not the current province 15, which is the new Lào Cai.
SEED_SCOPES = [
    (
        "old-yen-bai",
        "Yên Bái cũ",
        "Tỉnh Yên Bái trước 1/7/2025 (mã cũ 15), quy về các xã hiện tại theo lịch sử sáp nhập.",
        (CodeSystem.LEGACY, Level.PROVINCE, "15"),
    ),
    (
        "new-lao-cai",
        "Lào Cai mới",
        "Tỉnh Lào Cai từ 1/7/2025 (mã 15): Lào Cai cũ và Yên Bái cũ.",
        (CodeSystem.CURRENT, Level.PROVINCE, "15"),
    ),
    (
        "former-van-chan-district",
        "Huyện Văn Chấn cũ",
        "Huyện Văn Chấn, tỉnh Yên Bái cũ (mã huyện 140).",
        (CodeSystem.LEGACY, Level.DISTRICT, "140"),
    ),
]


@transaction.atomic
def named_scopes_seed() -> list[NamedScope]:
    """Create or refresh the shared seed scopes. Idempotent; needs the units loaded first."""
    scopes = []
    for slug, name, description, (system, level, code) in SEED_SCOPES:
        unit = AdministrativeUnit.objects.get(system=system, level=level, code=code)
        scope, _created = NamedScope.objects.update_or_create(
            slug=slug, defaults={"name": name, "description": description, "is_shared": True}
        )
        scope.units.set([unit])
        scopes.append(scope)
    return scopes
