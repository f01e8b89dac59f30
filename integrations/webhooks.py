"""Inbound webhooks: verify, deduplicate, apply. Views stay thin; the rules live in adapters/*/webhooks.py."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from marketplace.core.errors import error_body

from .adapters.postmart import webhooks as pm
from .adapters.voso import webhooks as vs
from .models import ChannelConnection, InboundEvent, Listing
from .sync.engine import listing_apply_remote

logger = logging.getLogger(__name__)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def _json(body: bytes) -> dict | None:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _receive(connection: ChannelConnection, source: str, key: str, payload: dict, item) -> None:
    """Record the event and apply it in one transaction: a failure leaves neither, so the marketplace's retry
    is applied rather than taken for a duplicate. A duplicate is recorded already and changes nothing."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                InboundEvent.objects.create(source=source, dedupe_key=key[:200], payload=payload)
        except IntegrityError:
            return
        if item is None:
            return
        listing = Listing.objects.filter(connection=connection, external_id=item.external_id).first()
        if listing is None:
            logger.info("%s event for an item we do not know: %s", source, item.external_id)
            return
        listing_apply_remote(listing=listing, item=item, source=source)


def postmart_callback_url() -> str:
    return settings.WEBHOOK_BASE_URL.rstrip("/") + reverse("webhook-postmart")


@csrf_exempt
@require_POST
def postmart_webhook(request):
    """Postmart pushes. Acknowledged with an empty 2xx body: a non-empty one counts as a failure there."""
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
    if payload.get("code") == pm.CODE_VERIFY:
        return HttpResponse(status=204)
    _receive(connection, "postmart", pm.dedupe_key(payload), payload, pm.item_from_push(payload))
    return HttpResponse(status=204)


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
    _receive(connection, "voso", event_id, payload, vs.item_from_event(payload))
    return HttpResponse(status=204)
