from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpiConfig(AppConfig):
    name = "kpi"
    label = "kpi"
    verbose_name = _("KPI: OCOP products online with sales")

    def ready(self):
        from . import selectors  # noqa: F401  registers the scope rule of RollupState
