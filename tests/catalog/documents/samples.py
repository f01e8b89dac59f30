"""Real files to upload, made on the spot, and the helpers the document stories share."""

import io
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import Product, ProductSet
from marketplace.core.text import fold


def pdf_bytes(text: str = "Giấy chứng nhận") -> bytes:
    """A real one-page PDF, as a scanner would make it."""
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(buffer, "PDF", title=text)
    return buffer.getvalue()


def image_bytes(kind: str = "PNG", colour: str = "green") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buffer, kind)
    return buffer.getvalue()


def upload(data: bytes, name: str = "paper.pdf", content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files() -> list[Path]:
    """Every file in the storage root (tests point MEDIA_ROOT at a fresh temporary folder)."""
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def product_of(producer, name: str = "Chè Shan tuyết") -> Product:
    return Product.objects.create(
        producer=producer,
        name=name,
        product_set=ProductSet.objects.filter(is_service=False).first(),
        kind="goods",
        search_key=fold(name),
    )
