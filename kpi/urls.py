"""API routes of the KPI, included under /api/v1/ by marketplace/urls.py."""

from django.urls import path

from . import apis

urlpatterns = [
    path("kpi/online-with-sales/", apis.KpiOnlineWithSalesApi.as_view(), name="kpi-online-with-sales"),
    path("kpi/gaps/", apis.KpiGapsApi.as_view(), name="kpi-gaps"),
    path("kpi/funnel/", apis.KpiFunnelApi.as_view(), name="kpi-funnel"),
    path("kpi/trend/", apis.KpiTrendApi.as_view(), name="kpi-trend"),
    path("kpi/refresh/", apis.KpiRefreshApi.as_view(), name="kpi-refresh"),
]
