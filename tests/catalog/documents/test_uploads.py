import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError

from catalog.documents.models import Document
from catalog.documents.services import document_create
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.catalog.documents.samples import image_bytes, pdf_bytes, product_of, stored_files, upload
from tests.factories import producer, unit, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def tea():
    return producer(legal_name="Hợp tác xã Chè Suối Giàng")


@pytest.fixture
def member(tea):
    user = user_with_role(Role.PRODUCER_MEMBER)
    tea.memberships.create(user=user)
    return user


def test_a_member_uploads_a_food_safety_certificate_as_a_pdf(api, login, tea, member):
    # given a member of the cooperative, signed in
    login(member)
    data = pdf_bytes()

    # when they upload the scan of their food-safety certificate with its details
    response = api.post(
        f"/api/v1/producers/{tea.pk}/documents/",
        {
            "doc_type": "food_safety_certificate",
            "number": "  123/2024/ATTP-CNĐK ",
            "issuer": "Sở Nông nghiệp và Phát triển nông thôn Yên Bái",
            "issued_on": "2024-03-01",
            "expires_on": "2027-03-01",
            "file": upload(data),
        },
        format="multipart",
    )

    # then it is recorded for the producer, with the bytes stored once under a content-addressed key
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["producer"] == tea.pk
    assert body["product"] is None
    assert body["number"] == "123/2024/ATTP-CNĐK"
    assert body["content_type"] == "application/pdf"
    assert body["size"] == len(data)
    assert body["file_url"] == f"/api/v1/documents/{body['id']}/file/"
    assert "file_key" not in body
    document = Document.objects.get(pk=body["id"])
    assert document.uploaded_by == member
    assert document.file_key.startswith("documents/") and document.file_key.endswith(".pdf")
    assert default_storage.open(document.file_key).read() == data
    # and the audit trail records who did it
    assert LogEntry.objects.get_for_object(document).get().actor == member


def test_a_photo_of_a_test_report_is_attached_to_a_product(api, login, tea, member):
    # given a product of the cooperative
    tea_leaves = product_of(tea)
    login(member)

    # when a PNG photo of its test report is uploaded on the product
    response = api.post(
        f"/api/v1/products/{tea_leaves.pk}/documents/",
        {"doc_type": "test_report", "file": upload(image_bytes("PNG"), "report.png", "image/png")},
        format="multipart",
    )

    # then it belongs to the product and to its producer, and is listed under both
    assert response.status_code == 201, response.content
    assert response.json()["product"] == tea_leaves.pk
    assert response.json()["producer"] == tea.pk
    assert response.json()["content_type"] == "image/png"
    assert api.get(f"/api/v1/products/{tea_leaves.pk}/documents/").json()["count"] == 1
    assert api.get(f"/api/v1/producers/{tea.pk}/documents/").json()["count"] == 1


def test_the_content_decides_the_type_not_the_name(api, login, tea, member):
    # given a PNG photo saved with a .pdf name and announced as a PDF
    login(member)

    # when it is uploaded
    response = api.post(
        f"/api/v1/producers/{tea.pk}/documents/",
        {"doc_type": "vietgap", "file": upload(image_bytes("PNG"), "vietgap.pdf", "application/pdf")},
        format="multipart",
    )

    # then it is accepted as what it is: a PNG
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/png"
    assert Document.objects.get().file_key.endswith(".png")


def test_a_jpeg_photo_is_accepted(api, login, tea, member):
    login(member)

    response = api.post(
        f"/api/v1/producers/{tea.pk}/documents/",
        {"doc_type": "organic", "file": upload(image_bytes("JPEG"), "organic.jpg", "image/jpeg")},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/jpeg"


REFUSED = {
    "an SVG drawing": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "c.svg"),
    "an HTML page": (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "c.pdf"),
    "a GIF": (image_bytes("GIF"), "c.gif"),
    "an empty file": (b"", "c.pdf"),
    "a truncated PNG": (image_bytes("PNG")[:60], "c.png"),
    "an 11 MB PDF": (b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024), "c.pdf"),
}


@pytest.mark.parametrize("what", REFUSED)
def test_anything_but_a_real_pdf_jpeg_or_png_of_at_most_10_mb_is_refused(api, login, tea, member, what):
    # given a member and a file that is not an acceptable paper
    data, name = REFUSED[what]
    login(member)

    # when they upload it
    response = api.post(
        f"/api/v1/producers/{tea.pk}/documents/",
        {"doc_type": "other", "file": upload(data, name)},
        format="multipart",
    )

    # then it is refused with a clear error on the file, and nothing is kept
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["file"]
    assert response.json()["fields"]["file"][0]
    assert not Document.objects.exists()
    assert stored_files() == []


def test_an_expiry_before_the_issue_date_is_refused_and_nothing_is_stored(api, login, tea, member):
    login(member)

    response = api.post(
        f"/api/v1/producers/{tea.pk}/documents/",
        {"doc_type": "vietgap", "issued_on": "2025-05-01", "expires_on": "2025-04-30", "file": upload(pdf_bytes())},
        format="multipart",
    )

    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["expires_on"]
    assert not Document.objects.exists()
    assert stored_files() == []


def test_every_mistake_is_reported_at_once(api, login, tea, member):
    login(member)

    response = api.post(
        f"/api/v1/producers/{tea.pk}/documents/",
        {"doc_type": "vietgap", "issued_on": "2025-05-01", "expires_on": "2025-04-30", "file": upload(b"GIF89a")},
        format="multipart",
    )

    assert response.status_code == 400
    assert sorted(response.json()["fields"]) == ["expires_on", "file"]


def test_unknown_fields_are_refused_by_name_and_an_upload_must_be_multipart(api, login, tea, member):
    login(member)
    url = f"/api/v1/producers/{tea.pk}/documents/"

    unknown = api.post(url, {"doc_type": "vietgap", "product": 1, "file": upload(pdf_bytes())}, format="multipart")
    as_json = api.post(url, {"doc_type": "vietgap"}, format="json")

    assert unknown.status_code == 400
    assert list(unknown.json()["fields"]) == ["product"]
    assert as_json.status_code == 415
    assert not Document.objects.exists()


def test_a_document_cannot_be_put_on_another_producers_product(api, login, tea, member):
    # given a product of another producer, which the member cannot see
    other = producer(legal_name="Hợp tác xã Quế Văn Yên")
    cinnamon = product_of(other, "Quế Văn Yên")
    login(member)

    # when the member uploads a document on it
    response = api.post(
        f"/api/v1/products/{cinnamon.pk}/documents/",
        {"doc_type": "test_report", "file": upload(pdf_bytes())},
        format="multipart",
    )

    # then the product is not found, and nothing is kept
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "fields"}
    assert not Document.objects.exists()
    assert stored_files() == []


def test_the_service_refuses_a_product_of_another_producer(tea):
    # given a product of another producer
    cinnamon = product_of(producer(legal_name="Hợp tác xã Quế Văn Yên"), "Quế Văn Yên")

    # when a document is recorded for this producer on that product
    with pytest.raises(ValidationError) as refused:
        document_create(producer=tea, product=cinnamon, doc_type="test_report", file=upload(pdf_bytes()))

    # then it is refused on `product` and nothing is stored
    assert list(refused.value.message_dict) == ["product"]
    assert stored_files() == []


def test_a_failed_database_write_leaves_no_stored_file(tea, monkeypatch):
    # given a database that fails when the document row is written
    def broken_save(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Document, "save", broken_save)

    # when a valid document is recorded
    with pytest.raises(DatabaseError):
        document_create(producer=tea, doc_type="vietgap", file=upload(pdf_bytes()))

    # then the file it had stored is gone again
    assert stored_files() == []


def test_a_failed_write_keeps_a_file_another_document_uses(tea, monkeypatch):
    # given a document already stored with the same bytes
    data = pdf_bytes()
    first = document_create(producer=tea, doc_type="vietgap", file=upload(data))
    monkeypatch.setattr(Document, "save", lambda *a, **k: (_ for _ in ()).throw(DatabaseError("disk full")))

    # when the same file fails to be recorded a second time
    with pytest.raises(DatabaseError):
        document_create(producer=tea, doc_type="organic", file=upload(data))

    # then the first document's file is still there
    assert default_storage.exists(first.file_key)
    assert len(stored_files()) == 1


def test_the_list_filters_by_type_and_orders(api, login, tea, member):
    document_create(producer=tea, doc_type="vietgap", file=upload(pdf_bytes("a")), issued_on="2023-01-01")
    document_create(producer=tea, doc_type="organic", file=upload(pdf_bytes("b")), issued_on="2024-01-01")
    document_create(producer=tea, doc_type="vietgap", file=upload(pdf_bytes("c")), issued_on="2025-01-01")
    login(member)
    url = f"/api/v1/producers/{tea.pk}/documents/"

    vietgap = api.get(url, {"doc_type": "vietgap", "ordering": "issued_on"}).json()["results"]
    newest_first = api.get(url, {"ordering": "-issued_on"}).json()["results"]
    unknown = api.get(url, {"doc_type": "passport"})
    not_an_id = api.get(url, {"product": "1.5"})

    assert [d["issued_on"] for d in vietgap] == ["2023-01-01", "2025-01-01"]
    assert [d["issued_on"] for d in newest_first] == ["2025-01-01", "2024-01-01", "2023-01-01"]
    assert unknown.status_code == 400
    assert list(unknown.json()["fields"]) == ["doc_type"]
    assert not_an_id.status_code == 400
    assert list(not_an_id.json()["fields"]) == ["product"]


def test_a_community_team_member_uploads_on_behalf_of_the_producer(api, login, tea):
    # given a community team member of the former Văn Chấn district, not a member of the cooperative
    team_member = user_with_role(Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")])
    login(team_member)

    # when they upload the cooperative's OCOP certificate scan
    response = api.post(
        f"/api/v1/producers/{tea.pk}/documents/",
        {"doc_type": "ocop_certificate_scan", "file": upload(image_bytes("PNG"), "ocop.png")},
        format="multipart",
    )

    # then the audit trail says they acted for the cooperative
    assert response.status_code == 201, response.content
    entry = LogEntry.objects.get_for_object(Document.objects.get()).get()
    assert entry.actor == team_member
    assert entry.additional_data["on_behalf_of"] == {"kind": "producer", "id": tea.pk, "name": str(tea)}
