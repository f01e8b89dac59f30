from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.demo import demo_catalog_load, demo_catalog_showcase


class Command(BaseCommand):
    help = "Create the fictional demo catalogue of old Yên Bái (development only). Idempotent."

    def handle(self, *args, **options):
        if settings.DJANGO_ENV == "production":
            raise CommandError("Demo data is for development only.")
        counts = demo_catalog_load()
        counts["made ready for the marketplaces"] = demo_catalog_showcase()
        self.stdout.write("Demo catalogue created: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
