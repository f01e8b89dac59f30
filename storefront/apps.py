from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StorefrontConfig(AppConfig):
    name = "storefront"
    label = "storefront"
    verbose_name = _("Province storefront")

    def ready(self):
        from . import selectors, services  # noqa: F401  (register the scope rules, and Stripe's events in the inbox)
