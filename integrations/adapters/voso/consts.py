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
