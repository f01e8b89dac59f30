"""Benchmark: push 1,000 ready listings to each mock marketplace at 50 requests per second.

    make bench-listings        # needs PostgreSQL and Redis; BENCH_LISTINGS=200 for a quicker look

Everything is real and started here: a fresh PostgreSQL database, the two mock marketplaces as their own
processes (limits set to 50 requests per second through their admin API, Voso's daily quota lifted, review
held so that moderation does not compete for the CPU), gunicorn (Voso fetches our photo exports from it),
and several Celery worker processes on the channel queues sharing the Redis token buckets, set just under the
mocks' limits. One bulk push queues every listing; the clock stops when the last one is submitted.

The floor is what the limits allow: calls needed ÷ 50 per second, where a listing needs 2 calls on Postmart
(one upload of its photos, add_item) and 3 on Voso (migrate, its status, create; every Voso call counts against
the token's limit). Each mock runs once without faults and once with 10% 5xx and 5% commit-then-error on its
catalogue calls. Duplicates and lost listings are counted against the mocks' own state, not ours.
Targets: wall ≤ 1.15× the floor without faults, ≤ 1.5× with faults; 0 duplicates, 0 lost.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOTAL = int(os.environ.get("BENCH_LISTINGS", "1000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
LIMIT = 50.0  # requests per second, set on each mock
CLIENT = 47.5  # our shared bucket: just under the limit
CALLS_PER_LISTING = {"postmart": 2, "voso": 3}
DB_NAME = os.environ.get("BENCH_DB_NAME", "ocop_bench_listings")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
FAULTS = {
    "postmart": r"^/api/v2/(media_space|product)/",
    "voso": r"^/v2/(products|media)",
}


def _environment(media: str) -> dict:
    url = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
    return {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DATABASE_URL": url,
        "DEBUG": "false",  # DEBUG keeps every SQL statement in memory: not what production does
        "CELERY_BROKER_URL": REDIS,
        "CELERY_RESULT_BACKEND": "",
        "RATE_LIMIT_REDIS_URL": REDIS,
        "CACHE_URL": "locmemcache://",
        "MEDIA_ROOT": media,
        "LOG_LEVEL": "WARNING",
        "CHANNEL_RATE_LIMITS": json.dumps(
            {
                "postmart:shop": [CLIENT, 1],
                "postmart:write": [CLIENT, 1],
                "voso:token": [CLIENT, 1],
                "voso:migrate": [CLIENT, 1],
            }
        ),
    }


def _fresh_database(url: str) -> None:
    import psycopg

    # The database the URL names (the prove harnesses reuse this with their own): never another one.
    admin, name = url.rsplit("/", 1)[0] + "/postgres", url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _jpeg(seed: int, size: int) -> bytes:
    """A distinct, cheap JPEG: colour blocks from the seed (no two photos share bytes, so none is cached)."""
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(size), rng.randrange(size)
        draw.rectangle([x, y, x + 120, y + 120], fill=tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _fill(total: int):
    """One product made ready the real way (photo pipeline, documents, verified OCOP, readiness), then cloned
    row by row with distinct names, SKUs, certificates and photo bytes."""
    import hashlib

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.db import transaction

    from catalog.models import Product, ProductReadiness, Sku
    from catalog.ocop.models import OcopCertificate
    from catalog.photos.models import ProductPhoto
    from tests.integrations.marketplaces import ready_product

    template, certificate = ready_product(name="Mật ong hoa bạc hà", photos=4)
    photos = list(ProductPhoto.objects.filter(product=template))
    readiness = list(ProductReadiness.objects.filter(product=template))
    sku = template.skus.get()
    size = min(photos[0].derivatives["export-voso"]["width"], photos[0].derivatives["export-voso"]["height"])
    with transaction.atomic():
        for n in range(1, total):
            product = Product.objects.get(pk=template.pk)
            product.pk = product.id = None
            product.name = f"Mật ong hoa bạc hà Mù Cang Chải lô {n:04d}"
            product.search_key = product.name.lower()
            product.save()
            clone_sku = Sku.objects.get(pk=sku.pk)
            clone_sku.pk = clone_sku.id = None
            clone_sku.product, clone_sku.code = product, f"MO-{n:04d}"
            clone_sku.save()
            cert = OcopCertificate.objects.get(pk=certificate.pk)
            cert.pk = cert.id = None
            cert.product, cert.certificate_number = product, f"OCOP-LC-BENCH-{n:04d}"
            cert.save()
            for row in readiness:
                ProductReadiness.objects.create(
                    product=product, channel=row.channel, score=row.score, ready=row.ready, missing=row.missing
                )
            for index, original in enumerate(photos):
                data = _jpeg(n * 10 + index, size)
                digest = hashlib.sha256(data).hexdigest()
                key = default_storage.save(f"bench/{digest}.jpg", ContentFile(data))
                entry = {"key": key, "width": size, "height": size, "type": "image/jpeg", "bytes": len(data)}
                clone = ProductPhoto.objects.get(pk=original.pk)
                clone.pk = clone.id = None
                clone.product, clone.sha256, clone.phash = product, digest, ""
                clone.derivatives = {**original.derivatives, "export-postmart": entry, "export-voso": entry}
                clone.save()
    return template


@contextmanager
def _process(command: list[str], env: dict, log: Path, ready: str | None = None, url: str | None = None):
    import requests

    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            if ready and ready in log.read_text(errors="replace"):
                break
            if url:
                with contextlib.suppress(requests.RequestException):  # not listening yet, or still booting
                    requests.get(url, timeout=1)
                    break
            if process.poll() is not None:
                raise RuntimeError(f"{command[:4]} stopped: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _workers(stack: ExitStack, env: dict, logs: Path, tag: str) -> None:
    for index in range(WORKERS):
        command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", "channel.postmart,channel.voso",
                   "--concurrency", str(CONCURRENCY), "--prefetch-multiplier", "1", "-O", "fair",
                   "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
                   "--hostname", f"bench{index}-{tag}@%h"]  # fmt: skip
        stack.enter_context(_process(command, env, logs / f"worker-{tag}-{index}.log", ready=" ready."))


def _reset_service() -> None:
    import redis

    from integrations.models import BulkPush, ChannelConnection, Listing, RemoteImage

    Listing.objects.all().delete()
    BulkPush.objects.all().delete()
    RemoteImage.objects.all().delete()
    ChannelConnection.objects.all().delete()
    redis.Redis.from_url(REDIS).flushdb()  # our own database number: queues and token buckets of this bench


def _prepare_mock(channel: str, url: str, faults: bool) -> None:
    from tests.integrations.marketplaces import admin

    if channel == "postmart":
        admin(url, "PUT", "/limits", shop_rate=LIMIT, shop_burst=LIMIT, write_rate=LIMIT, write_burst=LIMIT,
              partner_per_min=LIMIT * 60)  # fmt: skip
        admin(url, "PUT", "/review-config", mode="manual")
    else:
        admin(url, "PUT", "/limits", rate_per_s=int(LIMIT), migrate_per_s=int(LIMIT), daily_quota=None)
        admin(url, "PUT", "/review-config", mode="manual")
    if faults:
        path = FAULTS[channel]
        # 10% of calls answer 5xx; of the rest, 1 in 18 commits and then errs: 5% of all calls.
        admin(url, "POST", "/faults", match={"path": path, "probability": 0.10},
              action={"type": "http_error", "status": 503})  # fmt: skip
        admin(url, "POST", "/faults", match={"path": path, "probability": 0.05 / 0.90},
              action={"type": "commit_then_error", "status": 502})  # fmt: skip


def _mock_items(channel: str, url: str) -> list[dict]:
    from tests.integrations.marketplaces import admin

    state = admin(url, "GET", "/state")
    if channel == "postmart":
        return [
            {"id": str(i["item_id"]), "sku": i["item_sku"]}
            for i in state["items"]
            if i["item_status"] not in ("SELLER_DELETE", "SHOPEE_DELETE")
        ]
    return [{"id": str(p["productId"]), "sku": p["sellerSku"]} for p in state["products"] if p["status"] != "DELETED"]


def _round(channel: str, faults: bool, env: dict, logs: Path, export_url: str) -> dict:
    from django.db.models import Count, Max, Min

    from integrations.models import Listing, ListingAttempt
    from integrations.sync.services import listings_bulk_push
    from marketplace.places.models import NamedScope
    from tests.integrations.marketplaces import lao_cai, mock_process, pm_connect, vs_connect

    _reset_service()
    module = f"integrations.mocks.{channel}"
    with ExitStack() as stack:
        url = stack.enter_context(mock_process(module))
        connect = pm_connect if channel == "postmart" else vs_connect
        connect(url, area=lao_cai())
        _prepare_mock(channel, url, faults)
        _workers(stack, {**env, "PHOTO_EXPORT_BASE_URL": export_url}, logs, f"{channel}-{int(faults)}")
        scope = NamedScope.objects.get(slug="bench-lao-cai")

        started = time.perf_counter()
        bulk = listings_bulk_push(scope=scope, channel=channel)
        queued = time.perf_counter() - started
        settled = ("pending_review", "live", "rejected", "failed", "locked")
        deadline = started + 8 * TOTAL * CALLS_PER_LISTING[channel] / LIMIT + 60
        while time.perf_counter() < deadline:
            waiting = Listing.objects.filter(bulk=bulk).exclude(state__in=settled).count()
            if not waiting:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - started
        items = _mock_items(channel, url)

    listings = list(Listing.objects.filter(bulk=bulk).values("seller_sku", "external_id", "state"))
    skus = Counter(item["sku"] for item in items)
    by_sku = {item["sku"]: item["id"] for item in items}
    calls = dict(ListingAttempt.objects.values_list("ok").annotate(n=Count("pk")).order_by())
    span = ListingAttempt.objects.filter(listing__isnull=False).aggregate(first=Min("at"), last=Max("at"))
    floor = TOTAL * CALLS_PER_LISTING[channel] / LIMIT
    return {
        "channel": channel,
        "faults": faults,
        "listings": len(listings),
        "submitted": sum(1 for row in listings if row["external_id"] and row["state"] not in ("failed", "queued")),
        "states": dict(Counter(row["state"] for row in listings)),
        "wall_s": wall,
        "floor_s": floor,
        "ratio": wall / floor,
        "calls_ok": calls.get(True, 0),
        "calls_failed": calls.get(False, 0),
        "mock_items": len(items),
        "duplicates": sum(n - 1 for n in skus.values() if n > 1),
        "lost": sum(
            1 for row in listings if by_sku.get(row["seller_sku"]) != row["external_id"] or not row["external_id"]
        ),
        "skipped": len(bulk.skipped),
        "bulk_push_s": queued,
        "first_call_s": (span["first"] - bulk.created_at).total_seconds(),
        "calls_per_s": (calls.get(True, 0) + calls.get(False, 0)) / (span["last"] - span["first"]).total_seconds(),
    }


def main() -> None:
    media = tempfile.mkdtemp(prefix="bench-listings-media-")
    logs = Path(tempfile.mkdtemp(prefix="bench-listings-logs-"))
    env = _environment(media)
    os.environ.update(env)
    _fresh_database(env["DATABASE_URL"])
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from marketplace.places.models import NamedScope
    from tests.bench.report import record
    from tests.integrations.marketplaces import free_port, lao_cai

    print(f"Setting up {TOTAL} ready products in {DB_NAME} (logs in {logs})…", flush=True)
    for command in ("migrate", "load_admin_units", "load_catalog_reference", "load_channel_reference"):
        call_command(command, verbosity=0)
    _fill(TOTAL)
    scope = NamedScope.objects.create(slug="bench-lao-cai", name="Lào Cai", is_shared=True)
    scope.units.set([lao_cai()])

    port = free_port()
    # The web server Voso fetches our photo exports from, as in production: gunicorn, one process per core.
    web = [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2"]
    results = []
    with _process(web, env, logs / "web.log", url=f"http://127.0.0.1:{port}/healthz"):
        for channel in os.environ.get("BENCH_CHANNELS", "postmart,voso").split(","):
            for faults in [f == "1" for f in os.environ.get("BENCH_FAULTS", "0,1").split(",")]:
                result = _round(channel, faults, env, logs, f"http://127.0.0.1:{port}")
                results.append(result)
                print(json.dumps(result, ensure_ascii=False), flush=True)

    print()
    print(f"{TOTAL} listings per mock, limits {LIMIT:g} req/s, client buckets {CLIENT:g}/s, "
          f"{WORKERS} workers × {CONCURRENCY} processes")  # fmt: skip
    print("| mock | faults | wall | floor | ratio | target | calls ok / failed | on the mock | duplicates | lost |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        target = 1.5 if r["faults"] else 1.15
        faults = "10% 5xx + 5% commit-then-error" if r["faults"] else "none"
        print(f"| {r['channel']} | {faults} | {r['wall_s']:.1f} s | {r['floor_s']:.1f} s | {r['ratio']:.2f}× | "
              f"≤ {target}× | {r['calls_ok']} / {r['calls_failed']} | {r['mock_items']} | {r['duplicates']} | "
              f"{r['lost']} |")  # fmt: skip
        record(bench="listings push", figure=f"{r['channel']}, {TOTAL} listings at {LIMIT:g} req/s, faults: {faults}",
               value=r["wall_s"], unit="s", peer=r["floor_s"], peer_label="floor", target=f"≤ {target}×",
               met=r["ratio"] <= target)  # fmt: skip
        record(bench="listings push", figure=f"{r['channel']}, faults: {faults}: duplicates / lost on the mock",
               value=f"{r['duplicates']} / {r['lost']}", target="0 / 0",
               met=r["duplicates"] == r["lost"] == 0)  # fmt: skip


if __name__ == "__main__":
    main()
