"""Regressions found by the order-fault proof (tests/prove/faults_orders.py, issue 8)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sales.models import Order
from sales.services import Applied, order_apply
from tests.sales.test_orders import booth, honey_listing, news  # noqa: F401 (booth is a fixture)

pytestmark = pytest.mark.django_db


def test_a_voso_order_first_heard_of_at_its_failed_delivery_is_shipped_not_placed(booth):  # noqa: F811
    # given the news of an order's creation and shipping came late (held back) or never (dropped)
    listing = honey_listing(booth)

    # when the first news we get is its failed delivery, read whole from Voso
    result = order_apply(channel="voso", connection=booth, news=news(status="failed_delivery", version=4,
                         listing=listing), source="webhook")  # fmt: skip
    late = order_apply(channel="voso", connection=booth, news=news(status="shipped", version=3, lines=False),
                       source="webhook")  # fmt: skip

    # then it is held as shipped (it was: only a shipped order fails delivery), and the late news changes nothing
    assert (result, late) == (Applied.CREATED, Applied.STALE)
    assert Order.objects.get().status == "shipped"


def test_a_failed_delivery_of_an_order_we_hold_as_shipped_changes_nothing(booth):  # noqa: F811
    listing = honey_listing(booth)
    order_apply(channel="voso", connection=booth, news=news(status="shipped", version=3, listing=listing),
                source="webhook")  # fmt: skip
    order_apply(channel="voso", connection=booth, news=news(status="failed_delivery", version=4, lines=False),
                source="webhook")  # fmt: skip
    order = Order.objects.get()
    assert (order.status, order.remote_status, order.remote_version) == ("shipped", "failed_delivery", 4)
    assert list(order.events.values_list("to_status", flat=True)) == ["shipped"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("fresh_marketplaces")
def test_a_voso_feed_page_of_news_we_already_hold_takes_one_query_not_a_transaction_each(
    api, login, pm_url, vs_url, live_server
):
    from sales.models import OrderSync
    from sales.sync import orders_feed_pull
    from tests.sales.marketplaces import admin, live_shops, vs_buy, vs_move

    # given six Voso orders read through the change feed, no order webhooks (Voso's rate limit lifted: what is
    # counted here is our queries)
    shops = live_shops(api, login, pm_url, vs_url, live_server, pushes=False, voso_events=("product.qc_updated",))
    admin(vs_url, "PUT", "/limits", rate_per_s=1000)
    for _ in range(6):
        vs_move(vs_url, vs_buy(vs_url, shops.vs_listing, qty=1), "ready_to_ship")
    orders_feed_pull()
    assert Order.objects.filter(channel="voso").count() == 6

    # when the feed is read again from its start (a resync, or webhooks that brought it all already)
    OrderSync.objects.filter(connection=shops.vs).update(feed_seq=0)
    with CaptureQueriesContext(connection) as queries:
        report = orders_feed_pull()

    # then every change is known to be old, without locking and rereading each order
    assert report[shops.vs.pk]["stale"] == 6 and report[shops.vs.pk]["unchanged"] == 6, report
    assert not [q for q in queries.captured_queries if "FOR UPDATE" in q["sql"] and "sales_order" in q["sql"]]
