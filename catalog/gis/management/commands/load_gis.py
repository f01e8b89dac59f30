from django.core.management.base import BaseCommand, CommandError

from catalog.gis.reference import SeedError, gis_load


class Command(BaseCommand):
    help = (
        "Seed the GI registry with the known GIs of old Yên Bái (catalog/gis/data/). Idempotent; "
        "needs the administrative units (load_admin_units) first."
    )

    def handle(self, *args, **options):
        try:
            outcomes = gis_load()
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        summary = ", ".join(f"{name} {outcomes[name]}" for name in ("created", "updated", "unchanged"))
        self.stdout.write(f"GIs: {summary}")
