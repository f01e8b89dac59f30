"""Fault run (issue 8): push listings to both mock marketplaces at once through faults, kill a worker, and check
that what we hold is what the marketplaces hold.

    python -m tests.prove.faults_listings      # needs PostgreSQL and Redis; PROVE_LISTINGS=200 for a quicker look

Everything is real and started here, as in tests/bench/bench_listings.py (whose helpers it reuses): a fresh
PostgreSQL database, both mocks as their own processes, gunicorn (Voso fetches our photo exports from it), and
several Celery worker processes on the channel queues with the Redis token buckets. Half the listings go to each
mock. On each mock's catalogue and media calls:

* 20% answer 5xx without executing; 5% hold the connection past our client timeout (half of them commit the
  write first); 5% commit the write and then answer 502;
* three bursts of consecutive 429s with Retry-After;
* the access token expires twice mid-batch (Postmart refreshes, Voso logs in again).

And mid-run, one pool process of one worker is SIGKILLed (its parent sees it die: with acks_late and
task_reject_on_worker_lost the message goes straight back to the queue), then the main process of another worker
is SIGKILLed with its pool (nobody is left to reject: Redis hands its unacknowledged messages back after the
visibility timeout, shortened for this run) and a replacement worker is started.

Then our listings are compared with the mocks' own state (their admin API). Targets: every listing settled
(none left queued or being sent), the same item bound as the mock holds for its SKU and in the state the mock
gives, 0 duplicates (one SKU twice on a mock), 0 unknown items (on a mock, bound to nothing), 0 lost (no item
and no visible failure), every listing that was not sent showing its reason, and the kills actually
redelivered work. Exit status 0 only if every target is met. The summary is printed as Markdown and written as
JSON to $PROVE_OUT/faults_listings.json (default var/prove/).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.bench import bench_listings as bench

ROOT = Path(__file__).resolve().parents[2]
TOTAL = int(os.environ.get("PROVE_LISTINGS", "2000"))  # across both mocks
PER_MOCK = max(2, TOTAL // 2)
DB_NAME = os.environ.get("PROVE_DB", "ocop_h_faults1")
DATABASE_URL = os.environ.get("PROVE_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
REDIS = os.environ.get("PROVE_REDIS_URL", "redis://127.0.0.1:6379/2")
OUT = Path(os.environ.get("PROVE_OUT", ROOT / "var" / "prove"))
WORKERS = int(os.environ.get("PROVE_WORKERS", "3"))
CONCURRENCY = int(os.environ.get("PROVE_CONCURRENCY", "6"))
# Redis gives a dead worker's unacknowledged messages back after this long (production: 3600 s). It must stay
# above the longest countdown a live worker holds plus a run: see CELERY_BROKER_TRANSPORT_OPTIONS.
VISIBILITY_S = int(os.environ.get("PROVE_VISIBILITY_S", "120"))
BUDGET_S = float(os.environ.get("PROVE_BUDGET_S", "780"))  # the run itself; setup comes on top
REUSE = os.environ.get("PROVE_REUSE_DB") == "1"
KILLS = os.environ.get("PROVE_KILLS", "child,main").split(",")
HOLD_S = 17  # past our client's read timeout (marketplace/core/http.py: 15 s)
CHANNELS = ("postmart", "voso")
SETTLED = ("pending_review", "live", "rejected", "failed", "locked", "unlisted", "taken_down", "delisted")
STATUS_FIELD = {"postmart": ("items", "item_id", "item_sku", "item_status"),
                "voso": ("products", "productId", "sellerSku", "status")}  # fmt: skip


def _fault_rules(channel: str) -> list[dict]:
    """The fault mix of the issue, in the order the mock checks them (the first rule that fires wins)."""
    path = bench.FAULTS[channel]
    expected = PER_MOCK * bench.CALLS_PER_LISTING[channel]
    burst = max(3, min(25, expected // 40))
    rules = [
        # Bursts first: a rate_limit rule with `after` counts every matching call, so each burst lands at a
        # known point of the batch (a quarter, half and three quarters in) and lasts `burst` calls in a row.
        *(
            {
                "match": {"path": path, "after": expected * k // 4, "times": burst},
                "action": {"type": "rate_limit", "retry_after": 2},
            }
            for k in (1, 2, 3)
        ),
        # 20% 5xx that do not execute.
        {"match": {"path": path, "probability": 0.10}, "action": {"type": "http_error", "status": 503}},
        {"match": {"path": path, "probability": 0.10 / 0.90}, "action": {"type": "http_error", "status": 500}},
        # 5% held past our timeout, half of them after committing the write; of what is left each time.
        {
            "match": {"path": path, "probability": 0.025 / 0.80},
            "action": {"type": "timeout", "hold_s": HOLD_S, "commit": False},
        },
        {
            "match": {"path": path, "probability": 0.025 / 0.775},
            "action": {"type": "timeout", "hold_s": HOLD_S, "commit": True},
        },
        # 5% commit and then answer 502.
        {"match": {"path": path, "probability": 0.05 / 0.75}, "action": {"type": "commit_then_error", "status": 502}},
    ]
    # The token expires twice mid-batch: looked up by the mock's own auth check, apart from the rules above.
    rules += [{"match": {"path": path, "after": expected * k // 5, "times": 1}, "action": {"type": "expire_token"}}
              for k in (1, 3)]  # fmt: skip
    return rules


def _environment(media: str) -> dict:
    return {
        **bench._environment(media),
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": REDIS,
        "RATE_LIMIT_REDIS_URL": REDIS,
        "VAR_DIR": os.environ.get("VAR_DIR", str(Path(tempfile.gettempdir()) / "var-faults1")),
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_S),
        # Sweep for abandoned messages every 2 s (production: every 10 × 10 s), so they come back on time.
        "CELERY_UNACKED_RESTORE_INTERVAL": "2",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        "LOG_LEVEL": "WARNING",
    }


def _reusable(media: str) -> bool:
    """PROVE_REUSE_DB=1 (the quick test): keep the database of an earlier run of the same size, whose products
    are ready already, as pytest's --reuse-db does; its listings and connections are dropped (_reset)."""
    import psycopg

    if not REUSE or not any(Path(media).glob("*")):  # its photos are gone: make everything again
        return False
    try:
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            products = conn.execute("SELECT count(*) FROM catalog_product").fetchone()[0]
            scopes = conn.execute("SELECT count(*) FROM places_namedscope WHERE slug = 'prove-lao-cai'").fetchone()[0]
    except psycopg.Error:  # no such database, or not migrated
        return False
    return products == PER_MOCK and scopes == 1


def _reset() -> None:
    from integrations.models import BulkPush, ChannelConnection, Listing, RemoteImage

    Listing.objects.all().delete()  # with their attempts and events
    BulkPush.objects.all().delete()
    RemoteImage.objects.all().delete()
    ChannelConnection.objects.all().delete()


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (Celery's pool), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


_spawned: list[subprocess.Popen] = []


def _stop_all() -> None:
    """Ask every process started here to stop at once; _spawn's exits then wait for each (or kill it)."""
    for process in _spawned:
        if process.poll() is None:
            process.terminate()


@contextmanager
def _spawn(command: list[str], env: dict, log: Path):
    """Start a process without waiting for it (see _ready); stopped at the end whatever happens."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    _spawned.append(process)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _ready(process: subprocess.Popen, log: Path, marker: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while marker not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{process.args[:4]} not ready: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)


def _answers(url: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:  # not listening yet, or still loading the application
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Workers:
    """Celery worker processes on both channel queues; each one's Popen kept so that it can be killed."""

    def __init__(self, stack: ExitStack, env: dict, logs: Path):
        self.stack, self.env, self.logs, self.processes = stack, env, logs, []

    def start(self, *, wait: bool = True) -> subprocess.Popen:
        index = len(self.processes)
        command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "-Q", "channel.postmart,channel.voso",
                   "--concurrency", str(CONCURRENCY), "--prefetch-multiplier", "1", "-O", "fair",
                   "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
                   "--hostname", f"faults{index}@%h"]  # fmt: skip
        process = self.stack.enter_context(_spawn(command, self.env, self.log(index)))
        self.processes.append(process)
        if wait:
            _ready(process, self.log(index), " ready.")
        return process

    def log(self, index: int) -> Path:
        return self.logs / f"worker-{index}.log"

    def wait_all(self) -> None:
        for index, process in enumerate(self.processes):
            _ready(process, self.log(index), " ready.")

    def kill_child(self, index: int) -> dict:
        """SIGKILL one pool process of worker `index` that is running a task (its parent stays up)."""
        from integrations.models import Listing

        parent = self.processes[index].pid
        pool = _children(parent)
        # Lease owners name the process that pushes (engine._lease): pick one that is in the middle of a push.
        busy = [p for p in pool if Listing.objects.filter(lease_owner__contains=f":{p}:").exists()]
        victim = (busy or pool)[0]
        os.kill(victim, signal.SIGKILL)
        return {"kind": "pool process", "worker": index, "pid": victim, "mid_push": bool(busy), "at": time.time()}

    def kill_main(self, index: int) -> dict:
        """SIGKILL the main process of worker `index`; its pool dies with it (Celery sets PDEATHSIG)."""
        process = self.processes[index]
        pool = _children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pool) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [p for p in pool if _alive(p)]
        for pid in survivors:  # ours, by pid: never leave a pool process behind
            os.kill(pid, signal.SIGKILL)
        return {"kind": "main process", "worker": index, "pid": process.pid, "pool": pool,
                "pool_survived": survivors, "at": time.time()}  # fmt: skip


def _broker_pending() -> int:
    """Messages still queued or taken but not acknowledged (a dead worker's, until the visibility timeout)."""
    import redis

    client = redis.Redis.from_url(REDIS)
    return sum(client.llen(q) for q in ("channel.postmart", "channel.voso")) + client.hlen("unacked")


def _mock_state(channel: str, url: str) -> list[dict]:
    from tests.integrations.marketplaces import admin

    key, id_field, sku_field, status_field = STATUS_FIELD[channel]
    return [
        {"id": str(row[id_field]), "sku": row[sku_field], "status": row[status_field]}
        for row in admin(url, "GET", "/state")[key]
    ]


def _compare(channel: str, items: list[dict]) -> dict:
    """Our listings of one channel against the mock's items."""
    from integrations.adapters.postmart.consts import STATUS_TO_STATE as PM
    from integrations.adapters.voso.consts import STATUS_TO_STATE as VS
    from integrations.models import Listing

    to_state = {"postmart": PM, "voso": VS}[channel]
    live_items = [i for i in items if to_state.get(i["status"]) != "delisted"]
    skus = Counter(i["sku"] for i in live_items)
    by_sku = {i["sku"]: i for i in live_items}
    listings = list(
        Listing.objects.filter(channel=channel).values(
            "id", "seller_sku", "external_id", "state", "remote_status", "last_error", "reasons"
        )
    )
    bound = {row["external_id"] for row in listings if row["external_id"]}
    problems = {"unsettled": [], "lost": [], "mismatched": [], "state_differs": [], "no_reason": []}
    for row in listings:
        item = by_sku.get(row["seller_sku"])
        tag = f"{row['id']} ({row['seller_sku']}, {row['state']})"
        if row["state"] not in SETTLED:
            problems["unsettled"].append(tag)
        if item is None:
            if row["external_id"] or row["state"] != "failed":
                problems["lost"].append(tag)  # sent as far as we know, yet not on the mock; or silently unsent
            elif not (row["last_error"] and row["reasons"]):
                problems["no_reason"].append(tag)
        elif row["external_id"] != item["id"]:
            problems["mismatched"].append(f"{tag}: ours {row['external_id'] or '-'}, mock {item['id']}")
        elif to_state.get(item["status"]) != row["state"] or row["remote_status"] != item["status"]:
            problems["state_differs"].append(f"{tag}: mock {item['status']}, ours {row['remote_status']}")
    return {
        "listings": len(listings),
        "states": dict(Counter(row["state"] for row in listings)),
        "failed_reasons": dict(Counter(r["last_error"].split(":")[0] for r in listings if r["state"] == "failed")),
        "mock_items": len(live_items),
        "duplicates": sum(n - 1 for n in skus.values() if n > 1),
        "unknown_items": sorted(i["id"] for i in live_items if i["id"] not in bound),
        **problems,
    }


def _injected(url: str) -> dict:
    """What the mock's fault rules did, by action (a timeout that committed counted apart)."""
    from tests.integrations.marketplaces import admin

    fired = Counter()
    for rule in admin(url, "GET", "/faults")["faults"]:
        action = rule["action"]
        kind = action["type"] + ("+commit" if action.get("commit") else "")
        kind += f" {action['status']}" if action["type"] == "http_error" else ""
        fired[kind] += rule["fired"]
    return dict(fired)


def _calls(channel: str) -> dict:
    from django.db.models import Count, Q

    from integrations.models import ListingAttempt

    rows = (
        ListingAttempt.objects.filter(connection__channel=channel)
        .values_list("ok", "error_code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    failed = {code or "?": n for ok, code, n in rows if not ok}
    unexplained = ListingAttempt.objects.filter(connection__channel=channel, ok=False)
    unexplained = unexplained.filter(Q(error_code="") | Q(error_message="")).count()
    return {
        "ok": sum(n for ok, _, n in rows if ok),
        "failed": sum(failed.values()),
        "failed_by_kind": failed,
        "failed_without_reason": unexplained,
    }


def _redeliveries(logs: Path) -> dict:
    """What the workers' logs say: tasks handed back and run again, and pool processes lost."""
    text = "\n".join(path.read_text(errors="replace") for path in sorted(logs.glob("worker-*.log")))
    return {
        "redelivered_runs": text.count(" redelivered"),
        "worker_lost_errors": text.count("Task handler raised error: WorkerLostError"),
    }


def run() -> dict:
    # A stable folder: a reused database's photos are still there.
    var = Path(os.environ.get("VAR_DIR", str(Path(tempfile.gettempdir()) / "var-faults1")))
    media = str(var / f"prove-media-{DB_NAME}")
    logs = Path(tempfile.mkdtemp(prefix="prove-faults-logs-"))
    env = _environment(media)
    os.environ.update(env)
    reused = _reusable(media)
    if not reused:
        bench._fresh_database(DATABASE_URL)
        # The photos are made again with the same bytes: left over, their content-addressed names would clash.
        shutil.rmtree(media, ignore_errors=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from integrations.models import ChannelConnection, Listing
    from integrations.sync.services import listings_bulk_push, listings_release_deferred
    from marketplace.places.models import NamedScope
    from tests.integrations.marketplaces import admin, free_port, lao_cai, mock_process, pm_connect, vs_connect

    started_setup = time.perf_counter()
    print(f"Setting up {PER_MOCK} ready products in {DB_NAME} (reused: {reused}; logs in {logs})…", flush=True)
    if reused:
        _reset()
    else:
        for command in ("migrate", "load_admin_units", "load_catalog_reference", "load_channel_reference"):
            call_command(command, verbosity=0)
    redis.Redis.from_url(REDIS).flushdb()  # our own database number: queues and token buckets of this run

    port = free_port()
    web = [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2"]
    kills, sweeps, results = [], [], {}
    with ExitStack() as stack:
        # Everything starts while the products are made: the workers only need the schema.
        server = stack.enter_context(_spawn(web, env, logs / "web.log"))
        workers = Workers(stack, {**env, "PHOTO_EXPORT_BASE_URL": f"http://127.0.0.1:{port}"}, logs)
        for _ in range(WORKERS):
            workers.start(wait=False)
        urls = {}
        for channel in CHANNELS:
            urls[channel] = stack.enter_context(mock_process(f"integrations.mocks.{channel}"))
            (pm_connect if channel == "postmart" else vs_connect)(urls[channel], area=lao_cai())
            bench._prepare_mock(channel, urls[channel], faults=False)  # limits, quota lifted, review held
            for rule in _fault_rules(channel):
                admin(urls[channel], "POST", "/faults", **rule)
        generations = {c.channel: c.token_generation for c in ChannelConnection.objects.all()}
        if not reused:
            bench._fill(PER_MOCK)
            NamedScope.objects.create(slug="prove-lao-cai", name="Lào Cai", is_shared=True).units.set([lao_cai()])
        scope = NamedScope.objects.get(slug="prove-lao-cai")
        print(f"  products ready after {time.perf_counter() - started_setup:.1f} s", flush=True)
        _ready(server, logs / "web.log", "Booting worker")
        _answers(f"http://127.0.0.1:{port}/healthz")
        workers.wait_all()
        setup_s = time.perf_counter() - started_setup
        print(f"  mocks, web server and workers up after {setup_s:.1f} s; pushing", flush=True)

        started = time.perf_counter()
        bulks = [listings_bulk_push(scope=scope, channel=channel) for channel in CHANNELS]
        total = Listing.objects.filter(bulk__in=bulks).count()
        plan = {kind: share for kind, share in {"child": 0.2, "main": 0.35}.items() if kind in KILLS}
        deadline = started + BUDGET_S
        settled_at = None
        quiet = 0
        while time.perf_counter() < deadline:
            settled = Listing.objects.filter(bulk__in=bulks, state__in=SETTLED).count()
            pending = _broker_pending()
            quiet = quiet + 1 if settled < total and not pending else 0
            if quiet >= 4:
                # Nothing queued, running or waiting to be retried, yet listings are unsettled: the broker lost
                # their message (a worker SIGKILLed between Redis' BRPOP and its unacked bookkeeping). Do what
                # beat does every 5 minutes in production, on a shorter fuse since the queue is known empty.
                sweeps.append({"at_s": round(time.perf_counter() - started, 1),
                               "requeued": listings_release_deferred(lost_after_s=1)})  # fmt: skip
                print(f"sweep {sweeps[-1]}", flush=True)
                quiet = 0
            for kind in [k for k in KILLS if k in plan and settled >= plan[k] * total]:
                del plan[kind]
                if kind == "child":
                    kills.append(workers.kill_child(0))
                else:
                    kills.append(workers.kill_main(min(1, WORKERS - 1)))
                    workers.start()  # the replacement, as a supervisor would
                kills[-1]["settled"] = settled
                print(f"killed {kills[-1]}", flush=True)
            if settled == total and not plan:
                settled_at = settled_at or time.perf_counter()
                # Wait until the broker holds nothing more (a dead worker's messages come back after the
                # visibility timeout and must find nothing left to do), so every redelivery is counted.
                if not pending:
                    break
            time.sleep(0.5)
        wall = (settled_at or time.perf_counter()) - started
        drained = time.perf_counter() - started
        for channel in CHANNELS:
            items = _mock_state(channel, urls[channel])
            renewals = ChannelConnection.objects.get(channel=channel).token_generation - generations[channel]
            results[channel] = {
                **_compare(channel, items),
                "calls": _calls(channel),
                "injected": _injected(urls[channel]),
                "token_renewals": renewals,
            }
        pending = _broker_pending()
        _stop_all()
    return {
        "listings": total,
        "per_mock": PER_MOCK,
        "setup_s": round(setup_s, 1),
        "wall_s": round(wall, 1),
        "drained_s": round(drained, 1),
        "settled_in_budget": settled_at is not None,
        "broker_pending_at_end": pending,
        "kills": kills,
        "lost_by_broker_swept": sweeps,
        **_redeliveries(logs),
        "channels": results,
        "logs": str(logs),
        "workers": WORKERS,
        "concurrency": CONCURRENCY,
        "visibility_timeout_s": VISIBILITY_S,
    }


def targets(report: dict) -> dict[str, bool]:
    """Every target of the issue, by name: True when met."""
    channels = report["channels"].values()
    problems = ("unsettled", "lost", "mismatched", "state_differs", "no_reason", "unknown_items")
    checks = {
        "settled within the budget": report["settled_in_budget"],
        "0 duplicates": sum(c["duplicates"] for c in channels) == 0,
        **{f"0 {name.replace('_', ' ')}": sum(len(c[name]) for c in channels) == 0 for name in problems},
        "no listing failed on an error of ours": not any(c["failed_reasons"].get("internal_error") for c in channels),
        "every failed call recorded with its reason": sum(c["calls"]["failed_without_reason"] for c in channels) == 0,
        "every planned kill happened": len(report["kills"]) == len([k for k in KILLS if k]),
        "killed work redelivered": report["redelivered_runs"] > 0 or not report["kills"],
    }
    return checks


def summary(report: dict) -> str:
    lines = [
        f"## Fault run: {report['listings']} listings ({report['per_mock']} per mock), "
        f"{report['workers']} workers × {report['concurrency']}",
        "",
        "| mock | listings | states | on the mock | calls ok | calls failed (by kind) | duplicates | lost | "
        "unsettled | mismatched | no reason |",
        "|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for channel, c in report["channels"].items():
        states = ", ".join(f"{k} {v}" for k, v in sorted(c["states"].items()))
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(c["calls"]["failed_by_kind"].items(), key=lambda kv: -kv[1]))
        lines.append(
            f"| {channel} | {c['listings']} | {states} | {c['mock_items']} | {c['calls']['ok']} | "
            f"{c['calls']['failed']} ({kinds}) | {c['duplicates']} | {len(c['lost'])} | {len(c['unsettled'])} | "
            f"{len(c['mismatched']) + len(c['state_differs'])} | {len(c['no_reason'])} |"
        )
    for channel, c in report["channels"].items():
        injected = ", ".join(f"{k} {v}" for k, v in sorted(c["injected"].items()))
        lines.append(f"\n{channel}: injected {injected}; token renewals {c['token_renewals']}.")
    kills = "; ".join(f"{k['kind']} of worker {k['worker']} (pid {k['pid']}) at {k['settled']} settled"
                      for k in report["kills"]) or "none"  # fmt: skip
    lines += [
        "",
        f"Kills: {kills}. Redelivered task runs: {report['redelivered_runs']}; "
        f"WorkerLostError: {report['worker_lost_errors']}. Listings whose message the broker lost, queued "
        f"again by the beat sweep: {sum(s['requeued'] for s in report['lost_by_broker_swept'])}.",
        f"Wall: {report['wall_s']} s to settle every listing, {report['drained_s']} s until the broker was empty "
        f"(setup {report['setup_s']} s; visibility timeout {report['visibility_timeout_s']} s).",
        "",
        "| target | met |",
        "|---|---|",
        *(f"| {name} | {'yes' if ok else '**no**'} |" for name, ok in report["targets"].items()),
    ]
    return "\n".join(lines)


def main() -> int:
    # Stopped from outside (timeout, make), still stop every process started here: the exits of run() do it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = run()
    report["targets"] = targets(report)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "faults_listings.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(summary(report), flush=True)
    for channel, c in report["channels"].items():
        for name in ("unsettled", "lost", "mismatched", "state_differs", "no_reason", "unknown_items"):
            for line in c[name][:10]:
                print(f"{channel} {name}: {line}")
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
