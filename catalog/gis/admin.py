from django.contrib import admin

from .models import GeographicalIndication, GiClaim, GiStatusEvent, GiUseRight
from .services import gi_search_key


class StatusEventInline(admin.TabularInline):
    model = GiStatusEvent
    extra = 0


@admin.register(GeographicalIndication)
class GeographicalIndicationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "certificate_number", "grant_decision_number", "grant_date", "management_body"]
    list_filter = ["kind"]
    search_fields = ["search_key", "name", "certificate_number"]
    autocomplete_fields = ["area_units"]
    readonly_fields = ["slug"]
    inlines = [StatusEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields  # the internal id is stable once given

    def save_model(self, request, obj, form, change):
        obj.search_key = gi_search_key(obj)
        super().save_model(request, obj, form, change)


@admin.register(GiUseRight)
class GiUseRightAdmin(admin.ModelAdmin):
    list_display = ["number", "gi", "producer", "issued_by", "valid_from", "valid_until"]
    list_filter = ["gi"]
    list_select_related = ["gi", "producer"]
    raw_id_fields = ["producer"]
    search_fields = ["number"]


@admin.register(GiClaim)
class GiClaimAdmin(admin.ModelAdmin):
    """Claims are made and decided through the API, where the area check and the officer's scope apply."""

    list_display = ["product", "gi", "status", "area_match", "created_at", "decided_by"]
    list_filter = ["status", "gi"]
    list_select_related = ["product", "gi", "decided_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
