"""Periodic reconciliation: compare our bindings with each shop's item list, repair drift, report it."""

from __future__ import annotations

import logging

from django.utils import timezone

from ..adapters.registry import adapter_for
from ..models import ChannelConnection, Listing
from .engine import listing_apply_remote
from .polling import with_fresh_token

logger = logging.getLogger(__name__)


def listings_reconcile(*, connection_ids=None) -> dict:
    """For every shop: statuses that differ are applied, items we made but never bound (a lost answer) are
    bound by seller SKU, and listings whose item is gone are reported. Returns what it changed."""
    report = {"repaired": [], "bound": [], "missing_on_marketplace": [], "unknown_items": []}
    connections = ChannelConnection.objects.filter(is_active=True)
    if connection_ids is not None:
        connections = connections.filter(pk__in=connection_ids)
    for connection in connections:
        adapter = adapter_for(connection.channel)
        if getattr(adapter, "is_local", False):
            # The province storefront: this service is the channel, so what it holds is confirmed as it is.
            Listing.objects.filter(connection=connection).update(remote_confirmed_at=timezone.now())
            continue
        remote = with_fresh_token(connection, adapter.list_items)
        listings = list(Listing.objects.filter(connection=connection))
        by_external = {listing.external_id: listing for listing in listings if listing.external_id}
        unbound = {listing.seller_sku: listing for listing in listings if not listing.external_id}
        seen = set()
        confirmed = []
        for item in remote:
            seen.add(item.external_id)
            listing = by_external.get(item.external_id)
            if listing is None and item.seller_sku in unbound and item.state != "delisted":
                listing = unbound.pop(item.seller_sku)
                Listing.objects.filter(pk=listing.pk, external_id="").update(external_id=item.external_id)
                listing.external_id = item.external_id
                report["bound"].append(str(listing.pk))
            if listing is None:
                if item.state != "delisted":
                    report["unknown_items"].append(f"{connection.channel}:{item.external_id}")
                continue
            confirmed.append(listing.pk)
            if listing.remote_status != item.remote_status and listing_apply_remote(
                listing=listing, item=item, source="reconcile"
            ):
                report["repaired"].append(str(listing.pk))
        # Every item the shop lists confirms its listing, changed or not (domain.md §6: unconfirmed = unknown).
        Listing.objects.filter(pk__in=confirmed).update(remote_confirmed_at=timezone.now())
        for external_id, listing in by_external.items():
            if external_id not in seen:
                report["missing_on_marketplace"].append(str(listing.pk))
    if any(report.values()):
        logger.warning("listing reconciliation changed or found: %s", {k: len(v) for k, v in report.items()})
    return report
