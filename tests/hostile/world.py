"""A small but complete world for the hostile-input stories: one user per role and one object of every kind
the API serves, so that generated requests reach real objects in and out of each actor's reach."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from marketplace.accounts.models import Role
from marketplace.core.errors import ServiceError
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level
from tests.factories import PASSWORD, producer, product_set, unit, user_with_role

# The actors of the API: each role, a superuser, and nobody signed in.
ACTORS = ("anonymous", Role.PRODUCER_MEMBER, Role.COMMUNITY_TEAM, Role.OFFICER, Role.ADMINISTRATOR, "superuser")


@dataclass
class World:
    users: dict = field(default_factory=dict)  # actor → user (None for anonymous)
    ids: dict = field(default_factory=dict)  # path parameter name per operation → real values


def _jpeg(seed: int, size=(800, 600)) -> bytes:
    from tests.catalog.photos.corpus import jpeg_bytes, photo_like

    return jpeg_bytes(photo_like(*size, seed=seed))


def _pdf() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(buffer, "PDF")
    return buffer.getvalue()


def build_world(*, name: str = "Chè Shan tuyết Suối Giàng") -> World:
    """Users of every role around two producers: one in old Yên Bái (Suối Giàng), one far away (out of every
    place-bound actor's reach), each with a product, a package, a paper, a photo, a certificate, a listing and
    orders (a marketplace's and the storefront's)."""
    from catalog.documents.services import document_create
    from catalog.gis.models import GeographicalIndication
    from catalog.gis.services import gi_claim_create, gi_use_right_create
    from catalog.models import ProducerMembership, Product, Sku
    from catalog.ocop.services import ocop_certificate_create
    from catalog.photos.services import photo_upload
    from integrations.models import ChannelConnection, ConnectionKind, Listing
    from marketplace.places.models import NamedScope
    from sales.models import Order, OrderLine
    from storefront.models import Checkout, PaymentAttempt

    yen_bai = unit(CodeSystem.LEGACY, Level.PROVINCE, "15")
    world = World()
    world.users = {
        "anonymous": None,
        Role.PRODUCER_MEMBER: user_with_role(Role.PRODUCER_MEMBER),
        Role.COMMUNITY_TEAM: user_with_role(
            Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")]
        ),
        Role.OFFICER: user_with_role(Role.OFFICER, units=[yen_bai]),
        Role.ADMINISTRATOR: user_with_role(Role.ADMINISTRATOR),
        "superuser": user_with_role("superuser"),
    }
    officer = world.users[Role.OFFICER]
    far_commune = (
        AdministrativeUnit.objects.filter(system=CodeSystem.LEGACY, level=Level.COMMUNE)
        .exclude(parent__parent__code="15")
        .order_by("code")
        .first()
    )
    near = producer(legal_name=f"Hợp tác xã {name}")
    far = producer(legal_name=f"Hợp tác xã xa {name}", commune_as_captured=far_commune)
    ProducerMembership.objects.create(producer=near, user=world.users[Role.PRODUCER_MEMBER])

    tea = product_set(11)
    booth = {
        channel: ChannelConnection.objects.create(
            channel=channel,
            kind=ConnectionKind.SHARED_BOOTH,
            name=f"Gian hàng {channel}",
            base_url="http://127.0.0.1:9",
            shop_id=f"booth-{channel}",
        )
        for channel in ("postmart", "voso", "storefront")
    }
    made = {}
    for seed, maker in enumerate((near, far), start=1):
        product = Product.objects.create(
            producer=maker, name=name, product_set=tea, kind="goods", search_key=name.lower(), description=name
        )
        sku = Sku.objects.create(
            product=product, net_quantity=200, net_unit="g", weight_grams=300, length_cm=10, width_cm=8,
            height_cm=6, price_vnd=150000,
        )  # fmt: skip
        document = document_create(
            producer=maker, product=product, doc_type="food_safety_certificate", number="12/ATTP", issuer="Sở Y tế",
            file=SimpleUploadedFile("giay.pdf", _pdf(), content_type="application/pdf"),
        )  # fmt: skip
        photo = photo_upload(
            product=product, role="front", image=SimpleUploadedFile("front.jpg", _jpeg(seed), "image/jpeg")
        )
        certificate = ocop_certificate_create(
            product=product, star="4", decision_number=f"{seed}/QĐ-UBND", decision_date=date(2024, 11, 12),
            issuing_level="province", issuing_body="UBND tỉnh Yên Bái", certificate_number=f"OCOP-{seed:05d}",
        )  # fmt: skip
        listings = {
            channel: Listing.objects.create(
                sku=sku,
                product=product,
                channel=channel,
                connection=booth[channel],
                state="live",
                seller_sku=f"S{sku.pk}-{channel}",
                external_id=f"{channel}-{sku.pk}",
            )
            for channel in booth
        }
        now = timezone.now()
        order = Order.objects.create(
            channel="postmart", connection=booth["postmart"], external_id=f"PM-{seed}", status="completed",
            placed_at=now, status_changed_at=now, sold_at=now, total_vnd=150000, evidence="platform_api",
            buyer_name="Nguyễn Văn A", buyer_phone="+84912345678",
        )  # fmt: skip
        OrderLine.objects.create(
            order=order, listing=listings["postmart"], sku=sku, product=product, quantity=1,
            unit_price_vnd=150000, total_vnd=150000, seller_sku=listings["postmart"].seller_sku,
        )  # fmt: skip
        paid = Order.objects.create(
            channel="storefront", external_id=f"CH-{seed:06d}", status="confirmed", placed_at=now,
            status_changed_at=now, total_vnd=150000, evidence="platform_api", buyer_name="Trần Thị B",
        )  # fmt: skip
        Checkout.objects.create(order=paid, listing=listings["storefront"], token_digest="0" * 64)
        PaymentAttempt.objects.create(
            order=paid, attempt_no=1, idempotency_key=f"hostile-{seed}", state="succeeded", amount_vnd=150000,
            payment_intent_id=f"pi_hostile_{seed}",
        )  # fmt: skip
        made[maker] = {
            "product": product, "sku": sku, "document": document, "photo": photo, "certificate": certificate,
            "listing": listings["postmart"], "order": order, "checkout_ref": paid.external_id,
        }  # fmt: skip

    gi = GeographicalIndication.objects.order_by("pk").first()
    claims = []
    for maker in (near, far):
        # a product outside the GI's area may be refused: the other one is enough
        with contextlib.suppress(ValidationError, ServiceError):
            claims.append(gi_claim_create(product=made[maker]["product"], gi=gi))
    with contextlib.suppress(ValidationError, ServiceError):  # a mark, not an indication: no right-to-use
        gi_use_right_create(
            producer=near, gi=gi, number="01/QĐ-SKHCN", issued_by="Sở KH&CN", valid_from=date(2024, 1, 1)
        )
    scope = NamedScope.objects.create(slug="hostile-scope", name="Phạm vi thử", owner=officer)
    scope.units.add(yen_bai)

    near_objects, far_objects = made[near], made[far]

    def both(key):
        return [near_objects[key].pk, far_objects[key].pk]

    world.ids = {
        "producer": [near.pk, far.pk],
        "product": both("product"),
        "sku": both("sku"),
        "document": both("document"),
        "photo": both("photo"),
        "certificate": both("certificate"),
        "listing": both("listing"),
        "order": both("order"),
        "claim": [c.pk for c in claims] or [0],
        "gi": [gi.pk],
        "scope": [scope.pk],
        "user": [world.users[Role.PRODUCER_MEMBER].pk, world.users["superuser"].pk],
        "role_assignment": list(world.users[Role.OFFICER].role_assignments.values_list("pk", flat=True)),
        "checkout_ref": [near_objects["checkout_ref"], far_objects["checkout_ref"]],
        "photo_version": [near_objects["photo"].pk],
    }
    return world


def token_for(client, user) -> str | None:
    """A real token from /api/v1/auth/token/ (None for anonymous)."""
    if user is None:
        return None
    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()["token"]
