from datetime import date

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.gis.models import AreaMatch, GiClaim, GiClaimStatus, GiKind, GiUseRight
from catalog.gis.selectors import gi_area_match
from catalog.gis.services import gi_claim_create, gi_upsert
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.catalog.gis.conftest import current_commune, legacy_commune
from tests.factories import producer, unit, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return user_with_role(Role.PRODUCER_MEMBER)


def _claim(api, product, gi):
    return api.post(f"/api/v1/products/{product.pk}/gi-claims/", {"gi": gi.pk}, format="json")


def test_a_producer_captured_in_legacy_suoi_giang_may_claim_suoi_giang_tea(api, login, gis, make_product, member):
    # given a tea cooperative whose address was captured in legacy Suối Giàng, and its member signed in
    cooperative = producer(legal_name="Hợp tác xã Chè Suối Giàng", commune_as_captured=legacy_commune("04657"))
    cooperative.memberships.create(user=member)
    tea = make_product(cooperative)
    login(member)

    # when they claim the Suối Giàng tea GI
    response = _claim(api, tea, gis["suoi-giang-che-shan-tuyet"])

    # then it is eligible at once
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "eligible"
    assert body["area_match"] == "inside"
    assert (body["checked_commune"]["system"], body["checked_commune"]["code"]) == ("legacy", "04657")
    assert "Suối Giàng" in body["explanation"]
    assert body["use_right"] is None


def test_a_producer_in_current_van_chan_commune_gets_pending_verification_naming_the_communes(
    api, login, gis, make_product, member
):
    # given a producer registered with today's address, Xã Văn Chấn, which only partly overlaps the area
    cooperative = producer(commune_as_captured=current_commune("04672"))
    cooperative.memberships.create(user=member)
    login(member)

    # when they claim the Suối Giàng tea GI
    response = _claim(api, make_product(cooperative), gis["suoi-giang-che-shan-tuyet"])

    # then an officer must confirm, and the explanation says why, commune by commune
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending_verification"
    assert body["area_match"] == "partial"
    for name in ["Xã Văn Chấn", "Suối Giàng", "Suối Bu", "Sơn Thịnh", "Đồng Khê"]:
        assert name in body["explanation"], name
    assert body["explanation"].index("Suối Bu") < body["explanation"].index("Sơn Thịnh")  # inside, then outside


def test_a_producer_far_away_is_refused_naming_the_gi(api, login, gis, make_product, member):
    # given a producer in Phường Ba Đình, Hà Nội
    far = producer(commune_as_captured=current_commune("00004"))
    far.memberships.create(user=member)
    product = make_product(far)
    login(member)

    # when they claim the Suối Giàng tea GI
    response = _claim(api, product, gis["suoi-giang-che-shan-tuyet"])

    # then it is refused, with the reason on the gi field, and nothing is stored
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["gi"]
    assert "Phường Ba Đình" in response.json()["fields"]["gi"][0]
    assert not GiClaim.objects.exists()


def test_van_yen_cinnamon_for_a_producer_captured_in_a_legacy_commune_of_van_yen(api, login, gis, make_product):
    # given a cinnamon producer captured in legacy Lang Thíp, a commune of the former Văn Yên district
    cinnamon = make_product(producer(commune_as_captured=legacy_commune("04378")), name="Quế Văn Yên")
    login(user_with_role("superuser"))

    # when the Văn Yên GI is claimed for it
    response = _claim(api, cinnamon, gis["van-yen-que"])

    # then it is eligible
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "eligible"


def test_a_product_origin_or_a_producer_address_inside_the_area_may_claim(gis, make_product):
    # given a Hà Nội company whose tea comes from legacy Suối Giàng, and a Suối Giàng cooperative whose
    # product's origin was given as today's Xã Văn Chấn
    from_ha_noi = make_product(
        producer(commune_as_captured=current_commune("00004")), origin_commune=legacy_commune("04657")
    )
    from_van_chan = make_product(producer(), origin_commune=current_commune("04672"))

    # when both claim the tea GI
    first = gi_claim_create(product=from_ha_noi, gi=gis["suoi-giang-che-shan-tuyet"])
    second = gi_claim_create(product=from_van_chan, gi=gis["suoi-giang-che-shan-tuyet"])

    # then each is eligible through whichever of the two lies inside the area, and the claim says which
    assert (first.status, first.checked_commune.code) == (GiClaimStatus.ELIGIBLE, "04657")
    assert (second.status, second.checked_commune.code) == (GiClaimStatus.ELIGIBLE, "04657")
    # while a Hà Nội company stating Xã Văn Chấn as origin only reaches "pending verification"
    partly = make_product(
        producer(commune_as_captured=current_commune("00004")), origin_commune=current_commune("04672")
    )
    third = gi_claim_create(product=partly, gi=gis["suoi-giang-che-shan-tuyet"])
    assert (third.status, third.checked_commune.code) == (GiClaimStatus.PENDING_VERIFICATION, "04672")


def test_a_gi_is_claimed_once_per_product(api, login, gis, make_product):
    tea = make_product(producer())
    login(user_with_role("superuser"))
    assert _claim(api, tea, gis["suoi-giang-che-shan-tuyet"]).status_code == 201

    again = _claim(api, tea, gis["suoi-giang-che-shan-tuyet"])

    assert again.status_code == 400
    assert again.json()["code"] == "duplicate"
    assert list(again.json()["fields"]) == ["gi"]
    assert GiClaim.objects.count() == 1


def test_a_gi_whose_area_is_not_recorded_goes_to_an_officer(gis, make_product):
    claim = gi_claim_create(product=make_product(producer(), name="Gạo nếp Tú Lệ"), gi=gis["tu-le-gao-nep"])

    assert claim.status == GiClaimStatus.PENDING_VERIFICATION
    assert "Tú Lệ" in claim.explanation


def test_a_collective_mark_is_not_claimed_as_a_gi(api, login, gis, make_product):
    honey_mark, _outcome = gi_upsert(
        slug="mat-ong-van-chan",
        fields={
            "kind": GiKind.COLLECTIVE_MARK,
            "name": "Mật ong Văn Chấn",
            "product_description": "Mật ong",
            "source": "Test data.",
        },
    )
    login(user_with_role("superuser"))

    response = _claim(api, make_product(producer(), name="Mật ong"), honey_mark)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["gi"]


def test_unknown_fields_and_unknown_gis_are_refused(api, login, gis, make_product):
    tea = make_product(producer())
    login(user_with_role("superuser"))

    unknown_field = api.post(f"/api/v1/products/{tea.pk}/gi-claims/", {"gi": 1, "status": "verified"}, format="json")
    unknown_gi = api.post(f"/api/v1/products/{tea.pk}/gi-claims/", {"gi": 999999}, format="json")

    assert unknown_field.status_code == 400
    assert "status" in unknown_field.json()["fields"]
    assert unknown_gi.status_code == 400
    assert list(unknown_gi.json()["fields"]) == ["gi"]


def test_a_commune_formed_from_a_split_commune_is_at_most_partial(gis):
    # given a GI whose area is the whole former Như Thanh district (Thanh Hóa); today's Xã Thanh Kỳ was formed
    # from all of legacy Thanh Kỳ and the part of legacy Thanh Tân that was split, both of that district
    gi, _outcome = gi_upsert(
        slug="test-nhu-thanh",
        fields={
            "kind": GiKind.GEOGRAPHICAL_INDICATION,
            "name": "Như Thanh",
            "product_description": "Thử",
            "source": "Test data.",
        },
        area_units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "403")],
    )

    # when today's Xã Thanh Kỳ is checked
    match, explanation = gi_area_match(gi=gi, unit=current_commune("16273"))

    # then an officer must confirm, because which part of Thanh Tân went where is not in the data
    assert match == AreaMatch.PARTIAL
    assert "Thanh Tân" in explanation


def test_a_current_commune_formed_only_from_area_communes_is_inside(gis):
    # Xã Lâm Giang was formed from legacy Lâm Giang and Lang Thíp, both of the former Văn Yên district
    match, explanation = gi_area_match(gi=gis["van-yen-que"], unit=current_commune("04381"))

    assert match == AreaMatch.INSIDE
    assert "Lang Thíp" in explanation


@pytest.fixture
def pending(gis, make_product):
    """A pending claim of a producer captured in today's Xã Văn Chấn (old Yên Bái)."""
    product = make_product(producer(commune_as_captured=current_commune("04672")))
    return gi_claim_create(product=product, gi=gis["suoi-giang-che-shan-tuyet"])


@pytest.fixture
def officer():
    return user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])


def _verify(api, claim, body):
    return api.post(f"/api/v1/gi-claims/{claim.pk}/verify/", body, format="json")


def test_an_officer_in_scope_verifies_a_pending_claim(api, login, pending, officer):
    login(officer)

    response = _verify(api, pending, {"decision": "verified"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified"
    assert response.json()["decided_by"] == officer.username
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.decided_at is not None) == ("verified", officer, True)
    assert LogEntry.objects.get_for_object(pending).latest("timestamp").actor == officer


def test_a_rejection_needs_a_reason(api, login, pending, officer):
    login(officer)

    without = _verify(api, pending, {"decision": "rejected"})
    blank = _verify(api, pending, {"decision": "rejected", "reason": "   "})
    with_reason = _verify(api, pending, {"decision": "rejected", "reason": "Đồi chè ở Sơn Thịnh, ngoài vùng."})

    assert without.status_code == blank.status_code == 400
    assert list(without.json()["fields"]) == ["reason"]
    assert with_reason.status_code == 200
    assert with_reason.json()["status"] == "rejected"
    assert with_reason.json()["reason"] == "Đồi chè ở Sơn Thịnh, ngoài vùng."


def test_a_decided_claim_stays_decided(api, login, pending, officer):
    login(officer)
    assert _verify(api, pending, {"decision": "verified"}).status_code == 200

    again = _verify(api, pending, {"decision": "rejected", "reason": "Đổi ý"})

    assert again.status_code == 400
    assert again.json()["code"] == "already_decided"


def test_a_community_team_sees_but_cannot_decide_and_an_officer_elsewhere_cannot_see(api, login, pending):
    team = user_with_role(Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")])
    elsewhere = user_with_role(Role.OFFICER, units=[unit(CodeSystem.CURRENT, Level.PROVINCE, "01")])

    login(team)
    by_team = _verify(api, pending, {"decision": "verified"})
    login(elsewhere)
    by_elsewhere = _verify(api, pending, {"decision": "verified"})

    assert by_team.status_code == 403
    assert by_elsewhere.status_code == 404
    pending.refresh_from_db()
    assert pending.status == GiClaimStatus.PENDING_VERIFICATION


def test_the_claims_list_shows_the_right_to_use_and_costs_the_same_for_1_and_6_claims(api, login, gis, make_product):
    # given a cooperative holding the right to use the tea GI, with one product claiming one GI and another
    # claiming six
    cooperative = producer()
    GiUseRight.objects.create(
        producer=cooperative,
        gi=gis["suoi-giang-che-shan-tuyet"],
        number="TEST-01/2024",
        issued_by="Sở Khoa học và Công nghệ",
        valid_from=date(2024, 1, 1),
    )
    one, six = make_product(cooperative, name="Chè búp"), make_product(cooperative, name="Chè xanh")
    gi_claim_create(product=one, gi=gis["suoi-giang-che-shan-tuyet"])
    for slug in ["suoi-giang-che-shan-tuyet", "tu-le-gao-nep", "mu-cang-chai-mat-ong", "cam-van-chan",
                 "muong-lo-gao", "ba-ba-gai-van-chan"]:  # fmt: skip
        gi_claim_create(product=six, gi=gis[slug])
    login(user_with_role("superuser"))

    # when their claims are listed
    counts = {}
    bodies = {}
    for product in (one, six):
        with CaptureQueriesContext(connection) as captured:
            response = api.get(f"/api/v1/products/{product.pk}/gi-claims/")
        assert response.status_code == 200
        counts[product.name], bodies[product.name] = len(captured), response.json()["results"]

    # then the right to use is shown on the tea claim, and six claims cost no more queries than one
    assert len(bodies["Chè xanh"]) == 6
    tea_claim = next(c for c in bodies["Chè xanh"] if c["gi"]["slug"] == "suoi-giang-che-shan-tuyet")
    assert tea_claim["use_right"]["number"] == "TEST-01/2024"
    assert counts["Chè búp"] == counts["Chè xanh"]


def test_the_product_list_filters_on_gi_claims(api, login):
    from catalog.gis.models import GeographicalIndication
    from catalog.gis.services import gi_claim_create
    from catalog.services import product_create
    from tests.factories import producer, product_set, user_with_role

    # given a tea claimed under the Suối Giàng GI and another product without a claim
    maker = producer(legal_name="HTX Chè cổ thụ")
    tea = product_create(producer=maker, name="Chè cổ thụ", product_set=product_set(11))
    honey = product_create(producer=maker, name="Mật ong rừng", product_set=product_set(4))
    gi_claim_create(product=tea, gi=GeographicalIndication.objects.get(slug="suoi-giang-che-shan-tuyet"))
    login(user_with_role("superuser"))

    # then has_gi splits them
    assert [p["id"] for p in api.get("/api/v1/products/", {"has_gi": "true"}).json()["results"]] == [tea.pk]
    assert [p["id"] for p in api.get("/api/v1/products/", {"has_gi": "false"}).json()["results"]] == [honey.pk]
