"""Periodic reconciliation: compare our bindings with each shop's item list, repair drift, report it."""

from __future__ import annotations

import logging

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
        remote = with_fresh_token(connection, adapter.list_items)
        listings = list(Listing.objects.filter(connection=connection))
        by_external = {listing.external_id: listing for listing in listings if listing.external_id}
        unbound = {listing.seller_sku: listing for listing in listings if not listing.external_id}
        seen = set()
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
            if listing.remote_status != item.remote_status and listing_apply_remote(
                listing=listing, item=item, source="reconcile"
            ):
                report["repaired"].append(str(listing.pk))
        for external_id, listing in by_external.items():
            if external_id not in seen:
                report["missing_on_marketplace"].append(str(listing.pk))
    if any(report.values()):
        logger.warning("listing reconciliation changed or found: %s", {k: len(v) for k, v in report.items()})
    return report
