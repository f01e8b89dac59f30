"""Scheduled work of the OCOP app. Tasks are thin: they call a service."""

from celery import shared_task
from django.utils import timezone

from .services import ocop_certificates_refresh_status


# No retry: the job is idempotent and runs daily, so a failed run is caught up by the next one.
@shared_task(soft_time_limit=240, time_limit=300)
def ocop_certificates_refresh_status_task() -> int:
    """Scheduled daily by beat: active certificates whose validity ended before today become expired."""
    return ocop_certificates_refresh_status(today=timezone.localdate())
