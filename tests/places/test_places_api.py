import pytest

from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level, NamedScope
from tests.factories import unit, user_with_role

pytestmark = pytest.mark.django_db


def names(response):
    return [row["name"] for row in response.json()["results"]]


def test_search_without_accents_finds_the_commune(api):
    # when a producer types "tu le" in the place picker
    response = api.get("/api/v1/places/", {"q": "tu le", "system": "2025", "level": "commune"})

    # then "Xã Tú Lệ, Lào Cai" is found
    assert response.status_code == 200
    assert [r["display_name"] for r in response.json()["results"]] == ["Xã Tú Lệ, Lào Cai"]


def test_search_finds_both_spellings_of_mu_cang_chai(api):
    response = api.get("/api/v1/places/", {"q": "mu cang chai", "page_size": 100})

    found = set(names(response))
    assert "Huyện Mù Căng Chải" in found
    assert "Thị trấn Mù Cang Chải" in found
    assert "Xã Mù Cang Chải" in found


def test_search_with_accents_and_decomposed_unicode_matches_the_same(api):
    composed = api.get("/api/v1/places/", {"q": "Tú Lệ", "system": "2025"}).json()["results"]
    decomposed = api.get("/api/v1/places/", {"q": "Tu\u0301 Le\u0323\u0302", "system": "2025"}).json()["results"]

    assert composed == decomposed
    assert [r["display_name"] for r in composed] == ["Xã Tú Lệ, Lào Cai"]


def test_list_filters_by_parent_and_paginates_with_a_count(api):
    response = api.get("/api/v1/places/", {"system": "2025", "parent": "15", "page_size": 10})

    body = response.json()
    assert body["count"] == 99
    assert len(body["results"]) == 10
    assert body["next"]


def test_place_detail_shows_parent_children_and_lineage(api):
    response = api.get("/api/v1/places/2025/04672/")

    body = response.json()
    assert body["name"] == "Xã Văn Chấn"
    assert body["parent"]["code"] == "15"
    assert "04657" in {edge["unit"]["code"] for edge in body["predecessors"]}
    assert body["successors"] == []
    assert body["source"].startswith("vietnamadminunits ")

    legacy = api.get("/api/v1/places/legacy/04657/").json()
    assert [edge["unit"]["code"] for edge in legacy["successors"]] == ["04672"]
    assert legacy["successors"][0]["event"] == "merge"
    assert legacy["valid_to"] == "2025-06-30"


def test_unknown_place_is_a_404_in_the_api_shape(api):
    response = api.get("/api/v1/places/2025/99999/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_place_list_runs_a_constant_number_of_queries(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        small = api.get("/api/v1/places/", {"page_size": 5})
    with django_assert_max_num_queries(3):
        large = api.get("/api/v1/places/", {"page_size": 100})
    assert len(small.json()["results"]) == 5
    assert len(large.json()["results"]) == 100


def test_officer_saves_a_scope_in_their_area_and_it_resolves_through_lineage(api, login):
    # given an officer for old Yên Bái
    officer = user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])
    login(officer)

    # when they save a scope made of one legacy commune and one current commune
    response = api.post(
        "/api/v1/scopes/",
        {
            "name": "Vùng chè Suối Giàng",
            "units": [
                {"system": "legacy", "level": "commune", "code": "04657"},
                {"system": "2025", "level": "commune", "code": "04672"},
            ],
        },
        format="json",
    )

    # then it is saved, private to them, and resolves to the one current commune
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "vung-che-suoi-giang"
    assert body["is_shared"] is False
    detail = api.get(f"/api/v1/scopes/{body['id']}/").json()
    assert detail["current_commune_count"] == 1


def test_officer_cannot_save_a_scope_outside_their_area(api, login):
    officer = user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")])
    login(officer)

    response = api.post(
        "/api/v1/scopes/",
        {"name": "Cả Lào Cai", "units": [{"system": "2025", "level": "province", "code": "15"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "outside_your_area"
    assert "units" in response.json()["fields"]
    assert not NamedScope.objects.filter(name="Cả Lào Cai").exists()


def test_scope_with_unknown_unit_names_the_field(api, login):
    login(user_with_role(Role.ADMINISTRATOR))

    response = api.post(
        "/api/v1/scopes/",
        {"name": "Sai", "units": [{"system": "2025", "level": "commune", "code": "00000"}]},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["units"]


def test_duplicate_scope_slug_is_a_clear_400(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    payload = {
        "name": "Yên Bái cũ",
        "slug": "old-yen-bai",
        "units": [{"system": "legacy", "level": "province", "code": "15"}],
    }

    response = api.post("/api/v1/scopes/", payload, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "duplicate"
    assert list(response.json()["fields"]) == ["slug"]
    assert NamedScope.objects.filter(slug="old-yen-bai").count() == 1
