"""A realistic, fictional demo catalogue for old Yên Bái: producers of every kind across former districts,
products typical of the province, OCOP certificates of every star (some expired, some expiring soon).

A handful of products are then made ready for the marketplaces (demo_catalog_showcase): generated photos,
a food-safety paper, ingredients and storage, an officer's approval. The rest keep their gaps, for the
readiness page.

Deterministic (a fixed seed) and idempotent: rerunning finds what it made by name and makes nothing twice.
No real person's data: names are invented; tax ids are well-formed but fictional.
"""

import hashlib
import io
import random
from datetime import timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw
from stdnum.vn import mst

from marketplace.core.errors import ServiceError
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level

from .documents.models import Document
from .documents.services import document_create
from .gis.models import GeographicalIndication, GiClaim
from .gis.services import gi_claim_create
from .models import Producer, ProducerKind, ProducerMembership, Product, ProductSet, ProductStatus
from .ocop.models import OcopCertificate
from .ocop.selectors import certificates_counting
from .ocop.services import ocop_certificate_create, ocop_certificate_verify
from .photos.services import photo_upload
from .photos.tasks import photo_process_task
from .readiness import FOOD_SAFETY_TYPES, readiness_refresh
from .services import producer_create, product_create, product_status_change, product_update, sku_create

# Former district code → (products typical of it: (name, product set number, price in đồng, net g or ml)).
DISTRICTS = {
    "136": [
        ("Quế Văn Yên thanh", 10, 120000, 500),
        ("Tinh dầu quế Văn Yên", 20, 250000, 100),
        ("Măng tre Bát Độ sấy khô", 7, 90000, 500),
    ],
    "140": [
        ("Chè Shan tuyết Suối Giàng", 11, 350000, 200),
        ("Cam Văn Chấn", 1, 45000, 1000),
        ("Gạo nếp Tú Lệ", 3, 60000, 2000),
        ("Mật ong Văn Chấn", 4, 280000, 500),
    ],
    "133": [("Gạo Séng Cù Mường Lò", 3, 38000, 5000), ("Xôi ngũ sắc Mường Lò", 6, 50000, 500)],
    "137": [
        ("Mật ong hoa bạc hà Mù Cang Chải", 4, 320000, 500),
        ("Táo mèo ngâm Mù Cang Chải", 15, 180000, 750),
        ("Thổ cẩm Mông Mù Cang Chải", 22, 450000, 300),
    ],
    "139": [("Thịt trâu gác bếp Trạm Tấu", 8, 950000, 500), ("Chè Shan tuyết Trạm Tấu", 11, 300000, 200)],
    "135": [("Miến dong Lục Yên", 6, 70000, 500), ("Chè Shan Khánh Hòa Lục Yên", 11, 220000, 200)],
    "141": [("Cá hồ Thác Bà khô", 8, 320000, 500), ("Chè Hán Đà", 11, 160000, 200)],
    "138": [("Măng Bát Độ Trấn Yên", 7, 85000, 500), ("Homestay Trấn Yên", 26, 400000, 1)],
    "132": [("Bún Yên Bái", 6, 30000, 500), ("Rượu ngô Yên Bái", 14, 120000, 750)],
}
KINDS = list(ProducerKind.values)
MOBILE_PREFIXES = ["098", "097", "096", "086", "091", "094", "088", "090", "093", "081"]
SURNAMES = ["Lò", "Hà", "Giàng", "Sùng", "Vàng", "Hoàng", "Nguyễn", "Đinh", "Lường", "Cầm"]
GIVEN = ["Văn Chè", "Thị Mai", "A Páo", "Seo Lử", "Thị Hoa", "Văn Tùng", "A Chu", "Thị Lan", "Văn Sơn", "Thị Nga"]


def _tax_id(kind: str, rng: random.Random) -> str:
    if kind in (ProducerKind.HOUSEHOLD, ProducerKind.HOUSEHOLD_BUSINESS):
        # 015 = Yên Bái's birth-registration code, then a century/sex digit, a year and a serial: fictional.
        return f"015{rng.choice('0123')}{rng.randint(60, 99):02d}{rng.randint(0, 999999):06d}"
    while True:  # a fictional enterprise code whose check digit works out (some bases have none)
        number = f"52{rng.randint(0, 9999999):07d}"
        number += mst.calc_check_digit(number)
        if mst.is_valid(number):
            return number


@transaction.atomic
def demo_catalog_load(*, seed: int = 2024) -> dict:
    """Create the demo producers, products, packages and certificates if they are not there yet."""
    rng = random.Random(seed)
    today = timezone.localdate()
    counts = {"producers": 0, "products": 0, "certificates": 0, "gi_claims": 0}
    sets = {s.number: s for s in ProductSet.objects.order_by("version")}
    for district_code, products in DISTRICTS.items():
        communes = list(
            AdministrativeUnit.objects.filter(
                system=CodeSystem.LEGACY, level=Level.COMMUNE, parent__code=district_code, parent__parent__code="15"
            ).order_by("code")
        )
        for index in range(4):
            commune = communes[(index * 7 + len(district_code)) % len(communes)]
            kind = KINDS[(index + int(district_code)) % len(KINDS)]
            # Every random draw happens whether or not the row exists, so a rerun draws the same values.
            person = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
            phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 9999999):07d}"
            women_led, minority_led = rng.choice([True, False, None]), rng.choice([True, None])
            name = {
                ProducerKind.HOUSEHOLD: f"Hộ {person}",
                ProducerKind.HOUSEHOLD_BUSINESS: f"Hộ kinh doanh {person}",
                ProducerKind.COOPERATIVE_GROUP: f"Tổ hợp tác {commune.short_name}",
                ProducerKind.COOPERATIVE: f"Hợp tác xã Nông sản {commune.short_name}",
                ProducerKind.COOPERATIVE_UNION: f"Liên hiệp HTX {commune.parent.short_name}",
                ProducerKind.ENTERPRISE: f"Công ty TNHH Đặc sản {commune.short_name}",
            }[kind]
            tax_id = _tax_id(kind, rng)
            producer = Producer.objects.filter(legal_name=name, commune_as_captured=commune).first()
            if producer is None:
                producer, _warnings = producer_create(
                    kind=kind,
                    legal_name=name,
                    representative_name=person,
                    phone=phone,
                    commune_as_captured=commune,
                    tax_id=tax_id,
                    women_led=women_led,
                    ethnic_minority_led=minority_led,
                )
                counts["producers"] += 1
            for offset, (product_name, set_number, price, net) in enumerate(products):
                stock = rng.randint(0, 200)
                if (index + offset) % 5 == 4:
                    continue  # not every producer makes everything
                full_name = product_name if index == 0 else f"{product_name} ({producer.legal_name})"
                product = Product.objects.filter(producer=producer, name=full_name).first()
                if product is None:
                    product = _product(producer, full_name, sets[set_number], commune, product_name)
                    counts["products"] += 1
                    if set_number != 26:
                        sku_create(
                            product=product, net_quantity=net, net_unit="ml" if set_number in (14, 15) else "g",
                            weight_grams=net + 120, length_cm=20, width_cm=12, height_cm=8, price_vnd=price,
                            stock=stock,
                        )  # fmt: skip
                counts["certificates"] += _certificate(product, rng, today)
                counts["gi_claims"] += _gi_claim(product, set_number, district_code)
    _demo_member()
    return counts


FIVE_STAR = "Chè Shan tuyết Suối Giàng"  # the demo's one national (5★) product

# Products that may carry a GI of old Yên Bái: (product set, former district) → GI slug (catalog/gis/data/).
GI_CANDIDATES = {
    (11, "140"): "suoi-giang-che-shan-tuyet",
    (10, "136"): "van-yen-que",
    (20, "136"): "van-yen-que",
    (1, "140"): "cam-van-chan",
    (4, "137"): "mu-cang-chai-mat-ong",
    (3, "133"): "muong-lo-gao",
}


def _gi_claim(product: Product, set_number: int, district_code: str) -> int:
    """Claim the local GI where one exists: eligible inside the area, pending where only lineage can tell;
    a claim from outside the area is refused by the service, as it would be for a producer."""
    slug = GI_CANDIDATES.get((set_number, district_code))
    gi = GeographicalIndication.objects.filter(slug=slug).first() if slug else None
    if gi is None or GiClaim.objects.filter(product=product, gi=gi).exists():
        return 0
    try:
        gi_claim_create(product=product, gi=gi)
    except ServiceError:
        return 0
    return 1


def _demo_member() -> None:
    """The demo producer login (load_demo_data) manages a Tú Lệ household."""
    user = get_user_model().objects.filter(username="chuthe.tule").first()
    producer = Producer.objects.filter(commune_as_captured__parent__code="140").order_by("pk").first()
    if user and producer:
        ProducerMembership.objects.get_or_create(producer=producer, user=user)


def _product(producer, name, product_set, commune, plain_name) -> Product:
    return product_create(
        producer=producer,
        name=name,
        product_set=product_set,
        origin_commune=commune,
        description=f"{plain_name}, đặc sản của {commune.parent.name}, tỉnh Yên Bái cũ.",
        shelf_life_days=None if product_set.is_service else 180,
    )


def _certificate(product: Product, rng: random.Random, today) -> int:
    """Most products hold a certificate: 3★ mostly, some 4★, a rare 5★; some expired or expiring soon."""
    roll, months_ago, number, verified = (
        rng.random(),
        rng.choice([4, 10, 20, 34, 40]),
        rng.randint(100, 9999),
        rng.random(),
    )
    if (roll < 0.2 and product.name != FIVE_STAR) or OcopCertificate.objects.filter(product=product).exists():
        return 0
    star = "4" if roll > 0.8 else "3"
    if product.name == FIVE_STAR:
        star, months_ago, verified = "5", 10, 0.0
    # months_ago 34: expiring within 90 days; 40: expired
    decided = today - timedelta(days=months_ago * 30)
    level = "central" if star == "5" else "province"
    if star == "3" and timedelta(0) < (timezone.datetime(2025, 7, 6).date() - decided):
        level = "district" if decided >= timezone.datetime(2023, 2, 24).date() else "province"
    certificate = ocop_certificate_create(
        product=product,
        star=star,
        score={"3": 62, "4": 78, "5": 92}[star],
        decision_number=f"{number}/QĐ-UBND",
        decision_date=decided,
        issuing_level=level,
        issuing_body={"central": "Bộ Nông nghiệp và Môi trường", "district": "UBND huyện"}.get(level, "UBND tỉnh"),
    )
    if verified < 0.8:
        ocop_certificate_verify(certificate=certificate, officer=None, decision="verified")
    return 1


# The products made ready for Postmart and Voso, by the start of their name: (ingredients, how to store it).
# Each is the first demo product of that name holding a verified certificate valid today; all are foods whose
# OCOP product set both marketplaces map to a category (integrations/data/category_mappings.json).
SHOWCASE = {
    "Quế Văn Yên thanh": ("Vỏ quế Văn Yên phơi khô", "Nơi khô ráo, thoáng mát, tránh ẩm"),
    "Măng tre Bát Độ sấy khô": ("Măng tre Bát Độ thái lát, sấy khô", "Nơi khô ráo, đóng kín túi sau khi mở"),
    "Chè Shan tuyết Suối Giàng": ("Búp chè Shan tuyết cổ thụ Suối Giàng", "Nơi khô ráo, tránh ánh nắng và mùi lạ"),
    "Gạo nếp Tú Lệ": ("Gạo nếp Tú Lệ", "Nơi khô ráo, thoáng mát, tránh côn trùng"),
    "Mật ong hoa bạc hà Mù Cang Chải": ("Mật ong hoa bạc hà nguyên chất", "Đậy kín nắp, để nơi thoáng mát"),
    "Miến dong Lục Yên": ("Tinh bột dong riềng Lục Yên", "Nơi khô ráo, thoáng mát"),
    "Chè Shan Khánh Hòa Lục Yên": ("Búp chè Shan tuyết Khánh Hòa", "Nơi khô ráo, tránh ánh nắng và mùi lạ"),
    "Chè Hán Đà": ("Búp chè xanh Hán Đà", "Nơi khô ráo, tránh ánh nắng và mùi lạ"),
}
# Both marketplaces want at least 3 photos, a front and a back label among them (catalog/data/channel_profiles.json).
SHOWCASE_PHOTO_ROLES = ("front", "label_back", "packaging", "in_use")
SHOWCASE_PHOTO_PX = 720  # over the 500 px a front or label photo needs, small enough to process in a blink


def demo_catalog_showcase() -> int:
    """Make the SHOWCASE products ready for both marketplaces and approved, as a producer and an officer would
    through the API: photos through the real upload and processing pipeline, a food-safety self-declaration,
    ingredients and storage. Idempotent: only what is missing is added. Returns how many products it changed."""
    today = timezone.localdate()
    changed = 0
    for prefix, (ingredients, storage) in SHOWCASE.items():
        product = (
            Product.objects.filter(name__startswith=prefix, pk__in=certificates_counting(on=today).values("product_id"))
            .order_by("pk")
            .first()
        )
        if product is not None:
            changed += _showcase_product(product, ingredients=ingredients, storage=storage)
    return changed


@transaction.atomic
def _showcase_product(product: Product, *, ingredients: str, storage: str) -> bool:
    wanted = {"ingredients": ingredients, "storage": storage}
    changes = {name: value for name, value in wanted.items() if not getattr(product, name)}
    if changes:
        product = product_update(product=product, **changes)
    roles = set(product.photos.values_list("role", flat=True))
    missing_roles = [role for role in SHOWCASE_PHOTO_ROLES if role not in roles]
    for role in missing_roles:
        photo = photo_upload(product=product, image=_demo_photo(f"{product.pk}:{role}"), role=role)
        # Processed here rather than by the images worker, which is not running yet during `make run`'s setup:
        # the products must be ready before the marketplaces are connected. The task queued on commit then
        # finds the photo done and does nothing.
        photo_process_task(photo.pk)
    has_paper = Document.objects.filter(product=product, doc_type__in=FOOD_SAFETY_TYPES).exists()
    if not has_paper:
        document_create(
            producer=product.producer, product=product, doc_type="food_safety_self_declaration",
            file=_demo_paper(str(product.pk)), issuer=product.producer.legal_name,
            issued_on=timezone.localdate() - timedelta(days=120),
        )  # fmt: skip
    approving = product.status != ProductStatus.APPROVED
    if product.status == ProductStatus.DRAFT:
        product = product_status_change(product=product, to=ProductStatus.SUBMITTED, is_officer=False)
    if product.status == ProductStatus.SUBMITTED:
        product = product_status_change(product=product, to=ProductStatus.APPROVED, is_officer=True)
    readiness_refresh(product=product)
    return bool(changes or missing_roles or not has_paper or approving)


def _rng_seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _demo_photo(seed: str) -> SimpleUploadedFile:
    """A photo-like JPEG of its own: coloured shapes over grain. Distinct enough that no two are near-duplicates
    (perceptual hash), grainy enough not to look blurry, mid-toned so as to look neither dark nor bright."""
    size = SHOWCASE_PHOTO_PX
    rng = random.Random(seed)
    grain = np.random.default_rng(_rng_seed(seed)).normal(0, 28, (size, size, 3))
    background = np.array([rng.randrange(80, 190) for _ in range(3)], dtype=np.float64)
    image = Image.fromarray(np.clip(background + grain, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(size), rng.randrange(size)
        box = [x, y, x + rng.randrange(40, 280), y + rng.randrange(40, 280)]
        colour = tuple(rng.randrange(30, 230) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return SimpleUploadedFile(f"demo-{seed.replace(':', '-')}.jpg", buffer.getvalue(), content_type="image/jpeg")


def _demo_paper(seed: str) -> SimpleUploadedFile:
    """A one-page PDF that looks like a scanned form (grey lines for text: no font on every machine has the
    Vietnamese letters)."""
    rng = random.Random(seed)
    page = Image.new("L", (595, 842), 250)  # A4 at 72 dpi
    draw = ImageDraw.Draw(page)
    draw.rectangle([150, 60, 445, 78], fill=60)  # the title
    for line in range(30):
        y = 120 + line * 22
        draw.rectangle([60, y, 60 + rng.randrange(200, 475), y + 8], fill=rng.randrange(90, 150))
    buffer = io.BytesIO()
    page.save(buffer, "PDF", resolution=72)
    return SimpleUploadedFile(f"tu-cong-bo-{seed}.pdf", buffer.getvalue(), content_type="application/pdf")
