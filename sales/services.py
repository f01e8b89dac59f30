"""Writes for orders: one idempotent, order-safe upsert that every path goes through (webhook, push, lost push,
change feed, polling, resync, reconciliation, an officer's import or attestation).

The rules, whatever the path:
* one order per (channel, order number): news of an order we hold updates it, never duplicates it;
* older news never overwrites newer: Voso numbers its news (`version`), Postmart dates it (`update_time`);
* the normalised status only moves forward (STATUS_RANK): a late `ready_to_ship` after `shipped` changes
  nothing, and cancelled or returned end the order;
* every change of the normalised status is dated in OrderEvent with its source; `sold_at` is set the first
  time the order reaches delivered or completed;
* lines are linked to the listing they sold (and so to the package and the product) when the order is made.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.adapters.base import RemoteOrder
from integrations.adapters.postmart.consts import ORDER_STATUS as POSTMART_STATUS
from integrations.adapters.voso.consts import ORDER_STATUS as VOSO_STATUS
from integrations.models import Listing

from .models import SOLD, STATUS_RANK, Evidence, Order, OrderEvent, OrderLine, OrderStatus

logger = logging.getLogger(__name__)

# Each channel's own order statuses → ours (the tables live with each adapter's vocabulary).
STATUS_MAPS: dict[str, dict[str, str | None]] = {"postmart": POSTMART_STATUS, "voso": VOSO_STATUS}
ENDED = (OrderStatus.CANCELLED, OrderStatus.RETURNED)
# How much an order's evidence weighs: news from a stronger source takes over the order's evidence.
EVIDENCE_RANK = {Evidence.OFFICER_ATTESTED: 0, Evidence.PLATFORM_EXPORT: 1, Evidence.PLATFORM_API: 2}


class Applied:
    """What order_apply did (a string, so tasks and reports can count it)."""

    CREATED = "created"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    STALE = "stale"  # older than what we hold: ignored
    UNKNOWN = "unknown"  # status news of an order we do not hold yet: read the whole order, then apply it


def normalise_status(channel: str, remote_status: str) -> str | None:
    """Ours for a channel's status; a status already in our words passes as it is. None: no change implied."""
    if remote_status in OrderStatus.values:
        return remote_status
    table = STATUS_MAPS.get(channel, {})
    if remote_status in table:
        return table[remote_status]
    upper, lower = remote_status.upper(), remote_status.lower()
    return table.get(upper, table.get(lower))


def _moment(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _ordering_key(news: RemoteOrder, evidence: str) -> int | None:
    # Only the platform's own API orders its news; an export row or an attestation has no place in that order.
    if evidence != Evidence.PLATFORM_API:
        return None
    return news.version if news.version is not None else (news.updated_at or None)


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _listings_for(channel: str, connection, lines: tuple[dict, ...]) -> dict[tuple[str, str], Listing]:
    """The listings the lines name, in one query: by our listing id (Voso's externalId), by the item's id on
    the channel, or by seller SKU (both within the shop when we know it)."""
    ids = {u for line in lines if (u := _as_uuid(line.get("listing_id")))}
    items = {str(line["external_item_id"]) for line in lines if line.get("external_item_id")}
    skus = {str(line["seller_sku"]) for line in lines if line.get("seller_sku")}
    within = Q(connection=connection) if connection is not None else Q(channel=channel)
    query = Q(pk__in=ids) | (within & (Q(external_id__in=items) | Q(seller_sku__in=skus)))
    found: dict[tuple[str, str], Listing] = {}
    for listing in Listing.objects.filter(query).only("pk", "sku_id", "product_id", "external_id", "seller_sku"):
        found[("id", str(listing.pk))] = listing
        if listing.external_id:
            found[("item", listing.external_id)] = listing
        found.setdefault(("sku", listing.seller_sku), listing)
    return found


def _lines_create(order: Order, lines: tuple[dict, ...], connection) -> None:
    listings = _listings_for(order.channel, connection, lines)
    rows = []
    for line in lines:
        listing = (
            listings.get(("id", str(_as_uuid(line.get("listing_id")))))
            or listings.get(("item", str(line.get("external_item_id") or "")))
            or listings.get(("sku", str(line.get("seller_sku") or "")))
        )
        quantity, price = int(line.get("quantity") or 0), int(line.get("unit_price_vnd") or 0)
        rows.append(
            OrderLine(
                order=order,
                listing=listing,
                sku_id=line.get("sku_id") or (listing.sku_id if listing else None),
                product_id=line.get("product_id") or (listing.product_id if listing else None),
                external_item_id=str(line.get("external_item_id") or "")[:64],
                seller_sku=str(line.get("seller_sku") or "")[:64],
                name=str(line.get("name") or "")[:255],
                quantity=quantity,
                unit_price_vnd=price,
                total_vnd=quantity * price,
            )
        )
    OrderLine.objects.bulk_create(rows)
    if any(row.listing_id is None and row.product_id is None for row in rows):
        logger.info("order %s has lines that match no listing of ours", order)


def _create(*, channel, connection, news, status, source, evidence, attested_by, attested_document) -> Order:
    now = timezone.now()
    placed = _moment(news.created_at) or _moment(news.updated_at) or now
    changed = _moment(news.updated_at) or placed
    order = Order.objects.create(
        channel=channel,
        connection=connection,
        external_id=news.external_id[:64],
        status=status,
        remote_status=news.status[:32],
        remote_version=_ordering_key(news, evidence),
        placed_at=placed,
        status_changed_at=changed,
        sold_at=changed if status in SOLD else None,
        total_vnd=news.total_vnd or sum(int(x["quantity"]) * int(x["unit_price_vnd"]) for x in news.lines),
        buyer_name=news.buyer_name[:160],
        evidence=evidence,
        attested_by=attested_by,
        attested_document=attested_document[:200],
    )
    _lines_create(order, news.lines, connection)
    OrderEvent.objects.create(order=order, to_status=status, remote_status=news.status[:32], source=source)
    return order


@transaction.atomic
def order_apply(
    *,
    channel: str,
    news: RemoteOrder,
    source: str,
    connection=None,
    evidence: str = Evidence.PLATFORM_API,
    status: str | None = None,
    attested_by=None,
    attested_document: str = "",
) -> str:
    """Apply what a channel (or an officer) says about an order; returns an `Applied` value.

    `news` without lines is news of a status only (a Voso webhook or feed change): for an order we do not hold
    it answers UNKNOWN, and the caller reads the whole order. `status`, when given, is already ours (imports,
    attestations); otherwise the channel's status is mapped."""
    wanted = status or normalise_status(channel, news.status)
    order = Order.objects.select_for_update().filter(channel=channel, external_id=news.external_id).first()
    if order is None:
        if not news.lines:
            return Applied.UNKNOWN
        try:
            with transaction.atomic():
                _create(
                    channel=channel, connection=connection, news=news, status=wanted or OrderStatus.PLACED,
                    source=source, evidence=evidence, attested_by=attested_by, attested_document=attested_document,
                )  # fmt: skip
            return Applied.CREATED
        except IntegrityError:
            # Another worker made it between our read and our insert: update theirs instead.
            order = Order.objects.select_for_update().get(channel=channel, external_id=news.external_id)
    return _update(order, news=news, wanted=wanted, source=source, evidence=evidence, connection=connection)


def _update(order: Order, *, news: RemoteOrder, wanted: str | None, source: str, evidence: str, connection) -> str:
    key = _ordering_key(news, evidence)
    if key is not None and order.remote_version is not None and key < order.remote_version:
        return Applied.STALE
    fields: set[str] = set()
    moves = (
        wanted is not None
        and order.status not in ENDED
        and STATUS_RANK[OrderStatus(wanted)] > STATUS_RANK[OrderStatus(order.status)]
    )
    newer = key is not None and (order.remote_version is None or key > order.remote_version)
    if key is not None and newer:
        order.remote_version = key
        fields.add("remote_version")
    # Same instant, other word (two Postmart changes in one second): take it only if it moves the order on.
    if news.status and news.status != order.remote_status and (newer or moves or key is None):
        order.remote_status = news.status[:32]
        fields.add("remote_status")
    if moves:
        changed_at = _moment(news.updated_at) or timezone.now()
        OrderEvent.objects.create(
            order=order, from_status=order.status, to_status=wanted, remote_status=news.status[:32], source=source
        )
        order.status = wanted
        order.status_changed_at = changed_at
        fields |= {"status", "status_changed_at"}
        if wanted in SOLD and order.sold_at is None:
            order.sold_at = changed_at
            fields.add("sold_at")
    if EVIDENCE_RANK[Evidence(evidence)] > EVIDENCE_RANK[Evidence(order.evidence)]:
        order.evidence = evidence
        fields.add("evidence")
    if news.lines and not order.lines.exists():
        _lines_create(order, news.lines, connection or order.connection)
        order.total_vnd = news.total_vnd or order.total_vnd
        fields.add("total_vnd")
    if order.connection_id is None and connection is not None:
        order.connection = connection
        fields.add("connection")
    if not fields:
        return Applied.UNCHANGED
    order.save(update_fields=[*fields, "updated_at"])
    return Applied.CHANGED if moves or "remote_status" in fields else Applied.UNCHANGED


def order_attest(
    *,
    officer,
    channel: str,
    external_id: str,
    status: str,
    placed_at: datetime,
    sold_at: datetime | None,
    document: str,
    lines: list[dict],
    buyer_name: str = "",
) -> Order:
    """Record an order an officer attests to (a sale with no platform record: a fair, a channel without an API),
    naming the officer and the document that proves it. Flagged as attested wherever it counts."""
    from marketplace.core.errors import ServiceError

    if Order.objects.filter(channel=channel, external_id=external_id).exists():
        message = _("This order is already recorded for this channel.")
        raise ServiceError("order_exists", message, fields={"external_id": [message]})
    if status in SOLD and sold_at is None:
        message = _("A delivered or completed order needs the date it was delivered.")
        raise ServiceError("sold_at_required", message, fields={"sold_at": [message]})
    listings = {
        listing.sku_id: listing
        for listing in Listing.objects.filter(channel=channel, sku_id__in=[line["sku"].pk for line in lines])
    }
    moment = sold_at or placed_at
    news = RemoteOrder(
        external_id=external_id,
        status=status,
        updated_at=int(moment.timestamp()),
        total_vnd=sum(line["quantity"] * line["unit_price_vnd"] for line in lines),
        lines=tuple(
            {
                "listing_id": str(listings[line["sku"].pk].pk) if line["sku"].pk in listings else "",
                "sku_id": line["sku"].pk,
                "product_id": line["sku"].product_id,
                "seller_sku": listings[line["sku"].pk].seller_sku if line["sku"].pk in listings else line["sku"].code,
                "quantity": line["quantity"],
                "unit_price_vnd": line["unit_price_vnd"],
            }
            for line in lines
        ),
        created_at=int(placed_at.timestamp()),
        buyer_name=buyer_name,
    )
    order_apply(
        channel=channel, news=news, source="attested", evidence=Evidence.OFFICER_ATTESTED, status=status,
        attested_by=officer, attested_document=document,
    )  # fmt: skip
    return Order.objects.get(channel=channel, external_id=external_id)
