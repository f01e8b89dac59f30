"""API routes of the storefront, included under /api/v1/ by marketplace/urls.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path("storefront/orders/", apis.StorefrontOrderListApi.as_view(), name="storefront-order-list"),
    path("storefront/orders/<str:ref>/", apis.StorefrontOrderDetailApi.as_view(), name="storefront-order-detail"),
    path(
        "storefront/orders/<str:ref>/refund/", apis.StorefrontOrderRefundApi.as_view(), name="storefront-order-refund"
    ),
]
