"""A generated corpus of hostile and awkward photo uploads, built in code and deterministic.

Nothing binary is committed: every sample is produced from a seeded picture (`photo_like`) or written
byte by byte (the PNG bomb, the patched JPEG header, the PDF). Two calls to `hostile_corpus()` return
byte-identical samples.

`Sample.expect` is one of:
- "accepted": a valid photo the upload pipeline must process to ready, whatever the role;
- "refused": the upload must get a 4xx;
- "refused_for_front": refused for the roles that need at least 500×500 (front, label_back), accepted for
  the others.

Every accepted sample is at least 600×600 as displayed (after its EXIF orientation is applied).
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import pillow_heif
from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

pillow_heif.register_heif_opener()

ACCEPTED = "accepted"
REFUSED = "refused"
REFUSED_FOR_FRONT = "refused_for_front"
EXPECTATIONS = frozenset({ACCEPTED, REFUSED, REFUSED_FOR_FRONT})

# EXIF / TIFF tags used below.
TAG_ORIENTATION = 0x0112
TAG_MAKE = 0x010F
TAG_MODEL = 0x0110
TAG_DATETIME = 0x0132
IFD_EXIF = 0x8769
IFD_GPS = 0x8825
TAG_DATETIME_ORIGINAL = 0x9003
GPS_VERSION_ID = 0x0000
GPS_LATITUDE_REF = 0x0001
GPS_LATITUDE = 0x0002
GPS_LONGITUDE_REF = 0x0003
GPS_LONGITUDE = 0x0004

# The PNG bomb: what its IHDR claims, and how many of those rows its (complete, valid) zlib stream holds.
BOMB_WIDTH = 20_000
BOMB_HEIGHT = 20_000
BOMB_ROWS_IN_STREAM = 1_000
# The patched JPEG header.
HUGE_JPEG_SIDE = 65_000
# The orientation samples: the picture as a viewer shows it once the EXIF orientation is applied.
ORIENTATION_UPRIGHT_SIZE = (800, 600)
ORIENTATION_MARKER = (230, 20, 20)  # a saturated red block in the top-left corner of the upright picture
# Mù Cang Chải, Yên Bái: 21°51'00" N, 104°05'24" E (≈ 21.85, 104.09).
GPS_LATITUDE_DMS = ((21, 1), (51, 1), (0, 1))
GPS_LONGITUDE_DMS = ((104, 1), (5, 1), (24, 1))
HTML_PAYLOAD = b"<html><body><script>alert(1)</script></body></html>"

# What ImageOps.exif_transpose does for each orientation, inverted: storing `canonical.transpose(INVERSE[n])`
# with Orientation n makes a correct viewer show `canonical` again.
_INVERSE_OF_EXIF_TRANSPOSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # exif_transpose applies ROTATE_270
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,  # exif_transpose applies ROTATE_90
}


@dataclass(frozen=True)
class Sample:
    name: str  # short id, e.g. "truncated_jpeg"
    filename: str  # a plausible upload name (sometimes deliberately lying about the content)
    data: bytes
    expect: str  # "accepted", "refused" or "refused_for_front"
    note: str  # what it is, one line

    def __repr__(self) -> str:  # keep pytest ids and failure messages short: no bytes dump
        return f"Sample({self.name!r}, {self.filename!r}, {len(self.data)} bytes, expect={self.expect!r})"


# --------------------------------------------------------------------------------------------------------------
# Pictures and encoders


def photo_like(width: int = 1200, height: int = 900, *, seed: int = 0) -> Image.Image:
    """A realistic RGB test picture: a smooth colour gradient, shapes with hard edges, fine texture and noise.

    Mid-tone on average with plenty of high-frequency detail, so blur / too-dark / too-bright heuristics
    do not fire. Channel values stay within about 25..215, so no region looks like `ORIENTATION_MARKER`.
    """
    rng = np.random.default_rng(seed)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    phase = float(rng.uniform(0, 2 * np.pi))
    base = np.empty((height, width, 3), dtype=np.float32)
    base[..., 0] = 70 + 80 * xs + 20 * ys
    base[..., 1] = 90 + 50 * ys + 25 * np.sin(6 * xs + phase)
    base[..., 2] = 150 - 60 * xs * ys
    image = Image.fromarray(base.clip(0, 255).astype(np.uint8), "RGB")

    draw = ImageDraw.Draw(image)
    short = min(width, height)
    for _ in range(14):
        x0 = int(rng.integers(0, width))
        y0 = int(rng.integers(0, height))
        w = int(rng.integers(short // 12, short // 3))
        h = int(rng.integers(short // 12, short // 3))
        fill = tuple(int(v) for v in rng.integers(35, 200, 3))
        outline = tuple(int(v) for v in rng.integers(25, 120, 3))
        box = (x0, y0, x0 + w, y0 + h)
        if rng.integers(0, 2):
            draw.ellipse(box, fill=fill, outline=outline, width=3)
        else:
            draw.rectangle(box, fill=fill, outline=outline, width=3)
    for _ in range(10):
        points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(2)]
        draw.line(points, fill=tuple(int(v) for v in rng.integers(30, 180, 3)), width=int(rng.integers(2, 6)))
    # A fine pattern (like fabric or foliage) keeps edges after a downscale.
    step = max(8, short // 60)
    for x in range(0, width, step):
        draw.line([(x, height * 2 // 3), (x + step * 3, height)], fill=(60, 70, 50), width=1)

    pixels = np.asarray(image, dtype=np.int16)
    noise = rng.integers(-10, 11, size=pixels.shape, dtype=np.int16)
    return Image.fromarray((pixels + noise).clip(25, 215).astype(np.uint8), "RGB")


def _encode(image: Image.Image, fmt: str, defaults: dict, save_kwargs: dict) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **{**defaults, **save_kwargs})
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image, **save_kwargs) -> bytes:
    """`image` as a baseline JPEG (quality 90 unless given)."""
    return _encode(image, "JPEG", {"quality": 90}, save_kwargs)


def png_bytes(image: Image.Image, **save_kwargs) -> bytes:
    """`image` as PNG (zlib level 1 unless given: noisy pictures compress slowly and barely better at 6)."""
    return _encode(image, "PNG", {"compress_level": 1}, save_kwargs)


def webp_bytes(image: Image.Image, **save_kwargs) -> bytes:
    return _encode(image, "WEBP", {"quality": 80}, save_kwargs)


def heic_bytes(image: Image.Image, **save_kwargs) -> bytes:
    """`image` as HEIC (HEVC in a HEIF container), written by pillow-heif (x265 preset "ultrafast": 8× faster)."""
    return _encode(image, "HEIF", {"quality": 75, "enc_params": {"preset": "ultrafast"}}, save_kwargs)


def oriented_picture() -> Image.Image:
    """The upright picture of the orientation samples: landscape, with a red block in its top-left corner."""
    return _oriented_picture().copy()


@functools.cache
def _oriented_picture() -> Image.Image:
    width, height = ORIENTATION_UPRIGHT_SIZE
    image = photo_like(width, height, seed=8)
    ImageDraw.Draw(image).rectangle((0, 0, width // 5, height // 5), fill=ORIENTATION_MARKER)
    return image


def marker_corner(image: Image.Image) -> str | None:
    """Which corner ("top_left", "top_right", "bottom_left", "bottom_right") holds the red orientation marker.

    For checking a derivative of an orientation sample: a pipeline that honours EXIF orientation gives
    "top_left" and a landscape picture for every orientation.
    """
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = rgb.shape[:2]
    ph, pw = max(1, height // 12), max(1, width // 12)  # a patch well inside the marker (1/5 of each side)
    corners = {
        "top_left": rgb[:ph, :pw],
        "top_right": rgb[:ph, width - pw :],
        "bottom_left": rgb[height - ph :, :pw],
        "bottom_right": rgb[height - ph :, width - pw :],
    }
    found = []
    for corner, patch in corners.items():
        r, g, b = patch.reshape(-1, 3).mean(axis=0)
        if r > 180 and g < 80 and b < 80:
            found.append(corner)
    return found[0] if len(found) == 1 else None


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def sof_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) as declared by the first SOF marker of a JPEG, found by walking its segments."""
    if data[:2] != b"\xff\xd8":
        return None
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return width, height
        if marker == 0xDA:  # start of scan: no SOF before it
            return None
        offset += 2 + length
    return None


# --------------------------------------------------------------------------------------------------------------
# The hostile / malformed samples


def _png_bomb() -> bytes:
    """IHDR claims BOMB_WIDTH×BOMB_HEIGHT 8-bit greyscale; IDAT is a complete zlib stream of zero rows.

    The stream is built from one reused 1 MiB zero buffer, so neither the image nor the raw rows are ever
    allocated. It holds the first BOMB_ROWS_IN_STREAM rows (20 MB inflated from ~20 KB); a complete stream for
    all 400 MB cannot be under ~390 KB, as deflate tops out at about 1032:1.
    """
    ihdr = struct.pack(">IIBBBBB", BOMB_WIDTH, BOMB_HEIGHT, 8, 0, 0, 0, 0)  # 8-bit, greyscale, no interlace
    remaining = BOMB_ROWS_IN_STREAM * (BOMB_WIDTH + 1)  # filter byte 0 + one zero byte per pixel, per row
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9)
    parts = []
    while remaining:
        size = min(remaining, len(zeros))
        parts.append(compressor.compress(zeros[:size] if size < len(zeros) else zeros))
        remaining -= size
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", b"".join(parts)) + png_chunk(b"IEND", b"")
    )


def _jpeg_huge_header() -> bytes:
    """A real 64×48 baseline JPEG whose SOF0 height and width are patched to 65000."""
    data = bytearray(jpeg_bytes(photo_like(64, 48, seed=3)))
    sof = data.find(b"\xff\xc0")
    assert sof > 0, "Pillow wrote no baseline SOF0"
    # SOF0: FFC0, length (2), precision (1), height (2), width (2), ...
    data[sof + 5 : sof + 9] = struct.pack(">HH", HUGE_JPEG_SIDE, HUGE_JPEG_SIDE)
    return bytes(data)


def _jpeg_html_polyglot() -> bytes:
    """A valid JPEG carrying the HTML payload twice: in a COM segment and appended after EOI."""
    return jpeg_bytes(photo_like(1200, 900, seed=4), comment=HTML_PAYLOAD) + b"\n" + HTML_PAYLOAD + b"\n"


def _svg_script() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="900" viewBox="0 0 1200 900">\n'
        b'  <rect width="1200" height="900" fill="#4a7a3a"/>\n'
        b'  <script type="application/ecmascript">alert(document.cookie)</script>\n'
        b"</svg>\n"
    )


def _minimal_pdf() -> bytes:
    """A one-page blank PDF, with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --------------------------------------------------------------------------------------------------------------
# The awkward but valid samples


def _orientation_jpeg(orientation: int) -> bytes:
    """Stored pixels are the upright picture transformed so that applying Orientation shows it upright again."""
    inverse = _INVERSE_OF_EXIF_TRANSPOSE[orientation]
    upright = _oriented_picture()  # transpose() returns a new image; this one is not modified
    stored = upright if inverse is None else upright.transpose(inverse)
    exif = Image.Exif()
    exif[TAG_ORIENTATION] = orientation
    return jpeg_bytes(stored, exif=exif.tobytes())


def _png_16bit() -> bytes:
    width, height = 800, 640
    rng = np.random.default_rng(16)
    ys = np.linspace(0.0, 1.0, height)[:, None]
    xs = np.linspace(0.0, 1.0, width)[None, :]
    grey = 12_000 + 30_000 * xs + 12_000 * ys + 6_000 * np.sin(18 * xs) * np.cos(11 * ys)
    grey = grey + rng.integers(-1500, 1501, size=grey.shape)
    grey[height // 4 : height // 2, width // 4 : width // 2] = 52_000  # a hard-edged block
    return png_bytes(Image.fromarray(grey.clip(0, 65_535).astype(np.uint16)))  # mode "I;16"


def _palette_png_transparent() -> bytes:
    width, height = 800, 800
    # Quantize to indexes 0..254, then add a 256th palette entry (index 255) for the transparent disc.
    image = photo_like(width, height, seed=5).quantize(colors=255, method=Image.Quantize.FASTOCTREE)
    palette = image.getpalette()
    image.putpalette(palette + [0, 0, 0] * (256 - len(palette) // 3))
    ImageDraw.Draw(image).ellipse((width // 3, height // 3, width * 2 // 3, height * 2 // 3), fill=255)
    return png_bytes(image, transparency=255)


def _rgba_png() -> bytes:
    width, height = 800, 700
    image = photo_like(width, height, seed=6).convert("RGBA")
    alpha = Image.new("L", (width, height), 255)
    ImageDraw.Draw(alpha).rectangle((0, 0, width // 4, height // 4), fill=0)  # fully transparent corner
    ImageDraw.Draw(alpha).ellipse((width // 2, height // 2, width - 40, height - 40), fill=128)  # half
    image.putalpha(alpha)
    return png_bytes(image)


def _animated_webp() -> bytes:
    frames = [photo_like(640, 640, seed=70 + index) for index in range(3)]
    return webp_bytes(frames[0], save_all=True, append_images=frames[1:], duration=200, loop=0, method=0)


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[TAG_MAKE] = "Apple"
    exif[TAG_MODEL] = "iPhone 12"
    exif[TAG_DATETIME] = "2024:09:21 07:42:10"
    exif.get_ifd(IFD_EXIF)[TAG_DATETIME_ORIGINAL] = "2024:09:21 07:42:10"
    gps = exif.get_ifd(IFD_GPS)
    gps[GPS_VERSION_ID] = b"\x02\x02\x00\x00"
    gps[GPS_LATITUDE_REF] = "N"
    gps[GPS_LATITUDE] = tuple(IFDRational(n, d) for n, d in GPS_LATITUDE_DMS)
    gps[GPS_LONGITUDE_REF] = "E"
    gps[GPS_LONGITUDE] = tuple(IFDRational(n, d) for n, d in GPS_LONGITUDE_DMS)
    return jpeg_bytes(photo_like(1200, 900, seed=9), exif=exif.tobytes())


def hostile_corpus() -> list[Sample]:
    """Build the whole corpus afresh (about 0.6 s; see `corpus_sample` for a cached look-up)."""
    front = jpeg_bytes(photo_like(1200, 900, seed=1))
    samples = [
        Sample("zero_bytes", "photo.jpg", b"", REFUSED, "an empty file named .jpg"),
        Sample(
            "truncated_jpeg",
            "IMG_0001.jpg",
            front[: len(front) // 2],
            REFUSED,
            "a valid 1200×900 JPEG cut to half its bytes (no EOI; the scan ends mid-way)",
        ),
        Sample(
            "png_bomb",
            "photo.png",
            _png_bomb(),
            REFUSED,
            f"decompression bomb: IHDR claims {BOMB_WIDTH}×{BOMB_HEIGHT} 8-bit grey (400 MP); IDAT is zlib zeros,"
            f" {BOMB_ROWS_IN_STREAM} rows, ~20 KB",
        ),
        Sample(
            "jpeg_huge_header",
            "photo.jpg",
            _jpeg_huge_header(),
            REFUSED,
            f"a real 64×48 JPEG whose SOF0 is patched to claim {HUGE_JPEG_SIDE}×{HUGE_JPEG_SIDE}",
        ),
        Sample(
            "jpeg_html_polyglot",
            "photo.jpg",
            _jpeg_html_polyglot(),
            REFUSED,
            "a valid 1200×900 JPEG with <html><script> in a COM segment and after EOI: refused as a polyglot,"
            " although it decodes, because the private original would still be a runnable page",
        ),
        Sample(
            "html_with_jpeg_magic",
            "photo.jpg",
            b"\xff\xd8\xff" + b"<!DOCTYPE html>\n" + HTML_PAYLOAD + b"\n",
            REFUSED,
            "an HTML page starting with the JPEG SOI bytes FF D8 FF and no image at all",
        ),
        Sample("svg_script", "photo.jpg", _svg_script(), REFUSED, "an SVG with a <script>, named photo.jpg"),
        Sample(
            "gif",
            "photo.gif",
            _encode(photo_like(640, 640, seed=2).convert("P"), "GIF", {}, {}),
            REFUSED,
            "a valid 640×640 GIF: not an accepted format",
        ),
        Sample("pdf", "photo.pdf", _minimal_pdf(), REFUSED, "a minimal one-page PDF"),
    ]
    upright = "×".join(map(str, ORIENTATION_UPRIGHT_SIZE))
    samples += [
        Sample(
            f"exif_orientation_{n}",
            f"IMG_100{n}.jpg",
            _orientation_jpeg(n),
            ACCEPTED,
            f"JPEG with EXIF Orientation {n}; shown upright it is {upright} with a red block top-left",
        )
        for n in range(1, 9)
    ]
    samples += [
        Sample(
            "cmyk_jpeg",
            "print_cmyk.jpg",
            jpeg_bytes(photo_like(1000, 800, seed=11).convert("CMYK")),
            ACCEPTED,
            "a 1000×800 CMYK JPEG (Adobe APP14), as exported by print software",
        ),
        Sample("png_16bit", "scan16.png", _png_16bit(), ACCEPTED, "an 800×640 16-bit greyscale PNG (mode I;16)"),
        Sample(
            "palette_png_transparent",
            "logo_palette.png",
            _palette_png_transparent(),
            ACCEPTED,
            "an 800×800 palette PNG (mode P) with a transparent disc (tRNS)",
        ),
        Sample("rgba_png", "cutout.png", _rgba_png(), ACCEPTED, "an 800×700 RGBA PNG with clear and half-clear areas"),
        Sample("animated_webp", "photo.webp", _animated_webp(), ACCEPTED, "a 640×640 animated WebP, 3 frames"),
        Sample(
            "heic",
            "IMG_2001.HEIC",
            heic_bytes(photo_like(800, 600, seed=12)),
            ACCEPTED,
            "an 800×600 HEIC (HEVC) as from an iPhone",
        ),
        Sample(
            "tiny_front",
            "small.jpg",
            jpeg_bytes(photo_like(300, 300, seed=13)),
            REFUSED_FOR_FRONT,
            "a valid 300×300 JPEG: too small for front / label_back (500×500), fine for other roles",
        ),
        Sample(
            "jpeg_with_gps",
            "IMG_3001.jpg",
            _jpeg_with_gps(),
            ACCEPTED,
            "a 1200×900 JPEG with EXIF Make/Model, DateTimeOriginal and GPS 21°51'N 104°05'24\"E (Mù Cang Chải)",
        ),
    ]
    return samples


@functools.cache
def _cached_corpus() -> dict[str, Sample]:
    return {sample.name: sample for sample in hostile_corpus()}


def corpus_sample(name: str) -> Sample:
    """One sample by name, from a corpus built once per process."""
    return _cached_corpus()[name]


def corpus_names() -> list[str]:
    return list(_cached_corpus())
