"""`make run`'s demo connection (integrations/demo.py) against the real mock marketplace processes."""

import itertools
import uuid
from contextlib import contextmanager

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import OperationalError

import catalog.demo
import integrations.demo
from catalog.demo import demo_catalog_load, demo_catalog_showcase
from catalog.models import ProductReadiness
from integrations.demo import DemoChannelsError, demo_channels_connect
from integrations.models import ChannelConnection, Listing, RemoteImage
from integrations.sync.content import listing_content
from integrations.sync.engine import listing_sync
from tests.integrations.marketplaces import admin, free_port, mock_process, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_catalogue(monkeypatch):
    # transaction=True tests start from an empty database (live_server and the webhooks need commits)
    for command in ("load_admin_units", "load_catalog_reference", "load_channel_reference"):
        call_command(command, verbosity=0)
    demo_catalog_load()
    # Two showcase products are enough here, and photo processing is what the full list would cost.
    monkeypatch.setattr(catalog.demo, "SHOWCASE", dict(itertools.islice(catalog.demo.SHOWCASE.items(), 2)))
    assert demo_catalog_showcase() == 2


@pytest.fixture
def demo_settings(settings, live_server, demo_catalogue):
    settings.PHOTO_EXPORT_BASE_URL = settings.WEBHOOK_BASE_URL = live_server.url
    settings.CHANNEL_RATE_LIMITS = {}  # pacing is not this test's subject (the mocks' limits are lifted too)
    # Queues of this test only: no worker takes the pushes; the test makes them itself with listing_sync.
    suffix = uuid.uuid4().hex[:8]
    settings.CHANNEL_QUEUES = {"postmart": f"test-pm-{suffix}", "voso": f"test-vs-{suffix}"}
    return settings


@contextmanager
def mocks(settings):
    """Both mock processes, started afresh as `make run` does, with their default seed."""
    with mock_process("integrations.mocks.postmart") as pm_url, mock_process("integrations.mocks.voso") as vs_url:
        admin(pm_url, "PUT", "/limits", enabled=False)
        admin(vs_url, "PUT", "/limits", rate_per_s=1000, migrate_per_s=1000)
        settings.POSTMART_URL, settings.VOSO_URL = pm_url, vs_url
        yield pm_url, vs_url


def mock_state(url):
    return requests.get(f"{url}/__admin/state", timeout=5).json()


def test_connect_push_connect_again_then_after_the_mocks_restart(demo_settings, live_server):
    # given the demo catalogue with its two ready products and the two mocks just started
    ready = set(ProductReadiness.objects.filter(ready=True, channel="postmart").values_list("product_id", flat=True))
    assert len(ready) == 2
    with mocks(demo_settings) as (pm_url, vs_url):
        # when the demo is connected
        first = demo_channels_connect()

        # then there is one booth per marketplace, authorized, with Postmart's pushes and Voso's webhooks set up
        assert first.booths == {"postmart": "created", "voso": "created"}
        booths = {c.channel: c for c in ChannelConnection.objects.all()}
        assert set(booths) == {"postmart", "voso"}
        assert all(c.access_token and c.area.code == "15" and c.kind == "shared_booth" for c in booths.values())
        assert booths["voso"].credentials["webhook_secrets"]
        callbacks = [c["callback_url"] for c in mock_state(pm_url)["push_configs"]]
        assert callbacks == [f"{live_server.url}/webhooks/postmart/"]
        # and each ready product has one listing per marketplace, queued; its certificate is in both registries
        listings = Listing.objects.all()
        assert {(listing.product_id, listing.channel) for listing in listings} == {
            (product, channel) for product in ready for channel in ("postmart", "voso")
        }
        assert {listing.state for listing in listings} == {"queued"}
        assert first.queued == {"postmart": 2, "voso": 2} and first.certificates == 4
        sent = {listing_content(listing=listing).ocop.number for listing in listings}
        assert sent <= {c["certificate_no"] for c in mock_state(pm_url)["ocop_registry"]}
        assert sent <= {c["number"] for c in mock_state(vs_url)["ocopCertificates"]}

        # when the listings are pushed (as the channels worker would)
        for listing in listings:
            assert listing_sync(listing_id=listing.pk).result == "pushed"

        # then Voso's approvals come by webhook
        wait_for(lambda: voso_states() == {"live"})
        bound = dict(Listing.objects.values_list("pk", "external_id"))
        assert all(bound.values()) and RemoteImage.objects.exists()

        # when the demo is connected again while the mocks run
        second = demo_channels_connect()

        # then nothing is duplicated and nothing is sent again
        assert second.booths == {"postmart": "updated", "voso": "updated"}
        assert second.restarted == {"postmart": False, "voso": False} and second.resent == {}
        assert (
            ChannelConnection.objects.count() == 2 and dict(Listing.objects.values_list("pk", "external_id")) == bound
        )

    # when both mocks are started again, empty (as by the next `make run`), and the demo is connected again
    with mocks(demo_settings) as (pm_url, vs_url):
        third = demo_channels_connect()

        # then the stale bindings are forgotten and every listing is queued to be sent from scratch
        assert third.restarted == {"postmart": True, "voso": True}
        assert third.resent == {"postmart": 2, "voso": 2}
        assert ChannelConnection.objects.count() == 2
        for listing in Listing.objects.all():
            assert (listing.state, listing.external_id, listing.applied_hash) == ("queued", "", "")
            assert listing.events.last().note == "the marketplace restarted empty: sent again"
        assert not RemoteImage.objects.exists()
        # and the next push makes new items there, whose webhooks count although the restarted mock, seeded as
        # before and asked the same, hands out the same event ids again
        for listing in Listing.objects.all():
            assert listing_sync(listing_id=listing.pk).result == "pushed"
        assert len(mock_state(pm_url)["items"]) == 2
        assert len(mock_state(vs_url)["products"]) == 2
        wait_for(lambda: voso_states() == {"live"})


def voso_states() -> set[str]:
    return set(Listing.objects.filter(channel="voso").values_list("state", flat=True))


def test_a_busy_database_makes_it_connect_again(monkeypatch):
    # given a database locked by another process the first time (SQLite while `make run`'s workers start)
    calls = []

    def connect(http, urls, result):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        result.queued["postmart"] = 1

    monkeypatch.setattr(integrations.demo, "_wait_for", lambda *args, **kwargs: None)
    monkeypatch.setattr(integrations.demo, "_connect", connect)
    monkeypatch.setattr(integrations.demo.time, "sleep", lambda seconds: None)

    # when the demo is connected
    result = demo_channels_connect()

    # then the whole connection (idempotent) was made again
    assert len(calls) == 2 and result.queued == {"postmart": 1}


def test_it_says_which_service_does_not_answer(settings):
    # given no mock on the configured Postmart port
    settings.POSTMART_URL = f"http://127.0.0.1:{free_port()}"

    # when / then
    with pytest.raises(DemoChannelsError, match=settings.POSTMART_URL):
        demo_channels_connect(wait_s=0.3)


def test_the_command_is_refused_in_production(settings):
    settings.DJANGO_ENV = "production"

    with pytest.raises(CommandError, match="development only"):
        call_command("connect_demo_channels")
