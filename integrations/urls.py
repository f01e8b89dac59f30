from django.urls import path

from . import apis

urlpatterns = [
    path("channels/", apis.ChannelListApi.as_view(), name="channel-list"),
    path("listings/", apis.ListingListApi.as_view(), name="listing-list"),
    path("listings/bulk/", apis.BulkApi.as_view(), name="listing-bulk"),
    path("listings/bulk/<int:pk>/", apis.BulkDetailApi.as_view(), name="listing-bulk-detail"),
    path("listings/<uuid:pk>/", apis.ListingDetailApi.as_view(), name="listing-detail"),
    path("listings/<uuid:pk>/unlist/", apis.ListingUnlistApi.as_view(), name="listing-unlist"),
    path("listings/<uuid:pk>/retry/", apis.ListingRetryApi.as_view(), name="listing-retry"),
    path("products/<int:pk>/listings/", apis.ProductListingsApi.as_view(), name="product-listings"),
]
