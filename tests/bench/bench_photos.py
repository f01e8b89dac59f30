"""Benchmark: the photo pipeline against a naive Pillow pipeline, on 20 phone-sized photos (12 to 48 MP).

    .venv/bin/python -m tests.bench.bench_photos

The photos are generated first (not timed): 4:3 JPEGs at quality 90 whose content looks like a photo to an
encoder (gradients, hard-edged shapes, sensor-like noise), with EXIF (and an orientation tag on some).

Both pipelines make the same derivatives: a 2048-px progressive master, 800 and 320-px JPEG and WebP
thumbnails and the three channel exports the seeded profiles ask for (Postmart and Voso at 2048 px, the
storefront at 1600 px; catalog/photos/selectors.py caps exports at 2048 px). The naive one does what common
thumbnailing libraries do: for every derivative it opens the full bytes, applies ImageOps.exif_transpose
(which decodes the full image), converts to RGB, thumbnails and saves. Ours is
`photo_process(data, exports=EXPORTS)`, which also computes the phash, the quality hints and the metadata.
Both run in this process, photo by photo in the same order (which one goes first alternates, so neither
always meets a warm cache).

Peak memory is measured on the 48 MP photo, each pipeline in a fresh subprocess: ru_maxrss at the end minus
ru_maxrss after the imports. Targets: time ours/naive <= 0.6; our peak <= 300 MB. A benchmark, not a test:
absolute times on a shared machine are noisy, the ratio much less so.
"""

import io
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageDraw, ImageOps

from catalog.photos.pipeline import ExportSpec, photo_process
from tests.bench.report import record

PHOTOS = int(os.environ.get("BENCH_PHOTOS", "20"))
MIN_MP, MAX_MP = 12, 48
# The exports of the seeded channel profiles (catalog/data/channel_profiles.json), as selectors would give them.
EXPORTS = [
    ExportSpec(channel="postmart", format="JPEG", min_px=500, max_px=2048, max_bytes=10 * 1024 * 1024),
    ExportSpec(channel="storefront", format="JPEG", min_px=500, max_px=1600, max_bytes=1024 * 1024),
    ExportSpec(channel="voso", format="JPEG", min_px=330, max_px=2048, max_bytes=3 * 1024 * 1024),
]
# (name, box for Image.thumbnail, format, save parameters): the same set of derivatives as photo_process.
NAIVE_DERIVATIVES = [
    ("master", (2048, 2048), "JPEG", {"quality": 85, "progressive": True, "optimize": True}),
    ("w800", (800, 100_000), "JPEG", {"quality": 82, "progressive": True, "optimize": True}),
    ("w320", (320, 100_000), "JPEG", {"quality": 82, "progressive": True, "optimize": True}),
    ("w800.webp", (800, 100_000), "WEBP", {"quality": 80}),
    ("w320.webp", (320, 100_000), "WEBP", {"quality": 80}),
    ("export-postmart", (2048, 2048), "JPEG", {"quality": 85, "optimize": True}),
    ("export-storefront", (1600, 1600), "JPEG", {"quality": 85, "optimize": True}),
    ("export-voso", (2048, 2048), "JPEG", {"quality": 85, "optimize": True}),
]
TIME_TARGET, MEMORY_TARGET_MB = 0.6, 300


def naive(data: bytes) -> list[bytes]:
    outputs = []
    for _name, box, fmt, params in NAIVE_DERIVATIVES:
        with Image.open(io.BytesIO(data)) as opened:
            im = ImageOps.exif_transpose(opened).convert("RGB")
        im.thumbnail(box, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, fmt, **params)
        outputs.append(buf.getvalue())
    return outputs


def ours(data: bytes) -> list[bytes]:
    return [d.data for d in photo_process(data, exports=EXPORTS).derivatives]


PIPELINES = {"naive": naive, "ours": ours}


# ------------------------------------------------------------------------------------------------ photos


def _sizes(count: int) -> list[tuple[int, int]]:
    sizes = []
    for i in range(count):
        megapixels = MIN_MP + (MAX_MP - MIN_MP) * i / max(1, count - 1)
        width = round(math.sqrt(megapixels * 1e6 * 4 / 3) / 16) * 16
        sizes.append((width, width * 3 // 4))
    return sizes


def _photo(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    # Smooth light: gradients computed small and enlarged, as lenses and skies are smooth.
    sw, sh = max(2, width // 16), max(2, height // 16)
    y, x = np.mgrid[0:sh, 0:sw].astype(np.float32)
    phase = rng.uniform(0, 6.28, 3)
    red = 120 + 70 * np.sin(x / sw * 3 + phase[0]) * np.cos(y / sh * 2)
    green = 110 + 60 * np.cos(x / sw * 2 + phase[1])
    blue = 100 + 50 * np.sin((x + y) / (sw + sh) * 4 + phase[2])
    light = np.stack([red, green, blue], -1)
    im = Image.fromarray(light.clip(0, 255).astype(np.uint8)).resize((width, height), Image.Resampling.BILINEAR)
    # Objects with hard edges and fine texture.
    draw = ImageDraw.Draw(im)
    for _ in range(80):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(width // 60, width // 6))
        colour = tuple(int(v) for v in rng.integers(20, 235, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse([x0, y0, x0 + r, y0 + r], fill=colour)
        elif shape == 1:
            draw.rectangle([x0, y0, x0 + r, y0 + r // 2], fill=colour, outline=(15, 15, 15), width=max(1, r // 40))
        else:
            draw.line([x0, y0, x0 + r, y0 + r // 3], fill=colour, width=max(1, r // 30))
    # Sensor noise: a tile of Gaussian noise (odd size, so it does not line up with 8x8 JPEG blocks). Sigma 8
    # gives about 2.2 bits per pixel at quality 90, i.e. ~13 MB for 48 MP: what phones produce.
    tile = rng.normal(0, 8, (509, 521, 3)).astype(np.int16)
    reps = (math.ceil(height / tile.shape[0]), math.ceil(width / tile.shape[1]), 1)
    pixels = np.asarray(im, dtype=np.int16) + np.tile(tile, reps)[:height, :width]
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def generate(directory: Path, count: int) -> list[Path]:
    paths = []
    for i, (width, height) in enumerate(_sizes(count)):
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "BenchPhone"
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = f"2025:03:{i + 1:02d} 09:30:00"
        if i % 3 == 1:
            exif[ExifTags.Base.Orientation] = 6  # shot in portrait, stored landscape, as phones do
        elif i % 7 == 3:
            exif[ExifTags.Base.Orientation] = 3
        path = directory / f"photo-{i:02d}-{width}x{height}.jpg"
        _photo(width, height, seed=i).save(path, "JPEG", quality=90, exif=exif)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------------ memory


def _child(which: str, path: str) -> None:
    """Run one pipeline once on one photo and print ru_maxrss after the imports and at the end (KiB on Linux)."""
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = Path(path).read_bytes()
    PIPELINES[which](data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_kb": baseline, "peak_kb": peak}))


def _run_child(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_photos", *args],
        check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
    ).stdout  # fmt: skip


def peak_mb(which: str, path: Path) -> tuple[float, float]:
    """(peak growth over the post-import baseline, baseline), in MB, of one run in a fresh process.

    Linux carries ru_maxrss over fork+exec: a child starts with its parent's high-water mark. So this must be
    called while the parent is still lean (the photos are generated in another subprocess, and this runs
    before the timing loop); the parent then holds about what the child's own imports take.
    """
    report = json.loads(_run_child("--child", which, str(path)).strip().splitlines()[-1])
    return (report["peak_kb"] - report["baseline_kb"]) / 1024, report["baseline_kb"] / 1024


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp:
        started = time.perf_counter()
        _run_child("--generate", tmp, str(PHOTOS))
        paths = sorted(Path(tmp).glob("photo-*.jpg"))
        sizes = [Image.open(p).size for p in paths]  # header only
        print(
            f"{len(paths)} JPEGs at quality 90, {sizes[0][0] * sizes[0][1] / 1e6:.0f} to "
            f"{sizes[-1][0] * sizes[-1][1] / 1e6:.0f} MP, {sum(p.stat().st_size for p in paths) / 1e6:.0f} MB in all, "
            f"largest {max(p.stat().st_size for p in paths) / 1e6:.1f} MB (generated in "
            f"{time.perf_counter() - started:.0f} s, not timed)"
        )

        biggest = paths[-1]
        memory = {which: peak_mb(which, biggest) for which in PIPELINES}

        warm = io.BytesIO()
        Image.new("RGB", (64, 48), (90, 120, 150)).save(warm, "JPEG")
        for run in PIPELINES.values():
            run(warm.getvalue())

        elapsed = {"naive": 0.0, "ours": 0.0}
        for i, path in enumerate(paths):
            data = path.read_bytes()
            for which in ("naive", "ours") if i % 2 == 0 else ("ours", "naive"):
                t0 = time.perf_counter()
                PIPELINES[which](data)
                elapsed[which] += time.perf_counter() - t0

    ratio = elapsed["ours"] / elapsed["naive"]
    memory_ratio = memory["ours"][0] / memory["naive"][0]
    mp = sizes[-1][0] * sizes[-1][1] / 1e6
    time_ok = "OK" if ratio <= TIME_TARGET else "MISSED"
    memory_ok = "OK" if memory["ours"][0] <= MEMORY_TARGET_MB else "MISSED"
    print()
    print(f"{'':36}{'naive':>9}{'ours':>9}{'ours/naive':>12}  target")
    print(f"{f'total time, {len(paths)} photos (s)':36}{elapsed['naive']:>9.2f}{elapsed['ours']:>9.2f}{ratio:>12.2f}"
          f"  ratio <= {TIME_TARGET}: {time_ok}")  # fmt: skip
    print(f"{'mean time per photo (s)':36}{elapsed['naive'] / len(paths):>9.2f}{elapsed['ours'] / len(paths):>9.2f}")
    print(f"{f'peak memory, {mp:.0f} MP photo (MB)':36}{memory['naive'][0]:>9.0f}{memory['ours'][0]:>9.0f}"
          f"{memory_ratio:>12.2f}  ours <= {MEMORY_TARGET_MB} MB: {memory_ok}")  # fmt: skip
    print(f"(peak = ru_maxrss growth in a fresh process over its post-import baseline of "
          f"{memory['naive'][1]:.0f} / {memory['ours'][1]:.0f} MB)")  # fmt: skip
    smallest = sizes[0][0] * sizes[0][1] / 1e6
    record(bench="photo pipeline", figure=f"time, {len(paths)} photos ({smallest:.0f}–{mp:.0f} MP)",
           value=elapsed["ours"], unit="s", peer=elapsed["naive"], peer_label="naive", target=f"≤ {TIME_TARGET}×",
           met=ratio <= TIME_TARGET)  # fmt: skip
    record(bench="photo pipeline", figure=f"peak memory, {mp:.0f} MP photo", value=memory["ours"][0], unit="MB",
           peer=memory["naive"][0], peer_label="naive", target=f"≤ {MEMORY_TARGET_MB} MB",
           met=memory["ours"][0] <= MEMORY_TARGET_MB)  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "--generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
