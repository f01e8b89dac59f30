"""Client-side rate limiting shared by every worker process: a token bucket in Redis, set just under each
marketplace's limit so that we rarely meet a 429 at all.

Why by hand: the rate-limiting libraries on PyPI limit *incoming* requests (django-ratelimit) or keep their
state per process (ratelimit, pyrate-limiter's in-memory buckets); we need one bucket per shop shared by
several Celery processes that *waits* rather than refuses, which one Lua script does atomically.
Without Redis (the embedded `make run`), the bucket lives in the process: right for one worker per channel.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

# Reserve a token and answer how long to wait for it (GCRA-style: tokens may go below zero, and the
# caller sleeps until its own token has accrued). Redis's TIME is the clock, so every process agrees.
_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate) - 1
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', KEYS[1], 60)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""

_local: dict[str, tuple[float, float]] = {}
_local_lock = threading.Lock()
_script = None


def _redis_script():
    global _script
    if _script is None:
        import redis

        _script = redis.Redis.from_url(settings.RATE_LIMIT_REDIS_URL).register_script(_LUA)
    return _script


def _limits(bucket: str) -> tuple[float, float] | None:
    kind = bucket.split("@", 1)[0]
    value = settings.CHANNEL_RATE_LIMITS.get(kind)
    return (float(value[0]), float(value[1])) if value else None


def _reserve_local(bucket: str, rate: float, burst: float) -> float:
    with _local_lock:
        now = time.monotonic()
        tokens, ts = _local.get(bucket, (burst, now))
        tokens = min(burst, tokens + (now - ts) * rate) - 1
        _local[bucket] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / rate


def throttle(bucket: str) -> float:
    """Wait until `bucket` ("<kind>@<shop>") allows one more call; returns the seconds waited."""
    limits = _limits(bucket)
    if limits is None:
        return 0.0
    rate, burst = limits
    if settings.RATE_LIMIT_REDIS_URL:
        wait = float(_redis_script()(keys=[f"ratelimit:{bucket}"], args=[rate, burst]))
    else:
        wait = _reserve_local(bucket, rate, burst)
    if wait > 0:
        time.sleep(wait)
    return wait
