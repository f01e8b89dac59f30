"""Writes for photos: upload (validate, store the private original, queue processing), processing results,
edits (role, order, primary) and deletion."""

import hashlib
import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.readiness import readiness_refresh
from marketplace.core.errors import ServiceError
from marketplace.core.queue import task_send
from marketplace.core.text import nfc

from . import selectors
from .models import ROLES_NEEDING_500PX, PhotoStatus, ProductPhoto
from .pipeline import MAX_UPLOAD_BYTES, PhotoRejected, Processed, photo_probe

logger = logging.getLogger(__name__)

EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heic": "image/heic"}
MIN_FRONT_PX = 500


def rejection_message(code: str) -> str:
    """What a producer reads when a photo is refused, by the pipeline's code, in their language."""
    return {
        "empty": _("The file is empty. Take the photo again."),
        "too_large": _("The photo is larger than 25 MB. Send a smaller one."),
        "unsupported_format": _("Send a photo as JPEG, PNG, WebP or HEIC (not SVG, GIF, PDF or a web page)."),
        "too_many_pixels": _("The image is too large (over 60 megapixels). Send a normal phone photo."),
        "unreadable": _("The photo is damaged or incomplete. Take or send it again."),
        "polyglot": _("The file hides a web page or script inside the picture. Send a plain photo."),
    }.get(code, _("This photo cannot be used. Take or send it again."))


def _duplicate(existing: ProductPhoto) -> ServiceError:
    return ServiceError(
        "duplicate_photo",
        _("This photo is already on this product."),
        fields={"image": [_("The same file was uploaded before (photo %(id)s).") % {"id": existing.pk}]},
        status_code=409,
    )


def photo_upload(*, product: Product, image, role: str, alt_text: str = "", uploaded_by=None) -> ProductPhoto:
    """Check an upload from its bytes, store the original privately and queue its processing (202).

    Refused with a 400 naming `image` (nothing stored): not JPEG/PNG/WebP/HEIC, empty, truncated, over 25 MB,
    over 60 megapixels, or a front/label photo under 500×500. The same bytes twice on one product: 409.
    """
    if image.size is not None and image.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"image": [_("The photo is larger than 25 MB. Send a smaller one.")]})
    data = image.read(MAX_UPLOAD_BYTES + 1)
    try:
        probe = photo_probe(data)
    except PhotoRejected as exc:
        raise ValidationError({"image": [rejection_message(exc.code)]}) from None
    if role in ROLES_NEEDING_500PX and min(probe.width, probe.height) < MIN_FRONT_PX:
        raise ValidationError(
            {"image": [_("A front or label photo needs at least 500×500 pixels so that buyers can read it.")]}
        )
    digest = hashlib.sha256(data).hexdigest()
    existing = ProductPhoto.objects.filter(product=product, sha256=digest).first()
    if existing:
        raise _duplicate(existing)

    extension = EXTENSIONS[probe.format]
    key = f"photos/originals/{digest[:2]}/{digest}.{extension}"
    if not default_storage.exists(key):
        key = default_storage.save(key, ContentFile(data))
    photo = ProductPhoto(
        product=product,
        role=role,
        alt_text=nfc(alt_text),
        position=product.photos.count(),
        original_key=key,
        sha256=digest,
        original_bytes=len(data),
        original_format=probe.format,
        width=probe.width,
        height=probe.height,
        uploaded_by=uploaded_by,
    )
    try:
        with transaction.atomic():
            photo.full_clean(validate_constraints=False)
            photo.save()
            # Processed by a worker once the row is visible to it; the task takes the id and is idempotent.
            transaction.on_commit(lambda: _enqueue(photo.pk))
    except IntegrityError:  # the same bytes uploaded twice at once: the other request won (and keeps the file)
        raise _duplicate(ProductPhoto.objects.get(product=product, sha256=digest)) from None
    except BaseException:
        if not ProductPhoto.objects.filter(original_key=key).exists():
            default_storage.delete(key)  # no row, no file
        raise
    return photo


def _enqueue(photo_id: int) -> None:
    from django.conf import settings

    from .tasks import photo_process_task

    # Broker down: the photo stays "processing" and photos_requeue_stale queues it again.
    task_send(photo_process_task, args=[photo_id], queue=settings.PHOTO_QUEUE, what=f"photo {photo_id}")


def _store_derivative(data: bytes, extension: str) -> str:
    digest = hashlib.sha256(data).hexdigest()
    key = f"photos/derived/{digest[:2]}/{digest}.{extension}"
    if not default_storage.exists(key):
        key = default_storage.save(key, ContentFile(data))
    return key


PROCESSING_FIELDS = [
    "derivatives", "width", "height", "hints", "phash", "taken_at", "gps_latitude", "gps_longitude", "status",
    "failure_code", "failure_message", "processed_at", "near_duplicate_of",
]  # fmt: skip


def photo_processing_succeeded(*, photo_id: int, processed: Processed) -> ProductPhoto | None:
    """Store the derivatives and the private metadata, mark the photo ready, flag a near-duplicate.

    Writes only the processing fields, on a locked row still "processing": an edit made meanwhile (role,
    primary) is kept, and a photo deleted meanwhile is not brought back (its new files are discarded).
    Returns None when there was nothing to do.
    """
    stored: list[str] = []
    try:
        for d in processed.derivatives:
            extension = {"image/webp": "webp", "image/png": "png"}.get(d.content_type, "jpg")
            stored.append(_store_derivative(d.data, extension))
        with transaction.atomic():
            photo = (
                ProductPhoto.objects.select_for_update()
                .select_related("product__producer")
                .filter(pk=photo_id, status=PhotoStatus.PROCESSING)
                .first()
            )
            if photo is not None:
                _apply_processed(photo, processed, stored)
                photo.save(update_fields=PROCESSING_FIELDS)
                readiness_refresh(product=photo.product)
    except BaseException:
        _discard_unreferenced(stored)
        raise
    if photo is None:  # deleted, or already done by another delivery of the task
        _discard_unreferenced(stored)
    return photo


def _apply_processed(photo: ProductPhoto, processed: Processed, keys: list[str]) -> None:
    derivatives = {}
    for d, key in zip(processed.derivatives, keys, strict=True):
        derivatives[d.name] = {"key": key, "width": d.width, "height": d.height, "type": d.content_type,
                               "bytes": len(d.data)}  # fmt: skip
    photo.derivatives = derivatives
    photo.width, photo.height = processed.width, processed.height
    photo.hints = list(processed.hints)
    photo.phash = processed.phash
    photo.taken_at = _aware(processed.taken_at)
    photo.gps_latitude, photo.gps_longitude = processed.gps or (None, None)
    photo.status = PhotoStatus.READY
    photo.failure_code = photo.failure_message = ""
    photo.processed_at = timezone.now()
    photo.near_duplicate_of = selectors.photo_near_duplicate(photo=photo)


def _key_in_use(key: str) -> bool:
    return (
        ProductPhoto.objects.filter(original_key=key).exists()
        or ProductPhoto.objects.filter(derivatives__icontains=key).exists()
    )


def _discard_unreferenced(keys: list[str]) -> None:
    """Delete stored files that no photo refers to (content-addressed files may be shared)."""
    for key in keys:
        try:
            if not _key_in_use(key):
                default_storage.delete(key)
        except Exception:  # a leftover file is harmless; never hide the original error behind this one
            logger.exception("Could not discard the stored photo file %s", key)


def _aware(value: datetime | None) -> datetime | None:
    # EXIF times carry no zone: phones in Vietnam record local time.
    return timezone.make_aware(value) if value and timezone.is_naive(value) else value


def photo_processing_failed(*, photo_id: int, code: str, message: str) -> bool:
    """Mark a photo still "processing" as failed, with the reason shown to the producer. Idempotent."""
    changed = ProductPhoto.objects.filter(pk=photo_id, status=PhotoStatus.PROCESSING).update(
        status=PhotoStatus.FAILED, failure_code=code, failure_message=message[:300], processed_at=timezone.now()
    )
    return bool(changed)


@transaction.atomic
def photo_update(*, photo: ProductPhoto, **changes) -> ProductPhoto:
    """Change role, description, position or the primary flag (one primary photo per product).

    The product's row is locked, so that two requests making different photos primary run one after the
    other; only the changed fields are written, so a worker finishing meanwhile loses nothing.
    """
    Product.objects.select_for_update().filter(pk=photo.product_id).first()
    photo.refresh_from_db()
    if changes.get("role") in ROLES_NEEDING_500PX and min(photo.width or 0, photo.height or 0) < MIN_FRONT_PX:
        raise ValidationError({"role": [_("This photo is too small for a front or label photo (500×500 at least).")]})
    if changes.get("is_primary") and photo.status != PhotoStatus.READY:
        raise ValidationError({"is_primary": [_("Only a processed photo can be the primary photo.")]})
    if changes.get("is_primary"):
        ProductPhoto.objects.filter(product_id=photo.product_id, is_primary=True).exclude(pk=photo.pk).update(
            is_primary=False
        )
    for name, value in changes.items():
        setattr(photo, name, nfc(value) if isinstance(value, str) else value)
    photo.full_clean(validate_constraints=False)
    photo.save(update_fields=list(changes))
    readiness_refresh(product=photo.product)
    return photo


@transaction.atomic
def photo_delete(*, photo: ProductPhoto) -> None:
    """Delete a photo; its files go after commit, unless another photo shares them (content-addressed)."""
    keys = [photo.original_key, *(d["key"] for d in photo.derivatives.values())]
    product = photo.product
    photo.delete()
    readiness_refresh(product=product)

    def discard():
        for key in keys:
            shared = (
                ProductPhoto.objects.filter(original_key=key).exists()
                or ProductPhoto.objects.filter(derivatives__icontains=key).exists()
            )
            if not shared:
                default_storage.delete(key)

    transaction.on_commit(discard, robust=True)
