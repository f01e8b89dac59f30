from django.contrib import admin

from .models import CategoryMapping, ChannelConnection, Listing, ListingAttempt, ListingEvent


@admin.register(CategoryMapping)
class CategoryMappingAdmin(admin.ModelAdmin):
    list_display = ["channel", "product_set_number", "category_code", "category_name"]
    list_filter = ["channel"]
    list_editable = ["category_code", "category_name"]


@admin.register(ChannelConnection)
class ChannelConnectionAdmin(admin.ModelAdmin):
    # Credentials and tokens are not editable here and never shown: they are encrypted fields.
    list_display = ["name", "channel", "kind", "shop_id", "is_active"]
    list_filter = ["channel", "kind", "is_active"]
    raw_id_fields = ["producer", "area"]


class EventInline(admin.TabularInline):
    model = ListingEvent
    extra = 0
    readonly_fields = ["at", "from_state", "to_state", "note", "reasons", "actor"]


class AttemptInline(admin.TabularInline):
    model = ListingAttempt
    extra = 0
    readonly_fields = ["at", "operation", "http_status", "ok", "latency_ms", "error_code", "error_message"]
    fields = readonly_fields


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["seller_sku", "channel", "state", "external_id", "updated_at"]
    list_filter = ["channel", "state"]
    search_fields = ["seller_sku", "external_id"]
    raw_id_fields = ["sku", "product", "connection", "bulk", "created_by"]
    inlines = [EventInline, AttemptInline]
