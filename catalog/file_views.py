"""Serving a stored private file (a document, a certificate scan) through a view that checks scope first.

Files are never served from a public media URL: the object is looked up through the scoped queryset, then its
bytes go out as an attachment that no shared cache may keep.
"""

import logging

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.negotiation import BaseContentNegotiation

from marketplace.accounts.scoping import ScopedQuerysetMixin
from marketplace.core.errors import ServiceError

logger = logging.getLogger(__name__)

EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class _IgnoreAccept(BaseContentNegotiation):
    """The file goes out whatever the client accepts (a PDF reader asks for application/pdf); the errors of
    these views are still rendered by the API's JSON renderer."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PrivateFileApi(ScopedQuerysetMixin, generics.GenericAPIView):
    """Subclasses set `queryset`, `serializer_class` (for the schema only), the names of the fields holding
    the storage key and the content type, and `download_name` (formatted with the object as `obj`)."""

    content_negotiation_class = _IgnoreAccept
    key_field = "file_key"
    content_type_field = "content_type"
    download_name = "file-{obj.pk}"

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
        }
    )
    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        key, content_type = getattr(obj, self.key_field), getattr(obj, self.content_type_field)
        name = self.download_name.format(obj=obj)
        if not key:
            raise ServiceError("file_missing", _("There is no file here."), status_code=404)
        try:
            handle = default_storage.open(key, "rb")
        except FileNotFoundError:
            logger.error("%s %s: stored file %s is missing", type(obj).__name__, obj.pk, key)
            raise ServiceError(
                "file_missing", _("The file is missing from storage. Upload it again."), status_code=404
            ) from None
        filename = f"{name}.{EXTENSIONS.get(content_type, 'bin')}"
        response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response
