"""The API's throttles (settings.REST_FRAMEWORK), letting requests through while the cache that counts them is
unreachable (Redis restarting): throttling guards against abuse, and is no reason to answer 500 to every API
request for as long as Redis is away. Sign-in lockouts (django-axes) keep their own records in the database."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rest_framework import throttling

logger = logging.getLogger(__name__)


class _FailOpen:
    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError):
            logger.warning("throttle cache unreachable: request let through", exc_info=True)
            return True


class AnonRateThrottle(_FailOpen, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_FailOpen, throttling.UserRateThrottle):
    pass
