import pytest


@pytest.fixture
def unthrottled(monkeypatch):
    """Generated requests by the hundred per actor: the rate limits (tested in tests/core) would answer 429."""
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "1000000/min", "user": "1000000/min"})
