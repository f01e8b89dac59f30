"""The officers' dashboard: the KPI of a scope and period (domain.md §6) with its funnel, trend, breakdowns and gap
list; a commune's producers and products; the verification queues. Server-rendered, usable without JavaScript;
htmx swaps the results in place and Chart.js draws the charts beside the tables that carry the same figures.

Views stay thin: reads through frontend.dashboard.selectors (which reuse the KPI's cached answers and the one
scoping mechanism), writes through the catalogue's services."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.gis.selectors import gi_claim_can_decide
from catalog.gis.services import gi_claim_verify
from catalog.importing import COLUMNS as CATALOG_COLUMNS
from catalog.importing import catalog_import, catalog_import_last, catalog_import_undo
from catalog.ocop.selectors import certificate_verifiable_by
from catalog.ocop.services import ocop_certificate_verify
from catalog.photos.apis import file_url
from catalog.photos.services import photo_delete, photo_update
from catalog.selectors import officer_covers_producer
from kpi import answers
from marketplace.accounts.scoping import user_reach
from marketplace.core.errors import ServiceError
from marketplace.places.models import CodeSystem, NamedScope

from . import selectors
from .forms import DashboardForm

EXPORTS = [
    ("kpi-online-with-sales", gettext_noop("KPI")),
    ("kpi-gaps", gettext_noop("Gap list")),
    ("kpi-funnel", gettext_noop("Funnel")),
    ("kpi-trend", gettext_noop("Monthly trend")),
]


def officers_only(view):
    """Signed-in officers and administrators; anyone else signed in gets a page saying so (403)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not selectors.dashboard_allowed(user_reach(request.user)):
            return render(request, "frontend/dashboard/refused.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _percent(value) -> str:
    return "–" if value is None else number_format(value * 100, 1) + " %"


def _tally(row: dict) -> dict:
    return {**row, "rate_shown": _percent(row["rate"]), "online_rate_shown": _percent(row["online_rate"])}


def _drill(form: DashboardForm, key: str | None) -> str:
    """A current commune's producers and products; a former commune's own dashboard (a place scope)."""
    if not key:
        return ""
    system, _sep, code = key.partition(":")
    if system == CodeSystem.CURRENT:
        return reverse("dashboard-commune", kwargs={"system": system, "code": code}) + "?" + form.query()
    return reverse("dashboard") + "?" + form.query(scope="", place=f"{system}:commune:{code}")


def _results(request, form: DashboardForm) -> dict:
    scope, period = form.chosen_scope(), form.cleaned_data["period"]
    ask = selectors.dashboard_ask(user=request.user, scope=scope, period=period)
    data = selectors.dashboard_answers(ask=ask)
    kpi, funnel, trend = data[answers.ONLINE_WITH_SALES], data[answers.FUNNEL], data[answers.TREND]
    gaps = Paginator(data[answers.GAPS], selectors.GAPS_PER_PAGE).get_page(request.GET.get("gaps_page"))
    phones = selectors.gap_phones(user=request.user, rows=list(gaps))
    gap_rows = [{**row, "phone": phones.get(row["producer"]["id"], "")} for row in gaps]
    breakdowns = {
        name: [{**_tally(row), "href": _drill(form, row["key"]) if name in ("commune", "legacy_commune") else ""}
               for row in rows]
        for name, rows in kpi["breakdowns"].items()
    }  # fmt: skip
    buckets = [_tally(b) for b in trend["buckets"]]
    steps = [{**s, "conversion_shown": _percent(s["conversion"]), "of_registered_shown": _percent(s["of_registered"])}
             for s in funnel["steps"]]  # fmt: skip
    api_scope = {"scope": str(scope.pk)} if isinstance(scope, NamedScope) else {}
    period_text = form.cleaned_data["period_text"]
    exports = []
    if scope is None or api_scope:
        for name, label in EXPORTS:
            path = reverse(name)
            params = {**api_scope, "period": period_text}
            exports.append({"label": _(label), "csv": f"{path}?{_qs(params, 'csv')}",
                            "xlsx": f"{path}?{_qs(params, 'xlsx')}"})  # fmt: skip
    return {
        "ask": ask,
        "scope": scope,
        "kpi": _tally(kpi["kpi"]),
        "services": _tally(kpi["services"]),
        "unresolved_producers": kpi["unresolved_producers"],
        "gap_total": kpi["gaps"]["total"],
        "freshness": kpi["freshness"],
        "breakdowns": breakdowns,
        "steps": steps,
        "buckets": buckets,
        "funnel_chart": {
            "labels": [s["name"] for s in steps],
            "values": [s["producers"] for s in steps],
            "label": _("Producers"),
        },
        "trend_chart": {
            "labels": [b["from"].strftime("%m/%Y") for b in buckets],
            "rate": [round(b["rate"] * 100, 1) if b["rate"] is not None else None for b in buckets],
            "online_rate": [
                round(b["online_rate"] * 100, 1) if b["online_rate"] is not None else None for b in buckets
            ],
            "rate_label": _("Online with sales (%)"),
            "online_label": _("Online (%)"),
        },
        "gaps": gaps,
        "gap_rows": gap_rows,
        "gaps_query": form.query(),
        "exports": exports,
        "query": form.query(),
    }


def _qs(params: dict, fmt: str) -> str:
    from urllib.parse import urlencode

    return urlencode({**params, "format": fmt})


@require_GET
@officers_only
def dashboard(request):
    """The KPI of the asked scope and period. With htmx (HX-Request), only the results part is sent back."""
    form = DashboardForm(request.GET, user=request.user, today=timezone.localdate())
    context = {"form": form, "places": []}
    status = 200
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        if q and not form.cleaned_data["place"]:
            context["places"] = [
                {"place": p, "href": reverse("dashboard") + "?" + form.query(scope="", place=p.key)}
                for p in selectors.places_matching(user=request.user, q=q)
            ]
            context["searched"] = q
        context.update(_results(request, form))
    else:
        status = 400
    partial = request.headers.get("HX-Request")
    template = "frontend/dashboard/_results.html" if partial else "frontend/dashboard/page.html"
    return render(request, template, context, status=status)


@require_GET
@officers_only
def commune(request, system: str, code: str):
    """The producers of one current commune of the scope, with their products and OCOP stars on D."""
    form = DashboardForm(request.GET, user=request.user, today=timezone.localdate())
    if not form.is_valid():
        return render(request, "frontend/dashboard/page.html", {"form": form}, status=400)
    ask = selectors.dashboard_ask(user=request.user, scope=form.chosen_scope(), period=form.cleaned_data["period"])
    unit = selectors.commune_in_ask(ask=ask, system=system, code=code)
    if unit is None:
        raise Http404(_("This commune is not in the scope."))
    producers = selectors.commune_producers(ask=ask, user=request.user, commune=unit)
    context = {"form": form, "ask": ask, "scope": form.chosen_scope(), "commune": unit, "producers": producers,
               "back": reverse("dashboard") + "?" + form.query()}  # fmt: skip
    return render(request, "frontend/dashboard/commune.html", context)


# ------------------------------------------------------------------------------------------ verification queues
@require_GET
@officers_only
def queues(request):
    photos = selectors.photos_flagged(user=request.user)
    for photo in photos.rows:
        photo.thumb = file_url(photo, "w320") if "w320" in photo.derivatives else ""
        other = photo.near_duplicate_of
        photo.other_thumb = file_url(other, "w320") if "w320" in other.derivatives else ""
    context = {
        "certificates": selectors.certificates_waiting(user=request.user),
        "claims": selectors.gi_claims_waiting(user=request.user),
        "photos": photos,
    }
    return render(request, "frontend/dashboard/queues.html", context)


def _failed(request, error) -> None:
    if isinstance(error, ServiceError):
        said = [error.message, *(m for ms in error.fields.values() for m in ms)]
    else:
        said = [m for ms in error.message_dict.values() for m in ms] if hasattr(error, "error_dict") else error.messages
    messages.error(request, " ".join(dict.fromkeys(str(m) for m in said)))


def _decide(request, item, *, allowed: bool, act) -> HttpResponseRedirect:
    """One decision of a verification queue: 404 outside the user's reach, refused outside their area, the
    service's refusal shown as a message; back to the queues either way."""
    if item is None:
        raise Http404
    if not allowed:
        messages.error(request, _("Only an officer of the producer's area can decide on this."))
    else:
        try:
            act()
        except (ValidationError, ServiceError) as error:
            _failed(request, error)
        else:
            messages.success(request, _("Decision saved: %(product)s.") % {"product": item.product.name})
    return redirect("dashboard-queues")


@require_POST
@officers_only
def certificate_decide(request, pk: int):
    certificate = selectors.certificate_for(user=request.user, pk=pk)
    allowed = certificate is not None and certificate_verifiable_by(certificate=certificate, user=request.user)
    return _decide(request, certificate, allowed=allowed, act=lambda: ocop_certificate_verify(
        certificate=certificate, officer=request.user, decision=request.POST.get("decision", ""),
        reason=request.POST.get("reason", ""),
    ))  # fmt: skip


@require_POST
@officers_only
def gi_claim_decide(request, pk: int):
    claim = selectors.gi_claim_for(user=request.user, pk=pk)
    allowed = claim is not None and gi_claim_can_decide(user=request.user, claim=claim)
    return _decide(request, claim, allowed=allowed, act=lambda: gi_claim_verify(
        claim=claim, officer=request.user, decision=request.POST.get("decision", ""),
        reason=request.POST.get("reason", ""),
    ))  # fmt: skip


def _photo_act(photo, action: str | None) -> None:
    """Not a copy: the flag is cleared (catalog.photos.services.photo_update); a copy: the photo is removed."""
    if action == "keep":
        photo_update(photo=photo, near_duplicate_of=None)
    elif action == "remove":
        photo_delete(photo=photo)
    else:
        raise ValidationError(_("Choose whether to keep or remove the photo."))


@require_POST
@officers_only
def photo_decide(request, pk: int):
    photo = selectors.photo_for(user=request.user, pk=pk)
    allowed = photo is not None and officer_covers_producer(
        reach=user_reach(request.user), producer=photo.product.producer
    )
    return _decide(request, photo, allowed=allowed, act=lambda: _photo_act(photo, request.POST.get("action")))


@require_http_methods(["GET", "HEAD", "POST"])
@officers_only
def catalog_import_page(request):
    """Bulk import of producers and products: check a file (dry run), then import it, or undo the last import."""
    report, status = None, 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a CSV or XLSX file."))
            status = 400
        else:
            dry_run = request.POST.get("action") != "import"
            try:
                report = catalog_import(user=request.user, data=upload.read(), file_name=upload.name, dry_run=dry_run)
            except ServiceError as error:
                _failed(request, error)
                status = 400
            else:
                status = 200 if report.valid else 400
                if report.valid and not dry_run:
                    messages.success(
                        request,
                        _("Imported: %(producers)s new producers, %(products)s new products.")
                        % {"producers": report.producers_created, "products": report.products_created},
                    )
    last = catalog_import_last(user=request.user)
    context = {"report": report, "last": last, "columns": CATALOG_COLUMNS}
    return render(request, "frontend/dashboard/import.html", context, status=status)


@require_POST
@officers_only
def catalog_import_undo_page(request):
    try:
        batch = catalog_import_undo(user=request.user)
    except ServiceError as error:
        _failed(request, error)
    else:
        when = timezone.localtime(batch.created_at).strftime("%d/%m/%Y %H:%M")
        messages.success(request, _("The import of %(when)s is undone.") % {"when": when})
    return redirect("dashboard-import")
