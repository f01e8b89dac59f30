"""The service fetches only from configured hosts (OUTBOUND_ALLOWED_HOSTS): not the cloud metadata address, not a
file, not a host hidden behind URL-parser tricks, not where a redirect points."""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
from requests.adapters import HTTPAdapter

from integrations.adapters.base import ChannelError, Session
from integrations.adapters.http import call, json_body
from marketplace.core.http import HostNotAllowed, http_session

FORBIDDEN = [
    "http://169.254.169.254/latest/meta-data/",
    "file:///etc/passwd",
    "http://metadata.google.internal/",
    # urlsplit reads 127.0.0.1 here, but urllib3 (what connects) reads evil.example: the host it would reach
    "http://evil.example\\@127.0.0.1/",
    "http://127.0.0.1@169.254.169.254/",
    "http://[::1]:8000/admin/",
    "http://2130706433/",
    "http://localhost./",
    "https://api.stripe.com.evil.example/v1/charges",
]


@pytest.fixture
def sent(monkeypatch):
    """Every request that would leave the process (none should)."""
    calls = []
    monkeypatch.setattr(HTTPAdapter, "send", lambda self, request, **kwargs: calls.append(request.url))
    return calls


@pytest.mark.parametrize("url", FORBIDDEN)
def test_a_url_outside_the_allowed_hosts_is_refused_before_anything_is_sent(settings, sent, url):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

    with pytest.raises(HostNotAllowed):
        http_session().get(url)

    assert sent == []


class _Redirect(BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):
        type(self).hits.append(self.path)
        self._redirect()

    def do_POST(self):
        self._redirect()

    def _redirect(self):
        self.send_response(302)
        self.send_header("Content-Length", "0")
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/iam/")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def redirecting_server():
    _Redirect.hits = []
    server = HTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_redirect_from_an_allowed_host_to_another_is_never_followed(settings, redirecting_server):
    # given an allowed loopback server that redirects to the cloud metadata address
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    session = http_session()

    # when the client GETs it (requests' get() asks to follow redirects by itself), and POSTs to it
    url = f"{redirecting_server}/shop"
    answers = [session.get(url), session.get(url, allow_redirects=True), session.post(url)]

    # then each 302 comes back as it is: the metadata address was never asked
    assert [a.status_code for a in answers] == [302, 302, 302]
    assert _Redirect.hits == ["/shop", "/shop"]


def test_a_redirect_hop_to_another_host_is_refused_even_when_requests_builds_it(settings):
    # given a prepared hop from an allowed host to the metadata address, as requests' redirect loop sends it
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    hop = requests.Request("GET", "http://169.254.169.254/latest/meta-data/").prepare()

    # then the session refuses to send it
    with pytest.raises(HostNotAllowed):
        http_session().send(hop)


def test_a_channel_base_url_outside_the_allowed_hosts_fails_the_call_for_good_without_sending(settings, sent):
    # given a connection whose base URL someone set to the metadata address (in the admin)
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    records = []
    session = Session(base_url="http://169.254.169.254", shop_id="1", credentials={}, settings={},
                      record=records.append)  # fmt: skip

    # when an adapter calls it
    with pytest.raises(ChannelError) as refused:
        call(session, operation="login", bucket="b", method="POST", url="http://169.254.169.254/api/login",
             path="/api/login", summary={}, parse=json_body)  # fmt: skip

    # then it is a permanent failure a person must fix (no retry storm), recorded, and nothing was sent
    assert refused.value.code == "host_not_allowed" and not refused.value.retryable
    assert [r.error_code for r in records] == ["host_not_allowed"]
    assert sent == []


def test_the_stripe_client_reaches_only_the_allowed_hosts(settings, sent):
    from storefront import stripe_api

    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.STRIPE_API_BASE = "http://169.254.169.254"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0

    with pytest.raises(Exception) as refused:
        stripe_api.stripe_client().v1.balance.retrieve()

    assert sent == []
    assert "not allowed" in str(refused.value), refused.value
