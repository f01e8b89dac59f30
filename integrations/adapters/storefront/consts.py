"""The province storefront's item statuses. The service is the channel, so they are the canonical states."""

LIVE, UNLISTED, DELISTED = "LIVE", "UNLISTED", "DELISTED"
STATUS_TO_STATE = {LIVE: "live", UNLISTED: "unlisted", DELISTED: "delisted"}
# A token the engine can store and "renew": there is nobody to log in to.
LOCAL_TOKEN = "storefront-local"  # noqa: S105 (not a secret: nothing checks it)
LOCAL_TOKEN_TTL_S = 10 * 365 * 86400
