"""Recording OCOP certificates: bands, defaults, overlaps, supersession, scans, warnings for officers."""

import io
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from catalog.ocop.models import OcopCertificate
from tests.catalog.ocop.helpers import (
    a_certificate,
    a_product,
    community_team_of_van_chan,
    member_of,
    officer_of_ha_noi,
    officer_of_old_yen_bai,
)
from tests.factories import producer

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _body(**fields):
    return {
        "star": "4",
        "decision_number": "4894/QĐ-UBND",
        "decision_date": "2024-11-12",
        "issuing_level": "province",
        "issuing_body": "UBND tỉnh Yên Bái",
        **fields,
    }


def test_a_score_outside_the_stars_band_is_refused_naming_the_score(api, login):
    # given a member of a tea cooperative of Suối Giàng
    product = a_product()
    login(member_of(product.producer))

    # when they enter a 4★ certificate with a score of 65 (a 3★ score)
    response = api.post(f"/api/v1/products/{product.pk}/ocop-certificates/", _body(score=65), format="json")

    # then it is refused on the score, and nothing is saved
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["score"]
    assert not OcopCertificate.objects.exists()


def test_validity_defaults_to_the_decision_date_and_36_months_after_it(api, login):
    # given
    product = a_product()
    login(member_of(product.producer))

    # when a certificate is entered with a score in the band and no validity dates
    response = api.post(f"/api/v1/products/{product.pk}/ocop-certificates/", _body(score=75), format="json")

    # then it is valid from the decision until 36 months after it, active and waiting for an officer
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["valid_from"], body["valid_until"]) == ("2024-11-12", "2027-11-12")
    assert (body["status"], body["verification"]) == ("active", "unverified")
    assert body["product"] == product.pk
    assert body["scan"] is None


def test_a_second_overlapping_active_certificate_is_refused_and_nothing_is_saved(api, login):
    # given a product with an active 3★ certificate decided 100 days ago
    product = a_product()
    existing = a_certificate(product=product)
    login(member_of(product.producer))

    # when another one is entered for a decision 10 days ago, without saying it replaces the first
    decided = (TODAY() - timedelta(days=10)).isoformat()
    response = api.post(
        f"/api/v1/products/{product.pk}/ocop-certificates/", _body(decision_date=decided), format="json"
    )

    # then it is refused on valid_from with the decision it clashes with, and nothing changed
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "overlapping_certificate"
    assert list(response.json()["fields"]) == ["valid_from"]
    assert existing.decision_number in response.json()["fields"]["valid_from"][0]
    assert list(OcopCertificate.objects.values_list("pk", "status")) == [(existing.pk, "active")]


def test_an_upgrade_that_supersedes_the_old_certificate_marks_it_superseded(api, login):
    # given a product with an active 3★ certificate
    product = a_product()
    old = a_certificate(product=product)
    login(member_of(product.producer))

    # when a 4★ upgrade decided 10 days ago is entered as superseding it
    decided = (TODAY() - timedelta(days=10)).isoformat()
    response = api.post(
        f"/api/v1/products/{product.pk}/ocop-certificates/",
        _body(decision_date=decided, evaluation_type="upgrade", supersedes=old.pk),
        format="json",
    )

    # then the new one is active and the old one superseded
    assert response.status_code == 201, response.content
    assert response.json()["supersedes"] == old.pk
    assert response.json()["status"] == "active"
    old.refresh_from_db()
    assert old.status == "superseded"


def test_a_certificate_of_another_product_cannot_be_superseded(api, login):
    # given a certificate of another product of the same producer
    product = a_product()
    other = a_certificate(product=a_product(maker=product.producer))
    login(member_of(product.producer))

    # when
    response = api.post(f"/api/v1/products/{product.pk}/ocop-certificates/", _body(supersedes=other.pk), format="json")

    # then
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["supersedes"]
    other.refresh_from_db()
    assert other.status == "active"


def test_a_3_star_by_a_province_in_2024_is_kept_with_a_warning_only_officers_see(api, login):
    # given a cooperative of Suối Giàng, its member and the officer of old Yên Bái
    product = a_product()
    member = member_of(product.producer)
    officer = officer_of_old_yen_bai()
    login(member)

    # when the member enters a 3★ decided on 1 March 2024 by the province (districts certified 3★ then)
    response = api.post(
        f"/api/v1/products/{product.pk}/ocop-certificates/",
        _body(star="3", score=62, decision_date="2024-03-01"),
        format="json",
    )

    # then it is recorded, and the member is not shown the officer's checks
    assert response.status_code == 201, response.content
    assert "warnings" not in response.json()
    assert "warnings" not in api.get(f"/api/v1/ocop-certificates/{response.json()['id']}/").json()
    # and the officer sees the level mismatch
    login(officer)
    seen = api.get(f"/api/v1/ocop-certificates/{response.json()['id']}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert len(seen["warnings"]) == 1
    assert "district" in seen["warnings"][0]


def test_potential_5_stars_is_accepted_on_old_decisions_only(api, login):
    product = a_product()
    login(member_of(product.producer))
    url = f"/api/v1/products/{product.pk}/ocop-certificates/"

    old = api.post(url, _body(star="potential_5", score=91, decision_date="2021-06-15"), format="json")
    new = api.post(url, _body(star="potential_5", score=91, decision_date="2024-06-15"), format="json")

    assert old.status_code == 201, old.content
    assert old.json()["status"] == "expired"  # valid until 15 June 2024
    assert new.status_code == 400
    assert list(new.json()["fields"]) == ["star"]


def test_the_scan_is_stored_when_it_is_a_real_image_and_refused_otherwise(api, login):
    # given a photo of the paper certificate, and a text file
    product = a_product()
    login(member_of(product.producer))
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(png, format="PNG")
    png.seek(0)
    png.name = "giay-chung-nhan.png"
    text = io.BytesIO(b"not a scan")
    text.name = "giay-chung-nhan.pdf"
    url = f"/api/v1/products/{product.pk}/ocop-certificates/"

    # when each is sent as multipart
    refused = api.post(url, _body(scan=text), format="multipart")
    stored = api.post(url, _body(scan=png), format="multipart")

    # then the text file is refused on scan, the image kept
    assert refused.status_code == 400
    assert list(refused.json()["fields"]) == ["scan"]
    assert stored.status_code == 201, stored.content
    assert stored.json()["scan"]["content_type"] == "image/png"
    assert OcopCertificate.objects.get().scan_file_key.startswith("ocop-certificates/")
    # and it is fetched only through the scoped scan endpoint, as an attachment
    scan = api.get(f"/api/v1/ocop-certificates/{stored.json()['id']}/scan/")
    assert scan.status_code == 200
    assert scan["Content-Type"] == "image/png"
    assert scan["Cache-Control"] == "private, no-store"
    assert b"".join(scan.streaming_content).startswith(b"\x89PNG")
    login(officer_of_ha_noi())
    assert api.get(f"/api/v1/ocop-certificates/{stored.json()['id']}/scan/").status_code == 404


def test_a_failed_save_leaves_no_stored_scan(login, monkeypatch, settings):
    from catalog.ocop import services

    # given a certificate whose save fails after its scan was stored
    product = a_product()
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(png, format="PNG")
    scan = SimpleUploadedFile("scan.png", png.getvalue(), content_type="image/png")

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "readiness_refresh", broken)

    # when it is recorded
    with pytest.raises(RuntimeError):
        a_certificate(product=product, scan=scan)

    # then nothing is left: no row, no file
    assert not OcopCertificate.objects.exists()
    stored = list((settings.MEDIA_ROOT / "ocop-certificates").rglob("*.png")) if settings.MEDIA_ROOT.exists() else []
    assert stored == []


def test_unknown_fields_are_refused(api, login):
    product = a_product()
    login(member_of(product.producer))

    response = api.post(
        f"/api/v1/products/{product.pk}/ocop-certificates/", _body(verification="verified"), format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["verification"]


def test_the_officer_in_scope_verifies(api, login):
    # given an unverified certificate and the officer of old Yên Bái
    certificate = a_certificate(product=a_product())
    officer = officer_of_old_yen_bai()
    login(officer)

    # when
    response = api.post(f"/api/v1/ocop-certificates/{certificate.pk}/verify/", {"decision": "verified"}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["verification"] == "verified"
    assert response.json()["verified_by"] == officer.pk
    assert response.json()["warnings"] == []


def test_a_community_team_member_cannot_verify(api, login):
    certificate = a_certificate(product=a_product())
    login(community_team_of_van_chan())

    response = api.post(f"/api/v1/ocop-certificates/{certificate.pk}/verify/", {"decision": "verified"}, format="json")

    assert response.status_code == 403
    certificate.refresh_from_db()
    assert certificate.verification == "unverified"


def test_an_officer_elsewhere_does_not_find_the_certificate(api, login):
    from tests.catalog.ocop.helpers import officer_of_ha_noi

    certificate = a_certificate(product=a_product())
    login(officer_of_ha_noi())

    response = api.post(f"/api/v1/ocop-certificates/{certificate.pk}/verify/", {"decision": "verified"}, format="json")

    assert response.status_code == 404


def test_a_rejection_needs_a_reason(api, login):
    # given
    certificate = a_certificate(product=a_product())
    login(officer_of_old_yen_bai())
    url = f"/api/v1/ocop-certificates/{certificate.pk}/verify/"

    # when rejected without, then with a reason
    without = api.post(url, {"decision": "rejected"}, format="json")
    blank = api.post(url, {"decision": "rejected", "reason": "   "}, format="json")
    with_reason = api.post(url, {"decision": "rejected", "reason": "Số quyết định không khớp."}, format="json")

    # then
    assert without.status_code == 400
    assert list(without.json()["fields"]) == ["reason"]
    assert blank.status_code == 400
    assert with_reason.status_code == 200, with_reason.content
    assert with_reason.json()["verification"] == "rejected"
    assert with_reason.json()["rejection_reason"] == "Số quyết định không khớp."


def test_expiring_within_90_days_lists_active_certificates_soonest_first(api, login):
    # given certificates ending in 80, 10 and 100 days, one that ended yesterday, one revoked
    today = TODAY()
    decided = today - timedelta(days=300)
    maker = producer()

    def ending_in(days, **fields):
        return a_certificate(
            product=a_product(maker=maker),
            decision_date=decided,
            valid_until=today + timedelta(days=days),
            today=decided,
            **fields,
        )

    in_80, in_10, _in_100, _ended = ending_in(80), ending_in(10), ending_in(100), ending_in(-1)
    from catalog.ocop.services import ocop_certificate_revoke

    ocop_certificate_revoke(certificate=ending_in(30), officer=None, reason="Quyết định thu hồi số 12/QĐ-UBND")
    login(officer_of_old_yen_bai())

    # when
    response = api.get("/api/v1/ocop-certificates/", {"expiring_within_days": 90})

    # then
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [in_10.pk, in_80.pk]


@pytest.mark.parametrize("value", ["-1", "abc", "1.5"])
def test_expiring_within_days_must_be_a_whole_number_of_days(api, login, value):
    login(officer_of_old_yen_bai())

    response = api.get("/api/v1/ocop-certificates/", {"expiring_within_days": value})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["expiring_within_days"]


def test_filters_by_star_status_and_verification(api, login):
    maker = producer()
    three = a_certificate(product=a_product(maker=maker), star="3")
    four = a_certificate(product=a_product(maker=maker), star="4", score=80)
    login(officer_of_old_yen_bai())
    api.post(f"/api/v1/ocop-certificates/{four.pk}/verify/", {"decision": "verified"}, format="json")

    def ids(**params):
        return [row["id"] for row in api.get("/api/v1/ocop-certificates/", params).json()["results"]]

    assert ids(star="3") == [three.pk]
    assert ids(verification="verified") == [four.pk]
    assert sorted(ids(status="active")) == sorted([three.pk, four.pk])
    assert ids(status="revoked") == []
    assert api.get("/api/v1/ocop-certificates/", {"star": "6"}).status_code == 400


def test_the_certificate_list_runs_the_same_queries_for_5_or_50(api, login):
    maker = producer()
    for _ in range(55):
        a_certificate(product=a_product(maker=maker))
    login(officer_of_old_yen_bai())

    counts = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as captured:
            response = api.get("/api/v1/ocop-certificates/", {"page_size": size})
        assert len(response.json()["results"]) == size
        assert all("warnings" in row for row in response.json()["results"])
        counts.append(len(captured))

    assert counts[0] == counts[1]


def test_a_products_certificates_list_only_that_product(api, login):
    product = a_product()
    mine = a_certificate(product=product, decision_date=date(2020, 1, 10))
    a_certificate(product=a_product(maker=product.producer))
    login(member_of(product.producer))

    response = api.get(f"/api/v1/products/{product.pk}/ocop-certificates/")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.pk]


def test_a_community_team_member_enters_a_certificate_on_the_producers_behalf(api, login):
    from auditlog.models import LogEntry

    # given a community team member of the former Văn Chấn district
    product = a_product()
    team_member = community_team_of_van_chan()
    login(team_member)

    # when they enter the cooperative's certificate
    response = api.post(f"/api/v1/products/{product.pk}/ocop-certificates/", _body(score=80), format="json")

    # then the audit trail says who did it and for which producer
    assert response.status_code == 201, response.content
    entry = LogEntry.objects.get_for_object(OcopCertificate.objects.get(pk=response.json()["id"])).get()
    assert entry.actor == team_member
    assert entry.additional_data["on_behalf_of"]["id"] == product.producer_id
