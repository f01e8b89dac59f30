"""Listing services the API, the tasks and the catalogue call. Every write is atomic; pushes are enqueued on
commit with the listing's id only."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product, ProductReadiness, ProductStatus, Sku
from marketplace.core.errors import ServiceError
from marketplace.core.queue import task_send
from marketplace.places.models import NamedScope
from marketplace.places.selectors import scope_current_communes

from ..models import BulkPush, ChannelConnection, ConnectionKind, Listing, ListingEvent, ListingState
from .states import HOLD, listing_transition

S = ListingState


def listing_enqueue(listing: Listing) -> None:
    """Push this listing after the transaction commits, on its channel's own queue."""
    from ..tasks import listing_sync_task

    listing_id, queue = str(listing.pk), settings.CHANNEL_QUEUES[listing.channel]
    # Broker down: the listing stays queued and listings_release_deferred pushes it again.
    transaction.on_commit(
        lambda: task_send(listing_sync_task, args=[listing_id], queue=queue, what=f"listing {listing_id}")
    )


def connection_for(*, producer, channel: str) -> ChannelConnection | None:
    """The producer's own shop on the channel, else a shared booth whose area covers the producer."""
    connections = ChannelConnection.objects.filter(channel=channel, is_active=True).order_by("pk")
    return connection_among(list(connections), producer=producer)


def connection_among(connections: list[ChannelConnection], *, producer) -> ChannelConnection | None:
    own = [c for c in connections if c.kind == ConnectionKind.OWN_SHOP and c.producer_id == producer.pk]
    if own:
        return own[0]
    commune = producer.current_commune
    if commune is None:
        return None
    areas = {commune.pk, commune.parent_id}
    booths = [c for c in connections if c.kind == ConnectionKind.SHARED_BOOTH and c.area_id in areas]
    return min(booths, key=lambda c: c.pk) if booths else None


def seller_sku(sku: Sku) -> str:
    # Unique per shop even in a shared booth (producer id first); no spaces (Voso), ≤ 50 characters.
    code = re.sub(r"[^A-Za-z0-9._-]", "", sku.code or "") or f"S{sku.pk}"
    return f"P{sku.product.producer_id}-{code}"[:50]


def _ready_or_400(product: Product, channel: str) -> None:
    if product.status != ProductStatus.APPROVED:
        raise ServiceError(
            "product_not_approved",
            _("Only a product approved by an officer can be put on a marketplace."),
            fields={"product": [_("The product is not approved yet.")]},
        )
    readiness = ProductReadiness.objects.filter(product=product, channel=channel).first()
    if readiness is None or not readiness.ready:
        from catalog.readiness import product_readiness

        result = next(r for r in product_readiness(product=product) if r.channel == channel)
        if not result.ready:
            raise ServiceError(
                "not_ready",
                _("The product is not ready for this channel yet."),
                fields={"missing": result.missing_labels()},
            )


@transaction.atomic
def listing_request(*, product: Product, channel: str, sku: Sku | None = None, actor=None, bulk=None) -> list[Listing]:
    """Queue the product (one listing per package, or just `sku`) for `channel`. 400 with the missing items
    if the product is not ready; an existing listing is requeued rather than duplicated."""
    if channel not in settings.CHANNEL_QUEUES:
        raise ServiceError("unknown_channel", _("Unknown channel."), fields={"channel": [_("Unknown channel.")]})
    _ready_or_400(product, channel)
    connection = connection_for(producer=product.producer, channel=channel)
    if connection is None:
        raise ServiceError(
            "no_connection",
            _("Neither the producer nor its area has a shop on this channel yet."),
            fields={"channel": [_("No shop on this channel for this producer.")]},
        )
    skus = [sku] if sku is not None else list(product.skus.order_by("pk"))
    listings = []
    for package in skus:
        listing = Listing.objects.select_for_update().filter(sku=package, channel=channel).first()
        if listing is None:
            listing = Listing.objects.create(
                sku=package, product=product, channel=channel, connection=connection,
                seller_sku=seller_sku(package), created_by=actor, bulk=bulk,
            )  # fmt: skip
        elif listing.state in HOLD - {S.DRAFT}:
            listings.append(listing)
            continue
        listing.wanted_removed, listing.wanted_visible = False, True
        if bulk is not None:
            listing.bulk = bulk
        listing.save(update_fields=["wanted_removed", "wanted_visible", "bulk", "updated_at"])
        if listing.state in (S.DRAFT, S.DELISTED, S.FAILED):
            listing_transition(listing=listing, to=S.QUEUED, actor=actor, note="requested")
        listing_enqueue(listing)
        listings.append(listing)
    return listings


@transaction.atomic
def listing_unlist(*, listing: Listing, actor=None) -> Listing:
    """Withdraw from sale. The listing becomes `delisted` once the marketplace confirms."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.state == S.LOCKED:
        raise ServiceError("listing_locked", _("The marketplace has locked this listing; only it can lift the lock."))
    listing.wanted_removed = True
    listing.save(update_fields=["wanted_removed", "updated_at"])
    listing_enqueue(listing)
    return listing


@transaction.atomic
def listing_retry(*, listing: Listing, actor=None) -> Listing:
    """Try again now: a failed listing is queued again; a rejected one is resubmitted for review as it is."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.state == S.LOCKED:
        raise ServiceError("listing_locked", _("The marketplace has locked this listing; only it can lift the lock."))
    if listing.state in (S.REJECTED, S.TAKEN_DOWN):
        listing.applied_hash = ""  # send the content again: that is what asks for a new review
    listing.retry_count, listing.next_attempt_at = 0, None
    listing.save(update_fields=["applied_hash", "retry_count", "next_attempt_at", "updated_at"])
    if listing.state not in (S.QUEUED, S.SUBMITTING):
        listing_transition(listing=listing, to=S.QUEUED, actor=actor, note="retry requested")
    listing_enqueue(listing)
    return listing


def listings_resync_product(*, product_id: int) -> int:
    """The product changed: let each of its listings push whatever differs now (a fix resubmits)."""
    count = 0
    for listing in Listing.objects.filter(product_id=product_id, wanted_removed=False).exclude(
        state__in=[S.DRAFT, S.LOCKED, S.DELISTED]
    ):
        listing_enqueue(listing)
        count += 1
    return count


@transaction.atomic
def listings_bulk_push(*, scope: NamedScope, channel: str, actor=None, product_ids=None) -> BulkPush:
    """Queue every approved product of the scope that is ready for the channel; say why the others are not.

    Made for a whole province at once: the new listings and their first history entries are written in a few
    statements, and pushed after the commit; a product already listed on the channel goes through
    listing_request (requeued, never duplicated)."""
    bulk = BulkPush.objects.create(channel=channel, scope=scope, requested_by=actor)
    products = Product.objects.filter(
        producer__current_commune__in=scope_current_communes(scope=scope), status=ProductStatus.APPROVED
    ).select_related("producer__current_commune")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    products = list(products.order_by("pk"))
    ready = set(
        ProductReadiness.objects.filter(product__in=products, channel=channel, ready=True).values_list(
            "product_id", flat=True
        )
    )
    listed = set(Listing.objects.filter(product__in=products, channel=channel).values_list("product_id", flat=True))
    skus: dict[int, list[Sku]] = {}
    for package in Sku.objects.filter(product__in=ready - listed).select_related("product").order_by("pk"):
        skus.setdefault(package.product_id, []).append(package)
    connections = list(ChannelConnection.objects.filter(channel=channel, is_active=True).order_by("pk"))
    skipped, new = [], []
    now = timezone.now()
    for product in products:
        if product.pk not in ready:
            skipped.append({"product": product.pk, "reason": "not_ready"})
            continue
        if product.pk in listed:
            try:
                listing_request(product=product, channel=channel, actor=actor, bulk=bulk)
            except ServiceError as exc:
                skipped.append({"product": product.pk, "reason": exc.code})
            continue
        connection = connection_among(connections, producer=product.producer)
        if connection is None:
            skipped.append({"product": product.pk, "reason": "no_connection"})
            continue
        new += [
            Listing(sku=package, product=product, channel=channel, connection=connection, state=S.QUEUED,
                    state_changed_at=now, seller_sku=seller_sku(package), created_by=actor, bulk=bulk)
            for package in skus.get(product.pk, [])
        ]  # fmt: skip
    Listing.objects.bulk_create(new)
    ListingEvent.objects.bulk_create(
        ListingEvent(listing=listing, from_state=S.DRAFT, to_state=S.QUEUED, note="requested", actor=actor)
        for listing in new
    )
    for listing in new:
        listing_enqueue(listing)
    bulk.skipped = skipped
    bulk.save(update_fields=["skipped"])
    return bulk


def listings_release_deferred(*, lost_after_s: int = 600) -> int:
    """Requeue listings whose quota wait is over, and listings whose push was lost (a worker died, a broker
    restarted empty or down when the push was asked for) `lost_after_s` ago; a recovery drill asks sooner."""
    now = timezone.now()
    released = 0
    for listing in Listing.objects.filter(state=S.QUOTA_DEFERRED, next_attempt_at__lte=now):
        with transaction.atomic():
            listing_transition(listing=listing, to=S.QUEUED, note="quota reset")
            listing_enqueue(listing)
        released += 1
    stale = now - timezone.timedelta(seconds=lost_after_s)
    # A lease whose worker died (or could not release it) has expired: that listing is lost too.
    idle = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    # Also a push asked for while a worker held the lease and died with it (resync_wanted, lease now idle).
    lost = Q(state__in=[S.QUEUED, S.SUBMITTING], updated_at__lt=stale) | Q(resync_wanted=True)
    for listing in Listing.objects.filter(lost).filter(idle).exclude(state__in=list(HOLD)):
        with transaction.atomic():
            listing_enqueue(listing)
        released += 1
    return released
