"""Orders from every channel (the two marketplaces, the province storefront, an officer's import), their lines
linked to listings and products, and their dated status history. Raw inbound messages wait in
integrations.InboundEvent (the inbox) until a task applies them here.

One order model for every channel: the KPI asks one question of all of them ("did this product sell?")."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SalesChannel(models.TextChoices):
    POSTMART = "postmart", "Postmart"
    VOSO = "voso", "Voso"
    STOREFRONT = "storefront", _("Province storefront")


class OrderStatus(models.TextChoices):
    """Every channel's statuses normalised to these (marketplaces.md §2, §3; Stripe for the storefront)."""

    PLACED = "placed", _("Placed")
    CONFIRMED = "confirmed", _("Confirmed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")


# How far along an order is: news of an earlier step never moves it back (a late `ready_to_ship` after
# `shipped`). Cancelled and returned end an order from wherever it was.
STATUS_RANK = {
    OrderStatus.PLACED: 0,
    OrderStatus.CONFIRMED: 1,
    OrderStatus.SHIPPED: 2,
    OrderStatus.DELIVERED: 3,
    OrderStatus.COMPLETED: 4,
    OrderStatus.CANCELLED: 5,
    OrderStatus.RETURNED: 6,
}
SOLD = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)


class Evidence(models.TextChoices):
    PLATFORM_API = "platform_api", _("Platform API")
    PLATFORM_EXPORT = "platform_export", _("Platform export")
    OFFICER_ATTESTED = "officer_attested", _("Attested by an officer")


class Order(models.Model):
    channel = models.CharField(_("channel"), max_length=16, choices=SalesChannel.choices)
    connection = models.ForeignKey(
        "integrations.ChannelConnection", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    external_id = models.CharField(_("order number on the channel"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    remote_status = models.CharField(max_length=32, blank=True)
    # The channel's own ordering of its news (Voso's version; Postmart's update_time): older news is ignored.
    remote_version = models.BigIntegerField(null=True, blank=True)
    placed_at = models.DateTimeField(_("placed at"))
    status_changed_at = models.DateTimeField(_("status changed at"))
    # First time it reached delivered or completed: the day the sale counts for the KPI.
    sold_at = models.DateTimeField(_("sold at"), null=True, blank=True)
    total_vnd = models.PositiveBigIntegerField(_("total (VND)"), default=0)
    currency = models.CharField(max_length=3, default="VND")
    # Personal data: shown to the producer's members and officers of its area only (selectors decide).
    buyer_name = models.CharField(_("buyer"), max_length=160, blank=True)
    buyer_phone = models.CharField(_("buyer's phone"), max_length=20, blank=True)
    delivery_address = models.CharField(_("delivery address"), max_length=300, blank=True)
    delivery_unit = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evidence = models.CharField(_("evidence"), max_length=20, choices=Evidence.choices)
    attested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attested_document = models.CharField(_("attesting document"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="order_once_per_channel"),
            models.CheckConstraint(
                condition=~models.Q(evidence="officer_attested") | models.Q(attested_by__isnull=False),
                name="order_attestation_names_its_officer",
            ),
        ]
        indexes = [models.Index(fields=["status", "sold_at"]), models.Index(fields=["updated_at"])]

    def __str__(self):
        return f"{self.channel}:{self.external_id}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    listing = models.ForeignKey(
        "integrations.Listing", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    sku = models.ForeignKey("catalog.Sku", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="order_lines"
    )
    external_item_id = models.CharField(max_length=64, blank=True)
    seller_sku = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price_vnd = models.PositiveBigIntegerField()
    total_vnd = models.PositiveBigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["product", "order"])]

    def __str__(self):
        return f"{self.quantity} × {self.seller_sku or self.external_item_id}"


class OrderEvent(models.Model):
    """The order's dated history: which status, from which source (webhook, push, poll, feed, import…)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    remote_status = models.CharField(max_length=32, blank=True)
    source = models.CharField(max_length=24)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_status or '∅'} → {self.to_status} ({self.source})"


class OrderSync(models.Model):
    """Where the order backstops of one shop stand: the end of the last polling window (the next one starts a
    little before it, so an order updated while we paged is seen again) and Voso's change-feed cursor."""

    connection = models.OneToOneField(
        "integrations.ChannelConnection", on_delete=models.CASCADE, related_name="order_sync"
    )
    polled_until = models.DateTimeField(null=True, blank=True)
    feed_seq = models.BigIntegerField(null=True, blank=True)
    resynced_at = models.DateTimeField(null=True, blank=True)
    # Held by one backstop run at a time (a conditional UPDATE): a slow poll and the next beat never overlap.
    lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"order sync of {self.connection_id}"
