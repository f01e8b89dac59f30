"""API routes of this app, included under /api/v1/ by marketplace/urls.py."""

urlpatterns = []
