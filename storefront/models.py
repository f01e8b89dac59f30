"""The province storefront's own records beside the shared sales.Order: the buyer's secret link to an order,
one row per payment attempt (written before Stripe is called), and how far the Stripe event feed was read."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Checkout(models.Model):
    """A storefront order as the buyer made it: the secret of its status link (stored as a digest only)."""

    order = models.OneToOneField("sales.Order", on_delete=models.CASCADE, related_name="checkout")
    listing = models.ForeignKey("integrations.Listing", on_delete=models.PROTECT, related_name="+")
    token_digest = models.CharField(max_length=64)
    # The checkout form's one-time value: a second submit of the same form (double tap, a retry after a lost
    # answer) finds this order instead of placing and charging a second one.
    form_nonce = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    refunded_vnd = models.PositiveBigIntegerField(_("refunded (VND)"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("storefront order")
        verbose_name_plural = _("storefront orders")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.order.external_id


class AttemptState(models.TextChoices):
    CREATING = "creating", _("Being sent to the payment provider")
    PROCESSING = "processing", _("Processing")
    REQUIRES_ACTION = "requires_action", _("Waiting for the buyer to authenticate")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


# How far along an attempt is: news of an earlier step never moves it back, and `succeeded` is final.
ATTEMPT_RANK = {
    AttemptState.CREATING: 0,
    AttemptState.PROCESSING: 1,
    AttemptState.REQUIRES_ACTION: 1,
    AttemptState.FAILED: 2,
    AttemptState.CANCELED: 2,
    AttemptState.SUCCEEDED: 3,
}
ATTEMPT_OPEN = (AttemptState.CREATING, AttemptState.PROCESSING, AttemptState.REQUIRES_ACTION)


class RefundState(models.TextChoices):
    NONE = "", _("No refund")
    REQUESTED = "requested", _("Refund requested")
    SUCCEEDED = "succeeded", _("Refunded")
    # A payment of an order already paid that had not taken the money yet (3-D Secure, an authorisation).
    CANCELED = "canceled", _("Canceled before any money was taken")


class RefundReason(models.TextChoices):
    ORDER = "order", _("The order was refunded")
    # A second payment of the same order (a late one, or a retry after an unknown outcome): given back at once.
    PAID_TWICE = "paid_twice", _("The order was already paid by another payment")


class PaymentAttempt(models.Model):
    """One try at paying an order. Written (state `creating`, with its idempotency key) before the payment
    provider is called, so a crash or a lost answer can always be matched to what the provider holds: the
    reconciler looks for a PaymentIntent with this order's reference and this attempt number in its metadata."""

    order = models.ForeignKey("sales.Order", on_delete=models.CASCADE, related_name="payment_attempts")
    attempt_no = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=80, unique=True)
    state = models.CharField(max_length=16, choices=AttemptState.choices, default=AttemptState.CREATING)
    payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    payment_method = models.CharField(max_length=64, blank=True)
    amount_vnd = models.PositiveBigIntegerField()
    provider_status = models.CharField(max_length=32, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    refund_state = models.CharField(max_length=12, choices=RefundState.choices, default=RefundState.NONE, blank=True)
    refund_id = models.CharField(max_length=64, blank=True)
    refund_reason = models.CharField(_("refund reason"), max_length=12, choices=RefundReason.choices, blank=True)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payment attempt")
        verbose_name_plural = _("payment attempts")
        ordering = ["order_id", "attempt_no"]
        constraints = [
            models.UniqueConstraint(fields=["order", "attempt_no"], name="payment_attempt_once_per_number"),
            models.UniqueConstraint(
                fields=["payment_intent_id"], condition=~models.Q(payment_intent_id=""), name="payment_intent_once"
            ),
        ]
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self):
        return f"{self.order_id}#{self.attempt_no} {self.state}"


class StripeEventCursor(models.Model):
    """The newest Stripe event time seen by the catch-up job (one row): its next look starts a little before."""

    name = models.CharField(max_length=40, unique=True)
    high_water = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name}: {self.high_water}"
