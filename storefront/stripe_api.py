"""Every call the service makes to Stripe, through the official SDK and one client built from the settings.

The same code runs against Stripe and against localstripe (development and tests, marketplaces.md §7), so it
sends only the parameters localstripe accepts (amount, currency, payment_method, confirm, metadata…; never
`description` or `automatic_payment_methods`), keeps descriptive text in metadata, and reads `latest_charge` as
an id or an embedded object. The global `stripe.api_base` is never set: it would leak between tests.

Outside systems fail in three ways the services tell apart (as django-oscar does):
- `Declined`: the card was refused; the buyer may try another one.
- `Ambiguous`: a timeout, a lost connection, a 5xx: the call may or may not have happened; the reconciler
  finds out from what Stripe holds, never by calling again blindly.
- `Refused`: Stripe refused the request itself (bad parameters, keys): nothing happened.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import stripe
from django.conf import settings

from marketplace.core.http import HostNotAllowed, http_session

from .consts import CURRENCY, TEST_CARD_3DS_NUMBER, TEST_PAYMENT_METHODS

TIMEOUT = (3.05, 20.0)  # (connect, read) seconds; with 2 retries a call gives up within about a minute
LIST_PAGE = 100
# The reconciler looks at this many PaymentIntents at most (Stripe lists the newest first, so these are the
# last 5,000: far more than a few hours of a province's orders).
LIST_MAX_PAGES = 50


class PaymentError(Exception):
    def __init__(self, code: str, message: str = "", *, payment_intent_id: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.payment_intent_id = payment_intent_id


class Declined(PaymentError):
    """The card or its authentication was refused: the buyer can try again, with another card."""


class Ambiguous(PaymentError):
    """Unknown outcome (timeout, connection, 5xx, 429): what Stripe holds decides, later."""


class Refused(PaymentError):
    """Stripe refused the request: nothing was done."""


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as the services need it, whichever server and API version answered."""

    id: str
    status: str
    amount: int
    currency: str
    created: int
    metadata: dict = field(default_factory=dict)
    error_code: str = ""
    error_message: str = ""
    client_secret: str = field(default="", repr=False)

    @classmethod
    def of(cls, obj) -> Intent:
        pi = _plain(obj)
        error = pi.get("last_payment_error") or {}
        return cls(
            id=pi["id"],
            status=pi["status"],
            amount=int(pi["amount"]),
            currency=str(pi["currency"]).lower(),
            created=int(pi.get("created") or 0),
            metadata=dict(pi.get("metadata") or {}),
            error_code=str(error.get("code") or ""),
            error_message=str(error.get("message") or ""),
            client_secret=str(pi.get("client_secret") or ""),
        )


@dataclass(frozen=True)
class EventRef:
    id: str
    type: str
    created: int
    object_id: str


def _plain(obj) -> dict:
    """The SDK's objects are not dicts (stripe-python 13+): read them as plain data."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def is_local() -> bool:
    """Whether payments go to a local test server (localstripe) rather than Stripe: only then are the test
    cards and the simulated 3-D Secure offered to buyers."""
    host = urlsplit(settings.STRIPE_API_BASE).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@functools.lru_cache(maxsize=4)
def _client(key: str, base: str, retries: int, hosts: tuple[str, ...]) -> stripe.StripeClient:
    # The one outbound client (timeouts, no redirects, allowed hosts only) under the SDK's own retries.
    http = stripe.RequestsClient(timeout=TIMEOUT, session=http_session(TIMEOUT))
    return stripe.StripeClient(key, base_addresses={"api": base}, max_network_retries=retries, http_client=http)


def stripe_client() -> stripe.StripeClient:
    """The client for the current settings (tests point them at their own localstripe)."""
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE.rstrip("/"),
        settings.STRIPE_MAX_NETWORK_RETRIES,
        tuple(settings.OUTBOUND_ALLOWED_HOSTS),
    )


def _intent_of_card_error(exc: stripe.CardError) -> str:
    body = exc.json_body or {}
    intent = (body.get("error") or {}).get("payment_intent") or {}
    return intent.get("id", "") if isinstance(intent, dict) else str(intent)


@contextmanager
def _errors():
    try:
        yield
    except stripe.CardError as exc:
        intent_id = _intent_of_card_error(exc)
        raise Declined(exc.code or "card_declined", exc.user_message or "", payment_intent_id=intent_id) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError, HostNotAllowed) as exc:
        raise Ambiguous(type(exc).__name__, exc.user_message if hasattr(exc, "user_message") else str(exc)) from exc
    except stripe.APIError as exc:  # 5xx (and localstripe's 500 "Not implemented")
        raise Ambiguous("api_error", exc.user_message or "") from exc
    except stripe.StripeError as exc:
        raise Refused(getattr(exc, "code", None) or type(exc).__name__, exc.user_message or "") from exc


# --------------------------------------------------------------------------------------------- payments
def payment_method_resolve(choice: str) -> str:
    """The PaymentMethod id for a checkout choice. Only local test choices exist: real card entry would use
    Stripe Elements in the buyer's browser, which gives the id directly (not available here: no third-party
    JavaScript is loaded)."""
    if choice not in TEST_PAYMENT_METHODS:
        raise Refused("unknown_payment_method")
    if choice != "card_3ds":
        return choice
    # localstripe has no named 3-D Secure test method: make one from the test card number (test mode only).
    card = {"number": TEST_CARD_3DS_NUMBER, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    with _errors():
        return stripe_client().v1.payment_methods.create(params={"type": "card", "card": card})["id"]


def payment_intent_create(*, amount_vnd: int, payment_method: str, metadata: dict, idempotency_key: str) -> Intent:
    """Create and confirm at once. VND has no minor unit: the amount is in đồng, never multiplied by 100."""
    params = {
        "amount": int(amount_vnd),
        "currency": CURRENCY,
        "payment_method": payment_method,
        "payment_method_types": ["card"],
        "confirm": True,
        "metadata": {key: str(value) for key, value in metadata.items()},
    }
    with _errors():
        pi = stripe_client().v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
    return Intent.of(pi)


def payment_intent_retrieve(payment_intent_id: str) -> Intent:
    with _errors():
        return Intent.of(stripe_client().v1.payment_intents.retrieve(payment_intent_id))


def payment_intent_cancel(payment_intent_id: str) -> Intent:
    with _errors():
        return Intent.of(stripe_client().v1.payment_intents.cancel(payment_intent_id))


def payment_intents_matching(*, order_refs: set[str]) -> Iterator[Intent]:
    """PaymentIntents whose metadata names one of these orders, paging through the list (localstripe has no
    search; on Stripe `search` could replace this). At most LIST_MAX_PAGES pages."""
    params: dict = {"limit": LIST_PAGE}
    for _page in range(LIST_MAX_PAGES):
        with _errors():
            page = stripe_client().v1.payment_intents.list(params=params)
        for pi in map(_plain, page.data):
            if (pi.get("metadata") or {}).get("order_ref") in order_refs:
                yield Intent.of(pi)
        if not page.has_more or not page.data:
            return
        params["starting_after"] = page.data[-1]["id"]


def events_since(*, event_type: str, created_gt: int) -> Iterator[EventRef]:
    params: dict = {"type": event_type, "created": {"gt": int(created_gt)}, "limit": LIST_PAGE}
    for _page in range(LIST_MAX_PAGES):
        with _errors():
            page = stripe_client().v1.events.list(params=params)
        for event in map(_plain, page.data):
            obj = event["data"]["object"]
            yield EventRef(id=event["id"], type=event["type"], created=int(event["created"]), object_id=obj["id"])
        if not page.has_more or not page.data:
            return
        params["starting_after"] = page.data[-1]["id"]


# ---------------------------------------------------------------------------------------------- refunds
@dataclass(frozen=True)
class RefundRef:
    id: str
    status: str
    amount: int


def refund_create(*, payment_intent_id: str, metadata: dict, idempotency_key: str) -> RefundRef:
    params = {"payment_intent": payment_intent_id, "metadata": {k: str(v) for k, v in metadata.items()}}
    with _errors():
        refund = stripe_client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
    return RefundRef(refund["id"], refund["status"], int(refund["amount"]))


def refund_retrieve(refund_id: str) -> RefundRef:
    with _errors():
        refund = stripe_client().v1.refunds.retrieve(refund_id)
    return RefundRef(refund["id"], refund["status"], int(refund["amount"]))


def refunds_of(payment_intent_id: str) -> list[RefundRef]:
    """The refunds Stripe holds for a paid PaymentIntent (localstripe answers 500 for one that never charged)."""
    with _errors():
        page = stripe_client().v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": LIST_PAGE})
    return [RefundRef(r["id"], r["status"], int(r["amount"])) for r in page.data]


# ------------------------------------------------------------------------------------- localstripe only
def test_authenticate(*, payment_intent_id: str, success: bool) -> None:
    """Stand in for the buyer's bank page: localstripe's own 3-D Secure simulation. In production the buyer
    authenticates with Stripe.js in the browser and the service learns the outcome from Stripe."""
    if not is_local():
        raise Refused("not_available", "3-D Secure is simulated only against a local test server.")
    intent = payment_intent_retrieve(payment_intent_id)
    url = f"{settings.STRIPE_API_BASE.rstrip('/')}/v1/payment_intents/{payment_intent_id}/_authenticate"
    data = {"client_secret": intent.client_secret, "success": "true" if success else "false"}
    data["key"] = settings.STRIPE_PUBLISHABLE_KEY
    try:
        response = http_session(TIMEOUT).post(url, data=data)
    except Exception as exc:
        raise Ambiguous("connection", str(exc)) from exc
    if response.status_code >= 500:
        raise Ambiguous("api_error", response.text[:200])
    if response.status_code >= 400:
        raise Refused("authenticate_refused", response.text[:200])
