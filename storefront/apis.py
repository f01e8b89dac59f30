"""The storefront's orders for the people who follow them (producers' members, community teams, officers,
administrators): read through the one scoping mechanism, buyers' personal data only for those allowed, and
the refund an officer or an administrator decides."""

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from catalog.selectors import officer_covers_producer
from marketplace.accounts.scoping import ScopedQuerysetMixin, user_reach
from marketplace.core.errors import ServiceError
from sales.apis import BuyerSerializer
from sales.models import OrderStatus

from . import selectors, services
from .models import Checkout, PaymentAttempt


class PaymentAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentAttempt
        fields = ["attempt_no", "state", "payment_intent_id", "amount_vnd", "error_code", "error_message",
                  "refund_state", "refund_reason", "created_at", "finished_at"]  # fmt: skip


class StorefrontOrderSerializer(serializers.ModelSerializer):
    ref = serializers.CharField(source="order.external_id")
    status = serializers.CharField(source="order.status")
    total_vnd = serializers.IntegerField(source="order.total_vnd")
    placed_at = serializers.DateTimeField(source="order.placed_at")
    sold_at = serializers.DateTimeField(source="order.sold_at", allow_null=True)
    product = serializers.IntegerField(source="listing.product_id")
    producer = serializers.IntegerField(source="listing.product.producer_id")
    sku = serializers.IntegerField(source="listing.sku_id")
    attempts = PaymentAttemptSerializer(source="order.payment_attempts", many=True)
    buyer = serializers.SerializerMethodField(help_text="Null unless you may see the buyer's personal data.")

    class Meta:
        model = Checkout
        fields = ["ref", "status", "total_vnd", "refunded_vnd", "placed_at", "sold_at", "listing", "product",
                  "producer", "sku", "attempts", "buyer"]  # fmt: skip

    def get_buyer(self, checkout) -> dict | None:
        visible = self.context.get("buyer_visible") or set()
        return BuyerSerializer(checkout.order).data if checkout.listing.product.producer_id in visible else None


class OrderFilter(filters.FilterSet):
    status = filters.ChoiceFilter(field_name="order__status", choices=OrderStatus.choices)

    class Meta:
        model = Checkout
        fields = ["status"]


class StorefrontOrderViewMixin(ScopedQuerysetMixin):
    queryset = Checkout.objects.all()
    serializer_class = StorefrontOrderSerializer

    def get_queryset(self):
        return selectors.checkouts_for_api(super().get_queryset()).order_by("-created_at", "-id")

    def _context(self, checkouts) -> dict:
        visible = selectors.buyer_visible_producer_ids(user=self.request.user, checkouts=checkouts)
        return {**self.get_serializer_context(), "buyer_visible": visible}


class StorefrontOrderListApi(StorefrontOrderViewMixin, generics.ListAPIView):
    """Storefront orders of the producers in your reach, newest first; `buyer` only where you may see it."""

    filterset_class = OrderFilter

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = StorefrontOrderSerializer(page, many=True, context=self._context(page)).data
        return self.get_paginated_response(data)


class StorefrontOrderDetailApi(StorefrontOrderViewMixin, generics.RetrieveAPIView):
    lookup_field = "order__external_id"
    lookup_url_kwarg = "ref"

    def retrieve(self, request, *args, **kwargs):
        checkout = self.get_object()
        return Response(StorefrontOrderSerializer(checkout, context=self._context([checkout])).data)


class StorefrontOrderRefundApi(StorefrontOrderViewMixin, generics.GenericAPIView):
    """Refund a paid storefront order in full: officers of the producer's area and administrators."""

    lookup_field = "order__external_id"
    lookup_url_kwarg = "ref"

    @extend_schema(
        request=None,
        responses={200: StorefrontOrderSerializer, 409: OpenApiResponse(description="Not paid, or already refunded.")},
    )
    def post(self, request, *args, **kwargs):
        checkout = self.get_object()
        if not officer_covers_producer(reach=user_reach(request.user), producer=checkout.listing.product.producer):
            raise ServiceError("forbidden", _("Only an officer of the producer's area can refund."), status_code=403)
        services.order_refund(order=checkout.order, actor=request.user)
        checkout = self.get_queryset().get(pk=checkout.pk)
        return Response(StorefrontOrderSerializer(checkout, context=self._context([checkout])).data)
