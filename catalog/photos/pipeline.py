"""The image-processing core for product photos: pure functions over bytes, no Django.

`photo_probe` is the cheap check made while the upload request is still open; `photo_process` is run by a
Celery task and returns every derivative as bytes for the caller to store. Neither ever writes a file.

Design choices, and why:

* The bytes decide, never a file name or a Content-Type: Pillow identifies the format from the magic number,
  restricted to the accepted formats, so a GIF/TIFF/BMP/PDF/SVG/HTML payload is never handed to another
  decoder. Nothing we serve is the uploaded file: every derivative is re-encoded from pixels, with no EXIF,
  XMP, ICC profile or comment, so a JPEG/HTML polyglot can at most become a JPEG that decodes.
* Pillow's limits are set deliberately at import (``Image.MAX_IMAGE_PIXELS``) and checked again
  explicitly, so a header that claims a huge canvas is refused before a single pixel is decoded.
* Speed and memory come from not decoding what is thrown away: JPEGs are decoded by libjpeg at 1/2, 1/4
  or 1/8 scale (``Image.draft``) when that still gives the biggest size needed, and every smaller
  derivative is reduced from the next bigger one rather than from the full image.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import imagehash
import numpy as np
import pillow_heif
from PIL import ExifTags, Image, ImageCms, ImageFile, UnidentifiedImageError

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 60_000_000  # images over 60 MP, or whose header claims more, are refused
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF"}  # Pillow format names (pillow-heif reports "HEIF")

# Pillow's own guard, set to our limit rather than its default (~89 MP warning, ~179 MP error). A header
# over this raises DecompressionBombWarning, which `_open` turns into a refusal; over twice this, Pillow
# raises DecompressionBombError itself. Truncated files must fail, not decode as grey: keep the default.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False
pillow_heif.register_heif_opener()

MASTER_PX = 2048  # longest side of the master
THUMB_WIDTHS = (800, 320)  # "w800", "w320": widths, as in a srcset `w` descriptor
MASTER_QUALITY = 85
THUMB_QUALITY = 82
WEBP_QUALITY = 80
EXPORT_QUALITIES = (85, 80, 75, 70, 65, 60)  # tried in turn before an export is scaled down
EXPORT_MIN_SIDE = 16  # an export that does not fit max_bytes at this size is a bad spec, not a bad photo

# Quality hints, computed on a grey copy whose longest side is HINT_PX. The blur threshold is the variance
# of a 4-neighbour Laplacian: calibrated on photo-like images (noise, gradients, shapes), sharp ones score
# around 300-500, the same after GaussianBlur(radius=4) at 1600 px around 10, radius 3 about 20 (tests).
HINT_PX = 512
BLUR_VARIANCE = 30.0
DARK_MEAN = 40.0
BRIGHT_MEAN = 225.0

_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_RESAMPLE = Image.Resampling.LANCZOS
# Image.resize first reduces by an integer factor (box filter, fast) while the remaining ratio stays above
# this, then resamples with Lanczos: near-Lanczos quality at a fraction of the cost on big reductions.
_REDUCING_GAP = 3.0
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1")
_CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_ACCEPTED_HUMAN = "a JPEG, PNG, WebP or HEIC photo"


class PhotoRejected(Exception):
    """An upload that cannot become a product photo; `message` is shown to the producer as is."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Probe:
    format: str
    width: int
    height: int
    mode: str
    frames: int


@dataclass(frozen=True)
class ExportSpec:
    channel: str
    format: str  # "JPEG" | "PNG"
    min_px: int  # below this shortest side the export is still made, with hint "small:<channel>"
    max_px: int  # longest side
    max_bytes: int


@dataclass(frozen=True)
class Derivative:
    name: str
    content_type: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Processed:
    width: int  # after orientation, of the original
    height: int
    derivatives: tuple[Derivative, ...]
    taken_at: datetime | None
    gps: tuple[float, float] | None
    phash: str
    hints: tuple[str, ...]


# --------------------------------------------------------------------------------------------------- probe


# Markup that has no business inside a photo. Camera metadata (EXIF, XMP's "<x:xmpmeta", ICC) never contains
# these, so a match means a file built to be read as a web page too.
_MARKUP = re.compile(rb"<(?:script|html|body|iframe|svg|object|embed)\b|<\?php|javascript:", re.IGNORECASE)


def photo_probe(data: bytes) -> Probe:
    """Identify an upload from its bytes and raise PhotoRejected if unfit, cheaply enough for the request.

    Beyond the header, the pixels are decoded once at the smallest scale the format allows (a JPEG at 1/8,
    so a 48 MP photo costs a 0.75 MP decode), so that a truncated or corrupt file is refused at upload with
    a 400 and nothing stored, rather than failing later in the worker.
    """
    with _open(data) as img:
        if _MARKUP.search(data):
            # An image with a web page or script inside (a polyglot) is refused: the derivatives would be
            # clean, but the private original would still be a file that a browser might run.
            raise PhotoRejected(
                "polyglot",
                "The file hides a web page or script inside the picture. Export a plain photo and re-upload.",
            )
        probe = Probe(format=_format_of(img), width=img.width, height=img.height, mode=img.mode, frames=_frames(img))
        try:
            if probe.format == "JPEG":
                img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
        except Exception as exc:  # truncated or corrupt pixel data, whatever the decoder says
            raise _unreadable() from exc
        return probe


def _open(data: bytes) -> ImageFile.ImageFile:
    """Open the header lazily, refusing anything that is not an accepted format within the limits."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"photo data must be bytes, not {type(data).__name__}")
    if not data:
        raise PhotoRejected("empty", "The file is empty. Choose the photo again and re-upload it.")
    if len(data) > MAX_UPLOAD_BYTES:
        size_mb = len(data) / (1024 * 1024)
        raise PhotoRejected(
            "too_large",
            f"The file is {size_mb:.1f} MB; a photo may be at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. "
            "Export it at a smaller size or lower quality and re-upload it.",
        )
    data = bytes(data)
    try:
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make the warning raise. catch_warnings
        # changes process-wide state: fine in Celery's prefork workers, and the size check below is the
        # real guard anyway (it holds even if someone else changes Image.MAX_IMAGE_PIXELS).
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise _too_many_pixels() from exc
    except UnidentifiedImageError as exc:
        # Also raised when an accepted format's header is damaged: tell those apart by the magic number.
        if _has_accepted_magic(data):
            raise _unreadable() from exc
        raise _unsupported(data) from exc
    except Exception as exc:  # any parser failure on hostile bytes is "unreadable", never a crash
        raise _unreadable() from exc

    try:
        if _format_of(img) not in ACCEPTED_FORMATS:  # belt and braces: `formats=` already restricts this
            raise _unsupported(data)
        width, height = img.size
        if width < 1 or height < 1:
            raise _unreadable()
        if width * height > MAX_PIXELS:
            raise _too_many_pixels(width, height)
    except BaseException:
        img.close()
        raise
    return img


def _format_of(img: Image.Image) -> str:
    # Phone JPEGs carrying a Multi-Picture extension (depth map, preview) are reported as "MPO"; the first
    # frame is an ordinary JPEG and is what we use.
    return "JPEG" if img.format == "MPO" else str(img.format)


def _frames(img: Image.Image) -> int:
    try:
        return max(1, int(getattr(img, "n_frames", 1)))
    except Exception:  # n_frames parses further into some files; a bad frame table is not worth a refusal
        return 1


def _has_accepted_magic(data: bytes) -> bool:
    return (
        data.startswith(b"\xff\xd8\xff")
        or data.startswith(b"\x89PNG\r\n\x1a\n")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or (data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS)
    )


def _sniff_other(data: bytes) -> str | None:
    """Name a common non-accepted format, only to make the refusal message helpful."""
    signatures = (
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"%PDF", "PDF"),
        (b"II*\x00", "TIFF"),
        (b"MM\x00*", "TIFF"),
        (b"BM", "BMP"),
        (b"8BPS", "PSD"),
        (b"\x00\x00\x01\x00", "ICO"),
    )
    for magic, name in signatures:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "AVIF"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head:
        return "SVG"
    if b"<html" in head or b"<!doctype html" in head:
        return "HTML"
    return None


def _unsupported(data: bytes) -> PhotoRejected:
    name = _sniff_other(data)
    what = f"{name} files are not accepted" if name else "This file is not a photo in an accepted format"
    return PhotoRejected("unsupported_format", f"{what}. Upload {_ACCEPTED_HUMAN}.")


def _unreadable() -> PhotoRejected:
    return PhotoRejected(
        "unreadable", "The photo could not be read: the file is damaged or incomplete. Export it again and re-upload."
    )


def _too_many_pixels(width: int | None = None, height: int | None = None) -> PhotoRejected:
    size = f" ({width} × {height} pixels)" if width and height else ""
    return PhotoRejected(
        "too_many_pixels",
        f"The photo is too big{size}: at most {MAX_PIXELS // 1_000_000} megapixels are accepted. "
        "Resize it and re-upload it.",
    )


# ------------------------------------------------------------------------------------------------- process


def photo_process(data: bytes, *, exports: Sequence[ExportSpec] = ()) -> Processed:
    """Decode an upload once and return every derivative, its metadata and quality hints.

    Raises PhotoRejected for any input that `photo_probe` refuses and for pixels that do not decode
    (truncated or corrupt data: "unreadable"); ValueError only for an invalid ExportSpec (a programming error).
    """
    exports = tuple(exports)
    for spec in exports:
        export_spec_check(spec)
    if len({spec.channel for spec in exports}) != len(exports):
        raise ValueError("two export specs have the same channel")

    with _open(data) as img:
        full_w, full_h = img.size
        # The biggest size anything needs; never more than the original (no derivative upscales).
        needed = min(max(full_w, full_h), max([MASTER_PX, *(spec.max_px for spec in exports)]))
        try:
            top, orientation, taken_at, gps = _decode(img, needed)
        except PhotoRejected:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise _too_many_pixels(full_w, full_h) from exc
        except Exception as exc:  # truncated/corrupt data, or a decoder choking on hostile bytes
            raise _unreadable() from exc

    width, height = (full_h, full_w) if orientation in (5, 6, 7, 8) else (full_w, full_h)

    # Each derivative is reduced from the smallest already-made image at least as big: top → master →
    # w800 → w320, and each export from the master when that is big enough, else from the top image.
    master = _fit_longest(top, MASTER_PX)
    w800 = _fit_width(master, THUMB_WIDTHS[0])
    w320 = _fit_width(w800, THUMB_WIDTHS[1])

    derivatives = [
        _encode("master", master, "JPEG", quality=MASTER_QUALITY, progressive=True),
        _encode("w800", w800, "JPEG", quality=THUMB_QUALITY, progressive=True),
        _encode("w320", w320, "JPEG", quality=THUMB_QUALITY, progressive=True),
        _encode("w800.webp", w800, "WEBP", quality=WEBP_QUALITY),
        _encode("w320.webp", w320, "WEBP", quality=WEBP_QUALITY),
    ]
    hints = _quality_hints(master)
    for spec in exports:
        source = master if max(master.size) >= min(spec.max_px, max(top.size)) else top
        derivative = _export(source, spec)
        derivatives.append(derivative)
        if min(derivative.width, derivative.height) < spec.min_px:
            hints.append(f"small:{spec.channel}")

    return Processed(
        width=width,
        height=height,
        derivatives=tuple(derivatives),
        taken_at=taken_at,
        gps=gps,
        phash=str(imagehash.phash(w800)),
        hints=tuple(hints),
    )


def export_spec_check(spec: ExportSpec) -> None:
    """ValueError if a channel's image rules cannot be met (a programming or configuration error)."""
    if not _CHANNEL_RE.match(spec.channel):
        raise ValueError(f"export channel {spec.channel!r} must be lower-case letters, digits, '-' or '_'")
    if spec.format not in ("JPEG", "PNG"):
        raise ValueError(f"export {spec.channel}: format must be JPEG or PNG, not {spec.format!r}")
    if not 0 <= spec.min_px <= spec.max_px or spec.max_px < EXPORT_MIN_SIDE:
        raise ValueError(f"export {spec.channel}: need 0 <= min_px <= max_px and max_px >= {EXPORT_MIN_SIDE}")
    if spec.max_bytes <= 0:
        raise ValueError(f"export {spec.channel}: max_bytes must be positive")


def _decode(img: ImageFile.ImageFile, needed: int) -> tuple[Image.Image, int, datetime | None, tuple | None]:
    """Decode (at reduced scale when possible) into an upright sRGB RGB image whose longest side is `needed`.

    Order matters for cost: resize first (on the smallest decoded image), then rotate and colour-convert
    the already small image. Returns (image, EXIF orientation, taken_at, gps).
    """
    # A freshly opened file is at its first frame (animated WebP, APNG, MPO) or, for HEIF, at the primary
    # image: exactly the frame we want, so no seek.
    if _format_of(img) == "JPEG":
        _draft(img, needed)
    img.load()

    # Metadata after load: PNG may keep its eXIf chunk after the pixel data.
    exif = _exif(img)
    orientation = _orientation(exif)
    icc = img.info.get("icc_profile")

    im = _working_mode(img)
    im = _fit_longest(im, needed)
    if orientation in _TRANSPOSE:
        im = im.transpose(_TRANSPOSE[orientation])
    im = _to_srgb(im, icc)
    return im, orientation, _taken_at(exif), _gps(exif)


def _draft(img: ImageFile.ImageFile, needed: int) -> None:
    """Ask libjpeg for the largest DCT reduction (1/2, 1/4, 1/8) whose result is still >= `needed`.

    JpegImageFile.draft picks the largest scale s in (8, 4, 2, 1) with s <= min(w // rw, h // rh); asking
    for (ceil(w * needed / L), ceil(h * needed / L)), L the longest side, keeps the result's longest side
    >= needed. A 48 MP 8000x6000 photo for a 2048 master is thus decoded at 4000x3000: a quarter of the
    pixels and memory, without any quality loss on the derivatives.
    """
    width, height = img.size
    longest = max(width, height)
    if longest <= needed:
        return
    request = (max(1, -(-width * needed // longest)), max(1, -(-height * needed // longest)))
    img.draft("RGB", request)


def _exif(img: Image.Image) -> Image.Exif | None:
    try:
        return img.getexif()
    except Exception:  # malformed EXIF costs the metadata, not the photo
        return None


def _orientation(exif: Image.Exif | None) -> int:
    try:
        value = int(exif.get(ExifTags.Base.Orientation, 1)) if exif is not None else 1
    except (TypeError, ValueError):
        return 1
    return value if value in _TRANSPOSE else 1


def _taken_at(exif: Image.Exif | None) -> datetime | None:
    try:
        value = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal) if exif is not None else None
    except Exception:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ")
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M"):
        try:
            return datetime.strptime(value, fmt)  # EXIF local time carries no zone: naive on purpose
        except ValueError:
            continue
    return None  # e.g. the "0000:00:00 00:00:00" some cameras write


def _gps(exif: Image.Exif | None) -> tuple[float, float] | None:
    try:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo) if exif is not None else {}
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
        lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    except Exception:
        return None
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, 7), round(lon, 7)


def _degrees(dms, ref, negative: str) -> float | None:
    """EXIF (degrees, minutes, seconds) rationals and an N/S/E/W reference to signed decimal degrees."""
    if dms is None:
        return None
    parts = [float(x) for x in (dms if isinstance(dms, (tuple, list)) else (dms,))][:3]
    if not parts or not all(math.isfinite(x) for x in parts):  # a 0/0 rational reads as NaN
        return None
    value = sum(x / 60**i for i, x in enumerate(parts))
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -value if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative else value


def _working_mode(img: Image.Image) -> Image.Image:
    """Bring any decoded mode to one of RGB, RGBA, L, LA or CMYK (CMYK and L keep their ICC profile usable)."""
    mode = img.mode
    has_transparency = "transparency" in img.info
    if mode in ("RGB", "L", "CMYK") and not has_transparency:
        return img
    if mode in ("RGBA", "LA"):
        return img
    if mode in ("P", "PA", "RGB", "1") and (has_transparency or mode == "PA"):
        return img.convert("RGBA")
    if mode == "L":
        return img.convert("LA")
    if mode == "1":
        return img.convert("L")
    if mode == "P":
        return img.convert("RGB")
    if mode.startswith("I;16") or mode in ("I", "F"):
        # Pillow's I;16 -> L conversion clips at 255 (everything above 1/256 of full scale turns white):
        # scale the 16-bit samples down ourselves.
        samples = np.asarray(img)
        if mode == "F":
            samples = np.clip(samples, 0, 255).astype(np.uint8)
        else:
            samples = (np.clip(samples.astype(np.int64), 0, 65535) >> 8).astype(np.uint8)
        return Image.fromarray(samples, "L")
    return img.convert("RGB")  # YCbCr, RGBX, RGBa, La, …: Pillow converts these directly


def _fit_longest(im: Image.Image, longest: int) -> Image.Image:
    """Reduce so the longest side is at most `longest` (never enlarge)."""
    width, height = im.size
    if max(width, height) <= longest:
        return im
    scale = longest / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return im.resize(size, _RESAMPLE, reducing_gap=_REDUCING_GAP)


def _fit_width(im: Image.Image, target_width: int) -> Image.Image:
    width, height = im.size
    if width <= target_width:
        return im
    size = (target_width, max(1, round(height * target_width / width)))
    return im.resize(size, _RESAMPLE, reducing_gap=_REDUCING_GAP)


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_ICC_SPACES = {"RGB": "RGB ", "L": "GRAY", "CMYK": "CMYK"}


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Flatten transparency on white, then convert to sRGB RGB through the embedded ICC profile if any.

    Flattening first is safe: white is white in any RGB/grey profile under perceptual intent. A profile that
    is already sRGB, unparsable, or for another colour space than the pixels is ignored (naive conversion).
    """
    if im.mode in ("RGBA", "LA"):
        base = im.mode[:-1]
        flat = Image.new(base, im.size, (255, 255, 255) if base == "RGB" else 255)
        flat.paste(im.convert(base), mask=im.getchannel("A"))
        im = flat
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            is_srgb = "srgb" in ImageCms.getProfileDescription(profile).lower()
            if not is_srgb and profile.profile.xcolor_space == _ICC_SPACES.get(im.mode):
                im = ImageCms.profileToProfile(im, profile, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AttributeError):
            pass  # a broken profile costs colour accuracy, not the photo
    if im.mode != "RGB":
        im = im.convert("RGB")
    im.info = {}  # nothing from the upload (or the CMS transform's icc_profile) may reach an encoder
    return im


# ------------------------------------------------------------------------------------------------- outputs


def _encode(name: str, im: Image.Image, fmt: str, *, quality: int | None = None, progressive: bool = False):
    data = _save(im, fmt, quality, progressive)
    return Derivative(name=name, content_type=_CONTENT_TYPES[fmt], data=data, width=im.width, height=im.height)


def _save(im: Image.Image, fmt: str, quality: int | None, progressive: bool = False) -> bytes:
    """Encode with no metadata at all: no exif/icc_profile/xmp/comment is passed, and im.info is empty."""
    buf = io.BytesIO()
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=quality, optimize=True, progressive=progressive)
    elif fmt == "WEBP":
        im.save(buf, "WEBP", quality=quality, method=4)
    else:
        im.save(buf, "PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def _export(source: Image.Image, spec: ExportSpec) -> Derivative:
    """Longest side <= max_px and size <= max_bytes: lower the JPEG quality stepwise, then scale down."""
    im = _fit_longest(source, spec.max_px)
    qualities = EXPORT_QUALITIES if spec.format == "JPEG" else (None,)
    while True:
        for quality in qualities:
            data = _save(im, spec.format, quality)
            if len(data) <= spec.max_bytes:
                name, content_type = f"export-{spec.channel}", _CONTENT_TYPES[spec.format]
                return Derivative(name=name, content_type=content_type, data=data, width=im.width, height=im.height)
        qualities = qualities[-1:]  # already at the lowest quality: only the size can still give
        longest = max(im.size)
        if longest <= EXPORT_MIN_SIDE:
            raise ValueError(f"export {spec.channel}: max_bytes={spec.max_bytes} cannot be met")
        # Encoded size is roughly proportional to the pixel count: aim just under, by 10-50 % per step.
        factor = min(0.9, max(0.5, 0.95 * math.sqrt(spec.max_bytes / len(data))))
        im = _fit_longest(source, max(EXPORT_MIN_SIDE, int(longest * factor)))


def _quality_hints(master: Image.Image) -> list[str]:
    """Hints, not refusals: "blurry" (low Laplacian variance), "dark" / "bright" (mean luminance)."""
    grey = _fit_longest(master.convert("L"), HINT_PX)
    pixels = np.asarray(grey, dtype=np.float32)
    hints = []
    if pixels.shape[0] >= 3 and pixels.shape[1] >= 3:
        laplacian = pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:] - 4 * pixels[1:-1, 1:-1]
        if float(laplacian.var()) < BLUR_VARIANCE:
            hints.append("blurry")
    mean = float(pixels.mean())
    if mean < DARK_MEAN:
        hints.append("dark")
    elif mean > BRIGHT_MEAN:
        hints.append("bright")
    return hints
