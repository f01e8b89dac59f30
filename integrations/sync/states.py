"""The canonical listing state machine (one for every channel) and the one service that moves a listing."""

from __future__ import annotations

from django.utils import timezone

from ..models import Listing, ListingEvent, ListingState

S = ListingState
# Where a listing may go from each state. The marketplace has the last word on review outcomes, so the
# states it reports (live, rejected, taken_down, locked…) are reachable from wherever we last saw it.
_REMOTE = {S.PENDING_REVIEW, S.LIVE, S.REJECTED, S.UNLISTED, S.TAKEN_DOWN, S.LOCKED, S.DELISTED}
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.QUEUED, S.DELISTED},
    S.QUEUED: {S.SUBMITTING, S.QUOTA_DEFERRED, S.FAILED, S.DELISTED} | _REMOTE,
    S.SUBMITTING: {S.QUEUED, S.FAILED, S.QUOTA_DEFERRED} | _REMOTE,
    S.QUOTA_DEFERRED: {S.QUEUED, S.SUBMITTING, S.DELISTED},
    S.FAILED: {S.QUEUED, S.SUBMITTING, S.DELISTED} | _REMOTE,  # a fix to the product resubmits at once
    S.PENDING_REVIEW: {S.QUEUED} | _REMOTE,
    S.LIVE: {S.QUEUED} | _REMOTE,
    S.UNLISTED: {S.QUEUED} | _REMOTE,
    S.REJECTED: {S.QUEUED} | _REMOTE,
    S.TAKEN_DOWN: {S.QUEUED} | _REMOTE,
    # Only the marketplace lifts a lock: nothing of ours moves a listing out of it.
    S.LOCKED: {S.LIVE, S.UNLISTED, S.PENDING_REVIEW, S.DELISTED},
    S.DELISTED: {S.QUEUED},
}
# States from which nothing is pushed automatically.
HOLD = {S.LOCKED, S.DRAFT}


class IllegalTransition(Exception):
    """A move the state machine does not allow (a bug in the caller, never a marketplace's answer)."""


def listing_transition(
    *, listing: Listing, to: str, note: str = "", reasons: list | None = None, actor=None, force: bool = False
) -> bool:
    """Move a listing to `to` and date it in its history; a no-op (False) if it is already there.

    `force` is for reconciliation, which repairs drift to whatever the marketplace holds."""
    if listing.state == to and reasons is None:
        return False
    if not force and to != listing.state and to not in TRANSITIONS[listing.state]:
        raise IllegalTransition(f"{listing.state} → {to}")
    ListingEvent.objects.create(
        listing=listing, from_state=listing.state, to_state=to, note=note[:300], reasons=reasons or [], actor=actor
    )
    listing.state = to
    listing.state_changed_at = timezone.now()
    if reasons is not None:
        listing.reasons = reasons
    listing.save(update_fields=["state", "state_changed_at", "reasons", "updated_at"])
    return True
