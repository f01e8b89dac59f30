"""API routes of this app, included under /api/v1/ by marketplace/urls.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path("gis/", apis.GiListApi.as_view(), name="gi-list"),
    path("gis/<int:pk>/", apis.GiDetailApi.as_view(), name="gi-detail"),
    path("products/<int:pk>/gi-claims/", apis.ProductGiClaimListApi.as_view(), name="product-gi-claims"),
    path("gi-claims/<int:pk>/verify/", apis.GiClaimVerifyApi.as_view(), name="gi-claim-verify"),
    path("producers/<int:pk>/gi-use-rights/", apis.ProducerGiUseRightListApi.as_view(), name="producer-gi-use-rights"),
]
