"""Postmart's vocabulary: statuses, attribute ids, logistics channels, and how they map to ours."""

API = "/api/v2"

# marketplaces.md §5: item_status → canonical listing state. BANNED is "rejected" here; the engine makes it
# "taken_down" when the listing had been live, which only it knows.
STATUS_TO_STATE = {
    "REVIEWING": "pending_review",
    "NORMAL": "live",
    "UNLIST": "unlisted",
    "BANNED": "rejected",
    "SELLER_DELETE": "delisted",
    # Removed by the platform for good: never pushed again automatically, like a locked item.
    "SHOPEE_DELETE": "locked",
}

ATTR_STAR, ATTR_CERT_NO, ATTR_ISSUED_BY, ATTR_EXPIRY, ATTR_SHELF_LIFE, ATTR_ORIGIN = 9001, 9002, 9003, 9004, 9005, 9006
DEFAULT_LOGISTICS = (50011, 50012)
MAX_IMAGES_PER_UPLOAD = 8
MAX_IMAGES_PER_ITEM = 9
BASE_INFO_CHUNK = 50
UNLIST_CHUNK = 50
NAME_RANGE = (10, 120)
DESCRIPTION_MAX = 3000

# Buckets of the shared client-side rate limiter (a little under the mock's 10/s shop and 2/s write limits).
BUCKET_READ = "postmart:shop"
BUCKET_WRITE = "postmart:write"
WRITE_OPERATIONS = {"upload_image", "add_item", "update_item"}

# Order statuses (marketplaces.md §2) → the service's normalised ones (sales.models.OrderStatus). None: the
# order's normalised status stays as it was (a cancellation asked for may still be refused by the seller).
ORDER_STATUS = {
    "UNPAID": "placed",
    "READY_TO_SHIP": "confirmed",
    "PROCESSED": "confirmed",
    "SHIPPED": "shipped",
    "TO_CONFIRM_RECEIVE": "delivered",
    "COMPLETED": "completed",
    "IN_CANCEL": None,
    "CANCELLED": "cancelled",
    "TO_RETURN": "returned",
}
ORDER_WINDOW_S = 15 * 86400  # get_order_list refuses a longer time window
ORDER_PAGE_SIZE = 100
ORDER_DETAIL_CHUNK = 50
