"""The KPI's rollups (domain.md §6), filled from listings and orders by kpi.rollups, read by kpi.selectors.

Distinct-product counts over an arbitrary period cannot be summed from per-unit daily counts (a product selling
on 3 days of a month counts once in the month), so the facts are kept per product: when each listing was live,
and what each product sold on each day. Per-unit daily sums are kept beside them for the trend's additive
measures. The endpoints read these tables and never the orders.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ListingLiveSpan(models.Model):
    """One interval during which a listing was live, from its dated history (integrations.ListingEvent).

    A span opens when the listing enters `live` and closes at the next event that leaves it. An open span counts
    as live only up to 7 days after the channel last confirmed the listing (Listing.remote_confirmed_at): that
    limit is applied when reading, since confirmations arrive far more often than state changes."""

    listing = models.ForeignKey("integrations.Listing", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("live span of a listing")
        verbose_name_plural = _("live spans of listings")
        indexes = [
            models.Index(fields=["product", "channel", "started_at"], name="kpi_span_product"),
            models.Index(fields=["listing"], name="kpi_span_listing"),
        ]

    def __str__(self):
        return f"{self.listing_id}: {self.started_at:%Y-%m-%d} → {self.ended_at or '…'}"


class ProductSaleDay(models.Model):
    """Order lines of one product on one channel that reached delivered/completed on one day (Order.sold_at,
    Vietnam time), grouped by the day they were later cancelled or returned, if they were.

    "Not cancelled or returned as of D" is then `undone_on IS NULL OR undone_on > D`. Only lines bound to a
    listing count: the KPI asks for a sale on a listing. `unit` is the producer's current commune, kept for the
    per-unit sums (UnitChannelDay)."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    day = models.DateField()
    undone_on = models.DateField(null=True, blank=True)
    unit = models.ForeignKey(
        "places.AdministrativeUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lines = models.PositiveIntegerField()
    quantity = models.PositiveBigIntegerField()
    gmv_vnd = models.PositiveBigIntegerField()
    # Lines whose only evidence is an officer's attestation: they count, flagged (domain.md §6).
    attested_lines = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("product sales of a day")
        verbose_name_plural = _("product sales by day")
        indexes = [
            models.Index(fields=["product", "day"], name="kpi_saleday_product"),
            models.Index(fields=["day", "product"], name="kpi_saleday_day"),
            models.Index(fields=["unit", "day"], name="kpi_saleday_unit"),
        ]

    def __str__(self):
        return f"{self.product_id} {self.channel} {self.day}: {self.lines}"


class UnitChannelDay(models.Model):
    """Sales of one current commune on one channel on one day, net of those since cancelled or returned: the
    additive measures of the trend (sums over communes and days are exact, unlike distinct-product counts)."""

    unit = models.ForeignKey("places.AdministrativeUnit", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=16)
    day = models.DateField()
    lines = models.PositiveIntegerField()
    quantity = models.PositiveBigIntegerField()
    gmv_vnd = models.PositiveBigIntegerField()
    attested_lines = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("commune sales of a day")
        verbose_name_plural = _("commune sales by day")
        constraints = [models.UniqueConstraint(fields=["unit", "channel", "day"], name="kpi_unit_day_once")]
        indexes = [models.Index(fields=["day", "unit"], name="kpi_unitday_day")]

    def __str__(self):
        return f"{self.unit_id} {self.channel} {self.day}: {self.gmv_vnd}"


class RollupState(models.Model):
    """The fill state of one rollup source (listings, producers, orders): how far it has been read, so that a
    run stopped half-way resumes where it stopped. Each batch commits its rows and the cursor together.

    The cursor is the (updated_at, pk) of the last source row applied; `generation` grows whenever a batch
    changed a rollup row, and keys the cached KPI answers."""

    name = models.CharField(max_length=40, unique=True)
    cursor_at = models.DateTimeField(null=True, blank=True)
    cursor_pk = models.CharField(max_length=64, blank=True)
    generation = models.PositiveBigIntegerField(default=0)
    # A full rebuild in progress (orders): the last product rebuilt, so that it resumes there.
    rebuild_after = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("last complete refresh"), null=True, blank=True)
    rows = models.PositiveBigIntegerField(default=0, help_text=_("Source rows applied by the last run."))
    error = models.CharField(max_length=500, blank=True)
    # Per channel: the newest change of an order the refresh has read ({"postmart": "2026-…"}).
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("rollup fill state")
        verbose_name_plural = _("rollup fill states")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} @ {self.cursor_at}"
