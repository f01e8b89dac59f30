"""The adapters' contract: what the sync engine hands an adapter, what it gets back, and what can go wrong.

Adapters speak to one marketplace over HTTP and know nothing of the database: the engine gives them plain
dataclasses and callbacks (record a call, wait for the rate limiter, remember an uploaded image) and applies
what they return through services. A real marketplace API can then replace a mock by writing one adapter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Protocol


# ------------------------------------------------------------------------------------------------ errors
class ChannelError(Exception):
    """A marketplace call failed. `retryable` says whether the same call may simply be tried again later."""

    retryable = False

    def __init__(self, code: str, message: str = "", *, http_status: int | None = None, reasons=()):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.reasons: list[Reason] = list(reasons)


class Retryable(ChannelError):
    """A 5xx, a timeout, a reset connection, an unreadable body: try again after a backoff."""

    retryable = True

    def __init__(self, *args, retry_after: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class RateLimited(Retryable):
    """429 with Retry-After: wait at least that long, not a generic backoff."""


class QuotaExceeded(ChannelError):
    """A daily quota is used up: defer until it resets (`retry_after` seconds), never retry quickly."""

    def __init__(self, *args, retry_after: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class AuthExpired(ChannelError):
    """The access token is expired or unknown: refresh (or log in) once for all workers, then try again."""


class AuthFailed(ChannelError):
    """The credentials themselves are refused (wrong password, revoked authorization): a person must act."""


class Invalid(ChannelError):
    """The marketplace refused the content: fix the product, then resubmit. `reasons` names what is wrong."""


class VersionConflict(ChannelError):
    """Someone changed the item since we read it (If-Match): re-read and try again."""


class ItemLocked(ChannelError):
    """The platform locked the item: nothing may be pushed until a marketplace admin lifts it."""


class NotFound(ChannelError):
    """The item is gone on the marketplace."""


class CursorExpired(ChannelError):
    """A change-feed cursor is too old for the marketplace (Voso's 410): resynchronise by search, start afresh."""


# ----------------------------------------------------------------------------------------------- values
@dataclass(frozen=True)
class Reason:
    code: str
    message: str = ""
    field: str = ""


@dataclass(frozen=True)
class ListingImage:
    """One photo as the channel should receive it: its bytes on demand and a URL the channel may fetch."""

    sha256: str
    url: str
    width: int
    height: int
    read: Callable[[], bytes] = field(compare=False, repr=False, hash=False)


@dataclass(frozen=True)
class OcopInfo:
    star: int
    number: str
    issued_by: str
    issued_date: date
    expiry_date: date
    scan: ListingImage | None = None


@dataclass(frozen=True)
class ListingContent:
    """The canonical listing (marketplaces.md §5), built by the engine from the catalogue."""

    listing_id: str
    seller_sku: str
    title: str
    description_html: str
    category: str
    brand: str
    price_vnd: int
    stock: int
    weight_g: int
    dims_cm: tuple[int, int, int]
    images: tuple[ListingImage, ...]
    ocop: OcopInfo | None
    shelf_life_days: int | None
    net_weight_g: int | None
    origin_province_code: str
    origin_province_name: str
    ingredients: str = ""
    visible: bool = True

    def content_hash(self) -> str:
        """What review looks at (not price, stock or visibility, which never trigger a re-review)."""
        data = asdict(self)
        for key in ("listing_id", "price_vnd", "stock", "visible"):
            data.pop(key)
        data["images"] = [image.sha256 for image in self.images]
        if self.ocop is not None:
            data["ocop"]["scan"] = self.ocop.scan.sha256 if self.ocop.scan else None
        blob = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class RemoteItem:
    """An item as the marketplace sees it, with its status already mapped to the canonical state."""

    external_id: str
    remote_status: str
    state: str
    reasons: tuple[Reason, ...] = ()
    version: int | None = None
    seller_sku: str = ""
    updated_at: int | None = None


@dataclass(frozen=True)
class PublishResult:
    external_id: str
    remote_status: str
    state: str
    version: int | None = None
    recovered: bool = False  # the item already existed (an earlier attempt committed): it was bound, not made


@dataclass(frozen=True)
class BatchOutcome:
    ok: tuple[str, ...]
    failed: dict[str, str]  # external id → reason


@dataclass(frozen=True)
class CallRecord:
    """One HTTP call, as the engine stores it in an attempt row. No secrets: no tokens, signatures, passwords."""

    operation: str
    method: str
    path: str
    status: int | None
    latency_ms: int
    ok: bool
    error_code: str = ""
    error_message: str = ""
    request_summary: dict = field(default_factory=dict)


@dataclass
class Session:
    """What an adapter needs to call one shop: where, as whom, and the engine's callbacks."""

    base_url: str
    shop_id: str
    credentials: dict
    settings: dict
    token: str = ""
    record: Callable[[CallRecord], None] = lambda record: None
    throttle: Callable[[str], None] = lambda bucket: None
    # The shop's copies of our photos by sha256 (Postmart image ids, Voso CDN URLs), read and written in batches.
    image_cache_get: Callable[[list[str]], dict[str, str]] = lambda shas: {}
    image_cache_put: Callable[[dict[str, str]], None] = lambda refs: None
    image_cache_drop: Callable[[list[str]], None] = lambda shas: None


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    refresh_token: str = ""


@dataclass(frozen=True)
class RemoteOrder:
    """An order as the marketplace sees it. `status` is the channel's own word (sales maps it); `lines` are
    {external_item_id, listing_id?, seller_sku, name?, quantity, unit_price_vnd}; times are epoch seconds."""

    external_id: str
    status: str
    updated_at: int
    total_vnd: int
    lines: tuple[dict, ...]
    payment_method: str = ""
    created_at: int | None = None
    # The channel's ordering of its news about the order (Voso's version); None where it has none (Postmart).
    version: int | None = None
    buyer_name: str = ""  # masked by the marketplaces
    buyer_province_code: str = ""


class Adapter(Protocol):
    """One marketplace. Every method makes real HTTP calls through `session` and raises ChannelError."""

    channel: str

    def login(self, session: Session) -> TokenGrant: ...

    def refresh(self, session: Session, refresh_token: str) -> TokenGrant: ...

    # `retrying`: an earlier attempt may have created the item before its answer was lost; look for it first
    # where the channel has no idempotency key.
    def publish(
        self, session: Session, content: ListingContent, *, idempotency_key: str, retrying: bool = False
    ) -> PublishResult: ...

    def update_content(
        self, session: Session, external_id: str, content: ListingContent, *, version: int | None
    ) -> RemoteItem: ...

    def update_price_stock(self, session: Session, external_id: str, *, price_vnd: int, stock: int) -> None: ...

    def unlist(self, session: Session, external_ids: list[str]) -> BatchOutcome: ...

    def relist(self, session: Session, external_id: str) -> None: ...

    def delete(self, session: Session, external_id: str) -> None: ...

    def fetch_status(self, session: Session, external_ids: list[str]) -> list[RemoteItem]: ...

    def list_items(self, session: Session) -> list[RemoteItem]: ...

    def fetch_orders(self, session: Session, *, since: int, until: int) -> list[RemoteOrder]: ...
