"""Old Yên Bái, period 2024, computed through lineage across the 2025 reform.

"Old Yên Bái" is legacy province 15: the 51 current communes that descend from it, not current province 15
(the new Lào Cai, which also took in old Lào Cai). Producers were captured in legacy communes before the reform
and in current ones after it; their current communes all lie in the new Lào Cai."""

from datetime import date

import pytest

from kpi.rollups import kpi_refresh
from marketplace.places.models import CodeSystem, Level, NamedScope
from tests.factories import current_commune, producer, unit

from .conftest import a_maker, listing, ocop_product, officer_of, sale

pytestmark = pytest.mark.django_db


def sold_in_2024(product, channel="postmart"):
    on = listing(product, channel, [("live", date(2024, 2, 1))], confirmed=date(2024, 12, 30))
    sale(on, sold=date(2024, 9, 9))


def test_old_yen_bai_2024_counts_the_products_of_its_former_communes_only(api, login):
    # given producers of old Yên Bái captured before the reform (Suối Giàng, Văn Chấn) and after it (Nậm Có,
    # Tú Lệ: current communes descending from old Yên Bái), one of old Lào Cai, one of Hà Nội
    suoi_giang = a_maker("04657")
    nam_co = producer(commune_as_captured=current_commune("04462"))
    tu_le = producer(commune_as_captured=current_commune("04630"))
    old_lao_cai = a_maker("02641")
    ha_noi = a_maker("00001")
    sold_in_2024(ocop_product("Chè Suối Giàng", maker=suoi_giang))
    ocop_product("Mật ong Suối Giàng", maker=suoi_giang)
    sold_in_2024(ocop_product("Gạo Nậm Có", maker=nam_co), "voso")
    ocop_product("Gạo nếp Tú Lệ", maker=tu_le)
    sold_in_2024(ocop_product("Chè Lào Cai", maker=old_lao_cai))
    sold_in_2024(ocop_product("Bánh cốm Hà Nội", maker=ha_noi))
    kpi_refresh()
    client = login(officer_of(unit(CodeSystem.LEGACY, Level.PROVINCE, "15")))
    old_yen_bai = NamedScope.objects.get(slug="old-yen-bai")
    new_lao_cai = NamedScope.objects.get(slug="new-lao-cai")

    # when the officer of old Yên Bái asks for old Yên Bái and for the new Lào Cai, 2024
    old = client.get("/api/v1/kpi/online-with-sales/", {"scope": old_yen_bai.pk, "period": "2024"}).json()
    new = client.get("/api/v1/kpi/online-with-sales/", {"scope": new_lao_cai.pk, "period": "2024"}).json()

    # then old Yên Bái has its four products, two online with sales; Hà Nội's and old Lào Cai's are not there
    assert (old["kpi"]["denominator"], old["kpi"]["numerator"], old["kpi"]["rate"]) == (4, 2, 0.5)
    # and the officer's reach is old Yên Bái: asking for the new Lào Cai shows the same four, not old Lào Cai's
    assert (new["kpi"]["denominator"], new["kpi"]["numerator"]) == (4, 2)
    # the current communes are those of the new Lào Cai; the former ones as captured, or through lineage when
    # the current commune continues a single former one (Nậm Có), unknown when it merged several (Tú Lệ)
    communes = {row["key"]: row["denominator"] for row in old["breakdowns"]["commune"]}
    assert communes == {"2025:04672": 2, "2025:04462": 1, "2025:04630": 1}
    legacy = {row["key"]: row["denominator"] for row in old["breakdowns"]["legacy_commune"]}
    assert legacy == {"legacy:04657": 2, "legacy:04462": 1, None: 1}


def test_an_administrator_sees_new_lao_cai_take_in_both_former_provinces(api, login):
    # given the same kind of producers
    sold_in_2024(ocop_product("Chè Suối Giàng", maker=a_maker("04657")))
    sold_in_2024(ocop_product("Chè Lào Cai", maker=a_maker("02641")))
    ocop_product("Bánh cốm Hà Nội", maker=a_maker("00001"))
    kpi_refresh()
    from tests.factories import user_with_role

    client = login(user_with_role("superuser"))

    # when
    def kpi(slug):
        scope = NamedScope.objects.get(slug=slug).pk
        return client.get("/api/v1/kpi/online-with-sales/", {"scope": scope, "period": "2024"}).json()["kpi"]

    everything = client.get("/api/v1/kpi/online-with-sales/", {"period": "2024"}).json()["kpi"]

    # then
    assert (kpi("old-yen-bai")["denominator"], kpi("new-lao-cai")["denominator"]) == (1, 2)
    assert (everything["denominator"], everything["numerator"]) == (3, 2)


def test_an_officer_outside_the_scope_sees_no_product_of_it(api, login):
    # given a product of old Yên Bái and an officer of old Lào Cai (legacy province 10)
    sold_in_2024(ocop_product("Chè Suối Giàng", maker=a_maker("04657")))
    kpi_refresh()
    client = login(officer_of(unit(CodeSystem.LEGACY, Level.PROVINCE, "10")))

    # when they ask for the shared scope old Yên Bái
    body = client.get(
        "/api/v1/kpi/online-with-sales/", {"scope": NamedScope.objects.get(slug="old-yen-bai").pk, "period": "2024"}
    ).json()

    # then nothing of it is in their reach: the KPI is n/a
    assert body["kpi"]["denominator"] == 0 and body["kpi"]["rate"] is None
