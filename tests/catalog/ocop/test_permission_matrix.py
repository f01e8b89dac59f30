"""Every OCOP certificate endpoint × every kind of user, each cell asserted: one leak fails the test."""

from datetime import date

import pytest

from marketplace.accounts.models import Role
from tests.catalog.ocop.helpers import (
    a_certificate,
    a_product,
    community_team_of_van_chan,
    member_of,
    officer_of_ha_noi,
    officer_of_old_yen_bai,
)
from tests.factories import producer, user_with_role
from tests.matrix import cell_mismatch, client_for

pytestmark = pytest.mark.django_db

ACTORS = [
    "anonymous",
    "member",
    "other_member",
    "community_team",
    "officer",
    "officer_elsewhere",
    "administrator",
    "superuser",
]
# Who sees the officer's checks on a certificate they can read.
SEES_WARNINGS = {"officer", "administrator", "superuser"}


@pytest.fixture
def world():
    """A tea product of a cooperative captured in legacy Suối Giàng (04657), with an active certificate."""
    tea = producer(legal_name="Hợp tác xã Chè Suối Giàng")
    neighbour = producer(legal_name="Hợp tác xã Quế Suối Giàng")
    product = a_product(maker=tea, name="Chè Shan tuyết Suối Giàng")
    users = {
        "member": member_of(tea),
        "other_member": member_of(neighbour),
        "community_team": community_team_of_van_chan(),
        "officer": officer_of_old_yen_bai(),
        "officer_elsewhere": officer_of_ha_noi(),
        "administrator": user_with_role(Role.ADMINISTRATOR),
        "superuser": user_with_role("superuser"),
    }
    return {"product": product, "certificate": a_certificate(product=product), "users": users}


IN_SCOPE = {
    "anonymous": 401,
    "member": 200,
    "other_member": 404,
    "community_team": 200,
    "officer": 200,
    "officer_elsewhere": 404,
    "administrator": 200,
    "superuser": 200,
}


def _old_certificate(actor, world):
    # One expired certificate per actor (decided in 2020), so that no cell overlaps another's.
    return {
        "star": "3",
        "decision_number": f"{ACTORS.index(actor) + 100}/QĐ-UBND",
        "decision_date": date(2020, 1, ACTORS.index(actor) + 1).isoformat(),
        "issuing_level": "province",
        "issuing_body": "UBND tỉnh Yên Bái",
    }


# (description, method, url(world), body, {actor: expected status})
CASES = [
    (
        "a product's certificates",
        "get",
        lambda w: f"/api/v1/products/{w['product'].pk}/ocop-certificates/",
        None,
        IN_SCOPE,
    ),
    (
        "add a certificate to the product",
        "post",
        lambda w: f"/api/v1/products/{w['product'].pk}/ocop-certificates/",
        _old_certificate,
        {**IN_SCOPE, "member": 201, "community_team": 201, "officer": 201, "administrator": 201, "superuser": 201},
    ),
    (
        "certificates in reach",
        "get",
        lambda w: "/api/v1/ocop-certificates/?expiring_within_days=90",
        None,
        {actor: 401 if actor == "anonymous" else 200 for actor in ACTORS},
    ),
    (
        "one certificate",
        "get",
        lambda w: f"/api/v1/ocop-certificates/{w['certificate'].pk}/",
        None,
        IN_SCOPE,
    ),
    (
        "verify the certificate",
        "post",
        lambda w: f"/api/v1/ocop-certificates/{w['certificate'].pk}/verify/",
        {"decision": "verified"},
        {**IN_SCOPE, "member": 403, "community_team": 403},
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
            data = body(actor, world) if callable(body) else body
            response = getattr(client, method)(url(world), data, format="json")
            mismatch = cell_mismatch(response, actor=actor, description=description, expected=expected[actor])
            if mismatch:
                wrong.append(mismatch)
            elif (
                response.status_code < 400
                and "id" in response.json()
                and ("warnings" in response.json()) != (actor in SEES_WARNINGS)
            ):
                wrong.append(f"{actor} · {description}: warnings shown = {'warnings' in response.json()}")
    assert wrong == [], "\n".join(wrong)


def test_lists_show_only_what_the_detail_allows(world):
    leaks = []
    for actor in ACTORS[1:]:
        client = _client_for(actor, world)
        rows = client.get("/api/v1/ocop-certificates/").json()["results"]
        expected = [world["certificate"].pk] if IN_SCOPE[actor] == 200 else []
        if [row["id"] for row in rows] != expected:
            leaks.append(f"{actor} sees {[row['id'] for row in rows]}, expected {expected}")
    assert leaks == [], "\n".join(leaks)
