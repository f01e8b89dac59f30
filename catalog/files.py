"""Uploaded files of the catalogue: recognised from their bytes (never the name or Content-Type), bounded in
size, stored content-addressed through Django's storage API. Used by documents and certificate scans."""

import hashlib
import io
from dataclasses import dataclass

import puremagic
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# What a paper document may be: the magic number sniffed by puremagic, checked again below.
DOCUMENT_KINDS = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",  # puremagic names most JPEGs by their JFIF/Exif marker
    ".png": "image/png",
}
_SIGNATURES = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}


@dataclass(frozen=True)
class StoredFile:
    key: str  # storage name, relative: no absolute path ever reaches the database
    sha256: str
    size: int
    content_type: str


def document_file_check(upload, *, field: str = "file") -> tuple[bytes, str]:
    """Read an upload and return (bytes, content type) if it is a PDF, JPEG or PNG of at most 10 MB.

    Anything else is a ValidationError on `field` saying what is accepted. The sniffed type must also start
    with its own signature at byte 0 (a polyglot with a PDF header buried inside is refused), and an image
    must decode, so a truncated photo of a certificate is caught now rather than by an officer later.
    """
    if upload.size is not None and upload.size > MAX_DOCUMENT_BYTES:
        raise ValidationError({field: [_("The file is larger than 10 MB. Scan it at a lower resolution.")]})
    data = upload.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationError({field: [_("The file is larger than 10 MB. Scan it at a lower resolution.")]})
    if not data:
        raise ValidationError({field: [_("The file is empty.")]})
    try:
        content_type = DOCUMENT_KINDS.get(puremagic.from_string(data))
    except puremagic.PureError:
        content_type = None
    if content_type is None or not data.startswith(_SIGNATURES[content_type]):
        raise ValidationError({field: [_("Send a PDF, JPEG or PNG file (a scan or a photo of the paper).")]})
    if content_type != "application/pdf":
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            raise ValidationError({field: [_("The image is damaged or incomplete. Take the photo again.")]}) from None
    return data, content_type


def file_store(*, data: bytes, content_type: str, prefix: str) -> StoredFile:
    """Save bytes under a key derived from their SHA-256; the same content is stored once."""
    digest = hashlib.sha256(data).hexdigest()
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[content_type]
    key = f"{prefix}/{digest[:2]}/{digest}.{extension}"
    if not default_storage.exists(key):
        key = default_storage.save(key, ContentFile(data))
    return StoredFile(key=key, sha256=digest, size=len(data), content_type=content_type)
