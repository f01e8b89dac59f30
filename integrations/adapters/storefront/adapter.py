"""The province storefront as a listing channel: a local adapter with no HTTP and no database.

The storefront pages are served by this service (storefront/), so "publishing" only means saying so: an item is
live at once, its external id is the listing id, and hiding, showing or withdrawing it is immediate. Everything
the storefront shows is read from the listing and the catalogue, which the sync engine already keeps; this
adapter lets the same queue, engine and history serve the province's own floor as they serve the marketplaces.
"""

from __future__ import annotations

from ..base import (
    AuthFailed,
    BatchOutcome,
    ListingContent,
    PublishResult,
    RemoteItem,
    RemoteOrder,
    Session,
    TokenGrant,
)
from .consts import LIVE, LOCAL_TOKEN, LOCAL_TOKEN_TTL_S, STATUS_TO_STATE, UNLISTED


class StorefrontAdapter:
    channel = "storefront"
    # The service itself is the channel: reconciliation has nothing remote to compare with.
    is_local = True

    def login(self, session: Session) -> TokenGrant:
        return TokenGrant(LOCAL_TOKEN, LOCAL_TOKEN_TTL_S)

    def refresh(self, session: Session, refresh_token: str) -> TokenGrant:
        return self.login(session)

    def authorize(self, session: Session, code: str) -> TokenGrant:
        raise AuthFailed("not_applicable", "The province storefront needs no authorization.")

    def publish(
        self, session: Session, content: ListingContent, *, idempotency_key: str, retrying: bool = False
    ) -> PublishResult:
        status = LIVE if content.visible else UNLISTED
        return PublishResult(external_id=content.listing_id, remote_status=status, state=STATUS_TO_STATE[status])

    def update_content(
        self, session: Session, external_id: str, content: ListingContent, *, version: int | None
    ) -> RemoteItem:
        status = LIVE if content.visible else UNLISTED
        return RemoteItem(external_id=external_id, remote_status=status, state=STATUS_TO_STATE[status])

    def update_price_stock(self, session: Session, external_id: str, *, price_vnd: int, stock: int) -> None:
        return None  # the pages read price and stock from the catalogue

    def unlist(self, session: Session, external_ids: list[str]) -> BatchOutcome:
        return BatchOutcome(ok=tuple(external_ids), failed={})

    def relist(self, session: Session, external_id: str) -> None:
        return None

    def delete(self, session: Session, external_id: str) -> None:
        return None

    def fetch_status(self, session: Session, external_ids: list[str]) -> list[RemoteItem]:
        # Never under review: nothing is ever pending here, so the review poll never asks.
        return [RemoteItem(external_id=i, remote_status=LIVE, state=STATUS_TO_STATE[LIVE]) for i in external_ids]

    def list_items(self, session: Session) -> list[RemoteItem]:
        return []

    def fetch_orders(self, session: Session, *, since: int, until: int) -> list[RemoteOrder]:
        return []  # storefront orders are written by the checkout itself (storefront/services.py)
