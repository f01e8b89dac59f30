"""POST /webhooks/stripe/: verify with the SDK, keep the event once, answer at once; a task applies it."""

from __future__ import annotations

import json

import stripe
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.core.errors import error_body
from marketplace.core.queue import task_send

from . import services


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _enqueue(inbound_event_id: int) -> None:
    transaction.on_commit(lambda: _send(inbound_event_id))


def _send(inbound_event_id: int) -> None:
    from .tasks import stripe_event_process_task

    # Broker down: the event is stored, and the inbox's backstop applies it.
    task_send(stripe_event_process_task, args=[inbound_event_id], queue=settings.CHANNEL_QUEUES["storefront"],
              what=f"stripe event {inbound_event_id}")  # fmt: skip


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
