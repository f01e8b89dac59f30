"""Places API: the unit list with accent-insensitive search, one unit with its lineage, and named scopes."""

import django_filters
from django.http import Http404
from django.utils.text import slugify
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from marketplace.accounts.permissions import ReadAnyWriteOfficer
from marketplace.accounts.scoping import ScopedQuerysetMixin, user_reach
from marketplace.core.api import StrictSerializer
from marketplace.core.errors import ServiceError
from marketplace.core.text import fold

from . import selectors, services
from .models import AdministrativeUnit, CodeSystem, Level, NamedScope


class UnitRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdministrativeUnit
        fields = ["system", "level", "code", "unit_type", "name", "short_name", "display_name"]


class UnitSerializer(UnitRefSerializer):
    parent = UnitRefSerializer(read_only=True, allow_null=True)  # provinces have none

    class Meta(UnitRefSerializer.Meta):
        fields = [*UnitRefSerializer.Meta.fields, "parent", "valid_from", "valid_to", "latitude", "longitude"]


class UnitFilter(django_filters.FilterSet):
    system = django_filters.ChoiceFilter(choices=CodeSystem.choices)
    level = django_filters.ChoiceFilter(choices=Level.choices)
    parent = django_filters.CharFilter(field_name="parent__code", help_text="Code of the parent unit.")
    q = django_filters.CharFilter(method="search", help_text="Accent-insensitive: 'tu le' finds 'Xã Tú Lệ'.")

    class Meta:
        model = AdministrativeUnit
        fields = ["system", "level", "parent", "q"]

    def search(self, queryset, name, value):
        return selectors.unit_search(queryset=queryset, q=value)


class PlaceListApi(ScopedQuerysetMixin, generics.ListAPIView):
    """Administrative units of both code systems. Public reference data: no sign-in needed."""

    permission_classes = [AllowAny]
    queryset = AdministrativeUnit.objects.select_related("parent")
    serializer_class = UnitSerializer
    filterset_class = UnitFilter
    ordering_fields = ["code", "name"]
    ordering = ["system", "level", "code"]


class LineageSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    event = serializers.CharField()
    partial = serializers.BooleanField()
    effective_date = serializers.DateField()


class PlaceDetailSerializer(UnitSerializer):
    children = serializers.SerializerMethodField()
    predecessors = serializers.SerializerMethodField()
    successors = serializers.SerializerMethodField()
    legal_basis = serializers.CharField()
    source = serializers.CharField()

    class Meta(UnitSerializer.Meta):
        fields = [
            *UnitSerializer.Meta.fields,
            "legal_basis",
            "source",
            "children",
            "predecessors",
            "successors",
        ]

    @extend_schema(responses=UnitRefSerializer(many=True))
    def get_children(self, unit) -> list:
        return UnitRefSerializer(unit.children.select_related("parent").order_by("code"), many=True).data

    def _edges(self, edges, side):
        rows = [
            {
                "unit": getattr(e, side),
                "event": e.event,
                "partial": e.partial,
                "effective_date": e.effective_date,
            }
            for e in edges
        ]
        return LineageSerializer(rows, many=True).data

    @extend_schema(responses=LineageSerializer(many=True))
    def get_predecessors(self, unit) -> list:
        return self._edges(
            unit.predecessions.select_related("predecessor__parent").order_by("predecessor__code"),
            "predecessor",
        )

    @extend_schema(responses=LineageSerializer(many=True))
    def get_successors(self, unit) -> list:
        return self._edges(
            unit.successions.select_related("successor__parent").order_by("successor__code"), "successor"
        )


class PlaceDetailApi(ScopedQuerysetMixin, generics.RetrieveAPIView):
    """One unit with its parent, children, and lineage across the 2025 reform (predecessors and successors)."""

    permission_classes = [AllowAny]
    queryset = AdministrativeUnit.objects.select_related("parent")
    serializer_class = PlaceDetailSerializer

    @extend_schema(parameters=[OpenApiParameter("level", enum=Level.values, required=False)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self):
        level = self.request.query_params.get("level")
        if level is not None and level not in Level.values:
            raise ServiceError(
                "invalid", _("Unknown level."), fields={"level": [_("Use one of: %s.") % ", ".join(Level.values)]}
            )
        unit = selectors.unit_newest(
            queryset=self.get_queryset(), system=self.kwargs["system"], code=self.kwargs["code"], level=level
        )
        if unit is None:
            raise Http404
        return unit


class UnitKeySerializer(StrictSerializer):
    system = serializers.ChoiceField(choices=CodeSystem.choices)
    level = serializers.ChoiceField(choices=Level.choices)
    code = serializers.RegexField(r"^[0-9]{1,8}$", max_length=8)


class UnitKeysField(serializers.ListField):
    """A list of {system, level, code} resolved to units in one query; unknown units are named in the error."""

    child = UnitKeySerializer()

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        keys = super().to_internal_value(data)
        units, missing = selectors.units_by_keys(keys=keys)
        if missing:
            listed = ", ".join(f"{i}: {keys[i]['system']}/{keys[i]['level']}/{keys[i]['code']}" for i in missing)
            raise serializers.ValidationError(_("These units do not exist: %(units)s.") % {"units": listed})
        return units


class NamedScopeSerializer(serializers.ModelSerializer):
    units = UnitRefSerializer(many=True, read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)  # shared scopes

    class Meta:
        model = NamedScope
        fields = ["id", "slug", "name", "description", "is_shared", "owner", "units", "created_at"]


class NamedScopeCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=160)
    slug = serializers.SlugField(max_length=80, required=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    is_shared = serializers.BooleanField(required=False, default=False)
    units = UnitKeysField(allow_empty=False)


class NamedScopeListApi(ScopedQuerysetMixin, generics.ListCreateAPIView):
    """Saved sets of places. Everyone reads shared scopes and their own; officers and administrators save."""

    permission_classes = [ReadAnyWriteOfficer]
    queryset = NamedScope.objects.select_related("owner").prefetch_related("units__parent")
    serializer_class = NamedScopeSerializer
    ordering_fields = ["name", "created_at"]

    @extend_schema(request=NamedScopeCreateSerializer, responses={201: NamedScopeSerializer})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        data = NamedScopeCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reach = user_reach(request.user)
        if data.validated_data["is_shared"] and not reach.is_admin:
            raise ServiceError(
                "permission_denied",
                _("Only administrators can share a scope with everyone."),
                fields={"is_shared": [_("Leave this off: your scope stays yours.")]},
                status_code=403,
            )
        covered = set(selectors.units_current_communes(units=data.validated_data["units"]).values_list("pk", flat=True))
        if not reach.covers_communes(covered):
            raise ServiceError(
                "outside_your_area",
                _("The scope goes beyond the area assigned to you."),
                fields={"units": [_("Choose only units in your area.")]},
            )
        slug = data.validated_data.get("slug") or slugify(fold(data.validated_data["name"]))[:80]
        scope = services.named_scope_create(
            slug=slug,
            name=data.validated_data["name"],
            description=data.validated_data["description"],
            is_shared=data.validated_data["is_shared"],
            units=data.validated_data["units"],
            owner=request.user,
        )
        return Response(NamedScopeSerializer(self.get_queryset().get(pk=scope.pk)).data, status=status.HTTP_201_CREATED)


class NamedScopeDetailSerializer(NamedScopeSerializer):
    current_commune_count = serializers.SerializerMethodField()

    class Meta(NamedScopeSerializer.Meta):
        fields = [*NamedScopeSerializer.Meta.fields, "current_commune_count"]

    def get_current_commune_count(self, scope) -> int:
        return selectors.scope_current_communes(scope=scope).count()


class NamedScopeDetailApi(ScopedQuerysetMixin, generics.RetrieveAPIView):
    """One saved scope, with the number of current communes it resolves to through lineage."""

    permission_classes = [ReadAnyWriteOfficer]
    queryset = NamedScope.objects.select_related("owner").prefetch_related("units__parent")
    serializer_class = NamedScopeDetailSerializer
