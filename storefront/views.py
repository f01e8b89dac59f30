"""The storefront's public pages: server-rendered, Vietnamese by default, light on a phone (no script needed, no
third-party asset). Views are thin: selectors read, services write, errors come back as field messages."""

from __future__ import annotations

import logging
import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from catalog.photos.apis import file_url
from marketplace.core.errors import ServiceError

from . import selectors, services, stripe_api
from .consts import FAILURE_DEFAULT, FAILURE_MESSAGES, MAX_QUANTITY, TEST_PAYMENT_METHODS
from .models import AttemptState

logger = logging.getLogger(__name__)

PER_PAGE = 24
DEFAULT_PROVINCE_CODE = "15"  # new Lào Cai, the province whose storefront this is


def _photo(photo, size: str) -> dict | None:
    if photo is None or size not in photo.derivatives:
        return None
    webp = f"{size}.webp"
    return {
        "jpeg": file_url(photo, size),
        "webp": file_url(photo, webp) if webp in photo.derivatives else "",
        "width": photo.derivatives[size]["width"],
        "height": photo.derivatives[size]["height"],
        "alt": photo.alt_text,
    }


def _star(product) -> str:
    star = getattr(product, "ocop_star", None)
    if not star:
        return ""
    if star == "potential_5":
        return _("OCOP potential 5 stars")
    return _("OCOP %(star)s stars") % {"star": star}


def _place(product):
    producer = product.producer
    return producer.current_commune or product.origin_commune


def _card(product) -> dict:
    photos = product.shop_photos
    return {
        "product": product,
        "photo": _photo(photos[0] if photos else None, "w320"),
        "star": _star(product),
        "star_count": range(5 if product.ocop_star == "potential_5" else int(product.ocop_star or 0)),
        "gis": [claim.gi.name for claim in product.verified_gis],
        "producer": product.producer.trade_name or product.producer.legal_name,
        "place": _place(product),
        "price_from": product.price_from,
    }


@require_safe
def product_list(request):
    q = request.GET.get("q", "").strip()[:100]
    paginator = Paginator(selectors.storefront_products(q=q), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"cards": [_card(p) for p in page.object_list], "page": page, "q": q}
    return render(request, "storefront/list.html", context)


@require_safe
def product_detail(request, product_id: int):
    found = selectors.storefront_product(product_id=product_id)
    if found is None:
        raise Http404
    product, listings = found
    photos = [p for p in (_photo(photo, "w800") for photo in product.shop_photos) if p]
    context = {**_card(product), "photos": photos, "listings": listings, "max_quantity": MAX_QUANTITY}
    return render(request, "storefront/product.html", context)


def _checkout_context(request, listing, values: dict, errors: dict) -> dict:
    provinces = list(selectors.provinces())
    province_id = values.get("province")
    if not str(province_id or "").isdigit():
        default = next((p for p in provinces if p.code == DEFAULT_PROVINCE_CODE), None)
        province_id = default.pk if default else None
    province_id = int(province_id) if province_id else None
    return {
        "listing": listing,
        "product": listing.product,
        "values": values,
        "errors": errors,
        "provinces": provinces,
        "province_id": province_id,
        "communes": list(selectors.communes_of(province_id=province_id)),
        "commune_id": int(values["commune"]) if str(values.get("commune") or "").isdigit() else None,
        "payment_methods": list(TEST_PAYMENT_METHODS.items()) if stripe_api.is_local() else [],
        "max_quantity": MAX_QUANTITY,
    }


FIELDS = ("quantity", "buyer_name", "phone", "address_line", "province", "commune", "payment_method", "nonce")


@require_http_methods(["GET", "POST"])
def checkout(request):
    """GET: the form for one package. POST: place the order and pay it, then go to the order's page; with
    action=places only the commune list is redrawn for the chosen province (works without JavaScript)."""
    data = request.POST if request.method == "POST" else request.GET
    listing = selectors.listing_for_checkout(listing_id=_uuid_or_none(data.get("listing")))
    if listing is None:
        raise Http404
    values = {name: data.get(name, "") for name in FIELDS}
    values["quantity"] = values["quantity"] or "1"
    values["nonce"] = values["nonce"] or services.checkout_form_nonce()  # one per form shown
    if request.method == "GET" or data.get("action") == "places":
        values["commune"] = "" if data.get("action") == "places" else values["commune"]
        return render(request, "storefront/checkout.html", _checkout_context(request, listing, values, {}))
    try:
        placed = services.checkout_start(
            listing_id=listing.pk, quantity=values["quantity"], buyer_name=values["buyer_name"],
            phone=values["phone"], address_line=values["address_line"], commune_id=values["commune"],
            payment_method=values["payment_method"], nonce=values["nonce"],
        )  # fmt: skip
    except ServiceError as exc:
        errors = exc.fields or {"form": [exc.message]}
        context = _checkout_context(request, listing, values, errors)
        return render(request, "storefront/checkout.html", context, status=exc.status_code)
    return redirect(_order_url(placed.order.external_id, placed.token), permanent=False)


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def _order_url(ref: str, token: str) -> str:
    return reverse("storefront-order", kwargs={"ref": ref, "token": token})


def _buyer_checkout(ref: str, token: str):
    checkout = selectors.order_for_buyer(order_ref=ref, token=token)
    if checkout is None:
        raise Http404
    return checkout


@require_safe
def order_status(request, ref: str, token: str):
    """The buyer's page for an order: paid, declined (pay again), 3-D Secure to complete, or being checked."""
    checkout = _buyer_checkout(ref, token)
    attempt = selectors.checkout_latest_attempt(checkout=checkout)
    if attempt is not None and attempt.state in (AttemptState.PROCESSING, AttemptState.REQUIRES_ACTION):
        # Back from the bank's page: read what Stripe holds now rather than wait for the webhook.
        try:
            if services.payment_attempt_sync(attempt=attempt, source="return"):
                checkout = _buyer_checkout(ref, token)
                attempt = selectors.checkout_latest_attempt(checkout=checkout)
        except stripe_api.PaymentError:
            # Shown as it was; the webhook or the refresh job will bring the news.
            logger.warning("order %s: Stripe did not answer on the buyer's return", ref, exc_info=True)
    context = {
        "checkout": checkout,
        "order": checkout.order,
        "attempt": attempt,
        "token": token,
        "payment_methods": list(TEST_PAYMENT_METHODS.items()) if stripe_api.is_local() else [],
        "local_payments": stripe_api.is_local(),
        "failure": FAILURE_MESSAGES.get(attempt.error_code, FAILURE_DEFAULT) if attempt else "",
    }
    response = render(request, "storefront/order.html", context)
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"  # the link's secret must not leave in a Referer header
    return response


@require_POST
def order_pay_again(request, ref: str, token: str):
    checkout = _buyer_checkout(ref, token)
    try:
        services.payment_retry(order=checkout.order, payment_method=request.POST.get("payment_method", ""))
    except ServiceError as exc:
        return _order_error(request, ref, token, exc.message)
    return redirect(_order_url(ref, token))


@require_POST
def order_authenticate(request, ref: str, token: str):
    """Development only (localstripe): what the bank's 3-D Secure page would do."""
    checkout = _buyer_checkout(ref, token)
    attempt = selectors.checkout_latest_attempt(checkout=checkout)
    if attempt is None or not stripe_api.is_local():
        raise Http404
    try:
        services.payment_authenticate_test(attempt=attempt, success=request.POST.get("success") == "1")
    except ServiceError as exc:
        return _order_error(request, ref, token, exc.message)
    return redirect(_order_url(ref, token))


def _order_error(request, ref: str, token: str, message: str):
    messages.error(request, message)
    return redirect(_order_url(ref, token))
