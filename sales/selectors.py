"""Reads for orders: who sees which orders (scope rules), whose buyer data, and what a listing has sold."""

from __future__ import annotations

from django.db.models import Count, Min, Q, QuerySet, Sum

from catalog.models import ProducerMembership
from catalog.selectors import officer_covers_producer, producers_in_reach
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import Reach, scope_rule, user_reach

from .models import SOLD, Order, OrderEvent, OrderLine, OrderStatus

NOT_SALES = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


@scope_rule(Order)
def _orders(queryset: QuerySet, reach: Reach) -> QuerySet:
    """The orders of the producers a user reaches (members, community teams and officers of their area): an
    order is theirs if one of its lines sold their product, or it came through the producer's own shop."""
    if reach.is_admin:
        return queryset
    producers = producers_in_reach(reach)
    lines = OrderLine.objects.filter(product__producer__in=producers).values("order_id")
    return queryset.filter(Q(pk__in=lines) | Q(connection__producer__in=producers))


@scope_rule(OrderLine)
def _lines(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset.filter(order__in=_orders(Order.objects.all(), reach))


@scope_rule(OrderEvent)
def _events(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset.filter(order__in=_orders(Order.objects.all(), reach))


def _order_producers(order: Order) -> list:
    """The producers of an order, from its prefetched lines (line → product → producer) and its shop."""
    producers = {line.product.producer_id: line.product.producer for line in order.lines.all() if line.product}
    if order.connection and order.connection.producer_id:
        producers.setdefault(order.connection.producer_id, order.connection.producer)
    return list(producers.values())


def orders_buyer_visible_ids(*, user, orders) -> set[int]:
    """Which orders this user may see the buyer's personal data of: the producer's members and officers of its
    area (and administrators), not community teams. One membership query for the page, whatever its size."""
    reach = user_reach(user)
    orders = list(orders)
    if reach.is_admin:
        return {o.pk for o in orders}
    producers = {o.pk: _order_producers(o) for o in orders}
    all_ids = {p.pk for group in producers.values() for p in group}
    mine = set(
        ProducerMembership.objects.filter(user_id=reach.user_id, producer_id__in=all_ids).values_list(
            "producer_id", flat=True
        )
    )
    officer = reach.has_role(Role.OFFICER)
    covered: dict[int, bool] = {}

    def covers(producer) -> bool:
        if producer.pk not in covered:
            covered[producer.pk] = officer and officer_covers_producer(reach=reach, producer=producer)
        return covered[producer.pk]

    return {pk for pk, group in producers.items() if any(p.pk in mine or covers(p) for p in group)}


def listing_sales_metrics(*, listing_id) -> dict:
    """What a listing has produced (scenario 15), in one aggregate query: orders and quantity and GMV (VND) of
    its lines in orders neither cancelled nor returned, and the first day one of them was delivered."""
    row = (
        OrderLine.objects.filter(listing_id=listing_id)
        .exclude(order__status__in=NOT_SALES)
        .aggregate(
            order_count=Count("order", distinct=True),
            quantity=Sum("quantity"),
            gmv_vnd=Sum("total_vnd"),
            first_sale_at=Min("order__sold_at", filter=Q(order__status__in=SOLD)),
        )
    )
    return {
        "order_count": row["order_count"] or 0,
        "quantity": row["quantity"] or 0,
        "gmv_vnd": row["gmv_vnd"] or 0,
        "first_sale_at": row["first_sale_at"],
    }
