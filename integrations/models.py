"""Channels, connections to them, and listings: the binding of a product package to a marketplace item,
with its desired state, its canonical state machine, its dated history and every call made for it."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .crypto import EncryptedJSONField, EncryptedTextField


class MarketChannel(models.TextChoices):
    POSTMART = "postmart", "Postmart"
    VOSO = "voso", "Voso"
    # The province's own floor: listed here like a marketplace, published by a local adapter, paid with Stripe.
    STOREFRONT = "storefront", _("Province storefront")


class ConnectionKind(models.TextChoices):
    OWN_SHOP = "own_shop", _("The producer's own shop")
    SHARED_BOOTH = "shared_booth", _("A shared booth run for many producers")


class ChannelConnection(models.Model):
    """A shop on a marketplace: a producer's own, or a booth a province or commune runs for its producers."""

    channel = models.CharField(_("channel"), max_length=16, choices=MarketChannel.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=ConnectionKind.choices)
    name = models.CharField(_("name"), max_length=160)
    producer = models.ForeignKey(
        "catalog.Producer", null=True, blank=True, on_delete=models.CASCADE, related_name="channel_connections"
    )
    area = models.ForeignKey(
        "places.AdministrativeUnit",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For a shared booth: the province or commune whose producers it sells for."),
    )
    base_url = models.URLField(_("API base URL"))
    shop_id = models.CharField(_("shop id on the marketplace"), max_length=64)
    settings = models.JSONField(_("settings"), default=dict, blank=True, help_text=_("Warehouse, pickup address…"))
    credentials = EncryptedJSONField(_("credentials"), blank=True, editable=False)
    access_token = EncryptedTextField(blank=True, editable=False)
    refresh_token = EncryptedTextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped on every new token, so a worker can tell whether somebody else already refreshed.
    token_generation = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("channel connection")
        verbose_name_plural = _("channel connections")
        constraints = [
            models.UniqueConstraint(fields=["channel", "shop_id"], name="connection_unique_shop"),
            models.CheckConstraint(
                condition=models.Q(kind="own_shop", producer__isnull=False)
                | models.Q(kind="shared_booth", producer__isnull=True),
                name="connection_kind_matches_owner",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} · {self.name}"


class CategoryMapping(models.Model):
    """Which leaf category of a channel an OCOP product set goes to. Data, edited in the admin."""

    channel = models.CharField(_("channel"), max_length=16, choices=MarketChannel.choices)
    product_set_number = models.PositiveSmallIntegerField(_("OCOP product set number"))
    category_code = models.CharField(_("leaf category on the channel"), max_length=40)
    category_name = models.CharField(_("category name"), max_length=160, blank=True)

    class Meta:
        verbose_name = _("category mapping")
        verbose_name_plural = _("category mappings")
        constraints = [
            models.UniqueConstraint(fields=["channel", "product_set_number"], name="category_mapping_unique")
        ]

    def __str__(self):
        return f"{self.channel}: set {self.product_set_number} → {self.category_code}"


class ListingState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    SUBMITTING = "submitting", _("Being sent")
    PENDING_REVIEW = "pending_review", _("Waiting for the marketplace's review")
    LIVE = "live", _("On sale")
    REJECTED = "rejected", _("Rejected by the marketplace")
    UNLISTED = "unlisted", _("Hidden")
    TAKEN_DOWN = "taken_down", _("Taken down by the marketplace")
    LOCKED = "locked", _("Locked by the marketplace")
    DELISTED = "delisted", _("Withdrawn")
    FAILED = "failed", _("Failed")
    QUOTA_DEFERRED = "quota_deferred", _("Waiting for tomorrow's quota")


class Listing(models.Model):
    """One product package on one channel (the binding table of Odoo's connectors)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, related_name="listings")
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="listings")
    channel = models.CharField(_("channel"), max_length=16, choices=MarketChannel.choices)
    connection = models.ForeignKey(ChannelConnection, on_delete=models.PROTECT, related_name="listings")
    state = models.CharField(_("state"), max_length=16, choices=ListingState.choices, default=ListingState.DRAFT)
    state_changed_at = models.DateTimeField(auto_now_add=True)
    # On the marketplace
    external_id = models.CharField(max_length=64, blank=True, db_index=True)
    seller_sku = models.CharField(max_length=64)
    remote_status = models.CharField(max_length=24, blank=True)
    remote_version = models.PositiveIntegerField(null=True, blank=True)
    # Last time the channel itself told us the item's status (push answer, poll, webhook, reconciliation). The
    # KPI counts a listing as live only while this is recent (domain.md §6: unconfirmed for 7 days = unknown).
    remote_confirmed_at = models.DateTimeField(null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True, help_text="[{code, message, field}] from the marketplace")
    # What the listing should be (desired) and what the marketplace was last told (applied)
    wanted_visible = models.BooleanField(default=True)
    wanted_removed = models.BooleanField(default=False)
    desired_hash = models.CharField(max_length=64, blank=True)
    desired_price = models.PositiveBigIntegerField(null=True, blank=True)
    desired_stock = models.PositiveIntegerField(null=True, blank=True)
    applied_hash = models.CharField(max_length=64, blank=True)
    applied_price = models.PositiveBigIntegerField(null=True, blank=True)
    applied_stock = models.PositiveIntegerField(null=True, blank=True)
    applied_visible = models.BooleanField(null=True, blank=True)
    # Sync bookkeeping
    retry_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Set by a push that found the lease taken: the holder looks again before it lets go (engine.listing_sync).
    resync_wanted = models.BooleanField(default=False)
    bulk = models.ForeignKey("BulkPush", null=True, blank=True, on_delete=models.SET_NULL, related_name="listings")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("listing")
        verbose_name_plural = _("listings")
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["sku", "channel"], name="listing_unique_sku_channel"),
            models.UniqueConstraint(
                fields=["connection", "external_id"],
                condition=~models.Q(external_id=""),
                name="listing_unique_external_id",
            ),
        ]
        indexes = [models.Index(fields=["channel", "state"])]

    def __str__(self):
        return f"{self.channel}:{self.seller_sku} ({self.state})"


class ListingEvent(models.Model):
    """The dated history of a listing's state."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    from_state = models.CharField(max_length=16, choices=ListingState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=ListingState.choices)
    note = models.CharField(max_length=300, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_state} → {self.to_state} at {self.at:%Y-%m-%d %H:%M}"


class ListingAttempt(models.Model):
    """One call to a marketplace: what was asked (without secrets), the answer's status, how long, what failed."""

    listing = models.ForeignKey(Listing, null=True, blank=True, on_delete=models.CASCADE, related_name="attempts")
    connection = models.ForeignKey(ChannelConnection, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(auto_now_add=True)
    operation = models.CharField(max_length=40)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=200)
    request_summary = models.JSONField(default=dict, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField()
    latency_ms = models.PositiveIntegerField()
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["listing", "at"])]

    def __str__(self):
        return f"{self.operation} {self.http_status} ({self.latency_ms} ms)"


class RemoteImage(models.Model):
    """What a shop already holds of a photo: Postmart's image id (expires) or Voso's /cdn/ URL (does not)."""

    connection = models.ForeignKey(ChannelConnection, on_delete=models.CASCADE, related_name="images")
    sha256 = models.CharField(max_length=64)
    ref = models.CharField(max_length=300)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "sha256"], name="remote_image_unique")]

    def __str__(self):
        return f"{self.sha256[:12]} → {self.ref}"


class BulkPush(models.Model):
    """One request to push every ready product of a scope to a channel; its listings carry the progress."""

    channel = models.CharField(max_length=16, choices=MarketChannel.choices)
    scope = models.ForeignKey("places.NamedScope", null=True, blank=True, on_delete=models.SET_NULL)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    skipped = models.JSONField(default=list, blank=True, help_text="[{product, missing}] not ready, not queued")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"bulk {self.pk} → {self.channel}"


class InboundEvent(models.Model):
    """The inbox: a webhook or push stored raw before it is acknowledged, then applied by a task.

    At-least-once delivery means the same one comes again: `dedupe_key` is the channel's event id where it
    has one (Voso, Stripe), else a digest of the body (Postmart sends no id)."""

    class State(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")

    source = models.CharField(max_length=16)
    dedupe_key = models.CharField(max_length=200)
    connection = models.ForeignKey(
        ChannelConnection, null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_events"
    )
    received_at = models.DateTimeField(auto_now_add=True)
    headers = models.JSONField(default=dict, blank=True)
    payload = models.JSONField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    # While it is being applied: a lease; after a retryable failure: when to try again (integrations/inbox.py).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "dedupe_key"], name="inbound_event_unique")]
        indexes = [models.Index(fields=["state", "received_at"])]

    def __str__(self):
        return f"{self.source}:{self.dedupe_key}"
