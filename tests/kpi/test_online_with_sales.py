"""The KPI on a scope of ten products computed by hand: one for each way of being in or out of the numerator.

Scope: former Văn Chấn district (legacy 140), period 2024, as of D = 31/12/2024, every channel.

    A  4★  live on Postmart since 1/2; sold 20/12, returned 5/1/2025 (after D): counts        → numerator
    B  3★  certified 10/12/2024 (within 30 days of D), not listed                          → not_listed, recent
    C  3★  rejected by Voso on 5/3 (blurry label); live only from 2025                      → listing_rejected
    D  3★  live on Voso 1/6–1/10; its only order shipped, never delivered                    → no_completed_order
    E  3★  live on Postmart; sold 1/7, returned 20/7                                        → no_completed_order
    F  3★  live on the storefront; one sale, attested by an officer only                    → numerator, flagged
    G  3★  live on Postmart since 1/11/2023 but last confirmed 20/11/2023; sold in March     → listing_unconfirmed
    H  3★  certificate expired 30/6, its renewal revoked: not in N (though live and sold)
    I      tourism service (set 26), live and sold on the storefront                        → services line
    J  3★  certificate valid until 15/2/2025; waiting for Voso's review                      → listing_not_live,
                                                                                              certificate_expiring
N (goods) = A B C D E F G J = 8; online = A D E F = 4; numerator = A F = 2; KPI = 25 %.
"""

from datetime import date

import pytest

from kpi.rollups import kpi_refresh
from marketplace.places.models import CodeSystem, Level, NamedScope
from tests.factories import unit

from .conftest import a_maker, certify, listing, ocop_product, officer_of, sale

pytestmark = pytest.mark.django_db

BLURRY = [{"code": "IMAGE_BLURRY", "message": "Ảnh nhãn sản phẩm bị mờ", "field": "images"}]


def the_ten() -> dict:
    suoi_giang, tu_le = a_maker("04657"), a_maker("04630")
    p = {
        "A": ocop_product("A Chè Shan tuyết", maker=suoi_giang, star="4"),
        "B": ocop_product("B Gạo nếp", maker=suoi_giang, set_number=3, decided=date(2024, 12, 10)),
        "C": ocop_product("C Mật ong", maker=suoi_giang, set_number=4),
        "D": ocop_product("D Cam", maker=suoi_giang, set_number=1),
        "E": ocop_product("E Chè xanh", maker=suoi_giang),
        "F": ocop_product("F Chè búp", maker=tu_le),
        "G": ocop_product("G Chè đen", maker=tu_le),
        "H": ocop_product("H Chè vàng", maker=tu_le, decided=date(2021, 7, 1), valid_until=date(2024, 6, 30)),
        "I": ocop_product("I Homestay Tú Lệ", maker=tu_le, set_number=26),
        "J": ocop_product("J Chè Tuyết", maker=tu_le, decided=date(2022, 2, 16), valid_until=date(2025, 2, 15)),
    }
    certify(p["H"], decided=date(2024, 7, 1), revoked_on=date(2024, 9, 1))

    a = listing(p["A"], "postmart", [("queued", date(2024, 1, 20)), ("pending_review", date(2024, 1, 21)),
                                     ("live", date(2024, 2, 1))], confirmed=date(2024, 12, 28))  # fmt: skip
    sale(a, sold=date(2024, 12, 20), status="returned", undone=date(2025, 1, 5))
    listing(p["C"], "voso", [("queued", date(2024, 3, 1)), ("pending_review", date(2024, 3, 2)),
                             ("rejected", date(2024, 3, 5)), ("queued", date(2025, 2, 1)), ("live", date(2025, 2, 3))],
            confirmed=date(2025, 3, 1), reasons=BLURRY)  # fmt: skip
    d = listing(p["D"], "voso", [("queued", date(2024, 5, 25)), ("live", date(2024, 6, 1)),
                                 ("unlisted", date(2024, 10, 1))])  # fmt: skip
    sale(d, sold=None, status="shipped")
    e = listing(p["E"], "postmart", [("live", date(2024, 3, 1))], confirmed=date(2024, 12, 30))
    sale(e, sold=date(2024, 7, 1), status="returned", undone=date(2024, 7, 20))
    f = listing(p["F"], "storefront", [("live", date(2024, 4, 1))], confirmed=date(2024, 12, 30))
    sale(f, sold=date(2024, 8, 15), evidence="officer_attested")
    g = listing(p["G"], "postmart", [("live", date(2023, 11, 1))], confirmed=date(2023, 11, 20))
    sale(g, sold=date(2024, 3, 10))
    h = listing(p["H"], "storefront", [("live", date(2024, 1, 5))], confirmed=date(2024, 12, 30))
    sale(h, sold=date(2024, 2, 1))
    i = listing(p["I"], "storefront", [("live", date(2024, 5, 1))], confirmed=date(2024, 12, 30))
    sale(i, sold=date(2024, 6, 1))
    listing(p["J"], "voso", [("queued", date(2024, 11, 1)), ("pending_review", date(2024, 11, 2))])
    kpi_refresh()
    return p


def van_chan():
    return NamedScope.objects.get(slug="former-van-chan-district")


def officer_of_van_chan():
    return officer_of(unit(CodeSystem.LEGACY, Level.DISTRICT, "140"))


def test_the_kpi_of_ten_products_is_what_we_computed_by_hand(api, login):
    # given the ten products and an officer of former Văn Chấn
    the_ten()
    client = login(officer_of_van_chan())

    # when the officer asks for 2024
    response = client.get("/api/v1/kpi/online-with-sales/", {"scope": van_chan().pk, "period": "2024"})

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["period"] == {"from": "2024-01-01", "to": "2024-12-31", "as_of": "2024-12-31"}
    assert body["kpi"] == {
        "denominator": 8, "recently_certified": 1, "online": 4, "numerator": 2, "attested_only": 1,
        "rate": 0.25, "online_rate": 0.5,
    }  # fmt: skip
    assert body["services"] == {
        "denominator": 1, "recently_certified": 0, "online": 1, "numerator": 1, "attested_only": 0,
        "rate": 1.0, "online_rate": 1.0,
    }  # fmt: skip
    assert body["gaps"] == {
        "total": 6,
        "by_reason": {"not_listed": 1, "listing_rejected": 1, "listing_not_live": 1, "listing_unconfirmed": 1,
                      "no_completed_order": 2, "certificate_expiring": 1},
    }  # fmt: skip
    assert body["unresolved_producers"] == 0


def test_the_breakdowns_add_up_by_star_set_commune_and_channel(api, login):
    # given
    the_ten()
    client = login(officer_of_van_chan())

    # when
    body = client.get("/api/v1/kpi/online-with-sales/", {"scope": van_chan().pk, "period": "2024"}).json()

    # then
    def counts(rows):
        return {row["key"]: (row["denominator"], row["online"], row["numerator"]) for row in rows}

    breakdowns = body["breakdowns"]
    assert counts(breakdowns["star"]) == {"3": (7, 3, 1), "4": (1, 1, 1)}
    assert counts(breakdowns["product_set"]) == {11: (5, 3, 2), 3: (1, 0, 0), 4: (1, 0, 0), 1: (1, 1, 0)}
    assert counts(breakdowns["commune"]) == {"2025:04672": (5, 3, 1), "2025:04630": (3, 1, 1)}
    assert counts(breakdowns["legacy_commune"]) == {"legacy:04657": (5, 3, 1), "legacy:04630": (3, 1, 1)}
    assert counts(breakdowns["channel"]) == {"postmart": (8, 2, 1), "voso": (8, 1, 0), "storefront": (8, 1, 1)}
    storefront = next(row for row in breakdowns["channel"] if row["key"] == "storefront")
    assert storefront["attested_only"] == 1
    legacy = {row["key"]: row["name"] for row in breakdowns["legacy_commune"]}
    assert legacy["legacy:04657"] == "Xã Suối Giàng, Huyện Văn Chấn, Tỉnh Yên Bái"


def test_the_gap_list_names_each_products_reason(api, login):
    # given
    p = the_ten()
    client = login(officer_of_van_chan())

    # when
    response = client.get("/api/v1/kpi/gaps/", {"scope": van_chan().pk, "period": "2024", "page_size": 50})

    # then every product of N outside the numerator, most urgent reason first
    assert response.status_code == 200, response.content
    body = response.json()
    reasons = {row["product"]["name"]: [r["code"] for r in row["reasons"]] for row in body["results"]}
    assert body["count"] == 6
    assert reasons == {
        p["B"].name: ["not_listed"],
        p["C"].name: ["listing_rejected"],
        p["J"].name: ["listing_not_live", "certificate_expiring"],
        p["G"].name: ["listing_unconfirmed"],
        p["D"].name: ["no_completed_order"],
        p["E"].name: ["no_completed_order"],
    }
    assert [row["product"]["name"] for row in body["results"]][:3] == [p["B"].name, p["C"].name, p["J"].name]
    rejected = next(row for row in body["results"] if row["product"]["id"] == p["C"].pk)["reasons"][0]
    assert "Ảnh nhãn sản phẩm bị mờ" in rejected["message"]
    assert rejected["details"] == [{"channel": "voso", "reasons": BLURRY}]
    recent = next(row for row in body["results"] if row["product"]["id"] == p["B"].pk)
    assert recent["recently_certified"] is True
    unconfirmed = next(row for row in body["results"] if row["product"]["id"] == p["G"].pk)["reasons"][0]
    assert unconfirmed["details"][0]["channel"] == "postmart"
    assert unconfirmed["details"][0]["last_confirmed_at"].startswith("2023-11-20")


def test_the_gap_list_filters_by_reason_pages_and_has_a_services_line(api, login):
    # given
    p = the_ten()
    client = login(officer_of_van_chan())
    scope = van_chan().pk

    # when
    by_reason = client.get("/api/v1/kpi/gaps/", {"scope": scope, "period": "2024", "reason": "no_completed_order"})
    first_page = client.get("/api/v1/kpi/gaps/", {"scope": scope, "period": "2024", "page_size": 4})
    services = client.get("/api/v1/kpi/gaps/", {"scope": scope, "period": "2024", "line": "services"})

    # then
    assert {row["product"]["id"] for row in by_reason.json()["results"]} == {p["D"].pk, p["E"].pk}
    undone = next(row for row in by_reason.json()["results"] if row["product"]["id"] == p["E"].pk)
    assert "cancelled or returned" in undone["reasons"][0]["message"] or "hủy" in undone["reasons"][0]["message"]
    assert first_page.json()["count"] == 6 and len(first_page.json()["results"]) == 4
    assert first_page.json()["next"] is not None
    assert services.json()["count"] == 0  # the homestay is online with sales


def test_a_later_period_sees_the_listing_that_went_live_after_its_rejection(api, login):
    # given
    p = the_ten()
    client = login(officer_of_van_chan())

    # when the officer looks at the first quarter of 2025
    body = client.get("/api/v1/kpi/gaps/", {"scope": van_chan().pk, "period": "2025-Q1", "page_size": 50}).json()

    # then C is live on Voso (so no longer rejected), and J's certificate ran out in February: not in N
    codes = {row["product"]["id"]: row["reasons"][0]["code"] for row in body["results"]}
    assert codes[p["C"].pk] == "no_completed_order"
    assert p["J"].pk not in codes


def test_the_online_rate_is_published_for_a_single_channel_too(api, login):
    # given
    the_ten()
    client = login(officer_of_van_chan())

    # when only the storefront counts
    body = client.get(
        "/api/v1/kpi/online-with-sales/", {"scope": van_chan().pk, "period": "2024", "channels": "storefront"}
    ).json()

    # then F alone is online with sales there
    assert (body["kpi"]["online"], body["kpi"]["numerator"], body["kpi"]["rate"]) == (1, 1, 0.125)
    assert [row["key"] for row in body["breakdowns"]["channel"]] == ["storefront"]


def test_the_funnel_counts_producers_step_by_step(api, login):
    # given the ten products of two producers, and a third producer with no product
    the_ten()
    a_maker("04657")
    client = login(officer_of_van_chan())

    # when
    response = client.get("/api/v1/kpi/funnel/", {"scope": van_chan().pk, "period": "2024"})

    # then both producers with products go all the way (A and F sold); the third stops at registration
    assert response.status_code == 200, response.content
    steps = {row["step"]: (row["producers"], row["conversion"]) for row in response.json()["steps"]}
    assert steps == {
        "registered": (3, None),
        "with_product": (2, 0.6667),
        "ocop_verified": (2, 1.0),
        "ready": (2, 1.0),
        "live": (2, 1.0),
        "with_sale": (2, 1.0),
    }


def test_the_trend_gives_the_kpi_of_each_month(api, login):
    # given
    the_ten()
    client = login(officer_of_van_chan())

    # when
    response = client.get(
        "/api/v1/kpi/trend/", {"scope": van_chan().pk, "from": "2024-01-01", "to": "2024-12-31", "interval": "month"}
    )

    # then twelve months; F sold in August (attested), A in December; B counts from December
    assert response.status_code == 200, response.content
    months = {row["from"][:7]: row for row in response.json()["buckets"]}
    assert len(months) == 12
    assert (months["2024-08"]["numerator"], months["2024-08"]["attested_only"]) == (1, 1)
    assert (months["2024-12"]["denominator"], months["2024-12"]["numerator"]) == (8, 1)
    assert months["2024-11"]["denominator"] == 7
    assert months["2024-01"]["numerator"] == 0
    # sales net of returns: E's July sale was returned, A's December one only after; F's August one stands
    assert (months["2024-07"]["lines"], months["2024-08"]["gmv_vnd"]) == (0, 150000)
    assert months["2024-12"]["gmv_vnd"] == 0  # A's sale was returned since: net of returns as of today
    assert months["2024-06"]["lines"] == 1  # the homestay's sale (services count in the sales)


def test_the_trend_by_quarter_counts_distinct_products_per_quarter(api, login):
    # given
    the_ten()
    client = login(officer_of_van_chan())

    # when
    response = client.get("/api/v1/kpi/trend/", {"scope": van_chan().pk, "period": "2024", "interval": "quarter"})

    # then H (sold in February, valid until June) in Q1; F (August, attested) in Q3; A (December) in Q4
    quarters = [(row["from"], row["denominator"], row["numerator"]) for row in response.json()["buckets"]]
    assert quarters == [("2024-01-01", 8, 1), ("2024-04-01", 8, 0), ("2024-07-01", 7, 1), ("2024-10-01", 8, 1)]
