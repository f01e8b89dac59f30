"""Lineage across the 2025 reform, on the real vietnamadminunits data loaded by load_admin_units."""

import shutil
import sqlite3
from datetime import date

import pytest

from marketplace.places.models import AdministrativeUnit, CodeSystem, Level, NamedScope, UnitSuccession
from marketplace.places.selectors import (
    scope_current_communes,
    unit_predecessors,
    unit_successors_at,
    units_current_communes,
)
from marketplace.places.services import admin_units_load, package_data_dir
from tests.factories import unit

pytestmark = pytest.mark.django_db

AFTER_REFORM = date(2025, 7, 1)


def test_both_code_systems_are_loaded_in_full():
    # given the units loaded from the package
    current = AdministrativeUnit.objects.filter(system=CodeSystem.CURRENT)
    legacy = AdministrativeUnit.objects.filter(system=CodeSystem.LEGACY)

    # then the 2025 list has 34 provinces and 3,321 communes; the legacy list 63 / 696 / ~10,000
    assert current.filter(level=Level.PROVINCE).count() == 34
    assert current.filter(level=Level.COMMUNE).count() == 3321
    assert legacy.filter(level=Level.PROVINCE).count() == 63
    assert legacy.filter(level=Level.DISTRICT).count() == 696
    assert 10_000 <= legacy.filter(level=Level.COMMUNE).count() <= 10_100
    assert {u.unit_type for u in current.filter(level=Level.COMMUNE)} == {"Xã", "Phường", "Đặc khu"}


def test_legacy_suoi_giang_leads_to_current_xa_van_chan_in_new_lao_cai():
    # given legacy commune Suối Giàng, of the former Văn Chấn district
    suoi_giang = unit(CodeSystem.LEGACY, Level.COMMUNE, "04657")
    assert suoi_giang.parent.name == "Huyện Văn Chấn"

    # when we ask which current units cover it after the reform
    successors = unit_successors_at(unit=suoi_giang, at=AFTER_REFORM)

    # then it is Xã Văn Chấn (04672) in the new Lào Cai, which carries code 15
    assert [(u.code, u.name, u.parent.code, u.parent.name) for u in successors] == [
        ("04672", "Xã Văn Chấn", "15", "Tỉnh Lào Cai")
    ]
    # and before the reform the legacy commune is its own answer
    assert unit_successors_at(unit=suoi_giang, at=date(2024, 6, 1)) == [suoi_giang]


def test_current_unit_lists_its_legacy_predecessors():
    xa_van_chan = unit(CodeSystem.CURRENT, Level.COMMUNE, "04672")

    predecessors = unit_predecessors(unit=xa_van_chan)

    assert "04657" in {u.code for u in predecessors}
    assert {u.parent.parent.code for u in predecessors} == {"15"}
    assert all(u.system == CodeSystem.LEGACY for u in predecessors)


def test_old_yen_bai_covers_exactly_51_current_units_and_old_lao_cai_48():
    old_yen_bai = unit(CodeSystem.LEGACY, Level.PROVINCE, "15")
    old_lao_cai = unit(CodeSystem.LEGACY, Level.PROVINCE, "10")

    from_yen_bai = set(units_current_communes(units=[old_yen_bai]).values_list("code", flat=True))
    from_lao_cai = set(units_current_communes(units=[old_lao_cai]).values_list("code", flat=True))

    assert len(from_yen_bai) == 51
    assert len(from_lao_cai) == 48
    # none of the new Lào Cai's 99 units mixes the two old provinces
    assert not from_yen_bai & from_lao_cai
    new_lao_cai = unit(CodeSystem.CURRENT, Level.PROVINCE, "15")
    assert from_yen_bai | from_lao_cai == set(new_lao_cai.children.values_list("code", flat=True))


def test_province_code_15_means_new_lao_cai_not_old_yen_bai():
    assert unit(CodeSystem.CURRENT, Level.PROVINCE, "15").name == "Tỉnh Lào Cai"
    assert unit(CodeSystem.LEGACY, Level.PROVINCE, "15").name == "Tỉnh Yên Bái"
    assert unit(CodeSystem.LEGACY, Level.PROVINCE, "10").name == "Tỉnh Lào Cai"
    edges = UnitSuccession.objects.filter(successor=unit(CodeSystem.CURRENT, Level.PROVINCE, "15"))
    assert {e.predecessor.code for e in edges} == {"10", "15"}
    assert {e.event for e in edges} == {"merge"}


def test_commune_code_02647_is_reused_across_systems():
    assert unit(CodeSystem.LEGACY, Level.COMMUNE, "02647").name == "Phường Kim Tân"
    assert unit(CodeSystem.CURRENT, Level.COMMUNE, "02647").name == "Phường Lào Cai"


def test_split_communes_are_flagged_partial_on_every_edge():
    # given a legacy commune the reform split across several current communes
    split = UnitSuccession.objects.filter(event="split").select_related("predecessor").first()
    assert split is not None

    edges = UnitSuccession.objects.filter(predecessor=split.predecessor)

    assert edges.count() > 1
    assert all(edge.partial for edge in edges)
    # and nothing in old Yên Bái was split (domain.md §2)
    assert not UnitSuccession.objects.filter(
        event="split", predecessor__parent__parent__code="15", predecessor__system=CodeSystem.LEGACY
    ).exists()


def test_seeded_scopes_resolve_to_current_communes():
    counts = {s.slug: scope_current_communes(scope=s).count() for s in NamedScope.objects.all()}

    assert counts["old-yen-bai"] == 51
    assert counts["new-lao-cai"] == 99
    assert counts["former-van-chan-district"] >= 1
    assert "04672" in scope_current_communes(scope=NamedScope.objects.get(slug="former-van-chan-district")).values_list(
        "code", flat=True
    )


def test_island_district_without_communes_still_has_a_successor():
    # Hoàng Sa had no communes: the district itself became a current đặc khu
    hoang_sa = AdministrativeUnit.objects.get(system=CodeSystem.LEGACY, level=Level.DISTRICT, name="Huyện Hoàng Sa")

    successors = unit_successors_at(unit=hoang_sa, at=AFTER_REFORM)

    assert len(successors) == 1
    assert successors[0].unit_type == "Đặc khu"


def test_reloading_the_same_data_changes_nothing():
    counts = (AdministrativeUnit.objects.count(), UnitSuccession.objects.count())

    report = admin_units_load()

    assert (AdministrativeUnit.objects.count(), UnitSuccession.objects.count()) == counts
    assert sum(report.created.values()) == 0
    assert sum(report.updated.values()) == 0


def test_a_package_upgrade_updates_units_in_place(tmp_path):
    # given a newer data file in which one commune was renamed
    data_dir = tmp_path / "data"
    shutil.copytree(package_data_dir(), data_dir)
    with sqlite3.connect(data_dir / "dataset.db") as db:
        db.execute("UPDATE admin_units SET ward = 'Xã Văn Chấn Mới' WHERE wardCode = '04672'")
    before = unit(CodeSystem.CURRENT, Level.COMMUNE, "04672")

    # when it is loaded over the existing data
    report = admin_units_load(data_dir=data_dir)

    # then the same row is updated (its id, and so every reference to it, is kept) and nothing is duplicated
    after = unit(CodeSystem.CURRENT, Level.COMMUNE, "04672")
    assert after.pk == before.pk
    assert after.name == "Xã Văn Chấn Mới"
    assert report.updated["units.commune"] == 1
    assert sum(report.created.values()) == 0
    assert AdministrativeUnit.objects.filter(system=CodeSystem.CURRENT, code="04672").count() == 1
