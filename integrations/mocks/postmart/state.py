"""In-memory state, auth, rate limits, validation and the moderation engine of the Postmart-like mock."""

from __future__ import annotations

import copy
import hashlib
import hmac
import math
import random
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.mocks.clock import Clock
from integrations.mocks.faults import Faults

from .errors import ApiError, as_int
from .push import enqueue
from .snapshot import decode, encode

SNAPSHOT_FORMAT = "postmart-snapshot/1"
# Runtime objects rebuilt rather than serialized: the clock and RNGs are saved by value, rate buckets start full.
SNAPSHOT_SPECIAL = {"clock", "buckets", "ids", "jitter_rng", "faults"}

DAY = 86400
FOOD_MIN_IMAGES = 3
OCOP_ATTRIBUTES = (9001, 9002, 9003, 9004, 9005, 9006)
CONTENT_FIELDS = (
    "item_name",
    "description",
    "image",
    "category_id",
    "attribute_list",
    "weight",
    "dimension",
)
WRITE_PATHS = {
    "/api/v2/product/add_item",
    "/api/v2/product/update_item",
    "/api/v2/media_space/upload_image",
}

# (id, parent, original name, display name (vi), ocop_required, food, median price VND)
DEFAULT_CATEGORIES = [
    (100, 0, "Food & Beverages", "Thực phẩm & Đồ uống", False, True, None),
    (101, 100, "Honey", "Mật ong", True, True, 250_000),
    (102, 100, "Tea", "Trà", True, True, 200_000),
    (103, 100, "Rice", "Gạo", True, True, 120_000),
    (104, 100, "Coffee", "Cà phê", True, True, 180_000),
    (105, 100, "Dried specialities", "Đặc sản sấy khô", True, True, 300_000),
    (106, 100, "Fish sauce", "Nước mắm", True, True, 150_000),
    (200, 0, "Health", "Sức khỏe", False, False, None),
    (201, 200, "Medicinal herbs", "Dược liệu", True, False, 350_000),
    (300, 0, "Handicrafts", "Thủ công mỹ nghệ", False, False, None),
    (301, 300, "Rattan and bamboo crafts", "Mây tre đan", False, False, 400_000),
    (302, 300, "Brocade textiles", "Thổ cẩm", False, False, 600_000),
]
PROVINCES = [
    "Hà Giang",
    "Tuyên Quang",
    "Cao Bằng",
    "Lạng Sơn",
    "Lào Cai",
    "Yên Bái",
    "Thái Nguyên",
    "Bắc Kạn",
    "Sơn La",
    "Điện Biên",
    "Lai Châu",
    "Hòa Bình",
]
CHANNELS = [
    {"logistics_channel_id": 50011, "logistics_channel_name": "VNPost Chuyển phát nhanh", "max_kg": 30},
    {"logistics_channel_id": 50012, "logistics_channel_name": "VNPost Tiết kiệm", "max_kg": 30},
]
DEFAULT_PROHIBITED = ["chữa bệnh", "chữa khỏi", "thuốc", "100% khỏi"]
BAN_MESSAGES = {
    "OCOP_CERT_EXPIRED": "Giấy chứng nhận OCOP đã hết hạn",
    "OCOP_CERT_INVALID": "Giấy chứng nhận OCOP không hợp lệ hoặc không khớp số sao",
    "PROHIBITED_CLAIM": "Nội dung chứa tuyên bố bị cấm",
    "IMAGE_QUALITY": "Hình ảnh không đạt yêu cầu chất lượng",
    "PRICE_ABNORMAL": "Giá bất thường so với mặt bằng danh mục",
    "ADMIN_REJECT": "Sản phẩm bị từ chối khi kiểm duyệt",
    "ADMIN_BAN": "Sản phẩm vi phạm chính sách",
    "ITEM_LOCKED": "Sản phẩm bị khóa",
}


def normalize_text(value: str) -> str:
    text = unicodedata.normalize("NFC", value).casefold()
    return re.sub(r"\s+", " ", text).strip()


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class Bucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.last = now

    def take(self, now: float) -> float:
        """Take one token; return 0 on success, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.last) * self.rate)
        self.last = max(self.last, now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else 3600.0


class State:
    def __init__(self, *, seed: int = 0, time_scale: float = 1.0, clock: Clock | None = None) -> None:
        self.seed = seed
        self.time_scale = time_scale
        self.clock = clock or Clock()
        self.reset()

    # ------------------------------------------------------------------ setup

    def reset(self) -> None:
        self.ids = random.Random(f"postmart-ids-{self.seed}")
        self.jitter_rng = random.Random(f"postmart-jitter-{self.seed}")
        self.request_counter = 0
        self.next_item_id = 3_000_000_000 + self.ids.randrange(1_000_000) * 1000
        self.config = {
            "access_ttl": 14400,
            "refresh_ttl": 30 * DAY,
            "auth_ttl": 365 * DAY,
            "code_ttl": 600,
            "image_ttl": 3 * DAY,
            "min_image_px": 500,
            "max_image_bytes": 10 * 1024 * 1024,
            "timestamp_window": 300,
            "auth_partner_shop_id": None,
            # orders (§2 Orders (PM))
            "order_window_max_s": 15 * DAY,
            "cursor_ttl": 600,
            # pushes (§2 Push (PM)); retry delays are multiplied by time_scale
            "push_timeout_s": 3.0,
            "strict_empty_body": True,
            "push_retry_delays": [60, 300, 1800],
            "lost_push_retention_s": 3 * DAY,
            "push_health_window_s": 6 * 3600,
            "push_health_min_pushes": 600,
            "push_health_min_success": 0.3,
        }
        self.limits = {
            "enabled": True,
            "shop_rate": 10.0,
            "shop_burst": 20.0,
            "write_rate": 2.0,
            "write_burst": 4.0,
            "partner_per_min": 1000.0,
        }
        self.review = {
            "mode": "auto",
            "delay_s": 300.0,
            "jitter_s": 30.0,
            "shop_modes": {},
            "prohibited_terms": list(DEFAULT_PROHIBITED),
            "bad_image_sha256": [],
        }
        self.buckets: dict[tuple, Bucket] = {}
        self.partners: dict[int, str] = {}
        self.shops: dict[int, dict] = {}
        self.categories: dict[int, dict] = {}
        self.registry: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.authorizations: dict[tuple[int, int], float] = {}
        self.images: dict[str, dict] = {}
        self.items: dict[int, dict] = {}
        self.jobs: list[dict] = []
        self.outbox: list[dict] = []
        self.request_log: list[dict] = []
        self.faults = Faults(seed=f"postmart-{self.seed}", now=self.clock.now)
        # item_id -> {"prev": the item before its last write (None: it did not exist), "written_at"}: stale_read
        self.item_versions: dict[int, dict] = {}
        self.orders: dict[str, dict] = {}
        self.push_configs: dict[int, dict] = {}
        self.push_queue: list[dict] = []
        self.lost_push: list[dict] = []
        self.deliveries: list[dict] = []
        self.counters = {"event": 0, "delivery": 0, "lost": 0}
        for cid, parent, name, display, ocop, food, median in DEFAULT_CATEGORIES:
            self.add_category(
                {
                    "category_id": cid,
                    "parent_category_id": parent,
                    "original_category_name": name,
                    "display_category_name": display,
                    "ocop_required": ocop,
                    "food": food,
                    "median_price": median,
                }
            )
        now = int(self.clock.now())
        self.add_certificate({"certificate_no": "OCOP-HG-2024-0001", "star": 4, "issued_by": "UBND tỉnh Hà Giang"})
        self.add_certificate({"certificate_no": "OCOP-LC-2023-0002", "star": 3, "issued_by": "UBND tỉnh Lào Cai"})
        self.add_certificate({"certificate_no": "OCOP-TQ-2025-0003", "star": 5, "issued_by": "Bộ NN&PTNT"})
        self.add_certificate(
            {"certificate_no": "OCOP-YB-2020-0004", "star": 3, "issued_by": "UBND tỉnh Yên Bái", "expiry": now - DAY}
        )

    def next_hex(self, n: int = 32) -> str:
        return f"{self.ids.getrandbits(4 * n):0{n}x}"

    def next_request_id(self) -> str:
        self.request_counter += 1
        return hashlib.sha256(f"{self.seed}:{self.request_counter}".encode()).hexdigest()[:32]

    def add_partner(self, data: dict) -> dict:
        partner_id = as_int(data.get("partner_id"))
        if partner_id is None:
            partner_id = 1_000_000 + self.ids.randrange(1_000_000)
        key = str(data.get("partner_key") or self.next_hex(64))
        self.partners[partner_id] = key
        return {"partner_id": partner_id, "partner_key": key}

    def add_shop(self, data: dict) -> dict:
        shop_id = as_int(data.get("shop_id"))
        if shop_id is None:
            shop_id = 2_000_000 + self.ids.randrange(1_000_000)
        addresses = data.get("addresses") or [
            {
                "address_id": shop_id * 10 + 1,
                "region": "VN",
                "state": "Hà Giang",
                "city": "Thành phố Hà Giang",
                "district": "Phường Minh Khai",
                "address": "Số 1 đường Nguyễn Trãi",
                "address_type": ["PICKUP_ADDRESS"],
            }
        ]
        shop = {
            "shop_id": shop_id,
            "shop_name": data.get("shop_name") or f"Shop {shop_id}",
            "addresses": addresses,
        }
        self.shops[shop_id] = shop
        if data.get("review_mode") in ("auto", "manual"):
            self.review["shop_modes"][str(shop_id)] = data["review_mode"]
        return shop

    def add_category(self, data: dict) -> dict:
        cid = as_int(data.get("category_id"))
        if cid is None:
            raise ApiError("error_param", "category_id is required")
        cat = {
            "category_id": cid,
            "parent_category_id": as_int(data.get("parent_category_id")) or 0,
            "original_category_name": data.get("original_category_name") or f"Category {cid}",
            "display_category_name": data.get("display_category_name") or data.get("original_category_name") or "",
            "ocop_required": bool(data.get("ocop_required", False)),
            "food": bool(data.get("food", False)),
            "median_price": data.get("median_price"),
        }
        self.categories[cid] = cat
        return cat

    def is_leaf(self, cid: int) -> bool:
        return cid in self.categories and not any(c["parent_category_id"] == cid for c in self.categories.values())

    def add_certificate(self, data: dict) -> dict:
        no = str(data.get("certificate_no") or "")
        if not no:
            raise ApiError("error_param", "certificate_no is required")
        cert = {
            "certificate_no": no,
            "star": as_int(data.get("star")) or 3,
            "issued_by": data.get("issued_by") or "",
            "expiry": as_int(data.get("expiry")),
        }
        self.registry[no] = cert
        return cert

    # ------------------------------------------------------------------ rate limits and auth

    def check_rate(self, partner: str, shop: str, path: str) -> None:
        if not self.limits["enabled"]:
            return
        now = self.clock.now()
        checks = [
            (("partner", partner), self.limits["partner_per_min"] / 60.0, self.limits["partner_per_min"]),
            (("shop", partner, shop), self.limits["shop_rate"], self.limits["shop_burst"]),
        ]
        if path in WRITE_PATHS:
            checks.append((("write", partner, shop), self.limits["write_rate"], self.limits["write_burst"]))
        for key, rate, burst in checks:
            bucket = self.buckets.get(key)
            if bucket is None or bucket.rate != rate or bucket.burst != burst:
                bucket = self.buckets[key] = Bucket(rate, burst, now)
            wait = bucket.take(now)
            if wait > 0:
                retry = max(1, math.ceil(wait))
                raise ApiError(
                    "error_too_many_request",
                    "Too many requests, please try again later.",
                    429,
                    headers={"Retry-After": str(retry)},
                )

    def authenticate(self, path: str, query: Any, kind: str) -> dict:
        required = ["partner_id", "timestamp", "sign"]
        if kind == "shop":
            required += ["access_token", "shop_id"]
        for name in required:
            if not query.get(name):
                raise ApiError("error_param", f"There is no {name} in query.", 400)
        partner_id = as_int(query["partner_id"])
        if partner_id is None or partner_id not in self.partners:
            raise ApiError("error_param", "Invalid partner_id.", 403)
        timestamp = as_int(query["timestamp"])
        now = self.clock.now()
        if timestamp is None or abs(timestamp - now) > self.config["timestamp_window"]:
            raise ApiError("error_param", "Invalid timestamp", 403)
        base = f"{query['partner_id']}{path}{query['timestamp']}"
        if kind == "shop":
            base += f"{query['access_token']}{query['shop_id']}"
        expected = hmac.new(self.partners[partner_id].encode(), base.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(query["sign"]).lower()):
            raise ApiError("error_sign", "Wrong sign.", 403)
        ctx = {"partner_id": partner_id, "shop_id": None}
        if kind != "shop":
            return ctx
        shop_id = as_int(query["shop_id"])
        if shop_id is None or shop_id not in self.shops:
            raise ApiError("error_param", "Invalid shop_id.", 403)
        auth_expire = self.authorizations.get((partner_id, shop_id))
        if auth_expire is not None and auth_expire <= now:
            raise ApiError("shop_access_expired", "The shop authorization has expired.", 403)
        token = self.access_tokens.get(str(query["access_token"]))
        if (
            token is None
            or token["expire_at"] <= now
            or token["shop_id"] != shop_id
            or token["partner_id"] != partner_id
        ):
            raise ApiError("error_auth", "Invalid access_token.", 403)
        ctx["shop_id"] = shop_id
        return ctx

    def issue_code(self, shop_id: int, partner_id: int | None = None) -> str:
        if shop_id not in self.shops:
            raise ApiError("error_not_found", "Shop not found.", 404)
        code = self.next_hex(32)
        self.codes[code] = {
            "shop_id": shop_id,
            "partner_id": partner_id,
            "expire_at": self.clock.now() + self.config["code_ttl"],
            "used": False,
        }
        return code

    def _issue_tokens(self, partner_id: int, shop_id: int) -> dict:
        now = self.clock.now()
        access, refresh = self.next_hex(32), self.next_hex(32)
        self.access_tokens[access] = {
            "partner_id": partner_id,
            "shop_id": shop_id,
            "expire_at": now + self.config["access_ttl"],
        }
        self.refresh_tokens[refresh] = {
            "partner_id": partner_id,
            "shop_id": shop_id,
            "expire_at": now + self.config["refresh_ttl"],
            "used": False,
        }
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expire_in": int(self.config["access_ttl"]),
            "partner_id": partner_id,
            "shop_id": shop_id,
        }

    def token_get(self, partner_id: int, body: dict) -> dict:
        code = self.codes.get(str(body.get("code") or ""))
        shop_id = as_int(body.get("shop_id"))
        now = self.clock.now()
        if (
            code is None
            or code["used"]
            or code["expire_at"] <= now
            or code["shop_id"] != shop_id
            or code["partner_id"] not in (None, partner_id)
        ):
            raise ApiError("error_auth", "Invalid code.", 403)
        code["used"] = True
        self.authorizations[(partner_id, shop_id)] = now + self.config["auth_ttl"]
        return self._issue_tokens(partner_id, shop_id)

    def refresh(self, partner_id: int, body: dict) -> dict:
        token = self.refresh_tokens.get(str(body.get("refresh_token") or ""))
        shop_id = as_int(body.get("shop_id"))
        now = self.clock.now()
        if (
            token is None
            or token["used"]
            or token["expire_at"] <= now
            or token["shop_id"] != shop_id
            or token["partner_id"] != partner_id
        ):
            raise ApiError("error_shop_refresh_token", "Invalid refresh_token.", 403)
        auth_expire = self.authorizations.get((partner_id, shop_id))
        if auth_expire is not None and auth_expire <= now:
            raise ApiError("shop_access_expired", "The shop authorization has expired.", 403)
        token["used"] = True
        return self._issue_tokens(partner_id, shop_id)

    # ------------------------------------------------------------------ master data

    def attributes_for(self, cid: int) -> list[dict]:
        cat = self.categories[cid]
        mandatory = cat["ocop_required"]
        star_values = [{"value_id": s, "original_value_name": str(s)} for s in (3, 4, 5)]
        province_values = [{"value_id": i + 1, "original_value_name": p} for i, p in enumerate(PROVINCES)]
        spec = [
            (9001, "OCOP star", "DROP_DOWN", star_values),
            (9002, "OCOP certificate no.", "TEXT_FILED", []),
            (9003, "OCOP issued by", "TEXT_FILED", []),
            (9004, "OCOP expiry", "TIMESTAMP_TYPE", []),
            (9005, "Shelf life days", "INT_TYPE", []),
            (9006, "Origin province", "DROP_DOWN", province_values),
        ]
        return [
            {
                "attribute_id": aid,
                "original_attribute_name": name,
                "display_attribute_name": name,
                "is_mandatory": mandatory,
                "input_type": input_type,
                "attribute_value_list": values,
            }
            for aid, name, input_type, values in spec
        ]

    # ------------------------------------------------------------------ images

    def store_image(self, shop_id: int, partner_id: int, data: bytes, content_type: str, w: int, h: int) -> dict:
        image_id = self.next_hex(32)
        now = self.clock.now()
        image = {
            "image_id": image_id,
            "shop_id": shop_id,
            "partner_id": partner_id,
            "sha256": hashlib.sha256(data).hexdigest(),
            "content_type": content_type,
            "data": data,
            "width": w,
            "height": h,
            "created": now,
            "expire_at": now + self.config["image_ttl"],
            "attached": False,
        }
        self.images[image_id] = image
        return image

    def image_alive(self, image_id: str, shop_id: int) -> bool:
        image = self.images.get(image_id)
        if image is None or image["shop_id"] != shop_id:
            return False
        return image["attached"] or image["expire_at"] > self.clock.now()

    # ------------------------------------------------------------------ items

    def validate_item(self, shop_id: int, body: dict) -> dict:
        """Fail-fast validation of a full add_item body; returns the normalized fields."""
        name = body.get("item_name")
        if not isinstance(name, str) or not 10 <= len(name.strip()) <= 120:
            raise ApiError("error_param", "item_name length should be between 10 and 120.")
        desc = body.get("description")
        if not isinstance(desc, str) or not 20 <= len(desc.strip()) <= 3000:
            raise ApiError("error_param", "description length should be between 20 and 3000.")
        price = body.get("original_price")
        if not is_number(price):
            raise ApiError("error_param", "original_price is required")
        if price != int(price):
            raise ApiError("error_invalid_price", "Price must be an integer number of VND.")
        price = int(price)
        if not 1000 <= price <= 120_000_000:
            raise ApiError("error_invalid_price", "Price should be between 1000 and 120000000.")
        stock_list = body.get("seller_stock")
        if (
            not isinstance(stock_list, list)
            or not stock_list
            or not all(isinstance(s, dict) and as_int(s.get("stock")) is not None for s in stock_list)
            or not all(0 <= as_int(s["stock"]) <= 999_999 for s in stock_list)
        ):
            raise ApiError("error_param", "Invalid seller_stock.")
        weight = body.get("weight")
        if not is_number(weight) or not 0 < weight <= 30:
            raise ApiError("error_param", "Invalid Weight.")
        try:
            exponent = Decimal(str(weight)).as_tuple().exponent
        except InvalidOperation as exc:
            raise ApiError("error_param", "Invalid Weight.") from exc
        if isinstance(exponent, int) and exponent < -3:
            raise ApiError("error_param", "Invalid Weight.")
        dim = body.get("dimension")
        if not dim:
            raise ApiError("error_param", "dimension is required")
        keys = ("package_length", "package_width", "package_height")
        if not isinstance(dim, dict) or not all(
            isinstance(dim.get(k), int) and not isinstance(dim.get(k), bool) and 1 <= dim[k] <= 150 for k in keys
        ):
            raise ApiError("error_param", "Invalid dimension.")
        cid = as_int(body.get("category_id"))
        if cid is None or cid not in self.categories:
            raise ApiError("error_param", "Invalid category_id.")
        if not self.is_leaf(cid):
            raise ApiError("error_param", "Invalid category_id, only leaf categories are accepted.")
        cat = self.categories[cid]
        image = body.get("image") or {}
        ids = image.get("image_id_list") if isinstance(image, dict) else None
        if not isinstance(ids, list) or not 1 <= len(ids) <= 9:
            raise ApiError("error_param", "image_id_list should contain 1 to 9 images.")
        if cat["food"] and len(ids) < FOOD_MIN_IMAGES:
            raise ApiError("error_param", "This category requires at least 3 images.")
        for image_id in ids:
            if not self.image_alive(str(image_id), shop_id):
                raise ApiError("error_param", "Image not exist.")
        sku = body.get("item_sku") or ""
        if not isinstance(sku, str) or len(sku) > 100:
            raise ApiError("error_param", "item_sku length should be at most 100.")
        attrs = self._validate_attributes(cid, body.get("attribute_list") or [])
        logistics = body.get("logistic_info")
        channel_ids = {c["logistics_channel_id"] for c in CHANNELS}
        if (
            not isinstance(logistics, list)
            or not all(isinstance(x, dict) and as_int(x.get("logistic_id")) in channel_ids for x in logistics)
            or not any(x.get("enabled") for x in logistics)
        ):
            raise ApiError(
                "error_invalid_logistic_info", "Invalid logistic info, at least one channel must be enabled."
            )
        pickup = body.get("pickup_address_id")
        addresses = [a["address_id"] for a in self.shops[shop_id]["addresses"]]
        if pickup is None:
            pickup = addresses[0] if addresses else None
        elif as_int(pickup) not in addresses:
            raise ApiError("error_param", "Invalid pickup_address_id.")
        pre_order = body.get("pre_order") or {"is_pre_order": False, "days_to_ship": 2}
        days = as_int(pre_order.get("days_to_ship")) if isinstance(pre_order, dict) else None
        is_pre = bool(pre_order.get("is_pre_order")) if isinstance(pre_order, dict) else False
        if days is None or not ((7 <= days <= 15) if is_pre else (1 <= days <= 3)):
            raise ApiError("error_param", "Invalid days_to_ship.")
        status = body.get("item_status") or "NORMAL"
        if status not in ("NORMAL", "UNLIST"):
            raise ApiError("error_param", "item_status should be NORMAL or UNLIST.")
        return {
            "item_name": name.strip(),
            "description": desc.strip(),
            "original_price": price,
            "seller_stock": [{"stock": as_int(s["stock"])} for s in stock_list],
            "weight": weight,
            "dimension": {k: dim[k] for k in keys},
            "category_id": cid,
            "image": {"image_id_list": [str(i) for i in ids]},
            "item_sku": sku,
            "attribute_list": body.get("attribute_list") or [],
            "attributes": attrs,
            "logistic_info": logistics,
            "pickup_address_id": as_int(pickup),
            "pre_order": {"is_pre_order": is_pre, "days_to_ship": days},
            "condition": body.get("condition") or "NEW",
            "brand": body.get("brand") or {"brand_id": 0, "original_brand_name": "No brand"},
            "desired_status": status,
        }

    def _validate_attributes(self, cid: int, attribute_list: Any) -> dict[int, str]:
        if not isinstance(attribute_list, list):
            raise ApiError("error_invalid_category_attribute", "attribute_list should be a list.")
        specs = {a["attribute_id"]: a for a in self.attributes_for(cid)}
        values: dict[int, str] = {}
        for entry in attribute_list:
            aid = as_int(entry.get("attribute_id")) if isinstance(entry, dict) else None
            if aid not in specs:
                raise ApiError("error_invalid_category_attribute", f"Invalid attribute_id {aid} for this category.")
            spec = specs[aid]
            vals = entry.get("attribute_value_list") or []
            first = vals[0] if vals and isinstance(vals[0], dict) else {}
            text = str(first.get("original_value_name") or "").strip()
            value_id = as_int(first.get("value_id")) or 0
            if spec["input_type"] == "DROP_DOWN":
                options = {v["value_id"]: v["original_value_name"] for v in spec["attribute_value_list"]}
                if value_id in options:
                    text = options[value_id]
                elif text not in options.values():
                    raise ApiError("error_invalid_category_attribute", f"Invalid value for attribute {aid}.")
            elif spec["input_type"] in ("INT_TYPE", "TIMESTAMP_TYPE") and as_int(text) is None:
                raise ApiError("error_invalid_category_attribute", f"Attribute {aid} should be an integer.")
            if not text:
                continue
            values[aid] = text
        for aid, spec in specs.items():
            if spec["is_mandatory"] and aid not in values:
                raise ApiError(
                    "error_less_required_attribute",
                    f"Mandatory attribute {aid} ({spec['original_attribute_name']}) is missing.",
                )
        return values

    def _live_items(self, shop_id: int) -> list[dict]:
        return [
            i
            for i in self.items.values()
            if i["shop_id"] == shop_id and i["item_status"] not in ("SELLER_DELETE", "SHOPEE_DELETE")
        ]

    def check_duplicate(self, shop_id: int, fields: dict, exclude: int | None = None) -> None:
        name = normalize_text(fields["item_name"])
        for item in self._live_items(shop_id):
            if item["item_id"] == exclude:
                continue
            same_sku = bool(fields["item_sku"]) and item["item_sku"] == fields["item_sku"]
            same_name = normalize_text(item["item_name"]) == name and item["category_id"] == fields["category_id"]
            if same_sku or same_name:
                raise ApiError("error_repeated_mtsku", "A similar product has already been uploaded")

    def add_item(self, shop_id: int, body: dict) -> dict:
        fields = self.validate_item(shop_id, body)
        self.check_duplicate(shop_id, fields)
        now = int(self.clock.now())
        self.next_item_id += 1 + self.ids.randrange(997)
        item = {
            "item_id": self.next_item_id,
            "shop_id": shop_id,
            **fields,
            "current_price": fields["original_price"],
            "item_status": "REVIEWING",
            "create_time": now,
            "update_time": now,
            "review_version": 1,
            "ban_reason": None,
            "ban_time": None,
            "deboost": False,
            "history": [],
        }
        self.items[item["item_id"]] = item
        self.before_write(item, created=True)
        self._attach_images(fields["image"]["image_id_list"])
        self._schedule_review(item)
        return item

    def _attach_images(self, ids: list[str]) -> None:
        for image_id in ids:
            self.images[image_id]["attached"] = True

    def get_item(self, shop_id: int, item_id: Any) -> dict:
        item = self.items.get(as_int(item_id) or -1)
        if item is None or item["shop_id"] != shop_id:
            raise ApiError("error_not_found", "Item not found.", 404)
        return item

    def before_write(self, item: dict, created: bool = False) -> None:
        """Keep the version an item had before this write, for the stale_read fault (eventual consistency)."""
        prev = None if created else copy.deepcopy({k: v for k, v in item.items() if k != "history"})
        self.item_versions[item["item_id"]] = {"prev": prev, "written_at": self.clock.now()}

    def written_within(self, item_ids: Any, seconds: float) -> bool:
        now = self.clock.now()
        return any((v := self.item_versions.get(i)) is not None and now - v["written_at"] < seconds for i in item_ids)

    def read_item(self, item: dict, stale_s: float | None) -> dict | None:
        """The item as a read sees it: under stale_read, the previous version (None if it did not exist yet)."""
        if stale_s is None:
            return item
        version = self.item_versions.get(item["item_id"])
        if version is not None and self.clock.now() - version["written_at"] < stale_s:
            return version["prev"]
        return item

    def update_item(self, shop_id: int, body: dict) -> dict:
        item = self.get_item(shop_id, body.get("item_id"))
        if item["item_status"] in ("SELLER_DELETE", "SHOPEE_DELETE"):
            raise ApiError("error_busi_item_status_invalid", "Invalid item status")
        merged = {
            k: item[k]
            for k in (
                "item_name",
                "description",
                "original_price",
                "seller_stock",
                "weight",
                "dimension",
                "category_id",
                "image",
                "item_sku",
                "attribute_list",
                "logistic_info",
                "pickup_address_id",
                "pre_order",
                "condition",
                "brand",
            )
        }
        merged["item_status"] = item["desired_status"]
        merged.update({k: v for k, v in body.items() if k != "item_id"})
        fields = self.validate_item(shop_id, merged)
        self.check_duplicate(shop_id, fields, exclude=item["item_id"])
        content_changed = any(k in body and fields[k] != item[k] for k in CONTENT_FIELDS)
        self.before_write(item)
        item["history"].append({k: item[k] for k in CONTENT_FIELDS} | {"update_time": item["update_time"]})
        item.update(fields)
        item["current_price"] = fields["original_price"]
        item["update_time"] = int(self.clock.now())
        self._attach_images(fields["image"]["image_id_list"])
        if content_changed or item["item_status"] == "REVIEWING":
            item["item_status"] = "REVIEWING"
            item["review_version"] += 1
            item["ban_reason"] = None
            item["ban_time"] = None
            self._schedule_review(item)
        return item

    # ------------------------------------------------------------------ moderation

    def shop_mode(self, shop_id: int) -> str:
        return self.review["shop_modes"].get(str(shop_id), self.review["mode"])

    def _schedule_review(self, item: dict) -> None:
        self.jobs = [j for j in self.jobs if j["item_id"] != item["item_id"]]
        if self.shop_mode(item["shop_id"]) == "manual":
            return
        delay = (float(self.review["delay_s"]) + self.jitter_rng.uniform(0, float(self.review["jitter_s"]))) * (
            self.time_scale
        )
        self.jobs.append(
            {"item_id": item["item_id"], "review_version": item["review_version"], "due": self.clock.now() + delay}
        )

    def run_due(self) -> int:
        now = self.clock.now()
        due = sorted((j for j in self.jobs if j["due"] <= now), key=lambda j: (j["due"], j["item_id"]))
        if not due:
            return 0
        self.jobs = [j for j in self.jobs if j["due"] > now]
        ran = 0
        for job in due:
            item = self.items.get(job["item_id"])
            if item is None or item["item_status"] != "REVIEWING" or item["review_version"] != job["review_version"]:
                continue
            ran += 1
            reason = self.evaluate(item)
            if reason:
                self.ban(item, reason)
            else:
                self._approve(item)
        return ran

    def evaluate(self, item: dict) -> dict | None:
        now = self.clock.now()
        cat = self.categories.get(item["category_id"], {})
        attrs = item["attributes"]
        if cat.get("ocop_required") or 9002 in attrs:
            expiry = as_int(attrs.get(9004))
            cert = self.registry.get(attrs.get(9002, ""))
            if (expiry is not None and expiry < now) or (cert and cert["expiry"] is not None and cert["expiry"] < now):
                return self._reason("OCOP_CERT_EXPIRED")
            if cert is None or str(cert["star"]) != attrs.get(9001):
                return self._reason("OCOP_CERT_INVALID")
        text = normalize_text(f"{item['item_name']} {item['description']}")
        for term in self.review["prohibited_terms"]:
            if normalize_text(term) and normalize_text(term) in text:
                return {"code": "PROHIBITED_CLAIM", "message": f"{BAN_MESSAGES['PROHIBITED_CLAIM']}: {term}"}
        bad = {h.lower() for h in self.review["bad_image_sha256"]}
        for image_id in item["image"]["image_id_list"]:
            image = self.images.get(image_id)
            if image and image["sha256"] in bad:
                return self._reason("IMAGE_QUALITY")
        median = cat.get("median_price")
        if median and not 0.1 * median <= item["original_price"] <= 10 * median:
            return self._reason("PRICE_ABNORMAL")
        return None

    @staticmethod
    def _reason(code: str) -> dict:
        return {"code": code, "message": BAN_MESSAGES[code]}

    def _approve(self, item: dict) -> None:
        self.before_write(item)
        item["item_status"] = item["desired_status"]
        item["ban_reason"] = None
        item["ban_time"] = None
        item["update_time"] = int(self.clock.now())

    def ban(self, item: dict, reason: dict) -> None:
        """Ban an item (review rule, admin decision or takedown of a live item) and push code 6."""
        now = int(self.clock.now())
        self.before_write(item)
        item["item_status"] = "BANNED"
        item["ban_reason"] = {"code": str(reason.get("code")), "message": str(reason.get("message") or "")}
        item["ban_time"] = now
        item["update_time"] = now
        self.jobs = [j for j in self.jobs if j["item_id"] != item["item_id"]]
        self.emit(
            6,
            item["shop_id"],
            {"item_id": item["item_id"], "item_status": "BANNED", "ban_reason": item["ban_reason"], "update_time": now},
        )

    def emit(self, code: int, shop_id: int, data: dict) -> dict:
        """Append an event to the outbox and queue its pushes (see push.py)."""
        self.counters["event"] += 1
        event = {
            "seq": self.counters["event"],
            "event_id": f"pm-evt-{self.counters['event']:06d}",
            "code": code,
            "shop_id": shop_id,
            "timestamp": int(self.clock.now()),
            "data": data,
        }
        self.outbox.append(event)
        enqueue(self, event)
        return event

    def decide(self, item_id: int, decision: str, reasons: list) -> dict:
        item = self.items.get(item_id)
        if item is None:
            raise ApiError("error_not_found", "Item not found.", 404)
        if item["item_status"] in ("SELLER_DELETE", "SHOPEE_DELETE"):
            raise ApiError("error_busi_item_status_invalid", "Invalid item status", 409)
        default_code = {"reject": "ADMIN_REJECT", "ban": "ADMIN_BAN", "lock": "ITEM_LOCKED"}
        if decision == "approve":
            self.jobs = [j for j in self.jobs if j["item_id"] != item_id]
            self._approve(item)
        elif decision in default_code:
            first = reasons[0] if reasons and isinstance(reasons[0], dict) else {}
            code = first.get("code") or default_code[decision]
            self.ban(item, {"code": code, "message": first.get("message") or BAN_MESSAGES.get(code, code)})
        else:
            raise ApiError("error_param", "decision should be approve, reject, ban or lock.")
        return item

    # ------------------------------------------------------------------ views

    def item_view(self, item: dict, host: str) -> dict:
        ids = item["image"]["image_id_list"]
        return {
            "item_id": item["item_id"],
            "item_status": item["item_status"],
            "item_name": item["item_name"],
            "description": item["description"],
            "item_sku": item["item_sku"],
            "category_id": item["category_id"],
            "price_info": [
                {
                    "original_price": item["original_price"],
                    "current_price": item["current_price"],
                    "currency": "VND",
                }
            ],
            "seller_stock": item["seller_stock"],
            "image": {"image_id_list": ids, "image_url_list": [image_url(host, i) for i in ids]},
            "weight": item["weight"],
            "dimension": item["dimension"],
            "attribute_list": item["attribute_list"],
            "logistic_info": item["logistic_info"],
            "pickup_address_id": item["pickup_address_id"],
            "pre_order": item["pre_order"],
            "condition": item["condition"],
            "brand": item["brand"],
            "create_time": item["create_time"],
            "update_time": item["update_time"],
            "deboost": item["deboost"],
        }

    def dump(self) -> dict:
        return {
            "seed": self.seed,
            "time_scale": self.time_scale,
            "clock": self.clock.describe(),
            "config": self.config,
            "limits": self.limits,
            "review": self.review,
            "partners": [{"partner_id": k, "partner_key": v} for k, v in self.partners.items()],
            "shops": list(self.shops.values()),
            "categories": list(self.categories.values()),
            "ocop_registry": list(self.registry.values()),
            "images": [{k: v for k, v in i.items() if k != "data"} for i in self.images.values()],
            "items": [
                {k: v for k, v in i.items() if k != "attributes"} | {"attributes": i["attributes"]}
                for i in self.items.values()
            ],
            "review_jobs": self.jobs,
            "outbox": self.outbox,
            "orders": list(self.orders.values()),
            "push_configs": [{"partner_id": k, **v} for k, v in self.push_configs.items()],
            "push_queue": self.push_queue,
            "lost_push": self.lost_push,
            "faults": self.faults.list(),
        }

    def snapshot(self) -> dict:
        """The whole state as JSON-compatible data (see snapshot.py)."""
        plain = {k: v for k, v in vars(self).items() if k not in SNAPSHOT_SPECIAL}
        return {
            "format": SNAPSHOT_FORMAT,
            "clock": {"offset": self.clock.offset, "frozen_at": self.clock.frozen_at},
            "ids": encode(self.ids.getstate()),
            "jitter_rng": encode(self.jitter_rng.getstate()),
            "faults": self.faults.to_dict(),
            "state": encode(plain),
        }

    def restore(self, data: dict) -> None:
        if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
            raise ApiError("error_param", f"Not a {SNAPSHOT_FORMAT} file.")
        for key, value in decode(data["state"]).items():
            setattr(self, key, value)
        self.ids = random.Random()
        self.ids.setstate(decode(data["ids"]))
        self.jitter_rng = random.Random()
        self.jitter_rng.setstate(decode(data["jitter_rng"]))
        self.faults = Faults(seed=f"postmart-{self.seed}", now=self.clock.now)
        self.faults.load(data["faults"])
        self.buckets = {}
        self.clock.offset = float(data["clock"]["offset"])
        self.clock.frozen_at = data["clock"]["frozen_at"]


def image_url(host: str, image_id: str) -> dict:
    return {"image_url_region": "VN", "image_url": f"http://{host}/file/{image_id}"}
