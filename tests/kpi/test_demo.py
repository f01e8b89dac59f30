"""`make run`'s demo: the KPI of old Yên Bái is neither 0 % nor 100 %, for 2024 as for this year."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.demo import demo_catalog_load
from kpi.demo import demo_orders_load
from marketplace.places.models import NamedScope
from sales.models import Order
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def test_the_demo_kpi_is_between_0_and_100_percent_and_a_rerun_adds_nothing(api, login):
    # given the demo logins and catalogue
    call_command("load_demo_data", verbosity=0)
    demo_catalog_load()

    # when the demo orders are loaded twice
    first = demo_orders_load()
    orders = Order.objects.count()
    out = io.StringIO()
    call_command("load_demo_orders", stdout=out)

    # then listings and orders were made once, and the command tells the KPI of both years
    assert first["listings"] > 10 and first["orders"] > 10
    assert "0 listings, 0 orders created" in out.getvalue() and Order.objects.count() == orders
    assert "KPI Yên Bái cũ 2024:" in out.getvalue()
    # and the KPI of old Yên Bái is strictly between 0 and 1, for 2024 and for this year
    client = login(user_with_role("superuser"))
    scope = NamedScope.objects.get(slug="old-yen-bai").pk
    for period in ("2024", str(timezone.localdate().year)):
        kpi = client.get("/api/v1/kpi/online-with-sales/", {"scope": scope, "period": period}).json()["kpi"]
        assert 0 < kpi["rate"] < 1, (period, kpi)


def test_the_demo_refuses_production(settings):
    settings.DJANGO_ENV = "production"
    with pytest.raises(Exception, match="development only"):
        call_command("load_demo_orders")
