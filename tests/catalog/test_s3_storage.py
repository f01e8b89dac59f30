"""Files on S3-compatible storage through django-storages, against a real S3-compatible server (moto's
server, started on loopback by the test, as localstripe is for Stripe)."""

import socket
import subprocess
import sys
import time

import boto3
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.photos.models import ProductPhoto
from catalog.photos.tasks import photo_process_task
from catalog.services import product_create
from marketplace.accounts.models import Role
from tests.catalog.photos.corpus import jpeg_bytes, photo_like
from tests.factories import producer, product_set, user_with_role

BUCKET = "ocop-files"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def on_s3(settings, s3_endpoint):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "access_key": "testing",
                "secret_key": "testing",
                "region_name": "us-east-1",
                "default_acl": "private",
                "file_overwrite": False,
            },
        },
    }
    return boto3.client("s3", endpoint_url=s3_endpoint, **CREDENTIALS)


def keys(client) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.mark.django_db
def test_photos_and_their_derivatives_live_on_s3_and_are_served_from_it(
    api, login, on_s3, django_capture_on_commit_callbacks
):
    # given a producer member and storage configured as S3
    tea = product_create(producer=producer(), name="Chè", product_set=product_set(11))
    member = user_with_role(Role.PRODUCER_MEMBER)
    tea.producer.memberships.create(user=member)
    login(member)

    # when a photo is uploaded and processed
    upload = api.post(
        f"/api/v1/products/{tea.pk}/photos/",
        {"image": SimpleUploadedFile("p.jpg", jpeg_bytes(photo_like(900, 900))), "role": "front"},
        format="multipart",
    )
    photo_process_task(upload.json()["id"])
    photo = ProductPhoto.objects.get()

    # then the original and every derivative are objects in the bucket, under relative keys
    stored = keys(on_s3)
    assert photo.original_key in stored
    assert {d["key"] for d in photo.derivatives.values()} <= stored
    assert not photo.original_key.startswith("/")
    # and a derivative is served through the API from S3
    served = api.get(api.get(f"/api/v1/photos/{photo.pk}/").json()["files"]["w320"])
    body = b"".join(served.streaming_content)
    assert served.status_code == 200
    assert body == on_s3.get_object(Bucket=BUCKET, Key=photo.derivatives["w320"]["key"])["Body"].read()

    # and deleting the photo deletes its objects
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/photos/{photo.pk}/").status_code == 204
    assert keys(on_s3).isdisjoint({photo.original_key, *(d["key"] for d in photo.derivatives.values())})


@pytest.mark.django_db
def test_a_document_is_stored_on_s3_and_fetched_back(api, login, on_s3):
    cooperative = producer()
    login(user_with_role("superuser"))
    pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"

    created = api.post(
        f"/api/v1/producers/{cooperative.pk}/documents/",
        {"doc_type": "vietgap", "file": SimpleUploadedFile("vietgap.pdf", pdf)},
        format="multipart",
    )
    fetched = api.get(created.json()["file_url"])

    assert created.status_code == 201, created.content
    assert b"".join(fetched.streaming_content) == pdf
    assert any(key.startswith("documents/") for key in keys(on_s3))
