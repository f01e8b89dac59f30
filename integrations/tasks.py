"""Thin tasks: load by id, call the engine, retry only what it says is retryable, when it says."""

from celery import shared_task

from .sync.engine import listing_sync


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=240, time_limit=300)
def listing_sync_task(self, listing_id: str) -> str:
    outcome = listing_sync(listing_id=listing_id)
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
