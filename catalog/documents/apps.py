from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "catalog.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self):
        from auditlog.registry import auditlog

        from . import selectors  # noqa: F401  registers the scope rule of Document
        from .models import Document

        auditlog.register(Document)
