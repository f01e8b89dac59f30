"""Load: locust, headless and bounded, against gunicorn and Celery workers on PostgreSQL and Redis.

    python -m tests.prove.load          # part of make prove; 2 to 5 minutes on 2 cores, with what else runs

Everything is real and started here, then stopped, failure or not: a fresh PostgreSQL database (ocop_h_load),
filled with the reference data, the demo logins, catalogue and sales history (the management commands of
`make setup`) and LOAD_PRODUCTS products in all (the product-list benchmark's filler); gunicorn on a free
loopback port (LOAD_WEB_WORKERS processes); Celery workers for photo processing (queue `images`,
LOAD_PHOTO_WORKERS processes) and for everything else (`celery` and the storefront's channel queue), with Redis
database 1 as broker and database 15 as cache (both emptied first). Then locust runs headless for
LOAD_SECONDS (60) with LOAD_USERS (50) users spawned at 10 per second (tests/prove/locustfile.py): catalogue
readers, photo uploaders (a producer member and a community team, real JPEGs) and officers reading the KPI.

The throttle rates (THROTTLE_USER, THROTTLE_ANON) are set far above what 50 users can send, because the run
measures the service, not its limits: with the defaults (1,200/min per user) a few officers sharing one login
would get 429s by design. After the run, the photos uploaded must all be processed (ready, not failed) within
LOAD_DRAIN_SECONDS, and no process may have logged a traceback.

It prints a Markdown table per group of endpoints (requests, errors, p50, p95, in ms) and per endpoint, and
writes them to $PROVE_OUT/load.json (default var/prove/). Exit 1 if any request failed, any photo failed or
stayed unprocessed, or any process logged a traceback. Response times on a machine shared with other jobs are
noisy; the error count is not.
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = os.environ.get("LOAD_DB_NAME", "ocop_h_load")
DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
BROKER_URL = os.environ.get("LOAD_BROKER_URL", "redis://127.0.0.1:6379/1")
CACHE_URL = os.environ.get("LOAD_CACHE_URL", "redis://127.0.0.1:6379/15")
USERS = int(os.environ.get("LOAD_USERS", "50"))
SPAWN_RATE = int(os.environ.get("LOAD_SPAWN_RATE", "10"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
PRODUCTS = int(os.environ.get("LOAD_PRODUCTS", "5000"))
WEB_WORKERS = int(os.environ.get("LOAD_WEB_WORKERS", "4"))
PHOTO_WORKERS = int(os.environ.get("LOAD_PHOTO_WORKERS", "2"))
DRAIN_SECONDS = int(os.environ.get("LOAD_DRAIN_SECONDS", "60"))
THROTTLE = os.environ.get("LOAD_THROTTLE", "100000/min")
OUT = Path(os.environ.get("PROVE_OUT", ROOT / "var" / "prove"))
GROUPS = ("catalogue", "photos", "kpi", "auth")


def _environment(var_dir: Path) -> dict:
    return {
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DATABASE_URL": DATABASE_URL,
        "DEBUG": "false",  # DEBUG keeps every SQL statement in memory: not what production does
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_RESULT_BACKEND": "",
        "CACHE_URL": CACHE_URL,
        "VAR_DIR": str(var_dir),
        "LOG_LEVEL": "WARNING",
        "THROTTLE_USER": THROTTLE,
        "THROTTLE_ANON": THROTTLE,
    }


def _fresh_database() -> None:
    import redis

    from tests.bench import bench_listings

    bench_listings._fresh_database(DATABASE_URL)
    for url in (BROKER_URL, CACHE_URL):  # our own database numbers: queues, token buckets, cache of this run
        redis.Redis.from_url(url).flushdb()


def _fill() -> dict:
    """The data set, through the same commands as `make setup`, then more products; returns the locust fixture."""
    from django.core.management import call_command

    from catalog.models import Product, ProductStatus
    from marketplace.accounts.models import User
    from marketplace.accounts.scoping import scope_queryset
    from marketplace.core.management.commands.load_demo_data import DEMO_PASSWORD
    from marketplace.places.models import NamedScope
    from tests.bench.bench_product_list import _fill as products_fill

    for command in ("migrate", "load_admin_units", "load_catalog_reference", "load_channel_reference",
                    "load_demo_data", "load_demo_catalog", "load_demo_orders"):  # fmt: skip
        call_command(command, verbosity=0, stdout=io.StringIO())
    call_command("storefront_setup", "--demo", verbosity=0, stdout=io.StringIO())
    products_fill(PRODUCTS)

    def visible(username: str):
        return scope_queryset(Product.objects.all(), User.objects.get(username=username))

    approved = Product.objects.filter(status=ProductStatus.APPROVED).order_by("pk").values_list("pk", flat=True)
    scopes = NamedScope.objects.filter(slug__in=["old-yen-bai", "former-van-chan-district"])
    return {
        "password": DEMO_PASSWORD,
        "products_total": Product.objects.count(),
        # What each reader sees (an officer or a team: their area only; a page past the end would be a 404).
        "catalogue": {
            name: {
                "total": visible(name).count(),
                "ids": list(visible(name).order_by("?").values_list("pk", flat=True)[:500]),
            }
            for name in ("admin", "canbo.yenbai", "tocongnghe.vanchan")
        },
        "storefront_product_ids": list(approved[:50]),  # those on sale once the storefront worker listed them
        "product_filters": [
            {"status": "approved"},
            {"kind": "goods"},
            {"product_set": 1},
            {"star": "4"},
            {"scope": "old-yen-bai"},
            {"place": "legacy:15"},
            {"ready_for": "postmart"},
            {"not_ready_for": "voso"},
            {"has_gi": "true"},
            {"ordering": "-updated_at"},
        ],
        "search_terms": ["chè", "mat ong", "Shan tuyết", "gạo", "mien dong", "tuyet 0001"],
        "uploaders": {
            name: list(visible(name).order_by("pk").values_list("pk", flat=True)[:40])
            for name in ("chuthe.tule", "tocongnghe.vanchan")
        },
        "kpi_login": "canbo.yenbai",
        "kpi_scopes": list(scopes.values_list("pk", flat=True)),
        "kpi_periods": ["2024", str(date.today().year), f"{date.today().year}-Q{(date.today().month - 1) // 3 + 1}"],
    }


def _storefront_on_sale(product_ids: list[int], timeout: float) -> list[int]:
    """The storefront's listings are pushed by the channel worker: wait until none is still on its way."""
    from integrations.models import Listing, ListingState
    from storefront.selectors import storefront_products

    on_the_way = Listing.objects.filter(channel="storefront", state__in=[ListingState.QUEUED, ListingState.SUBMITTING])
    deadline = time.monotonic() + timeout
    while on_the_way.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    return list(storefront_products().filter(pk__in=product_ids).values_list("pk", flat=True))


def _drain(started_at, timeout: float) -> dict:
    """Wait for the photos uploaded during the run to leave `processing`; their count by status."""
    from django.db.models import Count

    from catalog.photos.models import ProductPhoto

    photos = ProductPhoto.objects.filter(created_at__gte=started_at)
    deadline = time.monotonic() + timeout
    while photos.filter(status="processing").exists() and time.monotonic() < deadline:
        time.sleep(1)
    waited = timeout - max(0.0, deadline - time.monotonic())
    counts = dict(photos.values_list("status").annotate(n=Count("pk")).order_by())
    return {"by_status": counts, "waited_s": round(waited, 1)}


def _percentile(histogram: dict[int, int], total: int, percent: float) -> int:
    """Locust's own rule (stats.calculate_response_time_percentile): the smallest bucket at or above it."""
    wanted = total - int(total * percent)
    seen = 0
    for value in sorted(histogram, reverse=True):
        seen += histogram[value]
        if seen >= wanted:
            return value
    return 0


def _summarise(entries: list[dict]) -> tuple[list[dict], list[dict]]:
    """Per group and per endpoint: requests, failures, p50 and p95 (ms) from locust's response-time histograms
    (merged per group, since percentiles cannot be averaged)."""

    def row(name: str, items: list[dict]) -> dict:
        histogram: dict[int, int] = {}
        for item in items:
            for value, count in item["response_times"].items():
                histogram[int(float(value))] = histogram.get(int(float(value)), 0) + count
        total = sum(item["num_requests"] for item in items)
        seconds = max(1e-9, max(i["last_request_timestamp"] or 0 for i in items) - min(i["start_time"] for i in items))
        return {
            "name": name,
            "requests": total,
            "errors": sum(item["num_failures"] for item in items),
            "p50_ms": _percentile(histogram, total, 0.50) if total else None,
            "p95_ms": _percentile(histogram, total, 0.95) if total else None,
            "max_ms": round(max(item["max_response_time"] for item in items)),
            "rps": round(total / seconds, 1),
        }

    endpoints = [row(e["name"], [e]) for e in sorted(entries, key=lambda e: e["name"])]
    grouped = {g: [e for e in entries if e["name"].startswith(f"{g}:")] for g in GROUPS}
    groups = [row(g, items) for g, items in grouped.items() if items]
    groups.append(row("all", entries))
    return groups, endpoints


def _table(rows: list[dict], label: str) -> str:
    lines = [
        f"| {label} | requests | errors | p50 (ms) | p95 (ms) | max (ms) | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    columns = ("name", "requests", "errors", "p50_ms", "p95_ms", "max_ms", "rps")
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def _tracebacks(logs: Path) -> dict[str, int]:
    found = {}
    for log in sorted(logs.glob("*.log")):
        count = log.read_text(errors="replace").count("Traceback (most recent call last)")
        if count:
            found[log.name] = count
    return found


def main() -> int:
    begun = time.monotonic()
    var_dir = Path(os.environ.get("LOAD_VAR_DIR", tempfile.mkdtemp(prefix="ocop-load-")))
    logs = var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    env = _environment(var_dir)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    print(f"load: fresh database {DB_NAME}, broker {BROKER_URL}, cache {CACHE_URL}; logs in {logs}", flush=True)
    _fresh_database()
    import django

    django.setup()
    from django.db import connections
    from django.utils import timezone

    from tests.bench.bench_listings import _process
    from tests.integrations.marketplaces import free_port

    fixture = _fill()
    print(f"load: data ready in {time.monotonic() - begun:.0f} s ({fixture['products_total']} products)", flush=True)

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    web = [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application", "-b", f"127.0.0.1:{port}",
           "-w", str(WEB_WORKERS), "--timeout", "60"]  # fmt: skip
    celery = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "--without-heartbeat",
              "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
              "--prefetch-multiplier", "1"]  # fmt: skip
    workers = {
        "images": [*celery, "-Q", "images", "--concurrency", str(PHOTO_WORKERS), "--hostname", "load-images@%h"],
        "tasks": [*celery, "-Q", "celery,channel.storefront", "--concurrency", "2", "--hostname", "load-tasks@%h"],
    }
    result: dict = {"suite": "load", "ok": False, "users": USERS, "spawn_rate": SPAWN_RATE, "seconds": SECONDS,
                    "host": host, "web_workers": WEB_WORKERS, "photo_workers": PHOTO_WORKERS, "throttle": THROTTLE,
                    "database": DB_NAME, "products": fixture["products_total"]}  # fmt: skip
    connections.close_all()
    with ExitStack() as stack:
        stack.enter_context(_process(web, env, logs / "web.log", url=f"{host}/healthz"))
        for name, command in workers.items():
            # --loglevel WARNING hides celery's "ready." line: its banner is what says it started.
            stack.enter_context(_process(command, env, logs / f"worker-{name}.log", ready="[queues]"))
        on_sale = _storefront_on_sale(fixture["storefront_product_ids"], timeout=60)
        if not on_sale:
            print("load: no product on sale in the storefront after 60 s; see worker-tasks.log", flush=True)
            return 1
        fixture["storefront_product_ids"] = on_sale
        print(f"load: processes up, {len(on_sale)} products on sale, at {time.monotonic() - begun:.0f} s", flush=True)
        fixture_path = var_dir / "fixture.json"
        fixture_path.write_text(json.dumps(fixture, ensure_ascii=False), encoding="utf-8")
        connections.close_all()

        csv = OUT / "load"
        locust = [sys.executable, "-m", "locust", "-f", str(ROOT / "tests" / "prove" / "locustfile.py"), "--headless",
                  "-u", str(USERS), "-r", str(SPAWN_RATE), "-t", f"{SECONDS}s", "--host", host, "--csv", str(csv),
                  "--json-file", f"{csv}_locust", "--only-summary", "--stop-timeout", "10",
                  "--loglevel", "WARNING"]  # fmt: skip
        result["command"] = " ".join(["locust", *locust[3:]])
        print(f"load: {result['command']}", flush=True)
        (OUT / "load_locust.json").unlink(missing_ok=True)
        started_at = timezone.now()
        with open(logs / "locust.log", "wb") as out:
            run = subprocess.run(locust, cwd=ROOT, env={**os.environ, "LOAD_FIXTURE": str(fixture_path)},
                                 stdout=out, stderr=subprocess.STDOUT, timeout=SECONDS + 60, check=False)  # fmt: skip
        photos = _drain(started_at, DRAIN_SECONDS)

    raw = OUT / "load_locust.json"
    entries = json.loads(raw.read_text()) if raw.exists() else []
    exceptions = (OUT / "load_exceptions.csv").read_text().strip().splitlines()[1:] if entries else []
    groups, endpoints = _summarise(entries) if entries else ([], [])
    tracebacks = _tracebacks(logs)
    errors = sum(e["errors"] for e in endpoints)
    unprocessed = sum(n for status, n in photos["by_status"].items() if status != "ready")
    result.update({
        "groups": groups, "endpoints": endpoints, "errors": errors, "locust_exit": run.returncode,
        "locust_exceptions": len(exceptions), "photos": photos, "tracebacks": tracebacks,
        "wall_s": round(time.monotonic() - begun, 1), "machine": f"{platform.node()}, {os.cpu_count()} CPUs",
    })  # fmt: skip
    result["ok"] = bool(entries) and not errors and not exceptions and not unprocessed and not tracebacks
    (OUT / "load.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")

    print()
    print(f"{USERS} users, {SECONDS} s, gunicorn × {WEB_WORKERS}, photo workers × {PHOTO_WORKERS}, "
          f"{fixture['products_total']} products, throttles {THROTTLE}")  # fmt: skip
    print(_table(groups, "group"))
    print()
    print(_table(endpoints, "endpoint"))
    print()
    print(f"photos uploaded during the run, by status after {photos['waited_s']} s of draining: {photos['by_status']}")
    if exceptions:
        print(f"locust exceptions in user code: {len(exceptions)} (see {csv}_exceptions.csv)")
    if tracebacks:
        print(f"tracebacks in the logs ({logs}): {tracebacks}")
    failures = OUT / "load_failures.csv"
    if errors and failures.exists():
        print(failures.read_text())
    print(f"load: {'OK' if result['ok'] else 'FAILED'} in {result['wall_s']:.0f} s; {OUT / 'load.json'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
