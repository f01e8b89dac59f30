from django.urls import path

from . import apis

urlpatterns = [
    path("orders/", apis.OrderListApi.as_view(), name="order-list"),
    path("orders/import/", apis.OrderImportApi.as_view(), name="order-import"),
    path("orders/attest/", apis.OrderAttestApi.as_view(), name="order-attest"),
    path("orders/<int:pk>/", apis.OrderDetailApi.as_view(), name="order-detail"),
]
