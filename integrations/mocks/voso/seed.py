"""Default seed data: an OCOP-oriented category tree, an OCOP registry, a seller with a warehouse."""

FOOD_ATTRIBUTES = [
    {"key": "shelfLifeDays", "type": "int", "required": True, "unit": "day"},
    {"key": "netWeightGram", "type": "int", "required": True, "unit": "gram"},
    {"key": "originProvinceCode", "type": "code", "required": True},
    {"key": "ingredients", "type": "string", "required": False},
    {"key": "originNote", "type": "string", "required": False},
]
CRAFT_ATTRIBUTES = [
    {"key": "originProvinceCode", "type": "code", "required": True},
    {"key": "material", "type": "string", "required": False},
    {"key": "originNote", "type": "string", "required": False},
]

# (code, name, parent, leaf attributes or None for a branch, OCOP required, category median price in VND)
_TREE = [
    ("NS", "Nông sản & đặc sản", None, None, False, 0),
    ("NS.MO", "Mật ong", "NS", None, False, 0),
    ("NS.MO.01", "Mật ong", "NS.MO", FOOD_ATTRIBUTES, True, 200000),
    ("NS.TR", "Trà", "NS", None, False, 0),
    ("NS.TR.01", "Trà Shan tuyết, trà xanh", "NS.TR", FOOD_ATTRIBUTES, True, 250000),
    ("NS.GA", "Gạo", "NS", None, False, 0),
    ("NS.GA.01", "Gạo đặc sản", "NS.GA", FOOD_ATTRIBUTES, True, 120000),
    ("NS.CF", "Cà phê", "NS", None, False, 0),
    ("NS.CF.01", "Cà phê rang xay", "NS.CF", FOOD_ATTRIBUTES, True, 180000),
    ("NS.KH", "Đặc sản sấy khô", "NS", None, False, 0),
    ("NS.KH.01", "Đặc sản sấy khô", "NS.KH", FOOD_ATTRIBUTES, True, 150000),
    ("NS.NM", "Nước mắm", "NS", None, False, 0),
    ("NS.NM.01", "Nước mắm truyền thống", "NS.NM", FOOD_ATTRIBUTES, True, 100000),
    ("DL", "Dược liệu", None, None, False, 0),
    ("DL.01", "Dược liệu khô", "DL", FOOD_ATTRIBUTES, True, 300000),
    ("TC", "Thủ công mỹ nghệ", None, None, False, 0),
    ("TC.MT", "Mây tre đan", "TC", None, False, 0),
    ("TC.MT.01", "Sản phẩm mây tre đan", "TC.MT", CRAFT_ATTRIBUTES, False, 250000),
    ("TC.TC", "Thổ cẩm", "TC", None, False, 0),
    ("TC.TC.01", "Vải và sản phẩm thổ cẩm", "TC.TC", CRAFT_ATTRIBUTES, False, 400000),
]


def default_categories() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for code, name, parent, attrs, ocop, median in _TREE:
        out[code] = {
            "categoryCode": code,
            "name": name,
            "parentCode": parent,
            "leaf": attrs is not None,
            "requiredCertificates": ["OCOP"] if ocop else [],
            "attributes": [dict(a) for a in (attrs or [])],
            "medianPrice": median,
        }
    return out


def default_ocop_registry() -> dict[str, dict]:
    rows = [
        ("OCOP-HG-2023-0123", 4, "UBND tỉnh Hà Giang", "02", "2023-06-01", "2026-06-01"),
        ("OCOP-HG-2024-0042", 5, "UBND tỉnh Hà Giang", "02", "2024-03-01", "2027-03-01"),
        ("OCOP-TN-2022-0310", 4, "UBND tỉnh Thái Nguyên", "19", "2022-05-10", "2025-05-10"),
        ("OCOP-DL-2021-0007", 3, "UBND tỉnh Đắk Lắk", "66", "2021-01-15", "2024-01-15"),
        ("OCOP-PQ-2023-0555", 5, "UBND tỉnh Kiên Giang", "91", "2023-09-09", "2026-09-09"),
    ]
    return {
        number: {
            "number": number,
            "star": star,
            "issuedBy": issued_by,
            "provinceCode": province,
            "issuedDate": issued,
            "expiryDate": expiry,
        }
        for number, star, issued_by, province, issued, expiry in rows
    }


DEFAULT_SELLER = {"username": "htx-meovac", "password": "matong-2025", "name": "HTX Mật ong Mèo Vạc"}
DEFAULT_WAREHOUSE = {
    "warehouseId": "WH-001",
    "name": "Kho HTX Mèo Vạc",
    "provinceCode": "02",
    "districtCode": "027",
    "wardCode": "00889",
    "address": "Thị trấn Mèo Vạc, Hà Giang",
    "phone": "0912000001",
}

DEFAULT_REVIEW_CONFIG = {
    "mode": "auto",
    "delay_s": 600.0,
    "jitter_s": 60.0,
    "shops": {},
    "rules": {},
    "bad_image_sha256": [],
    "prohibited_terms": ["chữa bệnh", "chữa khỏi", "thuốc", "100% khỏi"],
    "category_keywords": {"NS.MO": ["cà phê", "nước mắm"], "NS.CF": ["mật ong"], "NS.NM": ["mật ong"]},
    "min_image_px": 500,
}

DEFAULT_LIMITS = {
    "rate_per_s": 5,
    "daily_quota": 200,
    "login_per_min": 5,
    "max_failed_logins": 5,
    "lockout_s": 900,
    "token_ttl_s": 86400,
    "migrate_per_s": 2,
    "idempotency_ttl_s": 86400,
    "migrate_delay_s": 0.5,
}
