"""Voso-like mock marketplace: aiohttp app factory, in-memory state, handlers (spec: marketplaces.md §1, §3, §4).

Orders and their read models live in orders.py, snapshot/restore encoding in snapshot.py. Fault injection uses the
shared integrations/mocks/faults.py: its middleware applies the generic request-side actions, and this module adds
the Voso meaning of stale_read (product reads), expire_token (authenticate), partial_batch (media migrate) and the
webhook-side actions (queue time in State.emit, attempt time in attempt_delivery).
"""

import asyncio
import base64
import binascii
import contextlib
import copy
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import math
import random
import re
import struct
import time
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp import web

from integrations.mocks.clock import Clock
from integrations.mocks.faults import FAULT_KEY, Faults, fault_middleware, register_admin_routes

from . import orders as orders_mod
from . import seed as seed_data
from . import snapshot as snapshot_mod
from .errors import ApiError, validation_error

VN_TZ = dt.timezone(dt.timedelta(hours=7))  # Asia/Ho_Chi_Minh has no DST
CDN_RE = re.compile(r"^https?://[^/\s]+/cdn/([0-9a-f]{64})\.jpg$")
MAX_IMAGE_BYTES = 3 * 1024 * 1024
CONTENT_FIELDS = (
    "externalId",
    "sellerSku",
    "name",
    "description",
    "categoryCode",
    "brand",
    "weightGram",
    "lengthCm",
    "widthCm",
    "heightCm",
    "images",
    "warehouseId",
    "attributes",
    "certificates",
)
PRICE_STOCK_FIELDS = ("price", "salePrice", "stock")
DELIVERY_RETENTION_S = 14 * 86400


def is_loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False  # names are never resolved: no DNS, no outbound calls


def image_dimensions(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) from PNG or JPEG bytes, or None if neither."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:3] == b"\xff\xd8\xff":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01, 0xFF) or 0xD0 <= marker <= 0xD7:
                i += 1 if marker == 0xFF else 2
                continue
            (seg_len,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpeg", width, height
            i += 2 + seg_len
        return None
    return None


class IdGen:
    """Deterministic identifiers: the same seed plus the same call sequence gives the same ids."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.counters: dict[str, int] = {}
        self.rng = random.Random(f"voso-ids:{seed}")

    def next(self, prefix: str, width: int = 6) -> str:
        if prefix not in self.counters:
            self.counters[prefix] = random.Random(f"{self.seed}:{prefix}").randrange(1, 400000)
        self.counters[prefix] += 1
        return f"{prefix}-{self.counters[prefix]:0{width}d}"

    def hex(self, nbytes: int = 16) -> str:
        return self.rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()


class State:
    def __init__(self, seed: int, time_scale: float, clock: Clock) -> None:
        self.seed, self.time_scale, self.clock = seed, time_scale, clock
        self.ids = IdGen(seed)
        self.jitter_rng = random.Random(f"voso-jitter:{seed}")
        self.request_seq = 0
        self.users: dict[str, dict] = {}  # username -> {password, shopId, userId, failed, lockedUntil, logins}
        self.shops: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.warehouses: dict[str, dict] = {}  # warehouseId -> warehouse (with shopId)
        self.categories = seed_data.default_categories()
        self.ocop = seed_data.default_ocop_registry()
        self.review_config = copy.deepcopy(seed_data.DEFAULT_REVIEW_CONFIG)
        self.limits = dict(seed_data.DEFAULT_LIMITS)
        self.cdn: dict[str, dict] = {}  # sha256 -> {bytes, format, width, height}
        self.batches: dict[str, dict] = {}
        self.products: dict[str, dict] = {}
        self.qc_jobs: list[dict] = []
        self.idempotency: dict[tuple[str, str], dict] = {}
        self.rate: dict[str, deque] = {}
        self.migrate_rate: dict[str, deque] = {}
        self.quota: dict[tuple[str, str], int] = {}
        self.events: list[dict] = []
        self.webhooks: dict[str, dict] = {}  # shopId -> {url, events, secrets[{secret, validUntil}]}
        self.deliveries: dict[str, dict] = {}
        self.delivery_seq = 0  # creation order of deliveries: the seek key of GET /v2/webhooks/deliveries
        self.attempts: list[dict] = []
        self.orders: dict[str, dict] = {}
        self.order_feeds: dict[str, dict] = {}  # shopId -> change feed (see orders.py)
        self.faults = Faults(seed=f"voso-{seed}", now=clock.now)  # §4 rules; a reset clears them
        self.product_versions: dict[str, dict] = {}  # productId -> {prev, writtenAt}: what stale_read serves
        self.requests: deque = deque(maxlen=2000)
        shop = self.add_shop(dict(seed_data.DEFAULT_SELLER))
        self.add_warehouse(shop["shopId"], dict(seed_data.DEFAULT_WAREHOUSE))

    # ----- time helpers -----
    def now(self) -> float:
        return self.clock.now()

    def iso(self, epoch: float | None = None) -> str:
        epoch = self.now() if epoch is None else epoch
        return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def local_day(self) -> str:
        return dt.datetime.fromtimestamp(self.now(), VN_TZ).date().isoformat()

    def seconds_to_local_midnight(self) -> int:
        local = dt.datetime.fromtimestamp(self.now(), VN_TZ)
        midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), VN_TZ)
        return max(1, math.ceil(midnight.timestamp() - self.now()))

    # ----- seeding -----
    def add_shop(self, body: dict) -> dict:
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            raise validation_error([{"field": "username/password", "code": "REQUIRED", "message": "required"}])
        shop_id = body.get("shopId") or self.ids.next("VSS", 4)
        shop = {"shopId": shop_id, "name": body.get("name") or username, "username": username}
        self.shops[shop_id] = shop
        self.users[username] = {
            "username": username,
            "password": password,
            "shopId": shop_id,
            "userId": self.ids.next("VSU", 5),
            "failed": 0,
            "lockedUntil": 0.0,
            "logins": deque(),
        }
        return shop

    def add_warehouse(self, shop_id: str, body: dict) -> dict:
        if shop_id not in self.shops:
            raise ApiError(404, "SHOP_NOT_FOUND", f"unknown shop {shop_id}")
        wh = {
            "warehouseId": body.get("warehouseId") or self.ids.next("WH", 3),
            "name": body.get("name") or "Kho",
            "provinceCode": str(body.get("provinceCode") or ""),
            "districtCode": str(body.get("districtCode") or ""),
            "wardCode": str(body.get("wardCode") or ""),
            "address": body.get("address") or "",
            "phone": body.get("phone") or "",
        }
        self.warehouses[wh["warehouseId"]] = {**wh, "shopId": shop_id}
        return wh

    # ----- outbox: every event is kept; subscribed shops also get a delivery, sent by run_due_deliveries -----
    def emit(self, shop_id: str, event_type: str, data: dict) -> None:
        event = {
            "seq": len(self.events) + 1,
            "eventId": "evt_" + self.ids.hex(12),
            "type": event_type,
            "shopId": shop_id,
            "createdAt": self.iso(),
            "data": data,
        }
        self.events.append(event)
        hook = self.webhooks.get(shop_id)
        if not hook or event_type not in hook["events"]:
            return
        wire = {k: v for k, v in event.items() if k != "seq"}  # §3's body; seq orders the outbox only
        payload = json.dumps(wire, ensure_ascii=False, separators=(",", ":"))
        # Queue-time webhook faults (§4): drop, duplicate (same eventId on every copy), reorder (held back).
        fault = self.faults.take_event(QUEUE_FAULTS, (event_type,), shop=shop_id, url=hook["url"])
        kind = fault["type"] if fault else None
        if kind == "drop":
            # Never sent: it goes straight to the FAILED list, where (like the change feed) polling finds it.
            d = self.new_delivery(event, hook["url"], payload, copy_no=1, due=None, fault="drop")
            d["status"], d["lastError"] = "FAILED", "DROPPED"
            self.attempts.append(attempt_row(self, d, None, "DROPPED", 0, None, attempt=0, fault="drop"))
            return
        copies = max(1, int(fault.get("copies", 3))) if kind == "duplicate" else 1
        spacing = float(fault.get("spacing_ms", 200)) / 1000 if kind == "duplicate" else 0.0
        hold = float(fault.get("hold_ms", 5000)) / 1000 if kind == "reorder" else 0.0
        for i in range(copies):
            self.new_delivery(
                event, hook["url"], payload, copy_no=i + 1, due=self.now() + hold + i * spacing, fault=kind
            )

    def new_delivery(self, event: dict, url: str, payload: str, *, copy_no: int, due, fault) -> dict:
        delivery_id = self.ids.next("DLV")
        self.delivery_seq += 1
        d = self.deliveries[delivery_id] = {
            "n": self.delivery_seq,
            "deliveryId": delivery_id,
            "eventId": event["eventId"],
            "type": event["type"],
            "shopId": event["shopId"],
            "url": url,
            "payload": payload,
            "status": "PENDING",
            "attempts": 0,
            "scheduleStep": 0,
            "nextAt": due,
            "lastStatus": None,
            "lastError": None,
            "copy": copy_no,
            "fault": fault,
            "createdAt": self.iso(),
            "createdEpoch": self.now(),
        }
        return d

    # ----- eventual consistency (the stale_read fault) -----
    def before_write(self, p: dict, *, created: bool = False) -> None:
        """Keeps the version a product had before this write: under stale_read, reads see it for N s."""
        prev = None if created else public_product(p) | {"updatedEpoch": p.get("updatedEpoch", 0.0)}
        self.product_versions[p["productId"]] = {"prev": prev, "writtenAt": self.now()}

    def written_within(self, product_ids, seconds: float) -> bool:
        now = self.now()
        return any(
            (v := self.product_versions.get(pid)) is not None and now - v["writtenAt"] < seconds for pid in product_ids
        )

    def read_product(self, p: dict, stale_s: float | None) -> dict | None:
        """The product as a read sees it: under stale_read, the previous version (None if it did not exist yet)."""
        if stale_s is None:
            return p
        v = self.product_versions.get(p["productId"])
        if v is not None and self.now() - v["writtenAt"] < stale_s:
            return v["prev"]
        return p

    # ----- QC -----
    def schedule_qc(self, product: dict) -> None:
        self.qc_jobs = [j for j in self.qc_jobs if j["productId"] != product["productId"]]
        cfg = self.review_config
        if cfg.get("mode") == "manual" or cfg.get("shops", {}).get(product["shopId"]) == "manual":
            return
        delay = float(cfg.get("delay_s", 600.0)) * self.time_scale
        jitter = self.jitter_rng.uniform(0, float(cfg.get("jitter_s", 0.0)) * self.time_scale)
        self.qc_jobs.append(
            {
                "productId": product["productId"],
                "dueAt": self.now() + delay + jitter,
                "reviewVersion": product["version"],
            }
        )

    def qc_reasons(self, p: dict) -> list[dict]:
        cfg, today = self.review_config, self.local_day()
        rules = cfg.get("rules", {})
        reasons: list[dict] = []

        def add(code: str, message: str, field: str | None = None) -> None:
            if rules.get(code, True) and not any(r["code"] == code and r.get("field") == field for r in reasons):
                reasons.append({"code": code, "message": message, **({"field": field} if field else {})})

        for i, cert in enumerate(p.get("certificates") or []):
            if cert.get("type") != "OCOP":
                continue
            field = f"certificates[{i}]"
            reg = self.ocop.get(str(cert.get("number")))
            expiry = str(cert.get("expiryDate") or "")
            if expiry < today or (reg and reg["expiryDate"] < today):
                add("OCOP_CERT_EXPIRED", "Giấy chứng nhận OCOP đã hết hạn", field)
            if reg is None:
                add("OCOP_CERT_NOT_FOUND", "Không tìm thấy giấy chứng nhận OCOP trong cơ sở dữ liệu", field)
            elif reg["star"] != cert.get("star"):
                add("OCOP_STAR_MISMATCH", f"Số sao OCOP không khớp (đăng ký: {reg['star']} sao)", field)
        bad = set(cfg.get("bad_image_sha256", []))
        min_px = int(cfg.get("min_image_px", 500))
        for i, url in enumerate(p.get("images") or []):
            sha = CDN_RE.match(url).group(1)
            info = self.cdn.get(sha, {})
            small = i == 0 and (info.get("width", 0) < min_px or info.get("height", 0) < min_px)
            if sha in bad or small:
                add("IMAGE_LOW_QUALITY", "Hình ảnh chất lượng thấp", f"images[{i}]")
        text = f"{p.get('name', '')} {p.get('description', '')}".lower()
        if any(term.lower() in text for term in cfg.get("prohibited_terms", [])):
            add("PROHIBITED_HEALTH_CLAIM", "Nội dung quảng cáo công dụng chữa bệnh bị cấm", "description")
        name = str(p.get("name", "")).lower()
        for prefix, words in cfg.get("category_keywords", {}).items():
            if p["categoryCode"].startswith(prefix) and any(w.lower() in name for w in words):
                add("CATEGORY_MISMATCH", "Sản phẩm không phù hợp với ngành hàng", "categoryCode")
        median = self.categories.get(p["categoryCode"], {}).get("medianPrice") or 0
        if median and (p["price"] < 0.1 * median or p["price"] > 10 * median):
            add("PRICE_ABNORMAL", "Giá bất thường so với ngành hàng", "price")
        attrs = p.get("attributes") or {}
        wh = self.warehouses.get(p.get("warehouseId"), {})
        origin = attrs.get("originProvinceCode")
        if origin is not None and wh and str(origin) != wh.get("provinceCode") and not attrs.get("originNote"):
            add("MISSING_ORIGIN_INFO", "Xuất xứ khác tỉnh kho hàng mà không có ghi chú", "attributes.originNote")
        return reasons

    def set_qc(self, p: dict, qc_status: str, reasons: list[dict], status: str) -> None:
        p["qc"] = {"status": qc_status, "reasons": reasons, "reviewedAt": self.iso()}
        p["status"] = status
        p["updatedAt"] = self.iso()
        p["updatedEpoch"] = self.now()
        self.emit(
            p["shopId"],
            "product.qc_updated",
            {
                "productId": p["productId"],
                "externalId": p.get("externalId"),
                "status": p["status"],
                "qc": {"status": qc_status, "reasons": reasons},
                "version": p["version"],
            },
        )

    def run_due(self) -> dict:
        now, done = self.now(), 0
        due = sorted((j for j in self.qc_jobs if j["dueAt"] <= now), key=lambda j: (j["dueAt"], j["productId"]))
        self.qc_jobs = [j for j in self.qc_jobs if j["dueAt"] > now]
        for job in due:
            p = self.products.get(job["productId"])
            if not p or p["status"] != "PENDING_QC" or p["version"] != job["reviewVersion"]:
                continue
            reasons = self.qc_reasons(p)
            self.before_write(p)
            if reasons:
                self.set_qc(p, "REJECTED", reasons, "REJECTED")
            else:
                self.set_qc(p, "APPROVED", [], "ACTIVE")
            done += 1
        return {"qcReviewed": done, "changesCompacted": orders_mod.compact(self), "deliveriesPurged": self.purge()}

    def purge(self) -> int:
        """Forgets deliveries (and so their payloads) created more than 14 days ago, as §3 allows."""
        horizon = self.now() - DELIVERY_RETENTION_S
        old = [k for k, d in self.deliveries.items() if d["createdEpoch"] < horizon]
        for k in old:
            del self.deliveries[k]
        return len(old)

    def summary(self) -> dict:
        return {
            "seed": self.seed,
            "timeScale": self.time_scale,
            "clock": self.clock.describe(),
            "shops": list(self.shops.values()),
            "users": [
                {"username": u["username"], "shopId": u["shopId"], "userId": u["userId"]} for u in self.users.values()
            ],
            "warehouses": list(self.warehouses.values()),
            "products": [public_product(p) for p in self.products.values()],
            "qcJobs": self.qc_jobs,
            "limits": self.limits,
            "reviewConfig": self.review_config,
            "ocopCertificates": list(self.ocop.values()),
            "categories": list(self.categories.values()),
            "cdn": [{k: v for k, v in info.items() if k != "bytes"} for info in self.cdn.values()],
            "events": self.events,
            "orders": [orders_mod.public_order(o) | {"shopId": o["shopId"]} for o in self.orders.values()],
            "orderFeeds": {
                shop: {"lastSeq": f["seq"], "changes": f["changes"]} for shop, f in self.order_feeds.items()
            },
            "faults": self.faults.list(),
            "quota": {f"{shop}|{day}": n for (shop, day), n in self.quota.items()},
            "tokens": len(self.tokens),
        }


def public_product(p: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in p.items() if k not in ("updatedEpoch", "deletedEpoch")}


# ---------------------------------------------------------------------------------------------- validation


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_product(state: State, shop_id: str, body: dict, *, partial_keys: set | None = None) -> list[dict]:
    """All errors at once. `partial_keys` limits type checks of optional fields to those sent (PATCH merges first)."""
    errors: list[dict] = []

    def err(field: str, code: str, message: str) -> None:
        errors.append({"field": field, "code": code, "message": message})

    def check_str(field: str, lo: int, hi: int, required: bool = True):
        v = body.get(field)
        if v is None:
            if required:
                err(field, "REQUIRED", f"{field} is required")
            return None
        if not isinstance(v, str):
            err(field, "INVALID_TYPE", f"{field} must be a string")
            return None
        if not lo <= len(v) <= hi:
            err(field, "OUT_OF_RANGE", f"{field} must have {lo}–{hi} characters")
        return v

    def check_int(field: str, lo: int, hi: int, required: bool = True):
        v = body.get(field)
        if v is None:
            if required:
                err(field, "REQUIRED", f"{field} is required")
            return None
        if not _is_int(v):
            err(field, "INVALID_TYPE", f"{field} must be an integer")
            return None
        if not lo <= v <= hi:
            err(field, "OUT_OF_RANGE", f"{field} must be between {lo} and {hi}")
            return None
        return v

    check_str("externalId", 1, 128, required=False)
    sku = check_str("sellerSku", 1, 50)
    if sku is not None and re.search(r"\s", sku):
        err("sellerSku", "INVALID_FORMAT", "sellerSku must not contain spaces")
    check_str("name", 25, 255)
    check_str("description", 1, 25000)
    check_str("brand", 0, 255, required=False)
    price = check_int("price", 1000, 200_000_000)
    sale = check_int("salePrice", 1000, 200_000_000, required=False)
    if price is not None and sale is not None and sale >= price:
        err("salePrice", "SALE_PRICE_NOT_LOWER", "salePrice must be lower than price")
    check_int("stock", 0, 99_999)
    check_int("weightGram", 1, 50_000)
    for dim in ("lengthCm", "widthCm", "heightCm"):
        check_int(dim, 1, 200)

    images = body.get("images")
    if images is None:
        err("images", "REQUIRED", "images is required")
    elif not isinstance(images, list):
        err("images", "INVALID_TYPE", "images must be a list of URLs")
    else:
        if not 3 <= len(images) <= 8:
            err("images", "OUT_OF_RANGE", "3–8 images are required")
        for i, url in enumerate(images):
            m = CDN_RE.match(url) if isinstance(url, str) else None
            if m is None:
                err(f"images[{i}]", "EXTERNAL_IMAGE_NOT_ALLOWED", "only /cdn/ URLs returned by /v2/media/migrate")
            elif m.group(1) not in state.cdn:
                err(f"images[{i}]", "IMAGE_NOT_FOUND", "unknown /cdn/ image")

    wh_id = body.get("warehouseId")
    wh = state.warehouses.get(wh_id) if isinstance(wh_id, str) else None
    if wh_id is None:
        err("warehouseId", "REQUIRED", "warehouseId is required")
    elif wh is None or wh["shopId"] != shop_id:
        err("warehouseId", "WAREHOUSE_NOT_FOUND", "unknown warehouse for this shop")

    code = body.get("categoryCode")
    cat = state.categories.get(code) if isinstance(code, str) else None
    if code is None:
        err("categoryCode", "REQUIRED", "categoryCode is required")
    elif cat is None:
        err("categoryCode", "CATEGORY_NOT_FOUND", "unknown categoryCode")
    elif not cat["leaf"]:
        err("categoryCode", "NOT_LEAF_CATEGORY", "categoryCode must be a leaf category")
        cat = None

    attrs = body.get("attributes", {})
    if not isinstance(attrs, dict):
        err("attributes", "INVALID_TYPE", "attributes must be an object")
        attrs = {}
    if cat is not None:
        for spec in cat["attributes"]:
            key, v = spec["key"], attrs.get(spec["key"])
            field = f"attributes.{key}"
            if v is None:
                if spec["required"]:
                    err(field, "REQUIRED", f"{key} is required for {cat['categoryCode']}")
                continue
            if spec["type"] == "int" and not _is_int(v):
                err(field, "INVALID_TYPE", f"{key} must be an integer")
            elif spec["type"] == "code" and not (isinstance(v, str) and re.fullmatch(r"\d{2,5}", v)):
                err(field, "INVALID_FORMAT", f"{key} must be an administrative code string")
            elif spec["type"] == "string" and not isinstance(v, str):
                err(field, "INVALID_TYPE", f"{key} must be a string")

    certs = body.get("certificates")
    if certs is not None and not isinstance(certs, list):
        err("certificates", "INVALID_TYPE", "certificates must be a list")
        certs = None
    if cat is not None:
        for kind in cat["requiredCertificates"]:
            if not any(isinstance(c, dict) and c.get("type") == kind for c in certs or []):
                err("certificates", "CERTIFICATE_REQUIRED", f"a {kind} certificate is required for this category")
    for i, c in enumerate(certs or []):
        field = f"certificates[{i}]"
        if not isinstance(c, dict):
            err(field, "INVALID_TYPE", "certificate must be an object")
            continue
        if c.get("type") not in ("OCOP",):
            err(f"{field}.type", "INVALID_VALUE", "type must be OCOP")
        if c.get("type") == "OCOP" and (not _is_int(c.get("star")) or c.get("star") not in (3, 4, 5)):
            err(f"{field}.star", "OUT_OF_RANGE", "star must be 3, 4 or 5")
        if not isinstance(c.get("number"), str) or not c.get("number"):
            err(f"{field}.number", "REQUIRED", "number is required")
        for key in ("issuedDate", "expiryDate"):
            v = c.get(key)
            try:
                dt.date.fromisoformat(v)
            except (TypeError, ValueError):
                err(f"{field}.{key}", "INVALID_FORMAT", f"{key} must be YYYY-MM-DD")
        doc = c.get("documentUrl")
        if doc is not None:
            m = CDN_RE.match(doc) if isinstance(doc, str) else None
            if m is None:
                err(f"{field}.documentUrl", "EXTERNAL_IMAGE_NOT_ALLOWED", "only /cdn/ URLs")
            elif m.group(1) not in state.cdn:
                err(f"{field}.documentUrl", "IMAGE_NOT_FOUND", "unknown /cdn/ image")
    return errors


# ---------------------------------------------------------------------------------------------- app

STATE_KEY = web.AppKey("voso_state", State)
CLOCK_KEY = web.AppKey("voso_clock", Clock)
CONF_KEY = web.AppKey("voso_conf", dict)
RATE_HEADERS_KEY = web.RequestKey("voso_rate_headers", dict)


def envelope(state: State, status: int, code: str = "OK", message: str = "", data=None) -> dict:
    return {
        "status": status,
        "error": status >= 400,
        "code": code,
        "message": message or ("OK" if status < 400 else code),
        "data": data,
        "requestId": f"req_{state.seed}_{state.request_seq:08d}",
    }


def ok(state: State, data=None, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.json_response(envelope(state, status, data=data), status=status, headers=headers)


def raw_json(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


async def read_json(request: web.Request, *, required: bool = True) -> dict:
    raw = await request.read()
    if not raw:
        if required:
            raise validation_error([{"field": "body", "code": "REQUIRED", "message": "JSON body required"}])
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise validation_error([{"field": "body", "code": "INVALID_JSON", "message": "malformed JSON"}]) from exc
    if not isinstance(body, dict):
        raise validation_error([{"field": "body", "code": "INVALID_TYPE", "message": "JSON object expected"}])
    return body


def st(request: web.Request) -> State:
    return request.app[STATE_KEY]


def sliding_window(q: deque, now: float, window: float, limit: int) -> tuple[bool, float]:
    """Returns (allowed, reset_at). Records the hit when allowed."""
    while q and q[0] <= now - window:
        q.popleft()
    if len(q) >= limit:
        return False, q[0] + window
    q.append(now)
    return True, (q[0] + window)


def take_fault(request: web.Request, kind: str, shop_id, applies=None) -> dict | None:
    """The app-specific §4 action (stale_read, expire_token, partial_batch) that fires for this request, if any."""
    return st(request).faults.take(kind, request, shop=shop_id, applies=applies)


def shop_of_request(request: web.Request) -> str | None:
    """The shop a request acts for (from its Token), for the `match.shop` of fault rules."""
    rec = st(request).tokens.get(request.headers.get("Token", ""))
    return rec["shopId"] if rec else None


FAULT_DEFAULTS = {
    429: ("RATE_LIMITED", "Quá nhiều yêu cầu / too many requests"),
    500: ("INTERNAL_ERROR", "Lỗi hệ thống / internal error"),
    502: ("BAD_GATEWAY", "Lỗi cổng kết nối / bad gateway"),
    503: ("SERVICE_UNAVAILABLE", "Hệ thống bận, vui lòng thử lại / service unavailable"),
    504: ("GATEWAY_TIMEOUT", "Hết thời gian chờ / gateway timeout"),
}


def fault_error(request: web.Request, status: int, code, message, retry_after) -> web.Response:
    """A request-side fault's error in the Voso envelope (the shared middleware knows nothing of it)."""
    default_code, default_message = FAULT_DEFAULTS.get(status, ("HTTP_ERROR", f"HTTP {status}"))
    headers = {"Retry-After": str(max(0, math.ceil(float(retry_after))))} if retry_after is not None else {}
    body = envelope(st(request), status, code or default_code, message or default_message)
    return web.json_response(body, status=status, headers=headers)


def authenticate(request: web.Request) -> dict:
    """Checks the Token header and the per-token sliding window. Returns the token record."""
    state = st(request)
    token = request.headers.get("Token", "")
    rec = None
    for known, candidate in state.tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            rec = candidate
            break
    if rec is None or not token:
        raise ApiError(401, "TOKEN_INVALID", "Token không hợp lệ / invalid token")
    now = state.now()
    if take_fault(request, "expire_token", rec["shopId"], lambda a: now < rec["expiresAt"]):
        # The token expires "now", as if its TTL ran out under load: every caller holding it must log in again.
        rec["expiresAt"] = now
    if now >= rec["expiresAt"]:
        raise ApiError(401, "TOKEN_EXPIRED", "Token đã hết hạn, vui lòng đăng nhập lại / token expired")
    limit = int(state.limits["rate_per_s"])
    q = state.rate.setdefault(token, deque())
    allowed, reset_at = sliding_window(q, now, 1.0, limit)
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - len(q))),
        "X-RateLimit-Reset": str(math.ceil(reset_at)),
    }
    if not allowed:
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - now)))
        raise ApiError(429, "RATE_LIMITED", "Quá nhiều yêu cầu / too many requests", headers=headers)
    request[RATE_HEADERS_KEY] = headers
    return rec


@web.middleware
async def envelope_middleware(request: web.Request, handler):
    state = st(request)
    state.request_seq += 1
    body = await request.read() if request.can_read_body else b""
    try:
        response = await handler(request)
    except ApiError as exc:
        response = web.json_response(
            envelope(state, exc.status, exc.code, exc.message, exc.data), status=exc.status, headers=exc.headers
        )
    except web.HTTPException as exc:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status, "HTTP_ERROR")
        response = web.json_response(envelope(state, exc.status, code, exc.reason), status=exc.status)
    for k, v in request.get(RATE_HEADERS_KEY, {}).items():
        response.headers.setdefault(k, v)
    if request.path != "/__admin/requests":
        state.requests.append(
            {
                "seq": state.request_seq,
                "at": state.now(),
                "method": request.method,
                "path": request.path,
                "query": request.query_string,
                "headers": dict(request.headers),
                "body": body.decode("utf-8", "replace"),
                "status": response.status,
                **({"fault": request[FAULT_KEY]} if FAULT_KEY in request else {}),
            }
        )
    return response


# ---------------------------------------------------------------------------------------------- auth


async def login(request: web.Request) -> web.Response:
    state = st(request)
    body = await read_json(request)
    username, password = body.get("USERNAME"), body.get("PASSWORD")
    errors = [
        {"field": f, "code": "REQUIRED", "message": f"{f} is required"}
        for f, v in (("USERNAME", username), ("PASSWORD", password))
        if not isinstance(v, str) or not v
    ]
    if errors:
        raise validation_error(errors)
    now, limits = state.now(), state.limits
    user = state.users.get(username)
    if user is not None and now < user["lockedUntil"]:
        retry = math.ceil(user["lockedUntil"] - now)
        raise ApiError(423, "ACCOUNT_LOCKED", "Tài khoản bị khóa tạm thời", headers={"Retry-After": str(retry)})
    attempts = state.rate.setdefault(f"login:{username}", deque())
    allowed, reset_at = sliding_window(attempts, now, 60.0, int(limits["login_per_min"]))
    if not allowed:
        retry = str(max(1, math.ceil(reset_at - now)))
        raise ApiError(429, "RATE_LIMITED", "Quá nhiều lần đăng nhập / too many logins", headers={"Retry-After": retry})
    if user is None or not hmac.compare_digest(user["password"].encode(), password.encode()):
        if user is not None:
            user["failed"] += 1
            if user["failed"] >= int(limits["max_failed_logins"]):
                user["failed"] = 0
                user["lockedUntil"] = now + float(limits["lockout_s"])
                retry = str(math.ceil(float(limits["lockout_s"])))
                raise ApiError(423, "ACCOUNT_LOCKED", "Tài khoản bị khóa tạm thời", headers={"Retry-After": retry})
        raise ApiError(401, "INVALID_CREDENTIALS", "Sai tên đăng nhập hoặc mật khẩu / wrong username or password")
    user["failed"] = 0
    token = "vst_" + state.ids.hex(20)
    expires = now + float(limits["token_ttl_s"])
    state.tokens[token] = {"token": token, "shopId": user["shopId"], "userId": user["userId"], "expiresAt": expires}
    data = {"token": token, "shopId": user["shopId"], "userId": user["userId"], "expiresAt": int(expires * 1000)}
    return ok(state, data)


# ---------------------------------------------------------------------------------------------- master data


async def list_categories(request: web.Request) -> web.Response:
    authenticate(request)
    state = st(request)
    cats = [{k: v for k, v in c.items() if k != "medianPrice"} for c in state.categories.values()]
    return ok(state, cats)


async def list_warehouses(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    mine = [
        {k: v for k, v in w.items() if k != "shopId"} for w in state.warehouses.values() if w["shopId"] == rec["shopId"]
    ]
    return ok(state, mine)


async def create_warehouse(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    body = await read_json(request)
    errors = [
        {"field": f, "code": "REQUIRED", "message": f"{f} is required"}
        for f in ("name", "provinceCode", "districtCode", "wardCode", "address")
        if not isinstance(body.get(f), str) or not body.get(f)
    ]
    if errors:
        raise validation_error(errors)
    body.pop("warehouseId", None)
    return ok(state, state.add_warehouse(rec["shopId"], body), status=201)


# ---------------------------------------------------------------------------------------------- media


async def migrate(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    body = await read_json(request)
    urls = body.get("urls")
    if not isinstance(urls, list) or not 1 <= len(urls) <= 8 or not all(isinstance(u, str) for u in urls):
        raise validation_error([{"field": "urls", "code": "OUT_OF_RANGE", "message": "1–8 URL strings"}])
    now = state.now()
    q = state.migrate_rate.setdefault(rec["shopId"], deque())
    allowed, reset_at = sliding_window(q, now, 1.0, int(state.limits["migrate_per_s"]))
    if not allowed:
        raise ApiError(
            429,
            "RATE_LIMITED",
            "Quá nhiều lô ảnh / too many batches",
            headers={"Retry-After": str(max(1, math.ceil(reset_at - now)))},
        )
    batch_id = state.ids.next("MIG")
    partial = take_fault(request, "partial_batch", rec["shopId"])
    state.batches[batch_id] = {
        # partial_batch: these entries fail with `failCode` whatever their URL serves (a transient platform error).
        "failIndices": sorted(int(i) for i in partial.get("fail_indices") or []) if partial else [],
        "failCode": (partial.get("error_code") or partial.get("code") or "FETCH_TIMEOUT") if partial else None,
        "batchId": batch_id,
        "shopId": rec["shopId"],
        "urls": urls,
        "dueAt": now + float(state.limits["migrate_delay_s"]) * state.time_scale,
        "state": "PROCESSING",
        "results": [],
        "base": f"{request.scheme}://{request.host}",
    }
    return ok(state, {"batchId": batch_id}, status=202)


async def fetch_image(session: aiohttp.ClientSession, url: str) -> tuple[bytes | None, str | None]:
    """Fetches a loopback URL (at most 2 redirects, 5 s). Returns (bytes, None) or (None, errorCode)."""
    try:
        for _ in range(3):
            if not is_loopback_url(url):
                return None, "DOMAIN_BLOCKED"
            async with session.get(url, allow_redirects=False) as resp:
                if resp.status in (301, 302, 303, 307, 308) and resp.headers.get("Location"):
                    url = urljoin(url, resp.headers["Location"])
                    continue
                if 400 <= resp.status < 500:
                    return None, "HTTP_4XX"
                if resp.status >= 300:
                    return None, "HTTP_5XX"
                data = await resp.content.read(MAX_IMAGE_BYTES + 1)
                return data, None
        return None, "HTTP_4XX"  # too many redirects
    except TimeoutError:
        return None, "FETCH_TIMEOUT"
    except aiohttp.ClientError:
        return None, "HTTP_5XX"


async def process_batch(state: State, batch: dict) -> None:
    results = []
    failing = set(batch.get("failIndices") or [])
    urls = batch["urls"]
    wanted = [i for i, url in enumerate(urls) if i not in failing and is_loopback_url(url)]
    # The batch's images are fetched at once, over one client session (as a CDN's fetcher would).
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        fetched = dict(zip(wanted, await asyncio.gather(*(fetch_image(session, urls[i]) for i in wanted)), strict=True))
    for index, url in enumerate(urls):
        if index in failing:
            results.append({"sourceUrl": url, "ok": False, "errorCode": batch["failCode"]})
            continue
        data, error = fetched.get(index, (None, "DOMAIN_BLOCKED"))
        if error is None:
            info = image_dimensions(data)
            if len(data) > MAX_IMAGE_BYTES:
                error = "TOO_LARGE"
            elif info is None:
                error = "UNSUPPORTED_FORMAT"
            elif min(info[1], info[2]) < 330:
                error = "TOO_SMALL"
            elif max(info[1], info[2]) > 5000:
                error = "TOO_BIG_DIMENSION"
        if error:
            results.append({"sourceUrl": url, "ok": False, "errorCode": error})
            continue
        sha = hashlib.sha256(data).hexdigest()
        fmt, width, height = info
        state.cdn[sha] = {"sha256": sha, "bytes": data, "format": fmt, "width": width, "height": height}
        cdn_url = f"{batch['base']}/cdn/{sha}.jpg"
        results.append({"sourceUrl": url, "ok": True, "url": cdn_url, "sha256": sha, "width": width, "height": height})
    batch["results"], batch["state"] = results, "DONE"


async def run_due_batches(state: State) -> int:
    due = [b for b in state.batches.values() if b["state"] == "PROCESSING" and b["dueAt"] <= state.now()]
    for batch in due:
        await process_batch(state, batch)
    return len(due)


async def migrate_status(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    batch = state.batches.get(request.match_info["batchId"])
    if batch is None or batch["shopId"] != rec["shopId"]:
        raise ApiError(404, "BATCH_NOT_FOUND", "unknown batchId")
    if batch["state"] == "PROCESSING" and batch["dueAt"] <= state.now():
        await process_batch(state, batch)
    return ok(state, {"batchId": batch["batchId"], "state": batch["state"], "results": batch["results"]})


async def cdn_file(request: web.Request) -> web.Response:
    info = st(request).cdn.get(request.match_info["sha"])
    if info is None:
        raise ApiError(404, "NOT_FOUND", "no such image")
    return web.Response(body=info["bytes"], content_type="image/png" if info["format"] == "png" else "image/jpeg")


# ---------------------------------------------------------------------------------------------- products


def canonical(body: dict) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def find_sku_clash(state: State, shop_id: str, sku: str, exclude: str | None = None) -> dict | None:
    for p in state.products.values():
        if p["shopId"] != shop_id or p["productId"] == exclude or p.get("sellerSku") != sku:
            continue
        if p["status"] != "DELETED" or state.now() - p.get("deletedEpoch", 0) < 86400:
            return p
    return None


def find_external_clash(state: State, shop_id: str, ext, exclude: str | None = None) -> dict | None:
    if ext is None:
        return None
    for p in state.products.values():
        if (
            p["shopId"] == shop_id
            and p["productId"] != exclude
            and p.get("externalId") == ext
            and p["status"] != "DELETED"
        ):
            return p
    return None


def product_or_404(state: State, shop_id: str, product_id: str, *, allow_deleted: bool = False) -> dict:
    p = state.products.get(product_id)
    if p is None or p["shopId"] != shop_id or (p["status"] == "DELETED" and not allow_deleted):
        raise ApiError(404, "PRODUCT_NOT_FOUND", "Không tìm thấy sản phẩm / product not found")
    return p


async def create_product(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    shop_id = rec["shopId"]
    body = await read_json(request)
    key = request.headers.get("Idempotency-Key")
    now = state.now()
    if key is not None:
        if not 1 <= len(key) <= 128:
            raise validation_error(
                [{"field": "Idempotency-Key", "code": "OUT_OF_RANGE", "message": "1–128 characters"}]
            )
        stored = state.idempotency.get((shop_id, key))
        if stored and now - stored["at"] > float(state.limits["idempotency_ttl_s"]):
            stored = None
            del state.idempotency[(shop_id, key)]
        if stored:
            if stored["body"] != canonical(body):
                raise ApiError(409, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key đã dùng với nội dung khác / key reused")
            if stored.get("inProgress"):
                raise ApiError(409, "REQUEST_IN_PROGRESS", "Yêu cầu trước với khóa này đang xử lý / in progress")
            return web.json_response(
                stored["response"], status=stored["status"], headers={"Idempotent-Replayed": "true"}
            )
    quota = state.limits.get("daily_quota")
    day_key = (shop_id, state.local_day())
    if quota is not None and state.quota.get(day_key, 0) >= int(quota):
        retry = state.seconds_to_local_midnight()
        raise ApiError(
            429,
            "DAILY_LISTING_QUOTA",
            "Đã vượt hạn mức đăng sản phẩm trong ngày / daily listing quota exceeded",
            data={"quota": int(quota), "resetInSeconds": retry},
            headers={"Retry-After": str(retry)},
        )
    errors = validate_product(state, shop_id, body)
    if errors:
        raise validation_error(errors)  # validation failures are not stored under the key
    if key is not None:
        state.idempotency[(shop_id, key)] = {"at": now, "body": canonical(body), "inProgress": True}
    try:
        status, payload = _create(state, shop_id, body)
    except BaseException:
        if key is not None:
            state.idempotency.pop((shop_id, key), None)
        raise
    if key is not None:
        state.idempotency[(shop_id, key)] = {"at": now, "body": canonical(body), "status": status, "response": payload}
    return web.json_response(payload, status=status)


def _create(state: State, shop_id: str, body: dict) -> tuple[int, dict]:
    clash = find_sku_clash(state, shop_id, body["sellerSku"])
    if clash is not None:
        message = "sellerSku đã tồn tại / sellerSku already used"
        return 409, envelope(state, 409, "SELLER_SKU_DUPLICATE", message, {"existingProductId": clash["productId"]})
    clash = find_external_clash(state, shop_id, body.get("externalId"))
    if clash is not None:
        message = "externalId đã tồn tại / externalId already used"
        return 409, envelope(state, 409, "EXTERNAL_ID_DUPLICATE", message, {"existingProductId": clash["productId"]})
    product_id, sku_id = state.ids.next("VSP"), state.ids.next("VSK")
    now_iso = state.iso()
    product = {field: copy.deepcopy(body[field]) for field in (*CONTENT_FIELDS, *PRICE_STOCK_FIELDS) if field in body}
    product.update(
        {
            "productId": product_id,
            "skuId": sku_id,
            "shopId": shop_id,
            "status": "PENDING_QC",
            "version": 1,
            "createdAt": now_iso,
            "updatedAt": now_iso,
            "updatedEpoch": state.now(),
            "qc": {"status": "PENDING", "reasons": [], "reviewedAt": None},
            "sanction": None,
        }
    )
    state.before_write(product, created=True)
    state.products[product_id] = product
    day_key = (shop_id, state.local_day())
    state.quota[day_key] = state.quota.get(day_key, 0) + 1
    state.schedule_qc(product)
    data = {"productId": product_id, "status": "PENDING_QC", "version": 1, "createdAt": now_iso, "skuId": sku_id}
    return 201, envelope(state, 201, data=data)


def stale_seconds(request: web.Request, state: State, shop_id: str, product_ids: list[str]) -> float | None:
    """Under a stale_read fault, how long after a write reads still see the previous version; else None.

    The rule only counts (and uses up `times`) when one of the products read was written within its window."""
    action = take_fault(
        request, "stale_read", shop_id, lambda a: state.written_within(product_ids, float(a.get("seconds", 30)))
    )
    return float(action.get("seconds", 30)) if action else None


async def get_product(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    p = product_or_404(state, rec["shopId"], request.match_info["productId"], allow_deleted=True)
    seen = state.read_product(p, stale_seconds(request, state, rec["shopId"], [p["productId"]]))
    if seen is None:  # created moments ago: a lagging replica does not know it yet
        raise ApiError(404, "PRODUCT_NOT_FOUND", "Không tìm thấy sản phẩm / product not found")
    return ok(state, public_product(seen))


async def list_products(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    q = request.query
    errors = []
    try:
        page_size = int(q.get("pageSize", "20"))
        if not 1 <= page_size <= 50:
            raise ValueError
    except ValueError:
        errors.append({"field": "pageSize", "code": "OUT_OF_RANGE", "message": "1–50"})
        page_size = 20
    updated_from = None
    if q.get("updatedFrom"):
        try:
            updated_from = dt.datetime.fromisoformat(q["updatedFrom"].replace("Z", "+00:00")).timestamp()
        except ValueError:
            errors.append({"field": "updatedFrom", "code": "INVALID_FORMAT", "message": "ISO 8601 expected"})
    offset = 0
    if q.get("cursor"):
        try:
            offset = int(base64.urlsafe_b64decode(q["cursor"].encode()).decode())
        except ValueError:
            errors.append({"field": "cursor", "code": "INVALID_FORMAT", "message": "bad cursor"})
    if errors:
        raise validation_error(errors)
    mine = [p for p in state.products.values() if p["shopId"] == rec["shopId"]]
    stale_s = stale_seconds(request, state, rec["shopId"], [p["productId"] for p in mine])
    items = [
        p
        for p in (state.read_product(p, stale_s) for p in mine)
        if p is not None
        and (not q.get("status") or p["status"] == q["status"])
        and (not q.get("sellerSku") or p.get("sellerSku") == q["sellerSku"])
        and (not q.get("externalId") or p.get("externalId") == q["externalId"])
        and (updated_from is None or p["updatedEpoch"] >= updated_from)
    ]
    page = items[offset : offset + page_size]
    more = offset + page_size < len(items)
    cursor = base64.urlsafe_b64encode(str(offset + page_size).encode()).decode() if more else None
    return ok(state, {"items": [public_product(p) for p in page], "nextCursor": cursor})


def check_if_match(request: web.Request, p: dict) -> None:
    expected = request.headers.get("If-Match")
    if expected is None:
        return
    expected = expected.strip().removeprefix("W/").strip('"')
    if expected != str(p["version"]):
        raise ApiError(
            412, "VERSION_CONFLICT", "Phiên bản đã thay đổi / stale version", {"currentVersion": p["version"]}
        )


async def patch_product(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    p = product_or_404(state, rec["shopId"], request.match_info["productId"])
    body = await read_json(request)
    if p["status"] == "LOCKED":
        raise ApiError(423, "PRODUCT_LOCKED", "Sản phẩm bị khóa / product locked")
    check_if_match(request, p)
    unknown = sorted(set(body) - set(CONTENT_FIELDS) - set(PRICE_STOCK_FIELDS))
    errors = [{"field": f, "code": "UNKNOWN_FIELD", "message": "not an editable field"} for f in unknown]
    merged = {f: p[f] for f in (*CONTENT_FIELDS, *PRICE_STOCK_FIELDS) if f in p}
    merged.update(body)
    errors += validate_product(state, rec["shopId"], merged)
    if errors:
        raise validation_error(errors)
    if "sellerSku" in body and (clash := find_sku_clash(state, rec["shopId"], body["sellerSku"], p["productId"])):
        raise ApiError(409, "SELLER_SKU_DUPLICATE", "sellerSku đã tồn tại", {"existingProductId": clash["productId"]})
    if "externalId" in body and (
        clash := find_external_clash(state, rec["shopId"], body["externalId"], p["productId"])
    ):
        raise ApiError(409, "EXTERNAL_ID_DUPLICATE", "externalId đã tồn tại", {"existingProductId": clash["productId"]})
    changed = {f for f in body if p.get(f) != body[f]}
    if changed:
        state.before_write(p)
        for f in changed:
            p[f] = copy.deepcopy(body[f])
        p["version"] += 1
        p["updatedAt"], p["updatedEpoch"] = state.iso(), state.now()
        if changed & set(CONTENT_FIELDS):
            p["status"] = "PENDING_QC"
            p["qc"] = {"status": "PENDING", "reasons": [], "reviewedAt": None}
            p["sanction"] = None
            state.schedule_qc(p)
    return ok(state, {"productId": p["productId"], "status": p["status"], "version": p["version"]})


async def price_stock(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    p = product_or_404(state, rec["shopId"], request.match_info["productId"])
    body = await read_json(request)
    if p["status"] == "LOCKED":
        raise ApiError(423, "PRODUCT_LOCKED", "Sản phẩm bị khóa / product locked")
    check_if_match(request, p)
    errors = [
        {"field": f, "code": "UNKNOWN_FIELD", "message": "only price, salePrice, stock"}
        for f in sorted(set(body) - set(PRICE_STOCK_FIELDS))
    ]
    if not body:
        errors.append({"field": "body", "code": "REQUIRED", "message": "price, salePrice or stock"})
    merged = {f: p[f] for f in (*CONTENT_FIELDS, *PRICE_STOCK_FIELDS) if f in p}
    merged.update({k: v for k, v in body.items() if k in PRICE_STOCK_FIELDS})
    errors += [e for e in validate_product(state, rec["shopId"], merged) if e["field"] in PRICE_STOCK_FIELDS]
    if errors:
        raise validation_error(errors)
    changed = {f for f in body if p.get(f) != body[f]}
    if changed:
        state.before_write(p)
        for f in changed:
            p[f] = body[f]
        p["version"] += 1
        p["updatedAt"], p["updatedEpoch"] = state.iso(), state.now()
        if "stock" in changed:
            data = {"productId": p["productId"], "externalId": p.get("externalId"), "stock": p["stock"]}
            state.emit(p["shopId"], "product.stock_changed", {**data, "version": p["version"]})
    data = {"productId": p["productId"], "version": p["version"], **{f: p.get(f) for f in PRICE_STOCK_FIELDS}}
    return ok(state, data)


def _set_status(state: State, p: dict, status: str) -> dict:
    state.before_write(p)
    p["status"] = status
    p["version"] += 1
    p["updatedAt"], p["updatedEpoch"] = state.iso(), state.now()
    return {"productId": p["productId"], "status": status, "version": p["version"]}


async def deactivate(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    p = product_or_404(state, rec["shopId"], request.match_info["productId"])
    if p["status"] != "ACTIVE":
        raise ApiError(409, "INVALID_STATUS", f"Chỉ sản phẩm ACTIVE mới tạm ẩn được (hiện: {p['status']})")
    return ok(state, _set_status(state, p, "INACTIVE"))


async def activate(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    p = product_or_404(state, rec["shopId"], request.match_info["productId"])
    if p["status"] != "INACTIVE" or p["qc"]["status"] != "APPROVED":
        raise ApiError(409, "INVALID_STATUS", f"Không thể kích hoạt (hiện: {p['status']})")
    return ok(state, _set_status(state, p, "ACTIVE"))


async def delete_product(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    p = product_or_404(state, rec["shopId"], request.match_info["productId"])
    state.qc_jobs = [j for j in state.qc_jobs if j["productId"] != p["productId"]]
    p["deletedEpoch"] = state.now()
    return ok(state, _set_status(state, p, "DELETED"))


# ---------------------------------------------------------------------------------------------- webhooks

WEBHOOK_EVENTS = ("product.qc_updated", "product.stock_changed", "order.created", "order.status_updated")
QUEUE_FAULTS = ("duplicate", "reorder", "drop")  # decided once, when the event is queued
ATTEMPT_FAULTS = ("receiver_down", "bad_signature", "stale_timestamp")  # decided on every attempt
RETRY_DELAYS_S = (60, 300, 1800, 7200, 21600)  # +1 m, +5 m, +30 m, +2 h, +6 h (x time_scale), then FAILED
SECRET_GRACE_S = 86400
DELIVERY_TIMEOUT_S = 3  # "success = 2xx within 3 s"
DELIVERY_STATUSES = ("PENDING", "RETRYING", "DELIVERED", "FAILED")


def signature_header(state: State, shop_id: str, body: str, *, skew_s: float = 0.0, wrong: bool = False) -> str:
    """`t=<unix>,v1=<hex>[,v1=<hex>]`: one v1 per secret still valid. `skew_s` and `wrong` serve the
    stale_timestamp and bad_signature faults (a correct HMAC over an old t, or an HMAC under a wrong key)."""
    t = int(state.now() - skew_s)
    hook = state.webhooks[shop_id]
    valid = [s["secret"] for s in hook["secrets"] if s["validUntil"] is None or s["validUntil"] > state.now()]
    if wrong:
        valid = [sec + "-wrong" for sec in valid]
    sigs = [hmac.new(sec.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest() for sec in valid]
    return ",".join([f"t={t}", *(f"v1={sig}" for sig in sigs)])


async def post_delivery(state: State, d: dict, signature: str) -> tuple[int | None, str | None, int]:
    """One POST of a delivery's stored payload. Returns (HTTP status or None, error code or None, latency ms)."""
    headers = {"Content-Type": "application/json", "X-Voso-Event-Id": d["eventId"], "X-Voso-Signature": signature}
    status, error = None, None
    started = time.perf_counter()  # real time: the virtual clock is usually frozen in tests
    if not is_loopback_url(d["url"]):
        error = "CALLBACK_NOT_ALLOWED"
    else:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_S)) as session,
                session.post(d["url"], data=d["payload"].encode(), headers=headers, allow_redirects=False) as resp,
            ):
                status = resp.status
        except TimeoutError:
            error = "TIMEOUT"
        except aiohttp.ClientError as exc:
            error = type(exc).__name__
    return status, error, round((time.perf_counter() - started) * 1000)


def attempt_row(state: State, d: dict, status, error, latency_ms: int, signature, **extra) -> dict:
    """One row of the attempt log behind GET /__admin/deliveries."""
    return {
        "deliveryId": d["deliveryId"],
        "eventId": d["eventId"],
        "type": d["type"],
        "url": d["url"],
        "copy": d["copy"],
        "attempt": d["attempts"],
        "status": status,
        "error": error,
        "ok": status is not None and 200 <= status < 300,
        "latencyMs": latency_ms,
        "at": state.iso(),
        "signature": signature,
        "fault": None,
        **extra,
    }


def schedule_next(state: State, d: dict, success: bool) -> None:
    """DELIVERED on success; otherwise the next slot of +1 m, +5 m, +30 m, +2 h, +6 h (× time_scale), then FAILED."""
    if success:
        d["status"], d["nextAt"] = "DELIVERED", None
    elif d["scheduleStep"] > len(RETRY_DELAYS_S):
        d["status"], d["nextAt"] = "FAILED", None
    else:
        d["status"] = "RETRYING"
        d["nextAt"] = state.now() + RETRY_DELAYS_S[d["scheduleStep"] - 1] * state.time_scale


async def attempt_delivery(state: State, d: dict) -> None:
    # `attempts` counts every POST of the delivery's life (the attempt number in the log); `scheduleStep` is the
    # position in the current retry schedule, which a manual retry starts again.
    d["attempts"] += 1
    d["scheduleStep"] += 1
    # Attempt-time webhook faults (§4): the receiver must reject a bad or stale signature (the 4xx is a failure
    # and retries follow); receiver_down fails every attempt, without a POST, while its window lasts.
    fault = state.faults.take_event(ATTEMPT_FAULTS, (d["type"],), shop=d["shopId"], url=d["url"])
    kind = fault["type"] if fault else None
    skew = float(fault.get("skew_s", 900)) if kind == "stale_timestamp" else 0.0
    signature = signature_header(state, d["shopId"], d["payload"], skew_s=skew, wrong=kind == "bad_signature")
    if kind == "receiver_down":
        status, error, latency = None, "RECEIVER_DOWN", 0
    else:
        status, error, latency = await post_delivery(state, d, signature)
    d["lastStatus"], d["lastError"] = status, error
    row = attempt_row(state, d, status, error, latency, signature, fault=kind)
    state.attempts.append(row)
    schedule_next(state, d, row["ok"])


async def run_due_deliveries(state: State) -> int:
    now = state.now()
    due = [d for d in state.deliveries.values() if d["nextAt"] is not None and d["nextAt"] <= now]
    due.sort(key=lambda d: (d["nextAt"], d["n"]))
    for d in due:
        await attempt_delivery(state, d)
    return len(due)


def public_delivery(d: dict) -> dict:
    hidden = ("payload", "n", "createdEpoch", "scheduleStep")  # internal bookkeeping
    return {k: v for k, v in d.items() if k not in hidden} | {"payload": json.loads(d["payload"])}


async def put_webhook(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    body = await read_json(request)
    url, events = body.get("url"), body.get("events")
    errors = []
    if not isinstance(url, str) or not url:
        errors.append({"field": "url", "code": "REQUIRED", "message": "url is required"})
    if not isinstance(events, list) or not events or any(e not in WEBHOOK_EVENTS for e in events):
        errors.append({"field": "events", "code": "INVALID_VALUE", "message": f"subset of {list(WEBHOOK_EVENTS)}"})
    if errors:
        raise validation_error(errors)
    if not is_loopback_url(url):
        raise ApiError(400, "CALLBACK_NOT_ALLOWED", "Callback URL must resolve to loopback")
    hook = state.webhooks.get(rec["shopId"])
    if hook is None:
        secret = "vswh_" + state.ids.hex(24)
        hook = state.webhooks[rec["shopId"]] = {"secrets": [{"secret": secret, "validUntil": None}]}
    else:
        secret = None  # returned once: only on creation and rotation
    hook.update({"url": url, "events": list(events)})
    return ok(state, {"url": url, "events": hook["events"], "secret": secret})


async def rotate_secret(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    hook = state.webhooks.get(rec["shopId"])
    if hook is None:
        raise ApiError(404, "WEBHOOK_NOT_CONFIGURED", "PUT /v2/webhooks first")
    grace = state.now() + SECRET_GRACE_S
    for s in hook["secrets"]:
        if s["validUntil"] is None:
            s["validUntil"] = grace
    secret = "vswh_" + state.ids.hex(24)
    hook["secrets"] = [s for s in hook["secrets"] if s["validUntil"] > state.now()]
    hook["secrets"].insert(0, {"secret": secret, "validUntil": None})
    return ok(state, {"secret": secret, "previousValidUntil": state.iso(grace)})


async def list_deliveries(request: web.Request) -> web.Response:
    """`?status=PENDING|RETRYING|DELIVERED|FAILED&pageSize≤100&cursor`: seek-paged in creation order, so a delivery
    leaving the FAILED list (after a manual retry) never shifts the next page."""
    rec = authenticate(request)
    state = st(request)
    q = request.query
    errors = []
    status = q.get("status")
    if status and status not in DELIVERY_STATUSES:
        errors.append({"field": "status", "code": "INVALID_VALUE", "message": "|".join(DELIVERY_STATUSES)})
    try:
        page_size = int(q.get("pageSize", "50"))
        if not 1 <= page_size <= 100:
            raise ValueError
    except ValueError:
        errors.append({"field": "pageSize", "code": "OUT_OF_RANGE", "message": "1–100"})
    after = 0
    if q.get("cursor"):
        try:
            after = int(base64.urlsafe_b64decode(q["cursor"].encode()).decode().removeprefix("n:"))
        except (ValueError, binascii.Error):
            errors.append({"field": "cursor", "code": "INVALID_FORMAT", "message": "bad cursor"})
    if errors:
        raise validation_error(errors)
    state.purge()
    items = sorted(
        (
            d
            for d in state.deliveries.values()
            if d["shopId"] == rec["shopId"] and (not status or d["status"] == status) and d["n"] > after
        ),
        key=lambda d: d["n"],
    )
    page = items[:page_size]
    more = len(items) > page_size
    cursor = base64.urlsafe_b64encode(f"n:{page[-1]['n']}".encode()).decode() if more else None
    return ok(state, {"items": [public_delivery(d) for d in page], "nextCursor": cursor})


async def retry_delivery(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    state.purge()
    d = state.deliveries.get(request.match_info["deliveryId"])
    if d is None or d["shopId"] != rec["shopId"]:
        raise ApiError(404, "DELIVERY_NOT_FOUND", "unknown deliveryId (payloads are kept 14 days)")
    if rec["shopId"] not in state.webhooks:
        raise ApiError(404, "WEBHOOK_NOT_CONFIGURED", "PUT /v2/webhooks first")
    d["url"] = state.webhooks[rec["shopId"]]["url"]
    d["scheduleStep"] = 0  # a manual retry starts a fresh schedule
    await attempt_delivery(state, d)
    return ok(state, public_delivery(d))


async def admin_deliveries(request: web.Request) -> web.Response:
    state = st(request)
    return raw_json({"attempts": state.attempts, "deliveries": [public_delivery(d) for d in state.deliveries.values()]})


# ---------------------------------------------------------------------------------------------- admin


async def admin_reset(request: web.Request) -> web.Response:
    body = await read_json(request, required=False)
    conf = request.app[CONF_KEY]
    seed = int(body.get("seed", conf["seed"]))
    clock = request.app[CLOCK_KEY]
    clock.set_offset(0)
    request.app[STATE_KEY].__init__(seed, conf["time_scale"], clock)
    return raw_json({"ok": True, "seed": seed})


async def admin_state(request: web.Request) -> web.Response:
    return raw_json(st(request).summary())


async def admin_requests(request: web.Request) -> web.Response:
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        limit = 100
    items = list(st(request).requests)
    return raw_json({"requests": items[-limit:] if limit > 0 else []})


async def admin_clock(request: web.Request) -> web.Response:
    body = await read_json(request)
    clock = request.app[CLOCK_KEY]
    if "offset_s" in body:
        clock.set_offset(float(body["offset_s"]))
    if "freeze_at" in body:
        if body["freeze_at"] is None:
            clock.unfreeze()
        else:
            clock.freeze(float(body["freeze_at"]))
    if "advance_s" in body:
        clock.advance(float(body["advance_s"]))
    return raw_json(clock.describe())


async def admin_tick(request: web.Request) -> web.Response:
    body = await read_json(request, required=False)
    state = st(request)
    state.clock.advance(float(body.get("seconds", 0)))
    result = state.run_due()
    result["batchesProcessed"] = await run_due_batches(state)
    result["webhooksAttempted"] = await run_due_deliveries(state)
    return raw_json({"now": state.now(), **result})


async def admin_shops(request: web.Request) -> web.Response:
    state = st(request)
    body = await read_json(request)
    shop = state.add_shop(body)
    for wh in body.get("warehouses", []):
        state.add_warehouse(shop["shopId"], wh)
    return raw_json(shop, status=201)


async def admin_warehouses(request: web.Request) -> web.Response:
    state = st(request)
    body = await read_json(request)
    return raw_json(state.add_warehouse(str(body.get("shopId")), body), status=201)


async def admin_categories(request: web.Request) -> web.Response:
    state = st(request)
    body = await read_json(request)
    code = body.get("categoryCode")
    if not isinstance(code, str) or not code:
        raise validation_error([{"field": "categoryCode", "code": "REQUIRED", "message": "required"}])
    state.categories[code] = {
        "categoryCode": code,
        "name": body.get("name", code),
        "parentCode": body.get("parentCode"),
        "leaf": bool(body.get("leaf", True)),
        "requiredCertificates": list(body.get("requiredCertificates", [])),
        "attributes": list(body.get("attributes", [])),
        "medianPrice": int(body.get("medianPrice", 0)),
    }
    return raw_json(state.categories[code], status=201)


async def admin_ocop(request: web.Request) -> web.Response:
    state = st(request)
    body = await read_json(request)
    rows = body.get("certificates", [body])
    for row in rows:
        if not row.get("number") or row.get("star") not in (3, 4, 5) or not row.get("expiryDate"):
            raise validation_error([{"field": "certificate", "code": "INVALID", "message": "number, star, expiryDate"}])
        state.ocop[row["number"]] = {
            "number": row["number"],
            "star": row["star"],
            "issuedBy": row.get("issuedBy", ""),
            "provinceCode": row.get("provinceCode", ""),
            "issuedDate": row.get("issuedDate", ""),
            "expiryDate": row["expiryDate"],
        }
    return raw_json({"count": len(rows)}, status=201)


async def admin_review(request: web.Request) -> web.Response:
    state = st(request)
    body = await read_json(request)
    p = state.products.get(request.match_info["productId"])
    if p is None or p["status"] == "DELETED":
        raise ApiError(404, "PRODUCT_NOT_FOUND", "unknown product")
    decision = body.get("decision")
    reasons = body.get("reasons") or []
    if decision not in ("approve", "reject", "ban", "lock") or not isinstance(reasons, list):
        raise validation_error([{"field": "decision", "code": "INVALID_VALUE", "message": "approve|reject|ban|lock"}])
    state.qc_jobs = [j for j in state.qc_jobs if j["productId"] != p["productId"]]
    state.before_write(p)
    at = state.iso()
    reason_text = "; ".join(str(r.get("message") or r.get("code")) for r in reasons) if reasons else decision
    if decision == "approve":
        p["sanction"] = None
        state.set_qc(p, "APPROVED", [], "ACTIVE")
    elif decision == "reject" and p["status"] in ("PENDING_QC", "REJECTED"):
        state.set_qc(p, "REJECTED", reasons, "REJECTED")
    elif decision in ("reject", "ban"):
        p["sanction"] = {"type": "LIVE_REJECTED", "reason": reason_text, "reasons": reasons, "at": at}
        state.set_qc(p, "REJECTED", reasons, "LIVE_REJECTED")
    else:
        p["sanction"] = {"type": "LOCKED", "reason": reason_text, "reasons": reasons, "at": at}
        p["status"] = "LOCKED"
        p["updatedAt"], p["updatedEpoch"] = at, state.now()
    return raw_json(public_product(p))


async def admin_review_config(request: web.Request) -> web.Response:
    state = st(request)
    body = await read_json(request)
    allowed = set(seed_data.DEFAULT_REVIEW_CONFIG)
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise validation_error([{"field": f, "code": "UNKNOWN_FIELD", "message": "unknown key"} for f in unknown])
    if body.get("mode", "auto") not in ("auto", "manual"):
        raise validation_error([{"field": "mode", "code": "INVALID_VALUE", "message": "auto|manual"}])
    state.review_config.update(copy.deepcopy(body))
    return raw_json(state.review_config)


async def admin_limits(request: web.Request) -> web.Response:
    state = st(request)
    if request.method == "PUT":
        body = await read_json(request)
        unknown = sorted(set(body) - set(seed_data.DEFAULT_LIMITS))
        if unknown:
            raise validation_error([{"field": f, "code": "UNKNOWN_FIELD", "message": "unknown key"} for f in unknown])
        state.limits.update(body)
    return raw_json(state.limits)


async def admin_revoke_tokens(request: web.Request) -> web.Response:
    state = st(request)
    n = len(state.tokens)
    state.tokens.clear()
    return raw_json({"revoked": n})


async def admin_events(request: web.Request) -> web.Response:
    return raw_json({"events": st(request).events})


# ---------------------------------------------------------------------------------------------- orders


async def admin_create_order(request: web.Request) -> web.Response:
    state = st(request)
    order = orders_mod.create_order(state, await read_json(request))
    return raw_json(orders_mod.public_order(order), status=201)


async def admin_transition_order(request: web.Request) -> web.Response:
    state = st(request)
    body = await read_json(request)
    order = orders_mod.transition_order(state, request.match_info["orderId"], body.get("to"))
    return raw_json(orders_mod.public_order(order))


async def search_orders(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    return ok(state, orders_mod.search_orders(state, rec["shopId"], request.query))


async def order_changes(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    return ok(state, orders_mod.read_changes(state, rec["shopId"], request.query))


async def get_order(request: web.Request) -> web.Response:
    rec = authenticate(request)
    state = st(request)
    order = orders_mod.get_order(state, rec["shopId"], request.match_info["orderId"])
    return ok(state, orders_mod.public_order(order))


# ---------------------------------------------------------------------------------------------- snapshot


def _snapshot_path(request: web.Request, body: dict, *, required: bool) -> Path:
    raw = body.get("path")
    if raw is None and not required:
        return snapshot_mod.default_path(st(request).seed)
    if not isinstance(raw, str) or not raw.endswith(".json"):
        # Only *.json paths: an admin typo must not overwrite an arbitrary file of the machine.
        raise validation_error([{"field": "path", "code": "INVALID_VALUE", "message": "a path ending in .json"}])
    return Path(raw).expanduser()


async def admin_snapshot(request: web.Request) -> web.Response:
    """`{"path"?: "/…/x.json"}` → `{"path", "bytes", "counts"}`; without a path, snapshot.default_path(seed)."""
    state = st(request)
    path = _snapshot_path(request, await read_json(request, required=False), required=False)
    doc = snapshot_mod.dump_state(state, request.app[CLOCK_KEY], skip=("clock", "faults"))
    doc["faults"] = state.faults.to_dict()
    size = snapshot_mod.write(path, doc)
    counts = {k: len(getattr(state, k)) for k in ("products", "orders", "deliveries", "events", "tokens")}
    return raw_json({"ok": True, "path": str(path), "bytes": size, "counts": counts})


async def admin_restore(request: web.Request) -> web.Response:
    """`{"path": "/…/x.json", "restoreClock"?: true}` → `{"ok", "path", "counts"}`; the file replaces all state."""
    state = st(request)
    body = await read_json(request)
    path = _snapshot_path(request, body, required=True)
    try:
        doc = snapshot_mod.read(path)
    except FileNotFoundError as exc:
        raise ApiError(404, "SNAPSHOT_NOT_FOUND", f"no snapshot at {path}") from exc
    except (OSError, ValueError) as exc:
        raise validation_error([{"field": "path", "code": "INVALID_SNAPSHOT", "message": str(exc)}]) from exc
    clock = request.app[CLOCK_KEY]
    seed = doc.get("state", {}).get("seed", state.seed)
    state.__init__(seed, state.time_scale, clock)
    try:
        snapshot_mod.load_state(state, clock, doc, restore_clock=bool(body.get("restoreClock", True)))
    except (KeyError, TypeError, ValueError) as exc:
        state.__init__(seed, state.time_scale, clock)  # never leave half a restore behind
        raise validation_error([{"field": "path", "code": "INVALID_SNAPSHOT", "message": str(exc)}]) from exc
    if doc.get("faults"):
        state.faults.load(doc["faults"])
    # A request that was running when the snapshot was taken will never finish in this process.
    state.idempotency = {k: v for k, v in state.idempotency.items() if not v.get("inProgress")}
    counts = {k: len(getattr(state, k)) for k in ("products", "orders", "deliveries", "events", "tokens")}
    return raw_json({"ok": True, "path": str(path), "counts": counts})


async def _scheduler(app: web.Application):
    """Background loop for the standalone process; tests drive schedulers with POST /__admin/tick instead."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(0.2)
            state = app[STATE_KEY]
            try:
                state.run_due()
                await run_due_batches(state)
                await run_due_deliveries(state)
            except Exception as exc:  # keep the loop alive; the failure is visible in the process log
                print(f"voso scheduler error: {exc!r}", flush=True)

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(*, seed: int = 0, time_scale: float = 1.0, run_scheduler: bool = False) -> web.Application:
    clock = Clock()
    faults = fault_middleware(lambda request: st(request).faults, fault_error, shop_of=shop_of_request)
    # The envelope middleware is outermost so the request log shows what a fault made of each call.
    app = web.Application(middlewares=[envelope_middleware, faults], client_max_size=4 * 1024 * 1024)
    if run_scheduler:
        app.cleanup_ctx.append(_scheduler)
    app[CLOCK_KEY] = clock
    app[CONF_KEY] = {"seed": seed, "time_scale": time_scale}
    app[STATE_KEY] = State(seed, time_scale, clock)
    r = app.router
    r.add_post("/v2/user/Login", login)
    r.add_get("/v2/categories", list_categories)
    r.add_get("/v2/warehouses", list_warehouses)
    r.add_post("/v2/warehouses", create_warehouse)
    r.add_post("/v2/media/migrate", migrate)
    r.add_get("/v2/media/migrate/{batchId}", migrate_status)
    r.add_get("/cdn/{sha:[0-9a-f]{64}}.jpg", cdn_file)
    r.add_post("/v2/products", create_product)
    r.add_get("/v2/products", list_products)
    r.add_get("/v2/products/{productId}", get_product)
    r.add_patch("/v2/products/{productId}", patch_product)
    r.add_delete("/v2/products/{productId}", delete_product)
    r.add_put("/v2/products/{productId}/price-stock", price_stock)
    r.add_post("/v2/products/{productId}/deactivate", deactivate)
    r.add_post("/v2/products/{productId}/activate", activate)
    r.add_post("/__admin/reset", admin_reset)
    r.add_get("/__admin/state", admin_state)
    r.add_get("/__admin/requests", admin_requests)
    r.add_post("/__admin/clock", admin_clock)
    r.add_post("/__admin/tick", admin_tick)
    r.add_post("/__admin/shops", admin_shops)
    r.add_post("/__admin/warehouses", admin_warehouses)
    r.add_post("/__admin/categories", admin_categories)
    r.add_post("/__admin/ocop-certificates", admin_ocop)
    r.add_post("/__admin/review/{productId}", admin_review)
    r.add_put("/__admin/review-config", admin_review_config)
    r.add_get("/__admin/limits", admin_limits)
    r.add_put("/__admin/limits", admin_limits)
    r.add_post("/__admin/tokens/revoke-all", admin_revoke_tokens)
    r.add_get("/__admin/events", admin_events)
    r.add_get("/__admin/deliveries", admin_deliveries)
    r.add_put("/v2/webhooks", put_webhook)
    r.add_post("/v2/webhooks/rotate-secret", rotate_secret)
    r.add_get("/v2/webhooks/deliveries", list_deliveries)
    r.add_post("/v2/webhooks/deliveries/{deliveryId}/retry", retry_delivery)
    r.add_get("/v2/orders", search_orders)
    r.add_get("/v2/orders/changes", order_changes)  # before /v2/orders/{orderId}: routes match in this order
    r.add_get("/v2/orders/{orderId}", get_order)
    r.add_post("/__admin/orders", admin_create_order)
    r.add_post("/__admin/orders/{orderId}/transition", admin_transition_order)
    r.add_post("/__admin/snapshot", admin_snapshot)
    r.add_post("/__admin/restore", admin_restore)
    register_admin_routes(app, lambda request: st(request).faults)  # POST/GET/DELETE /__admin/faults
    return app
