"""Geographical indications (GIs), the marks people confuse with them, right-to-use authorisations, and
products' claims to a GI.

Shaped after the EU's eAmbrosia: a stable internal id (the slug) beside the authority's numbers, a dated
status lifecycle, a link to the legal act, and the area as the units listed at the grant. In Vietnam that
list names communes as they were at the grant date (domain.md §4): the area therefore points at *legacy*
units, and whether a producer is inside it is answered through lineage (selectors.gi_area_match).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class GiKind(models.TextChoices):
    GEOGRAPHICAL_INDICATION = "geographical_indication", _("Geographical indication")
    COLLECTIVE_MARK = "collective_mark", _("Collective mark")
    CERTIFICATION_MARK = "certification_mark", _("Certification mark")


class GeographicalIndication(models.Model):
    slug = models.SlugField(
        _("internal id"), max_length=80, unique=True, help_text=_("Stable; never changes, unlike names and numbers.")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=GiKind.choices)
    certificate_number = models.CharField(
        _("certificate number"), max_length=20, blank=True, help_text=_("Empty while the number is not known.")
    )
    name = models.CharField(_("name"), max_length=200)
    product_description = models.CharField(_("product"), max_length=200)
    grant_decision_number = models.CharField(_("grant decision"), max_length=40, blank=True)
    grant_date = models.DateField(_("grant date"), null=True, blank=True)
    management_body = models.CharField(_("management body (as granted)"), max_length=200, blank=True)
    management_body_successor = models.CharField(
        _("management body after the 2025 reform"),
        max_length=200,
        blank=True,
        help_text=_("District People's Committees were abolished on 1 July 2025."),
    )
    specification_summary = models.TextField(_("summary of the specification"), blank=True)
    area_units = models.ManyToManyField(
        "places.AdministrativeUnit",
        blank=True,
        related_name="+",
        verbose_name=_("area"),
        help_text=_("The legacy communes or districts as listed at the grant."),
    )
    legal_act_url = models.URLField(_("link to the legal act"), blank=True)
    source = models.TextField(_("source note"), help_text=_("Where these facts come from, and what is still missing."))
    # Accent-folded name, product and numbers used by search; derived on save by the service, never typed.
    search_key = models.CharField(max_length=400, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("geographical indication or mark")
        verbose_name_plural = _("geographical indications and marks")
        ordering = ["name", "id"]

    def __str__(self):
        return self.name


class GiStatus(models.TextChoices):
    APPLIED = "applied", _("Applied for")
    PUBLISHED = "published", _("Published")
    REGISTERED = "registered", _("Registered")
    AMENDED = "amended", _("Amended")
    CANCELLED = "cancelled", _("Cancelled")


class GiStatusEvent(models.Model):
    gi = models.ForeignKey(GeographicalIndication, on_delete=models.CASCADE, related_name="status_events")
    status = models.CharField(_("status"), max_length=12, choices=GiStatus.choices)
    date = models.DateField(_("date"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("GI status event")
        verbose_name_plural = _("GI status events")
        ordering = [models.F("date").asc(nulls_first=True), "id"]

    def __str__(self):
        return f"{self.gi} · {self.get_status_display()} {self.date or ''}".strip()


class GiUseRight(models.Model):
    """A producer's right-to-use authorisation, issued by a provincial body with its own number (domain.md §4)."""

    producer = models.ForeignKey("catalog.Producer", on_delete=models.CASCADE, related_name="gi_use_rights")
    gi = models.ForeignKey(GeographicalIndication, on_delete=models.PROTECT, related_name="use_rights")
    number = models.CharField(_("authorisation number"), max_length=40)
    issued_by = models.CharField(_("issued by"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True, help_text=_("Empty: no end date."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("GI right-to-use authorisation")
        verbose_name_plural = _("GI right-to-use authorisations")
        ordering = ["gi_id", "-valid_from", "id"]
        constraints = [models.UniqueConstraint(fields=["gi", "number"], name="gi_use_right_number_once")]

    def __str__(self):
        return f"{self.number} · {self.gi} · {self.producer}"


class AreaMatch(models.TextChoices):
    INSIDE = "inside", _("Inside the area")
    PARTIAL = "partial", _("Partly inside the area")
    OUTSIDE = "outside", _("Outside the area")


class GiClaimStatus(models.TextChoices):
    ELIGIBLE = "eligible", _("Eligible")
    PENDING_VERIFICATION = "pending_verification", _("Pending verification")
    VERIFIED = "verified", _("Verified by an officer")
    REJECTED = "rejected", _("Rejected by an officer")


class GiClaim(models.Model):
    """A product's claim to carry a GI, checked against the GI's area through lineage when it was made."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="gi_claims")
    gi = models.ForeignKey(GeographicalIndication, on_delete=models.PROTECT, related_name="claims")
    status = models.CharField(_("status"), max_length=24, choices=GiClaimStatus.choices)
    # What the check saw, kept as it was: the producer's address or the product's origin may change later.
    checked_commune = models.ForeignKey(
        "places.AdministrativeUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("commune checked")
    )
    area_match = models.CharField(_("area check"), max_length=8, choices=AreaMatch.choices)
    explanation = models.TextField(_("explanation"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("GI claim")
        verbose_name_plural = _("GI claims")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["product", "gi"], name="gi_claim_once")]
        indexes = [models.Index(fields=["status", "gi"])]

    def __str__(self):
        return f"{self.product} · {self.gi} ({self.get_status_display()})"
