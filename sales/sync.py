"""Order news from the marketplaces: what the inbox's events mean for orders, and the backstops for news that
never came (marketplaces.md §2, §3; scenarios 8, 9, 11).

* Postmart pushes say only which order changed: the order's detail is re-read and the current state applied,
  so a late, duplicated or reordered push can never move an order back.
* Voso numbers its news (`version`): a webhook's status is applied if it is newer; an order we do not hold yet
  is read whole first.
* Backstops, each run by beat: Postmart's lost-push store (fetch, store in the inbox, then confirm); Voso's change
  feed from a stored cursor, with a full resynchronisation by search when the cursor has expired (410); Voso's
  failed-deliveries list; polling every shop by update time with overlapping windows; and a reconciliation that
  reports (and repairs) any order we hold differently from the marketplace.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.adapters.base import CursorExpired, RemoteOrder
from integrations.adapters.registry import adapter_for
from integrations.models import ChannelConnection
from integrations.sync.polling import with_fresh_token

from .models import STATUS_RANK, Order, OrderSync
from .services import Applied, normalise_status, order_apply

logger = logging.getLogger(__name__)

ORDER_CHANNELS = ("postmart", "voso")
LEASE = timedelta(minutes=10)


def _now() -> int:
    # Rounded up: Voso dates its orders to the millisecond, and a window ending at the truncated second would
    # leave out what changed in the last fraction of it.
    return math.ceil(time.time())


def _apply_all(connection: ChannelConnection, orders: list[RemoteOrder], source: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for news in orders:
        result = order_apply(channel=connection.channel, connection=connection, news=news, source=source)
        counts[result] = counts.get(result, 0) + 1
    return counts


# ------------------------------------------------------------------------------------------ from the inbox
def order_news_from_postmart(*, connection: ChannelConnection, data: dict) -> str:
    """A push (code 3) names an order: apply its detail as Postmart holds it now, not the push's status."""
    order_sn = str(data.get("ordersn") or data.get("order_sn") or "")
    if not order_sn:
        return "push without an order number"
    adapter = adapter_for("postmart")
    orders = with_fresh_token(connection, lambda session: adapter.fetch_order_details(session, [order_sn]))
    if not orders:
        return f"order {order_sn} not found in the shop"
    return ", ".join(order_apply(channel="postmart", connection=connection, news=o, source="push") for o in orders)


def _voso_apply(connection: ChannelConnection, news: RemoteOrder, source: str, fetch=None) -> str:
    """Status news by version; an order we do not hold is read whole (its lines) and then applied."""
    result = order_apply(channel="voso", connection=connection, news=news, source=source)
    if result != Applied.UNKNOWN:
        return result
    adapter = adapter_for("voso")
    if fetch is None:
        full = with_fresh_token(connection, lambda session: adapter.fetch_order(session, news.external_id))
    else:
        full = fetch(news.external_id)
    return order_apply(channel="voso", connection=connection, news=full, source=source)


def order_news_from_voso(*, connection: ChannelConnection, data: dict) -> str:
    from integrations.adapters.voso.orders import status_news

    news = status_news(data)
    if not news.external_id:
        return "event without an order id"
    return _voso_apply(connection, news, "webhook")


# ----------------------------------------------------------------------------------------------- backstops
def _connections(channel: str | None, connection_ids) -> list[ChannelConnection]:
    connections = ChannelConnection.objects.filter(is_active=True, channel__in=ORDER_CHANNELS)
    if channel:
        connections = connections.filter(channel=channel)
    if connection_ids is not None:
        connections = connections.filter(pk__in=connection_ids)
    return list(connections.order_by("pk"))


def _claim(connection: ChannelConnection) -> OrderSync | None:
    """The shop's sync row, leased to this run; None while another run holds it."""
    sync, _ = OrderSync.objects.get_or_create(connection=connection)
    now = timezone.now()
    claimed = (
        OrderSync.objects.filter(pk=sync.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if not claimed:
        return None
    sync.refresh_from_db()
    return sync


def _release(sync: OrderSync, **fields) -> None:
    for name, value in fields.items():
        setattr(sync, name, value)
    sync.lease_until = None
    sync.save(update_fields=[*fields, "lease_until", "updated_at"])


def _each(channel: str | None, connection_ids, run: Callable[[ChannelConnection, OrderSync, dict], dict]) -> dict:
    """Run a backstop for every shop, one shop's failure never stopping the others."""
    report: dict = {}
    for connection in _connections(channel, connection_ids):
        sync = _claim(connection)
        if sync is None:
            report[connection.pk] = {"busy": True}
            continue
        fields: dict = {}
        try:
            report[connection.pk] = run(connection, sync, fields)
        except Exception as exc:  # logged and reported; the next beat tries again
            logger.warning("order backstop failed for connection %s: %s", connection.pk, exc, exc_info=True)
            report[connection.pk] = {"error": str(exc)[:200]}
        finally:
            _release(sync, **fields)
    return report


def orders_poll(*, channel: str | None = None, connection_ids=None, until: int | None = None) -> dict:
    """Read every order updated since the last poll, from a little before it (ORDERS_POLL_OVERLAP_S), so that an
    order updated while we paged (it moved beyond our cursor or window) is read next time. Deduplicated twice:
    within a run by order number, across runs by order_apply (same or older news changes nothing). Postmart's
    15-day and Voso's 7-day window limits are met by the adapters, which split longer windows."""
    overlap = settings.ORDERS_POLL_OVERLAP_S

    def run(connection, sync, fields):
        end = until or _now()
        if sync.polled_until is not None:
            start = int(sync.polled_until.timestamp()) - overlap
        else:
            start = end - settings.ORDERS_POLL_LOOKBACK_DAYS * 86400
        adapter = adapter_for(connection.channel)
        orders = with_fresh_token(connection, lambda s: adapter.fetch_orders(s, since=start, until=end))
        counts = _apply_all(connection, orders, "poll")
        # The window's end, not the newest update seen: the next window then starts `overlap` before it.
        fields["polled_until"] = datetime.fromtimestamp(end, UTC)
        return {"window": [start, end], **counts}

    return _each(channel, connection_ids, run)


def orders_resync(*, connection: ChannelConnection, days: int | None = None) -> dict[str, int]:
    """Everything updated in the last `days` through search (Voso's answer to an expired feed cursor)."""
    end = _now()
    start = end - (days or settings.ORDERS_POLL_LOOKBACK_DAYS) * 86400
    adapter = adapter_for(connection.channel)
    orders = with_fresh_token(connection, lambda s: adapter.fetch_orders(s, since=start, until=end))
    return _apply_all(connection, orders, "resync")


def orders_feed_pull(*, connection_ids=None) -> dict:
    """Voso's change feed from the stored cursor, page by page (the cursor is saved as it goes). On 410
    CURSOR_EXPIRED: a full resynchronisation by search, then the feed from its start (which never expires,
    and is compacted to one change per order), where what the search applied is already current."""

    def run(connection, sync, fields):
        adapter = adapter_for("voso")
        counts: dict = {}
        after = sync.feed_seq or 0
        try:
            after = _feed_read(connection, adapter, after, counts, sync)
        except CursorExpired:
            logger.warning("Voso change feed cursor %s expired for connection %s: resync", after, connection.pk)
            counts["resync"] = orders_resync(connection=connection)
            fields["resynced_at"] = timezone.now()
            after = _feed_read(connection, adapter, 0, counts, sync)
        fields["feed_seq"] = after
        return {"last_seq": after, **counts}

    return _each("voso", connection_ids, run)


def _feed_read(connection, adapter, after: int, counts: dict, sync: OrderSync) -> int:
    while True:
        changes, last_seq, more = with_fresh_token(connection, lambda s, a=after: adapter.order_changes(s, after=a))

        def fetch(order_id: str) -> RemoteOrder:
            return with_fresh_token(connection, lambda s: adapter.fetch_order(s, order_id))

        # One read for the page: a change no newer than the version we hold is what a webhook already brought
        # (the usual case), and order_apply would only say so after a locked read and a transaction of its own,
        # change by change: thousands of them made this backstop take minutes.
        held = dict(
            Order.objects.filter(channel="voso", external_id__in=[news.external_id for news in changes])
            .exclude(remote_version=None)
            .values_list("external_id", "remote_version")
        )
        for news in changes:
            version = held.get(news.external_id)
            if version is not None and news.version is not None and news.version <= version:
                result = Applied.STALE if news.version < version else Applied.UNCHANGED
            else:
                result = _voso_apply(connection, news, "feed", fetch=fetch)
            counts[result] = counts.get(result, 0) + 1
        after = last_seq
        OrderSync.objects.filter(pk=sync.pk).update(feed_seq=after)  # progress survives a failure later on
        if not more:
            return after


def orders_lost_push_pull(*, connection_ids=None) -> dict:
    """Postmart's lost pushes (those it gave up delivering, kept 3 days), per partner: each is stored in the inbox
    like the push it replaces (same deduplication key, so one we did get is not applied twice), the store is
    confirmed only once they are stored, and then they are applied."""
    from integrations.adapters.postmart import webhooks as pm
    from integrations.inbox import inbound_event_process, inbound_event_receive

    report: dict = {}
    by_partner: dict[str, list[ChannelConnection]] = {}
    for connection in _connections("postmart", connection_ids):
        by_partner.setdefault(str(connection.credentials.get("partner_id")), []).append(connection)
    adapter = adapter_for("postmart")
    for partner, connections in by_partner.items():
        shops = {c.shop_id: c for c in connections}
        stored = []
        try:
            while True:
                messages, last_id, more = with_fresh_token(connections[0], adapter.lost_pushes)
                for message in messages:
                    connection = shops.get(str(message.get("shop_id")))
                    if connection is None:
                        logger.info("lost push for a shop we do not connect: %s", message.get("shop_id"))
                        continue
                    event = inbound_event_receive(
                        source="postmart", key=pm.dedupe_key(message), payload=message, connection=connection,
                        headers={"via": "get_lost_push_message"},
                    )  # fmt: skip
                    if event is not None:
                        stored.append(event.pk)
                if last_id:
                    with_fresh_token(connections[0], lambda s, n=last_id: adapter.confirm_lost_pushes(s, n))
                if not more or not messages:
                    break
        except Exception as exc:  # reported; what was stored is applied below, the rest waits for the next run
            logger.warning("lost pushes of partner %s: %s", partner, exc, exc_info=True)
            report[partner] = {"error": str(exc)[:200]}
        applied = [inbound_event_process(event_id=pk).result for pk in stored]
        report.setdefault(partner, {}).update(stored=len(stored), processed=applied.count("processed"))
    return report


def orders_failed_deliveries_pull(*, connection_ids=None) -> dict:
    """Voso's failed-deliveries list: every event it gave up on (or dropped) is stored in the inbox under its
    eventId (so an event we did get is a duplicate) and applied."""
    from integrations.inbox import inbound_event_process, inbound_event_receive

    def run(connection, sync, fields):
        adapter = adapter_for("voso")
        payloads = with_fresh_token(connection, adapter.failed_deliveries)
        stored = []
        for payload in payloads:
            if str(payload.get("shopId", connection.shop_id)) != connection.shop_id or not payload.get("eventId"):
                continue
            event = inbound_event_receive(
                source="voso", key=str(payload["eventId"]), payload=payload, connection=connection,
                headers={"via": "webhooks/deliveries"},
            )  # fmt: skip
            if event is not None:
                stored.append(event.pk)
        applied = [inbound_event_process(event_id=pk).result for pk in stored]
        return {"failed_listed": len(payloads), "stored": len(stored), "processed": applied.count("processed")}

    return _each("voso", connection_ids, run)


def orders_reconcile(*, channel: str | None = None, connection_ids=None, days: int | None = None) -> dict:
    """Compare the orders each shop updated in the last `days` with ours. Returns the gaps it found, by kind:
    `missing` (an order we do not hold) and `behind` (ours is at an earlier status); both are then repaired
    through order_apply. An empty report means the other paths missed nothing."""
    report: dict[str, list[str]] = {"missing": [], "behind": []}
    span = (days or settings.ORDERS_RECONCILE_DAYS) * 86400

    def run(connection, sync, fields):
        end = _now()
        adapter = adapter_for(connection.channel)
        remote = with_fresh_token(connection, lambda s: adapter.fetch_orders(s, since=end - span, until=end))
        ours = {
            o.external_id: o
            for o in Order.objects.filter(channel=connection.channel, external_id__in=[r.external_id for r in remote])
        }
        for news in remote:
            label = f"{connection.channel}:{news.external_id}"
            order = ours.get(news.external_id)
            wanted = normalise_status(connection.channel, news.status)
            if order is None:
                report["missing"].append(label)
            elif wanted is not None and STATUS_RANK[wanted] > STATUS_RANK[order.status]:
                report["behind"].append(label)
            else:
                continue
            order_apply(channel=connection.channel, connection=connection, news=news, source="reconcile")
        return {}

    _each(channel, connection_ids, run)
    if any(report.values()):
        logger.warning("order reconciliation found gaps: %s", {k: len(v) for k, v in report.items()})
    return report
