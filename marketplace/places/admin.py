from django.contrib import admin

from .models import AdministrativeUnit, NamedScope, UnitAlias, UnitSuccession


class AliasInline(admin.TabularInline):
    model = UnitAlias
    extra = 0
    readonly_fields = ["search_key"]


@admin.register(AdministrativeUnit)
class AdministrativeUnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "system", "level", "parent", "valid_from", "valid_to"]
    list_filter = ["system", "level"]
    search_fields = ["code", "search_key", "name"]
    list_select_related = ["parent"]
    raw_id_fields = ["parent"]
    inlines = [AliasInline]

    def get_search_results(self, request, queryset, search_term):
        # Accent-insensitive: "tu le" finds "Xã Tú Lệ" in the admin too.
        from marketplace.places.selectors import unit_search

        if not search_term:
            return queryset, False
        return unit_search(queryset=queryset, q=search_term) | queryset.filter(code=search_term), False


@admin.register(UnitSuccession)
class UnitSuccessionAdmin(admin.ModelAdmin):
    list_display = ["predecessor", "successor", "event", "partial", "effective_date"]
    list_filter = ["event", "partial"]
    raw_id_fields = ["predecessor", "successor"]
    list_select_related = ["predecessor__parent", "successor__parent"]


@admin.register(NamedScope)
class NamedScopeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_shared", "owner"]
    autocomplete_fields = ["units"]
    prepopulated_fields = {"slug": ["name"]}
