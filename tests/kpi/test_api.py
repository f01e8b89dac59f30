"""The KPI API: parameters, scoping, constant query counts, CSV and XLSX, freshness, refresh, cache."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from kpi.rollups import kpi_refresh
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level, NamedScope
from marketplace.places.selectors import lineage_changed
from marketplace.places.services import named_scope_create
from tests.factories import unit, user_with_role

from .conftest import a_maker, listing, ocop_product, officer_of, sale

pytestmark = pytest.mark.django_db

ENDPOINTS = ["online-with-sales", "gaps", "funnel", "trend"]


def van_chan():
    return NamedScope.objects.get(slug="former-van-chan-district")


def officer():
    return officer_of(unit(CodeSystem.LEGACY, Level.DISTRICT, "140"))


def products(n: int, *, first: int = 0):
    maker = a_maker("04657")
    for i in range(first, first + n):
        product = ocop_product(f"Chè số {i}", maker=maker, star="4" if i % 2 else "3")
        if i % 3:
            on = listing(product, ["postmart", "voso", "storefront"][i % 3], [("live", date(2024, 2, 1))],
                         confirmed=date(2024, 12, 1))  # fmt: skip
            sale(on, sold=date(2024, 5, 1 + i % 20))
    kpi_refresh()


def get(client, endpoint, **params):
    params.setdefault("scope", van_chan().pk)
    params.setdefault("period", "2024")
    return client.get(f"/api/v1/kpi/{endpoint}/", params, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2024-13"}, "period"),
        ({"period": "24"}, "period"),
        ({"period": "2012"}, "period"),
        ({"period": "2999"}, "period"),
        ({"period": "", "from": "2024-01-01"}, "to"),
        ({"period": "", "from": "2024-02-01", "to": "2024-01-01"}, "to"),
        ({"period": "", "from": "01/02/2024", "to": "2024-03-01"}, "from"),
        ({"period": "2024", "from": "2024-01-01", "to": "2024-03-01"}, "period"),
        ({"scope": "abc"}, "scope"),
        ({"scope": "-1"}, "scope"),
        ({"channels": "shopee"}, "channels"),
        ({"format": "pdf"}, "format"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(api, login, params, field):
    client = login(officer())
    for endpoint in ENDPOINTS:
        if params.get("period") == "":
            params = {k: v for k, v in params.items() if k != "period"} | {"period": ""}
        response = get(client, endpoint, **params)
        assert response.status_code == 400, (endpoint, response.content)
        assert response["Content-Type"].startswith("application/json")
        assert field in response.json()["fields"], (endpoint, response.json())


@pytest.mark.parametrize(("endpoint", "params", "field"), [
    ("trend", {"interval": "week"}, "interval"),
    ("gaps", {"reason": "lazy"}, "reason"),
    ("gaps", {"line": "everything"}, "line"),
])  # fmt: skip
def test_endpoint_parameters_are_checked_too(api, login, endpoint, params, field):
    response = get(login(officer()), endpoint, **params)
    assert response.status_code == 400 and field in response.json()["fields"]


def test_a_scope_the_viewer_may_not_see_is_a_404(api, login):
    # given a private scope of another officer, and one of the viewer's own
    other = officer()
    theirs = named_scope_create(slug="theirs", name="Của họ", units=[unit("legacy", "district", "140")], owner=other)
    viewer = officer()
    mine = named_scope_create(slug="mine", name="Của tôi", units=[unit("legacy", "district", "140")], owner=viewer)
    client = login(viewer)

    # then theirs and an unknown id are not found, whatever the endpoint; the viewer's own is
    for endpoint in ENDPOINTS:
        assert get(client, endpoint, scope=theirs.pk).status_code == 404
        assert get(client, endpoint, scope=10**12).status_code == 404
        assert get(client, endpoint, scope=mine.pk).status_code == 200


def test_signing_in_is_required(api):
    assert api.get("/api/v1/kpi/online-with-sales/", {"period": "2024"}).status_code == 401


def test_a_producer_member_counts_their_own_products_only(api, login):
    # given eight products of one producer and two of another, whose member asks
    products(8)
    other = a_maker("04630")
    ocop_product("Chè của hộ khác", maker=other)
    ocop_product("Gạo của hộ khác", maker=other, set_number=3)
    member = user_with_role(Role.PRODUCER_MEMBER)
    other.memberships.create(user=member)

    # when
    body = get(login(member), "online-with-sales").json()

    # then
    assert body["kpi"]["denominator"] == 2


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_query_count_does_not_grow_with_the_products_and_no_order_is_read(api, login, endpoint):
    # given two products, then eight more
    client = login(officer())
    products(2)

    def queries():
        lineage_changed()  # each time resolved afresh: the process keeps lineage answers between requests
        with CaptureQueriesContext(connection) as captured:
            assert get(client, endpoint).status_code == 200
        return [q["sql"] for q in captured]

    few = queries()
    products(8, first=2)
    many = queries()

    # then the same number of queries, and none of them reads the order lines
    assert len(few) == len(many)
    assert not [sql for sql in many if "sales_orderline" in sql]


def test_the_kpi_as_csv_parses_back_with_its_headers_in_the_asked_language(api, login):
    # given three products, two of them online with sales
    products(3)
    client = login(officer())

    # when
    response = get(client, "online-with-sales", format="csv")

    # then a CSV attachment whose first row is the total line
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Breakdown", "Code", "Name", "Products (denominator)"]
    total = dict(zip(rows[0], rows[1], strict=True))
    assert (total["Products (denominator)"], total["Online with sales"], total["KPI (%)"]) == ("3", "2", "66.7")
    assert {row[0] for row in rows[1:]} >= {"Total (goods)", "Tourism services", "Star", "Channel", "Commune"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_endpoint_exports_csv_and_xlsx(api, login, endpoint):
    # given
    products(3)
    client = login(officer())

    # when
    as_csv = get(client, endpoint, format="csv")
    as_xlsx = get(client, endpoint, format="xlsx")

    # then both parse back, with the same header row
    assert as_csv.status_code == 200 and as_xlsx.status_code == 200, as_xlsx.content[:300]
    header = next(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    workbook = load_workbook(io.BytesIO(as_xlsx.content), read_only=True)
    first = workbook[workbook.sheetnames[0]]
    rows = list(first.iter_rows(values_only=True))
    assert list(rows[0]) == header
    assert len(rows) >= 2


def test_the_gap_list_exports_every_row_not_one_page(api, login):
    # given three products, one not listed (every third is not)
    products(6)
    client = login(officer())

    # when
    response = get(client, "gaps", format="xlsx", page_size=1)

    # then
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 2  # products 0 and 3 are not listed
    assert rows[1][rows[0].index("Reason")] == "not_listed"


def test_the_trend_xlsx_keeps_money_in_whole_dong(api, login):
    products(3)
    response = get(login(officer()), "trend", format="xlsx", period="", **{"from": "2024-05-01", "to": "2024-05-31"})
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][rows[0].index("Sales (VND)")] == 300000


def test_freshness_shows_each_channels_last_confirmation_and_what_waits(api, login):
    # given a live listing on Postmart confirmed 10 days ago, one on Voso confirmed today, a refresh, then a sale
    maker = a_maker("04657")
    today = timezone.localdate()
    stale = listing(ocop_product("Chè 1", maker=maker), "postmart", [("live", date(2024, 2, 1))],
                    confirmed=today - timedelta(days=10))  # fmt: skip
    listing(ocop_product("Chè 2", maker=maker), "voso", [("live", date(2024, 2, 1))], confirmed=today)
    kpi_refresh()
    sale(stale, sold=today)

    # when
    body = get(login(officer()), "online-with-sales", period=str(today.year)).json()

    # then
    fresh = {row["channel"]: row for row in body["freshness"]}
    assert fresh["postmart"]["live_unconfirmed"] == 1 and fresh["voso"]["live_unconfirmed"] == 0
    assert fresh["voso"]["last_confirmed_at"].startswith(today.isoformat())
    assert fresh["postmart"]["orders_waiting"] == 1 and fresh["voso"]["orders_waiting"] == 0
    assert fresh["postmart"]["rollups_refreshed_at"] is not None
    assert fresh["storefront"]["live_listings"] == 0


def test_an_officer_asks_for_a_refresh_and_a_producer_member_may_not(api, login, django_capture_on_commit_callbacks):
    # given
    member = user_with_role(Role.PRODUCER_MEMBER)

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        accepted = login(officer()).post("/api/v1/kpi/refresh/")
    states = api.get("/api/v1/kpi/refresh/")
    refused = login(member).post("/api/v1/kpi/refresh/")

    # then the refresh is queued once, after commit; the fill state is readable
    assert accepted.status_code == 202 and len(callbacks) == 1
    assert states.status_code == 200
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


def test_cached_answers_follow_the_rollups(api, login, settings):
    # given a cache, one product online without a sale
    settings.KPI_CACHE_SECONDS = 60
    maker = a_maker("04657")
    on = listing(ocop_product("Chè 1", maker=maker), "postmart", [("live", date(2024, 2, 1))],
                 confirmed=date(2024, 12, 1))  # fmt: skip
    kpi_refresh()
    client = login(officer())
    before = get(client, "online-with-sales").json()["kpi"]["numerator"]

    # when a sale arrives: cached until the refresh has read it, then the new figure
    sale(on, sold=date(2024, 6, 1))
    cached = get(client, "online-with-sales").json()["kpi"]["numerator"]
    kpi_refresh()
    after = get(client, "online-with-sales").json()["kpi"]["numerator"]

    # then
    assert (before, cached, after) == (0, 0, 1)


def test_cached_pages_of_the_gap_list_stay_apart(api, login, settings):
    # given six products, two of them not listed, and a cache
    settings.KPI_CACHE_SECONDS = 60
    products(6)
    client = login(officer())

    # when
    first, second, again = (get(client, "gaps", page_size=1, page=page).json() for page in (1, 2, 1))

    # then
    assert first["count"] == second["count"] == 2
    assert first["results"] != second["results"] and again == first
