"""Role checks for DRF views. Which *objects* a role sees is scoping's job (scoping.py), not this file's."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Role
from .scoping import user_reach


class IsAdministrator(BasePermission):
    def has_permission(self, request, view):
        return user_reach(request.user).is_admin


class ReadAnyWriteOfficer(BasePermission):
    """Any signed-in user reads; officers and administrators write."""

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or user_reach(request.user).has_role(Role.OFFICER)
