from django.contrib import admin
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog import apis as catalog
from integrations import file_views as integration_files
from integrations import webhooks as integration_webhooks
from marketplace.accounts import apis as accounts
from marketplace.core.errors import api_not_found
from marketplace.core.views import healthz, readyz
from marketplace.places import apis as places
from storefront import webhooks as storefront_webhooks


class CodeSystemConverter:
    regex = "2025|legacy"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class UnitCodeConverter(CodeSystemConverter):
    regex = "[0-9]{1,8}"


# Anything else in these positions falls through to the API's JSON 404 below.
register_converter(CodeSystemConverter, "codesystem")
register_converter(UnitCodeConverter, "unitcode")

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("auth/token/", accounts.TokenApi.as_view(), name="auth-token"),
    path("places/", places.PlaceListApi.as_view(), name="place-list"),
    path("places/<codesystem:system>/<unitcode:code>/", places.PlaceDetailApi.as_view(), name="place-detail"),
    path("scopes/", places.NamedScopeListApi.as_view(), name="scope-list"),
    path("scopes/<int:pk>/", places.NamedScopeDetailApi.as_view(), name="scope-detail"),
    path("producers/", catalog.ProducerListApi.as_view(), name="producer-list"),
    path("producers/<int:pk>/", catalog.ProducerDetailApi.as_view(), name="producer-detail"),
    path("producers/<int:pk>/members/", catalog.ProducerMemberListApi.as_view(), name="producer-members"),
    path("product-sets/", catalog.ProductSetListApi.as_view(), name="product-set-list"),
    path("products/", catalog.ProductListApi.as_view(), name="product-list"),
    path("products/<int:pk>/", catalog.ProductDetailApi.as_view(), name="product-detail"),
    path("products/<int:pk>/readiness/", catalog.ProductReadinessApi.as_view(), name="product-readiness"),
    path("products/<int:pk>/skus/", catalog.SkuListApi.as_view(), name="sku-list"),
    path("products/<int:pk>/skus/<int:sku_id>/", catalog.SkuDetailApi.as_view(), name="sku-detail"),
    path("users/", accounts.UserListApi.as_view(), name="user-list"),
    path("users/<int:pk>/", accounts.UserDetailApi.as_view(), name="user-detail"),
    path("role-assignments/", accounts.RoleAssignmentListApi.as_view(), name="role-assignment-list"),
    path(
        "role-assignments/<int:pk>/",
        accounts.RoleAssignmentDetailApi.as_view(),
        name="role-assignment-detail",
    ),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/v1/", include("catalog.documents.urls")),
    path("api/v1/", include("catalog.ocop.urls")),
    path("api/v1/", include("catalog.gis.urls")),
    path("api/v1/", include("catalog.photos.urls")),
    path("api/v1/", include("integrations.urls")),
    path("api/v1/", include("kpi.urls")),
    path("api/v1/", include("storefront.api_urls")),
    path("api/v1/", include("sales.urls")),
    path("webhooks/postmart/", integration_webhooks.postmart_webhook, name="webhook-postmart"),
    path("webhooks/voso/", integration_webhooks.voso_webhook, name="webhook-voso"),
    path("webhooks/stripe/", storefront_webhooks.stripe_webhook, name="webhook-stripe"),
    path("exports/photos/<str:token>/", integration_files.photo_export, name="photo-export"),
    # Anything else under /api/ answers the API's JSON 404, never Django's HTML page.
    re_path(r"^api/", api_not_found),
    path("i18n/", include("django.conf.urls.i18n")),
    path("cua-hang/", include("storefront.urls")),  # the province storefront (public pages)
    path("", include("frontend.urls")),
]

handler400 = "marketplace.core.errors.bad_request"
handler500 = "marketplace.core.errors.server_error"
# MEDIA_ROOT is never served as such, even in development: it holds private documents and originals.
# Files go out through views that check scope (e.g. /api/v1/documents/<id>/file/).
