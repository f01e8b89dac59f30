"""API routes of photos, included under /api/v1/ by marketplace/urls.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path("products/<int:pk>/photos/", apis.ProductPhotoListApi.as_view(), name="product-photos"),
    path("photos/<int:pk>/", apis.PhotoDetailApi.as_view(), name="photo-detail"),
    path("photos/<int:pk>/files/<slug:name>/", apis.PhotoFileApi.as_view(), name="photo-file"),
]
