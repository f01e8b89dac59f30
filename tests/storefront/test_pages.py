"""The storefront's public pages: what a buyer sees, accent-insensitive search, and a constant number of
queries whatever the number of products (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.models import Listing

from .helpers import quick_on_sale

pytestmark = pytest.mark.django_db


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_list_shows_each_product_with_photo_star_gi_producer_commune_and_price(client):
    # given a honey with a verified GI and a 4-star certificate, on sale at 150,000 đồng
    listing = quick_on_sale("Mật ong bạc hà Mù Cang Chải", price=150_000, gi_slug="mu-cang-chai-mat-ong")

    # when a buyer opens the storefront
    page = client.get("/cua-hang/").content.decode()

    # then the card shows all a buyer looks for, price in Vietnamese format
    assert "Mật ong bạc hà Mù Cang Chải" in page
    assert "150.000 ₫" in page
    assert "★★★★" in page
    assert "Mù Cang Chải" in page.split("Mật ong bạc hà Mù Cang Chải", 1)[1]  # the GI tag
    assert listing.product.producer.legal_name in page
    assert listing.product.producer.current_commune.name in page
    assert "/files/w320/" in page and "/files/w320.webp/" in page  # the small derivative, not the master


def test_search_ignores_accents_and_word_order(client):
    # given a honey and a tea on sale
    quick_on_sale("Mật ong hoa bạc hà")
    quick_on_sale("Chè Shan tuyết Suối Giàng")

    # when a buyer types without accents
    honey = client.get("/cua-hang/", {"q": "mat ong bac ha"}).content.decode()
    tea = client.get("/cua-hang/", {"q": "SUOI GIANG che"}).content.decode()
    none = client.get("/cua-hang/", {"q": "ca phe"}).content.decode()

    # then each finds its own product only
    assert "Mật ong hoa bạc hà" in honey and "Chè Shan tuyết" not in honey
    assert "Chè Shan tuyết Suối Giàng" in tea and "Mật ong" not in tea
    assert "Mật ong" not in none and "Chè" not in none


def test_only_live_storefront_listings_are_shown_and_a_withdrawn_product_page_is_404(client):
    # given one product on sale and one withdrawn
    shown = quick_on_sale("Gạo nếp Tú Lệ")
    hidden = quick_on_sale("Quế Văn Yên")
    Listing.objects.filter(pk=hidden.pk).update(state="delisted")

    # when a buyer looks
    page = client.get("/cua-hang/").content.decode()

    # then only the live one is listed, and the other's page and checkout are not found
    assert "Gạo nếp Tú Lệ" in page and "Quế Văn Yên" not in page
    assert client.get(f"/cua-hang/san-pham/{shown.product_id}/").status_code == 200
    assert client.get(f"/cua-hang/san-pham/{hidden.product_id}/").status_code == 404
    assert client.get("/cua-hang/mua/", {"listing": hidden.pk}).status_code == 404


def test_the_list_and_the_product_page_cost_the_same_queries_for_2_or_8_products(client):
    # given two products on sale, then six more
    first = [quick_on_sale(f"Sản phẩm {i}", gi_slug="tu-le-gao-nep") for i in range(2)]
    few = queries_for(client, "/cua-hang/")
    product_page = queries_for(client, f"/cua-hang/san-pham/{first[0].product_id}/")
    for i in range(6):
        quick_on_sale(f"Sản phẩm thêm {i}", gi_slug="tu-le-gao-nep")

    # when the list is read again
    many = queries_for(client, "/cua-hang/")

    # then no query per product: products, count, photos, GIs (and the session, at most)
    assert many == few and many <= 6
    assert product_page <= 6
