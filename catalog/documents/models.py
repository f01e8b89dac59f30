"""Paper documents of a producer or of one of its products: food-safety papers, VietGAP or organic
certificates, test reports, OCOP certificate scans, GI right-to-use decisions.

The file itself lives in Django's storage under a content-addressed key (catalog/files.py); only its
metadata is here. Documents are private: they are served through the API to those in reach of the
producer, never from a public media URL.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DocumentType(models.TextChoices):
    FOOD_SAFETY_SELF_DECLARATION = "food_safety_self_declaration", _("Food-safety self-declaration")
    FOOD_SAFETY_CERTIFICATE = "food_safety_certificate", _("Food-safety establishment certificate")
    FOOD_SAFETY_EXEMPTION = "food_safety_exemption", _("Food-safety certificate exemption")
    VIETGAP = "vietgap", _("VietGAP certificate")
    ORGANIC = "organic", _("Organic certificate")
    TEST_REPORT = "test_report", _("Test report")
    OCOP_CERTIFICATE_SCAN = "ocop_certificate_scan", _("OCOP certificate scan")
    GI_RIGHT_TO_USE = "gi_right_to_use", _("Geographical indication right-to-use")
    OTHER = "other", _("Other")


class Document(models.Model):
    # PROTECT, not CASCADE: a cascade would delete rows without deleting their stored files.
    producer = models.ForeignKey(
        "catalog.Producer", on_delete=models.PROTECT, related_name="documents", verbose_name=_("producer")
    )
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("product"),
        help_text=_("Empty for a document of the producer as a whole."),
    )
    doc_type = models.CharField(_("document type"), max_length=32, choices=DocumentType.choices)
    number = models.CharField(_("number"), max_length=100, blank=True)
    issuer = models.CharField(_("issued by"), max_length=200, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    # The storage name, relative to the storage root; indexed because deleting a file first asks whether
    # another document still uses the same (content-addressed) key.
    file_key = models.CharField(_("file key"), max_length=255, db_index=True, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    size = models.PositiveIntegerField(_("size (bytes)"), editable=False)
    content_type = models.CharField(_("content type"), max_length=40, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["producer", "doc_type"]),
            models.Index(fields=["product", "doc_type"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(issued_on__isnull=True) | Q(expires_on__isnull=True) | Q(expires_on__gte=F("issued_on")),
                name="document_expires_after_issue",
            ),
        ]

    def __str__(self):
        label = self.get_doc_type_display()
        return f"{label} {self.number}".strip()

    def clean(self):
        errors = {}
        if self.issued_on and self.expires_on and self.expires_on < self.issued_on:
            errors["expires_on"] = [_("The expiry date is before the issue date.")]
        if self.issued_on and self.issued_on > timezone.localdate():
            errors["issued_on"] = [_("The issue date is in the future. Check the date on the paper.")]
        if self.product_id and self.producer_id and self.product.producer_id != self.producer_id:
            errors["product"] = [_("This product belongs to another producer.")]
        if errors:
            raise ValidationError(errors)
