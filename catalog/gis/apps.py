from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GisConfig(AppConfig):
    name = "catalog.gis"
    label = "gis"
    verbose_name = _("Geographical indications")

    def ready(self):
        from auditlog.registry import auditlog

        from . import selectors  # noqa: F401  registers the scope rules of this app's models
        from .models import GeographicalIndication, GiClaim, GiStatusEvent, GiUseRight

        auditlog.register(GeographicalIndication, m2m_fields={"area_units"})
        auditlog.register(GiStatusEvent)
        auditlog.register(GiUseRight)
        auditlog.register(GiClaim)
