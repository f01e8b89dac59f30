"""Review outcomes that are not pushed: Postmart tells approvals only to those who ask (marketplaces.md §2);
Voso pushes every QC change, so it is polled only as a fallback for a webhook that never came."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ..adapters.base import AuthExpired
from ..adapters.registry import adapter_for
from ..models import ChannelConnection, Listing, ListingState
from .engine import listing_apply_remote
from .sessions import connection_fresh, connection_token_renew, session_for

WEBHOOK_GRACE = timedelta(minutes=30)


def with_fresh_token(connection: ChannelConnection, call):
    """Run `call(session)` with a valid token, renewing it once (for all workers) if the marketplace says no."""
    connection = connection_fresh(connection)
    try:
        return call(session_for(connection))
    except AuthExpired:
        connection = connection_token_renew(connection_id=connection.pk, stale_generation=connection.token_generation)
        return call(session_for(connection))


def listings_poll_reviews(*, channel: str | None = None, connection_ids=None) -> int:
    """Ask each shop how its listings under review fared; returns how many listings changed."""
    changed = 0
    connections = ChannelConnection.objects.filter(is_active=True)
    if channel:
        connections = connections.filter(channel=channel)
    if connection_ids is not None:
        connections = connections.filter(pk__in=connection_ids)
    for connection in connections:
        pending = Listing.objects.filter(connection=connection, state=ListingState.PENDING_REVIEW).exclude(
            external_id=""
        )
        if connection.channel == "voso":
            pending = pending.filter(state_changed_at__lt=timezone.now() - WEBHOOK_GRACE)
        by_external = {listing.external_id: listing for listing in pending}
        if not by_external:
            continue
        adapter = adapter_for(connection.channel)
        ids = list(by_external)
        items = with_fresh_token(
            connection, lambda session, adapter=adapter, ids=ids: adapter.fetch_status(session, ids)
        )
        for item in items:
            if item.external_id in by_external:
                changed += listing_apply_remote(listing=by_external[item.external_id], item=item, source="poll")
    return changed
