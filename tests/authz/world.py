"""The world the authorisation matrix runs in: seven actors, and every kind of object twice — once inside the
officer's area (a household of legacy Suối Giàng, old Yên Bái) and once outside it (a household of Hà Nội, the
area of `officer_elsewhere`).

Objects that a cell destroys or changes (a package, a photo, a paper, a listing, a role assignment) exist once per
actor and side, so that no cell depends on the cells run before it.
"""

from __future__ import annotations

import io
import itertools
import uuid
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from catalog.documents.services import document_create
from catalog.gis.models import AreaMatch, GeographicalIndication, GiClaim, GiClaimStatus
from catalog.ocop.services import ocop_certificate_create, ocop_certificate_verify
from catalog.photos.apis import _version
from catalog.photos.models import ProductPhoto
from catalog.services import product_create, sku_create
from integrations.models import BulkPush, ChannelConnection, Listing
from kpi.rollups import kpi_refresh
from marketplace.accounts.models import Role
from marketplace.accounts.services import role_assignment_create
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level, NamedScope
from marketplace.places.services import named_scope_create
from storefront import services as storefront_services
from storefront.setup import storefront_setup
from tests.catalog.documents.samples import pdf_bytes, upload
from tests.factories import UserFactory, producer, product_set, unit, user_with_role

ACTORS = ["anonymous", "member", "community_team", "officer", "officer_elsewhere", "administrator", "superuser"]
SIDES = ("in", "out")
# What the actors' personal data looks like, so that a test can look for it in any answer, page or file.
PERSONAL_ID = {"in": "015190000789", "out": "001190000456"}
PHONE = {"in": "+84915550789", "out": "+84986550123"}
BUYER_PHONE = {"in": "+84911222333", "out": "+84988777666"}
BUYER_ADDRESS = {"in": "Số 12, đường Điện Biên", "out": "Số 99, phố Huế"}
GPS = {"in": (21.854321, 104.098765), "out": (21.028511, 105.804817)}
# Who may see each kind of personal data of a side (everyone else must find it masked or absent):
# the household's members, officers of its area and administrators; a community team member of the area also
# sees the phone (they register and edit the profile next to the household), but never the personal id, a
# buyer's contact or where a photo was taken; only officers of the area see the photo's GPS.
_AREA = {"in": {"officer", "administrator", "superuser"}, "out": {"officer_elsewhere", "administrator", "superuser"}}
_OWN = {"in": {"member"}, "out": set()}


def personal_data() -> list[tuple[str, str, str, set]]:
    """(side, what, the text as it would appear, the actors who may see it)."""
    rules = []
    for side in SIDES:
        personal = _AREA[side] | _OWN[side]
        helper = {"community_team"} if side == "in" else set()
        rules += [
            (side, "household's personal id", PERSONAL_ID[side], personal),
            (side, "producer's phone", PHONE[side], personal | helper),
            (side, "buyer's phone", BUYER_PHONE[side], personal),
            (side, "buyer's address", BUYER_ADDRESS[side], personal),
            (side, "photo's latitude", str(GPS[side][0]), _AREA[side]),
            (side, "photo's longitude", str(GPS[side][1]), _AREA[side]),
        ]
    return rules


_numbers = itertools.count(1)


def _jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 320), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def _photo(product, *, colour: str, role: str = "front", gps=(None, None)) -> ProductPhoto:
    """A photo as the pipeline leaves it: a ready derivative and an original, both really in storage."""
    n = next(_numbers)
    digest = f"{n:064d}"
    derivative = default_storage.save(f"photos/authz/{digest}.jpg", ContentFile(_jpeg(colour)))
    original = default_storage.save(f"photos/authz/originals/{digest}.jpg", ContentFile(_jpeg(colour)))
    return ProductPhoto.objects.create(
        product=product, role=role, status="ready", is_primary=role == "front", original_key=original,
        sha256=digest, original_bytes=1, original_format="JPEG", gps_latitude=gps[0], gps_longitude=gps[1],
        derivatives={"w320": {"key": derivative, "width": 320, "height": 320, "type": "image/jpeg"}},
    )  # fmt: skip


def _package(product, price: int = 150_000):
    return sku_create(product=product, net_quantity=500, net_unit="g", weight_grams=600, length_cm=10,
                      width_cm=10, height_cm=10, price_vnd=price, stock=50)  # fmt: skip


def _side(side: str, *, commune: AdministrativeUnit, member, officer) -> dict:
    """One household with everything the API and the pages show about it."""
    maker = producer(kind="household", legal_name=f"Hộ Lò Văn {side}", commune_as_captured=commune,
                     tax_id=PERSONAL_ID[side], phone=PHONE[side], representative_name=f"Lò Văn {side}")  # fmt: skip
    maker.memberships.create(user=member)
    on_sale = product_create(producer=maker, name=f"Mật ong {side}", product_set=product_set(4), status="approved",
                             description="Sản phẩm OCOP.")  # fmt: skip
    package = _package(on_sale)
    public_photo = _photo(on_sale, colour="orange", gps=GPS[side])
    certificate = ocop_certificate_create(
        product=on_sale, star="4", decision_number=f"{next(_numbers)}/QĐ-UBND",
        decision_date=timezone.localdate() - timedelta(days=30), issuing_level="province",
        issuing_body="UBND tỉnh", scan=upload(pdf_bytes(f"scan {side}")),
    )  # fmt: skip
    ocop_certificate_verify(certificate=certificate, officer=None, decision="verified")
    draft = product_create(producer=maker, name=f"Chè nháp {side}", product_set=product_set(11))
    to_submit = product_create(producer=maker, name=f"Gạo chờ gửi {side}", product_set=product_set(1))
    claim = GiClaim.objects.create(
        product=draft, gi=GeographicalIndication.objects.get(slug="suoi-giang-che-shan-tuyet"),
        status=GiClaimStatus.PENDING_VERIFICATION, checked_commune=commune, area_match=AreaMatch.PARTIAL,
    )  # fmt: skip
    booth = ChannelConnection.objects.get(channel="storefront")
    shop_package = _package(on_sale, price=120_000)  # only the storefront's pages use its listing
    shop_listing = Listing.objects.create(sku=shop_package, product=on_sale, channel="storefront", connection=booth,
                                          seller_sku=f"P{maker.pk}-S{shop_package.pk}", state="live")  # fmt: skip
    Listing.objects.filter(pk=shop_listing.pk).update(external_id=str(shop_listing.pk))
    listing = Listing.objects.create(sku=package, product=on_sale, channel="storefront", connection=booth,
                                     seller_sku=f"P{maker.pk}-S{package.pk}", state="live")  # fmt: skip
    Listing.objects.filter(pk=listing.pk).update(external_id=str(listing.pk))
    placed = storefront_services.checkout_place(
        listing_id=listing.pk, quantity="1", buyer_name=f"Người mua {side}", phone=BUYER_PHONE[side],
        address_line=BUYER_ADDRESS[side], commune_id=AdministrativeUnit.objects.get(
            system=CodeSystem.CURRENT, level=Level.COMMUNE, code="04252").pk,
        payment_method="pm_card_visa",
    )  # fmt: skip
    spare = {}
    for actor in ACTORS:
        sku = _package(on_sale, price=45_000)
        spare[actor] = {
            "sku": _package(on_sale, price=40_000),
            "photo": _photo(draft, colour="green", role="other"),
            "document": document_create(producer=maker, doc_type="other", file=upload(pdf_bytes(f"{side} {actor}"))),
            "listing": Listing.objects.create(sku=sku, product=on_sale, channel="storefront", connection=booth,
                                              seller_sku=f"P{maker.pk}-S{sku.pk}", state="live"),
        }  # fmt: skip
    return {
        "producer": maker,
        "product": on_sale,
        "package": package,
        "public_photo": public_photo,
        "draft": draft,
        "draft_photo": _photo(draft, colour="blue", role="packaging", gps=GPS[side]),
        "to_submit": to_submit,
        "certificate": certificate,
        "claim": claim,
        "document": document_create(producer=maker, doc_type="vietgap", file=upload(pdf_bytes(f"paper {side}"))),
        "listing": listing,
        "shop_listing": shop_listing,
        "order": placed.order,
        "order_token": placed.token,
        "bulk": BulkPush.objects.create(channel="storefront", requested_by=officer),
        "spare": spare,
        "commune": maker.current_commune,
    }


def build_world() -> dict:
    """Every actor and both sides. About 3 s on SQLite."""
    old_yen_bai = unit(CodeSystem.LEGACY, Level.PROVINCE, "15")
    ha_noi = unit(CodeSystem.CURRENT, Level.PROVINCE, "01")
    users = {
        "member": user_with_role(Role.PRODUCER_MEMBER, username="authz-member"),
        "community_team": user_with_role(
            Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")], username="authz-team"
        ),
        "officer": user_with_role(Role.OFFICER, units=[old_yen_bai], username="authz-officer"),
        "officer_elsewhere": user_with_role(Role.OFFICER, units=[ha_noi], username="authz-officer-hn"),
        "administrator": user_with_role(Role.ADMINISTRATOR, username="authz-admin"),
        "superuser": user_with_role("superuser", username="authz-root"),
    }
    out_member = user_with_role(Role.PRODUCER_MEMBER, username="authz-member-hn")
    storefront_setup()
    ha_noi_commune = AdministrativeUnit.objects.filter(
        system=CodeSystem.CURRENT, level=Level.COMMUNE, parent=ha_noi
    ).order_by("code")[0]
    sides = {
        "in": _side(
            "in",
            commune=unit(CodeSystem.LEGACY, Level.COMMUNE, "04657"),
            member=users["member"],
            officer=users["officer"],
        ),
        "out": _side("out", commune=ha_noi_commune, member=out_member, officer=users["officer_elsewhere"]),
    }
    sides["in"]["scope"] = named_scope_create(
        slug="authz-in", name="Riêng cán bộ Yên Bái", units=[old_yen_bai], owner=users["officer"]
    )
    sides["out"]["scope"] = named_scope_create(
        slug="authz-out", name="Riêng cán bộ Hà Nội", units=[ha_noi], owner=users["officer_elsewhere"]
    )
    # A role assignment per actor for the "withdraw a role" cells: an ordinary one, and one of a superuser
    # (which an administrator by role must not even see).
    granter = users["superuser"]
    sides["in"]["assignments"] = {
        a: role_assignment_create(user=UserFactory(username=f"authz-ra-{a}"), role=Role.PRODUCER_MEMBER) for a in ACTORS
    }
    sides["out"]["assignments"] = {
        a: role_assignment_create(
            user=UserFactory(username=f"authz-ra-root-{a}", is_superuser=True), role=Role.ADMINISTRATOR,
            created_by=granter,
        )
        for a in ACTORS
    }  # fmt: skip
    sides["in"]["user"], sides["out"]["user"] = users["member"], users["superuser"]
    kpi_refresh()  # the KPI's gap lists (API, exports, dashboard) then carry both households
    for side in sides.values():
        side["order_ref"] = side["order"].external_id
        side["in_order_token"] = sides["in"]["order_token"]  # out: a real link, of another order
        side["draft_photo_version"] = _version(side["draft_photo"].derivatives["w320"]["key"])
        side["draft_photo_original"] = _version(side["draft_photo"].original_key)
        side["public_photo_version"] = _version(side["public_photo"].derivatives["w320"]["key"])
        side["commune_code"] = side["commune"].code
        side["gi"] = GeographicalIndication.objects.get(slug="suoi-giang-che-shan-tuyet")
    # The storefront's own in / out: a product and a package on sale, and ones that are not.
    sides["in"]["shop_product"], sides["out"]["shop_product"] = sides["in"]["product"], sides["in"]["draft"]
    sides["out"]["shop_listing"] = str(uuid.uuid4())
    return {"users": users, "in": sides["in"], "out": sides["out"], "year": str(timezone.localdate().year),
            "shared_scope": NamedScope.objects.get(slug="old-yen-bai")}  # fmt: skip
