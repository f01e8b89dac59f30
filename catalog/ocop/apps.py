from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OcopConfig(AppConfig):
    name = "catalog.ocop"
    label = "ocop"
    verbose_name = _("OCOP certificates")

    def ready(self):
        from auditlog.registry import auditlog

        from . import selectors  # noqa: F401  registers the scope rule of OcopCertificate
        from .models import OcopCertificate

        auditlog.register(OcopCertificate)
