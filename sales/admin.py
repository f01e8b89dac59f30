from django.contrib import admin

from .models import Order, OrderEvent, OrderLine, OrderSync


class LineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["listing", "sku", "product", "external_item_id", "seller_sku", "name", "quantity",
                       "unit_price_vnd", "total_vnd"]  # fmt: skip
    can_delete = False


class EventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    readonly_fields = ["at", "from_status", "to_status", "remote_status", "source"]
    can_delete = False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    # Orders change only through sales.services (order_apply): shown here, not edited.
    list_display = ["external_id", "channel", "status", "evidence", "placed_at", "sold_at", "total_vnd"]
    list_filter = ["channel", "status", "evidence"]
    search_fields = ["external_id"]
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [LineInline, EventInline]

    def has_add_permission(self, request):
        return False


@admin.register(OrderSync)
class OrderSyncAdmin(admin.ModelAdmin):
    list_display = ["connection", "polled_until", "feed_seq", "resynced_at", "lease_until"]
    readonly_fields = ["connection", "polled_until", "feed_seq", "resynced_at", "updated_at"]
