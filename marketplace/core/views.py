"""Liveness and readiness probes."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from kombu import Connection

from .models import Heartbeat


@require_GET
def healthz(request):
    """The process is alive and answers; checks nothing else so that it never flaps with a dependency."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:  # any transport error means "not ready"
        return f"{type(exc).__name__}: {exc}"
    return None


@require_GET
def readyz(request):
    """Ready to serve: the database and the broker answer. 503 names whichever failed."""
    failures = {name: error for name, error in (("database", _check_database()), ("broker", _check_broker())) if error}
    checks = {name: ("error" if name in failures else "ok") for name in ("database", "broker")}
    if failures:
        return JsonResponse(
            {
                "status": "unavailable",
                "code": "not_ready",
                "message": "Not ready: " + ", ".join(sorted(failures)),
                "checks": checks,
                "errors": failures,
            },
            status=503,
        )
    beat = Heartbeat.objects.filter(name="beat").values_list("seen_at", flat=True).first()
    # Informational only: a stopped scheduler delays periodic jobs but does not stop the service serving.
    return JsonResponse({"status": "ok", "checks": checks, "beat_last_seen": beat.isoformat() if beat else None})
