"""Storefront orders in the API: through the one scoping mechanism, buyers' personal data only for the producer's
members, officers of its area and administrators, and a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.accounts.models import Role
from storefront import services
from tests.factories import user_with_role
from tests.integrations.marketplaces import lao_cai

from .helpers import buyer_form, quick_on_sale

pytestmark = pytest.mark.django_db


def place(listing, **changes):
    form = buyer_form(listing, quantity="1", **changes)
    return services.checkout_place(
        listing_id=listing.pk, quantity=form["quantity"], buyer_name=form["buyer_name"], phone=form["phone"],
        address_line=form["address_line"], commune_id=form["commune"], payment_method=form["payment_method"],
    ).order  # fmt: skip


def test_who_sees_which_orders_and_whose_buyer(api, login):
    # given an order for each of two producers
    mine, theirs = quick_on_sale("Mật ong"), quick_on_sale("Chè")
    my_order, their_order = place(mine), place(theirs)
    member = user_with_role(Role.PRODUCER_MEMBER)
    mine.product.producer.memberships.create(user=member)
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    team = user_with_role(Role.COMMUNITY_TEAM, units=[lao_cai()])

    # when each reads the storefront orders
    as_member = login(member).get("/api/v1/storefront/orders/").json()["results"]
    theirs_for_member = login(member).get(f"/api/v1/storefront/orders/{their_order.external_id}/")
    as_officer = login(officer).get("/api/v1/storefront/orders/").json()["results"]
    as_team = login(team).get("/api/v1/storefront/orders/").json()["results"]
    api.credentials()
    anonymous = api.get("/api/v1/storefront/orders/")

    # then the member sees their own order with its buyer and not the other one (404, not 403)
    assert [row["ref"] for row in as_member] == [my_order.external_id]
    assert as_member[0]["buyer"]["phone"] == "+84912345678"
    assert theirs_for_member.status_code == 404
    # the officer of the area sees both, with buyers; the community team sees both, without
    assert {row["ref"] for row in as_officer} == {my_order.external_id, their_order.external_id}
    assert all(row["buyer"] and row["buyer"]["name"] == "Nguyễn Thị Hoa" for row in as_officer)
    assert len(as_team) == 2 and all(row["buyer"] is None for row in as_team)
    assert as_officer[0]["attempts"][0]["state"] == "creating"
    assert anonymous.status_code == 401


def test_the_order_list_costs_the_same_queries_for_2_or_6_orders(api, login):
    officer = login(user_with_role(Role.OFFICER, units=[lao_cai()]))

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert officer.get("/api/v1/storefront/orders/").status_code == 200
        return len(captured)

    for i in range(2):
        place(quick_on_sale(f"Sản phẩm {i}"))
    few = count()
    for i in range(4):
        place(quick_on_sale(f"Sản phẩm thêm {i}"))
    assert count() == few
