"""Cache reads and writes for what the cache only speeds up (ready KPI answers, resolved lineage): while the
cache is unreachable (Redis restarting), a read is a miss and a write is skipped, so requests are answered
from the database, slower, instead of failing. Django's Redis backend raises on a lost connection and has no
option to ignore it; these two functions are that option. Locks and counters that must not be skipped use the
cache directly."""

from __future__ import annotations

import logging

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def cache_get(key: str, default=None):
    try:
        return cache.get(key, default)
    except (RedisError, OSError):
        logger.warning("cache unreachable: %s read as a miss", key, exc_info=True)
        return default


def cache_set(key: str, value, timeout: float | None) -> None:
    try:
        cache.set(key, value, timeout)
    except (RedisError, OSError):
        logger.warning("cache unreachable: %s not kept", key, exc_info=True)
