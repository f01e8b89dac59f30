import time

from django.core.management.base import BaseCommand

from marketplace.places.services import admin_units_load, named_scopes_seed


class Command(BaseCommand):
    help = "Load or refresh administrative units (2025 and legacy), lineage, aliases and the seed scopes. Idempotent."

    def handle(self, *args, **options):
        started = time.perf_counter()
        report = admin_units_load()
        self.stdout.write(report.summary())
        scopes = named_scopes_seed()
        self.stdout.write("Seed scopes: " + ", ".join(scope.name for scope in scopes))
        self.stdout.write(self.style.SUCCESS(f"Loaded in {time.perf_counter() - started:.1f} s"))
