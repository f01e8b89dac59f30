"""API routes of this app, included under /api/v1/ by marketplace/urls.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path(
        "products/<int:pk>/ocop-certificates/",
        apis.ProductCertificateListApi.as_view(),
        name="product-ocop-certificates",
    ),
    path("ocop-certificates/", apis.CertificateListApi.as_view(), name="ocop-certificate-list"),
    path("ocop-certificates/<int:pk>/", apis.CertificateDetailApi.as_view(), name="ocop-certificate-detail"),
    path("ocop-certificates/<int:pk>/scan/", apis.CertificateScanApi.as_view(), name="ocop-certificate-scan"),
    path("ocop-certificates/<int:pk>/verify/", apis.CertificateVerifyApi.as_view(), name="ocop-certificate-verify"),
]
