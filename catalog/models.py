"""Producers ("chủ thể OCOP") and who manages them. Products, documents, certificates and GIs follow.

The commune a producer's address was captured in is kept as captured, with its date, and never overwritten;
the current commune is derived from it through lineage (places.selectors) and stored for filtering.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProducerKind(models.TextChoices):
    HOUSEHOLD = "household", _("Household")
    HOUSEHOLD_BUSINESS = "household_business", _("Household business")
    COOPERATIVE_GROUP = "cooperative_group", _("Cooperative group")
    COOPERATIVE = "cooperative", _("Cooperative")
    COOPERATIVE_UNION = "cooperative_union", _("Cooperative union")
    ENTERPRISE = "enterprise", _("Enterprise")


# Since 1 July 2025 households and household businesses use the representative's 12-digit personal id
# as their tax code (domain.md §5); the others have a 10- or 13-digit enterprise tax code.
PERSONAL_ID_KINDS = (ProducerKind.HOUSEHOLD, ProducerKind.HOUSEHOLD_BUSINESS)


class TaxIdType(models.TextChoices):
    TAX_CODE = "tax_code", _("Tax code (10 or 13 digits)")
    PERSONAL_ID = "personal_id", _("Personal id number (12 digits)")


class OnboardingState(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    PROFILE_COMPLETE = "profile_complete", _("Profile complete")
    PRODUCTS_ADDED = "products_added", _("Products added")
    LISTED = "listed", _("Listed on a marketplace")
    SELLING = "selling", _("Selling")


class Producer(models.Model):
    kind = models.CharField(_("kind"), max_length=24, choices=ProducerKind.choices)
    legal_name = models.CharField(_("legal name"), max_length=200)
    trade_name = models.CharField(_("trade name"), max_length=200, blank=True)
    representative_name = models.CharField(_("representative"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("E.164, e.g. +84912345678."))
    email = models.EmailField(_("email"), blank=True)
    address_line = models.CharField(_("address"), max_length=255, blank=True)
    commune_as_captured = models.ForeignKey(
        "places.AdministrativeUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("commune as captured"),
        help_text=_("Current or former commune, as the producer gave it. Never overwritten."),
    )
    captured_on = models.DateField(_("captured on"))
    current_commune = models.ForeignKey(
        "places.AdministrativeUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text=_("Derived through lineage; empty when a split commune leaves it ambiguous."),
    )
    tax_id = models.CharField(_("tax id"), max_length=13, null=True, blank=True, unique=True)
    tax_id_type = models.CharField(_("tax id type"), max_length=12, choices=TaxIdType.choices, blank=True)
    registration_number = models.CharField(_("registration number"), max_length=40, blank=True)
    # Counted by OCOP reports, only when the producer consented to say so: None means "not stated".
    women_led = models.BooleanField(_("women-led"), null=True, blank=True)
    ethnic_minority_led = models.BooleanField(_("ethnic-minority-led"), null=True, blank=True)
    onboarding_state = models.CharField(
        _("onboarding state"), max_length=20, choices=OnboardingState.choices, default=OnboardingState.REGISTERED
    )
    search_key = models.CharField(max_length=420, db_index=True, editable=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="ProducerMembership",
        through_fields=("producer", "user"),
        related_name="producers",
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("producer")
        verbose_name_plural = _("producers")
        ordering = ["legal_name", "id"]
        indexes = [models.Index(fields=["current_commune", "kind"])]

    def __str__(self):
        return self.trade_name or self.legal_name


class ProducerMembership(models.Model):
    producer = models.ForeignKey(Producer, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="producer_memberships")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("producer member")
        verbose_name_plural = _("producer members")
        constraints = [models.UniqueConstraint(fields=["producer", "user"], name="member_once")]

    def __str__(self):
        return f"{self.user} · {self.producer}"
