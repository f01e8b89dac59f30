from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PhotosConfig(AppConfig):
    name = "catalog.photos"
    label = "photos"
    verbose_name = _("Product photos")

    def ready(self):
        from auditlog.registry import auditlog

        from . import selectors  # noqa: F401  registers the scope rules of this app's models
        from .models import ProductPhoto

        auditlog.register(ProductPhoto, exclude_fields=["derivatives", "gps_latitude", "gps_longitude"])
