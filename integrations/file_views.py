"""Photo exports a marketplace may fetch (Voso downloads images from URLs): signed, time-limited links."""

from django.core.files.storage import default_storage
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.http import FileResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from catalog.photos.models import PhotoStatus, ProductPhoto
from marketplace.core.errors import error_body

from .sync.content import EXPORT_URL_SALT

LINK_MAX_AGE_S = 86400


@require_safe
def photo_export(request, token: str):
    try:
        value = TimestampSigner(salt=EXPORT_URL_SALT).unsign(token, max_age=LINK_MAX_AGE_S)
        photo_id, name = value.split(":", 1)
    except (BadSignature, SignatureExpired, ValueError):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    photo = ProductPhoto.objects.filter(pk=photo_id, status=PhotoStatus.READY).first()
    if photo is None or name not in photo.derivatives or not name.startswith("export-"):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    derivative = photo.derivatives[name]
    return FileResponse(default_storage.open(derivative["key"], "rb"), content_type=derivative["type"])
