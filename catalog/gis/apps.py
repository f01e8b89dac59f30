from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GisConfig(AppConfig):
    name = "catalog.gis"
    label = "gis"
    verbose_name = _("Geographical indications")
