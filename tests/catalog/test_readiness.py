"""Readiness per channel: profiles are data; what is missing is said in plain words, Vietnamese first."""

import pytest

from catalog.models import ChannelRequirement, ProductReadiness
from catalog.services import product_create, sku_create
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.factories import producer, product_set, unit, user_with_role

pytestmark = pytest.mark.django_db

PACKAGE = {"net_quantity": 500, "net_unit": "g", "weight_grams": 620, "length_cm": 20, "width_cm": 12,
           "height_cm": 8, "price_vnd": 150000, "stock": 10}  # fmt: skip


@pytest.fixture
def tea():
    cooperative = producer(legal_name="Hợp tác xã Chè Suối Giàng")
    return product_create(
        producer=cooperative,
        name="Chè Shan tuyết",
        product_set=product_set(11),
        description="Chè Shan tuyết cổ thụ hái tay trên núi cao Suối Giàng.",
        shelf_life_days=365,
        origin_commune=unit(CodeSystem.LEGACY, Level.COMMUNE, "04657"),
    )


def test_readiness_says_what_is_missing_in_plain_vietnamese_and_in_english(api, login, tea):
    # given a product with its information but no package, photo, paper or certificate
    login(user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]))

    # when its readiness is asked for, in Vietnamese then in English
    vietnamese = {c["channel"]: c for c in api.get(f"/api/v1/products/{tea.pk}/readiness/").json()["channels"]}
    english = {
        c["channel"]: c
        for c in api.get(f"/api/v1/products/{tea.pk}/readiness/", HTTP_ACCEPT_LANGUAGE="en").json()["channels"]
    }

    # then each channel has a score, is not ready, and lists the missing items in the reader's language
    postmart = vietnamese["postmart"]
    assert postmart["ready"] is False
    assert 0 < postmart["score"] < 100
    assert "Thiếu ảnh nhãn sau (cần để người mua đọc hạn sử dụng)" in postmart["missing"]
    assert "Chưa có quy cách đóng gói và giá bán" in postmart["missing"]
    assert "Missing a photo of the back label (buyers read the expiry date there)" in english["postmart"]["missing"]
    assert set(vietnamese) == {"postmart", "voso", "storefront"}


def test_the_score_is_satisfied_over_required_and_a_package_raises_it(tea):
    requirements = ChannelRequirement.objects.filter(profile__channel="postmart", profile__product_set_number=None)
    before = ProductReadiness.objects.get(product=tea, channel="postmart")

    sku_create(product=tea, **PACKAGE)

    after = ProductReadiness.objects.get(product=tea, channel="postmart")
    met_before = 3  # description, shelf life, origin
    assert before.score == round(100 * met_before / requirements.count())
    assert after.score == round(100 * (met_before + 2) / requirements.count())  # a package, in stock
    assert {"kind": "sku", "key": "any"} not in after.missing


def test_the_product_list_filters_on_readiness(api, login, tea):
    login(user_with_role("superuser"))

    not_ready = api.get("/api/v1/products/", {"not_ready_for": "storefront"}).json()
    ready = api.get("/api/v1/products/", {"ready_for": "storefront"}).json()

    assert [p["id"] for p in not_ready["results"]] == [tea.pk]
    assert ready["count"] == 0


def test_an_unknown_requirement_key_is_refused_in_the_admin():
    from django.core.exceptions import ValidationError

    requirement = ChannelRequirement(
        profile=ChannelRequirement.objects.first().profile, kind="photo", key="selfie", label_vi="x", label_en="x"
    )

    with pytest.raises(ValidationError) as error:
        requirement.full_clean()

    assert "key" in error.value.message_dict


def test_a_food_safety_paper_satisfies_the_document_item(tea):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from catalog.documents.services import document_create

    # when the cooperative uploads its food-safety self-declaration
    document_create(
        producer=tea.producer,
        doc_type="food_safety_self_declaration",
        file=SimpleUploadedFile("tu-cong-bo.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"),
    )

    # then the document item is no longer missing for Postmart
    assert {"kind": "document", "key": "food_safety"} not in ProductReadiness.objects.get(
        product=tea, channel="postmart"
    ).missing


def test_a_verified_certificate_satisfies_the_ocop_item_and_the_star_filter(api, login, tea):
    from datetime import timedelta

    from django.utils import timezone

    from catalog.ocop.services import ocop_certificate_create, ocop_certificate_verify

    # given a 4★ certificate decided by the province 100 days ago
    officer = user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])
    certificate = ocop_certificate_create(
        product=tea,
        star="4",
        decision_number="4894/QĐ-UBND",
        decision_date=timezone.localdate() - timedelta(days=100),
        issuing_level="province",
        issuing_body="UBND tỉnh Lào Cai",
    )
    ocop_item = {"kind": "ocop", "key": "verified"}
    assert ocop_item in ProductReadiness.objects.get(product=tea, channel="storefront").missing

    # when an officer verifies it
    ocop_certificate_verify(certificate=certificate, officer=officer, decision="verified")

    # then it counts: the OCOP item is satisfied and the product is listed as 4★
    assert ocop_item not in ProductReadiness.objects.get(product=tea, channel="storefront").missing
    login(officer)
    assert [p["id"] for p in api.get("/api/v1/products/", {"star": "4"}).json()["results"]] == [tea.pk]
    assert api.get("/api/v1/products/", {"star": "3"}).json()["count"] == 0
