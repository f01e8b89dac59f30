import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` are skipped on SQLite, with the reason printed in the summary (-ra)."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://")):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… (as .ci/run does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the real administrative units (vietnamadminunits) once into the test database."""
    with django_db_blocker.unblock():
        call_command("load_admin_units", verbosity=0)
        call_command("load_catalog_reference", verbosity=0)
        call_command("load_channel_reference", verbosity=0)


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # PBKDF2 at full strength makes every sign-in in the permission matrix cost ~0.3 s.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Read the KPI's generations on every request: a test's transaction is rolled back under the process's memo
    # (tests/kpi/test_answers.py turns it on where it is the subject).
    settings.KPI_GENERATIONS_SECONDS = 0


@pytest.fixture(autouse=True)
def _locmem_cache(settings):
    from django.core.cache import cache

    from marketplace.places.selectors import lineage_changed

    cache.clear()
    lineage_changed()  # the process's own memo of lineage answers too: each test has its own places


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def login(api):
    """Authenticate the API client as `user` with a real token from /api/v1/auth/token/."""

    def _login(user):
        response = api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 200, response.content
        api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        # The first request of a user resolves their area through lineage, which the process then keeps
        # (places.selectors): resolved here, so that every request of a test costs the same queries.
        from marketplace.accounts.scoping import user_reach

        user_reach(type(user).objects.get(pk=user.pk))
        return api

    return _login


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


def subprocess_database_url() -> str:
    """The URL of the database this test run uses, so that the worker reads and writes the same one."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def celery_worker(queue: str, log_path=None):
    """A real Celery worker process consuming `queue`, against this test run's database and broker; its log is
    kept at `log_path` (INFO) when given, for a test to show on failure."""
    command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", queue, "--pool", "solo"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
    command += ["--loglevel", "INFO" if log_path else "WARNING"]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings", "DATABASE_URL": subprocess_database_url()}
    # Output to a file, not a pipe: nobody reads a pipe while the test runs, and a full one blocks the worker.
    with open(log_path, "wb") if log_path else tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def worker_queue():
    """A worker on a queue of its own, so that a developer's running worker cannot take the test's task."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    with celery_worker(queue):
        yield queue


@pytest.fixture
def images_worker():
    """A worker on the "images" queue, where photo processing is routed."""
    with celery_worker("images") as process:
        yield process


# The mock marketplaces as real processes (one per test module), for the listing and order scenarios.
@pytest.fixture(scope="module")
def pm_url():
    from tests.integrations.marketplaces import mock_process

    with mock_process("integrations.mocks.postmart") as url:
        yield url


@pytest.fixture(scope="module")
def vs_url():
    from tests.integrations.marketplaces import mock_process

    with mock_process("integrations.mocks.voso") as url:
        yield url


@pytest.fixture
def fresh_marketplaces(pm_url, vs_url, settings, live_server):
    """Both mocks reset, reviews decided at once, and the service pointed at this test's server and queues."""
    from tests.integrations.marketplaces import admin

    # transaction=True tests start from an empty database (live_server and the webhooks need commits)
    for command in ("load_admin_units", "load_catalog_reference", "load_channel_reference"):
        call_command(command, verbosity=0)
    admin(pm_url, "POST", "/reset")
    admin(vs_url, "POST", "/reset")
    # Decide reviews at once (the delays are what time_scale shrinks; here they would only slow the test).
    admin(pm_url, "PUT", "/review-config", delay_s=0, jitter_s=0)
    admin(vs_url, "PUT", "/review-config", delay_s=0, jitter_s=0)
    settings.PHOTO_EXPORT_BASE_URL = settings.WEBHOOK_BASE_URL = live_server.url
    # Queues of this test only: no worker takes its tasks, and nothing another test left can run here; the tests
    # apply the inbox themselves (wait_for).
    suffix = uuid.uuid4().hex[:8]
    settings.CHANNEL_QUEUES = {"postmart": f"test-pm-{suffix}", "voso": f"test-vs-{suffix}"}
