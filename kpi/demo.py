"""Demo sales history for the KPI (development only): what `make run` shows a newcomer on the KPI endpoints.

The demo catalogue of old Yên Bái (catalog.demo) has no past on the marketplaces. This gives it one: in 2024
old Yên Bái ran a shared booth on Postmart and on Voso, listed part of its OCOP products there (some were
rejected, some still wait for review, some went quiet and were never confirmed again), and sold some of them,
its orders later imported from the platforms (a few attested by an officer instead). At the merger
(30 June 2025) part of the listings were withdrawn; the others stayed live and keep selling. Then the rollups
are refreshed, so the KPI of old Yên Bái, for 2024 as for this year, is neither 0 % nor 100 %.

The booths are inactive connections, so no sync task ever calls a marketplace for them, and the products made
ready for the mock marketplaces (catalog.demo's showcase, pushed by `connect_demo_channels`) are left alone.
Deterministic (fixed seed) and idempotent: a product already listed on a channel is not touched again, an order
already there (by its number) is not made twice.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from catalog.models import Product, ProductReadiness
from catalog.ocop.selectors import certificates_counting
from integrations.models import ChannelConnection, ConnectionKind, Listing, ListingEvent, ListingState
from integrations.sync.services import seller_sku
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level, NamedScope
from marketplace.places.selectors import scope_current_communes
from sales.models import Evidence, Order, OrderLine, OrderStatus

from .rollups import kpi_refresh

SEED = 2024
SCOPE = "old-yen-bai"
CHANNELS = ("postmart", "voso")
BOOTH_SHOP_ID = "demo-yen-bai-2024"
FIRST_LISTED, LAST_LISTED = date(2024, 1, 15), date(2024, 10, 31)
MERGER = date(2025, 6, 30)
ATTESTING_OFFICER = "canbo.yenbai"  # load_demo_data's officer of old Yên Bái
BUYERS = ["Nguyễn Thị Hà", "Trần Văn Minh", "Lê Thu Trang", "Phạm Quốc Huy", "Đỗ Thị Lan", "Vũ Đức Anh"]
REJECTION = [{"code": "IMAGE_QUALITY", "message": "Ảnh nhãn phụ bị mờ, không đọc được hạn sử dụng", "field": "images"}]
S = ListingState


def _moment(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _past(day: date, hour: int) -> datetime:
    """That day at that hour, or a few minutes ago if that is still to come today."""
    return min(_moment(day, hour), max(timezone.now() - timedelta(minutes=5), _moment(day, 0)))


def _between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


@transaction.atomic
def demo_orders_load(*, today: date | None = None) -> dict:
    """Create the booths, the listings with their dated history and the orders, then refresh the rollups."""
    today = today or timezone.localdate()
    rng = random.Random(SEED)
    scope = NamedScope.objects.get(slug=SCOPE)
    area = AdministrativeUnit.objects.get(system=CodeSystem.LEGACY, level=Level.PROVINCE, code="15")
    booths = {channel: _booth(channel, area) for channel in CHANNELS}
    officer = get_user_model().objects.filter(username=ATTESTING_OFFICER).first()
    ready = ProductReadiness.objects.filter(channel__in=CHANNELS, ready=True).values("product_id")
    products = list(
        Product.objects.filter(producer__current_commune__in=scope_current_communes(scope=scope), skus__isnull=False)
        .exclude(pk__in=ready)
        .distinct()
        .order_by("pk")
    )
    stories = _stories(products, rng, today)
    counts = {"listings": 0, "orders": 0}
    for product in products:
        story, channel = stories[product.pk]
        draws = [rng.random() for _ in range(12)]  # drawn whatever happens, so that reruns draw the same
        if story == "not_listed" or Listing.objects.filter(product=product, channel=channel).exists():
            continue
        listing = _listing(product, booths[channel], story, draws, today)
        counts["listings"] += 1
        if story in ("selling", "selling_2024", "selling_now"):
            counts["orders"] += _orders(listing, story, draws, today, officer)
    kpi_refresh()
    return counts


def _stories(products: list[Product], rng: random.Random, today: date) -> dict[int, tuple[str, str]]:
    """One story per product. Two products of N for 2024 and two of N for today are given a sale and no listing
    respectively, so the KPI of either period is never 0 % or 100 %, whatever day the demo is loaded."""
    stories = {}
    for product in products:
        roll, channel = rng.random(), rng.choice(CHANNELS)
        if roll < 0.45:
            story = "selling"
        elif roll < 0.58:
            story = "online"
        elif roll < 0.68:
            story = "rejected"
        elif roll < 0.75:
            story = "pending"
        elif roll < 0.80:
            story = "unconfirmed"
        else:
            story = "not_listed"
        stories[product.pk] = (story, channel)
    ids, forced = [p.pk for p in products], set()
    for on, selling in ((date(2024, 12, 31), "selling_2024"), (today, "selling_now")):
        counting = set(certificates_counting(on=on).filter(product_id__in=ids).values_list("product_id", flat=True))
        members = [pk for pk in ids if pk in counting and pk not in forced]
        if len(members) >= 2:
            stories[members[0]] = (selling, stories[members[0]][1])
            stories[members[-1]] = ("not_listed", stories[members[-1]][1])
            forced.update((members[0], members[-1]))
    return stories


def _booth(channel: str, area) -> ChannelConnection:
    base_url = settings.POSTMART_URL if channel == "postmart" else settings.VOSO_URL
    booth, _created = ChannelConnection.objects.get_or_create(
        channel=channel,
        shop_id=BOOTH_SHOP_ID,
        defaults={
            "kind": ConnectionKind.SHARED_BOOTH,
            "name": f"Gian hàng OCOP Yên Bái (2024) trên {channel.capitalize()}",
            "area": area,
            "base_url": base_url,
            # History only: never synced, so no task calls the marketplace with credentials it does not have.
            "is_active": False,
        },
    )
    return booth


def _listing(product: Product, booth: ChannelConnection, story: str, draws: list[float], today: date) -> Listing:
    sku = product.skus.order_by("pk").first()
    listed = _between(random.Random(draws[0]), FIRST_LISTED, LAST_LISTED)
    history = [(S.QUEUED, listed), (S.PENDING_REVIEW, listed + timedelta(days=1))]
    confirmed = None
    if story == "rejected":
        history.append((S.REJECTED, listed + timedelta(days=3)))
    elif story == "unconfirmed":
        history.append((S.LIVE, listed + timedelta(days=2)))
        confirmed = listed + timedelta(days=9)  # the channel went quiet about it after the first week
    elif story != "pending":
        history.append((S.LIVE, listed + timedelta(days=2)))
        if story in ("selling", "online") and draws[1] < 0.3 and today > MERGER:
            history.append((S.DELISTED, MERGER))  # withdrawn when the booth was reorganised at the merger
        else:
            confirmed = today
    final = history[-1][0]
    listing = Listing.objects.create(
        sku=sku, product=product, channel=booth.channel, connection=booth, state=final,
        seller_sku=seller_sku(sku), external_id=f"DEMO-{booth.channel}-{sku.pk}",
        remote_status={"live": "NORMAL", "rejected": "BANNED"}.get(final, ""),
        remote_confirmed_at=_moment(confirmed, 6) if confirmed else None,
        reasons=REJECTION if final == S.REJECTED else [], wanted_visible=final != S.DELISTED,
        wanted_removed=final == S.DELISTED, desired_price=sku.price_vnd, applied_price=sku.price_vnd,
    )  # fmt: skip
    previous = S.DRAFT
    for state, day in history:
        event = ListingEvent.objects.create(
            listing=listing, from_state=previous, to_state=state,
            note="imported from the marketplace's history", reasons=REJECTION if state == S.REJECTED else [],
        )  # fmt: skip
        ListingEvent.objects.filter(pk=event.pk).update(at=_moment(day))
        previous = state
    Listing.objects.filter(pk=listing.pk).update(
        created_at=_moment(listed, 8), state_changed_at=_moment(history[-1][1])
    )
    return listing


def _orders(listing: Listing, story: str, draws: list[float], today: date, officer) -> int:
    """A few orders while the listing was live, imported from the platform; one in nine attested by an officer."""
    live_from = listing.events.get(to_state=S.LIVE).at.date() + timedelta(days=3)
    ended = listing.events.filter(to_state=S.DELISTED).first()
    last_day = min(ended.at.date() if ended else today, today - timedelta(days=1))
    windows = {
        "selling_2024": (live_from, min(last_day, date(2024, 12, 20))),
        "selling_now": (date(today.year, 1, 1), today),
    }
    first, last = windows.get(story, (live_from, last_day))
    first = min(max(first, live_from), last)
    rng = random.Random(draws[2])
    made = 0
    for number in range(1 + int(draws[3] * 5)):
        external_id = f"DEMO-KPI-{listing.seller_sku}-{listing.channel[:2]}-{number}"
        # The first sale comes within weeks of going live; later ones spread over the rest of the time.
        sold = _between(rng, first, min(last, first + timedelta(days=45)) if number == 0 else last)
        quantity = rng.randint(1, 3)
        roll = rng.random()
        attested = roll < 0.11 and officer is not None
        if Order.objects.filter(channel=listing.channel, external_id=external_id).exists():
            continue
        status, changed = OrderStatus.COMPLETED, sold
        if roll > 0.9 and story == "selling":
            status, changed = OrderStatus.RETURNED, min(sold + timedelta(days=10), today)
        elif roll > 0.8:
            status = OrderStatus.DELIVERED
        price = listing.sku.price_vnd
        order = Order.objects.create(
            channel=listing.channel, connection=listing.connection, external_id=external_id, status=status,
            placed_at=_moment(sold - timedelta(days=3), 9), status_changed_at=_past(changed, 16),
            sold_at=_past(sold, 15), total_vnd=quantity * price, buyer_name=rng.choice(BUYERS),
            evidence=Evidence.OFFICER_ATTESTED if attested else Evidence.PLATFORM_API,
            attested_by=officer if attested else None,
            attested_document="Biên bản xác nhận giao dịch tại hội chợ OCOP" if attested else "",
        )  # fmt: skip
        OrderLine.objects.create(
            order=order, listing=listing, sku=listing.sku, product=listing.product, seller_sku=listing.seller_sku,
            name=listing.product.name[:255], quantity=quantity, unit_price_vnd=price, total_vnd=quantity * price,
        )  # fmt: skip
        made += 1
    return made
