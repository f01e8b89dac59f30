"""Channels and listings API: thin views over integrations.sync.services."""

from django.conf import settings
from django.db.models import Count, Prefetch
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from catalog.models import Product, Sku
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import ScopedQuerysetMixin, scope_queryset, user_reach
from marketplace.core.api import StrictSerializer
from marketplace.core.errors import ServiceError
from marketplace.core.money import vnd_format
from marketplace.places.models import NamedScope

from .models import BulkPush, ChannelConnection, Listing, ListingAttempt, ListingEvent, ListingState, MarketChannel
from .selectors import listings_in_scope
from .sync import services
from .sync.reasons import reason_text


class ConnectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChannelConnection
        fields = ["id", "channel", "kind", "name", "producer", "area", "is_active"]


class ChannelSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=MarketChannel.choices)
    name = serializers.CharField()
    connections = ConnectionSerializer(many=True)


class ChannelListApi(ScopedQuerysetMixin, generics.ListAPIView):
    """The marketplaces the service pushes to, with the shops you can see on each."""

    queryset = ChannelConnection.objects.order_by("channel", "pk")
    serializer_class = ConnectionSerializer
    pagination_class = None

    @extend_schema(responses=ChannelSerializer(many=True))
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        connections = ConnectionSerializer(self.get_queryset(), many=True).data
        channels = [
            {
                "code": code,
                "name": label,
                "connections": [c for c in connections if c["channel"] == code],
            }
            for code, label in MarketChannel.choices
            if code in settings.CHANNEL_QUEUES
        ]
        return Response(channels)


class EventSerializer(serializers.ModelSerializer):
    reasons = serializers.SerializerMethodField()

    class Meta:
        model = ListingEvent
        fields = ["at", "from_state", "to_state", "note", "reasons"]

    def get_reasons(self, event) -> list[dict]:
        return [reason_text(r) for r in event.reasons]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = ListingAttempt
        fields = ["at", "operation", "method", "path", "request_summary", "http_status", "ok", "latency_ms",
                  "error_code", "error_message"]  # fmt: skip


class ListingSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")
    reasons = serializers.SerializerMethodField()
    producer = serializers.IntegerField(source="product.producer_id")
    price = serializers.SerializerMethodField()

    class Meta:
        model = Listing
        fields = [
            "id", "product", "sku", "producer", "channel", "connection", "state", "state_label",
            "state_changed_at", "external_id", "seller_sku", "remote_status", "reasons", "price",
            "desired_stock", "last_error", "created_at", "updated_at",
        ]  # fmt: skip

    def get_reasons(self, listing) -> list[dict]:
        return [reason_text(r) for r in listing.reasons]

    def get_price(self, listing) -> dict | None:
        if listing.desired_price is None:
            return None
        return {"vnd": listing.desired_price, "display": vnd_format(listing.desired_price)}


class ListingDetailSerializer(ListingSerializer):
    history = EventSerializer(source="events", many=True)
    attempts = AttemptSerializer(many=True)
    sales = serializers.SerializerMethodField(help_text=_("What the listing has sold (orders not cancelled)."))

    class Meta(ListingSerializer.Meta):
        fields = [*ListingSerializer.Meta.fields, "history", "attempts", "sales"]

    def get_sales(self, listing) -> dict:
        from sales.selectors import listing_sales_metrics

        metrics = listing_sales_metrics(listing_id=listing.pk)
        return {**metrics, "gmv_display": vnd_format(metrics["gmv_vnd"])}


class ListingFilter(filters.FilterSet):
    channel = filters.ChoiceFilter(choices=MarketChannel.choices)
    state = filters.ChoiceFilter(choices=ListingState.choices)
    producer = filters.NumberFilter(field_name="product__producer_id")
    product = filters.NumberFilter(field_name="product_id")
    scope = filters.NumberFilter(method="in_scope", label=_("saved scope id"))

    def in_scope(self, queryset, name, value):
        scope = scope_queryset(NamedScope.objects.all(), self.request.user).filter(pk=value).first()
        if scope is None:
            raise ServiceError("unknown_scope", _("Unknown scope."), fields={"scope": [_("Unknown scope.")]})
        return listings_in_scope(queryset, scope)


class ListingViewMixin(ScopedQuerysetMixin):
    queryset = Listing.objects.select_related("product").order_by("-created_at", "id")


class ListingListApi(ListingViewMixin, generics.ListAPIView):
    """Listings in your reach, filtered by channel, state, producer, product or saved scope."""

    serializer_class = ListingSerializer
    filterset_class = ListingFilter


class ListingDetailApi(ListingViewMixin, generics.RetrieveAPIView):
    """One listing with its dated history and every call made for it."""

    serializer_class = ListingDetailSerializer

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_related(
                Prefetch("events", queryset=ListingEvent.objects.order_by("at", "id")),
                Prefetch("attempts", queryset=ListingAttempt.objects.order_by("at", "id")),
            )
        )


class ListingRequestInput(StrictSerializer):
    channel = serializers.ChoiceField(choices=MarketChannel.choices)
    sku = serializers.IntegerField(required=False, help_text=_("One package only; all of them when left out."))


class ProductListingsApi(ScopedQuerysetMixin, generics.GenericAPIView):
    """Put a ready product on a channel: one listing per package, queued and pushed by the channel's worker."""

    queryset = Product.objects.select_related("producer", "product_set")
    serializer_class = ListingRequestInput

    @extend_schema(request=ListingRequestInput, responses={201: ListingSerializer(many=True)})
    def post(self, request, pk: int):
        product = self.get_object()
        data = ListingRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        sku = None
        if "sku" in data.validated_data:
            sku = Sku.objects.filter(product=product, pk=data.validated_data["sku"]).first()
            if sku is None:
                raise ServiceError("unknown_sku", _("No such package."), fields={"sku": [_("No such package.")]})
        listings = services.listing_request(
            product=product, channel=data.validated_data["channel"], sku=sku, actor=request.user
        )
        return Response(ListingSerializer(listings, many=True).data, status=status.HTTP_201_CREATED)


class ListingActionApi(ListingViewMixin, generics.GenericAPIView):
    serializer_class = ListingSerializer
    service = None

    @extend_schema(request=None, responses={202: ListingSerializer})
    def post(self, request, pk):
        listing = self.get_object()
        listing = self.service(listing=listing, actor=request.user)
        return Response(ListingSerializer(self.get_queryset().get(pk=listing.pk)).data, status=status.HTTP_202_ACCEPTED)


class ListingUnlistApi(ListingActionApi):
    """Withdraw from sale; the listing becomes `delisted` once the marketplace confirms."""

    service = staticmethod(services.listing_unlist)


class ListingRetryApi(ListingActionApi):
    """Try again now (a failed push, or a rejected listing resubmitted as it is)."""

    service = staticmethod(services.listing_retry)


class BulkInput(StrictSerializer):
    channel = serializers.ChoiceField(choices=MarketChannel.choices)
    scope = serializers.IntegerField(help_text=_("saved scope id"))


class BulkSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = BulkPush
        fields = ["id", "channel", "scope", "created_at", "skipped", "progress"]

    def get_progress(self, bulk) -> dict:
        counts = dict(bulk.listings.values_list("state").annotate(n=Count("pk")).order_by())
        done = sum(counts.get(s, 0) for s in ("pending_review", "live", "rejected", "unlisted", "failed", "locked"))
        total = sum(counts.values())
        return {"total": total, "done": done, "by_state": counts, "skipped": len(bulk.skipped)}


class BulkApi(ScopedQuerysetMixin, generics.GenericAPIView):
    """Push every ready product of a saved scope to a channel (officers and community teams)."""

    queryset = BulkPush.objects.all()
    serializer_class = BulkInput

    @extend_schema(request=BulkInput, responses={202: BulkSerializer})
    def post(self, request):
        reach = user_reach(request.user)
        if not reach.has_role(Role.OFFICER, Role.COMMUNITY_TEAM):
            raise ServiceError("forbidden", _("Only officers and community teams push a whole scope."), status_code=403)
        data = BulkInput(data=request.data)
        data.is_valid(raise_exception=True)
        scope = scope_queryset(NamedScope.objects.all(), request.user).filter(pk=data.validated_data["scope"]).first()
        if scope is None:
            raise ServiceError("unknown_scope", _("Unknown scope."), fields={"scope": [_("Unknown scope.")]})
        # Only what this user may manage is pushed, whatever the scope covers.
        products = scope_queryset(Product.objects.all(), request.user).values_list("pk", flat=True)
        bulk = services.listings_bulk_push(
            scope=scope, channel=data.validated_data["channel"], actor=request.user, product_ids=products
        )
        return Response(BulkSerializer(bulk).data, status=status.HTTP_202_ACCEPTED)


class BulkDetailApi(ScopedQuerysetMixin, generics.RetrieveAPIView):
    """Progress of a bulk push: its listings by state, and the products it skipped."""

    queryset = BulkPush.objects.all()
    serializer_class = BulkSerializer
