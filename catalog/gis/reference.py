"""The GI registry's seed: the known GIs of old Yên Bái, from the versioned file in catalog/gis/data/.

Areas are resolved against the real place data (legacy units, as listed at the grant) and the load fails
loudly when a unit is missing, rather than seeding a GI with a silently smaller area.
"""

import json
from collections import Counter
from datetime import date
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from marketplace.core.text import fold
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level
from marketplace.places.selectors import unit_newest

from .models import GiStatus, GiStatusEvent
from .services import gi_upsert

DATA_FILE = Path(__file__).resolve().parent / "data" / "gis_old_yen_bai.json"


class SeedError(ImproperlyConfigured):
    """The place data lacks a unit that a GI's area lists: load the administrative units first."""


def _legacy(level: str, code: str) -> AdministrativeUnit:
    unit = unit_newest(queryset=AdministrativeUnit.objects.all(), system=CodeSystem.LEGACY, code=code, level=level)
    if unit is None:
        raise SeedError(f"Legacy {level} {code} is not in the place data. Run load_admin_units first.")
    return unit


def _area(spec: dict | None) -> list[AdministrativeUnit]:
    if not spec:
        return []
    if "legacy_district_name" in spec:
        province = _legacy(Level.PROVINCE, spec["legacy_province"])
        found = list(province.children.filter(level=Level.DISTRICT, name=spec["legacy_district_name"]))
        if len(found) != 1:
            raise SeedError(f"{spec['legacy_district_name']!r} found {len(found)} times in legacy province {province}.")
        return found
    district = _legacy(Level.DISTRICT, spec["legacy_district"])
    # Compared on the accent-folded short name, so that "Hoà"/"Hòa" spelling drift does not break the load.
    communes = list(district.children.filter(level=Level.COMMUNE))
    keys = Counter(fold(c.short_name) for c in communes)
    by_key = {fold(c.short_name): c for c in communes}
    wanted = [fold(name) for name in spec["commune_names"]]
    problems = [name for name, key in zip(spec["commune_names"], wanted, strict=True) if keys[key] != 1]
    if problems:
        raise SeedError(f"Communes not found exactly once in legacy district {district}: {', '.join(problems)}.")
    return [by_key[key] for key in wanted]


@transaction.atomic
def gis_load(*, path: Path = DATA_FILE) -> Counter:
    """Create or bring up to date the GIs of the seed file, by slug. Idempotent; returns counts by outcome.

    Values the file leaves empty are never written over values stored since (see services.gi_upsert).
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    outcomes: Counter = Counter()
    for row in data["gis"]:
        grant_date = date.fromisoformat(row["grant_date"]) if row["grant_date"] else None
        fields = {
            "kind": row["kind"],
            "name": row["name"],
            "product_description": row["product_description"],
            "certificate_number": row["certificate_number"],
            "grant_decision_number": row["grant_decision_number"],
            "grant_date": grant_date,
            "management_body": row["management_body"],
            "source": f"{data['source']} {row['note']}",
        }
        gi, outcome = gi_upsert(slug=row["slug"], fields=fields, area_units=_area(row["area"]))
        if row["grant_decision_number"]:
            _event, created = GiStatusEvent.objects.get_or_create(
                gi=gi,
                status=GiStatus.REGISTERED,
                date=grant_date,
                defaults={"note": row["grant_decision_number"]},
            )
            if created and outcome == "unchanged":
                outcome = "updated"
        outcomes[outcome] += 1
    return outcomes
