"""API routes of this app, included under /api/v1/ by marketplace/urls.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path("producers/<int:pk>/documents/", apis.ProducerDocumentListApi.as_view(), name="producer-documents"),
    path("products/<int:pk>/documents/", apis.ProductDocumentListApi.as_view(), name="product-documents"),
    path("documents/<int:pk>/", apis.DocumentDetailApi.as_view(), name="document-detail"),
    path("documents/<int:pk>/file/", apis.DocumentFileApi.as_view(), name="document-file"),
]
