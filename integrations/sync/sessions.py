"""A ready-to-call Session for a connection: a valid token, the shared rate limiter, the image cache, and
every call recorded as an attempt row. Tokens are refreshed once for all workers, under a row lock."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..adapters.base import Adapter, CallRecord, Session, TokenGrant
from ..adapters.registry import adapter_for
from ..models import ChannelConnection, ListingAttempt, RemoteImage
from .ratelimit import throttle

# Postmart image ids expire after 3 days unattached; forget ours a little earlier.
IMAGE_TTL = {"postmart": timedelta(days=2, hours=12), "voso": None}
# Refresh a token this long before it expires rather than meeting the 401/403 first.
TOKEN_MARGIN = timedelta(seconds=30)


def _recorder(connection: ChannelConnection, listing_id):
    def record(call: CallRecord) -> None:
        ListingAttempt.objects.create(
            listing_id=listing_id,
            connection=connection,
            operation=call.operation,
            method=call.method,
            path=call.path[:200],
            request_summary=call.request_summary,
            http_status=call.status,
            ok=call.ok,
            latency_ms=call.latency_ms,
            error_code=call.error_code[:60],
            error_message=call.error_message[:500],
        )

    return record


def _image_cache(connection: ChannelConnection):
    """What this shop already holds, by sha256: one query to read a listing's photos, one to store a batch."""
    ttl = IMAGE_TTL.get(connection.channel)

    def get(shas: list[str]) -> dict[str, str]:
        now = timezone.now()
        rows = RemoteImage.objects.filter(connection=connection, sha256__in=shas).values_list(
            "sha256", "ref", "expires_at"
        )
        return {sha: ref for sha, ref, expires in rows if expires is None or expires > now}

    def put(refs: dict[str, str]) -> None:
        if not refs:
            return
        expires = timezone.now() + ttl if ttl else None
        RemoteImage.objects.bulk_create(
            [RemoteImage(connection=connection, sha256=sha, ref=ref, expires_at=expires) for sha, ref in refs.items()],
            update_conflicts=True,
            unique_fields=["connection", "sha256"],
            update_fields=["ref", "expires_at"],
        )

    def drop(shas: list[str]) -> None:
        RemoteImage.objects.filter(connection=connection, sha256__in=shas).delete()

    return get, put, drop


def session_for(connection: ChannelConnection, *, listing_id=None) -> Session:
    get, put, drop = _image_cache(connection)
    return Session(
        base_url=connection.base_url,
        shop_id=connection.shop_id,
        credentials=connection.credentials,
        settings=connection.settings,
        token=connection.access_token,
        record=_recorder(connection, listing_id),
        throttle=lambda bucket: throttle(f"{bucket}@{connection.channel}:{connection.shop_id}"),
        image_cache_get=get,
        image_cache_put=put,
        image_cache_drop=drop,
    )


def connection_token_renew(*, connection_id: int, stale_generation: int) -> ChannelConnection:
    """Get a new token unless another worker already did (its generation moved on): single flight.

    The row lock makes the other workers wait here and then find the new token, instead of each spending
    Postmart's single-use refresh token (the second would be refused) or logging in to Voso all at once."""
    with transaction.atomic():
        connection = ChannelConnection.objects.select_for_update().get(pk=connection_id)
        if connection.token_generation != stale_generation and connection.access_token:
            return connection
        adapter: Adapter = adapter_for(connection.channel)
        session = session_for(connection)
        if connection.refresh_token:
            grant = adapter.refresh(session, connection.refresh_token)
        else:
            grant = adapter.login(session)
        return _grant_store(connection, grant)


def connection_authorize(*, connection_id: int, code: str) -> ChannelConnection:
    """Exchange a shop owner's authorization code (Postmart, single use) for a first token pair and store it.

    Under the same row lock as a renewal, and as a new generation, so no worker keeps spending the old pair."""
    with transaction.atomic():
        connection = ChannelConnection.objects.select_for_update().get(pk=connection_id)
        grant = adapter_for(connection.channel).authorize(session_for(connection), code)
        return _grant_store(connection, grant)


def _grant_store(connection: ChannelConnection, grant: TokenGrant) -> ChannelConnection:
    connection.access_token = grant.access_token
    connection.refresh_token = grant.refresh_token or connection.refresh_token
    connection.token_expires_at = timezone.now() + timedelta(seconds=grant.expires_in)
    connection.token_generation += 1
    connection.save(update_fields=["access_token", "refresh_token", "token_expires_at", "token_generation"])
    return connection


def connection_fresh(connection: ChannelConnection) -> ChannelConnection:
    """The connection with a token that is not about to expire."""
    expired = connection.token_expires_at is None or connection.token_expires_at <= timezone.now() + TOKEN_MARGIN
    if not connection.access_token or expired:
        return connection_token_renew(connection_id=connection.pk, stale_generation=connection.token_generation)
    return connection
