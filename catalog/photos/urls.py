"""API routes of photos, included under /api/v1/ by marketplace/urls.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path("products/<int:pk>/photos/", apis.ProductPhotoListApi.as_view(), name="product-photos"),
    path("photos/<int:pk>/", apis.PhotoDetailApi.as_view(), name="photo-detail"),
    # <str:name>: derivative names contain a dot ("w800.webp"); the version segment is the file's digest,
    # so that the URL changes when the file does and the long cache is safe.
    path("photos/<int:pk>/files/<str:name>/<str:version>/", apis.PhotoFileApi.as_view(), name="photo-file"),
]
