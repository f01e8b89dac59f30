"""Personal data by role, where the matrix's text search cannot look: the masked form of a household's personal id,
the XLSX exports, and the bytes of the photos served to the public (no GPS in their EXIF).

The matrix (test_matrix.py) already searches every JSON answer, page and CSV for each personal datum of both
households and fails when an actor who may not see it finds it."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from django.test import Client
from openpyxl import load_workbook
from PIL import Image

from catalog.models import Product
from catalog.photos.apis import file_url
from catalog.photos.models import ProductPhoto
from catalog.photos.services import photo_upload
from catalog.photos.tasks import photo_process_task
from catalog.services import product_create
from integrations.sync.content import export_url
from marketplace.accounts.models import Role
from tests.authz.world import ACTORS, PERSONAL_ID, build_world, personal_data
from tests.catalog.documents.samples import upload
from tests.catalog.photos.corpus import corpus_sample
from tests.factories import producer, product_set, user_with_role
from tests.matrix import client_for

pytestmark = pytest.mark.django_db

IFD_GPS = 0x8825
SIGNED_IN = [a for a in ACTORS if a != "anonymous"]


def _as(world, actor):
    return client_for(None if actor == "anonymous" else world["users"][actor])


def test_a_households_personal_id_is_whole_only_for_its_members_officers_of_its_area_and_administrators():
    # given both households
    world = build_world()
    whole = {"member", "officer", "administrator", "superuser"}

    for actor in SIGNED_IN:
        api = _as(world, actor)
        # when each actor reads the old Yên Bái household, alone and in the list
        detail = api.get(f"/api/v1/producers/{world['in']['producer'].pk}/")
        listed = {row["id"]: row["tax_id"] for row in api.get("/api/v1/producers/?page_size=200").json()["results"]}

        # then it is whole for those who may see it, "*********789" for the community team, absent for the rest
        if actor in whole:
            assert detail.json()["tax_id"] == PERSONAL_ID["in"], actor
            assert listed[world["in"]["producer"].pk] == PERSONAL_ID["in"], actor
        elif actor == "community_team":
            assert detail.json()["tax_id"] == "*********789"
            assert listed[world["in"]["producer"].pk] == "*********789"
        else:
            assert detail.status_code == 404 and world["in"]["producer"].pk not in listed, actor


def _xlsx_text(content: bytes) -> str:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        str(value) for sheet in workbook for row in sheet.iter_rows(values_only=True) for value in row if value
    )


def test_the_kpi_exports_carry_no_personal_data_for_any_role():
    # given both households in the KPI's gap lists
    world = build_world()
    year = world["year"]

    for actor in SIGNED_IN:
        api = _as(world, actor)
        texts = {}
        # when each actor exports every KPI table of everything they see, as XLSX and CSV
        for name in ("online-with-sales", "gaps", "funnel", "trend"):
            for fmt in ("xlsx", "csv"):
                response = api.get(f"/api/v1/kpi/{name}/?period={year}&format={fmt}")
                assert response.status_code == 200, (actor, name, fmt, response.content[:200])
                texts[(name, fmt)] = _xlsx_text(response.content) if fmt == "xlsx" else response.content.decode()

        # then no personal datum is in any of them, whoever asks
        for (name, fmt), text in texts.items():
            for side, what, value, _visible in personal_data():
                assert value not in text, f"{actor} finds {side}'s {what} in the {name} {fmt} export"
        # (the gap list does carry the households' products, so the search looked at real rows)
        if actor in ("officer", "administrator", "superuser"):
            assert world["in"]["product"].name in texts[("gaps", "xlsx")], actor


def _gps_in(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    return bool(exif.get_ifd(IFD_GPS)) or b"GPS" in data or "exif" in image.info


def test_the_photos_served_to_the_public_carry_no_gps(settings):
    # given a photo taken with a phone that wrote its GPS position, processed, on an approved product
    settings.PHOTO_EXPORT_BASE_URL = "http://testserver"
    maker = producer(legal_name="Hợp tác xã Mật ong Suối Giàng")
    product = product_create(producer=maker, name="Mật ong bạc hà", product_set=product_set(4))
    sample = corpus_sample("jpeg_with_gps")
    assert _gps_in(sample.data)  # the upload does carry a GPS position
    photo = photo_upload(product=product, image=upload(sample.data, "IMG_0001.jpg", "image/jpeg"), role="front")
    assert photo_process_task(photo.pk) == "ready"
    Product.objects.filter(pk=product.pk).update(status="approved")
    photo = ProductPhoto.objects.get(pk=photo.pk)
    anonymous = Client()

    # when anyone fetches each file the public may have: every size, every channel's export (signed link)
    served = {}
    for name in photo.derivatives:
        response = anonymous.get(file_url(photo, name))
        assert response.status_code == 200, name
        served[name] = b"".join(response.streaming_content)
    for name in (n for n in photo.derivatives if n.startswith("export-")):
        response = anonymous.get(urlsplit(export_url(photo.pk, name)).path)
        assert response.status_code == 200, name
        served[f"link {name}"] = b"".join(response.streaming_content)

    # then none carries the position, which only officers of the area read (from private fields)
    assert {"master", "w320", "w800"} <= set(served) and any(n.startswith("link export-") for n in served)
    assert [name for name, data in served.items() if _gps_in(data)] == []
    assert anonymous.get(file_url(photo, "original")).status_code == 404
    officer = user_with_role(Role.OFFICER, units=[maker.current_commune])
    assert client_for(officer).get(f"/api/v1/photos/{photo.pk}/").json()["private"]["latitude"] is not None
