"""Accounts API: sign-in for a token; users and role assignments (administrators only)."""

import django_filters
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.core.api import BooleanFilter, IdFilter, StrictSerializer
from marketplace.core.errors import ServiceError, login_lockout_response
from marketplace.places.apis import UnitKeysField, UnitRefSerializer
from marketplace.places.models import NamedScope

from . import services
from .models import Role, RoleAssignment, User
from .permissions import IsAdministrator
from .scoping import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin, scope_queryset


class TokenApi(APIView):
    """Exchange a username and password for an API token.

    Failures are counted per username and client address by django-axes; past the limit the pair is locked
    out and the answer is 429 with Retry-After.
    """

    permission_classes = [AllowAny]
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={200: inline_serializer("TokenOutput", {"token": serializers.CharField()})},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # django-axes needs the Django HttpRequest (it marks lockouts on it), not DRF's wrapper.
        django_request = request._request
        user = authenticate(django_request, **data.validated_data)
        if getattr(django_request, "axes_locked_out", False):
            return login_lockout_response(django_request)
        if user is None:
            raise ServiceError(
                "invalid_credentials",
                _("The username or password is wrong."),
                fields={"password": [_("Check your username and password.")]},
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class RoleAssignmentSerializer(serializers.ModelSerializer):
    units = UnitRefSerializer(many=True, read_only=True)
    named_scope = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = RoleAssignment
        fields = ["id", "user", "role", "units", "named_scope", "is_active", "created_at"]


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "phone",
            "is_active",
            "roles",
            "date_joined",
        ]

    def get_roles(self, user) -> list[str]:
        return sorted({a.role for a in user.role_assignments.all() if a.is_active})


class UserInputSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    phone = serializers.CharField(required=False, allow_blank=True, default="", max_length=20)


class UserUpdateSerializer(UserInputSerializer):
    username = None
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True, required=False)
    is_active = serializers.BooleanField(required=False)


class UserFilter(django_filters.FilterSet):
    is_active = BooleanFilter()

    class Meta:
        model = User
        fields = ["is_active"]


class RoleAssignmentFilter(django_filters.FilterSet):
    user = IdFilter(field_name="user_id")
    role = django_filters.ChoiceFilter(choices=Role.choices)
    is_active = BooleanFilter()

    class Meta:
        model = RoleAssignment
        fields = ["user", "role", "is_active"]


class UserListApi(ScopedQuerysetMixin, generics.ListCreateAPIView):
    permission_classes = [IsAdministrator]
    queryset = User.objects.prefetch_related("role_assignments").order_by("username")
    serializer_class = UserSerializer
    filterset_class = UserFilter
    ordering_fields = ["username", "date_joined"]

    @extend_schema(request=UserInputSerializer, responses={201: UserSerializer})
    def post(self, request, *args, **kwargs):
        data = UserInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailApi(ScopedQuerysetMixin, generics.RetrieveUpdateAPIView):
    permission_classes = [IsAdministrator]
    queryset = User.objects.prefetch_related("role_assignments")
    serializer_class = UserSerializer
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(request=UserUpdateSerializer, responses=UserSerializer)
    def patch(self, request, *args, **kwargs):
        user = self.get_object()
        data = UserUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update(user=user, **data.validated_data)
        return Response(UserSerializer(user).data)


class RoleAssignmentInputSerializer(StrictSerializer):
    user = ScopedPrimaryKeyRelatedField(queryset=User.objects.all())
    role = serializers.ChoiceField(choices=Role.choices)
    units = UnitKeysField(required=False, default=list)
    # A slug checked by its format first, then looked up through scoping.
    named_scope = serializers.SlugField(max_length=80, required=False, allow_null=True, default=None)

    def validate_named_scope(self, slug):
        if slug is None:
            return None
        scope = scope_queryset(NamedScope.objects.all(), self.context["request"].user).filter(slug=slug).first()
        if scope is None:
            raise serializers.ValidationError(_("There is no saved scope with this code."))
        return scope


class RoleAssignmentListApi(ScopedQuerysetMixin, generics.ListCreateAPIView):
    permission_classes = [IsAdministrator]
    queryset = RoleAssignment.objects.select_related("named_scope").prefetch_related("units__parent")
    serializer_class = RoleAssignmentSerializer
    filterset_class = RoleAssignmentFilter
    ordering_fields = ["id", "role", "created_at"]

    @extend_schema(request=RoleAssignmentInputSerializer, responses={201: RoleAssignmentSerializer})
    def post(self, request, *args, **kwargs):
        data = RoleAssignmentInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        assignment = services.role_assignment_create(**data.validated_data, created_by=request.user)
        return Response(
            RoleAssignmentSerializer(self.get_queryset().get(pk=assignment.pk)).data, status=status.HTTP_201_CREATED
        )


class RoleAssignmentDetailApi(ScopedQuerysetMixin, generics.RetrieveDestroyAPIView):
    """DELETE deactivates the assignment; the row stays for the audit trail."""

    permission_classes = [IsAdministrator]
    queryset = RoleAssignment.objects.select_related("named_scope").prefetch_related("units__parent")
    serializer_class = RoleAssignmentSerializer

    def perform_destroy(self, instance):
        services.role_assignment_deactivate(assignment=instance)
