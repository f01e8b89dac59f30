from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from marketplace.core.errors import ServiceError

from . import services
from .models import Checkout, PaymentAttempt


class PaymentAttemptInline(admin.TabularInline):
    model = PaymentAttempt
    fk_name = "order"
    extra = 0
    can_delete = False
    fields = ["attempt_no", "state", "payment_intent_id", "amount_vnd", "error_code", "refund_state", "refund_reason",
              "created_at"]  # fmt: skip
    readonly_fields = fields


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin):
    list_display = ["__str__", "order_status", "total", "refunded_vnd", "created_at"]
    list_filter = ["order__status"]
    search_fields = ["order__external_id"]
    readonly_fields = ["order", "listing", "refunded_vnd", "created_at"]
    exclude = ["token_digest"]
    actions = ["refund"]

    @admin.display(description=_("status"))
    def order_status(self, checkout):
        return checkout.order.get_status_display()

    @admin.display(description=_("total (VND)"))
    def total(self, checkout):
        return checkout.order.total_vnd

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Refund the selected paid orders"))
    def refund(self, request, queryset):
        for checkout in queryset.select_related("order"):
            try:
                services.order_refund(order=checkout.order, actor=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{checkout}: {exc.message}", messages.WARNING)
            else:
                self.message_user(request, _("%(order)s refunded.") % {"order": checkout}, messages.SUCCESS)


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(admin.ModelAdmin):
    list_display = ["order", "attempt_no", "state", "payment_intent_id", "amount_vnd", "refund_state", "refund_reason",
                    "updated_at"]  # fmt: skip
    list_filter = ["state", "refund_state", "refund_reason"]
    search_fields = ["order__external_id", "payment_intent_id"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
