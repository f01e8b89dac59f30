"""Orders API: read orders in your reach (buyer data only for those who need it), import a platform's export,
attest an order. Thin views over sales.services and sales.importing."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from catalog.models import Sku
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin, user_reach
from marketplace.core.api import IdFilter, StrictSerializer
from marketplace.core.errors import ServiceError, error_body
from marketplace.core.money import vnd_format

from . import importing
from .models import Evidence, Order, OrderEvent, OrderLine, OrderStatus, SalesChannel
from .selectors import orders_buyer_visible_ids
from .services import order_attest


# ------------------------------------------------------------------------------------------------ output
class OrderLineSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", default=None)
    producer = serializers.IntegerField(source="product.producer_id", default=None)

    class Meta:
        model = OrderLine
        fields = ["id", "listing", "sku", "product", "product_name", "producer", "external_item_id", "seller_sku",
                  "name", "quantity", "unit_price_vnd", "total_vnd"]  # fmt: skip


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["at", "from_status", "to_status", "remote_status", "source"]


class BuyerSerializer(serializers.Serializer):
    name = serializers.CharField(source="buyer_name")
    phone = serializers.CharField(source="buyer_phone")
    address = serializers.CharField(source="delivery_address")
    delivery_unit = serializers.IntegerField(source="delivery_unit_id", allow_null=True)


class OrderSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    evidence_label = serializers.CharField(source="get_evidence_display")
    total = serializers.SerializerMethodField()
    attested_by = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True)
    buyer = serializers.SerializerMethodField(help_text=gettext_lazy("Only for the producer's members and officers."))

    class Meta:
        model = Order
        fields = ["id", "channel", "connection", "external_id", "status", "status_label", "remote_status",
                  "placed_at", "status_changed_at", "sold_at", "total", "currency", "evidence", "evidence_label",
                  "attested_by", "attested_document", "lines", "buyer"]  # fmt: skip

    def get_total(self, order) -> dict:
        return {"vnd": order.total_vnd, "display": vnd_format(order.total_vnd)}

    def get_attested_by(self, order) -> dict | None:
        user = order.attested_by
        if user is None:
            return None
        return {"id": user.pk, "name": user.get_full_name() or user.username}

    def get_buyer(self, order) -> dict | None:
        if order.pk not in self.context.get("buyer_visible", ()):
            return None
        return BuyerSerializer(order).data


class OrderDetailSerializer(OrderSerializer):
    history = OrderEventSerializer(source="events", many=True)

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "history"]


# ------------------------------------------------------------------------------------------------- reading
class OrderFilter(filters.FilterSet):
    channel = filters.ChoiceFilter(choices=SalesChannel.choices)
    status = filters.ChoiceFilter(choices=OrderStatus.choices)
    evidence = filters.ChoiceFilter(choices=Evidence.choices)
    # field_name only tells the schema the type: the methods filter through a subquery (no duplicate rows).
    producer = IdFilter(field_name="lines__product__producer", method="by_producer", label=gettext_lazy("producer id"))
    product = IdFilter(field_name="lines__product", method="by_product", label=gettext_lazy("product id"))
    placed_from = filters.DateFilter(field_name="placed_at", lookup_expr="date__gte")
    placed_to = filters.DateFilter(field_name="placed_at", lookup_expr="date__lte")
    sold_from = filters.DateFilter(field_name="sold_at", lookup_expr="date__gte")
    sold_to = filters.DateFilter(field_name="sold_at", lookup_expr="date__lte")

    def by_producer(self, queryset, name, value):
        return queryset.filter(pk__in=OrderLine.objects.filter(product__producer_id=value).values("order_id"))

    def by_product(self, queryset, name, value):
        return queryset.filter(pk__in=OrderLine.objects.filter(product_id=value).values("order_id"))


class OrderViewMixin(ScopedQuerysetMixin):
    queryset = (
        Order.objects.select_related("connection__producer", "attested_by")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product__producer")))
        .order_by("-placed_at", "-id")
    )


class OrderListApi(OrderViewMixin, generics.ListAPIView):
    """Orders of the products in your reach, from every channel, filtered by channel, status, evidence, producer,
    product or period (placed_from/placed_to, sold_from/sold_to: dates, inclusive)."""

    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    ordering_fields = ["placed_at", "sold_at", "status_changed_at"]

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = self.get_serializer_context()
        context["buyer_visible"] = orders_buyer_visible_ids(user=request.user, orders=page)
        return self.get_paginated_response(OrderSerializer(page, many=True, context=context).data)


class OrderDetailApi(OrderViewMixin, generics.RetrieveAPIView):
    """One order with its lines and its dated status history (with the source of each change)."""

    serializer_class = OrderDetailSerializer

    def get_queryset(self):
        return super().get_queryset().prefetch_related(Prefetch("events", queryset=OrderEvent.objects.order_by("at")))

    def retrieve(self, request, *args, **kwargs):
        order = self.get_object()
        context = self.get_serializer_context()
        context["buyer_visible"] = orders_buyer_visible_ids(user=request.user, orders=[order])
        return Response(OrderDetailSerializer(order, context=context).data)


def _officer_only(request) -> None:
    if not user_reach(request.user).has_role(Role.OFFICER):
        raise ServiceError("forbidden", _("Only officers import or attest orders."), status_code=403)


# ------------------------------------------------------------------------------------------------- import
class OrderImportInput(StrictSerializer):
    channel = serializers.ChoiceField(choices=SalesChannel.choices)
    file = serializers.FileField(help_text=gettext_lazy("The platform's export: CSV (UTF-8) or XLSX, at most 5 MB."))
    dry_run = serializers.BooleanField(default=False, help_text=gettext_lazy("Check only; save nothing."))


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=gettext_lazy("The row as the spreadsheet numbers it (header = 1)."))
    field = serializers.CharField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    valid = serializers.BooleanField()
    rows = serializers.IntegerField()
    orders = serializers.IntegerField()
    lines = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)
    error_count = serializers.IntegerField()


IMPORT_DESCRIPTION = """Import a platform's order export (officers). Multipart fields: `channel`, `file` (CSV in
UTF-8 with comma, semicolon or tab, or XLSX: the first sheet), `dry_run` (true: check only).

One row per order line, a header row first. Column names are matched without case, accents or spaces, so the
Vietnamese headers of common exports work:

| column | required | accepted names | value |
|---|---|---|---|
| order_id | yes | order_id, order_sn, order_number, Mã đơn hàng | the order number on the platform |
| status | yes | status, order_status, Trạng thái (đơn hàng) | placed, confirmed, shipped, delivered, completed, \
cancelled, returned; the platform's own status; or the Vietnamese words (Hoàn thành, Đã giao, Đã hủy, Trả hàng…) |
| placed_at | yes | placed_at, create_time, Ngày đặt hàng | 2025-03-31 or 31/03/2025, a time may follow |
| seller_sku | yes | seller_sku, sku, Mã SKU, SKU phân loại hàng | the listing's seller SKU, or the package's SKU code |
| quantity | yes | quantity, qty, Số lượng | a whole number ≥ 1 |
| unit_price_vnd | yes | unit_price_vnd, unit_price, Đơn giá, Giá ưu đãi | whole đồng (185000 or 185.000) |
| sold_at | if delivered or completed | sold_at, delivered_at, Ngày giao hàng, Thời gian hoàn thành | a date |
| product_name | no | product_name, Tên sản phẩm | text |
| buyer_name | no | buyer_name, Người mua | text (personal data) |

Rows with the same order_id make one order and must agree on status and placed_at. Every problem is reported as
{row, field, message}. A dry run answers 200 with the report; a real run saves everything (201) or, if any row is
wrong, nothing (400, each problem under `fields` as `rows.<row>.<column>`). An order already recorded is
updated (its status only moves forward).
Evidence: platform export."""


class OrderImportApi(ScopedQuerysetMixin, generics.GenericAPIView):
    queryset = Order.objects.all()
    serializer_class = OrderImportInput
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        description=IMPORT_DESCRIPTION,
        request={"multipart/form-data": OrderImportInput},
        responses={
            200: OpenApiResponse(ImportReportSerializer, description="Dry run: the report."),
            201: OpenApiResponse(ImportReportSerializer, description="Saved."),
            400: OpenApiResponse(description="Rows with problems, nothing saved: fields rows.<row>.<column>."),
        },
    )
    def post(self, request):
        _officer_only(request)
        data = OrderImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        report = importing.orders_import(
            user=request.user, channel=values["channel"], data=values["file"].read(), dry_run=values["dry_run"]
        )
        body = report.as_dict()
        if values["dry_run"]:
            return Response(body, status=status.HTTP_200_OK)
        if report.errors:
            # The one error shape, each problem under a dotted path as elsewhere: rows.<row>.<column>.
            message = _("Nothing was imported: %(n)s problem(s) in the file.") % {"n": len(report.errors)}
            fields: dict[str, list[str]] = {}
            for problem in body["errors"]:
                fields.setdefault(f"rows.{problem['row']}.{problem['field']}", []).append(problem["message"])
            return Response(error_body("import_invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED)


# ------------------------------------------------------------------------------------------------- attest
class AttestLineInput(StrictSerializer):
    sku = ScopedPrimaryKeyRelatedField(queryset=Sku.objects.all(), help_text=gettext_lazy("package id"))
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price_vnd = serializers.IntegerField(min_value=0, max_value=1_000_000_000)


class AttestInput(StrictSerializer):
    channel = serializers.ChoiceField(choices=SalesChannel.choices)
    external_id = serializers.CharField(max_length=64, help_text=gettext_lazy("The order's number or reference."))
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    placed_at = serializers.DateTimeField()
    sold_at = serializers.DateTimeField(required=False, allow_null=True)
    document = serializers.CharField(
        max_length=200, help_text=gettext_lazy("The document that proves the sale: its number, date and issuer.")
    )
    buyer_name = serializers.CharField(max_length=160, required=False, allow_blank=True, default="")
    lines = AttestLineInput(many=True, min_length=1, max_length=50)


class OrderAttestApi(ScopedQuerysetMixin, generics.GenericAPIView):
    """Record an order an officer attests to, naming the document that proves it (officers only). The order is
    flagged as officer-attested wherever it counts; the officer is the signed-in user."""

    queryset = Order.objects.all()
    serializer_class = AttestInput

    @extend_schema(request=AttestInput, responses={201: OrderDetailSerializer})
    def post(self, request):
        _officer_only(request)
        data = AttestInput(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order = order_attest(
            officer=request.user, channel=values["channel"], external_id=values["external_id"],
            status=values["status"], placed_at=values["placed_at"], sold_at=values.get("sold_at"),
            document=values["document"], lines=values["lines"], buyer_name=values["buyer_name"],
        )  # fmt: skip
        order = OrderDetailApi.queryset.prefetch_related("events").get(pk=order.pk)
        context = {"request": request, "buyer_visible": orders_buyer_visible_ids(user=request.user, orders=[order])}
        return Response(OrderDetailSerializer(order, context=context).data, status=status.HTTP_201_CREATED)
