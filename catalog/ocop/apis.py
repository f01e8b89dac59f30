"""OCOP certificates API: a product's certificates (list, add), the certificates in your reach with filters
(among them "expiring within N days"), one certificate, and an officer's verification."""

from datetime import timedelta

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from catalog.file_views import PrivateFileApi
from catalog.models import Product, ProductSet
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin, scope_queryset, user_reach
from marketplace.core.api import StrictSerializer
from marketplace.core.audit import audit_set_on_behalf_of
from marketplace.core.errors import ServiceError

from . import rules, services
from .models import CertificateStatus, EvaluationType, IssuingLevel, OcopCertificate, Star, Verification
from .selectors import certificate_verifiable_by, certificate_warnings_visible


class ScanSerializer(serializers.Serializer):
    content_type = serializers.CharField(source="scan_content_type")
    size = serializers.IntegerField(source="scan_size")
    sha256 = serializers.CharField(source="scan_sha256")


class CertificateSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    scan = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField(
        help_text="Only for officers and administrators: level mismatch, expiry soon, unusual validity."
    )

    class Meta:
        model = OcopCertificate
        fields = [
            "id", "product", "product_name", "star", "score", "evaluation_type", "criteria_version", "product_set",
            "decision_number", "decision_date", "issuing_level", "issuing_body", "certificate_number",
            "valid_from", "valid_until", "status", "supersedes", "scan", "verification", "verified_by",
            "verified_at", "rejection_reason", "revoked_at", "revocation_reason", "created_at", "warnings",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ScanSerializer(allow_null=True))
    def get_scan(self, certificate):
        return ScanSerializer(certificate).data if certificate.has_scan else None

    def get_warnings(self, certificate) -> list[str]:
        if not self.context.get("show_warnings"):
            return []
        return rules.certificate_warnings(certificate, today=self.context["today"])

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("show_warnings"):
            data.pop("warnings")  # producers do not get the key at all: the checks are for the verifying officer
        return data


class CertificateInputSerializer(StrictSerializer):
    star = serializers.ChoiceField(choices=Star.choices)
    score = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    evaluation_type = serializers.ChoiceField(choices=EvaluationType.choices, required=False)
    criteria_version = serializers.CharField(max_length=40, required=False, allow_blank=True)
    product_set = ScopedPrimaryKeyRelatedField(queryset=ProductSet.objects.all(), required=False, allow_null=True)
    decision_number = serializers.CharField(max_length=60)
    decision_date = serializers.DateField()
    issuing_level = serializers.ChoiceField(choices=IssuingLevel.choices)
    issuing_body = serializers.CharField(max_length=200)
    certificate_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    valid_from = serializers.DateField(required=False, allow_null=True)
    valid_until = serializers.DateField(required=False, allow_null=True)
    supersedes = ScopedPrimaryKeyRelatedField(queryset=OcopCertificate.objects.all(), required=False, allow_null=True)
    scan = serializers.FileField(required=False, help_text="PDF, JPEG or PNG, at most 10 MB (multipart only).")


class VerifyInputSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=[Verification.VERIFIED, Verification.REJECTED])
    reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Needed when rejecting: what to fix."
    )


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class CertificateFilter(django_filters.FilterSet):
    expiring_within_days = IntegerFilter(
        method="expiring",
        min_value=0,
        max_value=3650,
        help_text="Active certificates whose validity ends between today and today + N days, soonest first.",
    )
    status = django_filters.ChoiceFilter(choices=CertificateStatus.choices)
    verification = django_filters.ChoiceFilter(choices=Verification.choices)
    star = django_filters.ChoiceFilter(choices=Star.choices)

    class Meta:
        model = OcopCertificate
        fields = ["expiring_within_days", "status", "verification", "star"]

    def expiring(self, queryset, name, value):
        today = timezone.localdate()
        return queryset.filter(
            status=CertificateStatus.ACTIVE, valid_until__gte=today, valid_until__lte=today + timedelta(days=value)
        ).order_by("valid_until", "pk")


class CertificateViewMixin(ScopedQuerysetMixin):
    queryset = OcopCertificate.objects.select_related("product")
    serializer_class = CertificateSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["show_warnings"] = certificate_warnings_visible(user=self.request.user)
        context["today"] = timezone.localdate()
        return context


class ProductCertificateListApi(CertificateViewMixin, generics.ListCreateAPIView):
    """A product's OCOP certificates. Whoever may see the product may add one (JSON, or multipart with the
    scan); it counts as OCOP once an officer has verified it."""

    filterset_class = CertificateFilter
    ordering_fields = ["valid_until", "decision_date", "created_at"]

    def product(self) -> Product:
        if not hasattr(self, "_product"):
            products = scope_queryset(Product.objects.select_related("producer"), self.request.user)
            self._product = generics.get_object_or_404(products, pk=self.kwargs["pk"])
        return self._product

    def get_queryset(self):
        return super().get_queryset().filter(product=self.product())

    def note_on_behalf_of(self, product: Product):
        """A community team member entering a certificate for a producer they do not belong to acts on its
        behalf: the audit entry of the write says so, as for producers."""
        if Role.COMMUNITY_TEAM not in user_reach(self.request.user).roles:
            return
        if product.producer.memberships.filter(user=self.request.user).exists():
            return
        audit_set_on_behalf_of(kind="producer", object_id=product.producer_id, name=str(product.producer))

    @extend_schema(request=CertificateInputSerializer, responses={201: CertificateSerializer})
    def post(self, request, *args, **kwargs):
        product = self.product()
        data = CertificateInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        self.note_on_behalf_of(product)
        fields = {name: value for name, value in data.validated_data.items() if value is not None}
        certificate = services.ocop_certificate_create(product=product, created_by=request.user, **fields)
        return Response(self.get_serializer(certificate).data, status=status.HTTP_201_CREATED)


class CertificateListApi(CertificateViewMixin, generics.ListAPIView):
    """OCOP certificates in your reach, e.g. ?expiring_within_days=90 for the re-evaluations to plan."""

    filterset_class = CertificateFilter
    ordering_fields = ["valid_until", "decision_date", "created_at"]


class CertificateDetailApi(CertificateViewMixin, generics.RetrieveAPIView):
    """One certificate in reach; officers and administrators also get its warnings."""


class CertificateVerifyApi(CertificateViewMixin, generics.GenericAPIView):
    """An officer of the producer's area (or an administrator) verifies a certificate against the decision,
    or rejects it with the reason."""

    queryset = OcopCertificate.objects.select_related("product__producer")

    @extend_schema(request=VerifyInputSerializer, responses=CertificateSerializer)
    def post(self, request, *args, **kwargs):
        certificate = self.get_object()
        if not certificate_verifiable_by(certificate=certificate, user=request.user):
            raise ServiceError(
                "permission_denied",
                _("Only an officer of the producer's area can verify its OCOP certificates."),
                status_code=status.HTTP_403_FORBIDDEN,
            )
        data = VerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        certificate = services.ocop_certificate_verify(
            certificate=certificate, officer=request.user, **data.validated_data
        )
        return Response(self.get_serializer(certificate).data)


class CertificateScanApi(PrivateFileApi):
    """The certificate's scan, only to those in reach of the producer (as for documents)."""

    queryset = OcopCertificate.objects.all()
    serializer_class = CertificateSerializer  # for the schema generator only; the answer is the file
    key_field = "scan_file_key"
    content_type_field = "scan_content_type"
    download_name = "ocop-{obj.pk}"
