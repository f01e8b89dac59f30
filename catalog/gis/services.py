"""Writes for GIs: the registry itself, products' claims, and an officer's decision on a claim."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from marketplace.core.errors import ServiceError
from marketplace.core.text import fold, nfc
from marketplace.places.models import AdministrativeUnit

from .models import AreaMatch, GeographicalIndication, GiClaim, GiClaimStatus, GiKind, GiStatus, GiUseRight
from .selectors import gi_area_match, gi_latest_status

_TEXT_FIELDS = (
    "certificate_number",
    "name",
    "product_description",
    "grant_decision_number",
    "management_body",
    "management_body_successor",
    "specification_summary",
    "source",
)


def gi_search_key(gi: GeographicalIndication) -> str:
    return fold(f"{gi.name} {gi.product_description} {gi.certificate_number} {gi.grant_decision_number}")[:400]


@transaction.atomic
def gi_upsert(
    *, slug: str, fields: dict, area_units: list[AdministrativeUnit] | None = None
) -> tuple[GeographicalIndication, str]:
    """Create the GI with this slug, or bring it up to date; returns it and "created", "updated" or "unchanged".

    A field given empty never erases a value already stored: a number or body entered later by an officer
    (from the certificate itself) survives a re-run of the seed, which knows only what the sources give.
    Likewise `area_units` empty or None leaves a stored area alone.
    """
    fields = {k: nfc(v) if isinstance(v, str) else v for k, v in fields.items()}
    gi = GeographicalIndication.objects.filter(slug=slug).first()
    outcome = "unchanged"
    if gi is None:
        gi, outcome = GeographicalIndication(slug=slug, **fields), "created"
    else:
        for name, value in fields.items():
            if value not in ("", None) and getattr(gi, name) != value:
                setattr(gi, name, value)
                outcome = "updated"
    if gi.search_key != gi_search_key(gi):
        gi.search_key = gi_search_key(gi)
        outcome = "updated" if outcome == "unchanged" else outcome
    if outcome != "unchanged":
        gi.full_clean()
        gi.save()
    if area_units and {u.pk for u in gi.area_units.all()} != {u.pk for u in area_units}:
        gi.area_units.set(area_units)
        outcome = "updated" if outcome == "unchanged" else outcome
    return gi, outcome


def _refusal(message: str, reason: str) -> ServiceError:
    return ServiceError("gi_claim_refused", message, fields={"gi": [reason]})


def _duplicate() -> ServiceError:
    return ServiceError(
        "duplicate", _("This product already claims this GI."), fields={"gi": [_("Already claimed: see its claim.")]}
    )


@transaction.atomic
def gi_claim_create(*, product: Product, gi: GeographicalIndication, created_by=None) -> GiClaim:
    """Claim a GI for a product, checked against the GI's area through lineage.

    Both the product's origin commune and the producer's commune as captured (legacy or current) are
    checked, and the better answer wins: "a producer or product origin inside the area may claim it".
    Inside the area: eligible. A current commune only partly in the area: pending
    verification by an officer, with the explanation. Outside: refused, naming the reason.
    """
    if GiClaim.objects.filter(product=product, gi=gi).exists():
        raise _duplicate()
    if gi.kind != GiKind.GEOGRAPHICAL_INDICATION:
        raise _refusal(
            _("%(name)s is a mark, not a geographical indication.") % {"name": gi.name},
            _("A collective or certification mark is used with its owner's permission, not claimed by area."),
        )
    if gi_latest_status(gi=gi) == GiStatus.CANCELLED:
        raise _refusal(_("%(name)s has been cancelled.") % {"name": gi.name}, _("A cancelled GI cannot be claimed."))

    rank = {AreaMatch.INSIDE: 0, AreaMatch.PARTIAL: 1, AreaMatch.OUTSIDE: 2}
    candidates = [u for u in (product.origin_commune, product.producer.commune_as_captured) if u is not None]
    checked = [(unit, *gi_area_match(gi=gi, unit=unit)) for unit in candidates]
    commune, match, explanation = min(checked, key=lambda row: rank[row[1]])
    if match == AreaMatch.OUTSIDE:
        raise _refusal(
            _("%(product)s comes from outside the area of %(gi)s.") % {"product": product.name, "gi": gi.name},
            explanation,
        )
    claim = GiClaim(
        product=product,
        gi=gi,
        status=GiClaimStatus.ELIGIBLE if match == AreaMatch.INSIDE else GiClaimStatus.PENDING_VERIFICATION,
        checked_commune=commune,
        area_match=match,
        explanation=explanation,
        created_by=created_by,
    )
    claim.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            claim.save()
    except IntegrityError:  # a concurrent claim of the same GI for the same product won the race
        raise _duplicate() from None
    return claim


DECISIONS = (GiClaimStatus.VERIFIED, GiClaimStatus.REJECTED)


@transaction.atomic
def gi_claim_verify(*, claim: GiClaim, officer, decision: str, reason: str = "") -> GiClaim:
    """An officer's decision on a claim: verified, or rejected with a reason the producer can read.

    Whether `officer` may decide is the caller's check (selectors.gi_claim_can_decide). A claim already
    decided stays decided.
    """
    reason = nfc(reason or "")
    if decision not in DECISIONS:
        raise ServiceError(
            "invalid",
            _("Unknown decision."),
            fields={"decision": [_("Use one of: %s.") % ", ".join(DECISIONS)]},
        )
    if decision == GiClaimStatus.REJECTED and not reason:
        raise ServiceError(
            "invalid",
            _("Say why the claim is rejected."),
            fields={"reason": [_("A rejection needs a reason the producer can read.")]},
        )
    # Locked, so that two officers deciding at once cannot both win.
    claim = GiClaim.objects.select_for_update().get(pk=claim.pk)
    if claim.status in DECISIONS:
        raise ServiceError(
            "already_decided",
            _("An officer has already decided on this claim."),
            fields={"decision": [_("This claim is already %(status)s.") % {"status": claim.get_status_display()}]},
        )
    claim.status = decision
    claim.decided_by = officer
    claim.decided_at = timezone.now()
    claim.reason = reason
    claim.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    return claim


@transaction.atomic
def gi_use_right_create(
    *, producer, gi: GeographicalIndication, number: str, issued_by: str, valid_from, valid_until=None
) -> GiUseRight:
    """Record a producer's right-to-use authorisation, as issued by the provincial body (an officer enters it)."""
    if gi.kind != GiKind.GEOGRAPHICAL_INDICATION:
        raise ValidationError({"gi": [_("A right-to-use is granted for a geographical indication, not a mark.")]})
    if valid_until and valid_until < valid_from:
        raise ValidationError({"valid_until": [_("The end date is before the start date.")]})
    if GiUseRight.objects.filter(gi=gi, number=nfc(number)).exists():
        raise ServiceError(
            "duplicate",
            _("This authorisation number is already recorded for this GI."),
            fields={"number": [_("Check the number on the authorisation.")]},
        )
    right = GiUseRight(
        producer=producer, gi=gi, number=nfc(number), issued_by=nfc(issued_by), valid_from=valid_from,
        valid_until=valid_until,
    )  # fmt: skip
    right.full_clean(validate_constraints=False)
    right.save()
    return right
