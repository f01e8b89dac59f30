"""Photos through the API: upload (202), processing by a worker, the hostile corpus, privacy and caching."""

import os
import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ProductReadiness
from catalog.photos.apis import file_url
from catalog.photos.models import ProductPhoto
from catalog.photos.tasks import photo_process_task
from catalog.services import product_create
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.catalog.photos.corpus import ACCEPTED, REFUSED, REFUSED_FOR_FRONT, hostile_corpus, jpeg_bytes, photo_like
from tests.factories import producer, product_set, unit, user_with_role


@pytest.fixture
def tea():
    return product_create(producer=producer(legal_name="HTX Chè Suối Giàng"), name="Chè", product_set=product_set(11))


@pytest.fixture
def member(tea):
    user = user_with_role(Role.PRODUCER_MEMBER)
    tea.producer.memberships.create(user=user)
    return user


def officer_of_old_yen_bai():
    return user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])


def upload(api, product, data: bytes, *, role="front", filename="photo.jpg", **extra):
    return api.post(
        f"/api/v1/products/{product.pk}/photos/",
        {"image": SimpleUploadedFile(filename, data, content_type="image/jpeg"), "role": role, **extra},
        format="multipart",
    )


def stored_files() -> set[str]:
    root = default_storage.location
    return {os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files} if os.path.isdir(root) else set()


CORPUS = {sample.name: sample for sample in hostile_corpus()}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_hostile_or_awkward_file_gets_a_4xx_or_a_correct_result(api, login, tea, member, name):
    # given one file of the corpus, uploaded as the front photo
    sample = CORPUS[name]
    login(member)
    before = stored_files()

    # when it is uploaded, and processed if accepted
    response = upload(api, tea, sample.data, filename=sample.filename)

    # then: never a 5xx; refused files leave nothing behind; accepted ones end ready with clean derivatives
    assert response.status_code < 500, response.content
    if sample.expect in (REFUSED, REFUSED_FOR_FRONT):
        assert response.status_code == 400, (name, response.content)
        assert list(response.json()["fields"]) == ["image"]
        assert not ProductPhoto.objects.exists()
        assert stored_files() == before
        if sample.expect == REFUSED_FOR_FRONT:
            assert upload(api, tea, sample.data, role="packaging").status_code == 202
        return
    assert sample.expect == ACCEPTED
    assert response.status_code == 202, (name, response.content)
    assert response.json()["status"] == "processing"
    assert photo_process_task(response.json()["id"]) == "ready"
    photo = ProductPhoto.objects.get()
    assert {"master", "w800", "w320", "w800.webp", "w320.webp"} <= set(photo.derivatives)
    master = photo.derivatives["master"]
    assert max(master["width"], master["height"]) <= 2048
    assert min(photo.width, photo.height) >= 500


@pytest.mark.django_db
def test_the_same_bytes_twice_is_a_409_pointing_at_the_first(api, login, tea, member):
    login(member)
    data = jpeg_bytes(photo_like(900, 900))
    first = upload(api, tea, data)

    again = upload(api, tea, data, role="packaging")

    assert again.status_code == 409
    assert str(first.json()["id"]) in again.json()["fields"]["image"][0]
    assert ProductPhoto.objects.count() == 1


@pytest.mark.django_db
def test_a_photo_of_another_producer_is_flagged_for_officers_only(api, login, tea, member):
    # given a photo of a product of another producer, processed
    other = product_create(producer=producer(legal_name="HTX khác"), name="Chè khác", product_set=product_set(11))
    picture = photo_like(1000, 800, seed=7)
    login(user_with_role("superuser"))
    photo_process_task(upload(api, other, jpeg_bytes(picture, quality=90)).json()["id"])

    # when our member uploads the same picture, re-encoded
    login(member)
    mine = upload(api, tea, jpeg_bytes(picture, quality=70)).json()["id"]
    photo_process_task(mine)

    # then it is accepted, flagged for the officer, and the member sees no flag (nor anyone's GPS)
    assert api.get(f"/api/v1/photos/{mine}/").json()["near_duplicate"] is None
    login(officer_of_old_yen_bai())
    flag = api.get(f"/api/v1/photos/{mine}/").json()["near_duplicate"]
    assert "Chè khác" in flag and "HTX khác" in flag


@pytest.mark.django_db
def test_gps_and_capture_time_are_kept_privately_for_officers(api, login, tea, member):
    login(member)
    photo_id = upload(api, tea, CORPUS["jpeg_with_gps"].data).json()["id"]
    photo_process_task(photo_id)

    as_member = api.get(f"/api/v1/photos/{photo_id}/").json()
    master = b"".join(api.get(as_member["files"]["master"]).streaming_content)
    original_url = file_url(ProductPhoto.objects.get(), "original")
    original_for_member = api.get(original_url)
    login(officer_of_old_yen_bai())
    as_officer = api.get(f"/api/v1/photos/{photo_id}/").json()

    assert as_member["private"] is None
    assert original_for_member.status_code == 404
    assert b"Exif" not in master[:4096] and b"GPS" not in master
    assert round(as_officer["private"]["latitude"], 2) == 21.85
    assert round(as_officer["private"]["longitude"], 2) == 104.09
    assert as_officer["private"]["taken_at"] is not None
    assert api.get(original_url).status_code == 200


@pytest.mark.django_db
def test_draft_files_are_private_and_approved_ones_public_with_long_cache(api, login, tea, member):
    login(member)
    photo_id = upload(api, tea, jpeg_bytes(photo_like(900, 900))).json()["id"]
    photo_process_task(photo_id)
    files = api.get(f"/api/v1/photos/{photo_id}/").json()["files"]
    api.credentials()  # anonymous from now on

    drafts = {name: api.get(url).status_code for name, url in files.items()}
    tea.status = "approved"
    tea.save()
    approved = {name: api.get(url) for name, url in files.items()}

    # every listed file exists, WebP included; private while a draft, public and long-cached once approved
    assert {"master", "w800", "w320", "w800.webp", "w320.webp", "export-postmart", "export-voso"} <= set(files)
    assert set(drafts.values()) == {404}
    assert {name: r.status_code for name, r in approved.items()} == dict.fromkeys(files, 200)
    assert approved["w320"]["Cache-Control"] == "public, max-age=31536000, immutable"
    assert approved["w320"]["Content-Type"] == "image/jpeg"
    assert approved["w320.webp"]["Content-Type"] == "image/webp"
    assert api.get(file_url(ProductPhoto.objects.get(), "original")).status_code == 404
    # an URL whose version is not the file's current digest is not served (the long cache stays truthful)
    stale = files["w320"].rsplit("/", 2)[0] + "/0000000000000000/"
    assert api.get(stale).status_code == 404


@pytest.mark.django_db
def test_ready_photos_complete_the_photo_items_of_readiness(api, login, tea, member):
    login(member)
    for role, seed in (("front", 1), ("label_back", 2), ("packaging", 3)):
        photo_process_task(upload(api, tea, jpeg_bytes(photo_like(900, 900, seed=seed)), role=role).json()["id"])

    missing = ProductReadiness.objects.get(product=tea, channel="voso").missing

    assert {"kind": "photo", "key": "front"} not in missing
    assert {"kind": "photo", "key": "label_back"} not in missing
    assert {"kind": "photo", "key": "any"} not in missing


@pytest.mark.django_db
def test_primary_photo_order_and_role_are_edited_with_patch(api, login, tea, member):
    login(member)
    first = upload(api, tea, jpeg_bytes(photo_like(900, 900, seed=1))).json()["id"]
    second = upload(api, tea, jpeg_bytes(photo_like(900, 900, seed=2)), role="packaging").json()["id"]

    tiny = upload(api, tea, CORPUS["tiny_front"].data, role="other").json()["id"]
    as_front = api.patch(f"/api/v1/photos/{tiny}/", {"role": "front"}, format="json")
    not_ready = api.patch(f"/api/v1/photos/{tiny}/", {"is_primary": True}, format="json")
    photo_process_task(first)
    photo_process_task(second)
    api.patch(f"/api/v1/photos/{first}/", {"is_primary": True}, format="json")
    api.patch(f"/api/v1/photos/{second}/", {"is_primary": True, "position": 0}, format="json")

    assert list(not_ready.json()["fields"]) == ["is_primary"]
    assert ProductPhoto.objects.get(pk=second).is_primary
    assert not ProductPhoto.objects.get(pk=first).is_primary
    assert as_front.status_code == 400
    assert list(as_front.json()["fields"]) == ["role"]


@pytest.mark.django_db
def test_deleting_a_photo_removes_its_files(api, login, tea, member, django_capture_on_commit_callbacks):
    login(member)
    photo_id = upload(api, tea, jpeg_bytes(photo_like(900, 900))).json()["id"]
    photo_process_task(photo_id)
    keys = [
        ProductPhoto.objects.get().original_key,
        *(d["key"] for d in ProductPhoto.objects.get().derivatives.values()),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/photos/{photo_id}/").status_code == 204

    assert not any(default_storage.exists(key) for key in keys)


@pytest.mark.django_db
def test_the_photo_list_runs_the_same_queries_for_5_or_50(api, login, tea, member):
    login(member)
    for seed in range(52):
        ProductPhoto.objects.create(
            product=tea, role="other", original_key=f"k{seed}", sha256=f"{seed:064d}", original_bytes=1,
            original_format="JPEG", position=seed,
        )  # fmt: skip

    counts = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as captured:
            assert len(api.get(f"/api/v1/products/{tea.pk}/photos/", {"page_size": size}).json()["results"]) == size
        counts.append(len(captured))

    assert counts[0] == counts[1]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_the_accepted_corpus_and_leaves_no_temporary_file(
    api, login, tmp_path, monkeypatch, settings
):
    """End to end: uploads through the API, processing by a separate Celery worker process on "images"."""
    from django.core.management import call_command

    from tests.conftest import celery_worker

    call_command("load_admin_units", verbosity=0)  # transaction=True tests start from an empty database
    call_command("load_catalog_reference", verbosity=0)
    product = product_create(producer=producer(), name="Chè", product_set=product_set(11))
    login(user_with_role("superuser"))
    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(worker_tmp))
    monkeypatch.setenv("MEDIA_ROOT", str(default_storage.location))

    accepted = [s for s in CORPUS.values() if s.expect == ACCEPTED]
    queue = f"images-test-{os.getpid()}"  # a queue of its own: a developer's running worker cannot take these
    settings.PHOTO_QUEUE = queue
    with celery_worker(queue) as worker:
        ids = [upload(api, product, s.data, role="packaging", filename=s.filename).json()["id"] for s in accepted]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and ProductPhoto.objects.filter(status="processing").exists():
            time.sleep(0.5)
        assert worker.poll() is None, "the worker crashed"

    statuses = dict(ProductPhoto.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert set(statuses.values()) == {"ready"}, statuses
    assert list(worker_tmp.iterdir()) == []


@pytest.mark.django_db
def test_an_edit_made_while_processing_is_kept_when_the_worker_finishes(api, login, tea, member):
    login(member)
    photo_id = upload(api, tea, jpeg_bytes(photo_like(900, 900)), role="packaging").json()["id"]

    api.patch(f"/api/v1/photos/{photo_id}/", {"alt_text": "Gói chè 200 g", "role": "front"}, format="json")
    photo_process_task(photo_id)

    photo = ProductPhoto.objects.get()
    assert (photo.status, photo.role, photo.alt_text) == ("ready", "front", "Gói chè 200 g")


@pytest.mark.django_db
def test_a_photo_deleted_while_processing_stays_deleted_and_leaves_no_file(api, login, tea, member):
    from catalog.photos import services

    login(member)
    data = jpeg_bytes(photo_like(900, 900))
    photo_id = upload(api, tea, data).json()["id"]
    before = stored_files()
    photo = ProductPhoto.objects.get()
    processed = __import__("catalog.photos.pipeline", fromlist=["photo_process"]).photo_process(data)

    ProductPhoto.objects.filter(pk=photo_id).delete()  # the delete wins the race
    assert services.photo_processing_succeeded(photo_id=photo.pk, processed=processed) is None

    assert not ProductPhoto.objects.exists()
    assert stored_files() == before  # the derivatives just stored were discarded


@pytest.mark.django_db
def test_a_missing_original_fails_the_photo_instead_of_retrying_for_ever(api, login, tea, member):
    login(member)
    photo_id = upload(api, tea, jpeg_bytes(photo_like(900, 900))).json()["id"]
    default_storage.delete(ProductPhoto.objects.get().original_key)

    assert photo_process_task(photo_id) == "failed"

    assert ProductPhoto.objects.get().status == "failed"
    assert api.get(f"/api/v1/photos/{photo_id}/").json()["failure"]
    assert photo_process_task(photo_id) == "skipped"  # idempotent: a redelivered message does nothing


@pytest.mark.django_db
def test_quality_hints_are_warnings_in_readiness_not_refusals(api, login, tea, member):
    from PIL import ImageFilter

    login(member)
    blurry = photo_like(900, 900, seed=4).filter(ImageFilter.GaussianBlur(6))
    photo_id = upload(api, tea, jpeg_bytes(blurry)).json()["id"]
    photo_process_task(photo_id)

    channels = api.get(f"/api/v1/products/{tea.pk}/readiness/").json()["channels"]

    assert ProductPhoto.objects.get().status == "ready"
    assert all(any("mờ" in w for w in c["warnings"]) for c in channels)
