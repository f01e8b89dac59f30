"""Proof: order events with faults (issue 8). Run `python -m tests.prove.faults_orders` (exit 0 only if every
target is met); `PROVE_ORDER_EVENTS` (default 10,000) sets the size, `PROVE_OUT` where the JSON goes.

Everything is real and started here: a fresh PostgreSQL database (`ocop_h_orders`), both mock marketplaces as
their own processes, gunicorn serving our webhooks, Celery workers applying the inbox, and Redis as the broker.
Products are made ready and pushed through the service until their listings are live on both mocks; then
buyers on both mocks create orders and move them on (paid, shipped, delivered or completed, cancelled,
returned): every creation and every status change is one order event. The mocks deliver them with their own
webhook faults: 10% duplicated (3 copies), 10% reordered (held back so later news overtakes them), 5% dropped
(never delivered: found by our backstops, Postmart's lost-push store and Voso's change feed and failed-deliveries
list, run here as beat runs them). Another 5% of the events are forgeries we post ourselves to our webhook
endpoints (wrong key, no signature, tampered body, stale replay): each must get a 4xx and leave nothing stored.

Then the service's count (completed quantities and amounts per product, from its order lines, and the listing
metrics of sales/selectors.py) is compared with the mocks' ground truth, order by order and product by product.
Targets: equal per product; 0 orders counted twice (no extra order, line or repeated status); 0 forgeries
accepted; the reconciliation afterwards finds no gap; all within 15 minutes.

The generator, the forger and the comparison are also what the quick variant in `make test` drives
(tests/prove/test_faults_orders.py) with a few hundred events.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
EVENTS = int(os.environ.get("PROVE_ORDER_EVENTS", "10000"))
PRODUCTS = int(os.environ.get("PROVE_ORDER_PRODUCTS", "4"))
# Events per second and mock: about what a mock delivers to us on two shared cores (it sends one at a time).
RATE = float(os.environ.get("PROVE_ORDER_RATE", "12"))
DB_NAME = "ocop_h_orders"
REDIS = os.environ.get("PROVE_ORDERS_REDIS_URL", "redis://127.0.0.1:6379/4")
BOUND_S = 15 * 60
SEED = int(os.environ.get("PROVE_SEED", "8"))

# Shares of the events (marketplaces.md §4 webhook-side actions); forged ones come on top of the real ones
# so that together they are the whole count.
DUPLICATE, REORDER, DROP, FORGED = 0.10, 0.10, 0.05, 0.05
COPIES, HOLD_MS = 3, 3000

# What the mocks' final statuses mean for sales, written out here (not taken from the service's tables): a
# Postmart order waiting for the buyer's confirmation has been delivered, as a Voso `delivered` one.
SOLD = {"postmart": {"TO_CONFIRM_RECEIVE", "COMPLETED"}, "voso": {"delivered"}}
NOT_SALES = {"postmart": {"CANCELLED", "TO_RETURN", "IN_CANCEL"}, "voso": {"canceled", "returned"}}
EXPECTED = {  # the mock's final status → the service's
    "postmart": {"UNPAID": "placed", "READY_TO_SHIP": "confirmed", "PROCESSED": "confirmed", "SHIPPED": "shipped",
                 "TO_CONFIRM_RECEIVE": "delivered", "COMPLETED": "completed", "IN_CANCEL": None,
                 "CANCELLED": "cancelled", "TO_RETURN": "returned"},
    "voso": {"unpaid": "placed", "pending": "confirmed", "ready_to_ship": "confirmed", "shipped": "shipped",
             "delivered": "delivered", "canceled": "cancelled", "failed_delivery": "shipped", "returned": "returned"},
}  # fmt: skip

# The journeys a buyer's order takes (each step is one event after the creation).
JOURNEYS = {
    "postmart": [
        (0.55, "COD", ["PROCESSED", "SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED"]),
        (0.15, "Bank Transfer", ["READY_TO_SHIP", "PROCESSED", "SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED"]),
        (0.12, "Bank Transfer", ["IN_CANCEL", "CANCELLED"]),
        (0.10, "COD", ["PROCESSED", "SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED", "TO_RETURN"]),
        (0.08, "COD", ["PROCESSED", "SHIPPED"]),  # still on its way when the run ends
    ],
    "voso": [
        (0.55, "COD", ["ready_to_ship", "shipped", "delivered"]),
        (0.12, "COD", ["canceled"]),
        (0.10, "COD", ["ready_to_ship", "shipped", "delivered", "returned"]),
        (0.08, "COD", ["ready_to_ship", "shipped", "failed_delivery", "returned"]),
        (0.15, "VIETTELPAY", ["pending", "ready_to_ship", "shipped", "delivered"]),
    ],
}


# ------------------------------------------------------------------------------------------------ mocks
def _admin(url: str, method: str, path: str, session: requests.Session | None = None, **body) -> dict:
    response = (session or requests).request(method, f"{url}/__admin{path}", json=body or None, timeout=30)
    response.raise_for_status()
    return response.json() if response.content else {}


def inject_faults(pm_url: str, vs_url: str) -> None:
    """The webhook-side faults on order news. Rules are tried in order and each draws on its own, so the later
    ones are scaled to give 10% / 10% / 5% of all events."""
    actions = [
        ("dup", DUPLICATE, {"type": "duplicate", "copies": COPIES, "spacing_ms": 150}),
        ("late", REORDER / (1 - DUPLICATE), {"type": "reorder", "hold_ms": HOLD_MS}),
        ("drop", DROP / (1 - DUPLICATE - REORDER), {"type": "drop"}),
    ]
    for url, types in ((pm_url, [3]), (vs_url, ["order.created", "order.status_updated"])):
        for event_type in types:
            for name, probability, action in actions:
                _admin(url, "POST", "/faults", id=f"{name}-{event_type}", action=action,
                       match={"event_type": event_type, "probability": probability})  # fmt: skip


def clear_faults(pm_url: str, vs_url: str) -> None:
    for url in (pm_url, vs_url):
        requests.delete(f"{url}/__admin/faults", timeout=10).raise_for_status()


def faults_fired(url: str) -> dict[str, int]:
    fired: Counter = Counter()
    for rule in _admin(url, "GET", "/faults")["faults"]:
        fired[rule["action"]["type"]] += rule["fired"]
    return dict(fired)


@dataclass
class Generated:
    events: dict[str, int] = field(default_factory=lambda: {"postmart": 0, "voso": 0})
    orders: dict[str, list[str]] = field(default_factory=lambda: {"postmart": [], "voso": []})
    forged: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def generate(*, pm_url: str, vs_url: str, pm_shop: int, pm_items: list[str], vs_externals: list[str], events: int,
             forge_one=None, forged_share: float = FORGED, seed: int = SEED, active: int = 40,
             out: Generated | None = None, rate: float | None = None) -> Generated:  # fmt: skip
    """Buyers on both mocks: `events` events in all, of which `forged_share` are forgeries sent by `forge_one(n)`
    in between the real ones. Each mock has its buyers in a thread of its own (each mock serves one request at a
    time while it also delivers). Orders are moved on a step at a time, `active` of them at once per mock, so
    that a held-back event is usually overtaken by the next one of its order. `rate` (events per second and
    mock) keeps the buyers near what the mocks deliver: far ahead of it, each Postmart push would be applied
    long after its order's last change (the detail re-read then brings that), and a dropped one would not matter."""
    out = out if out is not None else Generated()
    forged_total = round(events * forged_share) if forge_one else 0
    real_total = events - forged_total
    lock = threading.Lock()
    started = time.perf_counter()

    def forge(share: float, rng: random.Random) -> None:
        with lock:
            if len(out.forged) >= forged_total or rng.random() >= share:
                return
            n = len(out.forged)
            out.forged.append({"kind": "pending", "status": 0})
        out.forged[n] = forge_one(n)

    def buyers(channel: str, total: int, rng: random.Random) -> None:
        session = requests.Session()
        pending: list[tuple[str, list[str]]] = []  # (order id, steps left)
        sent = 0
        while sent < total:
            if rate:
                time.sleep(max(0.0, started + sent / rate - time.perf_counter()))
            if forge_one:
                forge(forged_total / events, rng)
            left = total - sent
            steps_queued = sum(len(p[1]) for p in pending)
            if pending and (len(pending) >= active or steps_queued >= left):
                index = rng.randrange(len(pending))
                number, steps = pending[index]
                url = pm_url if channel == "postmart" else vs_url
                _admin(url, "POST", f"/orders/{number}/transition", session, to=steps[0])
                if len(steps) == 1:
                    pending.pop(index)
                else:
                    pending[index] = (number, steps[1:])
            else:
                shares, payments, journeys = zip(*JOURNEYS[channel], strict=True)
                choice = rng.choices(range(len(shares)), weights=shares)[0]
                steps = journeys[choice][: max(0, left - 1 - steps_queued)]
                if channel == "postmart":
                    picked = rng.sample(pm_items, rng.randint(1, min(2, len(pm_items))))
                    lines = [{"item_id": int(item), "qty": rng.randint(1, 3)} for item in picked]
                    order = _admin(pm_url, "POST", "/orders", session, shop_id=pm_shop, lines=lines,
                                   payment_method=payments[choice])  # fmt: skip
                    number = order["order_sn"]
                else:
                    picked = rng.sample(vs_externals, rng.randint(1, min(2, len(vs_externals))))
                    items = [{"externalId": e, "quantity": rng.randint(1, 3)} for e in picked]
                    order = _admin(vs_url, "POST", "/orders", session, items=items, paymentMethod=payments[choice],
                                   buyer={"provinceCode": "15", "name": "Lò Thị Mai"})  # fmt: skip
                    number = order["orderId"]
                with lock:
                    out.orders[channel].append(number)
                if steps:
                    pending.append((number, list(steps)))
            sent += 1
            with lock:
                out.events[channel] += 1

    halves = {"postmart": real_total // 2, "voso": real_total - real_total // 2}
    threads = [
        threading.Thread(target=buyers, args=(channel, total, random.Random(f"{seed}-{channel}")))
        for channel, total in halves.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rng = random.Random(seed)
    while forge_one and len(out.forged) < forged_total:
        forge(1.0, rng)
    out.seconds = time.perf_counter() - started
    return out


def drained(pm_url: str, vs_url: str) -> bool:
    """Nothing left for the mocks to deliver (held-back and retried news included)."""
    if _admin(pm_url, "GET", "/push")["queue"]:
        return False
    deliveries = _admin(vs_url, "GET", "/deliveries")["deliveries"]
    return not any(d["status"] in ("PENDING", "RETRYING") for d in deliveries)


# ---------------------------------------------------------------------------------------------- forgeries
class Forger:
    """Forged order news posted to our webhook endpoints, each claiming something that would change the count
    if it were believed (a real order completed or delivered, a version far ahead, an order that does not exist).
    Every one is marked (`forged` in Postmart's data, `evt_forged_` Voso event ids) so that the inbox can be
    searched for it afterwards."""

    KINDS = ("pm_wrong_key", "pm_unsigned", "pm_tampered", "vs_wrong_secret", "vs_unsigned", "vs_stale_replay",
             "vs_tampered")  # fmt: skip

    def __init__(self, *, base_url: str, pm_shop: str, partner_key: str, vs_shop: str, vs_secret: str,
                 real_orders: Generated, seed: int = SEED):  # fmt: skip
        self.base = base_url.rstrip("/")
        self.pm_shop, self.partner_key, self.vs_shop, self.vs_secret = pm_shop, partner_key, vs_shop, vs_secret
        self.orders = real_orders.orders
        self.rng = random.Random(seed + 1)
        self.session = requests.Session()
        self.lock = threading.Lock()

    def _target(self, channel: str) -> str:
        known = self.orders[channel]
        return self.rng.choice(known) if known and self.rng.random() < 0.8 else f"FORGED{self.rng.randrange(10**8)}"

    def __call__(self, n: int) -> dict:
        with self.lock:  # called from the buyers' threads: one forgery at a time
            return self._forge(n)

    def _forge(self, n: int) -> dict:
        kind = self.KINDS[n % len(self.KINDS)]
        now = int(time.time())
        if kind.startswith("pm_"):
            url = f"{self.base}/webhooks/postmart/"
            data = {"ordersn": self._target("postmart"), "status": "COMPLETED", "update_time": now + 10**6,
                    "forged": n}  # fmt: skip
            body = json.dumps({"code": 3, "shop_id": int(self.pm_shop), "timestamp": now, "data": data}).encode()
            headers = {"Content-Type": "application/json"}
            if kind == "pm_wrong_key":
                headers["Authorization"] = hmac.new(b"not-our-partner-key", url.encode() + b"|" + body,
                                                    hashlib.sha256).hexdigest()  # fmt: skip
            elif kind == "pm_tampered":
                # A genuine signature, of another body: a captured push whose status was edited.
                original = body.replace(b'"COMPLETED"', b'"READY_TO_SHIP"')
                headers["Authorization"] = hmac.new(self.partner_key.encode(), url.encode() + b"|" + original,
                                                    hashlib.sha256).hexdigest()  # fmt: skip
        else:
            url = f"{self.base}/webhooks/voso/"
            event_id = f"evt_forged_{n:05d}"
            payload = {"eventId": event_id, "type": "order.status_updated", "shopId": self.vs_shop,
                       "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                       "data": {"orderId": self._target("voso"), "status": "delivered", "version": 10**6,
                                "updatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}}  # fmt: skip
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", "X-Voso-Event-Id": event_id}
            if kind == "vs_wrong_secret":
                sig = hmac.new(b"vswh_not_ours", f"{now}.".encode() + body, hashlib.sha256).hexdigest()
                headers["X-Voso-Signature"] = f"t={now},v1={sig}"
            elif kind == "vs_stale_replay":
                # Signed with our real secret, but 15 minutes old: a replay.
                old = now - 900
                sig = hmac.new(self.vs_secret.encode(), f"{old}.".encode() + body, hashlib.sha256).hexdigest()
                headers["X-Voso-Signature"] = f"t={old},v1={sig}"
            elif kind == "vs_tampered":
                original = body.replace(b'"delivered"', b'"shipped"')
                sig = hmac.new(self.vs_secret.encode(), f"{now}.".encode() + original, hashlib.sha256).hexdigest()
                headers["X-Voso-Signature"] = f"t={now},v1={sig}"
        response = self.session.post(url, data=body, headers=headers, timeout=30)
        return {"kind": kind, "status": response.status_code}


# ------------------------------------------------------------------------------------------------ backstops
def run_backstops() -> dict:
    """What beat runs for news that never came: Postmart's lost pushes, Voso's change feed and failed-deliveries
    list (sales/sync.py), then the inbox backstop for anything stored but not yet applied."""
    from integrations.inbox import inbound_events_process_pending
    from sales.sync import orders_failed_deliveries_pull, orders_feed_pull, orders_lost_push_pull

    started = time.perf_counter()
    report = {
        "lost_push": orders_lost_push_pull(),
        "feed": {str(k): v for k, v in orders_feed_pull().items()},
        "failed_deliveries": {str(k): v for k, v in orders_failed_deliveries_pull().items()},
        "inbox_pending": inbound_events_process_pending(),
    }
    report["seconds"] = round(time.perf_counter() - started, 2)
    return report


# ---------------------------------------------------------------------------------------------- comparison
def ground_truth(pm_url: str, vs_url: str) -> dict[str, dict]:
    """The mocks' own orders: {channel: {order id: {"status", "lines": [(item key, qty, amount)]}}}."""
    truth: dict[str, dict] = {"postmart": {}, "voso": {}}
    for order in _admin(pm_url, "GET", "/orders")["orders"]:
        lines = [(str(i["item_id"]), i["model_quantity_purchased"],
                  i["model_quantity_purchased"] * i["model_discounted_price"]) for i in order["item_list"]]  # fmt: skip
        truth["postmart"][order["order_sn"]] = {"status": order["order_status"], "lines": lines}
    for order in _admin(vs_url, "GET", "/state")["orders"]:
        lines = [(str(i["externalId"]), i["quantity"], i["quantity"] * i["unitPrice"]) for i in order["items"]]
        truth["voso"][order["orderId"]] = {"status": order["status"], "lines": lines}
    return truth


def compare(truth: dict[str, dict], forged: list[dict]) -> dict:
    """The service's count against the mocks', per product and per order; what was counted twice; forgeries."""
    from django.db.models import Count, Q, Sum

    from integrations.models import InboundEvent, Listing
    from sales.models import Order, OrderEvent, OrderLine
    from sales.selectors import listing_sales_metrics

    listings = {(row.channel, row.external_id if row.channel == "postmart" else str(row.pk)): row
                for row in Listing.objects.exclude(external_id="")}  # fmt: skip
    expected: dict[int, dict] = defaultdict(lambda: {"quantity": 0, "amount_vnd": 0, "orders": 0})
    per_listing: dict[str, dict] = defaultdict(lambda: {"quantity": 0, "gmv_vnd": 0, "orders": set()})
    for channel, orders in truth.items():
        for number, order in orders.items():
            for key, qty, amount in order["lines"]:
                listing = listings[(channel, key)]
                if order["status"] in SOLD[channel]:
                    row = expected[listing.product_id]
                    row["quantity"] += qty
                    row["amount_vnd"] += amount
                    row["orders"] += 1
                if order["status"] not in NOT_SALES[channel]:
                    metrics = per_listing[str(listing.pk)]
                    metrics["quantity"] += qty
                    metrics["gmv_vnd"] += amount
                    metrics["orders"].add(number)

    sold = OrderLine.objects.filter(order__status__in=["delivered", "completed"])
    totals = sold.values("product_id").annotate(
        quantity=Sum("quantity"), amount=Sum("total_vnd"), orders=Count("order_id")
    )
    counted = {
        row["product_id"]: {"quantity": row["quantity"], "amount_vnd": row["amount"], "orders": row["orders"]}
        for row in totals.order_by()
    }
    products = sorted(set(expected) | set(counted), key=lambda p: (p is None, p))
    per_product = [
        {"product_id": p, "expected": expected.get(p, {"quantity": 0, "amount_vnd": 0, "orders": 0}),
         "counted": counted.get(p, {"quantity": 0, "amount_vnd": 0, "orders": 0})}
        for p in products
    ]  # fmt: skip
    for row in per_product:
        row["equal"] = row["expected"] == row["counted"]

    metrics_off = []
    for listing in listings.values():
        want = per_listing.get(str(listing.pk), {"quantity": 0, "gmv_vnd": 0, "orders": set()})
        got = listing_sales_metrics(listing_id=listing.pk)
        expected_metrics = [want["quantity"], want["gmv_vnd"], len(want["orders"])]
        counted_metrics = [got["quantity"], got["gmv_vnd"], got["order_count"]]
        if expected_metrics != counted_metrics:
            metrics_off.append({"listing": str(listing.pk), "expected": expected_metrics, "counted": counted_metrics})

    ours = {(o.channel, o.external_id): o for o in Order.objects.filter(channel__in=["postmart", "voso"])}
    line_counts = dict(Order.objects.annotate(n=Count("lines")).values_list("pk", "n"))
    missing, wrong_status, extra_lines = [], [], []
    for channel, orders in truth.items():
        for number, order in orders.items():
            mine = ours.get((channel, number))
            want = EXPECTED[channel][order["status"]]
            if mine is None:
                missing.append(f"{channel}:{number}")
                continue
            if want is not None and mine.status != want:
                wrong_status.append(f"{channel}:{number} {order['status']}→{mine.status}")
            if line_counts.get(mine.pk, 0) != len(order["lines"]):
                extra_lines.append(f"{channel}:{number}")
    unknown = [f"{c}:{n}" for (c, n) in ours if n not in truth[c]]
    # A status recorded twice for one order is an order counted twice along its way.
    repeated = OrderEvent.objects.values("order_id", "to_status").annotate(n=Count("pk")).filter(n__gt=1).count()
    forged_stored = InboundEvent.objects.filter(
        Q(payload__data__has_key="forged") | Q(dedupe_key__startswith="evt_forged_")
    ).count()
    return {
        "per_product": per_product,
        "products_equal": all(row["equal"] for row in per_product),
        "listing_metrics_off": metrics_off,
        "orders_expected": sum(len(o) for o in truth.values()),
        "orders_counted": len(ours),
        "missing": missing,
        "wrong_status": wrong_status,
        "counted_twice": len(extra_lines) + len(unknown) + repeated,
        "counted_twice_detail": {"lines": extra_lines[:20], "unknown": unknown[:20], "repeated_status": repeated},
        "forged_sent": len(forged),
        "forged_refused_4xx": sum(1 for f in forged if 400 <= f["status"] < 500),
        "forged_by_status": dict(Counter(str(f["status"]) for f in forged)),
        "forged_stored": forged_stored,
        "forged_accepted": sum(1 for f in forged if not 400 <= f["status"] < 500) + forged_stored,
        "inbox": dict(InboundEvent.objects.values_list("state").annotate(n=Count("pk")).order_by()),
    }


def met(result: dict) -> dict[str, bool]:
    return {
        "per-product sales equal the mocks'": result["products_equal"] and not result["listing_metrics_off"],
        "every order current (none missing, none behind)": not result["missing"] and not result["wrong_status"],
        "0 counted twice": result["counted_twice"] == 0,
        "0 forged accepted (all refused with 4xx)": result["forged_accepted"] == 0,
        "reconciliation finds no gap": not any(result.get("reconcile", {}).values()),
    }


# ------------------------------------------------------------------------------------------------ the run
def _free_port() -> int:
    # tests.integrations.marketplaces has one, but importing it needs Django set up, which needs this port.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, every: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def _live_listings(pm_url: str, vs_url: str, web: str) -> dict:
    """PRODUCTS ready products, pushed by the service (workers) until live on both mocks."""
    from catalog.models import Product, Sku
    from catalog.ocop.models import OcopCertificate
    from integrations.adapters.postmart.adapter import PostmartAdapter
    from integrations.models import Listing
    from integrations.sync.polling import listings_poll_reviews
    from integrations.sync.services import listing_request
    from integrations.sync.sessions import session_for
    from tests.bench.bench_listings import _fill
    from tests.integrations.marketplaces import lao_cai, pm_connect, register_certificate, vs_connect

    pm = pm_connect(pm_url, area=lao_cai())
    PostmartAdapter().configure_push(session_for(pm), f"{web}/webhooks/postmart/")
    vs = vs_connect(vs_url, area=lao_cai(), webhook_url=f"{web}/webhooks/voso/")
    for url in (pm_url, vs_url):
        _admin(url, "PUT", "/review-config", delay_s=0, jitter_s=0)
    _admin(pm_url, "PUT", "/limits", enabled=False)
    _admin(vs_url, "PUT", "/limits", rate_per_s=1000, migrate_per_s=100, daily_quota=100000)
    # One product made ready the real way, then cloned with distinct names, certificates and photo bytes (the
    # listings bench's filler): the photo pipeline is not what this run is about.
    template = _fill(PRODUCTS)
    products = list(Product.objects.filter(pk__gte=template.pk).order_by("pk"))
    for n, product in enumerate(products):
        register_certificate(pm_url, vs_url, OcopCertificate.objects.get(product=product))
        # Thousands of orders must not run out of stock; distinct prices tell the products' amounts apart.
        Sku.objects.filter(product=product).update(stock=99_999, price_vnd=150_000 + 10_000 * n)
        for channel in ("postmart", "voso"):
            listing_request(product=product, channel=channel)
    print(f"{PRODUCTS} products ready and queued for both mocks", flush=True)
    live = Listing.objects.filter(product__in=products, state="live")
    if not _wait(lambda: (listings_poll_reviews(channel="postmart"), live.count() == 2 * PRODUCTS)[1], 180):
        raise RuntimeError(f"listings not live: {list(Listing.objects.values_list('state', 'last_error'))}")
    pm.refresh_from_db()
    vs.refresh_from_db()
    return {"pm": pm, "vs": vs, "listings": list(live)}


def _summary(result: dict) -> str:
    lines = [
        f"## Order events with faults: {result['events']} events ({result['setup']['products']} products live on "
        "both mocks)",
        "",
        "| fault | share asked | fired (Postmart / Voso) |",
        "|---|---:|---:|",
    ]
    for kind, share in (("duplicate", DUPLICATE), ("reorder", REORDER), ("drop", DROP)):
        pm, vs = result["faults_fired"]["postmart"].get(kind, 0), result["faults_fired"]["voso"].get(kind, 0)
        lines.append(f"| {kind} | {share:.0%} | {pm} / {vs} |")
    lines.append(f"| forged (bad signature) | {FORGED:.0%} | {result['forged_sent']} sent: "
                 f"{result['forged_by_status']} |")  # fmt: skip
    lines += ["", "| product | expected qty / VND / orders | counted | equal |", "|---|---:|---:|:-:|"]
    for row in result["per_product"]:
        e, c = row["expected"], row["counted"]
        mark = "✓" if row["equal"] else "✗"
        lines.append(f"| {row['product_id']} | {e['quantity']} / {e['amount_vnd']:,} / {e['orders']} | "
                     f"{c['quantity']} / {c['amount_vnd']:,} / {c['orders']} | {mark} |")  # fmt: skip
    lines += ["", "| target | result | met |", "|---|---|:-:|"]
    values = {
        "per-product sales equal the mocks'": f"{sum(r['equal'] for r in result['per_product'])}/"
        f"{len(result['per_product'])} products, {len(result['listing_metrics_off'])} listing metrics off",
        "every order current (none missing, none behind)": f"{result['orders_counted']}/{result['orders_expected']} "
        f"orders, {len(result['missing'])} missing, {len(result['wrong_status'])} behind",
        "0 counted twice": str(result["counted_twice"]),
        "0 forged accepted (all refused with 4xx)": f"{result['forged_accepted']} accepted, "
        f"{result['forged_refused_4xx']}/{result['forged_sent']} refused, {result['forged_stored']} stored",
        "reconciliation finds no gap": json.dumps({k: len(v) for k, v in result.get("reconcile", {}).items()}),
    }
    for target, ok in result["met"].items():
        lines.append(f"| {target} | {values[target]} | {'✓' if ok else '✗'} |")
    gaps = result.get("before_backstops", {})
    lines.append(f"| (before the backstops ran) | {gaps.get('missing')} orders missing, {gaps.get('behind')} behind "
                 f"| |")  # fmt: skip
    t = result["timing"]
    lines.append(f"| within {BOUND_S // 60} minutes | {t['total_s']:.0f} s (setup {t['setup_s']:.0f} s, events "
                 f"{t['generate_s']:.0f} s, drain {t['drain_s']:.0f} s, backstops {t['backstops_s']:.0f} s) | "
                 f"{'✓' if t['total_s'] <= BOUND_S else '✗'} |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    from tests.bench.bench_listings import _environment, _fresh_database, _process

    started = time.perf_counter()
    work = Path(os.environ.get("VAR_DIR") or tempfile.gettempdir()) / "prove-orders"
    work.mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="logs-", dir=work))
    media = tempfile.mkdtemp(prefix="media-", dir=work)
    sys.path.insert(0, str(ROOT))
    port = _free_port()
    web = f"http://127.0.0.1:{port}"
    env = _environment(media)
    env.update({
        "DATABASE_URL": os.environ.get("PROVE_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"),
        "CELERY_BROKER_URL": REDIS, "RATE_LIMIT_REDIS_URL": REDIS, "VAR_DIR": str(work),
        "WEBHOOK_BASE_URL": web, "PHOTO_EXPORT_BASE_URL": web,
        # Limits lifted on the mocks: what is measured is the faults, not the throttling.
        "CHANNEL_RATE_LIMITS": json.dumps({"postmart:shop": [500, 50], "postmart:write": [500, 50],
                                           "voso:token": [500, 50], "voso:migrate": [100, 10]}),
    })  # fmt: skip
    os.environ.update(env)
    _fresh_database(env["DATABASE_URL"])
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from tests.integrations.marketplaces import mock_process

    redis.Redis.from_url(REDIS).flushdb()  # our own database number: queues of this run only
    print(f"Setting up {DB_NAME} (logs in {logs})…", flush=True)
    for command in ("migrate", "load_admin_units", "load_catalog_reference", "load_channel_reference"):
        call_command(command, verbosity=0)

    result: dict = {"events": EVENTS}
    with ExitStack() as stack:
        pm_url = stack.enter_context(mock_process("integrations.mocks.postmart"))
        vs_url = stack.enter_context(mock_process("integrations.mocks.voso"))
        gunicorn = [sys.executable, "-m", "gunicorn", "marketplace.wsgi:application", "-b", f"127.0.0.1:{port}",
                    "-w", "3", "--timeout", "60"]  # fmt: skip
        stack.enter_context(_process(gunicorn, env, logs / "web.log", url=f"{web}/healthz"))
        for index in range(2):
            worker = [sys.executable, "-m", "celery", "-A", "marketplace", "worker",
                      "-Q", "celery,channel.postmart,channel.voso", "--concurrency", "4", "--prefetch-multiplier", "1",
                      "-O", "fair", "--without-heartbeat", "--without-gossip", "--without-mingle",
                      "--loglevel", "WARNING", "--hostname", f"orders{index}@%h"]  # fmt: skip
            stack.enter_context(_process(worker, env, logs / f"worker-{index}.log", ready="ready"))
        setup = _live_listings(pm_url, vs_url, web)
        result["setup"] = {"products": PRODUCTS, "listings": len(setup["listings"])}
        pm, vs = setup["pm"], setup["vs"]
        pm_items = [x.external_id for x in setup["listings"] if x.channel == "postmart"]
        vs_externals = [str(x.pk) for x in setup["listings"] if x.channel == "voso"]
        setup_s = time.perf_counter() - started
        print(f"{len(setup['listings'])} listings live after {setup_s:.0f} s; {EVENTS} events…", flush=True)

        inject_faults(pm_url, vs_url)
        generated = Generated()  # the forger aims at the orders made so far
        secret = vs.credentials["webhook_secrets"][0]
        forger = Forger(base_url=web, pm_shop=pm.shop_id, partner_key=pm.credentials["partner_key"],
                        vs_shop=vs.shop_id, vs_secret=secret, real_orders=generated)  # fmt: skip
        generate(pm_url=pm_url, vs_url=vs_url, pm_shop=int(pm.shop_id), pm_items=pm_items,
                 vs_externals=vs_externals, events=EVENTS, forge_one=forger, out=generated, rate=RATE)  # fmt: skip
        forged = len(generated.forged)
        print(f"events sent in {generated.seconds:.0f} s: {generated.events}, {forged} forged", flush=True)

        from integrations.models import InboundEvent

        t0 = time.perf_counter()
        busy = InboundEvent.objects.filter(state="received")
        _wait(lambda: drained(pm_url, vs_url) and not busy.exists(), timeout=max(60.0, BOUND_S - (t0 - started) - 90),
              every=2.0)  # fmt: skip
        drain_s = time.perf_counter() - t0
        result["faults_fired"] = {"postmart": faults_fired(pm_url), "voso": faults_fired(vs_url)}
        # What the webhooks alone left wrong (news dropped for good): the backstops' share of the work.
        before = compare(ground_truth(pm_url, vs_url), generated.forged)
        result["before_backstops"] = {"missing": len(before["missing"]), "behind": len(before["wrong_status"])}
        clear_faults(pm_url, vs_url)
        t1 = time.perf_counter()
        result["backstops"] = run_backstops()
        _wait(lambda: not busy.exists(), timeout=60)
        backstops_s = time.perf_counter() - t1
        truth = ground_truth(pm_url, vs_url)
        result.update(compare(truth, generated.forged))
        from sales.sync import orders_reconcile

        result["reconcile"] = orders_reconcile()

    result["generated"] = {"events": generated.events, "orders": {k: len(v) for k, v in generated.orders.items()}}
    result["timing"] = {"total_s": time.perf_counter() - started, "setup_s": setup_s, "generate_s": generated.seconds,
                        "drain_s": drain_s, "backstops_s": backstops_s}  # fmt: skip
    result["met"] = met(result)
    ok = all(result["met"].values()) and result["timing"]["total_s"] <= BOUND_S
    result["ok"] = ok
    out = Path(os.environ.get("PROVE_OUT", ROOT / "var" / "prove"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults_orders.json").write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False))
    print()
    print(_summary(result))
    print(f"\nJSON: {out / 'faults_orders.json'}; logs: {logs}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
