from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kpi.demo import SCOPE, demo_orders_load


class Command(BaseCommand):
    help = (
        "Give the demo catalogue a sales history on the marketplaces (development only): listings with their "
        "dated history and orders, then the KPI rollups. Idempotent."
    )

    def handle(self, *args, **options):
        if settings.DJANGO_ENV == "production":
            raise CommandError("Demo data is for development only.")
        counts = demo_orders_load()
        self.stdout.write(f"Demo sales history: {counts['listings']} listings, {counts['orders']} orders created.")
        from kpi.periods import Period
        from kpi.selectors import Ask, product_facts
        from marketplace.accounts.scoping import Reach
        from marketplace.places.models import NamedScope

        today = timezone.localdate()
        admin = Reach(user_id=None, is_admin=True, is_superuser=True, roles=frozenset(), commune_ids=frozenset())
        scope = NamedScope.objects.get(slug=SCOPE)
        for year in sorted({2024, today.year}):
            period = Period(date(year, 1, 1), date(year + 1, 1, 1))
            ask = Ask(scope=scope, reach=admin, period=period, channels=("postmart", "voso", "storefront"), today=today)
            goods = [fact for fact in product_facts(ask) if not fact.is_service]
            online_with_sales = sum(1 for fact in goods if fact.in_numerator)
            self.stdout.write(
                f"  KPI {scope.name} {year}: {online_with_sales}/{len(goods)} OCOP products online with sales "
                f"(GET /api/v1/kpi/online-with-sales/?scope={scope.pk}&period={year})"
            )
