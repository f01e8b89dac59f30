"""Postmart orders (marketplaces.md §2 "Orders (PM)", "Push (PM)"): time-window polling, detail re-reads and the
lost-push store. A mixin of PostmartAdapter, kept apart from the listing calls.

Pushes (code 3) say only which order changed and may come late, twice or out of order: the service never
applies a push's status, it re-reads the order's detail here, so it always applies the current state.
"""

from __future__ import annotations

import json

from ..base import RemoteOrder, Session
from . import client
from .consts import ORDER_DETAIL_CHUNK, ORDER_PAGE_SIZE, ORDER_WINDOW_S

DETAIL_FIELDS = "item_list,total_amount,buyer_username,payment_method"


def _order(row: dict) -> RemoteOrder:
    lines = tuple(
        {
            "external_item_id": str(line.get("item_id", "")),
            "seller_sku": str(line.get("item_sku") or ""),
            "name": str(line.get("item_name") or ""),
            "quantity": int(line.get("model_quantity_purchased", 0)),
            "unit_price_vnd": int(line.get("model_discounted_price", 0)),
        }
        for line in row.get("item_list", [])
    )
    return RemoteOrder(
        external_id=str(row["order_sn"]),
        status=str(row.get("order_status", "")),
        updated_at=int(row.get("update_time", 0)),
        total_vnd=int(row.get("total_amount", 0)),
        lines=lines,
        payment_method=str(row.get("payment_method") or ""),
        created_at=int(row["create_time"]) if row.get("create_time") else None,
        buyer_name=str(row.get("buyer_username") or ""),
    )


def windows(since: int, until: int, size: int = ORDER_WINDOW_S) -> list[tuple[int, int]]:
    """[since, until] cut into windows Postmart accepts (at most 15 days, from < to). Both ends of a window
    are included there, so consecutive windows share a second: a harmless duplicate, never a gap."""
    out = []
    start = since
    while start < until:
        end = min(start + size, until)
        out.append((start, end))
        start = end
    return out


class PostmartOrders:
    def order_numbers(
        self, session: Session, *, since: int, until: int, page_size: int | None = None
    ) -> dict[str, str]:
        """order_sn → status of the orders updated in [since, until], paging each window to its end."""
        seen: dict[str, str] = {}
        page_size = page_size or ORDER_PAGE_SIZE
        for start, end in windows(since, until):
            cursor = ""
            while True:
                query = {
                    "time_range_field": "update_time",
                    "time_from": start,
                    "time_to": end,
                    "page_size": page_size,
                    "response_optional_fields": "order_status",
                }
                if cursor:
                    query["cursor"] = cursor
                data = client.request(session, "GET", "order/get_order_list", query=query, summary=query)
                for row in data.get("order_list", []):
                    seen[str(row["order_sn"])] = str(row.get("order_status", ""))
                cursor = data.get("next_cursor") or ""
                if not data.get("more") or not cursor:
                    break
        return seen

    def fetch_order_details(self, session: Session, order_sns: list[str]) -> list[RemoteOrder]:
        """The current state of these orders (50 per call); an order of another shop is simply absent."""
        orders: list[RemoteOrder] = []
        for index in range(0, len(order_sns), ORDER_DETAIL_CHUNK):
            chunk = order_sns[index : index + ORDER_DETAIL_CHUNK]
            query = {"order_sn_list": ",".join(chunk), "response_optional_fields": DETAIL_FIELDS}
            data = client.request(session, "GET", "order/get_order_detail", query=query, summary={"orders": chunk})
            orders += [_order(row) for row in data.get("order_list", [])]
        return orders

    def fetch_orders(
        self, session: Session, *, since: int, until: int, page_size: int | None = None
    ) -> list[RemoteOrder]:
        """Orders updated in [since, until], deduplicated, each read in full. The caller overlaps its windows
        (since = last high-water mark − overlap): an order updated while we page moves out of this window."""
        numbers = self.order_numbers(session, since=since, until=until, page_size=page_size)
        return self.fetch_order_details(session, sorted(numbers))

    def lost_pushes(self, session: Session) -> tuple[list[dict], int, bool]:
        """The partner's earliest unconfirmed pushes (all its shops): ([{shop_id, code, timestamp, data}],
        last_message_id, has_next_page). `data` is parsed, so a message looks like the push it replaces."""
        data = client.request(session, "GET", "push/get_lost_push_message", shop=False)
        messages = []
        for message in data.get("push_message_list", []):
            body = message.get("data")
            if isinstance(body, str):
                try:
                    body = json.loads(body)
                except ValueError:
                    body = {"raw": body}
            messages.append({**message, "data": body})
        return messages, int(data.get("last_message_id") or 0), bool(data.get("has_next_page"))

    def confirm_lost_pushes(self, session: Session, last_message_id: int) -> None:
        """Remove the lost pushes up to this id: call it only once they are stored."""
        body = {"last_message_id": last_message_id}
        client.request(session, "POST", "push/confirm_consumed_lost_push_message", shop=False, json=body, summary=body)
