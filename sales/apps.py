from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self):
        from . import selectors  # noqa: F401  (registers the scope rules)
