"""Photo processing on its own queue (settings.PHOTO_QUEUE, "images"), so big decodes never delay others."""

import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from . import selectors, services
from .models import PhotoStatus, ProductPhoto
from .pipeline import PhotoRejected, photo_process

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=3, soft_time_limit=120, time_limit=150)
def photo_process_task(self, photo_id: int) -> str:
    """Process one uploaded photo into its derivatives. Idempotent: a photo no longer "processing" (already
    done, failed, or deleted) is left alone, so a redelivered message does nothing.

    Retried (with backoff) only on storage errors, which pass; a bad image, a missing original or a photo
    too slow to process fail at once, and a photo still failing after the last retry is marked failed, so
    that no photo stays "processing" for ever.
    """
    photo = ProductPhoto.objects.filter(pk=photo_id, status=PhotoStatus.PROCESSING).first()
    if photo is None:
        return "skipped"
    try:
        with default_storage.open(photo.original_key, "rb") as original:
            data = original.read()
        processed = photo_process(data, exports=selectors.channel_export_specs())
        result = services.photo_processing_succeeded(photo_id=photo_id, processed=processed)
    except PhotoRejected as exc:
        services.photo_processing_failed(photo_id=photo_id, code=exc.code, message=exc.message)
        return "failed"
    except FileNotFoundError:
        services.photo_processing_failed(photo_id=photo_id, code="original_missing", message="original missing")
        return "failed"
    except SoftTimeLimitExceeded:
        services.photo_processing_failed(photo_id=photo_id, code="too_slow", message="processing took too long")
        return "failed"
    except OSError as exc:  # storage unavailable: worth another try, then give up cleanly
        if self.request.retries >= self.max_retries:
            services.photo_processing_failed(photo_id=photo_id, code="storage", message=str(exc))
            return "failed"
        raise self.retry(exc=exc, countdown=5 * 2**self.request.retries) from exc
    return "ready" if result is not None else "skipped"


@shared_task(soft_time_limit=60, time_limit=90)
def photos_requeue_stale(stale_after_s: int = 600) -> int:
    """Beat, every 10 minutes: photos "processing" for over 10 minutes (a lost message, a killed worker, a
    broker restarted empty or down at upload time) are queued again; after 2 hours they are marked failed. Safe
    because the task is idempotent. `stale_after_s` lets a recovery drill ask sooner than beat does."""
    now = timezone.now()
    stale = ProductPhoto.objects.filter(
        status=PhotoStatus.PROCESSING, created_at__lt=now - timedelta(seconds=stale_after_s)
    )
    for photo_id in stale.filter(created_at__lt=now - timedelta(hours=2)).values_list("pk", flat=True):
        services.photo_processing_failed(photo_id=photo_id, code="too_slow", message="never processed")
    queued = 0
    for photo_id in stale.values_list("pk", flat=True):
        photo_process_task.apply_async(args=[photo_id], queue=settings.PHOTO_QUEUE)
        queued += 1
    return queued
