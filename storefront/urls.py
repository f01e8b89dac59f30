"""The storefront's pages, under /cua-hang/ (Vietnamese, as buyers read it)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.product_list, name="storefront-home"),
    path("san-pham/<int:product_id>/", views.product_detail, name="storefront-product"),
    path("mua/", views.checkout, name="storefront-checkout"),
    path("don-hang/<str:ref>/<str:token>/", views.order_status, name="storefront-order"),
    path("don-hang/<str:ref>/<str:token>/thanh-toan/", views.order_pay_again, name="storefront-order-pay"),
    path("don-hang/<str:ref>/<str:token>/xac-thuc/", views.order_authenticate, name="storefront-order-authenticate"),
]
