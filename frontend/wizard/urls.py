"""The producers' onboarding wizard, under /nha-san-xuat/ (Vietnamese paths, as people read them)."""

from django.urls import path

from . import views

app_name = "wizard"

urlpatterns = [
    path("", views.home, name="home"),
    path("chon/", views.choose, name="choose"),
    path("ho-so/", views.profile, name="profile"),
    path("dia-danh/", views.places, name="places"),
    path("san-pham/moi/", views.product_new, name="product-new"),
    path("san-pham/<int:product_id>/", views.product, name="product"),
    path("san-pham/<int:product_id>/anh/", views.photos, name="photos"),
    path("san-pham/<int:product_id>/ocop/", views.certificate, name="certificate"),
    path("san-pham/<int:product_id>/gui-duyet/", views.product_submit, name="product-submit"),
    path("san-pham/<int:product_id>/dua-len-san/", views.product_push, name="product-push"),
]
