"""Photos API: upload (202, processed by a worker), list, edit, delete, and the files themselves."""

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from catalog.file_views import _IgnoreAccept
from catalog.models import Product, ProductStatus
from catalog.selectors import officer_covers_producer
from marketplace.accounts.scoping import ScopedQuerysetMixin, scope_queryset, user_reach
from marketplace.core.api import StrictSerializer
from marketplace.core.errors import ServiceError

from . import services
from .models import PhotoRole, ProductPhoto


def _version(key: str) -> str:
    # Keys are content-addressed (".../<sha256>.<ext>"): 16 hex digits of the digest identify the content.
    return key.rsplit("/", 1)[-1].split(".", 1)[0][:16]


def file_url(photo: ProductPhoto, name: str) -> str:
    key = photo.original_key if name == "original" else photo.derivatives[name]["key"]
    return reverse("photo-file", kwargs={"pk": photo.pk, "name": name, "version": _version(key)})


class PhotoSerializer(serializers.ModelSerializer):
    failure = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    private = serializers.SerializerMethodField()
    near_duplicate = serializers.SerializerMethodField()

    class Meta:
        model = ProductPhoto
        fields = [
            "id", "product", "role", "alt_text", "position", "is_primary", "status", "failure", "width", "height",
            "hints", "files", "near_duplicate", "private", "created_at", "processed_at",
        ]  # fmt: skip

    def _officer(self, photo) -> bool:
        covered = self.context.setdefault("_covered", {})
        producer = photo.product.producer
        if producer.pk not in covered:
            covered[producer.pk] = officer_covers_producer(
                reach=user_reach(self.context["request"].user), producer=producer
            )
        return covered[producer.pk]

    def get_failure(self, photo) -> str | None:
        return services.rejection_message(photo.failure_code) if photo.failure_code else None

    def get_files(self, photo) -> dict:
        return {name: file_url(photo, name) for name in photo.derivatives}

    def get_near_duplicate(self, photo) -> str | None:
        # For officers only: "this photo also appears on product X of producer Y".
        other = photo.near_duplicate_of
        if other is None or not self._officer(photo):
            return None
        return _("This photo also appears on product %(product)s of producer %(producer)s.") % {
            "product": other.product.name,
            "producer": other.product.producer.legal_name,
        }

    def get_private(self, photo) -> dict | None:
        # Capture time and GPS position: evidence of the production area for officers, never published.
        if not self._officer(photo):
            return None
        return {"taken_at": photo.taken_at, "latitude": photo.gps_latitude, "longitude": photo.gps_longitude}


class PhotoUploadSerializer(StrictSerializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or HEIC; at most 25 MB.")
    role = serializers.ChoiceField(choices=PhotoRole.choices)
    alt_text = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")


class PhotoUpdateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=PhotoRole.choices, required=False)
    alt_text = serializers.CharField(max_length=250, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    is_primary = serializers.BooleanField(required=False)


class PhotoViewMixin(ScopedQuerysetMixin):
    queryset = ProductPhoto.objects.select_related("product__producer", "near_duplicate_of__product__producer")
    serializer_class = PhotoSerializer


class ProductPhotoListApi(PhotoViewMixin, generics.ListAPIView):
    """The photos of a product. POST uploads one (multipart): answered 202 while a worker processes it."""

    parser_classes = [MultiPartParser]
    ordering_fields = ["position", "created_at"]

    def product(self) -> Product:
        products = scope_queryset(Product.objects.select_related("producer"), self.request.user)
        return generics.get_object_or_404(products, pk=self.kwargs["pk"])

    def get_queryset(self):
        return super().get_queryset().filter(product=self.product())

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        responses={202: PhotoSerializer, 409: OpenApiResponse(description="The same bytes are already a photo of it.")},
    )
    def post(self, request, *args, **kwargs):
        product = self.product()
        data = PhotoUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        photo = services.photo_upload(product=product, uploaded_by=request.user, **data.validated_data)
        photo = self.get_queryset().get(pk=photo.pk)
        return Response(PhotoSerializer(photo, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


class PhotoDetailApi(PhotoViewMixin, generics.RetrieveUpdateDestroyAPIView):
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(request=PhotoUpdateSerializer, responses=PhotoSerializer)
    def patch(self, request, *args, **kwargs):
        photo = self.get_object()
        data = PhotoUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.photo_update(photo=photo, **data.validated_data)
        return Response(PhotoSerializer(self.get_queryset().get(pk=photo.pk), context={"request": request}).data)

    def perform_destroy(self, instance):
        services.photo_delete(photo=instance)


ONE_YEAR = 365 * 24 * 3600


class PhotoFileApi(ScopedQuerysetMixin, generics.GenericAPIView):
    """A photo's file. Derivatives of an approved product are public and cached for a year (their keys are
    content-addressed, so they never change); a draft's are private to those in reach. The original, which
    still carries EXIF and GPS, goes only to officers of the producer's area."""

    permission_classes = [AllowAny]
    content_negotiation_class = _IgnoreAccept
    queryset = ProductPhoto.objects.select_related("product__producer")
    serializer_class = PhotoSerializer  # for the schema generator only; the answer is the file

    @extend_schema(responses={(200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY)})
    def get(self, request, pk: int, name: str, version: str):
        photo = ProductPhoto.objects.select_related("product__producer").filter(pk=pk).first()
        public = photo is not None and photo.product.status == ProductStatus.APPROVED and name in photo.derivatives
        if not public:
            photo = scope_queryset(ProductPhoto.objects.select_related("product__producer"), request.user)
            photo = photo.filter(pk=pk).first()
            if photo is None:
                raise ServiceError("not_found", _("Not found."), status_code=404)
        if name == "original":
            if not officer_covers_producer(reach=user_reach(request.user), producer=photo.product.producer):
                raise ServiceError("not_found", _("Not found."), status_code=404)
            key, content_type = photo.original_key, services.CONTENT_TYPES[services.EXTENSIONS[photo.original_format]]
        elif name in photo.derivatives:
            key, content_type = photo.derivatives[name]["key"], photo.derivatives[name]["type"]
        else:
            raise ServiceError("not_found", _("Not found."), status_code=404)
        if version != _version(key):  # an old URL of a file that has changed: it must not be served as new
            raise ServiceError("not_found", _("Not found."), status_code=404)
        try:
            handle = default_storage.open(key, "rb")
        except FileNotFoundError:
            raise ServiceError(
                "file_missing", _("The file is missing from storage. Upload it again."), status_code=404
            ) from None
        response = FileResponse(handle, content_type=content_type)
        response["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable" if public else "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
