"""Role × endpoint × in-scope / out-of-scope object. Every cell is asserted; one leak fails the test.

Later issues add their endpoints to CASES (and their objects to `world`).
"""

from io import StringIO

import pytest
from django.core.management import call_command

from catalog.gis.models import GeographicalIndication
from catalog.photos.models import ProductPhoto
from catalog.services import product_create, sku_create
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level, NamedScope
from marketplace.places.services import named_scope_create
from tests.factories import UserFactory, producer, product_set, unit, user_with_role
from tests.matrix import cell_mismatch, client_for

pytestmark = pytest.mark.django_db

ACTORS = ["anonymous", "producer", "community_team", "officer", "officer_elsewhere", "administrator", "superuser"]
EVERYONE_SIGNED_IN = {a: 200 for a in ACTORS if a != "anonymous"}


@pytest.fixture
def world():
    """The actors, and objects in and out of the officer's scope."""
    old_yen_bai = unit(CodeSystem.LEGACY, Level.PROVINCE, "15")
    ha_noi = unit(CodeSystem.CURRENT, Level.PROVINCE, "01")
    users = {
        "producer": user_with_role(Role.PRODUCER_MEMBER),
        "community_team": user_with_role(Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")]),
        "officer": user_with_role(Role.OFFICER, units=[old_yen_bai]),
        "officer_elsewhere": user_with_role(Role.OFFICER, units=[ha_noi]),
        "administrator": user_with_role(Role.ADMINISTRATOR),
        "superuser": user_with_role("superuser"),
    }
    mine = named_scope_create(slug="officer-private", name="Riêng cán bộ", units=[old_yen_bai], owner=users["officer"])
    theirs = named_scope_create(
        slug="elsewhere-private", name="Riêng Hà Nội", units=[ha_noi], owner=users["officer_elsewhere"]
    )
    tea = producer(legal_name="Hợp tác xã Chè Suối Giàng")
    tea.memberships.create(user=users["producer"])
    tea_product = product_create(producer=tea, name="Chè Shan tuyết", product_set=product_set(11))
    package = sku_create(
        product=tea_product, net_quantity=500, net_unit="g", weight_grams=620, length_cm=20, width_cm=12,
        height_cm=8, price_vnd=150000,
    )  # fmt: skip
    spares = {
        actor: sku_create(
            product=tea_product, net_quantity=100, net_unit="g", weight_grams=150, length_cm=10, width_cm=6,
            height_cm=4, price_vnd=45000,
        )
        for actor in ACTORS
    }  # fmt: skip
    photo = ProductPhoto.objects.create(
        product=tea_product, role="other", original_key="photos/originals/x.jpg", sha256="0" * 64,
        original_bytes=1, original_format="JPEG",
    )  # fmt: skip
    submitted = product_create(producer=tea, name="Chè chờ duyệt", product_set=product_set(11))
    submitted.status = "submitted"
    submitted.save()
    call_command("load_gis", stdout=StringIO())
    return {
        "gi": GeographicalIndication.objects.get(slug="suoi-giang-che-shan-tuyet"),
        "photo": photo,
        "submitted": submitted,
        "spares": spares,
        "tea": tea,
        "tea_product": tea_product,
        "package": package,
        # one fresh candidate per actor for "add a member", so that no cell depends on another
        "candidates": {actor: UserFactory(username=f"candidate-{actor}") for actor in ACTORS},
        "users": users,
        "shared_scope": NamedScope.objects.get(slug="old-yen-bai"),
        "officer_scope": mine,
        "other_scope": theirs,
        "producer_assignment": users["producer"].role_assignments.get(),
    }


def _scope_payload(code_system, level, code):
    # A body per actor: each one that may create gets its own scope name, not a duplicate of the last one's.
    return lambda actor, world: {
        "name": f"Phạm vi {code} của {actor}",
        "units": [{"system": code_system, "level": level, "code": code}],
    }


# (description, method, url(world), body, {actor: expected status})
CASES = [
    ("list places", "get", lambda w: "/api/v1/places/?system=2025&level=province", None, dict.fromkeys(ACTORS, 200)),
    ("one place", "get", lambda w: "/api/v1/places/legacy/04657/", None, dict.fromkeys(ACTORS, 200)),
    ("list scopes", "get", lambda w: "/api/v1/scopes/", None, {"anonymous": 401, **EVERYONE_SIGNED_IN}),
    (
        "shared scope",
        "get",
        lambda w: f"/api/v1/scopes/{w['shared_scope'].pk}/",
        None,
        {"anonymous": 401, **EVERYONE_SIGNED_IN},
    ),
    (
        "officer's private scope",
        "get",
        lambda w: f"/api/v1/scopes/{w['officer_scope'].pk}/",
        None,
        {
            "anonymous": 401,
            "producer": 404,
            "community_team": 404,
            "officer": 200,
            "officer_elsewhere": 404,
            "administrator": 200,
            "superuser": 200,
        },
    ),
    (
        "create scope inside the officer's area",
        "post",
        lambda w: "/api/v1/scopes/",
        _scope_payload("legacy", "commune", "04657"),
        {
            "anonymous": 401,
            "producer": 403,
            "community_team": 403,
            "officer": 201,
            "officer_elsewhere": 400,
            "administrator": 201,
            "superuser": 201,
        },
    ),
    (
        "list users",
        "get",
        lambda w: "/api/v1/users/",
        None,
        {
            "anonymous": 401,
            "producer": 403,
            "community_team": 403,
            "officer": 403,
            "officer_elsewhere": 403,
            "administrator": 200,
            "superuser": 200,
        },
    ),
    (
        "one user",
        "get",
        lambda w: f"/api/v1/users/{w['users']['officer'].pk}/",
        None,
        {
            "anonymous": 401,
            "producer": 403,
            "community_team": 403,
            "officer": 403,
            "officer_elsewhere": 403,
            "administrator": 200,
            "superuser": 200,
        },
    ),
    (
        "edit a user",
        "patch",
        lambda w: f"/api/v1/users/{w['users']['producer'].pk}/",
        {"first_name": "Lò"},
        {
            "anonymous": 401,
            "producer": 403,
            "community_team": 403,
            "officer": 403,
            "officer_elsewhere": 403,
            "administrator": 200,
            "superuser": 200,
        },
    ),
    (
        "list role assignments",
        "get",
        lambda w: "/api/v1/role-assignments/",
        None,
        {
            "anonymous": 401,
            "producer": 403,
            "community_team": 403,
            "officer": 403,
            "officer_elsewhere": 403,
            "administrator": 200,
            "superuser": 200,
        },
    ),
    (
        "one role assignment",
        "get",
        lambda w: f"/api/v1/role-assignments/{w['producer_assignment'].pk}/",
        None,
        {
            "anonymous": 401,
            "producer": 403,
            "community_team": 403,
            "officer": 403,
            "officer_elsewhere": 403,
            "administrator": 200,
            "superuser": 200,
        },
    ),
]

IN_YEN_BAI = {
    "anonymous": 401,
    "producer": 200,
    "community_team": 200,
    "officer": 200,
    "officer_elsewhere": 404,
    "administrator": 200,
    "superuser": 200,
}
CASES += [
    ("list producers", "get", lambda w: "/api/v1/producers/", None, {"anonymous": 401, **EVERYONE_SIGNED_IN}),
    ("producer in old Yên Bái", "get", lambda w: f"/api/v1/producers/{w['tea'].pk}/", None, IN_YEN_BAI),
    (
        "edit producer in old Yên Bái",
        "patch",
        lambda w: f"/api/v1/producers/{w['tea'].pk}/",
        {"trade_name": "Chè Suối Giàng"},
        IN_YEN_BAI,
    ),
    (
        "members of producer in old Yên Bái",
        "get",
        lambda w: f"/api/v1/producers/{w['tea'].pk}/members/",
        None,
        IN_YEN_BAI,
    ),
    (
        "add a member to producer in old Yên Bái",
        "post",
        lambda w: f"/api/v1/producers/{w['tea'].pk}/members/",
        lambda actor, world: {"user": world["candidates"][actor].pk},
        {**IN_YEN_BAI, "producer": 403, "community_team": 403, "officer": 201, "administrator": 201, "superuser": 201},
    ),
    (
        "register a producer in legacy Suối Giàng",
        "post",
        lambda w: "/api/v1/producers/",
        lambda actor, world: {
            "kind": "cooperative",
            "legal_name": f"HTX của {actor}",
            "commune_as_captured": {"system": "legacy", "level": "commune", "code": "04657"},
        },
        {
            "anonymous": 401,
            "producer": 201,
            "community_team": 201,
            "officer": 201,
            "officer_elsewhere": 400,
            "administrator": 201,
            "superuser": 201,
        },
    ),
]

CASES += [
    ("list products", "get", lambda w: "/api/v1/products/", None, {"anonymous": 401, **EVERYONE_SIGNED_IN}),
    ("product in old Yên Bái", "get", lambda w: f"/api/v1/products/{w['tea_product'].pk}/", None, IN_YEN_BAI),
    (
        "edit product in old Yên Bái",
        "patch",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/",
        {"brand": "Suối Giàng"},
        IN_YEN_BAI,
    ),
    (
        "readiness of product in old Yên Bái",
        "get",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/readiness/",
        None,
        IN_YEN_BAI,
    ),
    (
        "packages of product in old Yên Bái",
        "get",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/skus/",
        None,
        IN_YEN_BAI,
    ),
    (
        "one package",
        "get",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/skus/{w['package'].pk}/",
        None,
        IN_YEN_BAI,
    ),
    (
        "reprice a package",
        "patch",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/skus/{w['package'].pk}/",
        {"price_vnd": 160000},
        IN_YEN_BAI,
    ),
    (
        "add a package",
        "post",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/skus/",
        {
            "net_quantity": "100",
            "net_unit": "g",
            "weight_grams": 150,
            "length_cm": 10,
            "width_cm": 6,
            "height_cm": 4,
            "price_vnd": 45000,
        },
        {**IN_YEN_BAI, "producer": 201, "community_team": 201, "officer": 201, "administrator": 201, "superuser": 201},
    ),
    (
        "add a product to the cooperative",
        "post",
        lambda w: "/api/v1/products/",
        lambda actor, world: {"producer": world["tea"].pk, "name": f"Chè của {actor}", "product_set": 11},
        {
            "anonymous": 401,
            "producer": 201,
            "community_team": 201,
            "officer": 201,
            "officer_elsewhere": 400,
            "administrator": 201,
            "superuser": 201,
        },
    ),
    (
        "approve a product",
        "patch",
        lambda w: f"/api/v1/products/{w['submitted'].pk}/",
        {"status": "approved"},
        {**IN_YEN_BAI, "producer": 403, "community_team": 403},
    ),
    (
        "delete a package",
        "delete",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/skus/{w['spares'][w['actor']].pk}/",
        None,
        {**IN_YEN_BAI, "producer": 204, "community_team": 204, "officer": 204, "administrator": 204, "superuser": 204},
    ),
    (
        "photos of product in old Yên Bái",
        "get",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/photos/",
        None,
        IN_YEN_BAI,
    ),
    ("one photo", "get", lambda w: f"/api/v1/photos/{w['photo'].pk}/", None, IN_YEN_BAI),
    ("describe a photo", "patch", lambda w: f"/api/v1/photos/{w['photo'].pk}/", {"alt_text": "Gói chè"}, IN_YEN_BAI),
    (
        "upload a photo without a file (reaches validation only in reach)",
        "post",
        lambda w: f"/api/v1/products/{w['tea_product'].pk}/photos/",
        None,
        {**IN_YEN_BAI, "producer": 400, "community_team": 400, "officer": 400, "administrator": 400, "superuser": 400},
    ),
    (
        "GI right-to-use of producer in old Yên Bái",
        "get",
        lambda w: f"/api/v1/producers/{w['tea'].pk}/gi-use-rights/",
        None,
        IN_YEN_BAI,
    ),
    (
        "record a GI right-to-use",
        "post",
        lambda w: f"/api/v1/producers/{w['tea'].pk}/gi-use-rights/",
        lambda actor, world: {
            "gi": world["gi"].pk,
            "number": f"{actor}/QĐ-UBND",
            "issued_by": "UBND tỉnh",
            "valid_from": "2024-01-01",
        },
        {**IN_YEN_BAI, "producer": 403, "community_team": 403, "officer": 201, "administrator": 201, "superuser": 201},
    ),
    ("product sets (public reference)", "get", lambda w: "/api/v1/product-sets/", None, dict.fromkeys(ACTORS, 200)),
]

# Who sees which private scope in the list: what a list shows must match what a detail allows.
LIST_VISIBILITY = {
    "producer": set(),
    "community_team": set(),
    "officer": {"officer-private"},
    "officer_elsewhere": {"elsewhere-private"},
    "administrator": {"officer-private", "elsewhere-private"},
    "superuser": {"officer-private", "elsewhere-private"},
}


def _client_for(actor, world):
    return client_for(None if actor == "anonymous" else world["users"][actor])


def test_permission_matrix(world):
    assert {a for _d, _m, _u, _b, expected in CASES for a in expected} == set(ACTORS)
    wrong = []
    for actor in ACTORS:
        client = _client_for(actor, world)
        world["actor"] = actor
        for description, method, url, body, expected in CASES:
            if description == "approve a product":  # each cell starts from a submitted product
                world["submitted"].__class__.objects.filter(pk=world["submitted"].pk).update(status="submitted")
            data = body(actor, world) if callable(body) else body
            response = getattr(client, method)(url(world), data, format="json")
            mismatch = cell_mismatch(response, actor=actor, description=description, expected=expected[actor])
            if mismatch:
                wrong.append(mismatch)
    assert wrong == [], "\n".join(wrong)


def test_lists_show_only_what_the_detail_allows(world):
    leaks = []
    for actor, visible in LIST_VISIBILITY.items():
        client = _client_for(actor, world)
        slugs = {row["slug"] for row in client.get("/api/v1/scopes/", {"page_size": 200}).json()["results"]}
        private = slugs & {"officer-private", "elsewhere-private"}
        if private != visible:
            leaks.append(f"{actor} sees {sorted(private)}, expected {sorted(visible)}")
        if "old-yen-bai" not in slugs:
            leaks.append(f"{actor} does not see the shared scope")
    assert leaks == [], "\n".join(leaks)
