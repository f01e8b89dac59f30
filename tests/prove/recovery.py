"""Proof: the service recovers from a Redis restart and dropped PostgreSQL connections (issue 8). Run
`python -m tests.prove.recovery` (exit 0 only if every target is met).

Everything is real and started here: a fresh PostgreSQL database (`ocop_h_recovery`), a redis-server of its own
(a free port, no persistence: a restart loses every queued message, the hard case) as broker and cache, both mock
marketplaces, gunicorn, and Celery workers (photos; channels). While clients upload photos through the API and
officers ask for listing pushes, the drill restarts Redis (SIGTERM, then SIGKILL) and terminates every
PostgreSQL connection of the database (pg_terminate_backend), twice each. Then the backstops run as beat runs
them (photos_requeue_stale, listings_release_deferred, the inbox's, the review poll), asked sooner than beat's
10 minutes so that the drill stays short.

Targets: every upload answered 2xx is stored and processed; every listing accepted for push ends live, or with a
visible reason; nothing duplicated (photos, listings, items on the mocks); /readyz answers 200 again after each
fault, and at the end.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
DB_NAME = "ocop_h_recovery"
UPLOADS = int(os.environ.get("PROVE_RECOVERY_UPLOADS", "48"))
LISTINGS = int(os.environ.get("PROVE_RECOVERY_PRODUCTS", "6"))  # ready products, each pushed to both mocks
CLIENTS = 3
BOUND_S = 10 * 60
FAULT_EVERY_S = float(os.environ.get("PROVE_RECOVERY_FAULT_EVERY_S", "6"))
SETTLED = ("live", "rejected", "failed", "locked", "taken_down", "removed_by_platform", "quota_deferred")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of our own on loopback, without persistence, that can be stopped and started again on the
    same port (the machine's Redis on 6379 is never touched)."""

    def __init__(self, port: int | None = None, workdir: str | None = None):
        self.port = port or free_port()
        self.workdir = workdir or tempfile.mkdtemp(prefix="redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                   "no", "--dir", self.workdir, "--loglevel", "warning"]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, sig: int = signal.SIGTERM, down_s: float = 0.0) -> None:
        self.stop(sig)
        time.sleep(down_s)
        self.start()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def terminate_connections(database_url: str, name: str, keep=()) -> int:
    """Every other PostgreSQL connection to the database `name` (but those in `keep`), terminated as a failover
    or a restart of PostgreSQL would."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND NOT pid = ANY(%s)",
            [name, list(keep)],
        ).fetchall()
    return sum(1 for (done,) in rows if done)


def ready_after(url: str, timeout: float = 60.0) -> float | None:
    """Seconds until /readyz answers 200 (None if it never did within `timeout`)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return None


# --------------------------------------------------------------------------------------------------- load
def _jpeg(seed: int) -> bytes:
    from tests.integrations.marketplaces import photo

    return photo(seed, size=640).read()


def _uploader(web: str, token: str, products: list[int], seeds: list[int], out: list, stop: threading.Event):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    for seed in seeds:
        if stop.is_set():
            return
        product = products[seed % len(products)]
        data = _jpeg(seed)
        row = {"seed": seed, "product": product, "sha256": __import__("hashlib").sha256(data).hexdigest()}
        try:
            response = session.post(f"{web}/api/v1/products/{product}/photos/",
                                    files={"image": (f"p{seed}.jpg", data, "image/jpeg")},
                                    data={"role": "in_use"}, timeout=60)  # fmt: skip
            row["status"] = response.status_code
            if response.status_code < 300:
                row["id"] = response.json()["id"]
        except requests.RequestException as exc:
            row["status"] = f"error: {type(exc).__name__}"
        out.append(row)


def _pusher(web: str, token: str, products: list[int], out: list, stop: threading.Event, every: float):
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    for product in products:
        for channel in ("postmart", "voso"):
            if stop.is_set():
                return
            row = {"product": product, "channel": channel}
            try:
                response = session.post(f"{web}/api/v1/products/{product}/listings/", json={"channel": channel},
                                        timeout=60)  # fmt: skip
                row["status"] = response.status_code
                if response.status_code < 300:
                    row["listings"] = [x["id"] for x in response.json()]
            except requests.RequestException as exc:
                row["status"] = f"error: {type(exc).__name__}"
            out.append(row)
            time.sleep(every)


# ------------------------------------------------------------------------------------------------ backstops
def run_backstops(stale_after_s: int) -> dict:
    """The beat jobs that pick up work whose message was lost, asked with a shorter wait than beat's."""
    from catalog.photos.tasks import photos_requeue_stale
    from integrations.inbox import inbound_events_process_pending
    from integrations.sync.polling import listings_poll_reviews
    from integrations.sync.services import listings_release_deferred

    return {
        "photos_requeued": photos_requeue_stale(stale_after_s=stale_after_s),
        "listings_requeued": listings_release_deferred(lost_after_s=stale_after_s),
        "inbox_applied": inbound_events_process_pending(),
        "reviews_changed": listings_poll_reviews(),
    }


def check(uploads: list[dict], pushes: list[dict], mock_items: dict[str, list[dict]]) -> dict:
    from django.db.models import Count

    from catalog.photos.models import ProductPhoto
    from integrations.models import Listing

    accepted = [u for u in uploads if isinstance(u["status"], int) and 200 <= u["status"] < 300]
    photos = {p.pk: p for p in ProductPhoto.objects.filter(pk__in=[u["id"] for u in accepted])}
    not_stored = [u["seed"] for u in accepted if u["id"] not in photos]
    not_processed = {str(p.pk): p.status for p in photos.values() if p.status != "ready"}
    # An upload answered with an error but stored anyway: the client, told it failed, would send it again.
    refused = [u for u in uploads if u not in accepted]
    stored_anyway = ProductPhoto.objects.filter(sha256__in=[u["sha256"] for u in refused]).count()
    duplicate_photos = (
        ProductPhoto.objects.values("product_id", "sha256").annotate(n=Count("pk")).filter(n__gt=1).count()
    )

    asked = {pk for p in pushes if isinstance(p["status"], int) and p["status"] < 300 for pk in p["listings"]}
    listings = list(Listing.objects.filter(pk__in=asked))
    unsettled = {str(x.pk): x.state for x in listings if x.state not in SETTLED}
    silent = {str(x.pk): x.state for x in listings if x.state not in ("live",) and x.state in SETTLED and
              not x.last_error}  # fmt: skip
    duplicate_listings = Listing.objects.values("sku_id", "channel").annotate(n=Count("pk")).filter(n__gt=1).count()
    duplicate_items = {
        channel: sum(n - 1 for n in Counter(i["sku"] for i in items).values() if n > 1)
        for channel, items in mock_items.items()
    }
    return {
        "uploads": len(uploads),
        "uploads_2xx": len(accepted),
        "uploads_refused": dict(Counter(str(u["status"]) for u in refused)),
        "uploads_not_stored": not_stored,
        "uploads_not_processed": not_processed,
        "uploads_refused_but_stored": stored_anyway,
        "duplicate_photos": duplicate_photos,
        "pushes": len(pushes),
        "pushes_accepted": sum(1 for p in pushes if isinstance(p["status"], int) and p["status"] < 300),
        "pushes_refused": dict(Counter(str(p["status"]) for p in pushes if p.get("listings") is None)),
        "listings": len(listings),
        "listing_states": dict(Counter(x.state for x in listings)),
        "listings_unsettled": unsettled,
        "listings_without_reason": silent,
        "duplicate_listings": duplicate_listings,
        "duplicate_items_on_mocks": duplicate_items,
    }


def met(result: dict) -> dict[str, bool]:
    return {
        "every 2xx upload stored and processed": not result["uploads_not_stored"]
        and not result["uploads_not_processed"],
        "every accepted listing live or with a visible reason": not result["listings_unsettled"]
        and not result["listings_without_reason"],
        "nothing duplicated": result["duplicate_photos"] == 0
        and result["duplicate_listings"] == 0
        and not any(result["duplicate_items_on_mocks"].values())
        and result["uploads_refused_but_stored"] == 0,
        "readyz 200 after every fault and at the end": all(f["ready_after_s"] is not None for f in result["faults"])
        and result["readyz_final"] == 200,
    }


# ------------------------------------------------------------------------------------------------ the run
def _mock_items(pm_url: str, vs_url: str) -> dict[str, list[dict]]:
    from tests.bench.bench_listings import _mock_items

    return {"postmart": _mock_items("postmart", pm_url), "voso": _mock_items("voso", vs_url)}


def _upload_products(count: int) -> list[int]:
    from catalog.services import product_create, sku_create
    from tests.factories import producer, product_set, unit
    from tests.integrations.marketplaces import SUOI_GIANG

    ids = []
    for n in range(count):
        maker = producer(legal_name=f"Hợp tác xã Chè Suối Giàng {n}", commune_as_captured=unit(*SUOI_GIANG))
        product = product_create(producer=maker, name=f"Chè Shan tuyết Suối Giàng lô {n}",
                                 product_set=product_set(4), origin_commune=unit(*SUOI_GIANG))  # fmt: skip
        sku_create(product=product, net_quantity=200, net_unit="g", weight_grams=250, length_cm=10, width_cm=8,
                   height_cm=15, price_vnd=180_000, stock=50)  # fmt: skip
        ids.append(product.pk)
    return ids


@contextmanager
def _environment(redis_url: str, work: Path, web: str):
    from tests.bench.bench_listings import _environment as bench_environment

    # A fresh media folder: the filler's photos are named by their (seeded) bytes, and a name already taken
    # would be given a suffix, which the listing content reads as the photo's digest.
    env = bench_environment(tempfile.mkdtemp(prefix="media-", dir=work))
    env.update({
        "DATABASE_URL": os.environ.get("PROVE_RECOVERY_DATABASE_URL",
                                       f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"),
        "CELERY_BROKER_URL": f"{redis_url}/0", "RATE_LIMIT_REDIS_URL": f"{redis_url}/0",
        "CACHE_URL": f"{redis_url}/1", "VAR_DIR": str(work), "WEBHOOK_BASE_URL": web, "PHOTO_EXPORT_BASE_URL": web,
        "CHANNEL_RATE_LIMITS": json.dumps({"postmart:shop": [50, 5], "postmart:write": [50, 5],
                                           "voso:token": [50, 5], "voso:migrate": [20, 2]}),
    })  # fmt: skip
    os.environ.update(env)
    yield env


def main() -> int:
    from tests.bench.bench_listings import _fill, _fresh_database, _process

    started = time.perf_counter()
    work = Path(os.environ.get("VAR_DIR") or tempfile.gettempdir()) / "prove-recovery"
    work.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="logs-", dir=work))
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    result: dict = {"faults": []}
    with ExitStack() as stack:
        broker = stack.enter_context(RedisServer(workdir=str(work)))
        env = stack.enter_context(_environment(broker.url, work, web))
        _fresh_database(env["DATABASE_URL"])
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        from marketplace.accounts.models import User
        from tests.integrations.marketplaces import lao_cai, mock_process, pm_connect, register_certificate, vs_connect

        print(f"Setting up {DB_NAME}, Redis on {broker.port} (logs in {logs})…", flush=True)
        for command in ("migrate", "load_admin_units", "load_catalog_reference", "load_channel_reference"):
            call_command(command, verbosity=0)
        from catalog.models import Product
        from catalog.ocop.models import OcopCertificate

        # Before the workers start: the ready product's photos are processed here, by the filler itself.
        template = _fill(LISTINGS)
        ready = list(Product.objects.filter(pk__gte=template.pk).order_by("pk").values_list("pk", flat=True))
        targets = _upload_products(4)
        pm_url = stack.enter_context(mock_process("integrations.mocks.postmart"))
        vs_url = stack.enter_context(mock_process("integrations.mocks.voso"))
        gunicorn = [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application", "-b", f"127.0.0.1:{port}",
                    "-w", "2", "--timeout", "90"]  # fmt: skip
        stack.enter_context(_process(gunicorn, env, logs / "web.log", url=f"{web}/healthz"))
        queues = {"images": "images", "channels": "celery,channel.postmart,channel.voso"}
        for name, queue in queues.items():
            worker = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", queue, "--concurrency",
                      "2", "--prefetch-multiplier", "1", "--without-heartbeat", "--without-gossip", "--without-mingle",
                      "--loglevel", "INFO", "--hostname", f"recovery-{name}@%h"]  # fmt: skip
            stack.enter_context(_process(worker, env, logs / f"worker-{name}.log", ready="ready"))

        for pk in ready:
            register_certificate(pm_url, vs_url, OcopCertificate.objects.get(product_id=pk))
        from integrations.adapters.postmart.adapter import PostmartAdapter
        from integrations.sync.sessions import session_for

        pm = pm_connect(pm_url, area=lao_cai())
        PostmartAdapter().configure_push(session_for(pm), f"{web}/webhooks/postmart/")
        vs_connect(vs_url, area=lao_cai(), webhook_url=f"{web}/webhooks/voso/")
        for url in (pm_url, vs_url):
            requests.put(f"{url}/__admin/review-config", json={"delay_s": 0, "jitter_s": 0}, timeout=10)
        password = f"drill-{random.randrange(10**12)}"
        User.objects.create_superuser("drill", "drill@example.org", password)
        token = requests.post(f"{web}/api/v1/auth/token/", json={"username": "drill", "password": password},
                              timeout=30).json()["token"]  # fmt: skip
        setup_s = time.perf_counter() - started
        print(f"ready after {setup_s:.0f} s: {UPLOADS} uploads, {2 * len(ready)} listing pushes, faults every "
              f"{FAULT_EVERY_S:g} s", flush=True)  # fmt: skip

        # The load, in threads; the faults, from here, while it runs.
        uploads: list[dict] = []
        pushes: list[dict] = []
        stop = threading.Event()
        seeds = list(range(1, UPLOADS + 1))
        random.Random(8).shuffle(seeds)
        threads = [threading.Thread(target=_uploader, args=(web, token, targets, seeds[i::CLIENTS], uploads, stop))
                   for i in range(CLIENTS)]  # fmt: skip
        threads.append(threading.Thread(target=_pusher, args=(web, token, ready, pushes, stop, FAULT_EVERY_S / 3)))
        t0 = time.perf_counter()
        for thread in threads:
            thread.start()
        drill = [
            ("redis SIGTERM + start", lambda: broker.restart(signal.SIGTERM, down_s=2)),
            ("postgres connections terminated", lambda: terminate_connections(env["DATABASE_URL"], DB_NAME)),
            ("redis SIGKILL + start", lambda: broker.restart(signal.SIGKILL, down_s=2)),
            ("postgres connections terminated", lambda: terminate_connections(env["DATABASE_URL"], DB_NAME)),
        ]
        for name, fault in drill:
            time.sleep(FAULT_EVERY_S)
            at = time.perf_counter() - t0
            detail = fault()
            result["faults"].append({"fault": name, "at_s": round(at, 1), "detail": detail,
                                     "ready_after_s": ready_after(web)})  # fmt: skip
            print(f"  {at:5.1f} s {name}: readyz 200 after {result['faults'][-1]['ready_after_s']} s", flush=True)
        for thread in threads:
            thread.join(timeout=max(10.0, BOUND_S - (time.perf_counter() - started) - 240))
        stop.set()
        load_s = time.perf_counter() - t0

        # Recovery: what was lost with the broker is found by the backstops; wait until everything settles.
        from django.db import close_old_connections

        from catalog.photos.models import ProductPhoto
        from integrations.models import Listing

        t1 = time.perf_counter()
        accepted_photos = [u["id"] for u in uploads if u.get("id")]
        asked = [pk for p in pushes for pk in p.get("listings") or []]
        rounds = []
        deadline = time.monotonic() + max(60.0, BOUND_S - (time.perf_counter() - started) - 30)
        while time.monotonic() < deadline:
            # What Celery does before each task (this process runs the backstops as beat's tasks would): a
            # connection the drill terminated is noticed by its health check and replaced.
            close_old_connections()
            processing = ProductPhoto.objects.filter(pk__in=accepted_photos, status="processing").count()
            moving = Listing.objects.filter(pk__in=asked).exclude(state__in=SETTLED).count()
            if not processing and not moving:
                break
            rounds.append(run_backstops(stale_after_s=20))
            time.sleep(5)
        recover_s = time.perf_counter() - t1
        close_old_connections()
        result["backstop_rounds"] = rounds
        result.update(check(uploads, pushes, _mock_items(pm_url, vs_url)))
        try:
            result["readyz_final"] = requests.get(f"{web}/readyz", timeout=10).status_code
        except requests.RequestException:
            result["readyz_final"] = None

    result["timing"] = {"total_s": time.perf_counter() - started, "setup_s": setup_s, "load_s": load_s,
                        "recover_s": recover_s}  # fmt: skip
    result["met"] = met(result)
    result["ok"] = all(result["met"].values()) and result["timing"]["total_s"] <= BOUND_S
    out = Path(os.environ.get("PROVE_OUT", ROOT / "var" / "prove"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "recovery.json").write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False))
    print()
    print(_summary(result))
    print(f"\nJSON: {out / 'recovery.json'}; logs: {logs}")
    return 0 if result["ok"] else 1


def _summary(result: dict) -> str:
    lines = ["## Recovery drill: Redis restarted, PostgreSQL connections dropped, under load", "",
             "| at | fault | detail | readyz 200 after |", "|---:|---|---|---:|"]  # fmt: skip
    for f in result["faults"]:
        after = f"{f['ready_after_s']:.1f} s" if f["ready_after_s"] is not None else "never"
        lines.append(f"| {f['at_s']} s | {f['fault']} | {f['detail'] if f['detail'] is not None else ''} | {after} |")
    lines += ["", "| target | result | met |", "|---|---|:-:|"]
    r = result
    values = {
        "every 2xx upload stored and processed": f"{r['uploads_2xx']}/{r['uploads']} uploads 2xx (refused: "
        f"{r['uploads_refused']}); {len(r['uploads_not_stored'])} not stored, {len(r['uploads_not_processed'])} "
        "not processed",
        "every accepted listing live or with a visible reason": f"{r['pushes_accepted']}/{r['pushes']} pushes "
        f"accepted; {r['listing_states']}; {len(r['listings_unsettled'])} unsettled, "
        f"{len(r['listings_without_reason'])} without a reason",
        "nothing duplicated": f"photos {r['duplicate_photos']}, listings {r['duplicate_listings']}, items on the mocks "
        f"{r['duplicate_items_on_mocks']}, uploads refused but stored {r['uploads_refused_but_stored']}",
        "readyz 200 after every fault and at the end": f"final {r['readyz_final']}",
    }
    for target, ok in r["met"].items():
        lines.append(f"| {target} | {values[target]} | {'✓' if ok else '✗'} |")
    t = r["timing"]
    lines.append(f"| within {BOUND_S // 60} minutes | {t['total_s']:.0f} s (setup {t['setup_s']:.0f} s, load "
                 f"{t['load_s']:.0f} s, recovery {t['recover_s']:.0f} s, {len(r['backstop_rounds'])} backstop rounds) "
                 f"| {'✓' if t['total_s'] <= BOUND_S else '✗'} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
