"""Writes for documents. The row and its stored file live and die together: a failed write leaves no file
behind, and deleting the last row that uses a file deletes the file."""

import logging
from datetime import date

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from catalog.files import document_file_check, file_store
from catalog.models import Producer, Product
from marketplace.core.text import nfc

from .models import Document
from .selectors import document_file_key_in_use

logger = logging.getLogger(__name__)

# Filled from the stored file, so left out of the first full_clean (the file is checked on its own).
_FILE_FIELDS = ["file_key", "sha256", "size", "content_type"]


def _stored_file_discard(key: str) -> None:
    """Delete a stored file unless a document still refers to it. Never raises: at worst a file is kept."""
    try:
        if not document_file_key_in_use(key=key):
            default_storage.delete(key)
    except Exception:
        logger.exception("Could not discard the stored document file %s; it is kept", key)


def document_create(
    *,
    producer: Producer,
    product: Product | None = None,
    doc_type: str,
    file,
    number: str = "",
    issuer: str = "",
    issued_on: date | None = None,
    expires_on: date | None = None,
    uploaded_by=None,
) -> Document:
    """Store an uploaded paper (PDF, JPEG or PNG, recognised from its bytes, at most 10 MB) and record it.

    The file and the metadata are checked together, so every mistake is reported at once (ValidationError
    naming `file`, `expires_on`, `product`…), and nothing is stored when anything is refused. If the
    database write fails after the file was stored, the file is deleted again unless another document
    shares it. (When the caller's own outer transaction rolls back later, the file stays: Django has no
    rollback hook; the same upload later reuses it.)
    """
    document = Document(
        producer=producer,
        product=product,
        doc_type=doc_type,
        number=nfc(number),
        issuer=nfc(issuer),
        issued_on=issued_on,
        expires_on=expires_on,
        uploaded_by=uploaded_by,
    )
    stored = None
    try:
        with transaction.atomic():
            errors: dict = {}
            try:
                data, content_type = document_file_check(file, field="file")
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
            try:
                document.full_clean(exclude=_FILE_FIELDS)
            except ValidationError as exc:
                errors = exc.update_error_dict(errors)
            if errors:
                raise ValidationError(errors)

            stored = file_store(data=data, content_type=content_type, prefix="documents")
            document.file_key = stored.key
            document.sha256 = stored.sha256
            document.size = stored.size
            document.content_type = stored.content_type
            document.save()  # auditlog writes its entry in this same transaction
            _readiness_refresh_for(document)
    except BaseException:
        if stored is not None:
            _stored_file_discard(stored.key)
        raise
    return document


def _readiness_refresh_for(document: Document) -> None:
    """A paper can make a product ready for a channel (or stop it): recompute, in the same transaction."""
    from catalog.models import Product
    from catalog.readiness import readiness_refresh

    products = [document.product] if document.product_id else Product.objects.filter(producer_id=document.producer_id)
    for product in products:
        readiness_refresh(product=product)


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Delete a document; its stored file goes too, once the deletion is committed and if no other document
    (the same content uploaded twice) still refers to it."""
    key = document.file_key
    document.delete()
    _readiness_refresh_for(document)
    # After commit: a rolled-back deletion must still find its file.
    transaction.on_commit(lambda: _stored_file_discard(key), robust=True)
