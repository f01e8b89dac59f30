"""Inbound webhooks: verify, store in the inbox, acknowledge at once. A task applies them (integrations/inbox.py);
the signature rules live in adapters/*/webhooks.py."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.core.errors import error_body

from .adapters.postmart import webhooks as pm
from .adapters.voso import webhooks as vs
from .inbox import inbound_event_receive
from .models import ChannelConnection

# A push older (or newer) than this is a replay or a clock problem: refused, so the marketplace retries it.
POSTMART_TOLERANCE_S = 300


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _json(body: bytes) -> dict | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting too deep to read, as malformed as bad JSON
        return None
    return value if isinstance(value, dict) else None


def postmart_callback_url() -> str:
    return settings.WEBHOOK_BASE_URL.rstrip("/") + reverse("webhook-postmart")


def _acknowledged() -> HttpResponse:
    # 2xx with an empty body: Postmart counts a non-empty one as a failure and sends the push again.
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def postmart_webhook(request):
    """Postmart pushes (no message id: deduplicated on code, shop and data), acknowledged with an empty body."""
    payload = _json(request.body)
    if payload is None:
        return _error(400, "invalid_json", _("The body is not a JSON object."))
    connections = ChannelConnection.objects.filter(channel="postmart")
    if payload.get("code") != pm.CODE_VERIFY:
        connections = connections.filter(shop_id=str(payload.get("shop_id")))
    # The verification push names no shop: any of our partner keys that signs it proves it is Postmart's.
    connection = next(
        (
            c
            for c in connections
            if pm.signature_valid(
                partner_key=c.credentials.get("partner_key", ""),
                callback_url=postmart_callback_url(),
                body=request.body,
                authorization=request.headers.get("Authorization", ""),
            )
        ),
        None,
    )
    if connection is None:
        return _error(401, "bad_signature", _("The signature does not match."))
    stamp = payload.get("timestamp")
    if not isinstance(stamp, int) or abs(time.time() - stamp) > POSTMART_TOLERANCE_S:
        return _error(401, "stale_timestamp", _("The push is too old or its time is missing."))
    if payload.get("code") == pm.CODE_VERIFY:
        return _acknowledged()
    inbound_event_receive(
        source="postmart", key=pm.dedupe_key(payload), payload=payload, connection=connection,
        headers={"timestamp": stamp},
    )  # fmt: skip
    return _acknowledged()


@csrf_exempt
@require_POST
def voso_webhook(request):
    """Voso events, at least once and in any order: deduplicated on eventId, applied by version."""
    payload = _json(request.body)
    if payload is None:
        return _error(400, "invalid_json", _("The body is not a JSON object."))
    connection = ChannelConnection.objects.filter(channel="voso", shop_id=str(payload.get("shopId"))).first()
    if connection is None:
        return _error(404, "unknown_shop", _("No connection for this shop."))
    secrets = [s for s in connection.credentials.get("webhook_secrets", []) if s]
    if not vs.signature_valid(secrets=secrets, header=request.headers.get("X-Voso-Signature", ""), body=request.body):
        return _error(401, "bad_signature", _("The signature does not match or is too old."))
    event_id = str(payload.get("eventId") or request.headers.get("X-Voso-Event-Id") or "")
    if not event_id:
        return _error(400, "missing_event_id", _("The event has no id."))
    inbound_event_receive(
        source="voso", key=event_id, payload=payload, connection=connection,
        headers={"X-Voso-Event-Id": request.headers.get("X-Voso-Event-Id", "")},
    )  # fmt: skip
    return HttpResponse(status=204)
