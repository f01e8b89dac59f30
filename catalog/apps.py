from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    label = "catalog"
    verbose_name = _("Catalogue")

    def ready(self):
        from auditlog.registry import auditlog

        from . import selectors  # noqa: F401  registers the scope rules of this app's models
        from .models import ChannelRequirement, Producer, ProducerMembership, Product, Sku

        auditlog.register(Producer)
        auditlog.register(ProducerMembership)
        auditlog.register(Product, exclude_fields=["search_key"])
        auditlog.register(Sku)
        auditlog.register(ChannelRequirement)
