"""Writes of the province storefront: placing an order, paying it through Stripe, applying what Stripe says
(answers, webhooks, the event feed, the reconciler), and refunds.

Payment safety, since localstripe ignores idempotency keys (marketplaces.md §7.3.4):
1. the order and a `PaymentAttempt` (state `creating`, its idempotency key) are committed BEFORE Stripe is
   called, and the PaymentIntent carries the order reference and attempt number in its metadata;
2. the answer is stored by `payment_attempt_record`; if the process dies or the answer is lost before that,
   the attempt stays `creating` and `payment_attempts_reconcile` finds the PaymentIntent by its metadata and
   binds it (or, if Stripe holds none, fails the attempt so that the buyer can try again: attempt n + 1);
3. every later piece of news (webhook, event feed, refresh) re-reads the PaymentIntent and applies its current
   status forward only: a paid attempt never goes back;
4. an order is paid once: a second payment of it (a late one, or one made by a retry after an unknown outcome)
   is claimed on its attempt as a refund (`paid_twice`) where its result is written, then refunded, or canceled
   if it has not taken the money yet. A refund whose answer was lost is settled by the refresh job from what
   Stripe holds, and sent again only if Stripe holds none.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.adapters.base import RemoteOrder
from integrations.inbox import inbox_processor
from integrations.models import InboundEvent, Listing, ListingState
from marketplace.core.errors import ServiceError
from marketplace.core.text import nfc
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level
from sales.models import Order, OrderStatus
from sales.services import Applied, order_apply

from . import stripe_api
from .consts import CHANNEL, CURRENCY, MAX_QUANTITY, ORDER_REF_ALPHABET, ORDER_REF_PREFIX, TEST_PAYMENT_METHODS
from .models import ATTEMPT_OPEN, ATTEMPT_RANK, AttemptState, Checkout, PaymentAttempt, RefundReason, RefundState
from .models import StripeEventCursor as Cursor
from .selectors import token_digest

logger = logging.getLogger(__name__)
A = AttemptState
# Stripe's PaymentIntent statuses → the attempt's state.
INTENT_TO_ATTEMPT = {
    "succeeded": A.SUCCEEDED,
    "processing": A.PROCESSING,
    "requires_capture": A.PROCESSING,
    "requires_confirmation": A.PROCESSING,
    "requires_action": A.REQUIRES_ACTION,
    "requires_payment_method": A.FAILED,  # declined, or 3-D Secure failed: the buyer pays again
    "canceled": A.CANCELED,
}
# A PaymentIntent in one of these has not taken the money yet but still may (3-D Secure to complete, a
# confirmation, an authorisation to capture): canceling it makes sure it never does.
INTENT_MAY_STILL_PAY = ("requires_confirmation", "requires_action", "requires_capture")
PAYMENT_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")
STRIPE_SOURCE = "stripe"


def _order_ref() -> str:
    day = timezone.localdate().strftime("%y%m%d")
    return f"{ORDER_REF_PREFIX}{day}-" + "".join(secrets.choice(ORDER_REF_ALPHABET) for _ in range(5))


# ------------------------------------------------------------------------------------------- placing
@dataclass(frozen=True)
class Placed:
    order: Order
    checkout: Checkout
    token: str  # the secret of the buyer's status link: given once, stored only as a digest
    attempt: PaymentAttempt


def _phone_e164(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def payment_method_accepted(choice: str) -> bool:
    """Only the local test server's cards for now: against Stripe itself the card would come from Stripe
    Elements in the buyer's browser (a PaymentMethod id), which this service does not load yet."""
    return stripe_api.is_local() and choice in TEST_PAYMENT_METHODS


def _listing_on_sale(listing_id) -> Listing:
    listing = (
        Listing.objects.select_related("sku", "product__producer", "connection")
        .filter(pk=listing_id, channel=CHANNEL, state=ListingState.LIVE, wanted_visible=True, wanted_removed=False)
        .filter(product__status="approved")
        .first()
    )
    if listing is None:
        raise ServiceError(
            "not_on_sale",
            _("This product is not on sale in the storefront any more."),
            fields={"listing": [_("Not on sale.")]},
            status_code=404,
        )
    return listing


def checkout_validate(
    *, listing: Listing, quantity, buyer_name: str, phone: str, address_line: str, commune_id, payment_method: str
) -> dict:
    """Every field checked at once, so that the form shows all its errors together. Returns clean values."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    try:
        clean["quantity"] = int(quantity)
    except (TypeError, ValueError):
        clean["quantity"] = 0
    if clean["quantity"] < 1 or clean["quantity"] > MAX_QUANTITY:
        errors["quantity"] = [_("Choose a quantity from 1 to %(max)d.") % {"max": MAX_QUANTITY}]
    elif clean["quantity"] > listing.sku.stock:
        errors["quantity"] = [_("Only %(stock)d left in stock.") % {"stock": listing.sku.stock}]
    clean["buyer_name"] = nfc(buyer_name or "")
    if not clean["buyer_name"] or len(clean["buyer_name"]) > 160:
        errors["buyer_name"] = [_("Enter the name of the person who receives the parcel.")]
    clean["phone"] = _phone_e164(phone or "")
    if clean["phone"] is None:
        errors["phone"] = [_("Enter a Vietnamese phone number, for example 0912 345 678.")]
    clean["address_line"] = nfc(address_line or "")
    if not clean["address_line"] or len(clean["address_line"]) > 200:
        errors["address_line"] = [_("Enter the house number, street or village (up to 200 characters).")]
    commune = None
    if str(commune_id or "").isdigit():
        commune = (
            AdministrativeUnit.objects.select_related("parent")
            .filter(pk=int(commune_id), system=CodeSystem.CURRENT, level=Level.COMMUNE, valid_to__isnull=True)
            .first()
        )
    if commune is None:
        errors["commune"] = [_("Choose the commune or ward of the delivery address.")]
    clean["commune"] = commune
    if not payment_method_accepted(payment_method):
        errors["payment_method"] = [_("Choose how to pay.")]
    clean["payment_method"] = payment_method
    if errors:
        raise ServiceError("invalid", _("Some fields are not valid. See the error on each field."), fields=errors)
    return clean


def checkout_form_nonce() -> str:
    return secrets.token_urlsafe(24)


def _token_for(nonce: str) -> str:
    # Derived from the form's nonce, so that a repeated submit can be sent to the same order page; the digest of
    # the token is all that is stored, as for a random one.
    return hmac.new(settings.SECRET_KEY.encode(), f"storefront-order:{nonce}".encode(), hashlib.sha256).hexdigest()


def checkout_already_placed(*, nonce: str) -> Placed | None:
    """The order a form with this nonce already placed, if any (a double submit, or a retry after a lost answer)."""
    if not nonce:
        return None
    checkout = Checkout.objects.select_related("order").filter(form_nonce=nonce).first()
    if checkout is None:
        return None
    attempt = checkout.order.payment_attempts.order_by("-attempt_no").first()
    return Placed(order=checkout.order, checkout=checkout, token=_token_for(nonce), attempt=attempt)


@transaction.atomic
def checkout_place(
    *,
    listing_id,
    quantity,
    buyer_name: str,
    phone: str,
    address_line: str,
    commune_id,
    payment_method: str,
    nonce: str = "",
) -> Placed:
    """Validate, then write the order (channel storefront, status placed), its line, its first history entry,
    the buyer's link and payment attempt 1, all in one transaction. Nothing is written if anything is wrong."""
    listing = _listing_on_sale(listing_id)
    clean = checkout_validate(
        listing=listing, quantity=quantity, buyer_name=buyer_name, phone=phone, address_line=address_line,
        commune_id=commune_id, payment_method=payment_method,
    )  # fmt: skip
    sku, now = listing.sku, timezone.now()
    total = int(sku.price_vnd) * clean["quantity"]
    commune: AdministrativeUnit = clean["commune"]
    line = {
        "listing_id": str(listing.pk), "sku_id": sku.pk, "product_id": listing.product_id,
        "external_item_id": listing.external_id, "seller_sku": listing.seller_sku,
        "name": f"{listing.product.name} ({sku.net_quantity.normalize():f} {sku.net_unit})",
        "quantity": clean["quantity"], "unit_price_vnd": int(sku.price_vnd),
    }  # fmt: skip
    for _try in range(5):
        ref = _order_ref()
        if Order.objects.filter(channel=CHANNEL, external_id=ref).exists():
            continue  # the same reference drawn twice on one day: draw again
        news = RemoteOrder(
            external_id=ref, status=OrderStatus.PLACED, updated_at=int(now.timestamp()), total_vnd=total,
            lines=(line,), created_at=int(now.timestamp()), buyer_name=clean["buyer_name"],
        )  # fmt: skip
        applied = order_apply(channel=CHANNEL, news=news, source="storefront", connection=listing.connection,
                              status=OrderStatus.PLACED)  # fmt: skip
        if applied == Applied.CREATED:
            break
    else:
        raise ServiceError("busy", _("Please try again."), status_code=503)
    order = Order.objects.select_for_update().get(channel=CHANNEL, external_id=ref)
    # What the shared order upsert does not carry: the buyer's contact and the delivery place (personal data).
    order.currency, order.buyer_phone, order.delivery_unit = CURRENCY.upper(), clean["phone"], commune
    order.delivery_address = f"{clean['address_line']}, {commune.display_name}"[:300]
    order.save(update_fields=["currency", "buyer_phone", "delivery_unit", "delivery_address", "updated_at"])
    token = _token_for(nonce) if nonce else secrets.token_urlsafe(24)
    checkout = Checkout.objects.create(
        order=order, listing=listing, token_digest=token_digest(token), form_nonce=nonce or None
    )
    attempt = _attempt_new(order=order, payment_method=payment_method)
    return Placed(order=order, checkout=checkout, token=token, attempt=attempt)


def _attempt_new(*, order: Order, payment_method: str) -> PaymentAttempt:
    number = (order.payment_attempts.aggregate(n=Max("attempt_no"))["n"] or 0) + 1
    return PaymentAttempt.objects.create(
        order=order, attempt_no=number, idempotency_key=f"pi:{order.external_id}:{number}",
        payment_method=payment_method, amount_vnd=order.total_vnd,
    )  # fmt: skip


def checkout_start(**fields) -> Placed:
    """Place the order, then pay it (attempt 1). The buyer is sent to the order's page whatever the outcome:
    paid, declined (try again), 3-D Secure to complete, or still being checked."""
    if earlier := checkout_already_placed(nonce=fields.get("nonce", "")):
        return earlier  # this form was sent before: its order is being paid (or was); never a second charge
    try:
        placed = checkout_place(**fields)
    except IntegrityError:
        # The same form submitted twice at once: the other request placed it (unique nonce) and pays it.
        if earlier := checkout_already_placed(nonce=fields.get("nonce", "")):
            return earlier
        raise
    payment_attempt_send(attempt=placed.attempt)
    placed.attempt.refresh_from_db()
    return placed


# ------------------------------------------------------------------------------------------- paying
def _metadata(attempt: PaymentAttempt) -> dict:
    checkout = Checkout.objects.select_related("listing__product").get(order_id=attempt.order_id)
    return {
        "order_ref": attempt.order.external_id,
        "attempt_no": attempt.attempt_no,
        "listing_id": checkout.listing_id,
        "channel": CHANNEL,
        "producer_id": checkout.listing.product.producer_id,
    }


def payment_attempt_send(*, attempt: PaymentAttempt) -> None:
    """Call Stripe for an attempt already committed as `creating`, then store the answer. Outside any
    transaction: no database lock is held while Stripe answers."""
    try:
        payment_method = stripe_api.payment_method_resolve(attempt.payment_method)
        intent = stripe_api.payment_intent_create(
            amount_vnd=attempt.amount_vnd, payment_method=payment_method, metadata=_metadata(attempt),
            idempotency_key=attempt.idempotency_key,
        )  # fmt: skip
    except stripe_api.Ambiguous as exc:
        # Maybe made, maybe not: the reconciler will look for it by its metadata. Never call again blindly.
        logger.warning("payment attempt %s: outcome unknown (%s); left to the reconciler", attempt.pk, exc)
        return
    except (stripe_api.Declined, stripe_api.Refused) as exc:
        payment_attempt_fail(attempt_id=attempt.pk, code=exc.code, message=exc.message,
                             payment_intent_id=exc.payment_intent_id)  # fmt: skip
        return
    payment_attempt_record(attempt_id=attempt.pk, intent=intent, source="checkout")


def _move(attempt: PaymentAttempt, state: str, *, intent: stripe_api.Intent | None = None) -> bool:
    """Forward only: an earlier step never overwrites a later one, and a paid attempt stays paid."""
    if attempt.state == A.SUCCEEDED or ATTEMPT_RANK[state] < ATTEMPT_RANK[attempt.state]:
        return False
    changed = attempt.state != state
    attempt.state = state
    if intent is not None:
        attempt.provider_status = intent.status
        if state in (A.FAILED, A.CANCELED):
            attempt.error_code = intent.error_code[:64] or attempt.error_code
            attempt.error_message = intent.error_message[:300] or attempt.error_message
    if state not in ATTEMPT_OPEN and attempt.finished_at is None:
        attempt.finished_at = timezone.now()
    attempt.save()
    return changed


def payment_attempt_record(*, attempt_id: int, intent: stripe_api.Intent, source: str) -> bool:
    """Store what Stripe holds for an attempt: bind the PaymentIntent, move the attempt forward, and if it is
    paid, the order is a sale. The one place a payment's result is written (checkout, webhook, event feed,
    refresh, reconciler), so the one place where a second payment of an already paid order is caught: it is
    given back (refunded, or canceled if it has not taken the money yet) once the claim is committed.
    Returns whether anything moved."""
    moved, paid_twice = _attempt_record(attempt_id=attempt_id, intent=intent, source=source)
    if paid_twice:
        moved |= _refund_settle(attempt_id=attempt_id, source=source)
    return moved


def _paid_by_another(attempt: PaymentAttempt) -> bool:
    others = PaymentAttempt.objects.filter(order_id=attempt.order_id, state=A.SUCCEEDED).exclude(pk=attempt.pk)
    return others.exclude(refund_reason=RefundReason.PAID_TWICE).exists()


@transaction.atomic
def _attempt_record(*, attempt_id: int, intent: stripe_api.Intent, source: str) -> tuple[bool, bool]:
    """The write of payment_attempt_record; also says whether this payment was just claimed to be given back."""
    attempt = PaymentAttempt.objects.select_for_update().select_related("order").get(pk=attempt_id)
    if attempt.payment_intent_id and attempt.payment_intent_id != intent.id:
        logger.error("attempt %s is bound to %s, not %s", attempt.pk, attempt.payment_intent_id, intent.id)
        return False, False
    if intent.amount != attempt.amount_vnd or intent.currency != CURRENCY:
        # Never take a payment of another amount for this order as its payment.
        logger.error("payment %s: %s %s is not attempt %s's", intent.id, intent.amount, intent.currency, attempt.pk)
        return False, False
    if not attempt.payment_intent_id:
        attempt.payment_intent_id = intent.id
    moved = _move(attempt, INTENT_TO_ATTEMPT.get(intent.status, attempt.state), intent=intent)
    if attempt.state != A.SUCCEEDED and intent.status not in INTENT_MAY_STILL_PAY:
        return moved, False
    # The order's lock orders two payments of it that succeed at once: the second to get here sees the first.
    order = Order.objects.select_for_update().get(pk=attempt.order_id)
    if _paid_by_another(attempt):
        if attempt.refund_state:
            return moved, False  # already given back, or being given back: never twice
        logger.error("order %s: payment %s came after the order was paid; it is given back",
                     order.external_id, intent.id)  # fmt: skip
        attempt.refund_state, attempt.refund_reason = RefundState.REQUESTED, RefundReason.PAID_TWICE
        attempt.save(update_fields=["refund_state", "refund_reason", "updated_at"])
        return True, True
    if attempt.state == A.SUCCEEDED:
        moved |= _order_paid(order=order, source=source)
    return moved, False


@transaction.atomic
def payment_attempt_fail(*, attempt_id: int, code: str, message: str = "", payment_intent_id: str = "") -> bool:
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.state == A.SUCCEEDED:
        return False
    if payment_intent_id and not attempt.payment_intent_id:
        attempt.payment_intent_id = payment_intent_id
    attempt.error_code, attempt.error_message = code[:64], (message or code)[:300]
    return _move(attempt, A.FAILED)


def _order_move(order: Order, to: str, *, remote_status: str, source: str) -> bool:
    """Through the shared order upsert (sales.services): forward only, dated in OrderEvent, sold_at set once."""
    news = RemoteOrder(
        external_id=order.external_id, status=remote_status, updated_at=int(timezone.now().timestamp()),
        total_vnd=order.total_vnd, lines=(),
    )  # fmt: skip
    before = order.status
    order_apply(channel=CHANNEL, news=news, source=source, status=to)
    order.refresh_from_db()
    return order.status != before


def _order_paid(*, order: Order, source: str) -> bool:
    """A paid storefront order is a sale: completed, dated (sold_at, which the KPI counts), stock taken."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status not in (OrderStatus.PLACED, OrderStatus.CONFIRMED):
        if order.status in (OrderStatus.CANCELLED, OrderStatus.RETURNED):
            logger.error("order %s was paid while %s: an officer should refund it", order.external_id, order.status)
        return False
    if not _order_move(order, OrderStatus.COMPLETED, remote_status="succeeded", source=source):
        return False
    from catalog.models import Sku
    from integrations.sync.services import listings_resync_product

    for line in order.lines.all():
        Sku.objects.filter(pk=line.sku_id, stock__gte=line.quantity).update(stock=F("stock") - line.quantity)
        if line.product_id:
            listings_resync_product(product_id=line.product_id)  # the other channels get the new stock
    return True


def payment_attempt_sync(*, attempt: PaymentAttempt, source: str) -> bool:
    """Re-read the attempt's PaymentIntent and apply its current status (events arrive in any order)."""
    if not attempt.payment_intent_id:
        return False
    intent = stripe_api.payment_intent_retrieve(attempt.payment_intent_id)
    return payment_attempt_record(attempt_id=attempt.pk, intent=intent, source=source)


def _unavailable() -> ServiceError:
    message = _("The payment service does not answer. Please try again in a minute.")
    return ServiceError("payment_unavailable", message, status_code=503)


def payment_retry(*, order: Order, payment_method: str) -> PaymentAttempt:
    """Pay again after a decline, a failed 3-D Secure, or an abandoned one (its PaymentIntent is canceled
    first, so that it can no longer be paid as well). The new attempt gets the next number and its own key."""
    if not payment_method_accepted(payment_method):
        raise ServiceError("invalid", _("Choose how to pay."), fields={"payment_method": [_("Choose how to pay.")]})
    waiting = order.payment_attempts.filter(state=A.REQUIRES_ACTION).exclude(payment_intent_id="").first()
    if waiting is not None:
        try:
            payment_attempt_record(
                attempt_id=waiting.pk, intent=stripe_api.payment_intent_cancel(waiting.payment_intent_id),
                source="retry",
            )  # fmt: skip
        except stripe_api.Refused:
            payment_attempt_sync(attempt=waiting, source="retry")  # it moved on meanwhile: take what it is
        except stripe_api.Ambiguous as exc:
            raise _unavailable() from exc
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != OrderStatus.PLACED:
            raise ServiceError("not_payable", _("This order does not wait for a payment."), status_code=409)
        if order.payment_attempts.filter(state__in=[*ATTEMPT_OPEN, A.SUCCEEDED]).exists():
            raise ServiceError(
                "payment_in_progress", _("A payment for this order is still being processed."), status_code=409
            )
        attempt = _attempt_new(order=order, payment_method=payment_method)
    payment_attempt_send(attempt=attempt)
    attempt.refresh_from_db()
    return attempt


def payment_authenticate_test(*, attempt: PaymentAttempt, success: bool) -> PaymentAttempt:
    """Development only (localstripe): complete or fail the 3-D Secure step as the bank page would, then
    read the result back. Production buyers authenticate in Stripe.js; the webhook brings the outcome."""
    if attempt.state != A.REQUIRES_ACTION or not attempt.payment_intent_id:
        raise ServiceError("not_waiting", _("This payment does not wait for authentication."), status_code=409)
    try:
        stripe_api.test_authenticate(payment_intent_id=attempt.payment_intent_id, success=success)
        payment_attempt_sync(attempt=attempt, source="authenticate")
    except stripe_api.Refused as exc:
        raise ServiceError("not_available", exc.message or exc.code, status_code=409) from exc
    except stripe_api.Ambiguous as exc:
        raise _unavailable() from exc
    attempt.refresh_from_db()
    return attempt


# -------------------------------------------------------------------------------- webhooks and events
def stripe_event_store(*, event_id: str, payload: dict) -> InboundEvent | None:
    """Keep a verified Stripe event in the inbox, once: None if it was already there (a duplicate)."""
    try:
        with transaction.atomic():
            return InboundEvent.objects.create(source=STRIPE_SOURCE, dedupe_key=event_id[:200], payload=payload)
    except IntegrityError:
        return None


def _attempt_for_intent(payment_intent_id: str, metadata: dict) -> PaymentAttempt | None:
    attempt = PaymentAttempt.objects.filter(payment_intent_id=payment_intent_id).first()
    if attempt is not None or metadata.get("channel") != CHANNEL:
        return attempt
    # Not bound yet (the answer was lost, or the webhook came first): match it by the order and attempt number.
    number = str(metadata.get("attempt_no", ""))
    if not number.isdigit():
        return None
    return PaymentAttempt.objects.filter(
        order__channel=CHANNEL, order__external_id=metadata.get("order_ref", ""), attempt_no=int(number)
    ).first()


def stripe_intent_apply(*, payment_intent_id: str, source: str) -> bool:
    """Whatever Stripe said about a PaymentIntent, apply what it holds now (re-read, never the event's copy)."""
    intent = stripe_api.payment_intent_retrieve(payment_intent_id)
    attempt = _attempt_for_intent(intent.id, intent.metadata)
    if attempt is None:
        logger.info("stripe: %s is not a storefront payment of ours", intent.id)
        return False
    if attempt.payment_intent_id and attempt.payment_intent_id != intent.id:
        return _intent_extra_void(intent, attempt=attempt)
    return payment_attempt_record(attempt_id=attempt.pk, intent=intent, source=source)


def stripe_event_process(*, inbound_event_id: int) -> str:
    """Apply one inbox event. Idempotent: a processed event is skipped; an unknown outcome raises Ambiguous
    for the task to retry."""
    event = InboundEvent.objects.get(pk=inbound_event_id)
    if event.state == InboundEvent.State.PROCESSED:
        return "duplicate"
    obj = (event.payload.get("data") or {}).get("object") or {}
    kind = str(event.payload.get("type", ""))
    result = "ignored"
    try:
        if kind.startswith("payment_intent.") and obj.get("id"):
            result = "applied" if stripe_intent_apply(payment_intent_id=obj["id"], source="webhook") else "unchanged"
    except stripe_api.Ambiguous as exc:
        InboundEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1, error=str(exc)[:500])
        raise
    except (stripe_api.Refused, stripe_api.Declined) as exc:
        InboundEvent.objects.filter(pk=event.pk).update(
            attempts=F("attempts") + 1, error=str(exc)[:500], state=InboundEvent.State.FAILED
        )
        return "failed"
    InboundEvent.objects.filter(pk=event.pk).update(
        attempts=F("attempts") + 1, state=InboundEvent.State.PROCESSED, processed_at=timezone.now(), error=""
    )
    return result


@inbox_processor(STRIPE_SOURCE)
def stripe_event_backstop(inbound_event_id: int) -> bool:
    """The inbox's backstop for a Stripe event still waiting a while after it was stored (its task was never
    queued, the broker being down at commit time, or was lost): the webhook task's own path."""
    return stripe_event_process(inbound_event_id=inbound_event_id) in ("applied", "unchanged", "ignored")


def stripe_events_catch_up(*, overlap_s: int = 600, first_look_s: int = 3 * 86400) -> int:
    """The backstop for webhooks that never came (localstripe sends once; Stripe retries for 3 days): list the
    payment events since the last look (minus an overlap, since events may be listed late) and apply every
    one not yet in the inbox. Returns how many were new."""
    cursor, _made = Cursor.objects.get_or_create(name="stripe-events")
    now = int(timezone.now().timestamp())
    since = cursor.high_water - overlap_s if cursor.high_water else now - first_look_s
    newest, applied = cursor.high_water, 0
    for event_type in PAYMENT_EVENTS:
        for ref in stripe_api.events_since(event_type=event_type, created_gt=since):
            newest = max(newest, ref.created)
            payload = {"id": ref.id, "type": ref.type, "created": ref.created}
            payload["data"] = {"object": {"id": ref.object_id}}
            stored = stripe_event_store(event_id=ref.id, payload=payload)
            if stored is not None:
                stripe_event_process(inbound_event_id=stored.pk)
                applied += 1
    Cursor.objects.filter(pk=cursor.pk, high_water__lt=newest).update(high_water=newest)
    return applied


# --------------------------------------------------------------------------------- backstop jobs
def payment_attempts_refresh(*, older_than_s: int = 180) -> int:
    """Re-read every attempt still open at Stripe (3-D Secure, processing), then settle every refund asked
    for but not confirmed (payment_refunds_settle); returns how many moved."""
    stale = timezone.now() - timezone.timedelta(seconds=older_than_s)
    moved = 0
    open_attempts = PaymentAttempt.objects.filter(
        state__in=[A.PROCESSING, A.REQUIRES_ACTION], updated_at__lt=stale
    ).exclude(payment_intent_id="")
    for attempt in open_attempts:
        try:
            moved += payment_attempt_sync(attempt=attempt, source="refresh")
        except stripe_api.PaymentError as exc:
            logger.warning("refresh of payment attempt %s: %s", attempt.pk, exc)
    return moved + payment_refunds_settle(older_than_s=older_than_s)


def payment_attempts_reconcile(*, older_than_s: int = 300) -> dict:
    """Attempts left `creating` (the process died, or Stripe's answer was lost, after the row was written):
    page through Stripe's PaymentIntents for their metadata. Found: bound and applied (a second one made by a
    retried call is canceled or refunded, so the order is paid once). Not found: failed, and the buyer may
    pay again. Young attempts are left alone: their call may still be on its way."""
    stale = timezone.now() - timezone.timedelta(seconds=older_than_s)
    pending = list(PaymentAttempt.objects.filter(state=A.CREATING, created_at__lt=stale).select_related("order"))
    report = {"bound": [], "failed": [], "voided": []}
    if not pending:
        return report
    found: dict[tuple[str, str], list[stripe_api.Intent]] = {}
    for intent in stripe_api.payment_intents_matching(order_refs={a.order.external_id for a in pending}):
        if intent.metadata.get("channel") == CHANNEL:
            found.setdefault((intent.metadata["order_ref"], str(intent.metadata.get("attempt_no"))), []).append(intent)
    for attempt in pending:
        intents = found.get((attempt.order.external_id, str(attempt.attempt_no)), [])
        if not intents:
            payment_attempt_fail(
                attempt_id=attempt.pk, code="not_created",
                message=_("The payment did not go through. You can try again."),
            )  # fmt: skip
            report["failed"].append(attempt.pk)
            continue
        # A call retried after a lost answer may have made two (localstripe ignores the idempotency key).
        best = max(intents, key=lambda i: (i.status == "succeeded", i.created))
        payment_attempt_record(attempt_id=attempt.pk, intent=best, source="reconcile")
        report["bound"].append(attempt.pk)
        for extra in intents:
            if extra.id != best.id and _intent_extra_void(extra, attempt=attempt):
                report["voided"].append(extra.id)
    if any(report.values()):
        logger.warning("payment reconciliation: %s", {k: len(v) for k, v in report.items()})
    return report


def _intent_extra_void(intent: stripe_api.Intent, *, attempt: PaymentAttempt) -> bool:
    """A second PaymentIntent for an attempt already bound to another one (a create retried after a lost
    answer: localstripe ignores idempotency keys): make sure it takes no money. The reconciler, its webhook and
    the event feed may each see it, one after the other: Stripe is asked first, so it is refunded once."""
    if intent.status == "succeeded":
        if stripe_api.refunds_of(intent.id):
            return False  # given back already (a failed refund is left to a person, as in _refund_settle)
        stripe_api.refund_create(
            payment_intent_id=intent.id, metadata={"order_ref": attempt.order.external_id, "reason": "duplicate"},
            idempotency_key=f"refund-duplicate:{intent.id}",
        )  # fmt: skip
    elif intent.status in ("requires_payment_method", *INTENT_MAY_STILL_PAY):
        stripe_api.payment_intent_cancel(intent.id)
    else:
        return False
    logger.error("attempt %s: extra payment %s (%s) is voided", attempt.pk, intent.id, intent.status)
    return True


# ---------------------------------------------------------------------------------------------- refunds
def order_refund(*, order: Order, actor) -> PaymentAttempt:
    """Refund a paid storefront order in full (an officer or an administrator decides): the order is
    `returned` and no longer a sale. The refund is claimed on its row before Stripe is called, so it is
    asked for once; if Stripe's answer is lost, the refresh job confirms it from Stripe's refund list."""
    with transaction.atomic():
        attempt = (
            PaymentAttempt.objects.select_for_update()
            .select_related("order")
            .filter(order=order, state=A.SUCCEEDED)
            .exclude(refund_reason=RefundReason.PAID_TWICE)  # the payment that paid the order, not a second one
            .first()
        )
        if attempt is None or attempt.order.status != OrderStatus.COMPLETED:
            raise ServiceError("not_refundable", _("Only a paid order can be refunded."), status_code=409)
        if attempt.refund_state:
            raise ServiceError("already_refunded", _("A refund was already requested for this order."), status_code=409)
        attempt.refund_state, attempt.refund_reason, attempt.refunded_by = (
            RefundState.REQUESTED, RefundReason.ORDER, actor
        )  # fmt: skip
        attempt.save(update_fields=["refund_state", "refund_reason", "refunded_by", "updated_at"])
    try:
        refund = stripe_api.refund_create(
            payment_intent_id=attempt.payment_intent_id, metadata={"order_ref": order.external_id},
            idempotency_key=f"refund:{order.external_id}",
        )  # fmt: skip
    except stripe_api.Ambiguous as exc:
        raise ServiceError(
            "refund_pending", _("The refund was sent; its confirmation is awaited from the payment service."),
            status_code=202,
        ) from exc  # fmt: skip
    except stripe_api.PaymentError as exc:
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            refund_state=RefundState.NONE, refund_reason="", refunded_by=None
        )
        raise ServiceError("refund_refused", _("The payment service refused the refund: %(reason)s")
                           % {"reason": exc.message or exc.code}, status_code=409) from exc  # fmt: skip
    _refund_record(attempt_id=attempt.pk, refund=refund, actor=actor, source="refund")
    attempt.refresh_from_db()
    return attempt


@transaction.atomic
def _refund_record(*, attempt_id: int, refund: stripe_api.RefundRef, actor, source: str) -> bool:
    """Store Stripe's refund on its attempt: its id as soon as it is known (a pending refund is then looked up
    by it), and once it succeeded, the refund itself. A refunded order is `returned`; a second payment given
    back (`paid_twice`) leaves the order as it is, since the other payment paid it."""
    attempt = PaymentAttempt.objects.select_for_update().select_related("order").get(pk=attempt_id)
    if attempt.refund_state != RefundState.REQUESTED:
        return False
    if refund.status != "succeeded":
        if attempt.refund_id != refund.id:
            attempt.refund_id = refund.id
            attempt.save(update_fields=["refund_id", "updated_at"])
        return False
    attempt.refund_state, attempt.refund_id = RefundState.SUCCEEDED, refund.id
    attempt.save(update_fields=["refund_state", "refund_id", "updated_at"])
    if attempt.refund_reason == RefundReason.PAID_TWICE:
        return True
    Checkout.objects.filter(order_id=attempt.order_id).update(refunded_vnd=refund.amount)
    order = Order.objects.select_for_update().get(pk=attempt.order_id)
    _order_move(order, OrderStatus.RETURNED, remote_status="refunded", source=source)
    return True


@transaction.atomic
def _attempt_canceled(*, attempt_id: int, intent: stripe_api.Intent) -> bool:
    """A second payment of a paid order canceled before it took the money: the attempt says so."""
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.refund_state != RefundState.REQUESTED:
        return False
    _move(attempt, A.CANCELED, intent=intent)
    attempt.refund_state = RefundState.CANCELED
    attempt.save(update_fields=["refund_state", "updated_at"])
    return True


def _refund_key(attempt: PaymentAttempt) -> str:
    if attempt.refund_reason == RefundReason.PAID_TWICE:
        return f"refund-paid-twice:{attempt.payment_intent_id}"
    return f"refund:{attempt.order.external_id}"


# Refunds Stripe holds that give (or will give) the money back; a failed or canceled one gave nothing.
REFUND_HELD = ("succeeded", "pending", "requires_action")


def _refund_settle(*, attempt_id: int, source: str) -> bool:
    """Finish a refund claimed on its attempt (`requested`) from what Stripe holds: record Stripe's refund if it
    has one (looked up by its id when known, else in the payment's refunds), and send it only if Stripe holds
    none: never twice. A second payment (`paid_twice`) that has not taken the money yet is canceled instead.
    A failure is logged and left `requested` for the next run of the refresh job. Returns whether it moved."""
    attempt = PaymentAttempt.objects.select_related("order").get(pk=attempt_id)
    if attempt.refund_state != RefundState.REQUESTED:
        return False
    try:
        if attempt.refund_reason == RefundReason.PAID_TWICE:
            intent = stripe_api.payment_intent_retrieve(attempt.payment_intent_id)
            if intent.status in ("requires_payment_method", *INTENT_MAY_STILL_PAY):
                intent = stripe_api.payment_intent_cancel(intent.id)
            if intent.status == "canceled":
                return _attempt_canceled(attempt_id=attempt.pk, intent=intent)
            if intent.status != "succeeded":
                return False  # processing: neither refundable nor cancelable yet; the next run looks again
        if attempt.refund_id:
            refunds = [stripe_api.refund_retrieve(attempt.refund_id)]
        else:
            refunds = stripe_api.refunds_of(attempt.payment_intent_id)
        held = [r for r in refunds if r.status in REFUND_HELD]
        if refunds and not held:
            logger.error("payment attempt %s: Stripe failed its refund %s; a person should look", attempt.pk,
                         refunds[0].id)  # fmt: skip
            return False
        if held:
            refund = held[0]
        else:
            # Stripe holds none: the request was lost before it arrived. A key of this claim (not the first
            # call's): Stripe replays whatever answer it kept for a key, a 5xx too.
            metadata = {"order_ref": attempt.order.external_id, "reason": attempt.refund_reason or RefundReason.ORDER}
            refund = stripe_api.refund_create(
                payment_intent_id=attempt.payment_intent_id, metadata=metadata,
                idempotency_key=f"{_refund_key(attempt)}:{int(attempt.updated_at.timestamp())}",
            )  # fmt: skip
    except stripe_api.PaymentError as exc:
        logger.warning("refund of payment attempt %s not settled yet: %s", attempt.pk, exc)
        return False
    return _refund_record(attempt_id=attempt.pk, refund=refund, actor=None, source=source)


def payment_refunds_settle(*, older_than_s: int = 180) -> int:
    """Refunds left `requested` (the call timed out or lost its connection, the process died, a second payment
    waits to be given back): settled from what Stripe holds (_refund_settle). Only those older than
    `older_than_s`, longer than a refund call can last with its retries (stripe_api.TIMEOUT): a younger one may
    still be on its way, and sending it again could refund twice. Returns how many moved."""
    stale = timezone.now() - timezone.timedelta(seconds=older_than_s)
    waiting = PaymentAttempt.objects.filter(refund_state=RefundState.REQUESTED, updated_at__lt=stale)
    moved = 0
    for attempt_id in waiting.values_list("pk", flat=True):
        # Taken for this run by moving its time: a run at the same time skips it, and the next one waits again.
        taken = PaymentAttempt.objects.filter(
            pk=attempt_id, refund_state=RefundState.REQUESTED, updated_at__lt=stale
        ).update(updated_at=timezone.now())
        if taken:
            moved += _refund_settle(attempt_id=attempt_id, source="refresh")
    return moved
