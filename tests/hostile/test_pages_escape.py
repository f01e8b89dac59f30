"""Names written by hostile hands are shown, escaped, on every page that shows them; never run as markup."""

import html

import pytest
from django.test import Client

from catalog.models import Producer, Product
from marketplace.accounts.models import Role
from tests.hostile.world import build_world

pytestmark = pytest.mark.django_db

PROBES = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>"]


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("probe", PROBES)
def test_a_hostile_product_or_producer_name_is_escaped_on_every_page_that_shows_it(probe):
    # given a producer and a product (approved, on the storefront) named by an attacker
    world = build_world(name=probe)
    product = Product.objects.get(pk=world.ids["product"][0])
    Product.objects.filter(pk=product.pk).update(status="approved")
    Producer.objects.filter(pk=product.producer_id).update(legal_name=probe, trade_name=probe)
    escaped = html.escape(probe, quote=True)
    member, officer = Client(), Client()
    member.force_login(world.users[Role.PRODUCER_MEMBER])
    officer.force_login(world.users[Role.OFFICER])
    team = Client()
    team.force_login(world.users[Role.COMMUNITY_TEAM])

    # when every page that shows them is opened
    pages = {
        "storefront": page(Client(), "/cua-hang/"),
        "storefront product": page(Client(), f"/cua-hang/san-pham/{product.pk}/"),
        "wizard home": page(member, "/nha-san-xuat/"),
        "wizard product": page(member, f"/nha-san-xuat/san-pham/{product.pk}/"),
        "wizard photos": page(member, f"/nha-san-xuat/san-pham/{product.pk}/anh/"),
        "wizard certificate": page(member, f"/nha-san-xuat/san-pham/{product.pk}/ocop/"),
        "wizard profile": page(member, "/nha-san-xuat/ho-so/"),
        "wizard choose": page(team, "/nha-san-xuat/chon/"),
        "dashboard queues": page(officer, "/can-bo/xac-minh/"),
        "dashboard commune": page(officer, f"/can-bo/xa/2025/{product.producer.current_commune.code}/"),
    }

    # then the raw probe is never in them, and the escaped one is where the name is shown
    for name, content in pages.items():
        assert probe not in content, name
    escaped_text = html.escape(probe, quote=False)  # between tags Django may leave quotes as they are
    shown = [name for name, content in pages.items() if escaped in content or escaped_text in content]
    assert len(shown) >= 8, sorted(set(pages) - set(shown))
