"""The producers' onboarding wizard: server-rendered pages that work without JavaScript, for a household on
a low-end phone or the community team member sitting next to them.

Views stay thin: reads through `selectors`, writes through the catalogue's and the listings' services, whose
errors are shown next to the field they name. The producer being worked on is kept in the session and
looked up through `scope_queryset` on every request, so a producer that left the user's reach is gone.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from catalog import services as catalog_services
from catalog.documents.models import Document
from catalog.documents.services import document_create
from catalog.ocop.models import OcopCertificate
from catalog.ocop.services import ocop_certificate_create
from catalog.photos.models import PhotoRole
from catalog.photos.services import photo_upload
from catalog.selectors import officer_covers_producer, producer_commune_check
from integrations.models import MarketChannel
from integrations.sync.services import listing_request
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import scope_queryset, user_reach
from marketplace.core.audit import audit_set_on_behalf_of
from marketplace.core.errors import ServiceError
from marketplace.core.money import vnd_format

from . import forms, selectors

SESSION_KEY = "wizard_producer_id"

# What each photo role is for, with a small example: people take the photo the marketplace needs.
PHOTO_ROLE_EXAMPLES = {
    PhotoRole.FRONT: gettext_lazy(
        "The whole package from the front, name readable. Example: the honey jar facing you."
    ),
    PhotoRole.LABEL_BACK: gettext_lazy("The back label, close enough to read the expiry date and ingredients."),
    PhotoRole.INGREDIENTS_NUTRITION: gettext_lazy(
        "The ingredients or nutrition table. Example: the small print on the side."
    ),
    PhotoRole.PACKAGING: gettext_lazy("How it is packed for sending. Example: the box with its padding."),
    PhotoRole.IN_USE: gettext_lazy("The product being used. Example: tea poured in a cup."),
    PhotoRole.PRODUCTION_AREA: gettext_lazy("Where it is made or grown. Example: the tea hill or the bee hives."),
    PhotoRole.CERTIFICATE: gettext_lazy("A certificate. Example: the OCOP certificate, flat and in daylight."),
    PhotoRole.OTHER: gettext_lazy("Anything else that helps a buyer."),
}


def _errors_to_form(form, exc: Exception, *, rename: dict | None = None) -> None:
    """Put a service's refusal next to the fields it names (or above the form when it names none)."""
    rename = rename or {}
    if isinstance(exc, ServiceError):
        fields, general = exc.fields, [exc.message]
    elif hasattr(exc, "error_dict"):
        fields, general = exc.message_dict, []
    else:
        fields, general = {}, list(exc.messages)
    for name, errors in fields.items():
        name = rename.get(name, name)
        for error in errors if isinstance(errors, list) else [errors]:
            form.add_error(name if name in form.fields else None, str(error))
            general = []
    for error in general:
        form.add_error(None, str(error))


def _note_on_behalf_of(request, producer) -> None:
    """A community team member writing for a producer they do not belong to acts on its behalf (audit)."""
    if Role.COMMUNITY_TEAM in user_reach(request.user).roles and not selectors.producer_is_own(
        user=request.user, producer=producer
    ):
        audit_set_on_behalf_of(kind="producer", object_id=producer.pk, name=str(producer))


def _with_producer(view):
    """The producer being worked on, from the session and in the user's reach; else the choice page. A
    producer member whose reach is one producer goes straight to it."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        producer_id = request.session.get(SESSION_KEY)
        producer = selectors.producer_get(user=request.user, producer_id=producer_id) if producer_id else None
        if producer is None:
            producer = selectors.producer_own_only(user=request.user)
            if producer is None:
                return redirect("wizard:choose")
            request.session[SESSION_KEY] = producer.pk
        return view(request, producer, *args, **kwargs)

    return wrapper


def _page(request, producer, template: str, context: dict | None = None, *, step: str = "", status: int = 200):
    acting_for = None if selectors.producer_is_own(user=request.user, producer=producer) else producer
    context = {"producer": producer, "acting_for": acting_for, "step": step, **(context or {})}
    return render(request, f"frontend/wizard/{template}", context, status=status)


def _product_or_404(request, producer, product_id):
    product = selectors.product_get(user=request.user, producer=producer, product_id=product_id)
    if product is None:
        raise Http404
    return product


# Choosing the producer ----------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def choose(request):
    """A community team member (or an officer) picks the producer they are helping, among those in reach."""
    if request.method == "POST":
        producer = selectors.producer_get(user=request.user, producer_id=_int(request.POST.get("producer")))
        if producer is None:
            raise Http404
        request.session[SESSION_KEY] = producer.pk
        return redirect("wizard:home")
    own = selectors.producer_own_only(user=request.user)
    if own is not None:
        request.session[SESSION_KEY] = own.pk
        return redirect("wizard:home")
    q = request.GET.get("q", "")
    producers = selectors.producers_to_choose(user=request.user, q=q)
    current = request.session.get(SESSION_KEY)
    return render(request, "frontend/wizard/choose.html", {"producers": producers, "q": q, "current": current})


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# The producer --------------------------------------------------------------------------------------------


@require_safe
@_with_producer
def home(request, producer):
    products = selectors.producer_products(user=request.user, producer=producer)
    for product in products:
        product.prices = [vnd_format(sku.price_vnd) for sku in product.sku_list]
    return _page(request, producer, "home.html", {"products": products}, step="home")


@require_http_methods(["GET", "HEAD", "POST"])
@_with_producer
def profile(request, producer):
    """The producer's profile, with the place picker: a plain search that works without JavaScript."""
    matches, place_q = [], ""
    if request.method == "POST" and "find_place" in request.POST:
        place_q = request.POST.get("place_q", "")
        form = forms.ProducerForm(initial=request.POST.dict())
        matches = selectors.place_matches(q=place_q)
    elif request.method == "POST":
        form = forms.ProducerForm(request.POST)
        place_q = request.POST.get("place_q", "")
        if form.is_valid():
            arguments = form.service_arguments()
            try:
                reach = user_reach(request.user)
                if arguments["commune_as_captured"] != producer.commune_as_captured and reach.has_role(
                    Role.COMMUNITY_TEAM, Role.OFFICER
                ):
                    producer_commune_check(reach=reach, commune=arguments["commune_as_captured"])
                _note_on_behalf_of(request, producer)
                producer, warnings = catalog_services.producer_update(producer=producer, **arguments)
            except (ValidationError, ServiceError) as exc:
                _errors_to_form(form, exc, rename={"commune_as_captured": "place"})
            else:
                messages.success(request, _("The profile is saved."))
                for warning in warnings:
                    messages.warning(request, warning)
                return redirect("wizard:home")
    else:
        form = forms.ProducerForm(
            initial={
                "kind": producer.kind, "legal_name": producer.legal_name, "trade_name": producer.trade_name,
                "representative_name": producer.representative_name, "phone": producer.phone,
                "address_line": producer.address_line,
                "place": f"{producer.commune_as_captured.system}:{producer.commune_as_captured.code}",
            }
        )  # fmt: skip
    chosen = selectors.place_from_value(form["place"].value() or "")
    chosen_match = selectors.place_match_for(unit=chosen) if chosen else None
    context = {"form": form, "matches": matches, "place_q": place_q, "chosen": chosen_match, "searched": bool(place_q)}
    return _page(request, producer, "profile.html", context, step="profile", status=400 if form.errors else 200)


@require_safe
@login_required
def places(request):
    """The place picker's matches, as a fragment for htmx (and a page of its own without it)."""
    q = request.GET.get("place_q", "")
    context = {"matches": selectors.place_matches(q=q), "searched": bool(q.strip()), "place_q": q}
    return render(request, "frontend/wizard/_places.html", context)


# Products ------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@_with_producer
def product_new(request, producer):
    """A product and its first package, saved together or not at all."""
    form = forms.ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _note_on_behalf_of(request, producer)
            with transaction.atomic():
                # Made where the producer is, until someone says otherwise (Voso needs an origin province).
                product = catalog_services.product_create(
                    producer=producer, origin_commune=producer.current_commune, **form.product_arguments()
                )
                catalog_services.sku_create(product=product, **form.sku_arguments())
        except (ValidationError, ServiceError) as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("The product is saved. Now add its photos."))
            return redirect("wizard:photos", product_id=product.pk)
    return _page(request, producer, "product_new.html", {"form": form}, step="product",
                 status=400 if form.errors else 200)  # fmt: skip


@require_safe
@_with_producer
def product(request, producer, product_id):
    """Everything about one product: readiness per channel, the push buttons, listings and sales."""
    product = _product_or_404(request, producer, product_id)
    listings = selectors.product_listings(user=request.user, product=product)
    sales = selectors.product_sales(product=product)
    context = {
        "product": product,
        "prices": [(sku, vnd_format(sku.price_vnd)) for sku in product.sku_list],
        "checklists": selectors.product_checklists(product=product),
        "listings": listings,
        "sales": sales,
        "sales_total": vnd_format(sales["total_vnd"]),
        "photos": selectors.product_photos(user=request.user, product=product),
    }
    return _page(request, producer, "product.html", context, step="product")


@_with_producer
@require_POST
def product_submit(request, producer, product_id):
    """Send the product to an officer for approval (an officer of the area approves it at once)."""
    product = _product_or_404(request, producer, product_id)
    is_officer = officer_covers_producer(reach=user_reach(request.user), producer=producer)
    to = "approved" if is_officer and product.status == "submitted" else "submitted"
    try:
        _note_on_behalf_of(request, producer)
        catalog_services.product_status_change(product=product, to=to, is_officer=is_officer)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sent to an officer for approval.") if to == "submitted" else _("Approved."))
    return redirect("wizard:product", product_id=product.pk)


@_with_producer
@require_POST
def product_push(request, producer, product_id):
    """Put the product on a channel: its listings are queued, and pushed by the channel's worker after commit."""
    product = _product_or_404(request, producer, product_id)
    channel = request.POST.get("channel", "")
    labels = dict(MarketChannel.choices)
    try:
        listing_request(product=product, channel=channel, actor=request.user)
    except ServiceError as exc:
        missing = exc.fields.get("missing") or []
        messages.error(request, " ".join([exc.message, *missing]))
    else:
        messages.success(
            request,
            _("Sent to %(channel)s. It will show “pending review” and then “live” below.")
            % {"channel": labels.get(channel, channel)},
        )
    return redirect(reverse("wizard:product", kwargs={"product_id": product.pk}) + "#listings")


# Photos --------------------------------------------------------------------------------------------------


def _wants_json(request) -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


@require_http_methods(["GET", "HEAD", "POST"])
@_with_producer
def photos(request, producer, product_id):
    """Add a photo: a plain multipart form; wizard-photos.js downsizes it first and retries on a lost network."""
    product = _product_or_404(request, producer, product_id)
    form = forms.PhotoForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _note_on_behalf_of(request, producer)
                photo_upload(product=product, uploaded_by=request.user, **form.cleaned_data)
            except (ValidationError, ServiceError) as exc:
                status = getattr(exc, "status_code", 400)
                _errors_to_form(form, exc)
            else:
                message = _("The photo is received. It is being prepared; this takes a few seconds.")
                url = reverse("wizard:photos", kwargs={"product_id": product.pk})
                messages.success(request, message)  # shown on the page the script or the redirect opens next
                if _wants_json(request):
                    return JsonResponse({"ok": True, "message": message, "redirect": url}, status=202)
                return redirect(url)
        else:
            status = 400
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": {k: list(v) for k, v in form.errors.items()}}, status=status)
    roles = [(value, label, PHOTO_ROLE_EXAMPLES[value]) for value, label in PhotoRole.choices]
    context = {
        "product": product,
        "form": form,
        "roles": roles,
        "chosen_role": form["role"].value() or PhotoRole.FRONT,
        "photos": selectors.product_photos(user=request.user, product=product),
        "max_px": 2048,
    }
    return _page(request, producer, "photos.html", context, step="photos", status=status)


# OCOP certificate and papers -----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@_with_producer
def certificate(request, producer, product_id):
    product = _product_or_404(request, producer, product_id)
    which = request.POST.get("form") if request.method == "POST" else None
    certificate_form = forms.CertificateForm(
        request.POST if which == "certificate" else None, request.FILES if which == "certificate" else None
    )
    document_form = forms.DocumentForm(
        request.POST if which == "document" else None, request.FILES if which == "document" else None
    )
    url = reverse("wizard:certificate", kwargs={"product_id": product.pk})
    if which == "certificate" and certificate_form.is_valid():
        try:
            _note_on_behalf_of(request, producer)
            ocop_certificate_create(product=product, created_by=request.user, **certificate_form.cleaned_data)
        except (ValidationError, ServiceError) as exc:
            _errors_to_form(certificate_form, exc)
        else:
            messages.success(request, _("The certificate is saved. An officer will check it."))
            return redirect(url)
    if which == "document" and document_form.is_valid():
        try:
            _note_on_behalf_of(request, producer)
            document_create(producer=producer, product=product, uploaded_by=request.user, **document_form.cleaned_data)
        except (ValidationError, ServiceError) as exc:
            _errors_to_form(document_form, exc)
        else:
            messages.success(request, _("The paper is saved."))
            return redirect(url)
    certificates = scope_queryset(OcopCertificate.objects.all(), request.user).filter(product=product)
    documents = scope_queryset(Document.objects.all(), request.user).filter(product=product)
    context = {
        "product": product,
        "certificate_form": certificate_form,
        "document_form": document_form,
        "certificates": certificates.order_by("-decision_date", "-pk"),
        "documents": documents.order_by("-pk"),
    }
    failed = any(form.is_bound and form.errors for form in (certificate_form, document_form))
    return _page(request, producer, "certificate.html", context, step="certificate", status=400 if failed else 200)
