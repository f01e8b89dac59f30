"""Producers API: list with place, scope and accent-insensitive filters; create; retrieve; update; members."""

from decimal import Decimal

import django_filters
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from marketplace.accounts.models import Role
from marketplace.accounts.scoping import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin, scope_queryset, user_reach
from marketplace.core.api import BooleanFilter, IdFilter, StrictSerializer
from marketplace.core.audit import audit_set_on_behalf_of
from marketplace.core.errors import ServiceError
from marketplace.core.money import vnd_format
from marketplace.core.text import fold
from marketplace.places.apis import UnitKeySerializer, UnitRefSerializer
from marketplace.places.models import AdministrativeUnit, CodeSystem, NamedScope
from marketplace.places.selectors import scope_current_communes, unit_newest, units_by_keys, units_current_communes

from . import services
from .gis.models import GiClaim, GiClaimStatus
from .models import (
    Channel,
    NetUnit,
    OnboardingState,
    Producer,
    ProducerKind,
    ProducerMembership,
    Product,
    ProductKind,
    ProductSet,
    ProductStatus,
    Sku,
    TaxIdType,
)
from .ocop.models import Star
from .ocop.selectors import products_with_star
from .readiness import product_readiness
from .selectors import officer_covers_producer, producer_commune_check, producer_personal_data_visible_ids
from .validators import tax_id_masked


class ProducerSerializer(serializers.ModelSerializer):
    commune_as_captured = UnitRefSerializer(read_only=True)
    current_commune = UnitRefSerializer(read_only=True, allow_null=True)  # null while a split commune is unresolved
    tax_id = serializers.SerializerMethodField()

    class Meta:
        model = Producer
        fields = [
            "id", "kind", "legal_name", "trade_name", "representative_name", "phone", "email", "address_line",
            "commune_as_captured", "captured_on", "current_commune", "tax_id", "tax_id_type", "registration_number",
            "women_led", "ethnic_minority_led", "onboarding_state", "created_at", "updated_at",
        ]  # fmt: skip

    def get_tax_id(self, producer) -> str | None:
        # A household's tax id is its representative's personal id: only its members and officers in scope
        # see it whole. An enterprise tax code is public.
        if producer.tax_id_type != TaxIdType.PERSONAL_ID or producer.pk in self.context.get("unmasked", ()):
            return producer.tax_id
        return tax_id_masked(producer.tax_id)


class ProducerInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ProducerKind.choices)
    legal_name = serializers.CharField(max_length=200)
    trade_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    representative_name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    address_line = serializers.CharField(max_length=255, required=False, allow_blank=True)
    commune_as_captured = UnitKeySerializer()
    tax_id = serializers.CharField(max_length=20, required=False, allow_blank=True)
    registration_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    women_led = serializers.BooleanField(required=False, allow_null=True)
    ethnic_minority_led = serializers.BooleanField(required=False, allow_null=True)

    def validate_commune_as_captured(self, key):
        units, missing = units_by_keys(keys=[key])
        if missing:
            raise serializers.ValidationError(_("There is no such commune. Pick it from the place list."))
        return units[0]


class ProducerFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ProducerKind.choices)
    onboarding_state = django_filters.ChoiceFilter(choices=OnboardingState.choices)
    place = django_filters.CharFilter(method="in_place", help_text="<system>:<code>, e.g. legacy:140 or 2025:04672.")
    scope = django_filters.CharFilter(method="in_scope", help_text="Slug of a saved scope, e.g. old-yen-bai.")
    q = django_filters.CharFilter(method="search", help_text="Accent-insensitive search on the names.")

    class Meta:
        model = Producer
        fields = ["kind", "onboarding_state", "place", "scope", "q"]

    def in_place(self, queryset, name, value):
        system, _sep, code = value.partition(":")
        known = system in CodeSystem.values
        unit = unit_newest(queryset=AdministrativeUnit.objects.all(), system=system, code=code) if known else None
        if unit is None:
            raise serializers.ValidationError({"place": [_("Unknown place. Use <system>:<code>, e.g. legacy:140.")]})
        return queryset.filter(current_commune__in=units_current_communes(units=[unit]))

    def in_scope(self, queryset, name, value):
        scope = scope_queryset(NamedScope.objects.all(), self.request.user).filter(slug=value).first()
        if scope is None:
            raise serializers.ValidationError({"scope": [_("There is no saved scope with this code.")]})
        return queryset.filter(current_commune__in=scope_current_communes(scope=scope))

    def search(self, queryset, name, value):
        return queryset.filter(search_key__contains=fold(value))


class ProducerViewMixin(ScopedQuerysetMixin):
    queryset = Producer.objects.select_related("commune_as_captured__parent", "current_commune__parent")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        page = getattr(self, "_page", None)
        if page is not None:
            context["unmasked"] = producer_personal_data_visible_ids(user=self.request.user, producers=page)
        return context

    def respond(self, producer, warnings=(), status_code=status.HTTP_200_OK):
        producer = self.get_queryset().get(pk=producer.pk)
        self._page = [producer]
        body = ProducerSerializer(producer, context=self.get_serializer_context()).data
        return Response({**body, "warnings": list(warnings)}, status=status_code)

    def note_on_behalf_of(self, *, producer_id: int | None, name: str):
        """A community team member writing for a producer they do not belong to acts on its behalf. Called
        before the write, so that the audit entries of the write carry it (a new producer has no id yet)."""
        reach = user_reach(self.request.user)
        if Role.COMMUNITY_TEAM not in reach.roles:
            return
        if producer_id and ProducerMembership.objects.filter(producer_id=producer_id, user=self.request.user).exists():
            return
        audit_set_on_behalf_of(kind="producer", object_id=producer_id, name=name)


class ProducerListApi(ProducerViewMixin, generics.ListCreateAPIView):
    """Producers in your reach. Community teams and officers register producers in their area; a producer
    member who registers their own household or cooperative becomes its member."""

    serializer_class = ProducerSerializer
    filterset_class = ProducerFilter
    ordering_fields = ["legal_name", "created_at"]

    def paginate_queryset(self, queryset):
        self._page = super().paginate_queryset(queryset)
        return self._page

    @extend_schema(request=ProducerInputSerializer, responses={201: ProducerSerializer})
    def post(self, request, *args, **kwargs):
        reach = user_reach(request.user)
        if not reach.has_role(Role.PRODUCER_MEMBER, Role.COMMUNITY_TEAM, Role.OFFICER):
            raise ServiceError("permission_denied", _("Your account cannot register producers."), status_code=403)
        data = ProducerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        helps_others = reach.is_admin or reach.has_role(Role.COMMUNITY_TEAM, Role.OFFICER)
        if helps_others:
            producer_commune_check(reach=reach, commune=data.validated_data["commune_as_captured"])
        self.note_on_behalf_of(producer_id=None, name=data.validated_data["legal_name"])
        with transaction.atomic():  # the producer and its first member, or neither
            producer, warnings = services.producer_create(**data.validated_data)
            if not helps_others:  # a producer member registering their own household or cooperative
                services.producer_member_add(producer=producer, user=request.user, added_by=request.user)
        return self.respond(producer, warnings, status.HTTP_201_CREATED)


class ProducerDetailApi(ProducerViewMixin, generics.RetrieveUpdateAPIView):
    serializer_class = ProducerSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        producer = super().get_object()
        self._page = [producer]
        return producer

    @extend_schema(request=ProducerInputSerializer, responses=ProducerSerializer)
    def patch(self, request, *args, **kwargs):
        producer = self.get_object()
        data = ProducerInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        reach = user_reach(request.user)
        if "commune_as_captured" in data.validated_data and reach.has_role(Role.COMMUNITY_TEAM, Role.OFFICER):
            # A move out of the area would leave the producer out of its helper's reach mid-request.
            producer_commune_check(reach=reach, commune=data.validated_data["commune_as_captured"])
        self.note_on_behalf_of(producer_id=producer.pk, name=str(producer))
        producer, warnings = services.producer_update(producer=producer, **data.validated_data)
        return self.respond(producer, warnings)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = ProducerMembership
        fields = ["id", "user", "username", "name", "created_at"]


class MemberInputSerializer(StrictSerializer):
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), pk_field=serializers.IntegerField()
    )


class ProducerMemberListApi(ScopedQuerysetMixin, generics.ListCreateAPIView):
    """The people who manage a producer. Adding one needs the user's id (from an administrator or officer)."""

    queryset = ProducerMembership.objects.select_related("user")
    serializer_class = MemberSerializer
    ordering_fields = ["created_at"]

    def producer(self) -> Producer:
        producers = scope_queryset(Producer.objects.all(), self.request.user)
        return generics.get_object_or_404(producers, pk=self.kwargs["pk"])

    def get_queryset(self):
        return super().get_queryset().filter(producer=self.producer()).order_by("created_at")

    @extend_schema(request=MemberInputSerializer, responses={201: MemberSerializer})
    def post(self, request, *args, **kwargs):
        producer = self.producer()
        # Membership opens the producer's personal data: only an officer of its area or an administrator
        # grants it (a community team member adding themselves would see the household's personal id).
        if not officer_covers_producer(reach=user_reach(request.user), producer=producer):
            raise ServiceError("permission_denied", _("Ask an officer of your area to add a member."), status_code=403)
        data = MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.producer_member_add(
            producer=producer, user=data.validated_data["user"], added_by=request.user
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


# Products and SKUs ---------------------------------------------------------------------------------------


class ProductSetSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductSet
        fields = ["id", "version", "number", "name", "group_number", "group_name", "is_service"]


class SkuSerializer(serializers.ModelSerializer):
    price_display = serializers.SerializerMethodField()

    class Meta:
        model = Sku
        fields = [
            "id", "code", "net_quantity", "net_unit", "weight_grams", "length_cm", "width_cm", "height_cm",
            "price_vnd", "price_display", "stock", "gtin", "updated_at",
        ]  # fmt: skip

    def get_price_display(self, sku) -> str:
        return vnd_format(sku.price_vnd)


class ProducerRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Producer
        fields = ["id", "legal_name", "trade_name", "kind"]


class ProductSerializer(serializers.ModelSerializer):
    producer = ProducerRefSerializer(read_only=True)
    product_set = ProductSetSerializer(read_only=True)
    origin_commune = UnitRefSerializer(read_only=True, allow_null=True)
    skus = SkuSerializer(many=True, read_only=True, source="sku_list")

    class Meta:
        model = Product
        fields = [
            "id", "producer", "name", "product_set", "kind", "origin_commune", "description", "ingredients",
            "storage", "shelf_life_days", "brand", "status", "skus", "created_at", "updated_at",
        ]  # fmt: skip


class ProductInputSerializer(StrictSerializer):
    producer = ScopedPrimaryKeyRelatedField(queryset=Producer.objects.all())
    name = serializers.CharField(max_length=200)
    product_set = serializers.IntegerField(min_value=1, help_text="Number of the OCOP product set (1-26).")
    kind = serializers.ChoiceField(choices=ProductKind.choices, required=False)
    origin_commune = UnitKeySerializer(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    ingredients = serializers.CharField(required=False, allow_blank=True, max_length=3000)
    storage = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    shelf_life_days = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=3650)
    brand = serializers.CharField(required=False, allow_blank=True, max_length=120)

    def validate_product_set(self, number):
        product_set = ProductSet.objects.filter(number=number).order_by("-version").first()
        if product_set is None:
            raise serializers.ValidationError(_("There is no OCOP product set with this number (1 to 26)."))
        return product_set

    def validate_origin_commune(self, key):
        if key is None:
            return None
        units, missing = units_by_keys(keys=[key])
        if missing:
            raise serializers.ValidationError(_("There is no such commune. Pick it from the place list."))
        return units[0]


class ProductUpdateSerializer(ProductInputSerializer):
    producer = None
    status = serializers.ChoiceField(choices=ProductStatus.choices, required=False)


class SkuInputSerializer(StrictSerializer):
    code = serializers.CharField(max_length=64, required=False, allow_blank=True)
    net_quantity = serializers.DecimalField(max_digits=10, decimal_places=3, min_value=Decimal("0.001"))
    net_unit = serializers.ChoiceField(choices=NetUnit.choices)
    weight_grams = serializers.IntegerField(min_value=1, max_value=1_000_000)
    length_cm = serializers.IntegerField(min_value=1, max_value=1000)
    width_cm = serializers.IntegerField(min_value=1, max_value=1000)
    height_cm = serializers.IntegerField(min_value=1, max_value=1000)
    # Whole đồng: "150000.5" or -1 is refused by the field, naming price_vnd.
    price_vnd = serializers.IntegerField(min_value=1, max_value=10_000_000_000)
    stock = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    gtin = serializers.CharField(max_length=14, required=False, allow_blank=True)


class ProductFilter(django_filters.FilterSet):
    producer = IdFilter(field_name="producer_id")
    product_set = django_filters.NumberFilter(field_name="product_set__number")
    status = django_filters.ChoiceFilter(choices=ProductStatus.choices)
    kind = django_filters.ChoiceFilter(choices=ProductKind.choices)
    place = django_filters.CharFilter(method="in_place", help_text="<system>:<code> of the producer's place.")
    scope = django_filters.CharFilter(method="in_scope", help_text="Slug of a saved scope.")
    q = django_filters.CharFilter(method="search", help_text="Accent-insensitive search on name and brand.")
    star = django_filters.ChoiceFilter(
        choices=Star.choices, method="with_star", help_text="Current OCOP star (verified, valid today)."
    )
    has_gi = BooleanFilter(
        method="with_gi", help_text="Products with an eligible or verified GI claim (true) or without (false)."
    )
    ready_for = django_filters.ChoiceFilter(
        choices=Channel.choices, method="is_ready_for", help_text="Only products ready for this channel."
    )
    not_ready_for = django_filters.ChoiceFilter(
        choices=Channel.choices, method="is_not_ready_for", help_text="Only products not yet ready for it."
    )

    class Meta:
        model = Product
        fields = [
            "producer", "product_set", "status", "kind", "place", "scope", "q", "star", "has_gi", "ready_for",
            "not_ready_for",
        ]  # fmt: skip

    def with_gi(self, queryset, name, value):
        claimed = GiClaim.objects.filter(status__in=[GiClaimStatus.ELIGIBLE, GiClaimStatus.VERIFIED]).values("product")
        return queryset.filter(pk__in=claimed) if value else queryset.exclude(pk__in=claimed)

    def with_star(self, queryset, name, value):
        return queryset.filter(products_with_star(value))

    def is_ready_for(self, queryset, name, value):
        return queryset.filter(readiness__channel=value, readiness__ready=True)

    def is_not_ready_for(self, queryset, name, value):
        return queryset.exclude(readiness__channel=value, readiness__ready=True)

    def in_place(self, queryset, name, value):
        producers = ProducerFilter(request=self.request).in_place(Producer.objects.all(), name, value)
        return queryset.filter(producer__in=producers)

    def in_scope(self, queryset, name, value):
        producers = ProducerFilter(request=self.request).in_scope(Producer.objects.all(), name, value)
        return queryset.filter(producer__in=producers)

    def search(self, queryset, name, value):
        return queryset.filter(search_key__contains=fold(value))


class ProductViewMixin(ScopedQuerysetMixin):
    # to_attr: Django then attaches the packages as a plain list, instead of building a related manager and
    # a queryset per product (measured with tests/bench/bench_product_list.py).
    queryset = Product.objects.select_related("producer", "product_set", "origin_commune__parent").prefetch_related(
        Prefetch("skus", queryset=Sku.objects.order_by("price_vnd", "id"), to_attr="sku_list")
    )
    serializer_class = ProductSerializer

    def note_on_behalf_of(self, producer: Producer):
        ProducerViewMixin.note_on_behalf_of(self, producer_id=producer.pk, name=str(producer))

    def respond(self, product, status_code=status.HTTP_200_OK):
        return Response(ProductSerializer(self.get_queryset().get(pk=product.pk)).data, status=status_code)


class ProductListApi(ProductViewMixin, generics.ListCreateAPIView):
    """Products in your reach; anyone who manages a producer adds its products (as drafts)."""

    filterset_class = ProductFilter
    ordering_fields = ["name", "created_at", "updated_at"]

    @extend_schema(request=ProductInputSerializer, responses={201: ProductSerializer})
    def post(self, request, *args, **kwargs):
        data = ProductInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        self.note_on_behalf_of(data.validated_data["producer"])
        product = services.product_create(**data.validated_data)
        return self.respond(product, status.HTTP_201_CREATED)


class ProductDetailApi(ProductViewMixin, generics.RetrieveUpdateAPIView):
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(request=ProductUpdateSerializer, responses=ProductSerializer)
    def patch(self, request, *args, **kwargs):
        product = self.get_object()
        data = ProductUpdateSerializer(data=request.data, partial=True, context={"request": request})
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        to = changes.pop("status", None)
        self.note_on_behalf_of(product.producer)
        with transaction.atomic():
            if changes:
                product = services.product_update(product=product, **changes)
            if to and to != product.status:
                is_officer = officer_covers_producer(reach=user_reach(request.user), producer=product.producer)
                product = services.product_status_change(product=product, to=to, is_officer=is_officer)
        return self.respond(product)


class SkuViewMixin(ScopedQuerysetMixin):
    queryset = Sku.objects.all()
    serializer_class = SkuSerializer

    def product(self) -> Product:
        products = scope_queryset(Product.objects.select_related("producer"), self.request.user)
        return generics.get_object_or_404(products, pk=self.kwargs["pk"])

    def get_queryset(self):
        return super().get_queryset().filter(product=self.product())


class SkuListApi(SkuViewMixin, generics.ListCreateAPIView):
    """The packages a product is sold in, each with its own price in whole đồng, weight and size."""

    ordering_fields = ["price_vnd", "created_at"]

    @extend_schema(request=SkuInputSerializer, responses={201: SkuSerializer})
    def post(self, request, *args, **kwargs):
        product = self.product()
        data = SkuInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ProductViewMixin.note_on_behalf_of(self, product.producer)
        sku = services.sku_create(product=product, **data.validated_data)
        return Response(SkuSerializer(sku).data, status=status.HTTP_201_CREATED)


class SkuDetailApi(SkuViewMixin, generics.RetrieveUpdateDestroyAPIView):
    lookup_url_kwarg = "sku_id"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(request=SkuInputSerializer, responses=SkuSerializer)
    def patch(self, request, *args, **kwargs):
        sku = self.get_object()
        data = SkuInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        ProductViewMixin.note_on_behalf_of(self, sku.product.producer)
        return Response(SkuSerializer(services.sku_update(sku=sku, **data.validated_data)).data)

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="The package is listed on a marketplace.")})
    def delete(self, request, *args, **kwargs):
        return super().delete(request, *args, **kwargs)

    def perform_destroy(self, instance):
        ProductViewMixin.note_on_behalf_of(self, instance.product.producer)
        services.sku_delete(sku=instance)


class ProductSetListApi(ScopedQuerysetMixin, generics.ListAPIView):
    """The OCOP product sets (versioned reference data). Public."""

    permission_classes = [AllowAny]
    queryset = ProductSet.objects.all()
    serializer_class = ProductSetSerializer
    filterset_fields = ["version", "group_number", "is_service"]
    ordering_fields = ["number"]


class ReadinessSerializer(serializers.Serializer):
    channel = serializers.CharField()
    score = serializers.IntegerField()
    ready = serializers.BooleanField()
    missing = serializers.ListField(child=serializers.CharField(), source="missing_labels")
    warnings = serializers.ListField(child=serializers.CharField())


class ProductReadinessAnswerSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    channels = ReadinessSerializer(many=True)


class ProductReadinessApi(ProductViewMixin, generics.RetrieveAPIView):
    """Per channel: a score from 0 to 100, ready or not, and what is missing in plain words."""

    serializer_class = ReadinessSerializer

    @extend_schema(responses=ProductReadinessAnswerSerializer)
    def get(self, request, *args, **kwargs):
        product = self.get_object()
        results = product_readiness(product=product)
        return Response({"product": product.pk, "channels": ReadinessSerializer(results, many=True).data})
