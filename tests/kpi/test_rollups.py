"""The rollup refresh: incremental, resumable, idempotent, and equal to a rebuild from scratch."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from catalog.services import producer_update
from integrations.models import Listing
from integrations.sync.states import listing_transition
from kpi.models import ListingLiveSpan, ProductSaleDay, RollupState, UnitChannelDay
from kpi.rollups import kpi_refresh
from sales.models import Order
from tests.factories import current_commune

from .conftest import a_maker, at, listing, ocop_product, sale

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    """Every rollup row, without ids: what a refresh must end with, however it got there."""
    return {
        "spans": sorted(ListingLiveSpan.objects.values_list("listing_id", "channel", "started_at", "ended_at")),
        "sales": sorted(
            ProductSaleDay.objects.values_list(
                "product_id", "channel", "day", "undone_on", "unit_id", "lines", "quantity", "gmv_vnd", "attested_lines"
            ),
            key=str,
        ),
        "units": sorted(
            UnitChannelDay.objects.values_list("unit_id", "channel", "day", "lines", "quantity", "gmv_vnd"), key=str
        ),
    }


def shop(n_products=4, orders_each=3) -> list[Listing]:
    listings = []
    maker = a_maker("04657")
    for i in range(n_products):
        product = ocop_product(f"Chè số {i}", maker=maker)
        on = listing(
            product, ["postmart", "voso"][i % 2], [("live", date(2024, 1, 10 + i))], confirmed=date(2024, 12, 1)
        )
        for k in range(orders_each):
            sale(on, sold=date(2024, 3, 1) + timedelta(days=7 * k + i), quantity=k + 1)
        listings.append(on)
    return listings


def test_the_first_refresh_builds_every_rollup_and_a_second_one_changes_nothing():
    # given
    shop()

    # when
    first = kpi_refresh()
    built = snapshot()
    second = kpi_refresh()

    # then four spans, twelve product-days (one line each), the communes' sums; the same after a second run
    assert first.complete and first.rebuilt_products == 4
    assert len(built["spans"]) == 4 and len(built["sales"]) == 12
    assert sum(row[4] for row in built["units"]) == sum(k + 1 for k in range(3)) * 4  # quantity
    assert snapshot() == built
    assert second.complete


def test_a_return_after_the_sale_is_recorded_as_the_day_it_was_undone():
    # given a sale already in the rollups
    shop(n_products=1, orders_each=1)
    kpi_refresh()
    order = Order.objects.get()

    # when the buyer returns it and the refresh runs
    order.status, order.status_changed_at = "returned", at(date(2024, 3, 20))
    order.save()
    kpi_refresh()

    # then the product-day carries the day it was undone; the commune's sum no longer counts it
    row = ProductSaleDay.objects.get()
    assert (row.day, row.undone_on, row.lines) == (date(2024, 3, 1), date(2024, 3, 20), 1)
    assert not UnitChannelDay.objects.exists()


def test_a_refresh_stopped_half_way_resumes_and_ends_as_a_rebuild_would():
    # given a first complete refresh, then new orders
    listings = shop()
    kpi_refresh()
    for k, on in enumerate(listings):
        sale(on, sold=date(2024, 6, 1) + timedelta(days=k), quantity=5)
        sale(on, sold=date(2024, 6, 1), status="cancelled", undone=date(2024, 6, 3))

    # when a run is stopped after one batch of two orders
    stopped = kpi_refresh(batch_size=2, max_batches=2)  # the listings' pass, then one batch of orders
    state = RollupState.objects.get(name="orders")

    # then it says so, and its cursor is saved; the next run carries on to the end
    assert not stopped.complete
    assert state.cursor_at is not None
    resumed = kpi_refresh(batch_size=2)
    assert resumed.complete
    incremental = snapshot()
    kpi_refresh(full=True)
    assert snapshot() == incremental
    # on 1 June: the first product's sale, and the four cancelled orders (each on a row of its own)
    assert sum(row[5] for row in incremental["sales"] if row[2] == date(2024, 6, 1)) == 5


def test_a_rebuild_stopped_half_way_resumes_product_by_product():
    # given orders never rolled up
    shop(n_products=3)

    # when the first run stops after one product, and another run follows
    first = kpi_refresh(batch_size=10, max_batches=2)
    assert not first.complete and RollupState.objects.get(name="orders").rebuild_after is not None
    kpi_refresh(batch_size=10)

    # then the rollups are those of an uninterrupted rebuild
    resumed = snapshot()
    kpi_refresh(full=True)
    assert snapshot() == resumed
    assert RollupState.objects.get(name="orders").rebuild_after is None


def test_the_next_refresh_reads_only_the_orders_changed_since_the_last():
    # given a first refresh, then one an hour from now (so that the safety lag does not hold the cursor back)
    [on] = shop(n_products=1, orders_each=3)
    kpi_refresh()
    later = timezone.now() + timedelta(hours=1)
    kpi_refresh(now=later)

    # when two new orders come and the refresh runs again
    sale(on, sold=date(2024, 9, 1))
    sale(on, sold=date(2024, 9, 2))
    result = kpi_refresh(now=later + timedelta(minutes=5))

    # then it read those two and no other
    assert result.applied["orders"] == 2
    assert ProductSaleDay.objects.count() == 5


def test_a_listing_leaving_live_closes_its_span():
    # given a live listing in the rollups
    [on] = shop(n_products=1, orders_each=0)
    kpi_refresh()
    assert ListingLiveSpan.objects.get().ended_at is None

    # when the marketplace takes it down
    listing_transition(listing=on, to="taken_down", note="vi phạm")
    kpi_refresh()

    # then its span ends when it was taken down
    span = ListingLiveSpan.objects.get()
    assert span.ended_at is not None and span.started_at == at(date(2024, 1, 10))


def test_a_producer_who_moves_takes_their_sales_to_the_new_commune():
    # given sales of a producer of Suối Giàng (now Xã Văn Chấn)
    [on] = shop(n_products=1, orders_each=2)
    kpi_refresh()
    assert set(UnitChannelDay.objects.values_list("unit__code", flat=True)) == {"04672"}

    # when the producer's address moves to Tú Lệ
    producer_update(producer=on.product.producer, commune_as_captured=current_commune("04630"))
    kpi_refresh()

    # then the sums moved with them
    assert set(UnitChannelDay.objects.values_list("unit__code", flat=True)) == {"04630"}
    assert set(ProductSaleDay.objects.values_list("unit__code", flat=True)) == {"04630"}


def test_the_management_command_and_the_task_refresh_too():
    from django.core.management import call_command

    from kpi.tasks import kpi_refresh_task

    shop(n_products=1, orders_each=1)
    call_command("kpi_refresh", verbosity=0)
    assert ProductSaleDay.objects.count() == 1
    assert kpi_refresh_task()["complete"] is True
