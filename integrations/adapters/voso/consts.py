"""Voso's vocabulary and how it maps to ours."""

STATUS_TO_STATE = {
    "PENDING_QC": "pending_review",
    "ACTIVE": "live",
    "INACTIVE": "unlisted",
    "REJECTED": "rejected",
    "LIVE_REJECTED": "taken_down",
    "LOCKED": "locked",
    "DELETED": "delisted",
}
MAX_MIGRATE_URLS = 8
MIGRATE_POLL_S = (0.1, 0.2, 0.3, 0.5, 0.5, 1, 1, 2, 2, 3)  # about 10 s before giving up for this attempt
NAME_RANGE = (25, 255)
PAGE_SIZE = 50
BUCKET = "voso:token"
BUCKET_MIGRATE = "voso:migrate"
# What the service listens to: review outcomes and orders (stock changes are ours, Voso only echoes them).
WEBHOOK_EVENTS = ("product.qc_updated", "order.created", "order.status_updated")

# Order statuses (marketplaces.md §3) → the service's normalised ones (sales.models.OrderStatus). A failed
# delivery is still on its way (back to the seller or again): shipped, which an order we hold already is (only
# `shipped` leads there), and which an order first heard of at that point must be too: with None it was made
# `placed` (when the earlier news came late or never), and stayed so, all later news being older.
ORDER_STATUS = {
    "unpaid": "placed",
    "pending": "confirmed",
    "ready_to_ship": "confirmed",
    "shipped": "shipped",
    "failed_delivery": "shipped",
    "delivered": "delivered",
    "canceled": "cancelled",
    "returned": "returned",
}
ORDER_WINDOW_S = 7 * 86400  # order search refuses a longer window
ORDER_PAGE_SIZE = 100
FEED_PAGE_SIZE = 200
