"""Real mock marketplace processes and ready products for the listing tests (marketplaces.md §6)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta

import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from catalog.documents.services import document_create
from catalog.models import ProductStatus
from catalog.ocop.services import ocop_certificate_create, ocop_certificate_verify
from catalog.photos.services import photo_upload
from catalog.photos.tasks import photo_process_task
from catalog.readiness import readiness_refresh
from catalog.services import product_create, product_status_change, sku_create
from integrations.inbox import inbound_events_process_pending
from integrations.models import ChannelConnection, ConnectionKind
from integrations.sync.sessions import connection_token_renew
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level
from tests.conftest import ROOT
from tests.factories import producer, product_set, unit

PARTNER_ID, PARTNER_KEY, PM_SHOP = 1001, "a1b2c3d4e5f60718293a4b5c6d7e8f90", 3001
VS_USER, VS_PASSWORD = "htx-meovac", "matong-2025"
SUOI_GIANG = ("legacy", "commune", "04657")  # old Yên Bái → today's Lào Cai province


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def mock_process(module: str, *, time_scale: float = 0.01):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        module,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--time-scale",
        str(time_scale),
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(f"{url}/__admin/state", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def admin(url: str, method: str, path: str, **json) -> dict:
    response = requests.request(method, f"{url}/__admin{path}", json=json or None, timeout=10)
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json() if response.content else {}


def pm_connect(url: str, *, area: AdministrativeUnit) -> ChannelConnection:
    """Seed the partner and a booth shop in the Postmart mock and authorize it as the service would."""
    admin(url, "POST", "/partners", partner_id=PARTNER_ID, partner_key=PARTNER_KEY)
    admin(url, "POST", "/shops", shop_id=PM_SHOP, shop_name="Gian hàng OCOP Lào Cai")
    code = admin(url, "POST", "/auth-codes", shop_id=PM_SHOP)["code"]
    connection = ChannelConnection.objects.create(
        channel="postmart", kind=ConnectionKind.SHARED_BOOTH, name="Gian hàng OCOP Lào Cai trên Postmart",
        area=area, base_url=url, shop_id=str(PM_SHOP),
        credentials={"partner_id": PARTNER_ID, "partner_key": PARTNER_KEY},
    )  # fmt: skip
    from integrations.adapters.postmart.adapter import PostmartAdapter
    from integrations.sync.sessions import session_for

    grant = PostmartAdapter().authorize(session_for(connection), code)
    connection.access_token, connection.refresh_token = grant.access_token, grant.refresh_token
    connection.token_expires_at = timezone.now() + timedelta(seconds=grant.expires_in)
    connection.save()
    return connection


def vs_connect(url: str, *, area: AdministrativeUnit, webhook_url: str | None = None) -> ChannelConnection:
    connection = ChannelConnection.objects.create(
        channel="voso", kind=ConnectionKind.SHARED_BOOTH, name="Gian hàng OCOP Lào Cai trên Voso", area=area,
        base_url=url, shop_id="", credentials={"username": VS_USER, "password": VS_PASSWORD},
        settings={"warehouse_id": "WH-001", "warehouse_province_code": "02"},
    )  # fmt: skip
    login = requests.post(f"{url}/v2/user/Login", json={"USERNAME": VS_USER, "PASSWORD": VS_PASSWORD}, timeout=5)
    connection.shop_id = login.json()["data"]["shopId"]
    connection.save()
    connection = connection_token_renew(connection_id=connection.pk, stale_generation=0)
    if webhook_url:
        events = ["product.qc_updated", "order.created", "order.status_updated"]
        answer = requests.put(
            f"{url}/v2/webhooks", json={"url": webhook_url, "events": events},
            headers={"Token": connection.access_token}, timeout=5,
        ).json()  # fmt: skip
        connection.credentials = {**connection.credentials, "webhook_secrets": [answer["data"]["secret"]]}
        connection.save()
    return connection


def photo(seed: int, size: int = 800) -> SimpleUploadedFile:
    """A distinct photo-like JPEG (noise and shapes), so that no two are near-duplicates."""
    import random

    rng = random.Random(seed)
    image = Image.effect_noise((size, size), 60).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(size), rng.randrange(size)
        colour = tuple(rng.randrange(40, 220) for _ in range(3))
        draw.rectangle([x, y, x + rng.randrange(40, 300), y + rng.randrange(40, 300)], fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return SimpleUploadedFile(f"p{seed}.jpg", buffer.getvalue(), content_type="image/jpeg")


def pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("attp.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")


_counter = iter(range(1, 10_000))


def ready_product(*, name: str = "Mật ong hoa bạc hà Mù Cang Chải", set_number: int = 4, price: int = 280_000,
                  certificate_number: str | None = None, valid_until=None, photos: int = 4):  # fmt: skip
    """An approved product ready for Postmart and Voso: package, photos, food-safety paper, verified OCOP."""
    n = next(_counter)
    maker = producer(legal_name=f"Hợp tác xã Mật ong {n}", commune_as_captured=unit(*SUOI_GIANG))
    product = product_create(
        producer=maker, name=f"{name} {n}", product_set=product_set(set_number),
        description="Mật ong nguyên chất thu hoạch từ hoa bạc hà trên cao nguyên đá, vị ngọt thanh, thơm dịu.",
        ingredients="Mật ong hoa bạc hà", storage="Nơi khô ráo, tránh ánh nắng", shelf_life_days=730,
        origin_commune=unit(*SUOI_GIANG), brand="HTX Mật ong Mù Cang Chải",
    )  # fmt: skip
    sku_create(product=product, net_quantity=500, net_unit="g", weight_grams=650, length_cm=10, width_cm=10,
               height_cm=15, price_vnd=price, stock=120)  # fmt: skip
    roles = ["front", "label_back", "packaging", "in_use", "production_area", "in_use"]
    for index in range(photos):
        uploaded = photo_upload(product=product, image=photo(n * 100 + index), role=roles[index])
        assert photo_process_task(uploaded.pk) == "ready"
    document_create(producer=maker, product=product, doc_type="food_safety_self_declaration", file=pdf())
    today = timezone.localdate()
    certificate = ocop_certificate_create(
        product=product, star="4", score=78, decision_number=f"{n}/QĐ-UBND", decision_date=today - timedelta(days=90),
        issuing_level="province", issuing_body="UBND tỉnh Lào Cai",
        certificate_number=certificate_number or f"OCOP-LC-2026-{n:04d}", valid_until=valid_until,
    )  # fmt: skip
    ocop_certificate_verify(certificate=certificate, officer=None, decision="verified")
    product_status_change(product=product, to=ProductStatus.SUBMITTED, is_officer=False)
    product_status_change(product=product, to=ProductStatus.APPROVED, is_officer=True)
    readiness_refresh(product=product)
    return product, certificate


def register_certificate(pm_url: str | None, vs_url: str | None, certificate, *, star: int = 4) -> None:
    number = certificate.certificate_number
    expiry = certificate.valid_until
    if pm_url:
        epoch = int(time.mktime(expiry.timetuple())) + 86400
        admin(pm_url, "POST", "/ocop-certificates", certificate_no=number, star=star, issued_by="UBND tỉnh Lào Cai",
              expiry=epoch)  # fmt: skip
    if vs_url:
        admin(vs_url, "POST", "/ocop-certificates", number=number, star=star, issuedBy="UBND tỉnh Lào Cai",
              expiryDate=expiry.isoformat())  # fmt: skip


def lao_cai() -> AdministrativeUnit:
    return AdministrativeUnit.objects.get(system=CodeSystem.CURRENT, level=Level.PROVINCE, code="15")


def mock_requests(url: str, path: str) -> list[dict]:
    log = requests.get(f"{url}/__admin/requests?limit=2000", timeout=5).json()["requests"]
    return [r for r in log if r["path"].split("?", 1)[0] == path]


def wait_for(predicate, timeout=20.0, *, apply_inbox=True):
    """Wait until `predicate()` holds, applying what the webhooks stored meanwhile (the inbox tasks' job)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if apply_inbox:
            inbound_events_process_pending()
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")
