"""The generated upload corpus is what it claims to be (plain pytest, no database)."""

import io
import struct
import time
import zlib
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.catalog.photos import corpus
from tests.catalog.photos.corpus import ACCEPTED, EXPECTATIONS, REFUSED, REFUSED_FOR_FRONT


@pytest.fixture(scope="module")
def samples():
    return {sample.name: sample for sample in corpus.hostile_corpus()}


def _open(sample):
    return Image.open(io.BytesIO(sample.data))


def _load(sample):
    image = _open(sample)
    image.load()
    return image


def _dms(values):
    degrees, minutes, seconds = (Fraction(float(v)).limit_denominator(10_000) for v in values)
    return float(degrees + minutes / 60 + seconds / 3600)


def _png_chunks(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        yield kind, payload, crc == zlib.crc32(kind + payload)
        offset += 12 + length


def test_the_corpus_has_every_announced_sample_once_with_a_known_expectation(samples):
    built = list(samples.values())
    names = [sample.name for sample in built]
    assert len(names) == len(set(names))
    assert set(names) == {
        "zero_bytes",
        "truncated_jpeg",
        "png_bomb",
        "jpeg_huge_header",
        "jpeg_html_polyglot",
        "html_with_jpeg_magic",
        "svg_script",
        "gif",
        "pdf",
        *(f"exif_orientation_{n}" for n in range(1, 9)),
        "cmyk_jpeg",
        "png_16bit",
        "palette_png_transparent",
        "rgba_png",
        "animated_webp",
        "heic",
        "tiny_front",
        "jpeg_with_gps",
    }
    for sample in built:
        assert sample.expect in EXPECTATIONS, sample
        assert sample.filename and "/" not in sample.filename and "." in sample.filename, sample
        assert sample.note and "\n" not in sample.note, sample
        assert isinstance(sample.data, bytes), sample
    assert [s.name for s in built if s.expect == REFUSED_FOR_FRONT] == ["tiny_front"]
    assert corpus.corpus_names() == names
    assert corpus.corpus_sample("pdf").data == built[names.index("pdf")].data


def test_generation_is_deterministic_and_quick(samples):
    first = list(samples.values())  # built by an earlier call, in the fixture
    started = time.perf_counter()
    second = corpus.hostile_corpus()
    elapsed = time.perf_counter() - started
    assert [(s.name, s.filename, s.expect, s.data) for s in first] == [
        (s.name, s.filename, s.expect, s.data) for s in second
    ]
    assert elapsed < 5  # ~0.5 s on a laptop; generous for a loaded CI runner


def test_photo_like_is_a_real_looking_picture_and_seeded():
    image = corpus.photo_like()
    assert image.size == (1200, 900) and image.mode == "RGB"
    assert corpus.photo_like(seed=3).tobytes() == corpus.photo_like(seed=3).tobytes()
    assert corpus.photo_like(seed=3).tobytes() != corpus.photo_like(seed=4).tobytes()
    grey = image.convert("L")
    histogram = grey.histogram()
    mean = sum(i * n for i, n in enumerate(histogram)) / sum(histogram)
    assert 70 < mean < 190  # neither dark nor bright
    assert len(image.getcolors(1 << 24)) > 10_000  # not a flat colour
    # Sharp: the mean absolute difference between neighbouring pixels is far from zero.
    pixels = np.asarray(grey, dtype=np.int16)
    assert np.abs(np.diff(pixels, axis=1)).mean() > 3


def test_accepted_samples_decode_fully_and_are_big_enough(samples):
    accepted = [s for s in samples.values() if s.expect == ACCEPTED]
    assert len(accepted) >= 15
    for sample in accepted:
        image = _load(sample)
        width, height = ImageOps.exif_transpose(image).size if image.format == "JPEG" else image.size
        assert min(width, height) >= 600, sample
    tiny = _load(samples["tiny_front"])
    assert (tiny.format, tiny.size) == ("JPEG", (300, 300))


@pytest.mark.parametrize(
    ("name", "fmt", "mode", "size"),
    [
        ("cmyk_jpeg", "JPEG", "CMYK", (1000, 800)),
        ("png_16bit", "PNG", "I;16", (800, 640)),
        ("palette_png_transparent", "PNG", "P", (800, 800)),
        ("rgba_png", "PNG", "RGBA", (800, 700)),
        ("heic", "HEIF", "RGB", (800, 600)),
        ("jpeg_with_gps", "JPEG", "RGB", (1200, 900)),
        ("jpeg_html_polyglot", "JPEG", "RGB", (1200, 900)),
    ],
)
def test_awkward_samples_have_the_claimed_format_and_mode(samples, name, fmt, mode, size):
    image = _load(samples[name])
    assert (image.format, image.mode, image.size) == (fmt, mode, size)


def test_png_16bit_is_16_bits_per_sample(samples):
    (kind, ihdr, crc_ok), *_ = _png_chunks(samples["png_16bit"].data)
    assert kind == b"IHDR" and crc_ok
    assert ihdr[8:10] == bytes([16, 0])  # bit depth 16, colour type 0 (greyscale)
    values = _load(samples["png_16bit"]).getextrema()
    assert values[1] > 255  # really uses the 16-bit range


def test_palette_png_has_a_transparent_area(samples):
    image = _load(samples["palette_png_transparent"])
    assert image.mode == "P" and "transparency" in image.info
    kinds = [kind for kind, _, _ in _png_chunks(samples["palette_png_transparent"].data)]
    assert b"PLTE" in kinds and b"tRNS" in kinds
    rgba = image.convert("RGBA")
    assert rgba.getpixel((400, 400))[3] == 0  # centre of the disc
    assert rgba.getpixel((5, 5))[3] == 255


def test_rgba_png_has_clear_and_half_clear_pixels(samples):
    alpha = _load(samples["rgba_png"]).getchannel("A")
    assert alpha.getpixel((10, 10)) == 0
    assert alpha.getpixel((300, 600)) == 255
    assert alpha.getpixel((600, 530)) == 128


def test_animated_webp_has_three_frames(samples):
    image = _open(samples["animated_webp"])
    assert image.format == "WEBP" and image.size == (640, 640)
    assert image.is_animated and image.n_frames == 3
    for frame in range(3):
        image.seek(frame)
        image.load()


def test_heic_is_hevc_in_a_heif_container(samples):
    data = samples["heic"].data
    assert data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1")
    assert b"hvcC" in data


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_samples_carry_the_tag_and_show_upright(samples, orientation):
    sample = samples[f"exif_orientation_{orientation}"]
    image = _load(sample)
    assert image.format == "JPEG"
    assert image.getexif()[corpus.TAG_ORIENTATION] == orientation
    stored_landscape = image.width > image.height
    assert stored_landscape == (orientation <= 4)
    upright = ImageOps.exif_transpose(image)
    assert upright.size == corpus.ORIENTATION_UPRIGHT_SIZE
    assert corpus.marker_corner(upright) == "top_left"
    if orientation != 1:  # the stored pixels are really turned: ignoring the tag puts the marker elsewhere
        assert (corpus.marker_corner(image), image.size) != ("top_left", upright.size)


def test_orientation_samples_all_differ(samples):
    stored = {(samples[f"exif_orientation_{n}"].data) for n in range(1, 9)}
    assert len(stored) == 8


def test_jpeg_with_gps_has_date_and_gps_ifd(samples):
    exif = _load(samples["jpeg_with_gps"]).getexif()
    assert corpus.IFD_GPS in exif  # the GPS IFD pointer in IFD0
    assert exif.get_ifd(corpus.IFD_EXIF)[corpus.TAG_DATETIME_ORIGINAL] == "2024:09:21 07:42:10"
    gps = exif.get_ifd(corpus.IFD_GPS)
    assert gps[corpus.GPS_LATITUDE_REF] == "N" and gps[corpus.GPS_LONGITUDE_REF] == "E"
    assert _dms(gps[corpus.GPS_LATITUDE]) == pytest.approx(21.85, abs=0.001)
    assert _dms(gps[corpus.GPS_LONGITUDE]) == pytest.approx(104.09, abs=0.001)


def test_zero_bytes_is_empty(samples):
    assert samples["zero_bytes"].data == b""


def test_truncated_jpeg_starts_right_but_fails_to_load(samples):
    data = samples["truncated_jpeg"].data
    assert data[:3] == b"\xff\xd8\xff" and not data.endswith(b"\xff\xd9")
    assert corpus.sof_dimensions(data) == (1200, 900)
    image = _open(samples["truncated_jpeg"])
    assert image.size == (1200, 900)
    with pytest.raises(OSError, match="truncated"):
        image.load()


def test_png_bomb_claims_a_huge_image_in_few_bytes(samples):
    data = samples["png_bomb"].data
    assert len(data) < 100_000
    chunks = list(_png_chunks(data))
    assert [kind for kind, _, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert all(crc_ok for _, _, crc_ok in chunks)
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, colour) == (8, 0)
    assert width * height > 60_000_000
    # The IDAT is a complete zlib stream of zeros; inflate it in bounded steps.
    inflater = zlib.decompressobj()
    inflated, pending = 0, chunks[1][1]
    while pending:
        piece = inflater.decompress(pending, 1 << 20)
        assert piece.count(0) == len(piece)
        inflated += len(piece)
        pending = inflater.unconsumed_tail
    assert inflater.eof
    assert inflated == corpus.BOMB_ROWS_IN_STREAM * (width + 1)
    assert inflated > 100 * len(data)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))


def test_jpeg_huge_header_sof_claims_65000_square(samples):
    data = samples["jpeg_huge_header"].data
    assert len(data) < 10_000
    assert data.count(b"\xff\xc0") >= 1
    assert corpus.sof_dimensions(data) == (65_000, 65_000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))


def test_polyglot_is_a_valid_jpeg_that_carries_html(samples):
    sample = samples["jpeg_html_polyglot"]
    assert sample.filename == "photo.jpg" and sample.expect == REFUSED
    assert b"<script>alert(1)</script>" in sample.data
    assert sample.data.rstrip().endswith(b"</html>")
    image = _load(sample)  # it really is a JPEG that decodes: refused for what it carries, not for its format
    assert image.info.get("comment") == corpus.HTML_PAYLOAD  # the COM segment
    assert "polyglot" in sample.note


def test_html_with_jpeg_magic_is_not_an_image(samples):
    sample = samples["html_with_jpeg_magic"]
    assert sample.data.startswith(b"\xff\xd8\xff<!DOCTYPE html>")
    assert b"<script>" in sample.data
    with pytest.raises((OSError, SyntaxError)):
        _load(sample)


def test_svg_gif_and_pdf_are_what_they_say(samples):
    svg = samples["svg_script"]
    assert svg.filename == "photo.jpg" and svg.data.startswith(b"<?xml") and b"<svg" in svg.data
    assert b"<script" in svg.data
    gif = _load(samples["gif"])
    assert gif.format == "GIF" and gif.size == (640, 640)
    pdf = samples["pdf"].data
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[startxref:].startswith(b"xref")
    for kind in ("svg_script", "pdf"):
        with pytest.raises(Image.UnidentifiedImageError):
            _open(samples[kind])


def test_refused_samples_never_decode_as_a_photo(samples):
    for sample in samples.values():
        # The GIF decodes (refused for its format); the polyglot decodes (refused for the page inside it).
        if sample.expect != REFUSED or sample.name in ("gif", "jpeg_html_polyglot"):
            continue
        with pytest.raises((OSError, SyntaxError, Image.DecompressionBombError)):
            _load(sample)
