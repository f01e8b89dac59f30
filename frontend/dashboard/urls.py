"""The officers' pages, under /can-bo/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("xa/<str:system>/<str:code>/", views.commune, name="dashboard-commune"),
    path("xac-minh/", views.queues, name="dashboard-queues"),
    path("xac-minh/chung-nhan-ocop/<int:pk>/", views.certificate_decide, name="dashboard-certificate-decide"),
    path("xac-minh/chi-dan-dia-ly/<int:pk>/", views.gi_claim_decide, name="dashboard-gi-claim-decide"),
    path("xac-minh/anh/<int:pk>/", views.photo_decide, name="dashboard-photo-decide"),
    path("nhap/", views.catalog_import_page, name="dashboard-import"),
    path("nhap/hoan-tac/", views.catalog_import_undo_page, name="dashboard-import-undo"),
]
