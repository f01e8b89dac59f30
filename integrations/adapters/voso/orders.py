"""Voso orders (marketplaces.md §3 "Orders (VS)", "Webhooks (VS)"): search by update window, one order by id,
the change feed (410 when the cursor is too old) and the failed-deliveries list. A mixin of VosoAdapter.

Voso numbers each order's news (`version`): the service applies news only if it is newer than what it holds,
so webhooks, feed and search may arrive in any order.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..base import CursorExpired, Invalid, RemoteOrder, Session
from . import client
from .consts import FEED_PAGE_SIZE, ORDER_PAGE_SIZE, ORDER_WINDOW_S


def epoch(iso: str | None) -> int:
    if not iso:
        return 0
    return int(datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp())


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def order_from(row: dict) -> RemoteOrder:
    lines = tuple(
        {
            "external_item_id": str(line.get("productId") or ""),
            "listing_id": str(line.get("externalId") or ""),  # our listing's id, sent as externalId
            "seller_sku": str(line.get("sellerSku") or ""),
            "quantity": int(line.get("quantity", 0)),
            "unit_price_vnd": int(line.get("unitPrice", 0)),
        }
        for line in row.get("items", [])
    )
    buyer = row.get("buyer") or {}
    return RemoteOrder(
        external_id=str(row["orderId"]),
        status=str(row.get("status", "")),
        updated_at=epoch(row.get("updatedAt")),
        total_vnd=int(row.get("totalAmount", 0)),
        lines=lines,
        payment_method=str(row.get("paymentMethod") or ""),
        created_at=epoch(row.get("createdAt")) or None,
        version=row.get("version"),
        buyer_name=str(buyer.get("nameMasked") or ""),
        buyer_province_code=str(buyer.get("provinceCode") or ""),
    )


def status_news(data: dict) -> RemoteOrder:
    """A webhook's or feed change's {orderId, status, version, updatedAt}: news of a status, without lines."""
    return RemoteOrder(
        external_id=str(data.get("orderId", "")),
        status=str(data.get("status", "")),
        updated_at=epoch(data.get("updatedAt")),
        total_vnd=0,
        lines=(),
        version=data.get("version"),
    )


class VosoOrders:
    def fetch_orders(
        self, session: Session, *, since: int, until: int, page_size: int | None = None
    ) -> list[RemoteOrder]:
        """Orders updated in [since, until] through search, in windows of at most 7 days, deduplicated."""
        orders: dict[str, RemoteOrder] = {}
        page_size = page_size or ORDER_PAGE_SIZE
        start = since
        while start < until:
            end = min(start + ORDER_WINDOW_S, until)
            params: dict = {"updatedFrom": _iso(start), "updatedTo": _iso(end), "pageSize": page_size}
            while True:
                data = client.request(session, "GET", "/v2/orders", operation="orders", params=params, summary=params)
                for row in data.get("items", []):
                    order = order_from(row)
                    known = orders.get(order.external_id)
                    if known is None or (order.version or 0) >= (known.version or 0):
                        orders[order.external_id] = order
                if not data.get("nextCursor"):
                    break
                params["cursor"] = data["nextCursor"]
            start = end
        return list(orders.values())

    def fetch_order(self, session: Session, order_id: str) -> RemoteOrder:
        data = client.request(session, "GET", f"/v2/orders/{order_id}", operation="order", summary={"order": order_id})
        return order_from(data)

    def order_changes(
        self, session: Session, *, after: int, limit: int = FEED_PAGE_SIZE
    ) -> tuple[list[RemoteOrder], int, bool]:
        """One page of the shop's change feed after `after`: (status news, lastSeq, hasMore).

        Raises CursorExpired when Voso says the cursor is too old (410): the caller resynchronises by search."""
        params = {"after": after, "limit": limit}
        try:
            data = client.request(
                session, "GET", "/v2/orders/changes", operation="order_changes", params=params, summary=params
            )
        except Invalid as exc:
            if exc.code == "CURSOR_EXPIRED" or exc.http_status == 410:
                raise CursorExpired(exc.code, exc.message, http_status=exc.http_status) from exc
            raise
        changes = [status_news(change) for change in data.get("changes", [])]
        return changes, int(data.get("lastSeq") or after), bool(data.get("hasMore"))

    def failed_deliveries(self, session: Session) -> list[dict]:
        """Webhook events Voso gave up delivering (or never sent): their stored payloads, oldest first."""
        payloads: list[dict] = []
        params: dict = {"status": "FAILED", "pageSize": 100}
        while True:
            data = client.request(
                session, "GET", "/v2/webhooks/deliveries", operation="webhook_deliveries", params=params
            )
            payloads += [d["payload"] for d in data.get("items", []) if isinstance(d.get("payload"), dict)]
            if not data.get("nextCursor"):
                return payloads
            params["cursor"] = data["nextCursor"]
