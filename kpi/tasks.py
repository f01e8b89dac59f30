"""Scheduled work of the KPI. Tasks are thin: they call a service."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from .rollups import kpi_refresh


# Idempotent and resumable: a retry, or the next beat, carries on from the last committed batch.
@shared_task(
    acks_late=True, soft_time_limit=240, time_limit=300,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, retry_kwargs={"max_retries": 3},
)  # fmt: skip
def kpi_refresh_task() -> dict:
    """Every few minutes by beat, and on demand (POST /api/v1/kpi/refresh/): bring the rollups up to date."""
    result = kpi_refresh()
    return {"applied": result.applied, "rebuilt_products": result.rebuilt_products, "complete": result.complete}
