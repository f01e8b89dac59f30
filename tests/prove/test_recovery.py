"""The quick variant of `python -m tests.prove.recovery` (issue 8), inside `make test`: one restart of a Redis of
our own (the broker) and one drop of every PostgreSQL connection, with a real worker process, each bounded to a
minute. The long drill does both under load, several times."""

import os
import shutil
import signal
import time
import uuid

import pytest
from django.core.management import call_command
from django.db import connection

from catalog.photos.models import ProductPhoto
from catalog.photos.tasks import photos_requeue_stale
from catalog.services import product_create
from integrations.models import ChannelConnection, ConnectionKind, Listing
from integrations.sync.services import listing_enqueue, listings_release_deferred
from marketplace.celery import app
from tests.conftest import celery_worker
from tests.factories import PASSWORD, producer, product_set, user_with_role
from tests.integrations.marketplaces import photo
from tests.prove.recovery import RedisServer, free_port, terminate_connections

pytestmark = pytest.mark.django_db(transaction=True)
needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH")


@pytest.fixture
def broker(monkeypatch, settings, tmp_path):
    """A redis-server of our own as the broker of this process and of the workers the test starts."""
    # Read before CELERY_BROKER_URL changes: Celery's conf.broker_url reads that variable first, so reading it
    # afterwards would "restore" this test's Redis for every later test.
    previous = app.conf.broker_url, app.conf.broker_transport_options
    with RedisServer(workdir=str(tmp_path)) as server:
        url = f"{server.url}/0"
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.setenv("CELERY_RESULT_BACKEND", "")
        monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))
        app.conf.broker_url, app.conf.broker_transport_options = url, {"visibility_timeout": 3600}
        _forget_connections()
        settings.PHOTO_QUEUE = f"images-{uuid.uuid4().hex[:8]}"  # no other worker takes this test's photos
        try:
            yield server
        finally:
            app.conf.broker_url, app.conf.broker_transport_options = previous
            _forget_connections()


def _forget_connections():
    # The producer pool is bound to the broker URL it was first made with.
    app._pool = None
    app.amqp._producer_pool = None


def _upload(api, product, seed):
    image = photo(seed, size=600)
    return api.post(f"/api/v1/products/{product.pk}/photos/", {"image": image, "role": "in_use"}, format="multipart")


def _wait_ready(ids, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not ProductPhoto.objects.filter(pk__in=ids).exclude(status="ready").exists():
            return True
        time.sleep(0.3)
    return False


@needs_redis_server
def test_a_redis_restart_loses_no_accepted_upload_and_no_listing_push(api, login, broker, settings, tmp_path):
    # given a worker on the photo queue, through a Redis of our own
    for command in ("load_admin_units", "load_catalog_reference"):  # transaction=True tests start empty
        call_command(command, verbosity=0)
    product = product_create(producer=producer(), name="Chè Shan tuyết Suối Giàng", product_set=product_set(11))
    login(user_with_role("superuser"))
    with celery_worker(settings.PHOTO_QUEUE, tmp_path / "worker.log") as process:
        before = _upload(api, product, 1)
        assert before.status_code == 202, before.content
        assert _wait_ready([before.json()["id"]]), (tmp_path / "worker.log").read_text()[-3000:]

        # when Redis stops: an upload and a listing push are asked for while it is down
        broker.stop(signal.SIGKILL)
        during = _upload(api, product, 2)
        shop = ChannelConnection.objects.create(channel="postmart", kind=ConnectionKind.SHARED_BOOTH, name="Gian hàng",
                                                base_url="http://127.0.0.1:9", shop_id="1")  # fmt: skip
        listing = Listing.objects.create(sku=product.skus.first() or _sku(product), product=product, channel="postmart",
                                         connection=shop, seller_sku="HTX-CHE-1", state="queued")  # fmt: skip
        from django.db import transaction

        with transaction.atomic():
            listing_enqueue(listing)  # the broker refuses it at commit: the caller must not fail

        # then the upload was accepted (stored, not a 500 that a client would send again as a duplicate)
        assert during.status_code == 202, during.content
        assert ProductPhoto.objects.get(pk=during.json()["id"]).status == "processing"

        # when Redis is back (empty: what was queued is gone) and the backstops run, as beat runs them
        broker.start()
        after = _upload(api, product, 3)
        assert after.status_code == 202, after.content
        requeued = photos_requeue_stale(stale_after_s=0)
        released = listings_release_deferred(lost_after_s=0)

        # then every accepted upload is processed by the worker, which reconnected by itself, and nothing twice
        assert requeued >= 1 and released == 1
        ids = [before.json()["id"], during.json()["id"], after.json()["id"]]
        assert _wait_ready(ids), dict(ProductPhoto.objects.values_list("pk", "status"))
        assert process.poll() is None
    assert ProductPhoto.objects.filter(product=product).count() == 3


def _sku(product):
    from catalog.services import sku_create

    return sku_create(product=product, net_quantity=200, net_unit="g", weight_grams=250, length_cm=10, width_cm=8,
                      height_cm=15, price_vnd=180_000, stock=5)  # fmt: skip


@needs_redis_server
@pytest.mark.postgres
def test_dropped_postgresql_connections_are_replaced_by_the_web_and_the_worker(live_server, broker, settings, tmp_path):
    import requests

    # given the web server and a worker, each holding a persistent PostgreSQL connection
    for command in ("load_admin_units", "load_catalog_reference"):  # transaction=True tests start empty
        call_command(command, verbosity=0)
    product = product_create(producer=producer(), name="Chè Shan tuyết Suối Giàng", product_set=product_set(11))
    user = user_with_role("superuser", username="drill")
    token = requests.post(f"{live_server.url}/api/v1/auth/token/", json={"username": user.username,
                          "password": PASSWORD}, timeout=10)  # fmt: skip
    assert token.status_code == 200, token.content
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token.json()['token']}"

    def upload(seed):
        image = photo(seed, size=600)
        files = {"image": (image.name, image.read(), "image/jpeg")}
        url = f"{live_server.url}/api/v1/products/{product.pk}/photos/"
        return session.post(url, timeout=30, files=files, data={"role": "in_use"})

    with celery_worker(settings.PHOTO_QUEUE, tmp_path / "worker.log") as process:
        first = upload(1)
        assert first.status_code == 202 and _wait_ready([first.json()["id"]])

        # when every other connection to the database is terminated (a failover, a restart of PostgreSQL)
        db = connection.settings_dict
        with connection.cursor() as cursor:  # this test's own connection stays: it is not the service's
            cursor.execute("SELECT pg_backend_pid()")
            mine = cursor.fetchone()[0]
        login = f"{db['USER']}:{db['PASSWORD']}" if db.get("PASSWORD") else db["USER"]
        url = f"postgres://{login}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        assert terminate_connections(url, db["NAME"], keep=[mine]) >= 2  # the web server's and the worker's

        # then the next request and the next task run on new connections, with no error
        assert requests.get(f"{live_server.url}/readyz", timeout=10).status_code == 200
        second = upload(2)
        assert second.status_code == 202, second.content
        assert _wait_ready([second.json()["id"]])
        assert process.poll() is None
    assert os.environ["CELERY_BROKER_URL"].startswith("redis://127.0.0.1:")


def test_the_api_answers_while_the_cache_that_counts_throttles_is_down(api, login, settings):
    # given the cache (Redis, as in production) is unreachable: restarting, or gone
    user = user_with_role("superuser")
    login(user)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}  # fmt: skip

    # when the API is asked for something, signed in or not
    signed_in = api.get("/api/v1/producers/")
    api.credentials()
    anonymous = api.get("/api/v1/schema/?format=json")

    # then it answers (DRF's throttles answered 500 for as long as Redis was away)
    assert (signed_in.status_code, anonymous.status_code) == (200, 200), signed_in.content[:300]
