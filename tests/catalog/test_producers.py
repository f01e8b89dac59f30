import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Producer
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.factories import producer, unit, user_with_role

pytestmark = pytest.mark.django_db

SUOI_GIANG = {"system": "legacy", "level": "commune", "code": "04657"}
HOUSEHOLD = {
    "kind": "household",
    "legal_name": "Hộ Lò Văn Chè",
    "representative_name": "Lò Văn Chè",
    "phone": "0912 345 678",
    "tax_id": "015090123789",
    "commune_as_captured": SUOI_GIANG,
}


@pytest.fixture
def team_member():
    return user_with_role(Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")])


def test_a_community_team_member_registers_a_household_from_a_legacy_address(api, login, team_member):
    # given a community team member of the former Văn Chấn district
    login(team_member)

    # when they register a household whose address is in legacy Suối Giàng
    response = api.post("/api/v1/producers/", HOUSEHOLD, format="json")

    # then it is saved with the phone in E.164, the commune as captured and the current commune derived
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "+84912345678"
    assert body["commune_as_captured"]["code"] == "04657"
    assert body["commune_as_captured"]["system"] == "legacy"
    assert body["current_commune"]["code"] == "04672"
    # the household's personal id is masked for the community team
    assert body["tax_id"] == "*********789"
    assert body["tax_id_type"] == "personal_id"
    # and the audit trail records who did it and on whose behalf
    entry = LogEntry.objects.get_for_object(Producer.objects.get(pk=body["id"])).get()
    assert entry.actor == team_member
    assert entry.additional_data["on_behalf_of"]["name"] == "Hộ Lò Văn Chè"

    # and a later change by the team member names the producer by id
    api.patch(f"/api/v1/producers/{body['id']}/", {"trade_name": "Chè Shan tuyết Lò Văn"}, format="json")
    update = LogEntry.objects.get_for_object(Producer.objects.get(pk=body["id"])).latest("timestamp")
    assert update.action == LogEntry.Action.UPDATE
    assert update.additional_data["on_behalf_of"]["id"] == body["id"]


def test_officers_in_scope_and_members_see_the_full_personal_id(api, login, team_member):
    household = producer(**{**HOUSEHOLD, "commune_as_captured": unit(CodeSystem.LEGACY, Level.COMMUNE, "04657")})
    officer = user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])
    member = user_with_role(Role.PRODUCER_MEMBER)
    household.memberships.create(user=member)

    seen = {}
    for name, user in {"officer": officer, "member": member, "team": team_member}.items():
        login(user)
        seen[name] = api.get(f"/api/v1/producers/{household.pk}/").json()["tax_id"]

    assert seen == {"officer": "015090123789", "member": "015090123789", "team": "*********789"}


def test_an_enterprise_tax_code_with_a_wrong_check_digit_is_refused(api, login, team_member):
    login(team_member)

    response = api.post(
        "/api/v1/producers/",
        {
            "kind": "enterprise",
            "legal_name": "Công ty Quế Văn Yên",
            "tax_id": "0100109107",
            "commune_as_captured": SUOI_GIANG,
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["tax_id"]
    assert not Producer.objects.exists()


def test_a_household_needs_a_12_digit_personal_id(api, login, team_member):
    login(team_member)

    response = api.post("/api/v1/producers/", {**HOUSEHOLD, "tax_id": "0100109106"}, format="json")

    assert response.status_code == 400
    assert "12" in response.json()["fields"]["tax_id"][0]


def test_a_foreign_phone_number_is_refused(api, login, team_member):
    login(team_member)

    response = api.post("/api/v1/producers/", {**HOUSEHOLD, "phone": "+1 415 555 2671"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["phone"]


def test_the_same_tax_id_twice_is_refused_and_the_same_name_is_warned_about(api, login, team_member):
    login(team_member)
    assert api.post("/api/v1/producers/", HOUSEHOLD, format="json").status_code == 201

    again = api.post("/api/v1/producers/", HOUSEHOLD, format="json")
    same_name = api.post("/api/v1/producers/", {**HOUSEHOLD, "tax_id": "015090123790"}, format="json")

    assert again.status_code == 400
    assert again.json()["code"] == "duplicate"
    assert "tax_id" in again.json()["fields"]
    assert same_name.status_code == 201
    assert len(same_name.json()["warnings"]) == 1
    assert Producer.objects.count() == 2


def test_a_province_is_not_a_commune(api, login, team_member):
    login(team_member)

    response = api.post(
        "/api/v1/producers/",
        {**HOUSEHOLD, "commune_as_captured": {"system": "2025", "level": "province", "code": "15"}},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["commune_as_captured"]


def test_a_community_team_member_cannot_register_outside_their_area(api, login, team_member):
    login(team_member)
    ha_noi_commune = {"system": "2025", "level": "commune", "code": "00004"}

    response = api.post("/api/v1/producers/", {**HOUSEHOLD, "commune_as_captured": ha_noi_commune}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "outside_your_area"


def test_filters_by_legacy_place_saved_scope_kind_and_accent_free_search(api, login):
    producer(legal_name="Hợp tác xã Chè Suối Giàng")
    producer(legal_name="Hợp tác xã Quế Đại Sơn", commune_as_captured=unit(CodeSystem.CURRENT, Level.COMMUNE, "02647"))
    producer(
        legal_name="Công ty Gạo Hà Nội",
        kind="enterprise",
        commune_as_captured=unit(CodeSystem.CURRENT, Level.COMMUNE, "00004"),
    )
    login(user_with_role("superuser"))

    def names(**params):
        return sorted(p["legal_name"] for p in api.get("/api/v1/producers/", params).json()["results"])

    assert names(scope="old-yen-bai") == ["Hợp tác xã Chè Suối Giàng"]
    assert names(scope="new-lao-cai") == ["Hợp tác xã Chè Suối Giàng", "Hợp tác xã Quế Đại Sơn"]
    assert names(place="legacy:140") == ["Hợp tác xã Chè Suối Giàng"]
    assert names(q="hop tac xa che") == ["Hợp tác xã Chè Suối Giàng"]
    assert names(kind="enterprise") == ["Công ty Gạo Hà Nội"]
    unknown_place = api.get("/api/v1/producers/", {"place": "moon:1"})
    assert unknown_place.status_code == 400
    assert list(unknown_place.json()["fields"]) == ["place"]


def test_out_of_scope_producers_are_not_found(api, login):
    in_yen_bai = producer()
    elsewhere_officer = user_with_role(Role.OFFICER, units=[unit(CodeSystem.CURRENT, Level.PROVINCE, "01")])
    stranger = user_with_role(Role.PRODUCER_MEMBER)

    for user in (elsewhere_officer, stranger):
        login(user)
        assert api.get(f"/api/v1/producers/{in_yen_bai.pk}/").status_code == 404
        assert api.patch(f"/api/v1/producers/{in_yen_bai.pk}/", {"trade_name": "x"}, format="json").status_code == 404
        assert api.get("/api/v1/producers/").json()["count"] == 0


def test_the_producer_list_runs_the_same_queries_for_5_or_50(api, login):
    for i in range(55):
        producer(legal_name=f"Hợp tác xã số {i}")
    login(user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]))

    counts = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as captured:
            assert len(api.get("/api/v1/producers/", {"page_size": size}).json()["results"]) == size
        counts.append(len(captured))

    assert counts[0] == counts[1]


def test_a_community_team_member_cannot_make_themselves_a_member(api, login, team_member):
    # given a household registered by the team member, whose personal id they see masked
    login(team_member)
    household = api.post("/api/v1/producers/", HOUSEHOLD, format="json").json()

    # when they try to add themselves as its member
    response = api.post(f"/api/v1/producers/{household['id']}/members/", {"user": team_member.pk}, format="json")

    # then it is refused, and the personal id stays masked for them
    assert response.status_code == 403
    assert api.get(f"/api/v1/producers/{household['id']}/").json()["tax_id"] == "*********789"


def test_an_officer_sees_the_personal_id_of_a_producer_from_a_split_commune(api, login):
    from marketplace.places.models import UnitSuccession

    # given a household captured in a legacy commune that the reform split (no single current commune)
    split = UnitSuccession.objects.filter(event="split").select_related("predecessor", "successor__parent").first()
    household = producer(**{**HOUSEHOLD, "commune_as_captured": split.predecessor})
    assert household.current_commune is None
    officer = user_with_role(Role.OFFICER, units=[split.successor.parent])

    # then the officer of the province it now lies in sees it whole
    login(officer)
    assert api.get(f"/api/v1/producers/{household.pk}/").json()["tax_id"] == "015090123789"


def test_moving_a_producer_out_of_the_area_is_refused_and_changes_nothing(api, login, team_member):
    login(team_member)
    household = api.post("/api/v1/producers/", HOUSEHOLD, format="json").json()

    response = api.patch(
        f"/api/v1/producers/{household['id']}/",
        {"commune_as_captured": {"system": "2025", "level": "commune", "code": "00004"}, "trade_name": "Mới"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "outside_your_area"
    assert Producer.objects.get(pk=household["id"]).commune_as_captured.code == "04657"
    assert Producer.objects.get(pk=household["id"]).trade_name == ""


@pytest.mark.parametrize("value", ["99999999999999999999", "1.5", "abc"])
def test_an_impossible_producer_id_in_a_filter_is_a_400(api, login, value):
    login(user_with_role("superuser"))

    response = api.get("/api/v1/products/", {"producer": value})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["producer"]
