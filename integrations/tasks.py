"""Thin tasks: load by id, call the engine, retry only what it says is retryable, when it says."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .sync.engine import listing_sync

logger = logging.getLogger(__name__)


# A dropped database connection is worth a few quick retries; anything else the engine has already classified.
@shared_task(
    bind=True, acks_late=True, max_retries=None, soft_time_limit=240, time_limit=300,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, retry_jitter=True,
    retry_kwargs={"max_retries": 5},
)  # fmt: skip
def listing_sync_task(self, listing_id: str) -> str:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    if redelivered:
        # acks_late: the broker gave this message back because the worker that took it died before the ack
        # (or, on Redis, held it past the visibility timeout). Logged so that a fault run can count them.
        logger.warning("listing %s: task %s redelivered", listing_id, self.request.id)
    outcome = listing_sync(listing_id=listing_id, task_id=self.request.id or "", redelivered=redelivered)
    if outcome.result == "retry":
        # Celery's retry keeps the task's queue (the channel's own) and the id; the engine counts attempts.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result


@shared_task(soft_time_limit=240, time_limit=300)
def listings_poll_reviews_task() -> int:
    from .sync.polling import listings_poll_reviews

    return listings_poll_reviews()


@shared_task(soft_time_limit=60, time_limit=90)
def listings_release_deferred_task() -> int:
    from .sync.services import listings_release_deferred

    return listings_release_deferred()


@shared_task(soft_time_limit=540, time_limit=600)
def listings_reconcile_task() -> dict:
    from .sync.reconcile import listings_reconcile

    return listings_reconcile()


# The inbox (integrations/inbox.py): one task per stored webhook or push, on the channel's queue.
@shared_task(
    bind=True, acks_late=True, max_retries=None, soft_time_limit=60, time_limit=90,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, retry_jitter=True,
    retry_kwargs={"max_retries": 5},
)  # fmt: skip
def inbound_event_process_task(self, event_id: int) -> str:
    from .inbox import inbound_event_process

    outcome = inbound_event_process(event_id=event_id)
    if outcome.result == "retry":
        # The inbox counts the attempts and marks the event failed after the last one.
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result


@shared_task(soft_time_limit=240, time_limit=300)
def inbound_events_process_pending_task() -> int:
    """Backstop: events whose task was lost or whose worker died (fresh ones are left to their own task)."""
    from datetime import timedelta

    from django.utils import timezone

    from .inbox import inbound_events_process_pending

    return inbound_events_process_pending(received_before=timezone.now() - timedelta(minutes=1))
