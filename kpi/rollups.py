"""Filling the KPI rollups (kpi.models) from listings, producers and orders, incrementally and resumably.

Each source is read in batches in (updated_at, pk) order after its cursor (RollupState). A batch recomputes,
from the source rows themselves, every rollup group it touches (a listing's spans; a product's sales of a day;
a commune's sales of a day), then saves the cursor, in one transaction: a run killed half-way resumes after
the last batch it committed, and a batch applied twice gives the same rows. The first run (or `full=True`)
rebuilds the sales product by product instead, which is far cheaper than replaying every order.

What it relies on: every write of an order (and of its lines) saves the order, so that `updated_at` moves;
every state change of a listing goes through integrations.sync.states.listing_transition, which saves the
listing. A line moved to another product after the fact is only caught by a full rebuild
(`manage.py kpi_refresh --full`).

The KPI also reads certificates, products, producers, readiness, listings and saved scopes directly. Each run
takes a fingerprint of those tables (`INPUTS`); when it moved, the inputs' generation grows, so that the
cached answers (keyed by every generation, kpi.answers) are recomputed.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_
from time import monotonic

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, DateField, F, Q, Sum, UUIDField, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import Producer, Product
from integrations.models import Listing, ListingEvent, ListingState
from sales.models import Evidence, Order, OrderLine, OrderStatus

from .models import ListingLiveSpan, ProductSaleDay, RollupState, UnitChannelDay

logger = logging.getLogger(__name__)

LISTINGS, PRODUCERS, ORDERS, INPUTS = "listings", "producers", "orders", "inputs"
SOURCES = (LISTINGS, PRODUCERS, ORDERS)
BATCH_SIZE = 1000
# A row saved just before a run may commit just after it: the saved cursor stays behind such rows, so the
# next run reads them again (harmless: every batch is idempotent). PostgreSQL tells how far (_horizon);
# other databases keep this lag.
SAFETY_LAG = timedelta(minutes=2)
CLOCK_MARGIN = timedelta(seconds=5)
# Days per query when recomputing product-days: the condition is one OR term per day.
DAYS_PER_QUERY = 40
UNDONE = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


@dataclass
class RefreshResult:
    """What one run applied, per source, and whether it reached the end of every source."""

    applied: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    rebuilt_products: int = 0
    complete: bool = True
    inputs_changed: bool = False


class _Budget:
    """At most `max_batches` batches in a run (None: no limit). Tests use it to stop a run half-way."""

    def __init__(self, max_batches: int | None):
        self.left = max_batches

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def kpi_refresh(
    *, full: bool = False, batch_size: int = BATCH_SIZE, max_batches: int | None = None, now: datetime | None = None
) -> RefreshResult:
    """Bring the rollups up to date with listings, producers and orders changed since the last run.

    `full` rebuilds everything from the sources (also what the very first run does for the sales).
    `max_batches` stops after that many batches; the next run carries on from there."""
    now = now or timezone.now()
    budget = _Budget(max_batches)
    result = RefreshResult()
    states = {name: RollupState.objects.get_or_create(name=name)[0] for name in SOURCES}
    if full:
        RollupState.objects.filter(name__in=[LISTINGS, PRODUCERS]).update(cursor_at=None, cursor_pk="")
        _rebuild_begin(now)
    elif states[ORDERS].cursor_at is None and states[ORDERS].rebuild_after is None:
        _rebuild_begin(now)  # never filled: build the sales from scratch
    RollupState.objects.filter(name__in=SOURCES).update(started_at=now)
    steps = [
        (LISTINGS, lambda: _drain(LISTINGS, _listing_rows, _spans_rebuild, batch_size, budget, now)),
        (PRODUCERS, lambda: _drain(PRODUCERS, _producer_rows, _producers_moved, batch_size, budget, now)),
        (ORDERS, lambda: _orders_step(batch_size, budget, now, result)),
    ]
    for name, step in steps:
        try:
            applied, complete = step()
        except Exception as exc:
            RollupState.objects.filter(name=name).update(error=f"{type(exc).__name__}: {exc}"[:500])
            raise
        result.applied[name] += applied
        result.complete &= complete
        if complete:
            RollupState.objects.filter(name=name).update(finished_at=now, error="", rows=applied)
    result.inputs_changed = _inputs_note(now)
    generations_forget()
    return result


# Each process reads the generations at most every KPI_GENERATIONS_SECONDS (1 s by default), so a ready answer
# takes no query for them. A refresh in this process forgets them at once; one in another process (beat's worker)
# is seen within that second, which is nothing beside the minute between two refreshes.
_generations: list = [0.0, None]  # [monotonic time read, {source: generation}]


def rollup_generations() -> dict[str, int]:
    """Every rollup source's generation: part of the key of a cached answer (kpi.answers)."""
    now = monotonic()
    if _generations[1] is None or now - _generations[0] >= getattr(settings, "KPI_GENERATIONS_SECONDS", 1.0):
        _generations[:] = [now, dict(RollupState.objects.order_by("name").values_list("name", "generation"))]
    return _generations[1]


def generations_forget() -> None:
    _generations[:] = [0.0, None]


# ------------------------------------------------------------------------------------------------ inputs
def _inputs_tables() -> list[tuple[str, str, bool]]:
    """(table, column that moves on every save, whether it is a timestamp) of what the KPI reads besides its
    rollups. Table and column names come from the models, never from input."""
    from catalog.models import ProductReadiness
    from catalog.ocop.models import OcopCertificate
    from marketplace.places.models import NamedScope

    moving = [(Producer, "updated_at"), (Product, "updated_at"), (OcopCertificate, "updated_at"),
              (ProductReadiness, "computed_at"), (Listing, "updated_at"), (NamedScope, "created_at")]  # fmt: skip
    tables = [(model._meta.db_table, model._meta.get_field(column).column, True) for model, column in moving]
    scope_units = NamedScope.units.through._meta  # a scope's units: rows come and go, ids only grow
    tables.append((scope_units.db_table, scope_units.pk.column, False))
    return tables


def inputs_fingerprint() -> list:
    """Per table, the number of rows and the sum of the column that moves on every save: an insert or a delete
    changes the count, and a save moves the sum (a timestamp only grows), whatever order transactions commit
    in, which a newest-timestamp check would miss. A scan of each table: milliseconds at national scale."""
    as_number = {"postgresql": "extract(epoch from {column})", "sqlite": "julianday({column})"}
    out = []
    with connection.cursor() as cursor:
        for table, column, is_time in _inputs_tables():
            summed = as_number.get(connection.vendor, "{column}") if is_time else "{column}"
            cursor.execute(f"SELECT count(*), sum({summed.format(column=column)}) FROM {table}")  # noqa: S608
            count, total = cursor.fetchone()
            out.append([table, count, str(total)])
    return out


def _inputs_note(now: datetime) -> bool:
    """Grow the inputs' generation when their fingerprint moved since the last run."""
    fingerprint = inputs_fingerprint()
    with transaction.atomic():
        state, _created = RollupState.objects.select_for_update().get_or_create(name=INPUTS)
        changed = state.details.get("fingerprint") != fingerprint
        if changed:
            state.generation += 1
            state.details = {**state.details, "fingerprint": fingerprint}
        state.cursor_at = state.finished_at = now
        state.save()
    return changed


# ------------------------------------------------------------------------------------------------ cursors
def _listing_rows():
    return Listing.objects.values_list("pk", "updated_at", "product_id", "channel", named=True)


def _producer_rows():
    return Producer.objects.values_list("pk", "updated_at", "current_commune_id", named=True)


def _order_rows():
    return Order.objects.values_list("pk", "updated_at", "channel", "sold_at", named=True)


def _after(at: datetime | None, pk) -> Q:
    if at is None:
        return Q()
    if pk in (None, ""):
        return Q(updated_at__gte=at)
    return Q(updated_at__gt=at) | Q(updated_at=at, pk__gt=pk)


def _pk(value: str, model):
    if value == "":
        return None
    return uuid.UUID(value) if isinstance(model._meta.pk, UUIDField) else int(value)


def _drain(name, rows_of, apply, batch_size, budget, now) -> tuple[int, bool]:
    """Apply every row of a source changed since the cursor, batch by batch; each batch commits its rollup rows
    and the cursor together. Returns (rows applied, reached the end)."""
    source = rows_of()
    state = RollupState.objects.get(name=name)
    at, pk = state.cursor_at, _pk(state.cursor_pk, source.model)
    horizon = _horizon(now)
    applied = 0
    while True:
        if not budget.take():
            return applied, False
        with transaction.atomic():
            state = RollupState.objects.select_for_update().get(name=name)
            rows = list(source.filter(_after(at, pk), updated_at__lte=now).order_by("updated_at", "pk")[:batch_size])
            if not rows:
                return applied, True
            changed = apply(rows)
            at, pk = rows[-1].updated_at, rows[-1].pk
            # Kept behind the horizon: what is newer is read again next time.
            if at <= horizon:
                state.cursor_at, state.cursor_pk = at, str(pk)
            else:
                state.cursor_at, state.cursor_pk = horizon, ""
            if changed:
                state.generation += 1
            if name == ORDERS:
                _note_newest_orders(state, rows)
            state.save()
            applied += len(rows)


def _horizon(now: datetime) -> datetime:
    """How far a cursor may move. On PostgreSQL: behind the start of the oldest transaction still open on the
    database (a row is stamped inside its transaction, so one that commits late, however late, was stamped
    after its transaction began and is read next time), and CLOCK_MARGIN behind the clock, for app servers
    whose clocks drift from the database's. Elsewhere: SAFETY_LAG behind the clock."""
    if connection.vendor != "postgresql":
        return now - SAFETY_LAG
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(xact_start) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        oldest = cursor.fetchone()[0]
    horizon = now - CLOCK_MARGIN
    return horizon if oldest is None else min(horizon, oldest - CLOCK_MARGIN)


def _note_newest_orders(state: RollupState, rows) -> None:
    newest = dict(state.details.get("last_order_change", {}))
    for row in rows:
        stamp = row.updated_at.isoformat()
        if stamp > newest.get(row.channel, ""):
            newest[row.channel] = stamp
    state.details = {**state.details, "last_order_change": newest}


# ------------------------------------------------------------------------------------------------ listings
def _spans_rebuild(rows) -> bool:
    """Rebuild the live spans of these listings from their whole history."""
    listings = {row.pk: row for row in rows}
    deleted, _ = ListingLiveSpan.objects.filter(listing_id__in=listings).delete()
    spans, open_at = [], {}
    events = ListingEvent.objects.filter(listing_id__in=listings).order_by("listing_id", "at", "pk")
    for listing_id, to_state, at in events.values_list("listing_id", "to_state", "at"):
        row = listings[listing_id]
        if to_state == ListingState.LIVE and listing_id not in open_at:
            open_at[listing_id] = at
        elif to_state != ListingState.LIVE and listing_id in open_at:
            spans.append(_span(row, open_at.pop(listing_id), at))
    spans.extend(_span(listings[listing_id], started, None) for listing_id, started in open_at.items())
    ListingLiveSpan.objects.bulk_create(spans)
    return bool(deleted or spans)


def _span(row, started_at, ended_at) -> ListingLiveSpan:
    return ListingLiveSpan(
        listing_id=row.pk, product_id=row.product_id, channel=row.channel, started_at=started_at, ended_at=ended_at
    )


# ------------------------------------------------------------------------------------------------ producers
def _producers_moved(rows) -> bool:
    """A producer whose current commune changed: move its products' sales to the new commune's sums."""
    current = {row.pk: row.current_commune_id for row in rows}
    stale = ProductSaleDay.objects.filter(product__producer_id__in=current).exclude(
        unit_id=F("product__producer__current_commune_id")
    )
    rows = stale.values_list("pk", "unit_id", "day", "product__producer_id")
    moved = [row for row in rows if row[1] != current[row[3]]]  # the exclusion keeps null = null pairs
    if not moved:
        return False
    unit_days = set()
    by_producer = defaultdict(list)
    for pk, unit_id, day, producer_id in moved:
        by_producer[producer_id].append(pk)
        unit_days.add((unit_id, day))
        unit_days.add((current[producer_id], day))
    for producer_id, pks in by_producer.items():
        ProductSaleDay.objects.filter(pk__in=pks).update(unit_id=current[producer_id])
    _unit_days_recompute(unit_days)
    return True


# ------------------------------------------------------------------------------------------------ orders
def _orders_step(batch_size, budget, now, result: RefreshResult) -> tuple[int, bool]:
    state = RollupState.objects.get(name=ORDERS)
    if state.rebuild_after is not None:
        rebuilt, complete = _rebuild_continue(batch_size, budget)
        result.rebuilt_products += rebuilt
        if not complete:
            return 0, False
    return _drain(ORDERS, _order_rows, _orders_apply, batch_size, budget, now)


def _orders_apply(rows) -> bool:
    sold = [row.pk for row in rows if row.sold_at is not None]
    lines = OrderLine.objects.filter(order_id__in=sold, product__isnull=False, listing__isnull=False)
    keys = {
        (product_id, _local_day(sold_at)) for product_id, sold_at in lines.values_list("product_id", "order__sold_at")
    }
    return _sale_days_recompute(keys)


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _sale_lines():
    """Sold lines on a listing, grouped as ProductSaleDay rows (days in Vietnam time, the current timezone)."""
    undone_on = Case(
        When(order__status__in=UNDONE, then=TruncDate("order__status_changed_at")), output_field=DateField()
    )
    return (
        OrderLine.objects.filter(order__sold_at__isnull=False, listing__isnull=False, product__isnull=False)
        .values("product_id", channel=F("order__channel"), day=TruncDate("order__sold_at"), undone_on=undone_on)
        .annotate(
            lines=Count("pk"),
            quantity=Sum("quantity"),
            gmv_vnd=Sum("total_vnd"),
            attested_lines=Count("pk", filter=Q(order__evidence=Evidence.OFFICER_ATTESTED)),
        )
        .order_by()
    )


def _sale_days_of(groups, units: dict[int, int | None]) -> list[ProductSaleDay]:
    return [
        ProductSaleDay(
            product_id=g["product_id"], channel=g["channel"], day=g["day"], undone_on=g["undone_on"],
            unit_id=units.get(g["product_id"]), lines=g["lines"], quantity=g["quantity"] or 0,
            gmv_vnd=g["gmv_vnd"] or 0, attested_lines=g["attested_lines"],
        )
        for g in groups
    ]  # fmt: skip


def _sale_days_recompute(keys: set[tuple[int, date]]) -> bool:
    """Recompute every channel's row of these (product, day) pairs from the order lines, and the communes'
    sums of those days."""
    if not keys:
        return False
    by_day: dict[date, set[int]] = defaultdict(set)
    for product_id, day in keys:
        by_day[day].add(product_id)
    days = sorted(by_day)
    products = {product_id for product_id, _day in keys}
    units = dict(Product.objects.filter(pk__in=products).values_list("pk", "producer__current_commune_id"))
    unit_days: set[tuple[int | None, date]] = set()
    for start in range(0, len(days), DAYS_PER_QUERY):
        chunk = days[start : start + DAYS_PER_QUERY]
        existing = ProductSaleDay.objects.filter(reduce(or_, (Q(day=d, product_id__in=by_day[d]) for d in chunk)))
        unit_days.update(existing.values_list("unit_id", "day"))
        existing.delete()
        in_days = reduce(
            or_,
            (
                Q(
                    order__sold_at__gte=_day_start(d),
                    order__sold_at__lt=_day_start(d + timedelta(1)),
                    product_id__in=by_day[d],
                )
                for d in chunk
            ),
        )
        fresh = _sale_days_of(_sale_lines().filter(in_days), units)
        ProductSaleDay.objects.bulk_create(fresh)
        unit_days.update((row.unit_id, row.day) for row in fresh)
    _unit_days_recompute(unit_days)
    return True


def _unit_days_recompute(unit_days: set[tuple[int | None, date]]) -> None:
    by_day: dict[date, set[int]] = defaultdict(set)
    for unit_id, day in unit_days:
        if unit_id is not None:
            by_day[day].add(unit_id)
    days = sorted(by_day)
    for start in range(0, len(days), DAYS_PER_QUERY):
        chunk = days[start : start + DAYS_PER_QUERY]
        where = reduce(or_, (Q(day=d, unit_id__in=by_day[d]) for d in chunk))
        UnitChannelDay.objects.filter(where).delete()
        sums = (
            ProductSaleDay.objects.filter(where, undone_on__isnull=True)
            .values("unit_id", "channel", "day")
            .annotate(l=Sum("lines"), q=Sum("quantity"), g=Sum("gmv_vnd"), a=Sum("attested_lines"))
            .order_by()
        )
        UnitChannelDay.objects.bulk_create(
            UnitChannelDay(unit_id=s["unit_id"], channel=s["channel"], day=s["day"], lines=s["l"], quantity=s["q"],
                           gmv_vnd=s["g"], attested_lines=s["a"])
            for s in sums
        )  # fmt: skip


# ------------------------------------------------------------------------------------------------ full rebuild
def _rebuild_begin(now: datetime) -> None:
    """Start rebuilding the sales from scratch. Orders changed from now on are read again afterwards."""
    RollupState.objects.filter(name=ORDERS).update(rebuild_after=0, cursor_at=_horizon(now), cursor_pk="")


def _rebuild_continue(batch_size: int, budget: _Budget) -> tuple[int, bool]:
    """Rebuild the sales of the products after the saved one, batch by batch, then the communes' sums."""
    rebuilt = 0
    # Products have about a hundred lines each at national scale: a tenth of the order batch keeps batches even.
    per_batch = max(1, batch_size // 10)
    while True:
        if not budget.take():
            return rebuilt, False
        with transaction.atomic():
            state = RollupState.objects.select_for_update().get(name=ORDERS)
            after = state.rebuild_after
            if after is None:
                return rebuilt, True
            batch = list(
                Product.objects.filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", "producer__current_commune_id")[:per_batch]
            )
            if not batch:
                _unit_days_rebuild()
                state.rebuild_after = None
                state.generation += 1
                state.save(update_fields=["rebuild_after", "generation"])
                return rebuilt, True
            units = dict(batch)
            ProductSaleDay.objects.filter(product_id__in=units).delete()
            ProductSaleDay.objects.bulk_create(_sale_days_of(_sale_lines().filter(product_id__in=units), units))
            state.rebuild_after = batch[-1][0]
            state.save(update_fields=["rebuild_after"])
            rebuilt += len(batch)


def _unit_days_rebuild() -> None:
    """Every commune's sums again from the product rows: one INSERT … SELECT (plain SQL both databases run)."""
    days, sales = UnitChannelDay._meta.db_table, ProductSaleDay._meta.db_table
    UnitChannelDay.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {days} (unit_id, channel, day, lines, quantity, gmv_vnd, attested_lines) "  # noqa: S608
            f"SELECT unit_id, channel, day, SUM(lines), SUM(quantity), SUM(gmv_vnd), SUM(attested_lines) "
            f"FROM {sales} WHERE undone_on IS NULL AND unit_id IS NOT NULL GROUP BY unit_id, channel, day"
        )
