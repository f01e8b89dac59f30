"""KPI answers kept ready (kpi.answers): recomputed when a refresh sees a change, shared by viewers who see the
same thing, warmed after a refresh; and a refresh that never skips an order committed late."""

import threading
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from django.db import connection, reset_queries, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kpi.answers import kpi_answers_warm
from kpi.models import ProductSaleDay
from kpi.rollups import kpi_refresh
from marketplace.accounts.models import Role
from marketplace.places import selectors as places_selectors
from marketplace.places.models import CodeSystem, Level, NamedScope
from sales.models import Order
from tests.factories import unit, user_with_role
from tests.integrations.marketplaces import free_port

from .conftest import a_maker, certify, listing, ocop_product, officer_of, sale

pytestmark = pytest.mark.django_db


def van_chan():
    return NamedScope.objects.get(slug="former-van-chan-district")


def kpi(client, **params):
    params = {"scope": van_chan().pk, "period": "2024", **params}
    response = client.get("/api/v1/kpi/online-with-sales/", params, HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200, response.content
    return response.json()


@contextmanager
def request_queries():
    """The queries of the one request made inside. A request empties Django's query log as it starts, so
    CaptureQueriesContext alone would slice past its end and see none: the log is emptied first."""
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        yield captured


def computing(queries) -> list[str]:
    """The queries that computed an answer (rollups and certificates), as opposed to finding it ready."""
    return [q["sql"] for q in queries if "kpi_productsaleday" in q["sql"] or "catalog_ocopcertificate" in q["sql"]]


def test_a_certificate_verified_counts_once_a_refresh_has_seen_it(login, settings):
    # given answers kept ready, and one OCOP product
    settings.KPI_CACHE_SECONDS = 600
    maker = a_maker("04657")
    ocop_product("Chè 1", maker=maker)
    kpi_refresh()
    client = login(officer_of(unit(CodeSystem.LEGACY, Level.DISTRICT, "140")))
    before = kpi(client)["kpi"]["denominator"]

    # when a second product is certified: the ready answer stands until a refresh has seen the change
    second = ocop_product("Chè 2", maker=maker, verified=False)
    certify(second, decided=date(2024, 1, 5))
    kept = kpi(client)["kpi"]["denominator"]
    result = kpi_refresh()
    after = kpi(client)["kpi"]["denominator"]

    # then
    assert (before, kept, after) == (1, 1, 2)
    assert result.inputs_changed
    assert not kpi_refresh().inputs_changed  # nothing new: the answers stay ready


def test_an_officer_whose_area_covers_the_scope_reads_the_administrators_answer(login, settings):
    # given answers kept ready, a product sold in Văn Chấn, and an administrator who opened the KPI
    settings.KPI_CACHE_SECONDS = 600
    on = listing(ocop_product("Chè 1", maker=a_maker("04657")), "postmart", [("live", date(2024, 2, 1))],
                 confirmed=date(2024, 12, 1))  # fmt: skip
    sale(on, sold=date(2024, 5, 1))
    kpi_refresh()
    admin_answer = kpi(login(user_with_role(Role.ADMINISTRATOR)))

    # when the district's officer opens the same KPI
    client = login(officer_of(unit(CodeSystem.LEGACY, Level.DISTRICT, "140")))
    with CaptureQueriesContext(connection) as queries:
        officer_answer = kpi(client)

    # then the same answer, found ready: nothing was computed again
    assert officer_answer == admin_answer
    assert officer_answer["kpi"]["numerator"] == 1
    assert computing(queries.captured_queries) == []


def test_an_officer_of_part_of_the_scope_gets_an_answer_of_their_own(login, settings):
    # given two producers of the Văn Chấn scope in different communes, and the administrator's answer ready
    settings.KPI_CACHE_SECONDS = 600
    ocop_product("Chè 1", maker=a_maker("04657"))
    ocop_product("Cam 1", maker=a_maker("04660"))
    kpi_refresh()
    whole = kpi(login(user_with_role(Role.ADMINISTRATOR)))["kpi"]["denominator"]

    # when an officer of one of the two communes opens the scope
    part = kpi(login(officer_of(unit(CodeSystem.LEGACY, Level.COMMUNE, "04657"))))["kpi"]["denominator"]

    # then they count their own producers only, not the administrator's figure
    assert (whole, part) == (2, 1)


def test_warming_makes_the_answers_opened_first_ready(login, settings):
    # given answers kept ready and one product certified this year
    settings.KPI_CACHE_SECONDS = 600
    this_year = timezone.localdate().year
    ocop_product("Chè 1", maker=a_maker("04657"), decided=date(this_year, 1, 2))
    kpi_refresh()

    # when beat warms the answers after the refresh
    computed = kpi_answers_warm()
    again = kpi_answers_warm()
    client = login(user_with_role(Role.ADMINISTRATOR))
    with request_queries() as queries:
        answer = kpi(client, period=str(this_year))

    # then each saved scope and the country, this year and last, four answers each, in both languages; all ready
    scopes = NamedScope.objects.count() + 1
    assert computed == scopes * 2 * 4 * 2
    assert again == 0
    assert answer["kpi"]["denominator"] == 1
    assert computing(queries.captured_queries) == []


def test_an_officer_gets_the_kpi_while_the_cache_is_unreachable(login, settings):
    # given one OCOP product counted, and its officer's answer made ready in the cache
    settings.KPI_CACHE_SECONDS = 600
    ocop_product("Chè 1", maker=a_maker("04657"))
    kpi_refresh()
    client = login(officer_of(unit(CodeSystem.LEGACY, Level.DISTRICT, "140")))
    ready = kpi(client)["kpi"]

    # when the cache (Redis, as in production) is unreachable: restarting, or gone
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}  # fmt: skip
    places_selectors._local.clear()  # the officer's area is resolved again, not from this process's memory

    # then the answer is computed from the database, the same, instead of a server error
    assert kpi(client)["kpi"] == ready


def test_a_process_reads_the_generations_once_a_second_and_at_once_after_its_own_refresh(login, settings):
    # given answers kept ready, generations kept by the process for a minute, and one OCOP product
    settings.KPI_CACHE_SECONDS, settings.KPI_GENERATIONS_SECONDS = 600, 60
    maker = a_maker("04657")
    ocop_product("Chè 1", maker=maker)
    kpi_refresh()
    client = login(officer_of(unit(CodeSystem.LEGACY, Level.DISTRICT, "140")))
    kpi(client)

    # when the ready answer is asked again, then a second product is certified and a refresh sees it
    with request_queries() as ready:
        kpi(client)
    generation_reads = [q for q in ready.captured_queries if "kpi_rollupstate" in q["sql"]]  # now: the log moves on
    certify(ocop_product("Chè 2", maker=maker, verified=False), decided=date(2024, 1, 5))
    kpi_refresh()
    after = kpi(client)["kpi"]["denominator"]

    # then the ready answer read no generation, and the refresh of this process made the new one count at once
    assert generation_reads == []
    assert after == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_order_whose_transaction_commits_late_is_read_by_a_later_refresh():
    # given a sold order, and a refresh that has read it
    from django.core.management import call_command

    call_command("load_admin_units", verbosity=0)  # transaction=True tests start from an empty database
    call_command("load_catalog_reference", verbosity=0)
    on = listing(ocop_product("Chè 1", maker=a_maker("04657")), "postmart", [("live", date(2024, 2, 1))],
                 confirmed=date(2024, 12, 1))  # fmt: skip
    order = sale(on, sold=None, status="shipped")
    kpi_refresh()
    stamp, saved, release = {}, threading.Event(), threading.Event()

    # when another transaction marks it delivered (stamped inside its transaction, as a save does) and commits
    # only after a refresh that ran past the safety lag and read a newer order
    def late_writer():
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=order.pk)
            stamp["at"] = timezone.now()
            Order.objects.filter(pk=order.pk).update(status="delivered", sold_at=stamp["at"], updated_at=stamp["at"])
            saved.set()
            release.wait(timeout=30)
        connection.close()

    writer = threading.Thread(target=late_writer)
    writer.start()
    assert saved.wait(timeout=30)
    newer = sale(on, sold=date(2024, 5, 1))
    Order.objects.filter(pk=newer.pk).update(updated_at=stamp["at"] + timedelta(seconds=30))
    kpi_refresh(now=stamp["at"] + timedelta(minutes=10))
    sold_on = timezone.localtime(stamp["at"]).date()
    counted_early = ProductSaleDay.objects.filter(product=on.product, day=sold_on).exists()
    release.set()
    writer.join(timeout=30)
    kpi_refresh(now=stamp["at"] + timedelta(minutes=11))

    # then the refresh that ran while it was open could not see it, and the next one reads it
    assert not counted_early
    assert ProductSaleDay.objects.filter(product=on.product, day=sold_on).exists()
