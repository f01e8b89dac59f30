"""The one outbound HTTP client: timeouts always, no redirects, and only the hosts the settings allow.

Every call the service makes to somebody else's system (marketplaces, payment) goes through `http_session()`.
It never retries by itself: whether a call may be repeated depends on what it does (a create is not safe to
repeat blindly), so retrying is decided by the caller that knows the operation.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.conf import settings

DEFAULT_TIMEOUT = (3.05, 15)  # (connect, read) seconds


class HostNotAllowed(requests.RequestException):
    """The URL's host is not one the settings allow this service to call."""


class GuardedSession(requests.Session):
    def __init__(self, allowed_hosts: set[str], timeout: tuple[float, float]):
        super().__init__()
        self.allowed_hosts = allowed_hosts
        self.default_timeout = timeout
        self.trust_env = False  # a proxy from the environment must not see marketplace credentials

    def request(self, method, url, *args, **kwargs):
        host = urlsplit(url).hostname or ""
        if "*" not in self.allowed_hosts and host not in self.allowed_hosts:
            raise HostNotAllowed(f"outbound calls to {host!r} are not allowed (OUTBOUND_ALLOWED_HOSTS)")
        kwargs.setdefault("timeout", self.default_timeout)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, *args, **kwargs)


def http_session(timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> GuardedSession:
    """A session for outbound calls, limited to settings.OUTBOUND_ALLOWED_HOSTS."""
    return GuardedSession(set(settings.OUTBOUND_ALLOWED_HOSTS), timeout)
