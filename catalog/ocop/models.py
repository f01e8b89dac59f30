"""OCOP certificates: the recognition decision behind a product's stars (domain.md §3).

A certificate is typed in from the paper (with an optional scan) by the producer or someone helping them, and
only counts once an officer has verified it. Its `status` is kept current by a daily task; whether a product
counts as OCOP on a date is answered from the dates and the verification (selectors), never from `status`
alone, so that a report for a past date is right too.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Star(models.TextChoices):
    THREE = "3", _("3 stars")
    FOUR = "4", _("4 stars")
    FIVE = "5", _("5 stars")
    # Decision 1048 (before 24 Feb 2023) let a province rate a product "potential 5 stars" pending the
    # central evaluation; it is accepted on records of that period only.
    POTENTIAL_FIVE = "potential_5", _("Potential 5 stars (before 2023)")


class EvaluationType(models.TextChoices):
    NEW = "new", _("First evaluation")
    RE_EVALUATION = "re_evaluation", _("Re-evaluation")
    UPGRADE = "upgrade", _("Upgrade")


class IssuingLevel(models.TextChoices):
    DISTRICT = "district", _("District")
    PROVINCE = "province", _("Province")
    CENTRAL = "central", _("Central")


class CertificateStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")
    SUPERSEDED = "superseded", _("Superseded")


class Verification(models.TextChoices):
    UNVERIFIED = "unverified", _("Not yet verified")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class OcopCertificate(models.Model):
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="ocop_certificates")
    star = models.CharField(_("star rating"), max_length=12, choices=Star.choices)
    score = models.PositiveSmallIntegerField(
        _("score"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Out of 100, if the decision gives it; it must fall inside the star's band."),
    )
    evaluation_type = models.CharField(
        _("evaluation type"), max_length=16, choices=EvaluationType.choices, default=EvaluationType.NEW
    )
    criteria_version = models.CharField(_("criteria version"), max_length=40, blank=True)
    product_set = models.ForeignKey(
        "catalog.ProductSet",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product set evaluated in"),
    )
    decision_number = models.CharField(_("decision number"), max_length=60, help_text=_("For example 4894/QĐ-UBND."))
    decision_date = models.DateField(_("decision date"))
    issuing_level = models.CharField(_("issuing level"), max_length=10, choices=IssuingLevel.choices)
    issuing_body = models.CharField(_("issuing body"), max_length=200)
    certificate_number = models.CharField(_("certificate number"), max_length=60, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), help_text=_("The last day it is valid."))
    status = models.CharField(
        _("status"), max_length=12, choices=CertificateStatus.choices, default=CertificateStatus.ACTIVE
    )
    supersedes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("supersedes"),
    )
    # The scan of the paper certificate, stored content-addressed by catalog.files; all blank when none.
    scan_file_key = models.CharField(max_length=200, blank=True, editable=False)
    scan_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    scan_size = models.PositiveIntegerField(null=True, blank=True, editable=False)
    scan_content_type = models.CharField(max_length=40, blank=True, editable=False)
    verification = models.CharField(
        _("verification"), max_length=12, choices=Verification.choices, default=Verification.UNVERIFIED
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revocation_reason = models.TextField(_("reason for revocation"), blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("OCOP certificate")
        verbose_name_plural = _("OCOP certificates")
        ordering = ["-decision_date", "-id"]
        indexes = [
            # "Which active certificates expire within N days" and the daily expiry both filter on these two.
            models.Index(fields=["status", "valid_until"], name="ocop_cert_status_until"),
            models.Index(fields=["product", "status"], name="ocop_cert_product_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(valid_until__gte=models.F("valid_from")), name="ocop_valid_span"),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__lte=100), name="ocop_score_at_most_100"
            ),
        ]

    def __str__(self):
        return f"{self.product_id} · {self.get_star_display()} · {self.decision_number}"

    @property
    def has_scan(self) -> bool:
        return bool(self.scan_file_key)
