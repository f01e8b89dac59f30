"""Where a listing gets pushed. The task calls `listing_sync(listing_id=…)`, which:

1. takes the listing's lease (a conditional UPDATE, i.e. a row lock held for one statement): two workers
   never push the same listing at once, and no database lock is held across a slow marketplace call;
2. builds the canonical listing from the catalogue (content.py) and records it as the desired state;
3. sends only the difference from what the marketplace was last told: create, content, price and stock,
   visibility, or withdrawal; nothing changed means no call;
4. applies the outcome through listing_transition, and says whether and when to try again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from marketplace.core.errors import ServiceError

from ..adapters.base import (
    AuthExpired,
    ChannelError,
    ItemLocked,
    NotFound,
    QuotaExceeded,
    RateLimited,
    RemoteItem,
    Retryable,
    VersionConflict,
)
from ..adapters.registry import adapter_for
from ..models import Listing, ListingState
from .content import listing_content
from .reasons import reasons_for_people
from .sessions import connection_fresh, connection_token_renew, session_for
from .states import HOLD, IllegalTransition, listing_transition

logger = logging.getLogger(__name__)
S = ListingState
# Longer than the task's hard time limit: a lease outlives its worker only if the worker died.
LEASE = timedelta(seconds=360)
BACKOFF_BASE_S, BACKOFF_CAP_S = 1.0, 900.0
# The calls that create an item on a marketplace (adapters' operation names, as recorded in ListingAttempt).
CREATE_OPERATIONS = ("add_item", "create")


@dataclass(frozen=True)
class Outcome:
    result: str  # pushed, unchanged, busy, held, retry, deferred, failed
    retry_in: float | None = None
    detail: str = ""


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: anywhere up to base·2^(n-1), capped. Retries spread out instead of
    marching in step, and a single transient 5xx costs about a second, not a fixed penalty."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempt - 1))
    return random.uniform(min(0.1, ceiling), ceiling)


def _lease(listing_id, *, task_id: str = "", redelivered: bool = False) -> str | None:
    # The owner names the task (its id survives a redelivery) and the process (so that one can tell who pushes
    # what); the random tail keeps each run's token its own.
    token = f"{task_id or '-'}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    if redelivered and task_id:
        # The broker handed this very message back because the worker running it died before the ack (acks_late
        # with task_reject_on_worker_lost; on Redis, the visibility timeout): a lease taken under this task id is
        # that dead run's. Waiting for it to expire would leave the listing stuck mid-push for LEASE, since the
        # redelivery was the one task that was going to push it.
        free |= Q(lease_owner__startswith=f"{task_id}:")
    claimed = (
        Listing.objects.filter(pk=listing_id)
        .filter(free)
        .update(lease_owner=token, lease_until=now + LEASE, resync_wanted=False)
    )
    return token if claimed else None


def _release(listing_id, token: str) -> None:
    Listing.objects.filter(pk=listing_id, lease_owner=token).update(lease_owner="", lease_until=None)


def listing_sync(*, listing_id, task_id: str = "", redelivered: bool = False) -> Outcome:
    """Bring one listing to its desired state on its marketplace. Safe to call any number of times.

    `task_id` and `redelivered` come from the Celery task: a redelivered task takes over the lease its own dead
    run left behind (see _lease)."""
    token = _lease(listing_id, task_id=task_id, redelivered=redelivered)
    if token is None:
        # Another worker holds it: ask it to look again before it lets go, then check it has not just let go
        # (it reads the flag after releasing, so one of the two always sees the request).
        Listing.objects.filter(pk=listing_id).update(resync_wanted=True)
        token = _lease(listing_id, task_id=task_id, redelivered=redelivered)
        if token is None:
            return Outcome("busy")
    first = outcome = None
    for _round in range(3):
        try:
            listing = Listing.objects.select_related("connection").get(pk=listing_id)
            outcome = _sync_guarded(listing)
        finally:
            _release(listing_id, token)
        first = first or outcome
        # A retry or a quota wait comes back by itself; otherwise, if someone asked while we pushed (the
        # product changed, a withdrawal, a retry), go again with what the listing should be now.
        if outcome.result in ("retry", "deferred"):
            break
        if not Listing.objects.filter(pk=listing_id, resync_wanted=True).exists():
            break
        if _round == 2:
            # Asked again and again while we pushed: hand it to a fresh task rather than loop here for ever.
            from .services import listing_enqueue

            listing_enqueue(listing)
            break
        token = _lease(listing_id, task_id=task_id)
        if token is None:
            break  # whoever took it pushes what was asked
    # Report the push if one happened, else whatever stopped us.
    return first if first.result == "pushed" and outcome.result == "unchanged" else outcome


def _sync_guarded(listing: Listing) -> Outcome:
    try:
        try:
            return _sync_once(listing)
        except AuthExpired:
            connection_token_renew(
                connection_id=listing.connection_id, stale_generation=listing.connection.token_generation
            )
            listing.connection.refresh_from_db()
            return _sync_once(listing)
    except RateLimited as exc:
        # Honour Retry-After rather than a generic backoff (it says exactly when the bucket refills).
        # Capped: a Celery countdown is held unacknowledged by the worker until it runs, and one longer than the
        # broker's visibility timeout (settings) would be handed to a second worker meanwhile. Asked to wait
        # longer, we come back at the cap and are told again.
        wait = min(max(exc.retry_after or 1.0, 1.0), BACKOFF_CAP_S)
        _note_error(listing, exc, back_to_queue=True)
        return Outcome("retry", wait + random.uniform(0, 0.5), exc.code)
    except Retryable as exc:
        listing.retry_count += 1
        if listing.retry_count > settings.LISTING_MAX_RETRIES:
            _fail(listing, exc, note="gave up after repeated errors")
            return Outcome("failed", detail=exc.code)
        _note_error(listing, exc, back_to_queue=True)
        wait = min(max(backoff(listing.retry_count), exc.retry_after or 0), BACKOFF_CAP_S)  # capped: see above
        return Outcome("retry", wait, exc.code)
    except QuotaExceeded as exc:
        # The daily quota resets at midnight: wait for it (the beat task requeues), never hammer it.
        listing.next_attempt_at = timezone.now() + timedelta(seconds=exc.retry_after)
        listing.last_error = f"{exc.code}: {exc.message}"[:500]
        listing.save(update_fields=["next_attempt_at", "last_error", "updated_at"])
        listing_transition(listing=listing, to=S.QUOTA_DEFERRED, note=exc.code)
        return Outcome("deferred", detail=exc.code)
    except ItemLocked as exc:
        listing_transition(listing=listing, to=S.LOCKED, note=exc.code, force=True)
        return Outcome("held", detail=exc.code)
    except IllegalTransition:
        # A bug of ours, not the marketplace's answer: keep the listing as it is, and say so loudly.
        logger.exception("listing %s: illegal transition", listing.pk)
        return Outcome("held", detail="illegal_transition")
    except ChannelError as exc:  # Invalid, AuthFailed, clock skew…: a person must act
        _fail(listing, exc)
        return Outcome("failed", detail=exc.code)
    except ServiceError as exc:
        _fail(listing, ChannelError(exc.code, exc.message))
        return Outcome("failed", detail=exc.code)
    except (OperationalError, InterfaceError):
        raise  # a dropped database connection: the task retries it (tasks.py)
    except Exception as exc:
        # A bug of ours, or an answer no adapter expected. Left to Celery alone, the listing would stay "being
        # sent" with no reason shown, and the stale sweep would try it again every ten minutes for ever: it is
        # failed instead, saying so, for a person (and the log below) to look at; "retry" sends it again.
        logger.exception("listing %s: unexpected error", listing.pk)
        _fail(listing, ChannelError("internal_error", f"{type(exc).__name__}: {exc}"[:300]))
        return Outcome("failed", detail="internal_error")


def _note_error(listing: Listing, exc: ChannelError, *, back_to_queue: bool) -> None:
    listing.last_error = f"{exc.code}: {exc.message}"[:500]
    listing.save(update_fields=["retry_count", "last_error", "updated_at"])
    if back_to_queue and listing.state == S.SUBMITTING:
        listing_transition(listing=listing, to=S.QUEUED, note=f"retry: {exc.code}")


def _fail(listing: Listing, exc: ChannelError, note: str = "") -> None:
    reasons = reasons_for_people(listing.channel, exc.reasons or [], fallback=(exc.code, exc.message))
    listing.last_error = f"{exc.code}: {exc.message}"[:500]
    listing.save(update_fields=["retry_count", "last_error", "updated_at"])
    listing_transition(listing=listing, to=S.FAILED, note=note or exc.code, reasons=reasons, force=True)


def _pushed(listing: Listing, **fields) -> None:
    for name, value in fields.items():
        setattr(listing, name, value)
    listing.retry_count = 0
    listing.last_error = ""
    # The marketplace just answered a call about the item, so it confirms the listing (domain.md §6).
    listing.remote_confirmed_at = timezone.now()
    listing.save(update_fields=[*fields, "retry_count", "last_error", "remote_confirmed_at", "updated_at"])


# What the marketplace says of an item, kept as the newest news wins (listing_apply_remote).
_REMOTE_NEWS = ("state", "state_changed_at", "reasons", "remote_status", "remote_version")


def _answered(listing: Listing, *, to: str, note: str, version: int | None, **fields) -> None:
    """Record the answer of a create or update call and move the listing to the state it gives. The marketplace
    may have told us more while the call was on its way (a Voso QC webhook applied under the row's lock by
    listing_apply_remote): news of the same version or a newer one stands, since a review of version v can only
    be decided after the call that made v, and only what we sent is recorded."""
    with transaction.atomic():
        fresh = Listing.objects.select_for_update().only(*_REMOTE_NEWS).get(pk=listing.pk)
        moved = any(getattr(fresh, name) != getattr(listing, name) for name in ("state", *_REMOTE_NEWS[3:]))
        if moved and version is not None and fresh.remote_version is not None and fresh.remote_version >= version:
            for name in _REMOTE_NEWS:
                setattr(listing, name, getattr(fresh, name))
            _pushed(listing, **{k: v for k, v in fields.items() if k not in ("remote_status", "remote_version")})
            logger.info(
                "listing %s: news of version %s arrived during the call; kept", listing.pk, fresh.remote_version
            )
            return
        _pushed(listing, **fields)
        listing_transition(listing=listing, to=to, note=note, reasons=[])


def _sync_once(listing: Listing) -> Outcome:
    if listing.state in HOLD:
        return Outcome("held", detail=listing.state)
    if listing.state == S.QUOTA_DEFERRED and listing.next_attempt_at and listing.next_attempt_at > timezone.now():
        return Outcome("deferred", detail=listing.state)  # an edit does not spend tomorrow's quota today
    adapter = adapter_for(listing.channel)
    if listing.wanted_removed:
        return _withdraw(listing, adapter)
    content = listing_content(listing=listing)
    desired = {
        "desired_hash": content.content_hash(),
        "desired_price": content.price_vnd,
        "desired_stock": content.stock,
    }
    if any(getattr(listing, k) != v for k, v in desired.items()):
        _save(listing, **desired)
    connection = connection_fresh(listing.connection)
    session = session_for(connection, listing_id=listing.pk)

    if not listing.external_id:
        if listing.state != S.SUBMITTING:
            listing_transition(listing=listing, to=S.SUBMITTING)
        result = adapter.publish(session, content, idempotency_key=str(listing.pk), retrying=_create_unsure(listing))
        note = "bound to the item an earlier attempt created" if result.recovered else "created"
        _answered(
            listing,
            to=result.state,
            note=note,
            version=result.version,
            external_id=result.external_id,
            remote_status=result.remote_status,
            remote_version=result.version,
            applied_hash=content.content_hash(),
            applied_price=content.price_vnd,
            applied_stock=content.stock,
            applied_visible=content.visible,
        )
        return Outcome("pushed", detail=note)

    pushed = False
    if listing.applied_hash != listing.desired_hash:
        try:
            item = adapter.update_content(session, listing.external_id, content, version=listing.remote_version)
        except VersionConflict:
            # Somebody changed it since we read it (If-Match): read the current version and try once more.
            current = adapter.fetch_status(session, [listing.external_id])
            version = current[0].version if current else None
            item = adapter.update_content(session, listing.external_id, content, version=version)
        _answered(listing, to=item.state, note="content sent for review", version=item.version,
                  applied_hash=content.content_hash(), remote_status=item.remote_status,
                  remote_version=item.version or listing.remote_version)  # fmt: skip
        pushed = True
    if (listing.applied_price, listing.applied_stock) != (content.price_vnd, content.stock):
        adapter.update_price_stock(session, listing.external_id, price_vnd=content.price_vnd, stock=content.stock)
        _pushed(listing, applied_price=content.price_vnd, applied_stock=content.stock)
        pushed = True
    if listing.applied_visible != content.visible and listing.state in (S.LIVE, S.UNLISTED):
        if content.visible:
            adapter.relist(session, listing.external_id)
        else:
            outcome = adapter.unlist(session, [listing.external_id])
            if listing.external_id in outcome.failed:
                raise Retryable("unlist_failed", outcome.failed[listing.external_id])
        _pushed(listing, applied_visible=content.visible)
        listing_transition(listing=listing, to=S.LIVE if content.visible else S.UNLISTED, note="visibility")
        pushed = True
    if listing.state in (S.QUEUED, S.SUBMITTING, S.FAILED, S.QUOTA_DEFERRED):
        # Nothing left to send: the listing is wherever the marketplace last said it was.
        listing_transition(listing=listing, to=_remote_state(listing), note="in sync")
    return Outcome("pushed" if pushed else "unchanged")


def _create_unsure(listing: Listing) -> bool:
    """Did an earlier attempt end on a failed create call (5xx, timeout…), which may have created the item?"""
    if not listing.retry_count:
        return False
    last_failure = listing.attempts.filter(ok=False).order_by("-at", "-pk").values_list("operation", flat=True)
    return last_failure.first() in CREATE_OPERATIONS


def _remote_state(listing: Listing) -> str:
    from ..adapters.postmart.consts import STATUS_TO_STATE as PM
    from ..adapters.storefront.consts import STATUS_TO_STATE as SF
    from ..adapters.voso.consts import STATUS_TO_STATE as VS

    table = {"postmart": PM, "storefront": SF}.get(listing.channel, VS)
    return table.get(listing.remote_status, S.PENDING_REVIEW)


def _save(listing: Listing, **fields) -> None:
    for name, value in fields.items():
        setattr(listing, name, value)
    listing.save(update_fields=[*fields, "updated_at"])


def _withdraw(listing: Listing, adapter) -> Outcome:
    """Withdraw from sale: unlisted (kept, can come back) where possible, else deleted. The listing becomes
    `delisted` only once the marketplace has confirmed."""
    if not listing.external_id or listing.state == S.DELISTED:
        listing_transition(listing=listing, to=S.DELISTED, note="withdrawn")
        return Outcome("unchanged")
    connection = connection_fresh(listing.connection)
    session = session_for(connection, listing_id=listing.pk)
    outcome = adapter.unlist(session, [listing.external_id])
    if listing.external_id in outcome.failed:
        # Postmart refuses to unlist an item under review or banned: delete it instead (its SKU is freed).
        # NotFound: an earlier delete went through but its answer was lost; it is gone, which is what we asked.
        with contextlib.suppress(NotFound):
            adapter.delete(session, listing.external_id)
        _pushed(listing, applied_visible=False, remote_status="DELETED")
    else:
        _pushed(listing, applied_visible=False)
    listing_transition(listing=listing, to=S.DELISTED, note="withdrawn, confirmed by the marketplace")
    return Outcome("pushed")


# ------------------------------------------------------------------------------------ remote outcomes
@transaction.atomic
def listing_apply_remote(*, listing: Listing, item: RemoteItem, source: str) -> bool:
    """Apply what the marketplace says about an item (poll, webhook, push, reconciliation).

    Out-of-order news is ignored: an older version than the one we hold changes nothing. A ban of an item
    that had been on sale is a takedown; before that, it is a rejection."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if item.version is not None and listing.remote_version is not None and item.version < listing.remote_version:
        return False
    if listing.wanted_removed and item.state != S.DELISTED and listing.state == S.DELISTED:
        return False
    state = item.state
    if state == S.REJECTED and listing.remote_status in ("NORMAL", "UNLIST") and item.remote_status == "BANNED":
        state = S.TAKEN_DOWN
    if state == S.REJECTED and listing.state in (S.LIVE, S.UNLISTED, S.TAKEN_DOWN) and listing.channel == "postmart":
        state = S.TAKEN_DOWN
    reasons = reasons_for_people(listing.channel, list(item.reasons)) if item.reasons else None
    changed_status = listing.remote_status != item.remote_status or (
        item.version is not None and item.version != listing.remote_version
    )
    listing.remote_status = item.remote_status
    if item.version is not None:
        listing.remote_version = item.version
    listing.remote_confirmed_at = timezone.now()  # the channel itself told us the item's status
    if changed_status:
        listing.save(update_fields=["remote_status", "remote_version", "remote_confirmed_at", "updated_at"])
    else:
        listing.save(update_fields=["remote_confirmed_at"])
    if listing.state in (S.QUEUED, S.SUBMITTING) and state == S.PENDING_REVIEW:
        return changed_status  # our own push is on its way; it will set the state
    if state == S.REJECTED and not reasons and listing.reasons:
        reasons = listing.reasons
    if reasons is None and state in (S.LIVE, S.PENDING_REVIEW, S.UNLISTED) and listing.reasons:
        reasons = []  # approved or back in review: the old reasons no longer apply
    moved = listing_transition(listing=listing, to=state, note=f"{source}: {item.remote_status}", reasons=reasons,
                               force=True)  # fmt: skip
    return moved or changed_status
