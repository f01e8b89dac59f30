"""A real localstripe process for the storefront's payment tests, and products on sale in the storefront."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid

import pytest
import requests

from tests.conftest import ROOT
from tests.integrations.marketplaces import free_port

SECRET_KEY = "sk_test_storefront"
PUBLISHABLE_KEY = "pk_test_storefront"
WEBHOOK_SECRET = "whsec_test_storefront"
NOWHERE = "http://127.0.0.1:9/"  # nothing listens there: deliveries fail, as a lost webhook would


@pytest.fixture(scope="session")
def localstripe_url():
    """The launcher as a separate process on a free loopback port, ready once /v1/balance answers."""
    port = free_port()
    command = [sys.executable, "-m", "storefront.localstripe_server", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(requests.ConnectionError):  # not listening yet
                answer = requests.get(f"{url}/v1/balance", headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=1)
                if answer.status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("localstripe did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def webhook_register(url: str, target: str) -> None:
    answer = requests.post(f"{url}/_config/webhooks/test", data={"url": target, "secret": WEBHOOK_SECRET}, timeout=5)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def stripe_server(localstripe_url, settings):
    """Settings pointed at the test's localstripe, flushed before and after; webhooks go nowhere unless a
    test registers its live server (`webhooks_to_live_server`)."""
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    # A queue of this test only: nothing left in the broker by another test runs here, and vice versa.
    settings.CHANNEL_QUEUES = {**settings.CHANNEL_QUEUES, "storefront": f"test-sf-{uuid.uuid4().hex[:8]}"}
    requests.delete(f"{localstripe_url}/_config/data", timeout=5)
    webhook_register(localstripe_url, NOWHERE)
    yield localstripe_url
    requests.delete(f"{localstripe_url}/_config/data", timeout=5)
    webhook_register(localstripe_url, NOWHERE)


@pytest.fixture
def webhooks_to_live_server(stripe_server, live_server):
    webhook_register(stripe_server, f"{live_server.url}/webhooks/stripe/")
    return live_server
