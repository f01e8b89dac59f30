"""Product photos: the private original, its processed derivatives, roles, and what officers may see.

The original (with its EXIF, capture time and GPS) is stored privately; what is served is re-encoded with no
metadata. Capture time and GPS are copied into private fields that only officers see.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PhotoRole(models.TextChoices):
    FRONT = "front", _("Front of the product")
    LABEL_BACK = "label_back", _("Back label")
    INGREDIENTS_NUTRITION = "ingredients_nutrition", _("Ingredients and nutrition")
    PACKAGING = "packaging", _("Packaging")
    IN_USE = "in_use", _("In use")
    PRODUCTION_AREA = "production_area", _("Production area")
    CERTIFICATE = "certificate", _("Certificate")
    OTHER = "other", _("Other")


# A buyer must be able to read these, so they need a real resolution (domain.md §5, marketplaces' rules).
ROLES_NEEDING_500PX = (PhotoRole.FRONT, PhotoRole.LABEL_BACK)


class PhotoStatus(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class ProductPhoto(models.Model):
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="photos")
    role = models.CharField(_("role"), max_length=24, choices=PhotoRole.choices)
    alt_text = models.CharField(_("description for screen readers"), max_length=250, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_primary = models.BooleanField(_("primary photo"), default=False)
    status = models.CharField(max_length=12, choices=PhotoStatus.choices, default=PhotoStatus.PROCESSING)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    # The upload as sent: private, content-addressed, never served to buyers.
    original_key = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    original_bytes = models.PositiveIntegerField()
    original_format = models.CharField(max_length=8)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    derivatives = models.JSONField(default=dict, blank=True, help_text="name → {key, width, height, type, bytes}")
    hints = models.JSONField(default=list, blank=True)
    phash = models.CharField(max_length=32, blank=True, db_index=True)
    near_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("A visually identical photo of another producer's product, for officers to look at."),
    )  # fmt: skip
    # Private: officers only (evidence of the production area, never published).
    taken_at = models.DateTimeField(null=True, blank=True)
    gps_latitude = models.FloatField(null=True, blank=True)
    gps_longitude = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("product photo")
        verbose_name_plural = _("product photos")
        ordering = ["product_id", "-is_primary", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "sha256"], name="photo_once_per_product"),
            models.UniqueConstraint(fields=["product"], condition=models.Q(is_primary=True), name="one_primary_photo"),
        ]

    def __str__(self):
        return f"{self.product_id} · {self.role} · {self.status}"
