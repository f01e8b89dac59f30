"""The province storefront as a channel: its shared booth for new Lào Cai and its categories. Idempotent."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from storefront.setup import storefront_demo_queue, storefront_setup


class Command(BaseCommand):
    help = (
        "Create the province storefront's booth (new Lào Cai, code 15) and map every OCOP product set to a "
        "storefront category. With --demo (development only), queue every ready demo product on it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="Also put the ready demo products on sale.")

    def handle(self, *args, **options):
        result = storefront_setup()
        self.stdout.write(f"storefront: booth {result['booth']}, {result['categories']} category mapping(s) created")
        if options["demo"]:
            if settings.DJANGO_ENV == "production":
                raise CommandError("Demo data is for development only.")
            queued, skipped = storefront_demo_queue()
            self.stdout.write(f"storefront: {queued} demo package(s) queued, {skipped} approved product(s) not ready")
