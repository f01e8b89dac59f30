"""Thin tasks on the storefront's queue: load by id, call the service; retry only an unknown outcome."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .stripe_api import Ambiguous


@shared_task(
    bind=True, acks_late=True, soft_time_limit=120, time_limit=150,
    autoretry_for=(Ambiguous, OperationalError, InterfaceError), retry_backoff=5, retry_backoff_max=600,
    retry_jitter=True, retry_kwargs={"max_retries": 8},
)  # fmt: skip
def stripe_event_process_task(self, inbound_event_id: int) -> str:
    from .services import stripe_event_process

    return stripe_event_process(inbound_event_id=inbound_event_id)


@shared_task(soft_time_limit=240, time_limit=300)
def stripe_events_catch_up_task() -> int:
    from .services import stripe_events_catch_up

    return stripe_events_catch_up()


@shared_task(soft_time_limit=240, time_limit=300)
def payment_attempts_refresh_task() -> int:
    from .services import payment_attempts_refresh

    return payment_attempts_refresh()


@shared_task(soft_time_limit=240, time_limit=300)
def payment_attempts_reconcile_task() -> dict:
    from .services import payment_attempts_reconcile

    return payment_attempts_reconcile()
