"""The inbox: every inbound webhook or push is verified by its view, stored raw here (InboundEvent), acknowledged
at once, and applied by a task that gets only the event's id.

* Storing is the deduplication: the channel's event id (Voso, Stripe) or a digest of the body (Postmart sends no
  id) is unique per source, so a second copy is acknowledged and changes nothing.
* Applying is idempotent and order-safe on its own (listing_apply_remote and sales.services.order_apply ignore
  older news), so an event applied twice, late or out of order leaves the same result.
* One event is applied by one process at a time: a claim (a conditional UPDATE) leases it for LEASE; a worker
  that dies leaves it to the next run of `inbound_events_process_pending` (a beat job, also what tests call).
* Retryable failures (a marketplace 5xx, a timeout, 429) are retried with backoff up to MAX_ATTEMPTS, honouring
  Retry-After; anything else marks the event failed with its error, for a person to look at.
* A source may apply its events with its own service instead, bookkeeping included (the storefront's Stripe
  events, storefront/services.py): it registers that service with `inbox_processor`, and the backstop hands it
  the ids of its events that are still waiting, as its own task would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from marketplace.core.queue import task_send

from .adapters.base import AuthExpired, ChannelError, QuotaExceeded
from .models import ChannelConnection, InboundEvent, Listing

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Longer than the task's hard time limit (inbound_event_process_task): a lease outlives only a dead worker.
LEASE = timedelta(seconds=120)
# A retried task may wake a little before the time its event was told to wait for.
CLAIM_SLACK = timedelta(seconds=5)
BACKOFF_BASE_S, BACKOFF_CAP_S = 5.0, 900.0

Handler = Callable[[InboundEvent], str]
HANDLERS: dict[str, Handler] = {}
# Takes an event's id, applies it and keeps its state (idempotent); returns whether it was applied.
Processor = Callable[[int], bool]
PROCESSORS: dict[str, Processor] = {}


def inbox_handler(source: str) -> Callable[[Handler], Handler]:
    """Register what applies the events of one source; the inbox claims, retries and marks them."""

    def register(handler: Handler) -> Handler:
        HANDLERS[source] = handler
        return handler

    return register


def inbox_processor(source: str) -> Callable[[Processor], Processor]:
    """Register the service of a source that applies its events itself (its webhook's task calls the same), so
    that the backstop applies the ones whose task was never queued or was lost."""

    def register(processor: Processor) -> Processor:
        PROCESSORS[source] = processor
        return processor

    return register


@dataclass(frozen=True)
class Outcome:
    result: str  # processed, failed, retry, busy (claimed elsewhere, done, or not due), skipped (not ours)
    retry_in: float | None = None
    detail: str = ""


# ----------------------------------------------------------------------------------------------- receive
def inbound_event_receive(
    *, source: str, key: str, payload: dict, connection: ChannelConnection | None = None, headers=None
) -> InboundEvent | None:
    """Store an event (None if we already hold it) and have it applied once this transaction commits."""
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                source=source, dedupe_key=key[:200], connection=connection, payload=payload, headers=headers or {}
            )
    except IntegrityError:
        return None
    transaction.on_commit(partial(_enqueue, event.pk, connection.channel if connection else ""))
    return event


def _enqueue(event_id: int, channel: str) -> None:
    from .tasks import inbound_event_process_task

    # On the channel's own queue: applying may call the marketplace (Postmart's order detail, a Voso order).
    queue = settings.CHANNEL_QUEUES.get(channel) or None
    # Broker down: the event is stored, and the beat's backstop applies it.
    task_send(inbound_event_process_task, args=[event_id], queue=queue, what=f"inbound event {event_id}")


# ----------------------------------------------------------------------------------------------- process
def _claim(event_id: int) -> bool:
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + CLAIM_SLACK)
    claimed = (
        InboundEvent.objects.filter(pk=event_id, state=InboundEvent.State.RECEIVED)
        .filter(due)
        .update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    )
    return bool(claimed)


def _retry_in(exc: Exception, attempts: int) -> float | None:
    """Seconds to wait before trying again, or None if trying again cannot help."""
    if isinstance(exc, QuotaExceeded):
        return exc.retry_after
    if isinstance(exc, ChannelError) and (exc.retryable or isinstance(exc, AuthExpired)):
        after = getattr(exc, "retry_after", None)
        return max(after or 0.0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))
    if isinstance(exc, (OperationalError, InterfaceError)):
        return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    return None


def inbound_event_process(*, event_id: int) -> Outcome:
    """Apply one stored event through its source's handler; safe to call any number of times. Events of a
    source with no handler here (a source with its own processor, such as Stripe's) are left alone."""
    source = InboundEvent.objects.filter(pk=event_id).values_list("source", flat=True).first()
    handler = HANDLERS.get(source)
    if handler is None:
        return Outcome("skipped", detail=f"no handler for {source} events")
    if not _claim(event_id):
        return Outcome("busy")
    event = InboundEvent.objects.select_related("connection").get(pk=event_id)
    try:
        detail = handler(event)
    except Exception as exc:
        error = f"{getattr(exc, 'code', type(exc).__name__)}: {getattr(exc, 'message', '') or exc}"[:500]
        retry_in = _retry_in(exc, event.attempts)
        if retry_in is not None and event.attempts < MAX_ATTEMPTS:
            InboundEvent.objects.filter(pk=event_id).update(
                error=error, next_attempt_at=timezone.now() + timedelta(seconds=retry_in)
            )
            return Outcome("retry", retry_in=retry_in, detail=error)
        logger.warning("inbound event %s failed: %s", event_id, error, exc_info=retry_in is None)
        InboundEvent.objects.filter(pk=event_id).update(
            state=InboundEvent.State.FAILED, error=error, next_attempt_at=None
        )
        return Outcome("failed", detail=error)
    InboundEvent.objects.filter(pk=event_id).update(
        state=InboundEvent.State.PROCESSED, processed_at=timezone.now(), next_attempt_at=None, error=""
    )
    return Outcome("processed", detail=detail or "")


def inbound_events_process_pending(*, received_before=None, limit: int = 500) -> int:
    """Apply every stored event that is due, oldest first; returns how many were processed.

    The beat runs it as a backstop (events whose task was lost or never queued, or whose worker died) with
    `received_before` a minute ago, so it leaves fresh events to their own tasks. Events of a source with its
    own processor go to that processor. Tests call it to apply what the views stored."""
    now = timezone.now()
    sources = [*HANDLERS, *PROCESSORS]
    pending = InboundEvent.objects.filter(state=InboundEvent.State.RECEIVED, source__in=sources).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    if received_before is not None:
        pending = pending.filter(received_at__lt=received_before)
    rows = list(pending.order_by("received_at", "pk").values_list("pk", "source")[:limit])
    processed = 0
    for pk, source in rows:
        if source in PROCESSORS:
            processed += _process_with(PROCESSORS[source], pk)
        else:
            processed += inbound_event_process(event_id=pk).result == "processed"
    return processed


def _process_with(processor: Processor, event_id: int) -> bool:
    try:
        return bool(processor(event_id))
    except Exception:
        # Left waiting: the next run tries again, and the other events go on now.
        logger.warning("inbound event %s not applied yet", event_id, exc_info=True)
        return False


# ------------------------------------------------------------------------------------------------ handlers
def _apply_item(event: InboundEvent, item, source: str) -> str:
    from .sync.engine import listing_apply_remote

    listing = Listing.objects.filter(connection=event.connection, external_id=item.external_id).first()
    if listing is None:
        return f"item {item.external_id} is not ours"
    listing_apply_remote(listing=listing, item=item, source=source)
    return f"listing {listing.pk}"


@inbox_handler("postmart")
def _postmart(event: InboundEvent) -> str:
    from sales.sync import order_news_from_postmart

    from .adapters.postmart import webhooks as pm

    payload = event.payload
    code = payload.get("code")
    if event.connection is None:
        return "no shop of ours"
    if code == pm.CODE_ORDER_STATUS:
        return order_news_from_postmart(connection=event.connection, data=payload.get("data") or {})
    item = pm.item_from_push(payload)
    if item is not None:
        return _apply_item(event, item, "push")
    return f"code {code}: nothing to apply"


@inbox_handler("voso")
def _voso(event: InboundEvent) -> str:
    from sales.sync import order_news_from_voso

    from .adapters.voso import webhooks as vs

    payload = event.payload
    kind = str(payload.get("type", ""))
    if event.connection is None:
        return "no shop of ours"
    if kind.startswith("order."):
        return order_news_from_voso(connection=event.connection, data=payload.get("data") or {})
    item = vs.item_from_event(payload)
    if item is not None:
        return _apply_item(event, item, "webhook")
    return f"{kind}: nothing to apply"
