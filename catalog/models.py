"""Producers ("chủ thể OCOP") and who manages them. Products, documents, certificates and GIs follow.

The commune a producer's address was captured in is kept as captured, with its date, and never overwritten;
the current commune is derived from it through lineage (places.selectors) and stored for filtering.
"""

from django.conf import settings
from django.core.validators import MinValueValidator
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


class ProductSet(models.Model):
    """One of the OCOP product sets ("bộ sản phẩm"), within its group, for one version of the criteria.

    Versioned data, loaded from catalog/data/ by `load_catalog_reference`, never typed in code: a new
    decision adds a new version beside the old one, and products keep the set they were classified in.
    """

    version = models.CharField(_("criteria version"), max_length=40)
    number = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=200)
    group_number = models.PositiveSmallIntegerField(_("group number"))
    group_name = models.CharField(_("group"), max_length=120)
    subgroup_name = models.CharField(_("subgroup"), max_length=160, blank=True)
    is_service = models.BooleanField(
        _("is a service"), default=False, help_text=_("Tourism services cannot ship; the KPI reports them apart.")
    )
    legal_basis = models.CharField(_("legal basis"), max_length=200)
    source = models.CharField(_("source"), max_length=300)

    class Meta:
        verbose_name = _("OCOP product set")
        verbose_name_plural = _("OCOP product sets")
        ordering = ["version", "number"]
        constraints = [models.UniqueConstraint(fields=["version", "number"], name="product_set_once")]

    def __str__(self):
        return f"{self.number}. {self.name}"


class ProductKind(models.TextChoices):
    GOODS = "goods", _("Goods")
    SERVICE = "service", _("Service")


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    ARCHIVED = "archived", _("Archived")


class Product(models.Model):
    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(_("name as on the label"), max_length=200)
    product_set = models.ForeignKey(ProductSet, on_delete=models.PROTECT, related_name="products")
    kind = models.CharField(_("goods or service"), max_length=8, choices=ProductKind.choices)
    origin_commune = models.ForeignKey(
        "places.AdministrativeUnit",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("origin commune"),
    )
    description = models.TextField(_("description"), blank=True)
    ingredients = models.TextField(_("ingredients"), blank=True)
    storage = models.TextField(_("storage"), blank=True)
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    brand = models.CharField(_("brand"), max_length=120, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ProductStatus.choices, default=ProductStatus.DRAFT)
    search_key = models.CharField(max_length=420, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["producer", "status"]),
            models.Index(fields=["product_set", "status"]),
            models.Index(fields=["name", "id"]),  # the list's default order: a page without sorting every row
        ]

    def __str__(self):
        return self.name


class NetUnit(models.TextChoices):
    GRAM = "g", _("g")
    KILOGRAM = "kg", _("kg")
    MILLILITRE = "ml", _("ml")
    LITRE = "l", _("l")
    PIECE = "piece", _("piece")
    PACK = "pack", _("pack")


class Sku(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    code = models.CharField(_("SKU code"), max_length=64, blank=True)
    net_quantity = models.DecimalField(_("net quantity"), max_digits=10, decimal_places=3)
    net_unit = models.CharField(_("unit"), max_length=8, choices=NetUnit.choices)
    weight_grams = models.PositiveIntegerField(_("shipping weight (g)"), validators=[MinValueValidator(1)])
    length_cm = models.PositiveSmallIntegerField(_("length (cm)"), validators=[MinValueValidator(1)])
    width_cm = models.PositiveSmallIntegerField(_("width (cm)"), validators=[MinValueValidator(1)])
    height_cm = models.PositiveSmallIntegerField(_("height (cm)"), validators=[MinValueValidator(1)])
    # VND has no minor unit: whole đồng, never a float.
    price_vnd = models.PositiveBigIntegerField(_("price (VND)"), validators=[MinValueValidator(1)])
    stock = models.PositiveIntegerField(_("stock"), default=0)
    gtin = models.CharField(_("GTIN"), max_length=14, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("SKU")
        verbose_name_plural = _("SKUs")
        ordering = ["product_id", "price_vnd", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gtin"], condition=~models.Q(gtin=""), name="gtin_once"),
            models.CheckConstraint(condition=models.Q(net_quantity__gt=0), name="net_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.product} · {self.net_quantity:g} {self.net_unit}"


class Channel(models.TextChoices):
    POSTMART = "postmart", "Postmart"
    VOSO = "voso", "Voso"
    STOREFRONT = "storefront", _("Province storefront")


class ChannelProfile(models.Model):
    """What a channel requires of a product (as Akeneo's channel completeness does). Data, edited in the admin.

    A profile with no product set applies to every product; one with a set adds its requirements for that set.
    """

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    product_set_number = models.PositiveSmallIntegerField(
        _("product set number"), null=True, blank=True, help_text=_("Empty: applies to every product.")
    )
    name = models.CharField(_("name"), max_length=120)
    # The image the channel accepts (marketplaces.md): the photo pipeline makes one export per channel.
    image_format = models.CharField(
        _("image format"), max_length=4, blank=True, choices=[("JPEG", "JPEG"), ("PNG", "PNG")]
    )
    image_min_px = models.PositiveIntegerField(_("image: shortest side at least (px)"), null=True, blank=True)
    image_max_px = models.PositiveIntegerField(_("image: longest side at most (px)"), null=True, blank=True)
    image_max_bytes = models.PositiveIntegerField(_("image: at most (bytes)"), null=True, blank=True)

    class Meta:
        verbose_name = _("channel profile")
        verbose_name_plural = _("channel profiles")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "product_set_number"],
                condition=models.Q(product_set_number__isnull=False),
                name="profile_once_per_set",
            ),
            models.UniqueConstraint(
                fields=["channel"], condition=models.Q(product_set_number__isnull=True), name="profile_once_default"
            ),
        ]

    def __str__(self):
        return self.name


class RequirementKind(models.TextChoices):
    ATTRIBUTE = "attribute", _("Product information")
    SKU = "sku", _("Package information")
    DOCUMENT = "document", _("Document")
    PHOTO = "photo", _("Photo")
    OCOP = "ocop", _("OCOP certificate")


class ChannelRequirement(models.Model):
    """One item of a profile. `key` names what is checked (a product field, a document type, a photo role);
    the labels are the sentence a producer reads when it is missing, in both languages, because profiles
    are data edited in the admin and cannot go through gettext."""

    profile = models.ForeignKey(ChannelProfile, on_delete=models.CASCADE, related_name="requirements")
    kind = models.CharField(_("kind"), max_length=12, choices=RequirementKind.choices)
    key = models.CharField(_("key"), max_length=60)
    min_count = models.PositiveSmallIntegerField(_("at least"), default=1)
    label_vi = models.CharField(_("missing, in Vietnamese"), max_length=200)
    label_en = models.CharField(_("missing, in English"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("channel requirement")
        verbose_name_plural = _("channel requirements")
        ordering = ["profile_id", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["profile", "kind", "key"], name="requirement_once")]

    def __str__(self):
        return f"{self.kind}:{self.key}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from .readiness import KNOWN_KEYS

        if self.key not in KNOWN_KEYS.get(self.kind, ()):
            known = ", ".join(sorted(KNOWN_KEYS.get(self.kind, ())))
            raise ValidationError({"key": _("Unknown key for this kind. Known keys: %(keys)s.") % {"keys": known}})


class ProductReadiness(models.Model):
    """The last computed readiness of a product for a channel, kept so that lists can filter on it.
    Recomputed in the same transaction as every change that can affect it (catalog.readiness)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="readiness")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    score = models.PositiveSmallIntegerField()
    ready = models.BooleanField()
    missing = models.JSONField(default=list)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "channel"], name="readiness_once")]
        indexes = [models.Index(fields=["channel", "ready"])]

    def __str__(self):
        return f"{self.product_id} · {self.channel}: {self.score}"


class CatalogImport(models.Model):
    """One officer's import of producers and products (catalog.importing): what it created, so that the last one
    can be undone while nobody has built on it."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    rows = models.PositiveIntegerField(_("rows"))
    producer_ids = models.JSONField(default=list)
    product_ids = models.JSONField(default=list)
    started_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("catalogue import")
        verbose_name_plural = _("catalogue imports")
        ordering = ["-pk"]

    def __str__(self):
        return f"{self.file_name or self.pk} ({self.created_at:%Y-%m-%d %H:%M})"
