from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "marketplace.accounts"
    label = "accounts"
    verbose_name = _("Accounts and permissions")

    def ready(self):
        from auditlog.registry import auditlog

        from . import scoping  # noqa: F401  registers the scope rules of this app's models
        from .models import RoleAssignment, User

        auditlog.register(User, exclude_fields=["password", "last_login"])
        auditlog.register(RoleAssignment, m2m_fields={"units"})
