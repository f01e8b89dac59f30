"""GI API: the public registry (list, one GI with its area as listed and as it lies today), products' GI
claims, and an officer's decision on a claim."""

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from catalog.models import Product
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin, scope_queryset, user_reach
from marketplace.core.api import StrictSerializer
from marketplace.core.audit import audit_set_on_behalf_of
from marketplace.core.errors import ServiceError
from marketplace.places.apis import UnitRefSerializer
from marketplace.places.models import AdministrativeUnit

from . import selectors, services
from .models import (
    AreaMatch,
    GeographicalIndication,
    GiClaim,
    GiClaimStatus,
    GiKind,
    GiStatus,
    GiStatusEvent,
    GiUseRight,
)


class GiSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product_description", read_only=True)
    status = serializers.ChoiceField(
        choices=GiStatus.choices, allow_null=True, read_only=True, help_text="The latest status."
    )

    class Meta:
        model = GeographicalIndication
        fields = [
            "id", "slug", "kind", "certificate_number", "name", "product", "grant_decision_number", "grant_date",
            "management_body", "management_body_successor", "status", "legal_act_url",
        ]  # fmt: skip


class GiFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=GiKind.choices)
    q = django_filters.CharFilter(method="search", help_text="Accent-insensitive: 'suoi giang' finds 'Suối Giàng'.")

    class Meta:
        model = GeographicalIndication
        fields = ["kind", "q"]

    def search(self, queryset, name, value):
        return selectors.gi_search(queryset=queryset, q=value)


class GiListApi(ScopedQuerysetMixin, generics.ListAPIView):
    """Geographical indications and the marks people confuse with them. Public reference data."""

    permission_classes = [AllowAny]
    queryset = GeographicalIndication.objects.all()
    serializer_class = GiSerializer
    filterset_class = GiFilter
    ordering_fields = ["name", "grant_date"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return selectors.gi_list(queryset=super().get_queryset())


class GiStatusEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = GiStatusEvent
        fields = ["status", "date", "note"]


class CurrentCommuneSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    match = serializers.ChoiceField(
        choices=[AreaMatch.INSIDE, AreaMatch.PARTIAL],
        help_text="inside: formed only from communes of the area; partial: also from communes outside it.",
    )


class AreaUnitSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    current_communes = CurrentCommuneSerializer(many=True)


class GiDetailSerializer(GiSerializer):
    status_events = GiStatusEventSerializer(many=True, read_only=True)
    area = serializers.SerializerMethodField()

    class Meta(GiSerializer.Meta):
        fields = [*GiSerializer.Meta.fields, "specification_summary", "source", "status_events", "area"]

    @extend_schema(responses=AreaUnitSerializer(many=True))
    def get_area(self, gi) -> list:
        return AreaUnitSerializer(selectors.gi_area_today(gi=gi), many=True).data


class GiDetailApi(ScopedQuerysetMixin, generics.RetrieveAPIView):
    """One GI: its numbers, dated status events, and its area as the legacy units listed at the grant, each
    with the current communes it now lies in (whole or partly). Public reference data."""

    permission_classes = [AllowAny]
    queryset = GeographicalIndication.objects.all()
    serializer_class = GiDetailSerializer

    def get_queryset(self):
        return selectors.gi_list(queryset=super().get_queryset()).prefetch_related(
            "status_events", Prefetch("area_units", AdministrativeUnit.objects.select_related("parent"))
        )


class GiRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = GeographicalIndication
        fields = ["id", "slug", "kind", "name", "certificate_number"]


class UseRightSerializer(serializers.Serializer):
    number = serializers.CharField()
    issued_by = serializers.CharField()
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(allow_null=True)


class GiClaimSerializer(serializers.ModelSerializer):
    gi = GiRefSerializer(read_only=True)
    checked_commune = UnitRefSerializer(read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    use_right = serializers.SerializerMethodField(
        help_text="The producer's right-to-use authorisation for this GI, if one is recorded."
    )

    class Meta:
        model = GiClaim
        fields = [
            "id", "product", "gi", "status", "area_match", "checked_commune", "explanation", "use_right",
            "created_at", "decided_by", "decided_at", "reason",
        ]  # fmt: skip

    @extend_schema(responses=UseRightSerializer(allow_null=True))
    def get_use_right(self, claim) -> dict | None:
        right = self.context.get("use_rights", {}).get(claim.gi_id)
        return UseRightSerializer(right).data if right else None


class GiClaimInputSerializer(StrictSerializer):
    gi = ScopedPrimaryKeyRelatedField(queryset=GeographicalIndication.objects.all())


class ProductGiClaimListApi(ScopedQuerysetMixin, generics.ListCreateAPIView):
    """A product's GI claims. Whoever may see the product may claim a GI for it: the claim is checked against
    the GI's area through lineage (eligible, pending verification by an officer, or refused with the reason)."""

    queryset = GiClaim.objects.select_related("gi", "checked_commune__parent", "decided_by")
    serializer_class = GiClaimSerializer

    def product(self) -> Product:
        if not hasattr(self, "_product"):
            products = scope_queryset(Product.objects.select_related("producer"), self.request.user)
            self._product = generics.get_object_or_404(products, pk=self.kwargs["pk"])
        return self._product

    def get_queryset(self):
        return super().get_queryset().filter(product=self.product())

    def get_serializer_context(self):
        context = super().get_serializer_context()
        page = getattr(self, "_page", None)
        if page is not None:
            context["use_rights"] = selectors.gi_use_rights_of(
                producer_id=self.product().producer_id, gi_ids={c.gi_id for c in page}
            )
        return context

    def paginate_queryset(self, queryset):
        self._page = super().paginate_queryset(queryset)
        return self._page

    @extend_schema(request=GiClaimInputSerializer, responses={201: GiClaimSerializer})
    def post(self, request, *args, **kwargs):
        product = self.product()
        data = GiClaimInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        reach = user_reach(request.user)
        if Role.COMMUNITY_TEAM in reach.roles and not product.producer.memberships.filter(user=request.user).exists():
            audit_set_on_behalf_of(kind="producer", object_id=product.producer_id, name=str(product.producer))
        claim = services.gi_claim_create(product=product, gi=data.validated_data["gi"], created_by=request.user)
        claim = self.get_queryset().get(pk=claim.pk)
        self._page = [claim]
        return Response(GiClaimSerializer(claim, context=self.get_serializer_context()).data, status.HTTP_201_CREATED)


class GiClaimVerifyInputSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=[GiClaimStatus.VERIFIED, GiClaimStatus.REJECTED])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class GiClaimVerifyApi(ScopedQuerysetMixin, generics.GenericAPIView):
    """An officer's decision on a claim: verified, or rejected with a reason. Officers of the producer's
    commune and administrators decide; others who can see the claim get 403, the rest 404."""

    queryset = GiClaim.objects.select_related("product__producer", "gi", "checked_commune__parent", "decided_by")
    serializer_class = GiClaimSerializer

    @extend_schema(request=GiClaimVerifyInputSerializer, responses=GiClaimSerializer)
    def post(self, request, *args, **kwargs):
        claim = self.get_object()
        if not selectors.gi_claim_can_decide(user=request.user, claim=claim):
            raise ServiceError(
                "permission_denied", _("Only an officer of the producer's commune can decide."), status_code=403
            )
        data = GiClaimVerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.gi_claim_verify(claim=claim, officer=request.user, **data.validated_data)
        claim = self.get_queryset().get(pk=claim.pk)
        rights = selectors.gi_use_rights_of(producer_id=claim.product.producer_id, gi_ids=[claim.gi_id])
        return Response(GiClaimSerializer(claim, context={"use_rights": rights}).data)


class GiUseRightSerializer(serializers.ModelSerializer):
    gi = GiRefSerializer(read_only=True)

    class Meta:
        model = GiUseRight
        fields = ["id", "producer", "gi", "number", "issued_by", "valid_from", "valid_until", "created_at"]


class GiUseRightInputSerializer(StrictSerializer):
    gi = serializers.PrimaryKeyRelatedField(
        queryset=GeographicalIndication.objects.all(), pk_field=serializers.IntegerField()
    )
    number = serializers.CharField(max_length=40)
    issued_by = serializers.CharField(max_length=200)
    valid_from = serializers.DateField()
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)


class ProducerGiUseRightListApi(ScopedQuerysetMixin, generics.ListCreateAPIView):
    """A producer's right-to-use authorisations. Those in reach of the producer read them; an officer of its
    area (or an administrator) records one, from the paper the provincial body issued."""

    queryset = GiUseRight.objects.select_related("gi")
    serializer_class = GiUseRightSerializer
    ordering_fields = ["valid_from", "created_at"]

    def producer(self):
        from catalog.models import Producer

        producers = scope_queryset(Producer.objects.all(), self.request.user)
        return generics.get_object_or_404(producers, pk=self.kwargs["pk"])

    def get_queryset(self):
        return super().get_queryset().filter(producer=self.producer())

    @extend_schema(request=GiUseRightInputSerializer, responses={201: GiUseRightSerializer})
    def post(self, request, *args, **kwargs):
        from catalog.selectors import officer_covers_producer

        producer = self.producer()
        if not officer_covers_producer(reach=user_reach(request.user), producer=producer):
            raise ServiceError(
                "permission_denied", _("Only an officer of the producer's area records an authorisation."),
                status_code=403,
            )  # fmt: skip
        data = GiUseRightInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        right = services.gi_use_right_create(producer=producer, **data.validated_data)
        return Response(GiUseRightSerializer(right).data, status=status.HTTP_201_CREATED)
