"""Scheduled work of the KPI. Tasks are thin: they call a service."""

from celery import shared_task
from django.core.cache import cache
from django.db import InterfaceError, OperationalError

from .answers import kpi_answers_warm
from .rollups import kpi_refresh

WARMING_LOCK = "kpi:warming"


# Idempotent and resumable: a retry, or the next beat, carries on from the last committed batch.
@shared_task(
    acks_late=True, soft_time_limit=240, time_limit=300,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, retry_kwargs={"max_retries": 3},
)  # fmt: skip
def kpi_refresh_task() -> dict:
    """Every minute by beat, and on demand (POST /api/v1/kpi/refresh/): bring the rollups up to date, then
    make the answers opened first ready."""
    result = kpi_refresh()
    kpi_answers_warm_task.delay()
    return {"applied": result.applied, "rebuilt_products": result.rebuilt_products, "complete": result.complete,
            "inputs_changed": result.inputs_changed}  # fmt: skip


@shared_task(acks_late=True, soft_time_limit=540, time_limit=600)
def kpi_answers_warm_task() -> int:
    """Compute the answers not ready yet (kpi.answers.warm_targets). One at a time: a second run while one is
    under way would compute the same answers twice; the next beat finishes what a lost run left."""
    if not cache.add(WARMING_LOCK, 1, timeout=600):
        return 0
    try:
        return kpi_answers_warm()
    finally:
        cache.delete(WARMING_LOCK)
