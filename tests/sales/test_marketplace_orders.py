"""Orders against the real mock marketplaces over HTTP (marketplaces.md §6, scenarios 8, 9, 11 and 15)."""

import itertools
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import integrations.adapters.postmart.orders as postmart_orders
from integrations.adapters.postmart.orders import windows
from integrations.inbox import inbound_events_process_pending
from integrations.models import InboundEvent
from marketplace.accounts.models import Role
from sales.models import Order, OrderSync
from sales.sync import (
    orders_failed_deliveries_pull,
    orders_feed_pull,
    orders_lost_push_pull,
    orders_poll,
    orders_reconcile,
)
from tests.factories import user_with_role
from tests.integrations.marketplaces import (
    admin,
    lao_cai,
)
from tests.sales.marketplaces import (
    live_shops,
    mock_requests,
    pm_buy,
    pm_deliveries,
    pm_move,
    vs_buy,
    vs_deliveries,
    vs_move,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_marketplaces")]
RANK = ["placed", "confirmed", "shipped", "delivered", "completed", "cancelled", "returned"]


def statuses(order: Order) -> list[str]:
    return list(order.events.values_list("to_status", flat=True))


def never_back(history: list[str]) -> bool:
    return all(RANK.index(a) < RANK.index(b) for a, b in itertools.pairwise(history))


def test_scenario_8_three_copies_of_a_webhook_make_one_change(api, login, pm_url, vs_url, live_server):
    # given a product live on both marketplaces, each about to deliver its next order event three times
    shops = live_shops(api, login, pm_url, vs_url, live_server)
    admin(pm_url, "POST", "/faults", id="dup", match={"event_type": 3, "times": 1},
          action={"type": "duplicate", "copies": 3, "spacing_ms": 100})  # fmt: skip
    admin(vs_url, "POST", "/faults", id="dup", match={"event_type": "order.created", "times": 1},
          action={"type": "duplicate", "copies": 3, "spacing_ms": 100})  # fmt: skip

    # when a buyer orders on each
    pm_sn = pm_buy(pm_url, shops.pm_listing)
    vs_id = vs_buy(vs_url, shops.vs_listing)
    wait_for(lambda: len([d for d in pm_deliveries(pm_url) if d["outcome"] == "success"]) == 3)
    wait_for(lambda: len([d for d in vs_deliveries(vs_url) if d["type"] == "order.created" and
                          d["status"] == "DELIVERED"]) == 3)  # fmt: skip
    wait_for(lambda: Order.objects.count() == 2 and not InboundEvent.objects.filter(state="received").exists())

    # then each copy was acknowledged, one was kept, and it made one order with one dated change
    pm_order, vs_order = Order.objects.get(external_id=pm_sn), Order.objects.get(external_id=vs_id)
    assert statuses(pm_order) == statuses(vs_order) == ["confirmed"]
    orders_events = [e for e in InboundEvent.objects.all() if e.payload.get("code") == 3 or
                     str(e.payload.get("type", "")).startswith("order.")]  # fmt: skip
    assert len(orders_events) == 2 and {e.state for e in orders_events} == {"processed"}
    assert pm_order.lines.get().listing == shops.pm_listing and vs_order.lines.get().listing == shops.vs_listing


def test_scenario_8_a_reordered_shipped_before_ready_to_ship_leaves_shipped(api, login, pm_url, vs_url, live_server):
    # given an order on each marketplace that we already hold
    shops = live_shops(api, login, pm_url, vs_url, live_server)
    pm_sn = pm_buy(pm_url, shops.pm_listing, payment="Bank Transfer")  # UNPAID until paid
    vs_id = vs_buy(vs_url, shops.vs_listing)  # pending (COD)
    wait_for(lambda: Order.objects.filter(external_id__in=[pm_sn, vs_id]).count() == 2)

    # when the next status news of each is held back, so the later `shipped` arrives first
    admin(pm_url, "POST", "/faults", id="late", match={"event_type": 3, "times": 1},
          action={"type": "reorder", "hold_ms": 2500})  # fmt: skip
    admin(vs_url, "POST", "/faults", id="late", match={"event_type": "order.status_updated", "times": 1},
          action={"type": "reorder", "hold_ms": 2500})  # fmt: skip
    pm_move(pm_url, pm_sn, "READY_TO_SHIP", "PROCESSED", "SHIPPED")
    vs_move(vs_url, vs_id, "ready_to_ship", "shipped")
    wait_for(lambda: set(Order.objects.values_list("status", flat=True)) == {"shipped"})
    held = InboundEvent.objects.filter(payload__data__status__in=["READY_TO_SHIP", "ready_to_ship"], state="processed")
    late = wait_for(lambda: held.count() == 2 and list(held.all()))

    # then the late news arrived after `shipped` and changed nothing: Postmart's detail was re-read, Voso's
    # version was older than the one we hold
    assert len(late) == 2
    for order in Order.objects.all():
        assert order.status == "shipped" and never_back(statuses(order))
    shipped = InboundEvent.objects.filter(payload__data__status__in=["SHIPPED", "shipped"])
    assert all(event.received_at < min(e.received_at for e in late) for event in shipped)
    vs_order = Order.objects.get(external_id=vs_id)
    assert vs_order.remote_version == 3 and vs_order.remote_status == "shipped"
    assert mock_requests(pm_url, "/api/v2/order/get_order_detail")  # every push was answered by a re-read


def test_scenario_9_dropped_news_is_found_by_the_backstops_and_reconciliation_finds_no_gap(
    api, login, pm_url, vs_url, live_server
):
    # given Postmart drops the push of the next order, and Voso the second status change of its order
    shops = live_shops(api, login, pm_url, vs_url, live_server)
    admin(pm_url, "POST", "/faults", id="drop", match={"event_type": 3, "times": 1}, action={"type": "drop"})
    admin(vs_url, "POST", "/faults", id="drop", match={"event_type": "order.status_updated", "after": 1, "times": 1},
          action={"type": "drop"})  # fmt: skip

    # when a buyer orders on each and Voso's order moves on twice
    pm_sn = pm_buy(pm_url, shops.pm_listing)
    vs_id = vs_buy(vs_url, shops.vs_listing)
    wait_for(lambda: Order.objects.filter(external_id=vs_id).exists())
    vs_move(vs_url, vs_id, "ready_to_ship")
    wait_for(lambda: Order.objects.filter(external_id=vs_id, remote_version=2).exists())
    vs_move(vs_url, vs_id, "shipped")
    wait_for(lambda: [d for d in vs_deliveries(vs_url) if d["status"] == "FAILED"])
    inbound_events_process_pending()
    inbound = InboundEvent.objects.count()

    # then neither webhook path brought the dropped news
    assert not Order.objects.filter(external_id=pm_sn).exists()
    assert Order.objects.get(external_id=vs_id).status == "confirmed"

    # when the backstops run: Postmart's lost pushes (then confirmed), Voso's change feed
    lost = orders_lost_push_pull()
    feed = orders_feed_pull()

    # then both orders are current, the lost-push store is empty, and reconciliation finds no gap
    assert Order.objects.get(external_id=pm_sn).status == "confirmed"
    assert lost[str(shops.pm.credentials["partner_id"])]["processed"] == 1
    assert admin(pm_url, "GET", "/push")["lost_push"] == []
    assert len(mock_requests(pm_url, "/api/v2/push/confirm_consumed_lost_push_message")) == 1
    vs_order = Order.objects.get(external_id=vs_id)
    assert (vs_order.status, vs_order.remote_version) == ("shipped", 3)
    assert statuses(vs_order)[-1] == "shipped" and "feed" in vs_order.events.values_list("source", flat=True)
    assert feed[shops.vs.pk]["last_seq"] == OrderSync.objects.get(connection=shops.vs).feed_seq > 0
    assert InboundEvent.objects.count() == inbound + 1  # the lost push, stored like the push it replaces
    assert orders_reconcile() == {"missing": [], "behind": []}

    # and Voso's failed-deliveries list holds the dropped event: stored under its id, it changes nothing more
    failed = orders_failed_deliveries_pull()
    assert failed[shops.vs.pk]["stored"] == 1 and failed[shops.vs.pk]["processed"] == 1
    assert Order.objects.get(external_id=vs_id).events.count() == len(statuses(vs_order))
    assert orders_failed_deliveries_pull()[shops.vs.pk]["stored"] == 0  # already in the inbox


def test_scenario_11_polling_across_an_update_during_paging_misses_nothing(
    api, login, pm_url, vs_url, live_server, monkeypatch
):
    # given five orders on Postmart, no pushes, and pages of two
    shops = live_shops(api, login, pm_url, vs_url, live_server, pushes=False, voso_events=("product.qc_updated",))
    numbers = [pm_buy(pm_url, shops.pm_listing, qty=1) for _ in range(5)]
    monkeypatch.setattr(postmart_orders, "ORDER_PAGE_SIZE", 2)
    remote = sorted(admin(pm_url, "GET", "/orders")["orders"], key=lambda o: (o["update_time"], o["order_sn"]))
    last = remote[-1]["order_sn"]  # on the third page: not yet read when the second page is slow

    # when the second page is slow and, meanwhile, the last order ships: its update_time (2 s later, so past the
    # window's end, which is the poll's start rounded up) leaves the window
    admin(pm_url, "POST", "/faults", id="slow", match={"path": "^/api/v2/order/get_order_list", "after": 1,
          "times": 1}, action={"type": "latency", "ms": 3500})  # fmt: skip
    mover = threading.Thread(target=lambda: (time.sleep(2.2), pm_move(pm_url, last, "PROCESSED", "SHIPPED")))
    mover.start()
    first = orders_poll(channel="postmart")
    mover.join()

    # then this poll missed it (it moved out of the window while we paged)…
    assert "error" not in first[shops.pm.pk], first
    assert set(Order.objects.values_list("external_id", flat=True)) == set(numbers) - {last}

    # …and the next one, whose window starts before the last one ended, finds it: nothing missed, nothing twice
    second = orders_poll(channel="postmart")
    assert second[shops.pm.pk]["window"][0] < first[shops.pm.pk]["window"][1]
    assert set(Order.objects.values_list("external_id", flat=True)) == set(numbers)
    assert Order.objects.get(external_id=last).status == "shipped"
    assert [len(statuses(o)) for o in Order.objects.exclude(external_id=last)] == [1, 1, 1, 1]

    # and the first poll's 30 days were asked in windows Postmart accepts (≤ 15 days), all answered
    lists = mock_requests(pm_url, "/api/v2/order/get_order_list")
    spans = {
        (int(q["time_from"][0]), int(q["time_to"][0])) for q in (parse_qs(urlsplit(r["path"]).query) for r in lists)
    }
    assert len({s for s in spans if s[0] < first[shops.pm.pk]["window"][1]}) >= 2
    assert all(0 < end - start <= 15 * 86400 for start, end in spans)
    assert {r["status"] for r in lists} == {200}


def test_a_postmart_window_over_15_days_is_split():
    assert windows(0, 40 * 86400) == [(0, 15 * 86400), (15 * 86400, 30 * 86400), (30 * 86400, 40 * 86400)]
    assert windows(100, 100) == []


def test_scenario_11_an_expired_voso_cursor_triggers_a_full_resync(api, login, pm_url, vs_url, live_server):
    # given two Voso orders read through the change feed, and no order webhooks
    shops = live_shops(api, login, pm_url, vs_url, live_server, pushes=False, voso_events=("product.qc_updated",))
    first, second = vs_buy(vs_url, shops.vs_listing), vs_buy(vs_url, shops.vs_listing, qty=1)
    orders_feed_pull()
    assert Order.objects.filter(external_id__in=[first, second]).count() == 2
    cursor = OrderSync.objects.get(connection=shops.vs).feed_seq

    # when one order moves on and we stay away longer than the feed keeps a cursor (72 h)
    vs_move(vs_url, first, "ready_to_ship", "shipped")
    admin(vs_url, "POST", "/clock", advance_s=73 * 3600)
    report = orders_feed_pull()

    # then the 410 led to a resynchronisation by search, then to a new cursor; the order is current
    expired = [r for r in mock_requests(vs_url, "/v2/orders/changes") if r["status"] == 410]
    assert len(expired) == 1 and f"after={cursor}" in expired[0]["query"]
    assert mock_requests(vs_url, "/v2/orders")  # the search
    sync = OrderSync.objects.get(connection=shops.vs)
    assert sync.resynced_at is not None and sync.feed_seq > cursor
    assert report[shops.vs.pk]["resync"].get("changed") == 1, report
    assert Order.objects.get(external_id=first).status == "shipped"
    assert "resync" in Order.objects.get(external_id=first).events.values_list("source", flat=True)


def test_scenario_15_orders_on_both_marketplaces_link_back_and_the_listing_metrics_move(
    api, login, pm_url, vs_url, live_server
):
    # given a product live on both marketplaces, with pushes and webhooks
    shops = live_shops(api, login, pm_url, vs_url, live_server)
    assert shops.pm_listing.remote_confirmed_at and shops.vs_listing.remote_confirmed_at  # the channels said so
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    client = login(officer)
    before = client.get(f"/api/v1/listings/{shops.pm_listing.pk}/").json()["sales"]

    # when buyers order on each; one order on each is delivered, another Postmart order is cancelled
    pm_sold = pm_buy(pm_url, shops.pm_listing, qty=2)
    pm_cancelled = pm_buy(pm_url, shops.pm_listing, qty=5, payment="Bank Transfer")
    vs_sold = vs_buy(vs_url, shops.vs_listing, qty=3)
    pm_move(pm_url, pm_sold, "PROCESSED", "SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED")
    pm_move(pm_url, pm_cancelled, "IN_CANCEL", "CANCELLED")
    vs_move(vs_url, vs_sold, "ready_to_ship", "shipped", "delivered")
    wait_for(lambda: set(Order.objects.values_list("status", flat=True)) == {"completed", "cancelled", "delivered"})

    # then each order's lines lead back to the listing, its package and its product
    for number, listing in ((pm_sold, shops.pm_listing), (vs_sold, shops.vs_listing)):
        line = Order.objects.get(external_id=number).lines.get()
        assert (line.listing_id, line.sku_id, line.product_id) == (listing.pk, listing.sku_id, shops.product.pk)

    # and the listings' metrics count what sold, and only that
    price = shops.pm_listing.sku.price_vnd
    assert before == {"order_count": 0, "quantity": 0, "gmv_vnd": 0, "first_sale_at": None, "gmv_display": "0 ₫"}
    pm_sales = client.get(f"/api/v1/listings/{shops.pm_listing.pk}/").json()["sales"]
    vs_sales = client.get(f"/api/v1/listings/{shops.vs_listing.pk}/").json()["sales"]
    assert (pm_sales["order_count"], pm_sales["quantity"], pm_sales["gmv_vnd"]) == (1, 2, 2 * price)
    assert (vs_sales["order_count"], vs_sales["quantity"]) == (1, 3)
    assert vs_sales["gmv_vnd"] == 3 * Order.objects.get(external_id=vs_sold).lines.get().unit_price_vnd
    assert pm_sales["first_sale_at"] and vs_sales["first_sale_at"]
    assert Order.objects.get(external_id=pm_sold).sold_at is not None

    # and the officer sees the three orders, from every channel, with the buyer
    listed = client.get("/api/v1/orders/").json()
    assert listed["count"] == 3 and {row["channel"] for row in listed["results"]} == {"postmart", "voso"}
    assert all(row["buyer"] is not None and row["evidence"] == "platform_api" for row in listed["results"])
    assert requests.get(f"{pm_url}/__admin/state", timeout=5).ok
