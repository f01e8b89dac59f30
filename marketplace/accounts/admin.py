from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from .models import RoleAssignment, User


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["units"]
    readonly_fields = ["created_at", "created_by"]


@admin.register(User)
class ProjectUserAdmin(UserAdmin):
    inlines = [RoleAssignmentInline]
    fieldsets = [*UserAdmin.fieldsets, (_("Contact"), {"fields": ["phone"]})]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "named_scope", "is_active", "created_at"]
    list_filter = ["role", "is_active"]
    autocomplete_fields = ["user", "units"]
    search_fields = ["user__username"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
