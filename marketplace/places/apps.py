from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "marketplace.places"
    label = "places"
    verbose_name = _("Administrative units")

    def ready(self):
        from auditlog.registry import auditlog

        from . import selectors  # noqa: F401  registers the scope rules of this app's models
        from .models import AdministrativeUnit, NamedScope

        auditlog.register(AdministrativeUnit)
        auditlog.register(NamedScope, m2m_fields={"units"})
