from django.core.management.base import BaseCommand

from kpi.rollups import kpi_refresh


class Command(BaseCommand):
    help = (
        "Bring the KPI rollups up to date with the listings, producers and orders changed since the last run. "
        "Resumes where a stopped run left off; --full rebuilds everything from the sources."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Rebuild every rollup from the sources.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, **options):
        result = kpi_refresh(full=options["full"], batch_size=options["batch_size"])
        applied = ", ".join(f"{name} {count}" for name, count in result.applied.items())
        rebuilt = f"; sales rebuilt for {result.rebuilt_products} products" if result.rebuilt_products else ""
        self.stdout.write(f"KPI rollups refreshed: {applied} changed rows read{rebuilt}.")
