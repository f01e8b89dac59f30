import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product, Sku
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.factories import producer, product_set, unit, user_with_role

pytestmark = pytest.mark.django_db

SKU = {
    "net_quantity": "500",
    "net_unit": "g",
    "weight_grams": 620,
    "length_cm": 20,
    "width_cm": 12,
    "height_cm": 8,
    "price_vnd": 150000,
    "stock": 40,
    "gtin": "8934563138165",
}


@pytest.fixture
def tea_cooperative():
    return producer(legal_name="Hợp tác xã Chè Shan tuyết Suối Giàng")


@pytest.fixture
def team_member():
    return user_with_role(Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")])


def test_a_community_team_member_adds_a_tea_product_and_a_package(api, login, tea_cooperative, team_member):
    # given a community team member helping a tea cooperative
    login(team_member)

    # when they add the product, with its set and origin, then a 500 g package
    created = api.post(
        "/api/v1/products/",
        {
            "producer": tea_cooperative.pk,
            "name": "Chè Shan tuyết cổ thụ Suối Giàng",
            "product_set": 11,
            "origin_commune": {"system": "legacy", "level": "commune", "code": "04657"},
            "shelf_life_days": 365,
        },
        format="json",
    )
    sku = api.post(f"/api/v1/products/{created.json()['id']}/skus/", SKU, format="json")

    # then the product is a draft of goods in set 11, and the price is whole đồng shown the Vietnamese way
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "draft"
    assert created.json()["kind"] == "goods"
    assert created.json()["product_set"]["number"] == 11
    assert sku.status_code == 201, sku.content
    assert sku.json()["price_vnd"] == 150000
    assert sku.json()["price_display"] == "150.000 ₫"
    detail = api.get(f"/api/v1/products/{created.json()['id']}/").json()
    assert [s["gtin"] for s in detail["skus"]] == ["8934563138165"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_vnd", -1000),
        ("price_vnd", "150000.5"),
        ("price_vnd", 0),
        ("gtin", "8934563138164"),
        ("weight_grams", 0),
        ("net_unit", "bag"),
        ("net_quantity", "-1"),
    ],
)
def test_a_bad_sku_field_is_named_and_nothing_is_saved(api, login, tea_cooperative, team_member, field, value):
    product = Product.objects.create(producer=tea_cooperative, name="Chè", product_set=product_set(11), kind="goods")
    login(team_member)

    response = api.post(f"/api/v1/products/{product.pk}/skus/", {**SKU, field: value}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert not Sku.objects.exists()


def test_a_barcode_used_twice_is_refused(api, login, tea_cooperative, team_member):
    product = Product.objects.create(producer=tea_cooperative, name="Chè", product_set=product_set(11), kind="goods")
    login(team_member)
    assert api.post(f"/api/v1/products/{product.pk}/skus/", SKU, format="json").status_code == 201

    again = api.post(f"/api/v1/products/{product.pk}/skus/", SKU, format="json")

    assert again.status_code == 400
    assert list(again.json()["fields"]) == ["gtin"]


def test_a_tourism_set_is_a_service_and_goods_cannot_claim_it(api, login, tea_cooperative, team_member):
    login(team_member)
    base = {"producer": tea_cooperative.pk, "name": "Homestay Suối Giàng", "product_set": 26}

    service = api.post("/api/v1/products/", base, format="json")
    wrong = api.post("/api/v1/products/", {**base, "kind": "goods"}, format="json")

    assert service.json()["kind"] == "service"
    assert wrong.status_code == 400
    assert list(wrong.json()["fields"]) == ["kind"]


def test_unknown_product_set_and_legacy_district_as_origin_are_named(api, login, tea_cooperative, team_member):
    login(team_member)

    response = api.post(
        "/api/v1/products/",
        {"producer": tea_cooperative.pk, "name": "Chè", "product_set": 99},
        format="json",
    )
    district = api.post(
        "/api/v1/products/",
        {
            "producer": tea_cooperative.pk,
            "name": "Chè",
            "product_set": 11,
            "origin_commune": {"system": "legacy", "level": "district", "code": "140"},
        },
        format="json",
    )

    assert list(response.json()["fields"]) == ["product_set"]
    assert list(district.json()["fields"]) == ["origin_commune"]
    assert not Product.objects.exists()


def test_only_an_officer_in_scope_approves_a_submitted_product(api, login, tea_cooperative, team_member):
    product = Product.objects.create(producer=tea_cooperative, name="Chè", product_set=product_set(11), kind="goods")
    officer = user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])

    login(team_member)
    assert api.patch(f"/api/v1/products/{product.pk}/", {"status": "submitted"}, format="json").status_code == 200
    refused = api.patch(f"/api/v1/products/{product.pk}/", {"status": "approved"}, format="json")
    login(officer)
    approved = api.patch(f"/api/v1/products/{product.pk}/", {"status": "approved"}, format="json")
    jump = api.patch(f"/api/v1/products/{product.pk}/", {"status": "submitted"}, format="json")

    assert refused.status_code == 403
    assert list(refused.json()["fields"]) == ["status"]
    assert approved.json()["status"] == "approved"
    assert jump.status_code == 400


def test_someone_elses_producer_cannot_be_given_a_product(api, login, tea_cooperative):
    login(user_with_role(Role.OFFICER, units=[unit(CodeSystem.CURRENT, Level.PROVINCE, "01")]))

    response = api.post("/api/v1/products/", {"producer": tea_cooperative.pk, "name": "Chè", "product_set": 11})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["producer"]
    assert not Product.objects.exists()


def test_products_filter_by_scope_set_and_accent_free_search(api, login, tea_cooperative):
    far = producer(legal_name="HTX Hà Nội", commune_as_captured=unit(CodeSystem.CURRENT, Level.COMMUNE, "00004"))
    Product.objects.create(producer=tea_cooperative, name="Chè Shan tuyết", product_set=product_set(11), kind="goods",
                           search_key="che shan tuyet")  # fmt: skip
    Product.objects.create(producer=far, name="Gạo nếp", product_set=product_set(3), kind="goods", search_key="gao nep")
    login(user_with_role("superuser"))

    def names(**params):
        return [p["name"] for p in api.get("/api/v1/products/", params).json()["results"]]

    assert names(scope="old-yen-bai") == ["Chè Shan tuyết"]
    assert names(product_set=3) == ["Gạo nếp"]
    assert names(q="che shan") == ["Chè Shan tuyết"]


def test_the_product_list_runs_the_same_queries_for_5_or_50(api, login, tea_cooperative):
    # varied producers, sets and origins, so that a missing select_related shows up as extra queries
    makers = [tea_cooperative, *(producer(legal_name=f"HTX số {i}") for i in range(4))]
    origins = [unit(CodeSystem.LEGACY, Level.COMMUNE, "04657"), unit(CodeSystem.CURRENT, Level.COMMUNE, "04672")]
    for i in range(55):
        product = Product.objects.create(
            producer=makers[i % len(makers)], name=f"Chè {i}", product_set=product_set(1 + i % 20), kind="goods",
            origin_commune=origins[i % 2],
        )  # fmt: skip
        Sku.objects.create(product=product, net_quantity=100, net_unit="g", weight_grams=150, length_cm=10,
                           width_cm=5, height_cm=5, price_vnd=50000)  # fmt: skip
    login(user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]))

    counts = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as captured:
            assert len(api.get("/api/v1/products/", {"page_size": size}).json()["results"]) == size
        counts.append(len(captured))

    assert counts[0] == counts[1]
