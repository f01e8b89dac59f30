"""The one outbound HTTP client: timeouts always, no redirects, and only the hosts the settings allow.

Every call the service makes to somebody else's system (marketplaces, payment) goes through `http_session()`.
It never retries by itself: whether a call may be repeated depends on what it does (a create is not safe to
repeat blindly), so retrying is decided by the caller that knows the operation.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.conf import settings
from urllib3.util import parse_url

DEFAULT_TIMEOUT = (3.05, 15)  # (connect, read) seconds


class HostNotAllowed(requests.RequestException):
    """The URL's host is not one the settings allow this service to call."""


class GuardedSession(requests.Session):
    def __init__(self, allowed_hosts: set[str], timeout: tuple[float, float]):
        super().__init__()
        self.allowed_hosts = allowed_hosts
        self.default_timeout = timeout
        self.trust_env = False  # a proxy from the environment must not see marketplace credentials

    def _check(self, host: str) -> None:
        if "*" not in self.allowed_hosts and host not in self.allowed_hosts:
            raise HostNotAllowed(f"outbound calls to {host!r} are not allowed (OUTBOUND_ALLOWED_HOSTS)")

    def request(self, method, url, *args, **kwargs):
        self._check(urlsplit(url).hostname or "")
        kwargs.setdefault("timeout", self.default_timeout)
        # Forced, not defaulted: Session.get() passes allow_redirects=True itself, so GETs used to follow redirects.
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)

    def send(self, request, **kwargs):
        # Checked again on the prepared URL, as urllib3 reads it: that is the host it connects to. urlsplit and
        # urllib3 disagree on URLs like "http://evil.example\@127.0.0.1/" (urlsplit: 127.0.0.1; urllib3:
        # evil.example). Every hop of a redirect a caller asked to follow comes through here too.
        self._check((parse_url(request.url).host or "").lower())
        return super().send(request, **kwargs)


def http_session(timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> GuardedSession:
    """A session for outbound calls, limited to settings.OUTBOUND_ALLOWED_HOSTS."""
    return GuardedSession(set(settings.OUTBOUND_ALLOWED_HOSTS), timeout)
