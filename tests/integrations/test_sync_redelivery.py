"""What the fault runs (tests/prove/faults_listings.py) exposed or made us check in the sync engine: a worker
SIGKILLed mid-push whose redelivered task must push at once instead of finding the dead run's lease; a Retry-After
longer than the broker's visibility timeout; an unexpected error that left a listing "being sent" with no reason."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone, translation

from catalog.photos.models import ProductPhoto
from integrations.models import Listing, RemoteImage
from integrations.sync import engine
from integrations.sync.engine import listing_sync
from integrations.sync.reasons import reason_text
from integrations.sync.services import listing_request
from tests.integrations.marketplaces import admin, lao_cai, pm_connect, ready_product

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_marketplaces")]


def queued_listing(pm_url) -> Listing:
    pm_connect(pm_url, area=lao_cai())
    product, _ = ready_product()
    (listing,) = listing_request(product=product, channel="postmart")
    return listing


def held_by_a_run_of(listing: Listing, task_id: str) -> None:
    """What a run killed mid-push leaves: the listing being sent, its lease taken under the task's id."""
    until = timezone.now() + timedelta(minutes=6)
    Listing.objects.filter(pk=listing.pk).update(
        state="submitting", lease_owner=f"{task_id}:4242:0123456789ab", lease_until=until
    )


def test_redelivered_task_takes_over_the_lease_its_killed_run_left(pm_url):
    # given a listing whose push was cut short: the lease is still held under task t-1's id
    listing = queued_listing(pm_url)
    held_by_a_run_of(listing, "t-1")

    # when the broker redelivers that same task
    outcome = listing_sync(listing_id=listing.pk, task_id="t-1", redelivered=True)

    # then it pushes now (the lease would have kept it stuck for six minutes) and lets go of the lease
    listing.refresh_from_db()
    assert outcome.result == "pushed"
    assert listing.external_id and listing.state == "pending_review"
    assert (listing.lease_owner, listing.lease_until) == ("", None)


@pytest.mark.parametrize(("task_id", "redelivered"), [("t-2", True), ("t-1", False), ("", True)])
def test_a_lease_is_not_taken_from_a_run_that_may_be_alive(pm_url, task_id, redelivered):
    # given a listing being pushed by task t-1
    listing = queued_listing(pm_url)
    held_by_a_run_of(listing, "t-1")

    # when another task, or the same task not redelivered (nothing says its run died), or no task, asks for it
    outcome = listing_sync(listing_id=listing.pk, task_id=task_id, redelivered=redelivered)

    # then it is left to the holder, asked to look again before letting go
    listing.refresh_from_db()
    assert outcome.result == "busy"
    assert listing.lease_owner.startswith("t-1:") and listing.resync_wanted
    assert not listing.external_id


def test_a_long_retry_after_is_capped_below_the_visibility_timeout(pm_url):
    # given a marketplace that answers 429 asking for two hours of patience
    listing = queued_listing(pm_url)
    admin(pm_url, "POST", "/faults", match={"path": "^/api/v2/"}, action={"type": "rate_limit", "retry_after": 7200})

    # when the listing is pushed
    outcome = listing_sync(listing_id=listing.pk)

    # then the task comes back within the engine's cap: a longer countdown, held unacknowledged by a worker,
    # would outlive the broker's visibility timeout and be run twice
    assert outcome.result == "retry"
    assert 900 <= outcome.retry_in <= 900.5


def test_a_photo_export_stored_under_a_suffixed_name_is_still_sent_by_its_digest(pm_url):
    # given a photo export whose stored name carries a suffix after its digest (what the fault run met: the same
    # bytes saved twice at once, so storage added one)
    listing = queued_listing(pm_url)
    photo = ProductPhoto.objects.filter(product=listing.product).first()
    export = dict(photo.derivatives["export-postmart"])
    data = default_storage.open(export["key"]).read()
    export["key"] = default_storage.save(export["key"], ContentFile(data))  # "…/<sha256>_<suffix>.jpg"
    photo.derivatives = {**photo.derivatives, "export-postmart": export}
    photo.save(update_fields=["derivatives"])

    # when the listing is pushed
    outcome = listing_sync(listing_id=listing.pk)

    # then it reaches the marketplace, its photo known by the digest of its bytes
    listing.refresh_from_db()
    assert outcome.result != "failed", listing.last_error
    assert listing.state in ("pending_review", "live"), (listing.state, listing.last_error)
    assert RemoteImage.objects.filter(sha256=hashlib.sha256(data).hexdigest()).exists()


def test_an_unexpected_error_fails_the_listing_with_a_reason_instead_of_leaving_it_being_sent(pm_url, monkeypatch):
    # given a push that meets an error no adapter expected (a bug of ours)
    listing = queued_listing(pm_url)

    def broken(listing):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(engine, "_sync_once", broken)

    # when the listing is pushed
    outcome = listing_sync(listing_id=listing.pk)

    # then the listing is failed, says why in words, and is not left "being sent" with its lease held
    listing.refresh_from_db()
    assert outcome.result == "failed"
    assert listing.state == "failed" and listing.last_error.startswith("internal_error: RuntimeError")
    assert [reason["code"] for reason in listing.reasons] == ["internal_error"]
    assert (listing.lease_owner, listing.lease_until) == ("", None)
    with translation.override("en"):
        assert "not in the product" in reason_text(listing.reasons[0])["message"]
