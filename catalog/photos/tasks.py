"""Photo processing on its own queue ("images"), so big decodes never delay other tasks."""

import logging

from celery import shared_task
from django.core.files.storage import default_storage

from . import selectors, services
from .models import PhotoStatus, ProductPhoto
from .pipeline import PhotoRejected, photo_process

logger = logging.getLogger(__name__)


@shared_task(
    queue="images",
    acks_late=True,
    autoretry_for=(OSError,),  # storage hiccups are retryable; a bad image (PhotoRejected) is not
    retry_backoff=5,
    max_retries=3,
    soft_time_limit=120,
    time_limit=150,
)
def photo_process_task(photo_id: int) -> str:
    """Process one uploaded photo into its derivatives. Idempotent: a photo no longer "processing" (already
    done, failed, or deleted) is left alone, so a redelivered message does nothing."""
    photo = ProductPhoto.objects.select_related("product__producer").filter(pk=photo_id).first()
    if photo is None or photo.status != PhotoStatus.PROCESSING:
        return "skipped"
    with default_storage.open(photo.original_key, "rb") as original:
        data = original.read()
    try:
        processed = photo_process(data, exports=selectors.channel_export_specs())
    except PhotoRejected as exc:
        services.photo_processing_failed(photo=photo, code=exc.code, message=exc.message)
        return "failed"
    services.photo_processing_succeeded(photo=photo, processed=processed)
    return "ready"
