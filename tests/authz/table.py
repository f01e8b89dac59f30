"""THE authorisation matrix: one row per (route, method, object), with the answer each actor must get.

Objects come in two sides: `in` is inside the officer's area (a household of old Yên Bái that `member` belongs
to), `out` is outside it (a household of Hà Nội, the area of `officer_elsewhere`). A row without an object has
the side `-`. The rules the helpers encode (marketplace/accounts/scoping.py):

- an object outside your reach is 404, never 403 (a 403 would tell that it exists);
- an action your role may not take on an object you can see is 403 (API) or a refusal page (web);
- anonymous: 401 on the API; a redirect to /dang-nhap/ on the signed-in pages;
- every API refusal is in the one error shape (tests/matrix.py checks it).

URLs are templates: `{producer}` is the pk of that side's producer, `{spare.sku}` the pk of this actor's own
spare package on that side (for cells that destroy or change their object). Expected values: an HTTP status,
or LOGIN / CHOOSE / ADMIN_LOGIN for a redirect to the sign-in page, the wizard's producer choice or the admin's
sign-in page. tests/authz/test_completeness.py fails when a route or a method has no row here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.authz.world import ACTORS

# The table is laid out by hand, as a table: the formatter leaves it alone.
# fmt: off
LOGIN, CHOOSE, ADMIN_LOGIN = "→/dang-nhap/", "→/nha-san-xuat/chon/", "→/admin/login/"
SIGNED_IN = [a for a in ACTORS if a != "anonymous"]


@dataclass(frozen=True)
class Row:
    route: str  # the URL pattern's name (namespaced for the wizard), or the pattern itself when unnamed
    method: str
    url: str
    expect: dict  # {side: {actor: expected}}
    what: str = ""
    body: dict | None = None
    page: bool = False  # a web page (session, HTML) rather than the API (token, JSON)
    actors: tuple = tuple(ACTORS)  # a few actor-blind rows run for fewer actors to bound the time
    extra: dict = field(default_factory=dict)  # request headers
    format: str = "json"  # how the API body is sent: json or multipart


def everyone(status, *, anonymous=None) -> dict:
    """No object: the same answer for every signed-in actor (and `anonymous`, 401 on the API by default)."""
    return {"-": {"anonymous": 401 if anonymous is None else anonymous, **dict.fromkeys(SIGNED_IN, status)}}


def only(allowed: dict, *, refused=403, anonymous=401) -> dict:
    """No object: `allowed` actors get their status, every other signed-in actor `refused`."""
    return {"-": {"anonymous": anonymous, **{a: allowed.get(a, refused) for a in SIGNED_IN}}}


def scoped(ok, *, denied=(), refused=403, anonymous=401, out_ok=None, role_first=False) -> dict:
    """The common rule for an object: inside the area, members, community teams, officers and administrators
    reach it, the officer of elsewhere gets 404; outside, only the officer of elsewhere and administrators
    reach it. `denied` roles see the object but may not do this (`refused`); with `role_first`, the role is
    refused before any object is looked up, so they get `refused` on both sides (which reveals nothing: the
    answer is the same for every object). Administrators by role and superusers reach every object except where
    a row says otherwise."""
    inside = {"anonymous": anonymous, "member": ok, "community_team": ok, "officer": ok, "officer_elsewhere": 404,
              "administrator": ok, "superuser": ok}
    for actor in denied:
        inside[actor] = refused
    outside = {"anonymous": anonymous, "member": 404, "community_team": 404, "officer": 404,
               "officer_elsewhere": inside["officer"], "administrator": inside["administrator"],
               "superuser": inside["superuser"]}
    if role_first:
        outside.update(dict.fromkeys(denied, refused))
    if out_ok is not None:
        outside.update(out_ok)
    return {"in": inside, "out": outside}


def public(status_in, status_out=None) -> dict:
    """A public page or endpoint: the same for everyone, signed in or not."""
    sides = {"in": status_in} if status_out is None else {"in": status_in, "out": status_out}
    return {side: dict.fromkeys(ACTORS, status) for side, status in sides.items()}


def pages(ok, *, anonymous=LOGIN, **per_actor) -> dict:
    """A signed-in page without an object: `ok` for every signed-in actor but those named."""
    return {"-": {"anonymous": anonymous, **{a: per_actor.get(a, ok) for a in SIGNED_IN}}}


OFFICERS = {"officer": 200, "officer_elsewhere": 200, "administrator": 200, "superuser": 200}
ADMINS = {"administrator": 200, "superuser": 200}
API = "/api/v1"

ROWS: list[Row] = [
    # ---------------------------------------------------------------- probes, sign-in, docs, the catch-all
    Row("healthz", "get", "/healthz", public(200), actors=("anonymous", "member")),
    Row("readyz", "get", "/readyz", public(200), actors=("anonymous", "member")),
    Row("favicon", "get", "/favicon.ico", public("→/static/"), page=True, actors=("anonymous", "member")),
    Row("auth-token", "post", f"{API}/auth/token/", everyone(400, anonymous=400), "no credentials"),
    Row("schema", "get", f"{API}/schema/?format=json", public(200), actors=("anonymous", "member")),
    Row("docs", "get", f"{API}/docs/", public(200), page=True, actors=("anonymous", "member")),
    *[
        Row("^api/", method, f"{API}/nothing-here/", public(404), "unknown API route", actors=("anonymous", "member"))
        for method in ("get", "post", "put", "patch", "delete")
    ],
    # ---------------------------------------------------------------- places and scopes
    Row("place-list", "get", f"{API}/places/?system=2025&level=province", public(200)),
    Row("place-detail", "get", f"{API}/places/legacy/04657/", public(200)),
    Row("scope-list", "get", f"{API}/scopes/", everyone(200)),
    Row("scope-list", "post", f"{API}/scopes/", only({"officer": 400, "officer_elsewhere": 400, "administrator": 400,
        "superuser": 400}), "empty body", body={}),
    Row("scope-detail", "get", f"{API}/scopes/{{scope}}/", {
        "in": {"anonymous": 401, "member": 404, "community_team": 404, "officer": 200, "officer_elsewhere": 404,
               "administrator": 200, "superuser": 200},
        "out": {"anonymous": 401, "member": 404, "community_team": 404, "officer": 404, "officer_elsewhere": 200,
                "administrator": 200, "superuser": 200},
    }, "a private scope"),
    # ---------------------------------------------------------------- users and role assignments
    Row("user-list", "get", f"{API}/users/", only(ADMINS)),
    Row("user-list", "post", f"{API}/users/", only({"administrator": 400, "superuser": 400}), "empty body", body={}),
    Row("user-detail", "get", f"{API}/users/{{user}}/", {
        "in": only(ADMINS)["-"],
        "out": only({"superuser": 200, "administrator": 404})["-"],
    }, "in: a member; out: a superuser"),
    Row("user-detail", "patch", f"{API}/users/{{user}}/", {
        "in": only(ADMINS)["-"],
        "out": only({"superuser": 200, "administrator": 404})["-"],
    }, body={"first_name": "Lò"}),
    Row("role-assignment-list", "get", f"{API}/role-assignments/", only(ADMINS)),
    Row("role-assignment-list", "post", f"{API}/role-assignments/",
        only({"administrator": 400, "superuser": 400}), "empty body", body={}),
    Row("role-assignment-detail", "get", f"{API}/role-assignments/{{assignments.officer}}/", {
        "in": only(ADMINS)["-"],
        "out": only({"superuser": 200, "administrator": 404})["-"],
    }, "out: a superuser's"),
    Row("role-assignment-detail", "delete", f"{API}/role-assignments/{{assignment}}/", {
        "in": only({"administrator": 204, "superuser": 204})["-"],
        "out": only({"superuser": 204, "administrator": 404})["-"],
    }, "each actor its own"),
    # ---------------------------------------------------------------- producers and products
    Row("producer-list", "get", f"{API}/producers/", everyone(200)),
    Row("producer-list", "post", f"{API}/producers/", only(
        {"member": 400, "community_team": 400, "officer": 400, "officer_elsewhere": 400, "administrator": 400,
         "superuser": 400}), "empty body", body={}),
    Row("producer-detail", "get", f"{API}/producers/{{producer}}/", scoped(200)),
    Row("producer-detail", "patch", f"{API}/producers/{{producer}}/", scoped(200), body={"trade_name": "Mật ong"}),
    Row("producer-members", "get", f"{API}/producers/{{producer}}/members/", scoped(200)),
    Row("producer-members", "post", f"{API}/producers/{{producer}}/members/",
        scoped(400, denied=("member", "community_team")), "empty body", body={}),
    Row("product-set-list", "get", f"{API}/product-sets/", public(200)),
    Row("product-list", "get", f"{API}/products/", everyone(200)),
    Row("product-list", "post", f"{API}/products/", everyone(400), "empty body", body={}),
    Row("product-detail", "get", f"{API}/products/{{product}}/", scoped(200)),
    Row("product-detail", "patch", f"{API}/products/{{product}}/", scoped(200), body={"brand": "Suối Giàng"}),
    Row("product-readiness", "get", f"{API}/products/{{product}}/readiness/", scoped(200)),
    Row("sku-list", "get", f"{API}/products/{{product}}/skus/", scoped(200)),
    Row("sku-list", "post", f"{API}/products/{{product}}/skus/", scoped(400), "empty body", body={}),
    Row("sku-detail", "get", f"{API}/products/{{product}}/skus/{{package}}/", scoped(200)),
    Row("sku-detail", "patch", f"{API}/products/{{product}}/skus/{{package}}/", scoped(200), body={"stock": 40}),
    Row("sku-detail", "delete", f"{API}/products/{{product}}/skus/{{spare.sku}}/", scoped(204)),
    Row("sku-detail", "delete", f"{API}/products/{{product}}/skus/{{package}}/", scoped(409), "a listed package"),
    # ---------------------------------------------------------------- documents, certificates, GIs, photos
    Row("producer-documents", "get", f"{API}/producers/{{producer}}/documents/", scoped(200)),
    Row("producer-documents", "post", f"{API}/producers/{{producer}}/documents/", scoped(400), "no file",
        body={}, format="multipart"),
    Row("product-documents", "get", f"{API}/products/{{product}}/documents/", scoped(200)),
    Row("product-documents", "post", f"{API}/products/{{product}}/documents/", scoped(400), "no file", body={},
        format="multipart"),
    Row("document-detail", "get", f"{API}/documents/{{document}}/", scoped(200)),
    Row("document-detail", "delete", f"{API}/documents/{{spare.document}}/", scoped(204)),
    Row("document-file", "get", f"{API}/documents/{{document}}/file/", scoped(200)),
    Row("product-ocop-certificates", "get", f"{API}/products/{{product}}/ocop-certificates/", scoped(200)),
    Row("product-ocop-certificates", "post", f"{API}/products/{{product}}/ocop-certificates/", scoped(400),
        "empty body", body={}),
    Row("ocop-certificate-list", "get", f"{API}/ocop-certificates/", everyone(200)),
    Row("ocop-certificate-detail", "get", f"{API}/ocop-certificates/{{certificate}}/", scoped(200)),
    Row("ocop-certificate-scan", "get", f"{API}/ocop-certificates/{{certificate}}/scan/", scoped(200)),
    Row("ocop-certificate-verify", "post", f"{API}/ocop-certificates/{{certificate}}/verify/",
        scoped(400, denied=("member", "community_team")), "empty body", body={}),
    Row("gi-list", "get", f"{API}/gis/", public(200)),
    Row("gi-detail", "get", f"{API}/gis/{{gi}}/", public(200)),
    Row("product-gi-claims", "get", f"{API}/products/{{draft}}/gi-claims/", scoped(200)),
    Row("product-gi-claims", "post", f"{API}/products/{{draft}}/gi-claims/", scoped(400), "empty body", body={}),
    Row("gi-claim-verify", "post", f"{API}/gi-claims/{{claim}}/verify/",
        scoped(400, denied=("member", "community_team")), "empty body", body={}),
    Row("producer-gi-use-rights", "get", f"{API}/producers/{{producer}}/gi-use-rights/", scoped(200)),
    Row("producer-gi-use-rights", "post", f"{API}/producers/{{producer}}/gi-use-rights/",
        scoped(400, denied=("member", "community_team")), "empty body", body={}),
    Row("product-photos", "get", f"{API}/products/{{draft}}/photos/", scoped(200)),
    Row("product-photos", "post", f"{API}/products/{{draft}}/photos/", scoped(400), "no file", body={},
        format="multipart"),
    Row("photo-detail", "get", f"{API}/photos/{{draft_photo}}/", scoped(200)),
    Row("photo-detail", "patch", f"{API}/photos/{{draft_photo}}/", scoped(200), body={"alt_text": "Gói chè"}),
    Row("photo-detail", "delete", f"{API}/photos/{{spare.photo}}/", scoped(204)),
    Row("photo-file", "get", f"{API}/photos/{{draft_photo}}/files/w320/{{draft_photo_version}}/",
        scoped(200, anonymous=404), "a draft's derivative: private", extra={"HTTP_ACCEPT": "image/jpeg"}),
    Row("photo-file", "get", f"{API}/photos/{{draft_photo}}/files/original/{{draft_photo_original}}/",
        scoped(200, denied=("member", "community_team"), refused=404, anonymous=404),
        "the original, with its GPS: officers of the area",
        extra={"HTTP_ACCEPT": "image/jpeg"}),
    Row("photo-file", "get", f"{API}/photos/{{public_photo}}/files/w320/{{public_photo_version}}/", public(200, 200),
        "an approved product's derivative: public"),
    Row("photo-export", "get", "/exports/photos/not-a-signed-token/", public(404), "an unsigned link",
        actors=("anonymous", "member")),
    # ---------------------------------------------------------------- channels, listings
    Row("channel-list", "get", f"{API}/channels/", everyone(200)),
    Row("listing-list", "get", f"{API}/listings/", everyone(200)),
    Row("listing-bulk", "post", f"{API}/listings/bulk/", only(
        {"community_team": 400, "officer": 400, "officer_elsewhere": 400, "administrator": 400, "superuser": 400}),
        "empty body", body={}),
    Row("listing-bulk-detail", "get", f"{API}/listings/bulk/{{bulk}}/", {
        "in": {"anonymous": 401, "member": 404, "community_team": 404, "officer": 200, "officer_elsewhere": 404,
               "administrator": 200, "superuser": 200},
        "out": {"anonymous": 401, "member": 404, "community_team": 404, "officer": 404, "officer_elsewhere": 200,
                "administrator": 200, "superuser": 200},
    }, "in: the officer's; out: the officer of elsewhere's"),
    Row("listing-detail", "get", f"{API}/listings/{{listing}}/", scoped(200)),
    Row("listing-unlist", "post", f"{API}/listings/{{spare.listing}}/unlist/", scoped(202)),
    Row("listing-retry", "post", f"{API}/listings/{{listing}}/retry/", scoped(202)),
    Row("product-listings", "post", f"{API}/products/{{product}}/listings/", scoped(400), "empty body", body={}),
    # ---------------------------------------------------------------- KPI (scope: in the officer's private one)
    *[
        Row(name, "get", f"{API}/kpi/{path}/?scope={{scope}}&period={{year}}", {
            "in": {"anonymous": 401, "member": 404, "community_team": 404, "officer": 200, "officer_elsewhere": 404,
                   "administrator": 200, "superuser": 200},
            "out": {"anonymous": 401, "member": 404, "community_team": 404, "officer": 404, "officer_elsewhere": 200,
                    "administrator": 200, "superuser": 200},
        }, "a private scope")
        for name, path in (("kpi-online-with-sales", "online-with-sales"), ("kpi-gaps", "gaps"),
                           ("kpi-funnel", "funnel"), ("kpi-trend", "trend"))
    ],
    Row("kpi-gaps", "get", f"{API}/kpi/gaps/?scope={{shared_scope}}&period={{year}}&format=csv", everyone(200),
        "a shared scope, as CSV"),
    Row("kpi-refresh", "get", f"{API}/kpi/refresh/", everyone(200)),
    Row("kpi-refresh", "post", f"{API}/kpi/refresh/", only(dict.fromkeys(OFFICERS, 202))),
    # ---------------------------------------------------------------- orders
    Row("order-list", "get", f"{API}/orders/", everyone(200)),
    Row("order-detail", "get", f"{API}/orders/{{order}}/", scoped(200)),
    Row("order-import", "post", f"{API}/orders/import/", only(dict.fromkeys(OFFICERS, 400)), "no file", body={},
        format="multipart"),
    Row("order-attest", "post", f"{API}/orders/attest/", only(dict.fromkeys(OFFICERS, 400)), "empty body", body={}),
    Row("storefront-order-list", "get", f"{API}/storefront/orders/", everyone(200)),
    Row("storefront-order-detail", "get", f"{API}/storefront/orders/{{order_ref}}/", scoped(200)),
    Row("storefront-order-refund", "post", f"{API}/storefront/orders/{{order_ref}}/refund/",
        scoped(409, denied=("member", "community_team")), "an unpaid order"),
    # ---------------------------------------------------------------- webhooks: signed by the sender, not by a user
    Row("webhook-postmart", "post", "/webhooks/postmart/", public(400), "unsigned", actors=("anonymous", "member")),
    Row("webhook-voso", "post", "/webhooks/voso/", public(400), "unsigned", actors=("anonymous", "member")),
    Row("webhook-stripe", "post", "/webhooks/stripe/", public(400), "unsigned", actors=("anonymous", "member")),
    # ---------------------------------------------------------------- storefront pages (public)
    Row("storefront-home", "get", "/cua-hang/", public(200), page=True),
    Row("storefront-product", "get", "/cua-hang/san-pham/{shop_product}/", public(200, 404),
        "in: on sale; out: a draft", page=True),
    Row("storefront-checkout", "get", "/cua-hang/mua/?listing={shop_listing}", public(200, 404), page=True),
    Row("storefront-checkout", "post", "/cua-hang/mua/", public(400, 404), "an empty form", page=True,
        body={"listing": "{shop_listing}"}),
    Row("storefront-order", "get", "/cua-hang/don-hang/{order_ref}/{in_order_token}/", public(200, 404),
        "out: another order's link", page=True),
    Row("storefront-order-pay", "post", "/cua-hang/don-hang/{order_ref}/{in_order_token}/thanh-toan/",
        public(302, 404), page=True),
    Row("storefront-order-authenticate", "post", "/cua-hang/don-hang/{order_ref}/{in_order_token}/xac-thuc/",
        public(302, 404), page=True),
    Row("set_language", "post", "/i18n/setlang/", public(302), page=True, body={"language": "vi"},
        actors=("anonymous", "member")),
    # Django's own view answers every method; only POST changes the language.
    *[
        Row("set_language", method, "/i18n/setlang/", public(302), "changes nothing", page=True,
            actors=("anonymous", "member"))
        for method in ("get", "put", "patch", "delete")
    ],
    # ---------------------------------------------------------------- the front door and sign-in
    Row("home", "get", "/", public(200), page=True),
    Row("login", "get", "/dang-nhap/", public(200), page=True),
    Row("login", "post", "/dang-nhap/", public(200), "wrong password", page=True,
        body={"username": "nobody-{actor}", "password": "x"}),
    Row("login", "put", "/dang-nhap/", public(200), "Django's form view treats PUT as POST", page=True,
        actors=("anonymous", "member")),
    # ---------------------------------------------------------------- the wizard (session: the producer chosen)
    # Choosing `out` then `in`: each actor ends on the producer it may help (the officer of elsewhere keeps Hà Nội's).
    Row("wizard:choose", "post", "/nha-san-xuat/chon/", {
        "out": {"anonymous": LOGIN, "member": 404, "community_team": 404, "officer": 404, "officer_elsewhere": 302,
                "administrator": 302, "superuser": 302},
    }, "choose Hà Nội's producer", page=True, body={"producer": "{producer}"}),
    Row("wizard:choose", "post", "/nha-san-xuat/chon/", {
        "in": {"anonymous": LOGIN, "member": 302, "community_team": 302, "officer": 302, "officer_elsewhere": 404,
               "administrator": 302, "superuser": 302},
    }, "choose old Yên Bái's producer", page=True, body={"producer": "{producer}"}),
    Row("wizard:choose", "get", "/nha-san-xuat/chon/", pages(200, member=302), page=True),
    Row("wizard:home", "get", "/nha-san-xuat/", pages(200), page=True),
    Row("wizard:profile", "get", "/nha-san-xuat/ho-so/", pages(200), page=True),
    Row("wizard:profile", "post", "/nha-san-xuat/ho-so/", pages(400), "an empty form", page=True, body={}),
    Row("wizard:places", "get", "/nha-san-xuat/dia-danh/?place_q=tu+le", pages(200), page=True),
    Row("wizard:product-new", "get", "/nha-san-xuat/san-pham/moi/", pages(200), page=True),
    Row("wizard:product-new", "post", "/nha-san-xuat/san-pham/moi/", pages(400), "no name", page=True,
        body={"name": ""}),
    *[
        Row(f"wizard:{name}", method, f"/nha-san-xuat/san-pham/{{{key}}}/{path}", scoped(ok, anonymous=LOGIN, out_ok={
            "administrator": 404, "superuser": 404}), what, page=True, body=body)
        for name, method, path, key, ok, what, body in (
            ("product", "get", "", "product", 200, "", None),
            ("photos", "get", "anh/", "draft", 200, "", None),
            ("photos", "post", "anh/", "draft", 400, "no file", {}),
            ("certificate", "get", "ocop/", "product", 200, "", None),
            ("certificate", "post", "ocop/", "product", 400, "an empty certificate form", {"form": "certificate"}),
            ("product-submit", "post", "gui-duyet/", "to_submit", 302, "", {}),
            ("product-push", "post", "dua-len-san/", "product", 302, "no channel", {}),
        )
    ],
    # ---------------------------------------------------------------- the officers' dashboard
    Row("dashboard", "get", "/can-bo/?period={year}", pages(200, member=403, community_team=403), page=True),
    # Places are public reference data: an officer may open any commune's page, which lists only the producers
    # in their reach (test_personal_data checks that the other side's producer is not on it).
    Row("dashboard-commune", "get", "/can-bo/xa/2025/{commune_code}/", {
        side: pages(200, member=403, community_team=403)["-"] for side in ("in", "out")
    }, "a commune of the side", page=True),
    Row("dashboard-queues", "get", "/can-bo/xac-minh/", pages(200, member=403, community_team=403), page=True),
    *[
        Row(name, "post", f"/can-bo/xac-minh/{path}/{{{key}}}/", scoped(
            302, denied=("member", "community_team"), anonymous=LOGIN, role_first=True), "no decision", page=True,
            body={})
        for name, path, key in (("dashboard-certificate-decide", "chung-nhan-ocop", "certificate"),
                                ("dashboard-gi-claim-decide", "chi-dan-dia-ly", "claim"),
                                ("dashboard-photo-decide", "anh", "draft_photo"))
    ],
    Row("dashboard-import", "get", "/can-bo/nhap/", pages(200, member=403, community_team=403), page=True),
    Row("dashboard-import", "post", "/can-bo/nhap/", pages(400, member=403, community_team=403), "no file",
        page=True, body={}),
    Row("dashboard-import-undo", "post", "/can-bo/nhap/hoan-tac/", pages(302, member=403, community_team=403),
        "nothing to undo", page=True, body={}),
    # ---------------------------------------------------------------- the admin: entered by staff only (checked once)
    Row("admin:index", "get", "/admin/", pages(ADMIN_LOGIN, anonymous=ADMIN_LOGIN, superuser=200), page=True),
    # Last: signing out ends the actor's session.
    Row("logout", "post", "/dang-xuat/", public(302), page=True),
]
# fmt: on
