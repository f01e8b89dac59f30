"""Tests for catalog.photos.pipeline: every image is generated here; no database, no files on disk."""

import contextlib
import io
import random
import struct
import tempfile
import zlib
from datetime import datetime

import imagehash
import numpy as np
import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageCms, ImageDraw, ImageFilter, JpegImagePlugin

from catalog.photos import pipeline
from catalog.photos.pipeline import ExportSpec, PhotoRejected, photo_probe, photo_process

RED, BLUE, GREY = (220, 30, 30), (30, 30, 220), (128, 128, 128)


# ------------------------------------------------------------------------------------------------ helpers


def photo(width=1200, height=900, seed=0) -> Image.Image:
    """A photo-like RGB image: smooth gradients, random shapes with hard edges, sensor-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([x / width * 120 + 60, y / height * 120 + 40, (x + y) / (width + height) * 100 + 80], -1)
    im = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(40):
        x0, y0, r = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(20, 200))
        draw.ellipse([x0, y0, x0 + r, y0 + r], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        draw.rectangle([y0 % width, x0 % height, y0 % width + r, x0 % height + r // 2], outline=(20, 20, 20), width=3)
    noisy = np.asarray(im, dtype=np.int16) + rng.normal(0, 8, (height, width, 3)).astype(np.int16)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def encode(im: Image.Image, fmt="JPEG", **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def reopen(derivative) -> Image.Image:
    im = Image.open(io.BytesIO(derivative.data))
    im.load()
    return im


def by_name(processed) -> dict:
    return {d.name: d for d in processed.derivatives}


def master_of(data: bytes, **kwargs) -> Image.Image:
    return reopen(by_name(photo_process(data, **kwargs))["master"]).convert("RGB")


def close(pixel, expected, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def rejected_code(data: bytes, fn=photo_probe) -> str:
    with pytest.raises(PhotoRejected) as info:
        fn(data)
    assert str(info.value) == info.value.message and info.value.message
    return info.value.code


def linear_rgb_icc() -> bytes:
    """A minimal ICC v2 RGB profile: sRGB's (D50-adapted) primaries with a linear (gamma 1.0) tone curve.

    Pixel value 128 in it is 50 % linear light, which is about 188 in sRGB: an easy check that the embedded
    profile, not a naive copy of the numbers, decides the output.
    """

    def s15(v):
        return struct.pack(">i", round(v * 65536))

    def xyz(x, y, z):
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    text = b"Linear RGB test\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    curv = b"curv" + bytes(4) + struct.pack(">I", 0)  # no entries: identity, i.e. gamma 1.0
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curv),
        (b"gTRC", curv),
        (b"bTRC", curv),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, payload in tags:
        payload += bytes(-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(payload))
        body += payload
    header_tail = (
        bytes(4) + struct.pack(">I", 0x02100000) + b"mntr" + b"RGB " + b"XYZ " + bytes(12) + b"acsp"
        + bytes(4 * 4 + 8) + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(4 + 16 + 28)
    )  # fmt: skip
    size = 4 + len(header_tail) + len(table) + len(body)
    return struct.pack(">I", size) + header_tail + table + body


def huge_jpeg_header(width, height) -> bytes:
    """SOI, a SOF0 claiming width x height, a SOS and a few bytes: a header that lies about its size."""

    def segment(marker, payload):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload

    sof0 = segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01")
    sos = segment(0xDA, b"\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00")
    return b"\xff\xd8" + sof0 + sos + bytes(64) + b"\xff\xd9"


def png_bomb(side=10_000) -> bytes:
    """A valid greyscale PNG of side x side zero pixels: 100 MP that deflate to about 100 KB."""

    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    compressor, idat = zlib.compressobj(9), b""
    rows = bytes(side + 1) * 500  # filter byte + pixels, 500 rows at a time
    for _ in range(side // 500):
        idat += compressor.compress(rows)
    idat += compressor.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# ------------------------------------------------------------------------------------------------ probe


def test_probe_reads_the_header_of_each_accepted_format():
    im = photo(400, 300)
    animated = io.BytesIO()
    Image.new("RGB", (40, 30), RED).save(animated, "WEBP", save_all=True, append_images=[Image.new("RGB", (40, 30))])
    cases = {
        "JPEG": (encode(im, "JPEG"), (400, 300, "RGB", 1)),
        "PNG": (encode(im.convert("P"), "PNG"), (400, 300, "P", 1)),
        "WEBP": (animated.getvalue(), (40, 30, "RGB", 2)),
        "HEIF": (encode(im, "HEIF", quality=70), (400, 300, "RGB", 1)),
    }
    for fmt, (data, (width, height, mode, frames)) in cases.items():
        assert photo_probe(data) == pipeline.Probe(fmt, width, height, mode, frames)


def test_probe_decodes_a_jpeg_only_at_one_eighth_scale(monkeypatch):
    # given a spy on the JPEG draft request
    requested = []
    original_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        requested.append(size)
        return original_draft(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)

    # when a 1600×1200 photo is probed, then its pixels are decoded at 200×150, not in full
    assert photo_probe(encode(photo(1600, 1200))).format == "JPEG"
    assert requested == [(200, 150)]


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: b"", "empty"),
        (lambda: b"\xff\xd8\xff" + bytes(26 * 1024 * 1024), "too_large"),
        (lambda: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "unsupported_format"),
        (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "unsupported_format"),
        (lambda: encode(Image.new("P", (20, 20)), "GIF"), "unsupported_format"),
        (lambda: encode(Image.new("RGB", (20, 20)), "PDF"), "unsupported_format"),
        (lambda: encode(Image.new("RGB", (20, 20)), "TIFF"), "unsupported_format"),
        (lambda: encode(Image.new("RGB", (20, 20)), "BMP"), "unsupported_format"),
        (lambda: b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>", "unsupported_format"),
        (lambda: b"just some text, not an image", "unsupported_format"),
        (lambda: huge_jpeg_header(65_000, 65_000), "too_many_pixels"),  # Pillow's DecompressionBombError
        (lambda: huge_jpeg_header(9_000, 7_000), "too_many_pixels"),  # 63 MP: Pillow would only warn
        (png_bomb, "too_many_pixels"),
        (lambda: b"\xff\xd8\xff<html><script>alert(1)</script></html>", "unreadable"),
        (lambda: b"\x89PNG\r\n\x1a\n" + bytes(40), "unreadable"),
    ],
    ids=[
        "empty", "26MB", "svg-xml", "svg", "gif", "pdf", "tiff", "bmp", "html", "text", "jpeg-65000x65000",
        "jpeg-63MP", "png-bomb", "html-with-jpeg-magic", "broken-png",
    ],
)  # fmt: skip
def test_refusals_have_the_right_code_in_probe_and_process(make, code):
    data = make()
    assert rejected_code(data, photo_probe) == code
    assert rejected_code(data, photo_process) == code


def test_png_bomb_is_small_but_claims_100_megapixels():
    data = png_bomb()
    assert len(data) < 200_000
    with pytest.raises(PhotoRejected, match="60 megapixels"):
        photo_probe(data)


def test_refusal_message_names_the_format():
    with pytest.raises(PhotoRejected, match=r"^GIF files are not accepted\. Upload a JPEG, PNG, WebP or HEIC photo\.$"):
        photo_probe(encode(Image.new("P", (20, 20)), "GIF"))


def test_truncated_files_are_refused_at_the_probe_and_by_processing():
    for data in (encode(photo(600, 400), "JPEG"), encode(photo(600, 400), "PNG")):
        truncated = data[: len(data) // 2]
        assert rejected_code(truncated, photo_probe) == "unreadable"  # the header is intact, the pixels are not
        assert rejected_code(truncated, photo_process) == "unreadable"


def test_jpeg_html_polyglot_is_refused_and_its_pixels_never_carry_the_payload():
    payload = b"<html><script>alert(document.cookie)</script></html>"
    polyglot = encode(photo(400, 300), "JPEG", comment=payload) + payload  # in a COM segment and after EOI
    assert rejected_code(polyglot, photo_probe) == "polyglot"
    # and even processed (as the worker would, had it been let through), no derivative carries the payload
    for derivative in photo_process(polyglot).derivatives:
        assert b"<script" not in derivative.data
        assert reopen(derivative).format in ("JPEG", "WEBP")


def test_hostile_bytes_only_ever_raise_photo_rejected():
    rng = random.Random(1234)
    seeds = [
        encode(photo(64, 48), "JPEG"),
        encode(photo(64, 48), "JPEG", progressive=True),
        encode(photo(64, 48).convert("P"), "PNG"),
        encode(photo(64, 48), "WEBP"),
        encode(photo(64, 48), "HEIF", quality=50),
    ]
    for seed in seeds:
        for _ in range(40):
            data = bytearray(seed)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.3:
                data = data[: rng.randrange(1, len(data))]
            for fn in (photo_probe, photo_process):
                with contextlib.suppress(PhotoRejected):
                    fn(bytes(data))
    for _ in range(50):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        with pytest.raises(PhotoRejected):
            photo_process(junk)


# ------------------------------------------------------------------------------------------------ process


def upright_test_image() -> Image.Image:
    """300x200, red top-left corner, blue top-right corner: tells rotations and mirrors apart."""
    im = Image.new("RGB", (300, 200), GREY)
    im.paste(RED, (0, 0, 60, 40))
    im.paste(BLUE, (240, 0, 300, 40))
    return im


# How a camera stores the upright image for each EXIF orientation (TIFF 6.0 / EXIF 2.3 definitions).
STORED = {
    1: lambda im: im,
    2: lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    3: lambda im: im.transpose(Image.Transpose.ROTATE_180),
    4: lambda im: im.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    5: lambda im: im.transpose(Image.Transpose.TRANSPOSE),
    6: lambda im: im.transpose(Image.Transpose.ROTATE_90),  # viewer turns it 90° clockwise
    7: lambda im: im.transpose(Image.Transpose.TRANSVERSE),
    8: lambda im: im.transpose(Image.Transpose.ROTATE_270),  # viewer turns it 90° counter-clockwise
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_every_exif_orientation_comes_out_upright(orientation, fmt):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    params = {"quality": 95} if fmt != "PNG" else {}
    data = encode(STORED[orientation](upright_test_image()), fmt, exif=exif, **params)
    processed = photo_process(data)
    assert (processed.width, processed.height) == (300, 200)
    for derivative in processed.derivatives:
        im = reopen(derivative).convert("RGB")
        assert im.size == (derivative.width, derivative.height)
        w, h = im.size
        assert w > h
        assert close(im.getpixel((w // 20, h // 20)), RED), derivative.name
        assert close(im.getpixel((w - 1 - w // 20, h // 20)), BLUE), derivative.name
        assert close(im.getpixel((w // 2, h - 1 - h // 20)), GREY), derivative.name


def test_heic_is_decoded_upright_through_pillow_heif():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = encode(STORED[6](upright_test_image()), "HEIF", quality=90, exif=exif.tobytes())
    assert photo_probe(data).format == "HEIF"
    processed = photo_process(data)
    assert (processed.width, processed.height) == (300, 200)
    master = reopen(by_name(processed)["master"]).convert("RGB")
    assert master.size == (300, 200)
    assert close(master.getpixel((15, 10)), RED) and close(master.getpixel((285, 10)), BLUE)


def test_multi_picture_jpeg_from_a_phone_is_a_jpeg(monkeypatch):
    """Phones add a depth map or preview as a second picture (MPO): Pillow reports "MPO"; it is a JPEG."""
    buf = io.BytesIO()
    photo(3000, 2000).save(buf, "MPO", save_all=True, append_images=[Image.new("RGB", (640, 480))], quality=90)
    assert Image.open(io.BytesIO(buf.getvalue())).format == "MPO"
    assert photo_probe(buf.getvalue()) == pipeline.Probe("JPEG", 3000, 2000, "RGB", 2)
    spy = DraftSpy(monkeypatch)
    master = by_name(photo_process(buf.getvalue()))["master"]
    assert (master.width, master.height) == (2048, 1365)
    assert spy.calls  # MPO is a JpegImageFile: the draft path applies to its primary picture too


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (200, 100), (0, 220, 220, 20))  # a red
    processed = photo_process(encode(cmyk, "JPEG", quality=95))
    master = reopen(by_name(processed)["master"])
    assert master.mode == "RGB"
    assert close(master.getpixel((100, 50)), cmyk.convert("RGB").getpixel((0, 0)), 12)


def test_embedded_icc_profile_is_applied_and_not_served():
    data = encode(Image.new("RGB", (200, 100), GREY), "JPEG", quality=95, icc_profile=linear_rgb_icc())
    assert Image.open(io.BytesIO(data)).info.get("icc_profile")
    processed = photo_process(data)
    for derivative in processed.derivatives:
        im = reopen(derivative)
        assert "icc_profile" not in im.info
        assert 180 <= im.convert("L").getpixel((100, 50)) <= 196  # linear 50 % is ~188 in sRGB


def test_srgb_profile_leaves_colours_alone():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(Image.new("RGB", (200, 100), (200, 120, 40)), "PNG", icc_profile=srgb)
    master = master_of(data)
    assert "icc_profile" not in master.info
    assert close(master.getpixel((100, 50)), (200, 120, 40), 4)


def test_16_bit_png_is_scaled_not_clipped():
    samples = np.full((100, 200), 32768, dtype=np.uint16)
    samples[:, :100] = 8192
    data = encode(Image.fromarray(samples), "PNG")
    assert photo_probe(data).mode == "I;16"
    master = master_of(data)
    assert close(master.getpixel((150, 50)), (128, 128, 128), 3)
    assert close(master.getpixel((50, 50)), (32, 32, 32), 3)


def test_palette_png_with_transparency_is_flattened_on_white():
    im = Image.new("P", (200, 100), 0)
    im.putpalette([0, 0, 0, *RED] + [0] * (256 * 3 - 6))
    im.paste(1, (100, 0, 200, 100))
    data = encode(im, "PNG", transparency=0)
    assert photo_probe(data).mode == "P"
    master = master_of(data)
    assert close(master.getpixel((40, 50)), (255, 255, 255), 4)
    assert close(master.getpixel((160, 50)), RED, 12)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_rgba_and_la_are_flattened_on_white(fmt):
    rgba = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    rgba.paste((*BLUE, 255), (100, 0, 200, 100))
    for im in (rgba, rgba.convert("LA")):
        if fmt == "WEBP" and im.mode == "LA":
            continue  # WebP has no grey mode
        master = master_of(encode(im, fmt, **({"lossless": True} if fmt == "WEBP" else {})))
        assert close(master.getpixel((40, 50)), (255, 255, 255), 4)
        expected = BLUE if im.mode == "RGBA" else (im.getpixel((150, 50))[0],) * 3
        assert close(master.getpixel((160, 50)), expected, 12)


def test_animated_webp_uses_the_first_frame():
    buf = io.BytesIO()
    frames = [Image.new("RGB", (120, 80), colour) for colour in (RED, BLUE, GREY)]
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert photo_probe(buf.getvalue()).frames == 3
    assert close(master_of(buf.getvalue()).getpixel((60, 40)), RED, 4)


def test_metadata_is_read_then_stripped_from_every_derivative():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 1
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2024:05:06 07:08:09"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (22.0, 20.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (103.0, 50.0, 38.0)
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description secret="SECRET-XMP"/></rdf:RDF></x:xmpmeta>'
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(photo(900, 600), "JPEG", exif=exif, xmp=xmp, icc_profile=srgb, comment=b"SECRET-COMMENT")
    source = Image.open(io.BytesIO(data))
    assert {"exif", "xmp", "icc_profile", "comment"} <= set(source.info)

    processed = photo_process(data, exports=[ExportSpec("postmart", "JPEG", 0, 600, 500_000)])
    assert processed.taken_at == datetime(2024, 5, 6, 7, 8, 9)
    assert processed.gps == pytest.approx((22.34, 103.8438889))
    for derivative in processed.derivatives:
        im = reopen(derivative)
        assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & set(im.info), derivative.name
        assert not im.getexif(), derivative.name
        for marker in (b"Exif\x00\x00", b"PhoneMaker", b"ICC_PROFILE", b"SECRET-XMP", b"SECRET-COMMENT", b"adobe"):
            assert marker not in derivative.data, (derivative.name, marker)


def test_southern_western_gps_and_missing_metadata():
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "S", (33.0, 52.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", (70.0, 30.0, 0.0)
    assert photo_process(encode(photo(300, 200), exif=exif)).gps == pytest.approx((-33.8666667, -70.5))
    bare = photo_process(encode(photo(300, 200)))
    assert bare.taken_at is None and bare.gps is None


def test_derivative_names_sizes_and_formats():
    processed = photo_process(encode(photo(3000, 2000), quality=90))
    derivatives = by_name(processed)
    assert list(derivatives) == ["master", "w800", "w320", "w800.webp", "w320.webp"]
    assert (processed.width, processed.height) == (3000, 2000)
    expected = {
        "master": ("JPEG", "image/jpeg", (2048, 1365)),
        "w800": ("JPEG", "image/jpeg", (800, 533)),
        "w320": ("JPEG", "image/jpeg", (320, 213)),
        "w800.webp": ("WEBP", "image/webp", (800, 533)),
        "w320.webp": ("WEBP", "image/webp", (320, 213)),
    }
    for name, (fmt, content_type, size) in expected.items():
        im = reopen(derivatives[name])
        assert (im.format, derivatives[name].content_type, im.size) == (fmt, content_type, size), name
        assert (derivatives[name].width, derivatives[name].height) == size
    master = reopen(derivatives["master"])
    assert master.info.get("progressive") or master.info.get("progression")


def test_portrait_master_keeps_its_longest_side_at_2048_and_small_images_are_not_upscaled():
    tall = by_name(photo_process(encode(photo(1500, 3000))))
    assert (tall["master"].width, tall["master"].height) == (1024, 2048)
    assert tall["w800"].width == 800
    small = photo_process(encode(photo(500, 250)), exports=[ExportSpec("shop", "JPEG", 0, 1600, 1_000_000)])
    assert {(d.width, d.height) for d in small.derivatives if d.name != "w320" and d.name != "w320.webp"} == {
        (500, 250)
    }
    assert small.hints == ()


class DraftSpy:
    def __init__(self, monkeypatch):
        self.calls = []
        original = JpegImagePlugin.JpegImageFile.draft

        def draft(image, mode, size):
            result = original(image, mode, size)
            self.calls.append((mode, size, image.size))
            return result

        monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)


def test_big_jpeg_is_decoded_at_the_largest_reduction_that_still_fits(monkeypatch):
    spy = DraftSpy(monkeypatch)
    im = Image.linear_gradient("L").resize((8192, 1024)).convert("RGB")
    data = encode(im, quality=80)

    processed = photo_process(data)
    assert spy.calls == [("RGB", (2048, 256), (2048, 256))]  # 1/4 scale: 8192 / 4 = 2048 is just enough
    assert (by_name(processed)["master"].width, by_name(processed)["master"].height) == (2048, 256)
    assert (processed.width, processed.height) == (8192, 1024)

    spy.calls.clear()
    processed = photo_process(data, exports=[ExportSpec("print", "JPEG", 0, 4000, 5_000_000)])
    assert spy.calls == [("RGB", (4000, 500), (4096, 512))]  # 1/2 scale for a 4000-px export
    export = by_name(processed)["export-print"]
    assert (export.width, export.height) == (4000, 500)

    spy.calls.clear()
    photo_process(encode(photo(1200, 800)))
    assert spy.calls == []  # nothing to gain below the master size


def test_export_fits_max_bytes_and_max_px():
    data = encode(photo(3000, 2000, seed=3), quality=95)
    specs = [
        ExportSpec("postmart", "JPEG", 800, 1600, 150_000),
        ExportSpec("tiny", "JPEG", 0, 1200, 20_000),
        ExportSpec("lossless", "PNG", 0, 1000, 400_000),
    ]
    processed = photo_process(data, exports=specs)
    derivatives = by_name(processed)
    for spec in specs:
        export = derivatives[f"export-{spec.channel}"]
        im = reopen(export)
        assert im.format == spec.format
        assert len(export.data) <= spec.max_bytes
        assert max(im.size) <= spec.max_px and im.size == (export.width, export.height)
    assert derivatives["export-postmart"].width == 1600  # fits by quality alone
    assert derivatives["export-tiny"].width < 1200  # had to be scaled down as well
    assert processed.hints == ()


def test_small_original_still_gets_its_export_with_a_hint():
    processed = photo_process(encode(photo(600, 400)), exports=[ExportSpec("postmart", "JPEG", 1000, 1600, 900_000)])
    export = by_name(processed)["export-postmart"]
    assert (export.width, export.height) == (600, 400)
    assert processed.hints == ("small:postmart",)


def test_invalid_export_specs_are_programming_errors():
    data = encode(photo(100, 100))
    for spec in (
        ExportSpec("Bad Channel", "JPEG", 0, 100, 1000),
        ExportSpec("x", "GIF", 0, 100, 1000),
        ExportSpec("x", "JPEG", 200, 100, 1000),
        ExportSpec("x", "JPEG", 0, 100, 0),
    ):
        with pytest.raises(ValueError):
            photo_process(data, exports=[spec])


def test_quality_hints():
    sharp = photo(1600, 1200, seed=5)
    arr = np.asarray(sharp, dtype=np.float32)
    assert photo_process(encode(sharp, quality=90)).hints == ()
    assert photo_process(encode(sharp.filter(ImageFilter.GaussianBlur(4)), quality=90)).hints == ("blurry",)
    dark = Image.fromarray((arr * 0.15).astype(np.uint8))
    assert "dark" in photo_process(encode(dark, quality=90)).hints
    bright = Image.fromarray((255 - (255 - arr) * 0.08).astype(np.uint8))
    assert "bright" in photo_process(encode(bright, quality=90)).hints


def test_blur_threshold_separates_sharp_from_blurred():
    for seed in range(3):
        im = photo(1600, 1200, seed=seed)
        assert "blurry" not in pipeline._quality_hints(im)
        assert "blurry" in pipeline._quality_hints(im.filter(ImageFilter.GaussianBlur(4)))


def test_phash_survives_reencoding_and_tells_images_apart():
    im = photo(1600, 1200, seed=7)
    first = photo_process(encode(im, quality=95)).phash
    assert first == photo_process(encode(im, quality=70)).phash
    assert first == photo_process(encode(im, "PNG")).phash
    other = photo_process(encode(photo(1600, 1200, seed=8), quality=95)).phash
    assert imagehash.hex_to_hash(first) - imagehash.hex_to_hash(other) > 10


def test_no_temporary_files(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the pipeline must work in memory")

    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, forbidden)
    photo_process(encode(photo(2500, 1800)), exports=[ExportSpec("shop", "PNG", 0, 600, 2_000_000)])
    photo_process(encode(photo(300, 200), "HEIF", quality=60))


def test_pillow_limits_are_set_at_import():
    assert Image.MAX_IMAGE_PIXELS == pipeline.MAX_PIXELS == 60_000_000
    assert {"JPEG", "PNG", "WEBP", "HEIF"} == pipeline.ACCEPTED_FORMATS
    assert "HEIF" in Image.OPEN and pillow_heif.__version__
