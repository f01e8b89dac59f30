"""The officers' dashboard (/can-bo/): who may open it, that its figures are the KPI's, that personal data stays
with those who may see it, that it does not grow in queries with the products, and that a bad question is an
answer on the page, never a 500. Built on the KPI stories' builders (tests/kpi/conftest.py)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.ocop.models import Verification
from kpi import selectors as kpi_selectors
from kpi.periods import period_from_params
from kpi.rollups import kpi_refresh
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import user_reach
from marketplace.accounts.services import role_assignment_create
from marketplace.places.models import CodeSystem, Level, NamedScope
from tests.factories import current_commune, producer, unit, user_with_role
from tests.kpi.conftest import a_maker, listing, ocop_product, officer_of, sale

pytestmark = pytest.mark.django_db

OLD_YEN_BAI = ("legacy", "province", "15")


@pytest.fixture(autouse=True)
def _no_kpi_cache(settings):
    settings.KPI_CACHE_SECONDS = 0  # the stories change data and read again at once


def old_yen_bai() -> NamedScope:
    return NamedScope.objects.get(slug="old-yen-bai")


def sold_in_2024(product, channel="postmart"):
    on = listing(product, channel, [("live", date(2024, 2, 1))], confirmed=date(2024, 12, 30))
    sale(on, sold=date(2024, 9, 9))


def a_small_old_yen_bai():
    """Four OCOP products of old Yên Bái, two online with sales; one of Hà Nội."""
    suoi_giang = a_maker("04657", phone="0912345678")
    nam_co = producer(commune_as_captured=current_commune("04462"), phone="0987654321")
    sold_in_2024(ocop_product("Chè Suối Giàng", maker=suoi_giang))
    ocop_product("Mật ong Suối Giàng", maker=suoi_giang)
    sold_in_2024(ocop_product("Gạo Nậm Có", maker=nam_co), "voso")
    ocop_product("Gạo nếp Nậm Có", maker=nam_co)
    sold_in_2024(ocop_product("Bánh cốm Hà Nội", maker=a_maker("00001")))
    kpi_refresh()
    return suoi_giang, nam_co


def officer_of_old_yen_bai():
    return officer_of(unit(CodeSystem.LEGACY, Level.PROVINCE, "15"))


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    # when
    response = client.get("/can-bo/")

    # then
    assert response.status_code == 302
    assert response["Location"] == "/dang-nhap/?next=/can-bo/"


def test_a_producer_member_or_a_community_team_is_told_the_pages_are_for_officers(client):
    # given
    member = user_with_role(Role.PRODUCER_MEMBER)
    team = user_with_role(Role.COMMUNITY_TEAM, units=[current_commune("04462")])

    for user in (member, team):
        # when
        client.force_login(user)
        response = client.get("/can-bo/", HTTP_ACCEPT_LANGUAGE="en")
        queues = client.get("/can-bo/xac-minh/")

        # then
        assert response.status_code == 403 and queues.status_code == 403
        assert "Officers only" in response.content.decode()


def test_the_tiles_funnel_trend_and_breakdown_show_the_kpi_of_old_yen_bai(client):
    # given
    a_small_old_yen_bai()
    officer = officer_of_old_yen_bai()
    client.force_login(officer)
    scope = old_yen_bai()

    # when
    response = client.get("/can-bo/", {"scope": scope.pk, "period": "2024"}, HTTP_ACCEPT_LANGUAGE="en")

    # then the figures are those of kpi.selectors for the same question
    today = timezone.localdate()
    ask = kpi_selectors.Ask(scope=scope, reach=user_reach(officer), period=period_from_params({"period": "2024"},
                            today=today), channels=("postmart", "voso", "storefront"), today=today)  # fmt: skip
    expected = kpi_selectors.kpi_online_with_sales(ask=ask)
    page = response.content.decode()
    context = response.context
    assert response.status_code == 200
    assert (context["kpi"]["numerator"], context["kpi"]["denominator"]) == (2, 4)
    assert context["kpi"]["numerator"] == expected["kpi"]["numerator"]
    assert context["kpi"]["denominator"] == expected["kpi"]["denominator"]
    assert context["kpi"]["online"] == expected["kpi"]["online"]
    assert '<span class="figure" id="tile-rate">50.0 %</span>' in page
    assert '<span class="figure" id="tile-products">4</span>' in page
    assert [s["producers"] for s in context["steps"]] == [
        s["producers"] for s in kpi_selectors.kpi_funnel(ask=ask)["steps"]
    ]
    assert len(context["buckets"]) == 12 and sum(b["lines"] for b in context["buckets"]) == 2
    communes = {row["key"]: row["denominator"] for row in context["breakdowns"]["commune"]}
    assert communes == {row["key"]: row["denominator"] for row in expected["breakdowns"]["commune"]}
    assert "Bánh cốm Hà Nội" not in page
    # the canvases are there for the charts, and the gap list has the two products without sales
    assert 'id="funnel-chart"' in page and 'id="trend-chart"' in page
    assert [r["product"]["name"] for r in context["gap_rows"]] == ["Gạo nếp Nậm Có", "Mật ong Suối Giàng"]
    # and the export buttons ask the API the same question
    assert f"/api/v1/kpi/online-with-sales/?scope={scope.pk}&amp;period=2024&amp;format=csv" in page
    exported = client.get(context["exports"][1]["xlsx"])  # the gap list, through the officer's session
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/vnd.openxmlformats")


def test_an_officer_sees_only_the_producers_of_their_area_and_only_the_scopes_shared_or_theirs(client):
    # given an officer of legacy Suối Giàng, and a private scope of someone else
    a_small_old_yen_bai()
    private = NamedScope.objects.create(slug="rieng", name="Phạm vi riêng", owner=user_with_role(Role.PRODUCER_MEMBER))
    officer = officer_of(unit(CodeSystem.LEGACY, Level.COMMUNE, "04657"))
    client.force_login(officer)

    # when
    mine = client.get("/can-bo/", {"scope": old_yen_bai().pk, "period": "2024"})
    theirs = client.get("/can-bo/", {"scope": private.pk, "period": "2024"})

    # then old Yên Bái counts Suối Giàng's two products only, and the private scope is not offered nor answered
    assert (mine.context["kpi"]["numerator"], mine.context["kpi"]["denominator"]) == (1, 2)
    assert "Phạm vi riêng" not in mine.content.decode()
    assert theirs.status_code == 400 and "kpi" not in theirs.context


def test_phone_numbers_are_shown_to_the_officer_of_the_area_and_hidden_from_a_community_team(client):
    # given a user who is an officer of Suối Giàng and in the community team of Nậm Có
    a_small_old_yen_bai()
    user = officer_of(unit(CodeSystem.LEGACY, Level.COMMUNE, "04657"))
    role_assignment_create(user=user, role=Role.COMMUNITY_TEAM, units=[current_commune("04462")])
    client.force_login(user)

    # when
    response = client.get("/can-bo/", {"scope": old_yen_bai().pk, "period": "2024"})
    drill = client.get("/can-bo/xa/2025/04462/", {"scope": old_yen_bai().pk, "period": "2024"})

    # then Suối Giàng's phone is there, Nậm Có's is not (in the gap list nor in the commune's page)
    phones = {r["product"]["name"]: r["phone"] for r in response.context["gap_rows"]}
    assert phones == {"Mật ong Suối Giàng": "+84912345678", "Gạo nếp Nậm Có": ""}
    assert "+84987654321" not in response.content.decode()
    assert drill.status_code == 200 and "Gạo nếp Nậm Có" in drill.content.decode()
    assert "+84987654321" not in drill.content.decode()


def test_a_commune_row_opens_its_producers_and_products(client):
    # given
    a_small_old_yen_bai()
    client.force_login(officer_of_old_yen_bai())
    scope = old_yen_bai()

    # when
    page = client.get("/can-bo/", {"scope": scope.pk, "period": "2024"}).content.decode()
    drill = client.get("/can-bo/xa/2025/04672/", {"scope": scope.pk, "period": "2024"})
    outside = client.get("/can-bo/xa/2025/00004/", {"scope": scope.pk, "period": "2024"})

    # then
    assert f'href="/can-bo/xa/2025/04672/?scope={scope.pk}&amp;period=2024"' in page
    body = drill.content.decode()
    assert "Chè Suối Giàng" in body and "Mật ong Suối Giàng" in body and "+84912345678" in body
    assert "Gạo Nậm Có" not in body
    assert outside.status_code == 404


def test_a_former_place_can_be_searched_and_asked_as_a_scope(client):
    # given
    a_small_old_yen_bai()
    client.force_login(officer_of_old_yen_bai())

    # when the officer searches "Yên Bái" and opens the former province
    found = client.get("/can-bo/", {"q": "Yên Bái", "period": "2024"})
    asked = client.get("/can-bo/", {"place": "legacy:province:15", "period": "2024"})

    # then
    assert "place=legacy%3Aprovince%3A15" in found.content.decode()
    assert (asked.context["kpi"]["numerator"], asked.context["kpi"]["denominator"]) == (2, 4)
    assert asked.context["exports"] == []  # a place has no id in the API: save it as a scope to export


def test_the_dashboard_costs_the_same_queries_with_three_times_the_products(client):
    # given
    client.force_login(officer_of_old_yen_bai())
    scope = old_yen_bai().pk
    maker = a_maker("04657")
    sold_in_2024(ocop_product("Chè 0", maker=maker))
    ocop_product("Chè 1", maker=maker)  # a gap too: an empty list costs fewer queries than a short one
    kpi_refresh()

    def queries() -> int:
        client.get("/can-bo/", {"scope": scope, "period": "2024"})  # the process's lineage memo, as in production
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/can-bo/", {"scope": scope, "period": "2024"}).status_code == 200
        return len(captured)

    few = queries()
    for n in range(2, 6):
        other = a_maker("04657")
        product = ocop_product(f"Chè {n}", maker=other)
        if n % 2:
            sold_in_2024(product)
    kpi_refresh()

    # when
    many = queries()

    # then
    assert many == few, (few, many)
    print(f"dashboard: {many} queries per request, uncached")  # shown with -s


def test_with_the_answers_kept_ready_the_dashboard_reads_them_in_a_handful_of_queries(client, settings):
    # given the answers cached (as the API and the warming keep them)
    settings.KPI_CACHE_SECONDS = 600
    a_small_old_yen_bai()
    client.force_login(officer_of_old_yen_bai())
    params = {"scope": old_yen_bai().pk, "period": "2024"}
    client.get("/can-bo/", params)

    # when
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/can-bo/", params)

    # then
    assert response.status_code == 200 and response.context["kpi"]["denominator"] == 4
    print(f"dashboard: {len(captured)} queries per request, answers ready")  # shown with -s
    assert len(captured) <= 12, [q["sql"] for q in captured]


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"period": "2024-13"}, "Give a year (2024), a quarter (2024-Q3) or a month (2024-03)."),
        ({"period": "2099"}, "The period has not started yet."),
        ({"period": "1999"}, "No OCOP certificate is that old"),
        ({"place": "legacy:province:99999"}, "There is no such place."),
        ({"scope": "not-a-number"}, "Select a valid choice."),
    ],
)
def test_a_bad_question_is_a_clear_error_not_a_500(client, params, said):
    # given
    client.force_login(officer_of_old_yen_bai())

    # when
    response = client.get("/can-bo/", params, HTTP_ACCEPT_LANGUAGE="en")

    # then
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert"' in page and said in page.replace("&#x27;", "'")


def test_htmx_gets_only_the_results(client):
    # given
    client.force_login(officer_of_old_yen_bai())

    # when
    response = client.get("/can-bo/", {"period": "2024"}, HTTP_HX_REQUEST="true")

    # then
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page and 'id="tile-rate"' in page


def test_an_officer_verifies_a_waiting_certificate_from_the_queue(client):
    # given
    product = ocop_product("Miến dong", maker=a_maker("04657"), verified=False)
    client.force_login(officer_of_old_yen_bai())
    certificate = product.ocop_certificates.get()

    # when
    queue = client.get("/can-bo/xac-minh/")
    rejected = client.post(f"/can-bo/xac-minh/chung-nhan-ocop/{certificate.pk}/", {"decision": "rejected"},
                           HTTP_ACCEPT_LANGUAGE="en", follow=True)  # fmt: skip
    verified = client.post(f"/can-bo/xac-minh/chung-nhan-ocop/{certificate.pk}/", {"decision": "verified"},
                           follow=True)  # fmt: skip

    # then a rejection without a reason is refused with a message, the verification goes through
    assert "Miến dong" in queue.content.decode() and queue.context["certificates"].total == 1
    assert "Say why the certificate is rejected" in rejected.content.decode()
    certificate.refresh_from_db()
    assert certificate.verification == Verification.VERIFIED
    assert verified.context["certificates"].total == 0


def test_an_officer_of_another_area_cannot_see_or_decide_a_certificate(client):
    # given
    product = ocop_product("Miến dong", maker=a_maker("00001"), verified=False)
    client.force_login(officer_of_old_yen_bai())
    certificate = product.ocop_certificates.get()

    # when
    queue = client.get("/can-bo/xac-minh/")
    decided = client.post(f"/can-bo/xac-minh/chung-nhan-ocop/{certificate.pk}/", {"decision": "verified"})

    # then
    assert queue.context["certificates"].total == 0
    assert decided.status_code == 404
    certificate.refresh_from_db()
    assert certificate.verification == Verification.UNVERIFIED


def test_an_officer_checks_a_file_then_imports_it_then_undoes_it(client):
    # given an officer of old Yên Bái and a file of one producer with two packages, one row wrong at first
    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog.models import Product, Sku

    user = user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])
    client.force_login(user)
    header = ("Tên cơ sở,Loại chủ thể,Mã xã,Hệ mã,Tên sản phẩm,Bộ sản phẩm,Định lượng,Đơn vị,Giá bán,"
              "Khối lượng đóng gói (g),Dài (cm),Rộng (cm),Cao (cm)")  # fmt: skip
    honey = "HTX Mật ong Suối Giàng,Hợp tác xã,04657,cũ,Mật ong bạc hà,4,500,g,280.000,650,10,10,15"

    def upload(*rows, action):
        data = "\n".join([header, *rows]).encode()
        return client.post("/can-bo/nhap/", {"file": SimpleUploadedFile("htx.csv", data), "action": action},
                           HTTP_ACCEPT_LANGUAGE="en")  # fmt: skip

    # when the file is checked with a wrong price, then checked again fixed, then imported, then undone
    wrong = upload(honey, honey.replace("280.000", "miễn phí"), action="check")
    checked = upload(honey, honey.replace(",500,", ",1000,"), action="check")
    saved_after_check = Product.objects.exists()
    imported = upload(honey, honey.replace(",500,", ",1000,"), action="import")
    skus = Sku.objects.count()
    undone = client.post("/can-bo/nhap/hoan-tac/")

    # then the wrong row is named and nothing saved; the import saves one product with two packages; undo removes it
    assert wrong.status_code == 400 and "price_vnd" in wrong.content.decode()
    assert checked.status_code == 200 and not saved_after_check
    assert imported.status_code == 200 and skus == 2
    assert undone.status_code == 302 and not Product.objects.exists()
