"""The producers' onboarding wizard through Django's test client: every page without JavaScript."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext

from catalog.models import Product, Sku
from catalog.photos.models import ProductPhoto
from integrations.models import ChannelConnection, ConnectionKind, Listing
from marketplace.accounts.models import Role
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level
from tests.factories import producer, product_set, unit, user_with_role
from tests.integrations.marketplaces import lao_cai, photo, ready_product

pytestmark = pytest.mark.django_db

VAN_CHAN = (CodeSystem.LEGACY, Level.DISTRICT, "140")  # the former Văn Chấn district of old Yên Bái


def vi(text: str) -> str:
    with translation.override("vi"):
        return gettext(text)


@pytest.fixture
def helper():
    return user_with_role(Role.COMMUNITY_TEAM, units=[unit(*VAN_CHAN)])


@pytest.fixture
def household():
    return producer(kind="cooperative", legal_name="Hợp tác xã Chè Suối Giàng")


def signed_in(client, user):
    client.force_login(user)
    return client


def choose(client, chosen):
    return client.post("/nha-san-xuat/chon/", {"producer": chosen.pk})


def product_form(**changes):
    form = {
        "name": "Chè Shan tuyết Suối Giàng", "product_set": "2", "description": "Chè búp Shan tuyết cổ thụ.",
        "ingredients": "Búp chè", "storage": "Nơi khô ráo", "shelf_life_days": "365", "net_quantity": "200",
        "net_unit": "g", "price_vnd": "150.000", "stock": "40", "weight_grams": "300", "length_cm": "10",
        "width_cm": "8", "height_cm": "15",
    }  # fmt: skip
    return {**form, **changes}


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    # when
    response = client.get("/nha-san-xuat/")

    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/dang-nhap/?next=/nha-san-xuat/")


def test_a_helper_picks_a_producer_of_their_area_and_every_page_says_for_whom(client, helper, household):
    # given
    signed_in(client, helper)
    assert client.get("/nha-san-xuat/")["Location"] == "/nha-san-xuat/chon/"
    listed = client.get("/nha-san-xuat/chon/?q=che suoi giang").content.decode()
    assert "Hợp tác xã Chè Suối Giàng" in listed

    # when
    response = choose(client, household)

    # then
    assert response.status_code == 302 and response["Location"] == "/nha-san-xuat/"
    banner = vi("Working on behalf of: %(name)s") % {"name": "Hợp tác xã Chè Suối Giàng"}
    assert banner == "Đang thao tác thay cho: Hợp tác xã Chè Suối Giàng"  # the words the issue asks for
    for path in ("/nha-san-xuat/", "/nha-san-xuat/ho-so/", "/nha-san-xuat/san-pham/moi/"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert banner in page.content.decode(), path


def test_a_producer_outside_the_helpers_area_is_not_found(client, helper):
    # given a producer in Hà Nội
    far = producer(legal_name="Hợp tác xã Phúc Xá", commune_as_captured=unit(CodeSystem.LEGACY, Level.COMMUNE, "00001"))
    signed_in(client, helper)

    # when
    response = choose(client, far)

    # then
    assert response.status_code == 404
    assert "Phúc Xá" not in client.get("/nha-san-xuat/chon/").content.decode()
    assert client.session.get("wizard_producer_id") is None


def test_a_producer_member_goes_straight_to_their_own_producer_without_the_banner(client, household):
    # given
    from catalog.services import producer_member_add

    member = user_with_role(Role.PRODUCER_MEMBER)
    producer_member_add(producer=household, user=member)
    signed_in(client, member)

    # when
    page = client.get("/nha-san-xuat/")

    # then
    assert page.status_code == 200
    assert "Hợp tác xã Chè Suối Giàng" in page.content.decode()
    assert 'class="acting"' not in page.content.decode()


def test_the_place_search_finds_tu_le_without_accents_and_legacy_names_show_today_s_commune(client, helper):
    # given
    signed_in(client, helper)

    # when
    fragment = client.get("/nha-san-xuat/dia-danh/", {"place_q": "tu le"}).content.decode()

    # then
    assert "Xã Tú Lệ, Lào Cai" in fragment
    assert 'value="2025:' in fragment
    assert vi("old name") in fragment and vi("today:") in fragment  # the legacy Xã Tú Lệ, with its current unit


def test_the_profile_search_works_without_javascript_and_saves_the_picked_commune(client, helper, household):
    # given
    signed_in(client, helper)
    choose(client, household)
    tu_le = AdministrativeUnit.objects.get(system=CodeSystem.CURRENT, level=Level.COMMUNE, name="Xã Tú Lệ")
    form = {"kind": "cooperative", "legal_name": "Hợp tác xã Chè Suối Giàng", "phone": "0912345678"}

    # when they search with the button, then pick and save
    found = client.post("/nha-san-xuat/ho-so/", {**form, "place_q": "tu le", "find_place": "1"})
    saved = client.post("/nha-san-xuat/ho-so/", {**form, "place": f"2025:{tu_le.code}", "save": "1"})

    # then
    assert found.status_code == 200 and "Xã Tú Lệ, Lào Cai" in found.content.decode()
    assert saved.status_code == 302
    household.refresh_from_db()
    assert household.commune_as_captured == tu_le and household.current_commune == tu_le
    assert household.phone == "+84912345678"


def test_a_legacy_commune_is_accepted_and_shown_with_its_current_unit(client, helper, household):
    # given
    signed_in(client, helper)
    choose(client, household)

    # when
    page = client.get("/nha-san-xuat/ho-so/").content.decode()

    # then the captured legacy Suối Giàng is checked, with what it is today
    assert 'value="legacy:04657" checked' in page
    assert household.current_commune.display_name in page


def test_a_product_priced_150_000_is_saved_as_150000_dong_and_shown_with_separators(client, helper, household):
    # given
    signed_in(client, helper)
    choose(client, household)

    # when
    response = client.post("/nha-san-xuat/san-pham/moi/", product_form(price_vnd="150.000"))
    plain = client.post("/nha-san-xuat/san-pham/moi/", product_form(name="Chè xanh", price_vnd="90000"))

    # then
    assert response.status_code == 302 and plain.status_code == 302
    tea = Product.objects.get(name="Chè Shan tuyết Suối Giàng")
    assert tea.producer == household and tea.product_set == product_set(2)
    assert list(Sku.objects.filter(product=tea).values_list("price_vnd", flat=True)) == [150_000]
    assert Sku.objects.get(product__name="Chè xanh").price_vnd == 90_000
    assert "150.000 ₫" in client.get(f"/nha-san-xuat/san-pham/{tea.pk}/").content.decode()


def test_a_wrong_price_is_said_next_to_the_field_and_nothing_is_saved(client, helper, household):
    # given
    signed_in(client, helper)
    choose(client, household)

    # when
    response = client.post("/nha-san-xuat/san-pham/moi/", product_form(price_vnd="150.5"))

    # then
    page = response.content.decode()
    assert response.status_code == 400
    assert vi("Write the price in whole đồng, for example 150.000.") in page
    assert 'aria-invalid="true"' in page and 'value="150.5"' in page
    assert not Product.objects.exists()


def test_a_package_the_service_refuses_leaves_no_product_half_saved(client, helper, household, monkeypatch):
    # given a package refused by the service after the product passed
    from catalog import services

    def refuse(**kwargs):
        raise ValidationError({"price_vnd": ["Giá không hợp lệ."]})

    monkeypatch.setattr(services, "sku_create", refuse)
    signed_in(client, helper)
    choose(client, household)

    # when
    response = client.post("/nha-san-xuat/san-pham/moi/", product_form())

    # then
    assert response.status_code == 400 and "Giá không hợp lệ." in response.content.decode()
    assert not Product.objects.exists()


def test_a_photo_posted_without_javascript_is_accepted(client, helper, household):
    # given
    signed_in(client, helper)
    choose(client, household)
    client.post("/nha-san-xuat/san-pham/moi/", product_form())
    tea = Product.objects.get()

    # when
    response = client.post(f"/nha-san-xuat/san-pham/{tea.pk}/anh/", {"role": "front", "image": photo(7)})

    # then
    assert response.status_code == 302
    assert ProductPhoto.objects.get(product=tea).role == "front"
    page = client.get(f"/nha-san-xuat/san-pham/{tea.pk}/anh/").content.decode()
    assert 'capture="environment"' in page and 'accept="image/*"' in page


def test_a_refused_photo_is_said_next_to_the_field(client, helper, household):
    # given
    signed_in(client, helper)
    choose(client, household)
    client.post("/nha-san-xuat/san-pham/moi/", product_form())
    tea = Product.objects.get()

    # when a front photo too small to read is sent, by the script (JSON) and without it
    small = photo(8, size=300)
    scripted = client.post(f"/nha-san-xuat/san-pham/{tea.pk}/anh/", {"role": "front", "image": small},
                           HTTP_X_REQUESTED_WITH="XMLHttpRequest")  # fmt: skip
    plain = client.post(f"/nha-san-xuat/san-pham/{tea.pk}/anh/", {"role": "front", "image": photo(8, size=300)})

    # then
    assert scripted.status_code == 400 and "image" in scripted.json()["errors"]
    assert plain.status_code == 400 and 'role="alert"' in plain.content.decode()
    assert not ProductPhoto.objects.exists()


def test_the_push_button_queues_the_listing_and_pushes_it_after_commit(
    client, helper, django_capture_on_commit_callbacks
):
    # given an approved product ready for Voso and a booth for the province
    product, _certificate = ready_product()
    ChannelConnection.objects.create(
        channel="voso", kind=ConnectionKind.SHARED_BOOTH, name="Gian hàng OCOP Lào Cai", area=lao_cai(),
        base_url="http://127.0.0.1:9", shop_id="1", credentials={},
    )  # fmt: skip
    signed_in(client, helper)
    choose(client, product.producer)
    page = client.get(f"/nha-san-xuat/san-pham/{product.pk}/").content.decode()
    assert "Voso" in page and vi("Not on any marketplace yet.") in page

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/nha-san-xuat/san-pham/{product.pk}/dua-len-san/", {"channel": "voso"})

    # then
    assert response.status_code == 302
    listing = Listing.objects.get(product=product, channel="voso")
    assert listing.state == "queued" and listing.created_by == helper
    assert len(callbacks) == 1  # the push waits for the commit
    assert listing.get_state_display() in client.get(f"/nha-san-xuat/san-pham/{product.pk}/").content.decode()


def test_a_product_not_ready_says_what_is_missing_and_queues_nothing(client, helper, household):
    # given
    signed_in(client, helper)
    choose(client, household)
    client.post("/nha-san-xuat/san-pham/moi/", product_form())
    tea = Product.objects.get()

    # when
    response = client.post(f"/nha-san-xuat/san-pham/{tea.pk}/dua-len-san/", {"channel": "voso"}, follow=True)

    # then
    assert vi("Only a product approved by an officer can be put on a marketplace.") in response.content.decode()
    assert not Listing.objects.exists()
    assert "Thiếu ảnh mặt trước sản phẩm" in response.content.decode()  # the checklist, in plain words


def test_the_wizard_pages_cost_a_fixed_number_of_queries(client, helper, household, django_assert_max_num_queries):
    # given
    signed_in(client, helper)
    choose(client, household)
    for name in ("Chè một", "Chè hai", "Chè ba"):
        client.post("/nha-san-xuat/san-pham/moi/", product_form(name=name))

    # then the product list does not grow with the products
    with django_assert_max_num_queries(12):
        assert client.get("/nha-san-xuat/").status_code == 200
