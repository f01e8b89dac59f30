"""Documents API: list and upload the papers of a producer or a product; read, download and delete one.

Everything goes through the scoped querysets: a producer, product or document outside your reach is
"not found". Whoever can see a producer may upload and delete its papers.
"""

import logging

import django_filters
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from catalog.file_views import PrivateFileApi
from catalog.models import Producer, ProducerMembership, Product
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import ScopedQuerysetMixin, scope_queryset, user_reach
from marketplace.core.api import IdFilter, StrictSerializer
from marketplace.core.audit import audit_set_on_behalf_of

from . import services
from .models import Document, DocumentType

logger = logging.getLogger(__name__)


class DocumentSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id", "producer", "product", "doc_type", "number", "issuer", "issued_on", "expires_on",
            "content_type", "size", "sha256", "uploaded_by", "created_at", "file_url",
        ]  # fmt: skip

    def get_file_url(self, document) -> str:
        return reverse("document-file", kwargs={"pk": document.pk})


class DocumentInputSerializer(StrictSerializer):
    doc_type = serializers.ChoiceField(choices=DocumentType.choices)
    # Empty files pass here so that the content check gives the one message about the file.
    file = serializers.FileField(allow_empty_file=True, use_url=False)
    number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    issuer = serializers.CharField(max_length=200, required=False, allow_blank=True)
    issued_on = serializers.DateField(required=False, allow_null=True)
    expires_on = serializers.DateField(required=False, allow_null=True)


class DocumentFilter(django_filters.FilterSet):
    doc_type = django_filters.ChoiceFilter(choices=DocumentType.choices)
    product = IdFilter(field_name="product_id")

    class Meta:
        model = Document
        fields = ["doc_type", "product"]


def _note_on_behalf_of(request, producer: Producer) -> None:
    """A community team member writing for a producer they do not belong to acts on its behalf (audit)."""
    if Role.COMMUNITY_TEAM not in user_reach(request.user).roles:
        return
    if ProducerMembership.objects.filter(producer=producer, user=request.user).exists():
        return
    audit_set_on_behalf_of(kind="producer", object_id=producer.pk, name=str(producer))


class _DocumentListApi(ScopedQuerysetMixin, generics.ListAPIView):
    queryset = Document.objects.all()
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    ordering_fields = ["created_at", "issued_on", "expires_on", "doc_type"]
    parser_classes = [MultiPartParser]  # an upload is a file: multipart/form-data only

    def create(self, request, *, producer: Producer, product: Product | None = None):
        data = DocumentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _note_on_behalf_of(request, producer)
        document = services.document_create(
            producer=producer, product=product, uploaded_by=request.user, **data.validated_data
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class ProducerDocumentListApi(_DocumentListApi):
    """All the papers of a producer, its products' included (`?product=<id>` narrows to one product).
    Uploading here attaches the paper to the producer as a whole."""

    def producer(self) -> Producer:
        return generics.get_object_or_404(
            scope_queryset(Producer.objects.all(), self.request.user), pk=self.kwargs["pk"]
        )

    def get_queryset(self):
        return super().get_queryset().filter(producer=self.producer())

    @extend_schema(request={"multipart/form-data": DocumentInputSerializer}, responses={201: DocumentSerializer})
    def post(self, request, *args, **kwargs):
        return self.create(request, producer=self.producer())


class ProductDocumentListApi(_DocumentListApi):
    """The papers of one product (test reports, OCOP certificate scan…). Uploading here attaches the paper
    to the product and to its producer."""

    def product(self) -> Product:
        products = scope_queryset(Product.objects.select_related("producer"), self.request.user)
        return generics.get_object_or_404(products, pk=self.kwargs["pk"])

    def get_queryset(self):
        return super().get_queryset().filter(product=self.product())

    @extend_schema(request={"multipart/form-data": DocumentInputSerializer}, responses={201: DocumentSerializer})
    def post(self, request, *args, **kwargs):
        product = self.product()
        return self.create(request, producer=product.producer, product=product)


class DocumentDetailApi(ScopedQuerysetMixin, generics.RetrieveDestroyAPIView):
    """A document's details. Deleting it deletes its file too, unless another document has the same file."""

    queryset = Document.objects.select_related("producer")
    serializer_class = DocumentSerializer

    def perform_destroy(self, instance):
        _note_on_behalf_of(self.request, instance.producer)
        services.document_delete(document=instance)


class DocumentFileApi(PrivateFileApi):
    """The document's bytes, only ever served here, to those in reach of the producer."""

    queryset = Document.objects.all()
    serializer_class = DocumentSerializer  # for the schema generator only; the answer is the file

    download_name = "{obj.doc_type}-{obj.pk}"
