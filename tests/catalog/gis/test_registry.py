import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.gis.models import GeographicalIndication, GiKind, GiStatus, GiStatusEvent
from catalog.gis.reference import DATA_FILE, SeedError, gis_load
from catalog.gis.services import gi_upsert
from marketplace.places.models import CodeSystem, Level
from tests.factories import unit

pytestmark = pytest.mark.django_db

SEVEN_SUOI_GIANG_COMMUNES = {"04633", "04636", "04639", "04642", "04654", "04657", "04669"}


def test_the_seed_is_idempotent_and_invents_no_numbers(gis):
    # given the registry seeded once (fixture)
    # when it is seeded again
    out = StringIO()
    call_command("load_gis", stdout=out)

    # then nothing changes
    assert "created 0, updated 0, unchanged 7" in out.getvalue()
    assert GeographicalIndication.objects.count() == 7
    assert GiStatusEvent.objects.count() == 6
    # and only the numbers the sources give are there; the others are blank, not guessed
    rows = {gi.slug: gi for gi in GeographicalIndication.objects.all()}
    assert {slug: gi.certificate_number for slug, gi in rows.items()} == {
        "van-yen-que": "00018",
        "muong-lo-gao": "00061",
        "tu-le-gao-nep": "00100",
        "mu-cang-chai-mat-ong": "00101",
        "suoi-giang-che-shan-tuyet": "",
        "cam-van-chan": "",
        "ba-ba-gai-van-chan": "",
    }
    turtle = rows["ba-ba-gai-van-chan"]
    assert (turtle.grant_decision_number, turtle.grant_date, turtle.management_body) == ("", None, "")
    assert not turtle.status_events.exists()
    assert rows["muong-lo-gao"].management_body == ""
    assert rows["suoi-giang-che-shan-tuyet"].grant_decision_number == "5346/QĐ-SHTT"
    assert str(rows["suoi-giang-che-shan-tuyet"].grant_date) == "2022-11-04"
    assert rows["van-yen-que"].management_body == "UBND huyện Văn Yên"
    assert {gi.management_body_successor for gi in rows.values()} == {""}
    assert {gi.kind for gi in rows.values()} == {GiKind.GEOGRAPHICAL_INDICATION}
    assert "too vague to list" in rows["muong-lo-gao"].source


def test_a_number_entered_later_survives_a_new_seed(gis):
    # given an officer fills in the certificate number the sources lacked
    tea = gis["suoi-giang-che-shan-tuyet"]
    tea.certificate_number = "TEST-NUMBER"
    tea.save()

    # when the seed runs again
    call_command("load_gis", stdout=StringIO())

    # then the blank in the seed does not erase it
    tea.refresh_from_db()
    assert tea.certificate_number == "TEST-NUMBER"


def test_the_areas_come_from_the_real_place_data(gis):
    tea = gis["suoi-giang-che-shan-tuyet"].area_units.all()
    assert {u.code for u in tea} == SEVEN_SUOI_GIANG_COMMUNES
    assert {(u.system, u.level, u.parent.code) for u in tea} == {(CodeSystem.LEGACY, Level.COMMUNE, "140")}

    cinnamon = list(gis["van-yen-que"].area_units.all())
    assert cinnamon == [unit(CodeSystem.LEGACY, Level.DISTRICT, "136")]

    for slug in ["muong-lo-gao", "tu-le-gao-nep", "mu-cang-chai-mat-ong", "cam-van-chan", "ba-ba-gai-van-chan"]:
        assert not gis[slug].area_units.exists(), slug


def test_the_seed_fails_loudly_when_a_listed_commune_is_missing(tmp_path):
    # given a seed file whose tea area names a commune that Văn Chấn never had
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    tea = next(row for row in data["gis"] if row["slug"] == "suoi-giang-che-shan-tuyet")
    tea["area"]["commune_names"].append("Suối Không Có")
    path = tmp_path / "gis.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    before = sorted(GeographicalIndication.objects.values_list("slug", "area_units"))

    # when it is loaded, then it refuses, naming the commune, and writes nothing
    with pytest.raises(SeedError, match="Suối Không Có"):
        gis_load(path=path)
    assert sorted(GeographicalIndication.objects.values_list("slug", "area_units")) == before


def test_anyone_lists_gis_filtering_by_kind_and_accent_free_search(api, gis):
    # given a collective mark beside the GIs, which people confuse with them
    gi_upsert(
        slug="mat-ong-van-chan",
        fields={
            "kind": GiKind.COLLECTIVE_MARK,
            "name": "Mật ong Văn Chấn",
            "product_description": "Mật ong",
            "source": "Test data.",
        },
    )

    # when an anonymous visitor lists them
    everything = api.get("/api/v1/gis/")
    search = api.get("/api/v1/gis/", {"q": "SUOI giang"})
    marks = api.get("/api/v1/gis/", {"kind": "collective_mark"})
    by_number = api.get("/api/v1/gis/", {"q": "00101"})

    # then
    assert everything.status_code == 200
    assert everything.json()["count"] == 8
    statuses = {row["slug"]: row["status"] for row in everything.json()["results"]}
    assert statuses["van-yen-que"] == GiStatus.REGISTERED
    assert statuses["ba-ba-gai-van-chan"] is None
    assert [row["slug"] for row in search.json()["results"]] == ["suoi-giang-che-shan-tuyet"]
    assert [row["name"] for row in marks.json()["results"]] == ["Mật ong Văn Chấn"]
    assert [row["slug"] for row in by_number.json()["results"]] == ["mu-cang-chai-mat-ong"]


def _queries(api, page_size):
    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/v1/gis/", {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    return len(captured)


def test_the_gi_list_costs_the_same_for_5_and_50_rows(api, gis):
    # given 50 more GIs, each with status events
    for i in range(50):
        gi, _outcome = gi_upsert(
            slug=f"test-gi-{i}",
            fields={
                "kind": GiKind.GEOGRAPHICAL_INDICATION,
                "name": f"Chỉ dẫn {i}",
                "product_description": "Chè",
                "source": "Test data.",
            },
        )
        gi.status_events.create(status=GiStatus.APPLIED)
        gi.status_events.create(status=GiStatus.REGISTERED, date="2024-01-01")

    # then 5 rows and 50 rows cost the same
    assert _queries(api, 5) == _queries(api, 50)


def test_a_gi_shows_its_area_as_listed_and_the_current_communes_it_lies_in(api, gis):
    # when an anonymous visitor opens the Suối Giàng tea GI
    body = api.get(f"/api/v1/gis/{gis['suoi-giang-che-shan-tuyet'].pk}/").json()

    # then its status history and its seven legacy communes are shown, each with the current commune it is
    # now part of, which also took in communes outside the area
    assert body["status_events"] == [{"status": "registered", "date": "2022-11-04", "note": "5346/QĐ-SHTT"}]
    area = {row["unit"]["code"]: row for row in body["area"]}
    assert set(area) == SEVEN_SUOI_GIANG_COMMUNES
    assert {row["unit"]["system"] for row in area.values()} == {"legacy"}
    assert area["04657"]["current_communes"] == [
        {"unit": area["04657"]["current_communes"][0]["unit"], "match": "partial"}
    ]
    assert area["04657"]["current_communes"][0]["unit"]["code"] == "04672"
    today = {c["unit"]["code"] for row in area.values() for c in row["current_communes"]}
    assert today == {"04636", "04651", "04672"}  # Gia Hội, Sơn Lương, Văn Chấn


def test_a_district_area_lists_its_current_communes_and_costs_the_same_as_seven_communes(api, gis):
    # given the cinnamon GI (a whole former district) and the tea GI (seven communes)
    with CaptureQueriesContext(connection) as tea_queries:
        api.get(f"/api/v1/gis/{gis['suoi-giang-che-shan-tuyet'].pk}/")
    with CaptureQueriesContext(connection) as cinnamon_queries:
        response = api.get(f"/api/v1/gis/{gis['van-yen-que'].pk}/")

    # then the district's current communes are listed, those wholly from it marked inside
    [district] = response.json()["area"]
    matches = {c["unit"]["name"]: c["match"] for c in district["current_communes"]}
    assert matches["Xã Lâm Giang"] == "inside"
    assert matches["Xã Mậu A"] == "inside"
    assert matches["Xã Mỏ Vàng"] == "partial"  # it also took in An Lương, of the former Văn Chấn district
    # and the query count does not depend on the size of the area
    assert len(cinnamon_queries) == len(tea_queries)
