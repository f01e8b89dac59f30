"""Role × document endpoint, for a producer in legacy Suối Giàng (old Yên Bái). Every cell is asserted."""

import pytest

from catalog.documents.services import document_create
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.catalog.documents.samples import pdf_bytes, product_of, upload
from tests.factories import producer, unit, user_with_role
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


@pytest.fixture
def world():
    users = {
        "member": user_with_role(Role.PRODUCER_MEMBER),
        "other_member": user_with_role(Role.PRODUCER_MEMBER),
        "community_team": user_with_role(Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")]),
        "officer": user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]),
        "officer_elsewhere": user_with_role(Role.OFFICER, units=[unit(CodeSystem.CURRENT, Level.PROVINCE, "01")]),
        "administrator": user_with_role(Role.ADMINISTRATOR),
        "superuser": user_with_role("superuser"),
    }
    tea = producer(legal_name="Hợp tác xã Chè Suối Giàng")
    tea.memberships.create(user=users["member"])
    producer(legal_name="Hợp tác xã khác").memberships.create(user=users["other_member"])
    tea_leaves = product_of(tea)

    def paper(doc_type, text, product=None):
        return document_create(producer=tea, product=product, doc_type=doc_type, file=upload(pdf_bytes(text)))

    return {
        "tea": tea,
        "product": tea_leaves,
        "certificate": paper("vietgap", "certificate"),
        "report": paper("test_report", "report", product=tea_leaves),
        # one document per actor to delete, so that no cell depends on another
        "doomed": {actor: paper("other", f"doomed {actor}") for actor in ACTORS},
        "users": users,
    }


def _upload(doc_type):
    return lambda actor, world: {"doc_type": doc_type, "number": f"{actor}-1", "file": upload(pdf_bytes(actor))}


IN_REACH = {
    "anonymous": 401,
    "member": 200,
    "other_member": 404,
    "community_team": 200,
    "officer": 200,
    "officer_elsewhere": 404,
    "administrator": 200,
    "superuser": 200,
}
CREATED = {actor: 201 if status == 200 else status for actor, status in IN_REACH.items()}
DELETED = {actor: 204 if status == 200 else status for actor, status in IN_REACH.items()}

# (description, method, url(world, actor), body, {actor: expected status})
CASES = [
    (
        "list the producer's documents",
        "get",
        lambda w, a: f"/api/v1/producers/{w['tea'].pk}/documents/",
        None,
        IN_REACH,
    ),
    (
        "upload a producer document",
        "post",
        lambda w, a: f"/api/v1/producers/{w['tea'].pk}/documents/",
        _upload("food_safety_self_declaration"),
        CREATED,
    ),
    (
        "list the product's documents",
        "get",
        lambda w, a: f"/api/v1/products/{w['product'].pk}/documents/",
        None,
        IN_REACH,
    ),
    (
        "upload a product document",
        "post",
        lambda w, a: f"/api/v1/products/{w['product'].pk}/documents/",
        _upload("test_report"),
        CREATED,
    ),
    ("a producer document", "get", lambda w, a: f"/api/v1/documents/{w['certificate'].pk}/", None, IN_REACH),
    ("a product document", "get", lambda w, a: f"/api/v1/documents/{w['report'].pk}/", None, IN_REACH),
    (
        "a producer document's file",
        "get",
        lambda w, a: f"/api/v1/documents/{w['certificate'].pk}/file/",
        None,
        IN_REACH,
    ),
    ("a product document's file", "get", lambda w, a: f"/api/v1/documents/{w['report'].pk}/file/", None, IN_REACH),
    ("delete a document", "delete", lambda w, a: f"/api/v1/documents/{w['doomed'][a].pk}/", None, DELETED),
]


def _client_for(actor, world):
    return client_for(None if actor == "anonymous" else world["users"][actor])


def test_document_permission_matrix(world):
    assert all(set(expected) == set(ACTORS) for *_rest, expected in CASES)
    wrong = []
    for actor in ACTORS:
        client = _client_for(actor, world)
        for description, method, url, body, expected in CASES:
            data = body(actor, world) if callable(body) else body
            response = getattr(client, method)(url(world, actor), data, format="multipart" if data else None)
            mismatch = cell_mismatch(response, actor=actor, description=description, expected=expected[actor])
            if mismatch:
                wrong.append(mismatch)
    assert wrong == [], "\n".join(wrong)


def test_lists_show_the_same_documents_as_the_details_allow(world):
    leaks = []
    for actor in ACTORS:
        if IN_REACH[actor] != 200:
            continue
        listed = _client_for(actor, world).get(f"/api/v1/producers/{world['tea'].pk}/documents/", {"page_size": 200})
        if listed.json()["count"] != 2 + len(ACTORS):
            leaks.append(f"{actor} sees {listed.json()['count']} documents")
    assert leaks == [], "\n".join(leaks)
