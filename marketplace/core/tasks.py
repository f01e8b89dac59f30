"""Tasks that prove the queue works end to end; business tasks live with their app."""

from celery import shared_task
from django.utils import timezone

from .models import Heartbeat


@shared_task(ignore_result=False, soft_time_limit=5, time_limit=10)
def ping(token: str) -> str:
    """Echo a token back through the result backend: the readiness and CI check that a worker consumes."""
    return f"pong:{token}"


@shared_task(soft_time_limit=5, time_limit=10)
def heartbeat() -> None:
    """Scheduled by beat: records when the scheduler last ran, so an operator can see it is alive."""
    Heartbeat.objects.update_or_create(name="beat", defaults={"seen_at": timezone.now()})
