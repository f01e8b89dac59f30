from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.documents.models import Document
from catalog.documents.services import document_create
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.catalog.documents.samples import image_bytes, pdf_bytes, stored_files, upload
from tests.factories import producer, unit, user_with_role

pytestmark = pytest.mark.django_db


def fetch_file(api, document):
    response = api.get(f"/api/v1/documents/{document.pk}/file/")
    # Reading the stream to its end closes the file, as a WSGI server would.
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return response, content


def test_only_members_the_community_team_and_officers_in_scope_can_fetch_the_file(api, login):
    # given a cooperative in legacy Suối Giàng (now in Lào Cai) and its VietGAP certificate
    tea = producer(legal_name="Hợp tác xã Chè Suối Giàng")
    member = user_with_role(Role.PRODUCER_MEMBER)
    tea.memberships.create(user=member)
    data = pdf_bytes()
    certificate = document_create(producer=tea, doc_type="vietgap", file=upload(data))
    allowed = {
        "member": member,
        "team of legacy Văn Chấn": user_with_role(
            Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")]
        ),
        "officer of legacy Yên Bái": user_with_role(
            Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]
        ),
    }
    refused = {
        "officer of Hà Nội": user_with_role(Role.OFFICER, units=[unit(CodeSystem.CURRENT, Level.PROVINCE, "01")]),
        "member of another producer": user_with_role(Role.PRODUCER_MEMBER),
    }
    producer(legal_name="Hợp tác xã khác").memberships.create(user=refused["member of another producer"])

    # when each of them asks for the file
    seen = {}
    for name, user in {**allowed, **refused}.items():
        login(user)
        response, content = fetch_file(api, certificate)
        seen[name] = response.status_code
        if response.status_code == 200:
            # then those in reach get the bytes, as a private attachment of the stored type
            assert content == data
            assert response["Content-Type"] == "application/pdf"
            assert response["Content-Disposition"].startswith("attachment;")
            assert response["Cache-Control"] == "private, no-store"
        else:
            assert set(response.json()) == {"code", "message", "fields"}
    api.credentials()
    seen["anonymous"] = fetch_file(api, certificate)[0].status_code

    # and the others do not even learn that it exists
    assert seen == {
        "member": 200,
        "team of legacy Văn Chấn": 200,
        "officer of legacy Yên Bái": 200,
        "officer of Hà Nội": 404,
        "member of another producer": 404,
        "anonymous": 401,
    }


def test_the_file_is_served_whatever_the_client_accepts(api, login):
    tea = producer()
    login(user_with_role("superuser"))
    photo = document_create(producer=tea, doc_type="organic", file=upload(image_bytes("PNG"), "x.png"))

    response = api.get(f"/api/v1/documents/{photo.pk}/file/", HTTP_ACCEPT="image/png")
    content = b"".join(response.streaming_content)
    missing = api.get("/api/v1/documents/999999/file/", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert content.startswith(b"\x89PNG")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_files_are_not_reachable_from_the_media_url(client):
    tea = producer()
    document = document_create(producer=tea, doc_type="vietgap", file=upload(pdf_bytes()))

    response = client.get(f"/media/{document.file_key}")

    assert response.status_code == 404


def test_deleting_a_document_removes_its_file_once_no_other_document_shares_it(
    api, login, django_capture_on_commit_callbacks
):
    # given two documents with the same bytes (stored once) and a third with other bytes
    tea = producer()
    member = user_with_role(Role.PRODUCER_MEMBER)
    tea.memberships.create(user=member)
    shared = pdf_bytes("shared")
    first = document_create(producer=tea, doc_type="vietgap", file=upload(shared))
    second = document_create(producer=tea, doc_type="organic", file=upload(shared))
    other = document_create(producer=tea, doc_type="test_report", file=upload(pdf_bytes("other")))
    assert first.file_key == second.file_key
    assert len(stored_files()) == 2
    login(member)

    # when the first is deleted, the shared file stays for the second
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/documents/{first.pk}/").status_code == 204
    assert default_storage.exists(second.file_key)

    # and when the second is deleted too, the file goes
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/documents/{second.pk}/").status_code == 204
    assert not default_storage.exists(second.file_key)
    assert stored_files() == [Path(default_storage.path(other.file_key))]
    assert list(Document.objects.all()) == [other]
    assert api.get(f"/api/v1/documents/{first.pk}/").status_code == 404


def test_the_document_list_runs_the_same_queries_for_5_or_50(api, login):
    tea = producer()
    for i in range(55):
        document_create(producer=tea, doc_type="test_report", number=f"KQ-{i}", file=upload(pdf_bytes(str(i))))
    login(user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]))

    counts = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as captured:
            response = api.get(f"/api/v1/producers/{tea.pk}/documents/", {"page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(captured))

    assert counts[0] == counts[1]
