from django.core.management import call_command
from django.core.management.base import BaseCommand

from catalog.reference import channel_profiles_load, product_sets_load


class Command(BaseCommand):
    help = "Load the catalogue's reference data: OCOP product sets, channel profiles, GIs. Idempotent."

    def handle(self, *args, **options):
        self.stdout.write(f"OCOP product sets: {product_sets_load()}")
        self.stdout.write(f"Channel profile rows created: {channel_profiles_load()}")
        # GIs name their areas in administrative units: load_admin_units must have run first.
        call_command("load_gis", stdout=self.stdout)
