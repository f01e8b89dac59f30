"""POST /webhooks/stripe/: verify with the SDK, keep the event once, answer at once; a task applies it."""

from __future__ import annotations

import json
import logging

import stripe
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.core.errors import error_body

from . import services

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _enqueue(inbound_event_id: int) -> None:
    transaction.on_commit(lambda: _send(inbound_event_id))


def _send(inbound_event_id: int) -> None:
    from .tasks import stripe_event_process_task

    try:
        stripe_event_process_task.apply_async(args=[inbound_event_id], queue=settings.CHANNEL_QUEUES["storefront"])
    except Exception:  # the broker is down: the event is stored, and the inbox's backstop will apply it
        logger.warning("stripe event %s stored but not queued", inbound_event_id, exc_info=True)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe (or localstripe) events. A bad or stale signature (over 300 s old) is a 400; a duplicate event id
    is a 200 that changes nothing. The event's own copy of the payment is not trusted for its status: the task
    re-reads the PaymentIntent, since events come in any order."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        return _error(503, "not_configured", _("Payments are not configured."))
    try:
        event = stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature", ""), settings.STRIPE_WEBHOOK_SECRET
        )
    except stripe.SignatureVerificationError:
        return _error(400, "bad_signature", _("The signature does not match or is too old."))
    except ValueError:
        return _error(400, "invalid_json", _("The body is not a JSON object."))
    with transaction.atomic():
        stored = services.stripe_event_store(event_id=event["id"], payload=json.loads(request.body))
        if stored is not None:
            _enqueue(stored.pk)
    return HttpResponse(status=200)
