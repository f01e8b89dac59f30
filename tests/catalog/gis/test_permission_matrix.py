"""Every GI endpoint × every actor; every cell is asserted, and one leak fails the test."""

import pytest

from catalog.gis.services import gi_claim_create
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.catalog.gis.conftest import current_commune
from tests.factories import producer, unit, user_with_role
from tests.matrix import cell_mismatch, client_for

pytestmark = pytest.mark.django_db

ACTORS = [
    "anonymous",
    "producer",
    "other_producer",
    "community_team",
    "officer",
    "officer_elsewhere",
    "administrator",
    "superuser",
]


@pytest.fixture
def world(gis, make_product):
    """A tea cooperative in old Yên Bái (captured in legacy Suối Giàng) and, per actor, a fresh product to
    claim with and a pending claim to decide, so that no cell depends on another."""
    users = {
        "producer": user_with_role(Role.PRODUCER_MEMBER),
        "other_producer": user_with_role(Role.PRODUCER_MEMBER),
        "community_team": user_with_role(Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")]),
        "officer": user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]),
        "officer_elsewhere": user_with_role(Role.OFFICER, units=[unit(CodeSystem.CURRENT, Level.PROVINCE, "01")]),
        "administrator": user_with_role(Role.ADMINISTRATOR),
        "superuser": user_with_role("superuser"),
    }
    tea = producer(legal_name="Hợp tác xã Chè Suối Giàng")
    tea.memberships.create(user=users["producer"])
    elsewhere = producer(legal_name="Hợp tác xã Ba Đình", commune_as_captured=current_commune("00004"))
    elsewhere.memberships.create(user=users["other_producer"])
    suoi_giang = gis["suoi-giang-che-shan-tuyet"]
    listed = make_product(tea, name="Chè búp")
    gi_claim_create(product=listed, gi=suoi_giang)
    to_decide = {
        actor: gi_claim_create(
            product=make_product(tea, name=f"Chè của {actor}", origin_commune=current_commune("04672")), gi=suoi_giang
        )
        for actor in ACTORS
    }
    return {
        "users": users,
        "gi": suoi_giang,
        "listed": listed,
        "to_claim": {actor: make_product(tea, name=f"Chè mới của {actor}") for actor in ACTORS},
        "to_decide": to_decide,
    }


IN_AREA = {
    "anonymous": 401,
    "producer": 200,
    "other_producer": 404,
    "community_team": 200,
    "officer": 200,
    "officer_elsewhere": 404,
    "administrator": 200,
    "superuser": 200,
}

# (description, method, url(actor, world), body(actor, world), {actor: expected status})
CASES = [
    ("list GIs", "get", lambda a, w: "/api/v1/gis/", None, dict.fromkeys(ACTORS, 200)),
    ("one GI", "get", lambda a, w: f"/api/v1/gis/{w['gi'].pk}/", None, dict.fromkeys(ACTORS, 200)),
    ("GI claims of a product", "get", lambda a, w: f"/api/v1/products/{w['listed'].pk}/gi-claims/", None, IN_AREA),
    (
        "claim a GI for a product",
        "post",
        lambda a, w: f"/api/v1/products/{w['to_claim'][a].pk}/gi-claims/",
        lambda a, w: {"gi": w["gi"].pk},
        {**IN_AREA, "producer": 201, "community_team": 201, "officer": 201, "administrator": 201, "superuser": 201},
    ),
    (
        "verify a pending claim",
        "post",
        lambda a, w: f"/api/v1/gi-claims/{w['to_decide'][a].pk}/verify/",
        lambda a, w: {"decision": "verified"},
        {**IN_AREA, "producer": 403, "community_team": 403},
    ),
]


def _client_for(actor, world):
    return client_for(None if actor == "anonymous" else world["users"][actor])


def test_permission_matrix(world):
    assert all(set(expected) == set(ACTORS) for *_rest, expected in CASES)
    wrong = []
    for actor in ACTORS:
        client = _client_for(actor, world)
        for description, method, url, body, expected in CASES:
            data = body(actor, world) if body else None
            response = getattr(client, method)(url(actor, world), data, format="json")
            mismatch = cell_mismatch(response, actor=actor, description=description, expected=expected[actor])
            if mismatch:
                wrong.append(mismatch)
    assert wrong == [], "\n".join(wrong)


def test_a_claims_list_shows_only_the_claims_of_that_product(world):
    # Claims of other products of the same producer never leak into a product's list.
    client = _client_for("superuser", world)

    rows = client.get(f"/api/v1/products/{world['listed'].pk}/gi-claims/").json()["results"]

    assert [row["product"] for row in rows] == [world["listed"].pk]
