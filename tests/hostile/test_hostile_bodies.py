"""Hostile request bodies through every write endpoint: Unicode edge cases, SQL and HTML probes in every writable
text field, bodies too large or too deep, and the photo corpus through the paper uploads. Never a 5xx; refusals in
the one error shape; what is kept is NFC and exactly what was sent (SQL is data, not code)."""

import json
import unicodedata

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import Producer, Product
from marketplace.accounts.models import Role
from tests.catalog.photos.corpus import hostile_corpus
from tests.hostile.world import build_world

pytestmark = pytest.mark.django_db

NFD = unicodedata.normalize("NFD", "Chè Shan tuyết Suối Giàng")
PROBES = {
    "nfd": NFD,
    "rtl_override": "Mật ong \u202egnaiG iouS",
    "nul": "Mật\x00ong",
    "lone_surrogate": "Mật\ud800ong",
    "emoji": "Mật ong 🐝🍯 👨‍👩‍👧",
    "sql": "x'); DROP TABLE catalog_product; --",
    "sql_or": "1' OR '1'='1",
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
}


def assert_refusal_shape(response):
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    assert set(response.json()) == {"code", "message", "fields"}


def schema_text_fields(api, method: str, path: str) -> list[str]:
    """The writable free-text fields of an operation's JSON body, read from the API's own schema: a text field
    added later is probed without editing this test."""
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    body = schema["paths"][path][method]["requestBody"]["content"]
    content = body.get("application/json") or body["multipart/form-data"]
    component = schema["components"]["schemas"][content["schema"]["$ref"].rsplit("/", 1)[1]]
    return [
        name
        for name, prop in component["properties"].items()
        if prop.get("type") == "string" and not ({"format", "enum", "$ref", "allOf"} & set(prop))
    ]


def send(api, method, url, body):
    # json.dumps writes a lone surrogate as the escape \ud800, exactly as a hostile client would send it.
    return getattr(api, method)(url, json.dumps(body), content_type="application/json")


def check(response, field, probe):
    """No server error; a refusal in the error shape; an acceptance keeps NFC text, the probe itself."""
    assert response.status_code < 500, (field, probe, response.content[:300])
    if response.status_code >= 400:
        assert_refusal_shape(response)
        return None
    kept = response.json().get(field)
    if isinstance(kept, str) and field != "password":
        assert unicodedata.is_normalized("NFC", kept), (field, kept)
        assert kept == unicodedata.normalize("NFC", probe).strip(), (field, kept)
    return kept


def test_every_writable_text_field_takes_hostile_text_without_a_server_error(api, login):
    # given a world with one object of every kind, and a superuser (past every permission)
    world = build_world()
    login(world.users["superuser"])
    product, producer = world.ids["product"][0], world.ids["producer"][0]
    sku, photo, user = world.ids["sku"][0], world.ids["photo"][0], world.ids["user"][0]
    writes = [
        ("patch", "/api/v1/producers/{id}/", f"/api/v1/producers/{producer}/", {}),
        ("patch", "/api/v1/products/{id}/", f"/api/v1/products/{product}/", {}),
        ("patch", "/api/v1/products/{id}/skus/{sku_id}/", f"/api/v1/products/{product}/skus/{sku}/", {}),
        ("patch", "/api/v1/photos/{id}/", f"/api/v1/photos/{photo}/", {}),
        ("patch", "/api/v1/users/{id}/", f"/api/v1/users/{user}/", {}),
        ("post", "/api/v1/producers/", "/api/v1/producers/",
         {"kind": "cooperative", "legal_name": "HTX mới",
          "commune_as_captured": {"system": "legacy", "level": "commune", "code": "04657"}}),
        ("post", "/api/v1/products/", "/api/v1/products/",
         {"producer": producer, "name": "Sản phẩm", "product_set": Product.objects.get(pk=product).product_set_id}),
        ("post", "/api/v1/scopes/", "/api/v1/scopes/",
         {"name": "Phạm vi", "units": [{"system": "legacy", "level": "province", "code": "15"}]}),
        ("post", "/api/v1/users/", "/api/v1/users/", {"username": "nguoi.moi", "password": "a-long-new-password-7"}),
        ("post", "/api/v1/products/{id}/ocop-certificates/", f"/api/v1/products/{product}/ocop-certificates/",
         {"star": "3", "decision_number": "9/QĐ-UBND", "decision_date": "2025-08-01", "issuing_level": "province",
          "issuing_body": "UBND tỉnh Lào Cai"}),
        ("post", "/api/v1/producers/{id}/gi-use-rights/", f"/api/v1/producers/{producer}/gi-use-rights/",
         {"gi": world.ids["gi"][0], "number": "7/QĐ", "issued_by": "Sở KH&CN", "valid_from": "2024-01-01"}),
        ("post", "/api/v1/ocop-certificates/{id}/verify/",
         f"/api/v1/ocop-certificates/{world.ids['certificate'][0]}/verify/", {"decision": "rejected"}),
    ]  # fmt: skip
    counts = (Producer.objects.count(), Product.objects.count())

    # when every probe goes into every text field of every one of them, alone
    probed, accepted = 0, 0
    for method, template, url, base in writes:
        for field in schema_text_fields(api, method, template) or ["reason"]:
            for name, probe in PROBES.items():
                body = {**base, field: probe}
                if field in ("username", "slug"):  # unique: a fresh one each time, so each probe is judged alone
                    body[field] = f"{probe}{probed}"
                response = send(api, method, url, body)
                probed += 1
                # then no server error, refusals in the error shape, and what is kept is NFC and the probe itself
                if field in ("username", "slug"):
                    assert response.status_code < 500, (url, field, name, response.content[:300])
                    continue
                if check(response, field, probe) is not None:
                    accepted += 1
                if name in ("nul", "lone_surrogate") and response.status_code < 400:
                    assert "\x00" not in json.dumps(response.json()) and "\\ud800" not in json.dumps(response.json())

    # and the probes were stored as data: every table still there, the creates did what they said
    assert probed > 200 and accepted > 50
    assert Producer.objects.count() >= counts[0] and Product.objects.count() >= counts[1]
    assert Product.objects.filter(name=PROBES["sql"]).exists()
    assert Product.objects.filter(name=unicodedata.normalize("NFC", NFD)).exists()


def test_a_body_larger_than_the_limit_is_a_413_in_the_error_shape_and_nothing_is_stored(api, login, settings):
    # given a small limit on what Django reads into memory, and a signed-in superuser
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    world = build_world()
    huge = json.dumps({"legal_name": "x" * (80 * 1024), "kind": "cooperative"})
    before = Producer.objects.count()

    # when the body is over the limit, anonymously and signed in, as JSON and as a form
    anonymous = api.post("/api/v1/auth/token/", huge, content_type="application/json")
    login(world.users["superuser"])
    as_json = api.post("/api/v1/producers/", huge, content_type="application/json")
    as_form = api.post("/api/v1/producers/", {"legal_name": "x" * (80 * 1024)}, format="multipart")

    # then 413 in the error shape, never a 500, and nothing was created
    for response in (anonymous, as_json, as_form):
        assert response.status_code == 413, response.content[:200]
        assert_refusal_shape(response)
        assert response.json()["code"] == "too_large"
    assert Producer.objects.count() == before


def test_a_form_with_too_many_fields_is_a_400_in_the_error_shape(api, login, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    login(build_world().users["superuser"])

    response = api.post("/api/v1/producers/", {f"f{i}": "x" for i in range(200)}, format="multipart")

    assert response.status_code == 400
    assert_refusal_shape(response)


@pytest.mark.parametrize("depth", [100, 5000, 200_000])
def test_deeply_nested_json_is_a_400_not_a_500(api, login, depth):
    login(build_world().users["superuser"])
    deep = "[" * depth + "]" * depth
    objects = '{"a":' * depth + "1" + "}" * depth

    answers = [
        api.post("/api/v1/producers/", deep, content_type="application/json"),
        api.post("/api/v1/producers/", objects, content_type="application/json"),
        api.post("/api/v1/scopes/", objects, content_type="application/json"),
        api.post("/webhooks/voso/", deep, content_type="application/json"),
        api.post("/webhooks/postmart/", objects, content_type="application/json"),
    ]

    # then the API says the body cannot be read (or, shallow enough to read, is not valid); webhooks refuse it
    for response in answers[:3]:
        assert response.status_code == 400, response.content[:200]
        assert_refusal_shape(response)
    for response in answers[3:]:
        assert response.status_code in (400, 401, 404), response.content[:200]
        assert_refusal_shape(response)


def test_bytes_that_are_not_utf8_are_a_400_parse_error(api, login):
    login(build_world().users["superuser"])

    response = api.post("/api/v1/producers/", b'{"legal_name": "\xff\xfe\xc3"}', content_type="application/json")

    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_every_file_of_the_photo_corpus_through_the_paper_uploads_is_a_4xx_or_a_stored_paper(api, login):
    # given a producer's member, their product, and the hostile photo corpus (bombs, polyglots, SVG with a script…)
    world = build_world()
    login(world.users[Role.PRODUCER_MEMBER])
    producer, product = world.ids["producer"][0], world.ids["product"][0]

    # when each file is sent as a paper of the producer and of the product, and as an OCOP certificate's scan
    for sample in hostile_corpus():
        for url in (f"/api/v1/producers/{producer}/documents/", f"/api/v1/products/{product}/documents/"):
            upload = SimpleUploadedFile(sample.filename, sample.data, content_type="application/octet-stream")
            response = api.post(url, {"doc_type": "food_safety_certificate", "file": upload}, format="multipart")

            # then never a server error: a refusal names `file` in the error shape, or the paper is kept
            assert response.status_code in (201, 400, 409), (sample.name, url, response.content[:300])
            if response.status_code == 400:
                assert_refusal_shape(response)
                assert "file" in response.json()["fields"], (sample.name, response.json())
            if sample.name in ("svg_script", "html_with_jpeg_magic", "zero_bytes", "gif"):
                assert response.status_code == 400, (sample.name, response.status_code)
            if response.status_code == 201:
                # a kept paper (a JPEG carrying HTML too) only ever leaves as an inert attachment
                served = api.get(f"/api/v1/documents/{response.json()['id']}/file/")
                b"".join(served.streaming_content)
                assert served["Content-Type"] in ("application/pdf", "image/jpeg", "image/png"), sample.name
                assert served["Content-Disposition"].startswith("attachment")
                assert served["X-Content-Type-Options"] == "nosniff"


def test_a_post_to_an_unknown_api_address_is_a_json_404_not_the_csrf_page(api):
    # Django's CSRF check used to answer first, with its HTML 403 page
    response = api.post("/api/v1/listings/1é/retry/", {"a": 1}, format="json")

    assert response.status_code == 404
    assert_refusal_shape(response)


def test_a_number_filter_beyond_64_bits_is_not_a_server_error(api, login):
    login(build_world().users["superuser"])

    answers = [api.get("/api/v1/listings/", {"product": "-1.1433270931910858e+107"}),
               api.get("/api/v1/orders/", {"product": "9" * 40})]  # fmt: skip

    for response in answers:
        assert response.status_code in (200, 400), response.content[:200]
        if response.status_code == 400:
            assert_refusal_shape(response)
