"""Orders without a marketplace: the upsert's rules, the orders API (scoping, buyer data, query counts, bad
input), an officer's import of a platform export (CSV, XLSX, dry run, row errors, all or nothing) and attestation."""

import io
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from catalog.services import product_create
from integrations.adapters.base import RemoteOrder
from integrations.models import ChannelConnection, ConnectionKind, Listing
from marketplace.accounts.models import Role
from sales.models import Order, OrderEvent
from sales.selectors import listing_sales_metrics
from sales.services import Applied, order_apply
from tests.factories import producer, product_set, unit, user_with_role
from tests.integrations.marketplaces import lao_cai

pytestmark = pytest.mark.django_db
SUOI_GIANG = ("legacy", "commune", "04657")  # old Yên Bái → Lào Cai
T0 = int(datetime(2025, 3, 1, 8, tzinfo=UTC).timestamp())


@pytest.fixture
def booth():
    return ChannelConnection.objects.create(
        channel="voso", kind=ConnectionKind.SHARED_BOOTH, name="Gian hàng", area=lao_cai(),
        base_url="http://127.0.0.1:9", shop_id="SHOP-1", credentials={"username": "u", "password": "p"},
    )  # fmt: skip


def honey_listing(booth, n: int = 1, *, place=SUOI_GIANG) -> Listing:
    maker = producer(commune_as_captured=unit(*place))
    product = product_create(producer=maker, name=f"Mật ong {n}", product_set=product_set(4), status="approved")
    sku = product.skus.create(net_quantity=500, net_unit="g", weight_grams=600, length_cm=1, width_cm=1,
                              height_cm=1, price_vnd=150_000, code=f"MO-{n:03d}")  # fmt: skip
    return Listing.objects.create(sku=sku, product=product, channel="voso", connection=booth, seller_sku=f"HTX-MO-{n}",
                                  external_id=f"VSP-{n}", state="live")  # fmt: skip


def news(number="VSO-1", status="pending", version=1, *, lines=True, listing=None, qty=2, at=T0) -> RemoteOrder:
    rows = ()
    if lines:
        rows = ({"external_item_id": listing.external_id if listing else "VSP-X", "listing_id": "",
                 "seller_sku": "", "quantity": qty, "unit_price_vnd": 150_000},)  # fmt: skip
    return RemoteOrder(number, status, at + version, 0, rows, created_at=at, version=version, buyer_name="L*** T** M**")


# ------------------------------------------------------------------------------------------- order_apply
def test_the_same_news_three_times_makes_one_order_and_one_change(booth):
    # given an order's creation, delivered three times
    listing = honey_listing(booth)

    # when it is applied three times
    results = [order_apply(channel="voso", connection=booth, news=news(listing=listing), source="webhook")
               for _ in range(3)]  # fmt: skip

    # then one order, one dated change, its line linked to the listing, the package and the product
    assert results == [Applied.CREATED, Applied.UNCHANGED, Applied.UNCHANGED]
    order = Order.objects.get()
    assert list(order.events.values_list("to_status", flat=True)) == ["confirmed"]
    line = order.lines.get()
    assert (line.listing, line.sku, line.product) == (listing, listing.sku, listing.product)
    assert (line.total_vnd, order.total_vnd, order.evidence) == (300_000, 300_000, "platform_api")


def test_older_news_never_overwrites_newer_and_the_status_only_moves_forward(booth):
    # given an order we hold as shipped (version 4)
    listing = honey_listing(booth)
    order_apply(channel="voso", connection=booth, news=news(listing=listing), source="webhook")
    assert order_apply(channel="voso", connection=booth, news=news(status="shipped", version=4, lines=False),
                       source="webhook") == Applied.CHANGED  # fmt: skip

    # when version 2 (ready_to_ship) arrives late
    late = order_apply(channel="voso", connection=booth, news=news(status="ready_to_ship", version=2, lines=False),
                       source="webhook")  # fmt: skip

    # then it is ignored; delivery sets the sale date once, and a return ends the order
    assert late == Applied.STALE
    order_apply(channel="voso", connection=booth, news=news(status="delivered", version=5, lines=False), source="feed")
    order = Order.objects.get()
    sold_at = order.sold_at
    assert order.status == "delivered" and sold_at == datetime.fromtimestamp(T0 + 5, UTC)
    order_apply(channel="voso", connection=booth, news=news(status="returned", version=7, lines=False), source="feed")
    order_apply(channel="voso", connection=booth, news=news(status="delivered", version=8, lines=False), source="feed")
    order.refresh_from_db()
    assert (order.status, order.sold_at, order.remote_version) == ("returned", sold_at, 8)
    assert list(order.events.values_list("to_status", "source")) == [
        ("confirmed", "webhook"), ("shipped", "webhook"), ("delivered", "feed"), ("returned", "feed"),
    ]  # fmt: skip


def test_status_news_of_an_order_we_do_not_hold_asks_for_the_whole_order(booth):
    assert order_apply(channel="voso", connection=booth, news=news(lines=False), source="webhook") == Applied.UNKNOWN
    assert not Order.objects.exists()


def test_two_postmart_changes_in_the_same_second_keep_the_later_status(booth):
    # given Postmart (no version: update_time orders its news) moved an order twice within one second
    pm = RemoteOrder("2503AB", "READY_TO_SHIP", T0, 100_000, ({"external_item_id": "1", "quantity": 1,
                     "unit_price_vnd": 100_000},))  # fmt: skip
    order_apply(channel="postmart", news=pm, source="push")

    # when the detail re-read after each push comes back SHIPPED, then (stale read) PROCESSED, same second
    shipped = order_apply(channel="postmart", news=RemoteOrder("2503AB", "SHIPPED", T0, 0, ()), source="push")
    processed = order_apply(channel="postmart", news=RemoteOrder("2503AB", "PROCESSED", T0, 0, ()), source="push")

    # then shipped stands
    assert (shipped, processed) == (Applied.CHANGED, Applied.UNCHANGED)
    assert Order.objects.get().status == "shipped" and Order.objects.get().remote_status == "SHIPPED"


def test_the_listing_metrics_are_one_query_and_skip_cancelled_orders(booth, django_assert_num_queries):
    # given a delivered order of 2 and a cancelled one of 5 on one listing
    listing = honey_listing(booth)
    order_apply(channel="voso", connection=booth, news=news("A", "delivered", listing=listing), source="poll")
    order_apply(channel="voso", connection=booth, news=news("B", "canceled", listing=listing, qty=5), source="poll")

    # when its metrics are read, then they count the sale only, in one query
    with django_assert_num_queries(1):
        metrics = listing_sales_metrics(listing_id=listing.pk)
    assert metrics == {"order_count": 1, "quantity": 2, "gmv_vnd": 300_000,
                       "first_sale_at": datetime.fromtimestamp(T0 + 1, UTC)}  # fmt: skip


# ------------------------------------------------------------------------------------------------- the API
def test_orders_out_of_reach_are_404_and_buyers_are_shown_only_to_members_and_officers(api, login, booth):
    # given an order of a Lào Cai producer, and an order of a producer elsewhere
    ours = honey_listing(booth, 1)
    theirs = honey_listing(booth, 2, place=("2025", "commune", "00004"))
    order_apply(channel="voso", connection=booth, news=news("A", listing=ours), source="poll")
    order_apply(channel="voso", connection=booth, news=news("B", listing=theirs), source="poll")
    other = Order.objects.get(external_id="B")
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    team = user_with_role(Role.COMMUNITY_TEAM, units=[lao_cai()])

    # when the officer and the community team read
    officer_rows = login(officer).get("/api/v1/orders/").json()["results"]
    officer_other = api.get(f"/api/v1/orders/{other.pk}/")
    team_rows = login(team).get("/api/v1/orders/").json()["results"]
    team_detail = api.get(f"/api/v1/orders/{officer_rows[0]['id']}/").json()

    # then each sees only the order of their area; the buyer is shown to the officer, not to the team
    assert [row["external_id"] for row in officer_rows] == ["A"] and officer_other.status_code == 404
    assert officer_rows[0]["buyer"]["name"] == "L*** T** M**"
    assert [row["external_id"] for row in team_rows] == ["A"] and team_rows[0]["buyer"] is None
    assert team_detail["buyer"] is None and [h["to_status"] for h in team_detail["history"]] == ["confirmed"]


def test_the_order_list_has_constant_queries_and_filters(api, login, booth):
    # given orders of several producers in the officer's area
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    client = login(officer)

    def queries(n):
        for i in range(n):
            listing = honey_listing(booth, 100 + Order.objects.count())
            order_apply(channel="voso", connection=booth, news=news(f"O-{Order.objects.count()}-{i}", listing=listing),
                        source="poll")  # fmt: skip
        client.get("/api/v1/orders/")  # warm the user's reach
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/orders/").status_code == 200
        return len(captured)

    # when the list is read with 2 orders, then with 6
    # then the number of queries does not grow with them
    assert queries(2) == queries(4)
    one = Order.objects.first()
    product = one.lines.get().product_id
    filtered = client.get(f"/api/v1/orders/?product={product}&status=confirmed&channel=voso&placed_from=2025-03-01")
    assert [row["id"] for row in filtered.json()["results"]] == [one.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("producer=abc", "producer"),
        ("placed_from=31-31-2025", "placed_from"),
        ("channel=shopee", "channel"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(api, login, query, field):
    response = login(user_with_role(Role.OFFICER, units=[lao_cai()])).get(f"/api/v1/orders/?{query}")
    assert response.status_code == 400 and field in response.json()["fields"]


# ------------------------------------------------------------------------------------------------- import
HEADER = ["Mã đơn hàng", "Trạng Thái Đơn Hàng", "Ngày đặt hàng", "SKU phân loại hàng", "Số lượng", "Đơn giá",
          "Thời gian hoàn thành", "Tên sản phẩm"]  # fmt: skip


def csv_file(rows, header=HEADER, name="export.csv") -> SimpleUploadedFile:
    text = "\n".join(",".join(str(cell) for cell in row) for row in [header, *rows])
    return SimpleUploadedFile(name, text.encode("utf-8-sig"), content_type="text/csv")


def xlsx_file(rows, header=HEADER) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(
        "export.xlsx",
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def upload(client, file, *, channel="voso", dry_run=False):
    data = {"channel": channel, "file": file, "dry_run": "true" if dry_run else "false"}
    return client.post("/api/v1/orders/import/", data, format="multipart")


def test_an_export_is_checked_by_a_dry_run_then_imported_as_platform_export(api, login, booth):
    # given an officer and a CSV export: one order of two lines, one completed order, one cancelled
    listing = honey_listing(booth)
    rows = [
        ["SO-1", "Hoàn thành", "2025-03-02 09:15", listing.seller_sku, 2, "150.000", "2025-03-05 17:00", "Mật ong"],
        ["SO-1", "Hoàn thành", "2025-03-02 09:15", listing.sku.code, 1, 150000, "2025-03-05 17:00", ""],
        ["SO-2", "Đã hủy", "02/03/2025", listing.seller_sku, 4, 150000, "", ""],
    ]
    client = login(user_with_role(Role.OFFICER, units=[lao_cai()]))

    # when it is checked, then imported
    dry = upload(client, csv_file(rows), dry_run=True)
    saved_after_dry_run = Order.objects.count()
    real = upload(client, csv_file(rows))

    # then the dry run reports and saves nothing; the import makes both orders, linked and flagged as an export
    assert dry.status_code == 200 and saved_after_dry_run == 0
    assert dry.json() | {"errors": []} == {"dry_run": True, "valid": True, "rows": 3, "orders": 2, "lines": 3,
                                           "created": 2, "updated": 0, "unchanged": 0, "errors": [],
                                           "error_count": 0}  # fmt: skip
    assert real.status_code == 201 and real.json()["created"] == 2
    sold = Order.objects.get(external_id="SO-1")
    assert (sold.status, sold.evidence, sold.total_vnd) == ("completed", "platform_export", 450_000)
    assert sold.sold_at == datetime(2025, 3, 5, 10, tzinfo=UTC)  # 17:00 in Vietnam
    assert {line.listing_id for line in sold.lines.all()} == {listing.pk}
    assert Order.objects.get(external_id="SO-2").status == "cancelled"
    assert upload(client, csv_file(rows)).json()["unchanged"] == 2  # importing it again changes nothing


def test_an_xlsx_export_imports_too(api, login, booth):
    listing = honey_listing(booth)
    rows = [["X-9", "delivered", datetime(2025, 3, 2, 9), listing.seller_sku, 3, 150000.0, datetime(2025, 3, 4), "M"]]
    response = upload(login(user_with_role(Role.OFFICER, units=[lao_cai()])), xlsx_file(rows))
    assert response.status_code == 201, response.json()
    order = Order.objects.get(external_id="X-9")
    assert (order.status, order.lines.get().quantity, order.evidence) == ("delivered", 3, "platform_export")


def test_row_errors_name_the_row_and_column_and_nothing_is_saved(api, login, booth):
    # given an export with one good row and three bad ones
    listing = honey_listing(booth)
    rows = [
        ["OK-1", "Đã giao", "2025-03-02", listing.seller_sku, 1, 150000, "2025-03-03", ""],
        ["BAD-1", "Đang bay", "2025-03-02", listing.seller_sku, 0, "12.5", "", ""],
        ["BAD-2", "Hoàn thành", "hôm qua", "KHONG-CO", 1, 150000, "", ""],
        ["", "Đã giao", "2025-03-02", listing.seller_sku, 1, 150000, "2025-03-03", ""],
    ]
    client = login(user_with_role(Role.OFFICER, units=[lao_cai()]))

    # when it is imported
    response = upload(client, csv_file(rows))

    # then 400: every problem with its row and column, and not even the good row is saved
    assert response.status_code == 400 and set(response.json()) == {"code", "message", "fields"}
    assert response.json()["code"] == "import_invalid"
    problems = {(int(key.split(".")[1]), key.split(".")[2]) for key in response.json()["fields"]}
    assert problems == {(3, "status"), (3, "quantity"), (3, "unit_price_vnd"), (4, "placed_at"), (4, "seller_sku"),
                        (4, "sold_at"), (5, "order_id")}  # fmt: skip
    assert all(messages and all(messages) for messages in response.json()["fields"].values())
    assert not Order.objects.exists()


def test_a_missing_column_or_an_unreadable_file_is_a_400_naming_it(api, login, booth):
    client = login(user_with_role(Role.OFFICER, units=[lao_cai()]))
    missing = upload(client, csv_file([["A", "delivered"]], header=["order_id", "status"]), dry_run=True)
    assert missing.status_code == 200 and not missing.json()["valid"]
    assert {e["field"] for e in missing.json()["errors"]} == {"placed_at", "seller_sku", "quantity", "unit_price_vnd"}
    garbage = upload(client, SimpleUploadedFile("x.xlsx", b"PK\x03\x04garbage"))
    assert garbage.status_code == 400 and "file" in garbage.json()["fields"]
    latin = upload(client, SimpleUploadedFile("x.csv", "Mã đơn hàng".encode("utf-16")))
    assert latin.status_code == 400 and "file" in latin.json()["fields"]
    no_channel = client.post("/api/v1/orders/import/", {"file": csv_file([])}, format="multipart")
    assert no_channel.status_code == 400 and "channel" in no_channel.json()["fields"]


def test_only_officers_import_and_a_product_out_of_reach_is_not_found(api, login, booth):
    # given a listing of a producer outside Lào Cai
    elsewhere = honey_listing(booth, 7, place=("2025", "commune", "00004"))
    rows = [["Z-1", "placed", "2025-03-02", elsewhere.seller_sku, 1, 150000, "", ""]]

    # when a community team member, then a Lào Cai officer, imports it
    team = upload(login(user_with_role(Role.COMMUNITY_TEAM, units=[lao_cai()])), csv_file(rows))
    officer = upload(login(user_with_role(Role.OFFICER, units=[lao_cai()])), csv_file(rows))

    # then the team may not; the officer is told the SKU matches nothing they manage
    assert team.status_code == 403
    assert officer.status_code == 400 and list(officer.json()["fields"]) == ["rows.2.seller_sku"]


def test_an_import_may_not_touch_an_order_of_a_producer_outside_the_officers_area(api, login, booth):
    # given an order the platform sent for a producer outside Lào Cai, and a Lào Cai officer's own package
    elsewhere = honey_listing(booth, 8, place=("2025", "commune", "00004"))
    order_apply(channel="voso", connection=booth, news=news("Z-2", listing=elsewhere), source="webhook")
    mine = honey_listing(booth, 9)
    rows = [["Z-2", "Hoàn thành", "2025-03-02", mine.seller_sku, 1, 150000, "2025-03-03", ""]]

    # when the officer imports a row naming that order
    response = upload(login(user_with_role(Role.OFFICER, units=[lao_cai()])), csv_file(rows))

    # then the row is refused and the order is as the platform left it
    assert response.status_code == 400 and list(response.json()["fields"]) == ["rows.2.order_id"]
    assert Order.objects.get(external_id="Z-2").status == "confirmed"


# ------------------------------------------------------------------------------------------------- attest
def test_an_officer_attests_an_order_with_its_document(api, login, booth):
    # given an officer of the area and a package sold at a fair
    listing = honey_listing(booth)
    officer = user_with_role(Role.OFFICER, units=[lao_cai()], first_name="Mai", last_name="Lò Thị")
    body = {"channel": "voso", "external_id": "HC-2025-001", "status": "completed",
            "placed_at": "2025-03-02T09:00:00+07:00", "sold_at": "2025-03-02T10:00:00+07:00",
            "document": "Biên bản 12/BB-UBND ngày 02/03/2025", "lines": [{"sku": listing.sku_id, "quantity": 4,
            "unit_price_vnd": 140000}]}  # fmt: skip

    # when they attest it
    response = login(officer).post("/api/v1/orders/attest/", body, format="json")

    # then it is recorded, flagged as attested, naming the officer and the document, linked to the listing
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["evidence"], data["attested_document"]) == ("officer_attested", "Biên bản 12/BB-UBND ngày 02/03/2025")
    assert data["attested_by"]["name"] and data["lines"][0]["listing"] == str(listing.pk)
    assert data["total"]["vnd"] == 560_000 and [h["source"] for h in data["history"]] == ["attested"]
    assert OrderEvent.objects.get().to_status == "completed"
    again = api.post("/api/v1/orders/attest/", body, format="json")
    assert again.status_code == 400 and "external_id" in again.json()["fields"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"document": ""}, "document"),
        ({"lines": []}, "lines"),
        ({"status": "lost"}, "status"),
        ({"lines": [{"sku": 999999, "quantity": 1, "unit_price_vnd": 1}]}, "lines.0.sku"),
        ({"lines": [{"sku": None, "quantity": 0, "unit_price_vnd": -1}]}, "lines.0.quantity"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"sold_at": None}, "sold_at"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_attestation_is_a_400_naming_the_field(api, login, booth, change, field):
    listing = honey_listing(booth)
    body = {"channel": "voso", "external_id": "HC-1", "status": "delivered", "placed_at": "2025-03-02T09:00:00Z",
            "sold_at": "2025-03-02T10:00:00Z", "document": "BB-1",
            "lines": [{"sku": listing.sku_id, "quantity": 1, "unit_price_vnd": 1}]} | change  # fmt: skip
    response = login(user_with_role(Role.OFFICER, units=[lao_cai()])).post("/api/v1/orders/attest/", body,
                                                                           format="json")  # fmt: skip
    fields = response.json()["fields"]
    assert response.status_code == 400 and any(k == field or k.startswith(f"{field}.") for k in fields), fields
    assert not Order.objects.exists()
