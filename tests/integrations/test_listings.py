"""Listings against the real mock marketplaces over HTTP (marketplaces.md §6, scenarios 1-7, 10, 12-14)."""

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.utils import timezone

from catalog.ocop.services import ocop_certificate_create, ocop_certificate_verify
from integrations.adapters.postmart.adapter import PostmartAdapter
from integrations.models import Listing, ListingAttempt
from integrations.sync.engine import listing_sync
from integrations.sync.polling import listings_poll_reviews
from integrations.sync.reconcile import listings_reconcile
from integrations.sync.services import listing_unlist as listing_unlist_service
from integrations.sync.sessions import session_for
from marketplace.accounts.models import Role
from tests.factories import user_with_role
from tests.integrations.marketplaces import (
    admin,
    lao_cai,
    mock_requests,
    pm_connect,
    ready_product,
    register_certificate,
    vs_connect,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_marketplaces")]


def request_listing(api, login, product, channel):
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    response = login(officer).post(f"/api/v1/products/{product.pk}/listings/", {"channel": channel}, format="json")
    assert response.status_code == 201, response.content
    return Listing.objects.get(pk=response.json()[0]["id"])


def test_scenario_1_happy_path_on_both_marketplaces(api, login, pm_url, vs_url, live_server):
    # given a booth on each marketplace and a ready product whose certificate both registries know
    pm_connect(pm_url, area=lao_cai())
    vs_connect(vs_url, area=lao_cai(), webhook_url=f"{live_server.url}/webhooks/voso/")
    product, certificate = ready_product()
    register_certificate(pm_url, vs_url, certificate)
    pm_listing = request_listing(api, login, product, "postmart")
    vs_listing = request_listing(api, login, product, "voso")
    assert pm_listing.state == vs_listing.state == "queued"

    # when each listing is pushed
    assert listing_sync(listing_id=pm_listing.pk).result == "pushed"
    assert listing_sync(listing_id=vs_listing.pk).result == "pushed"

    # then both are bound and under review; Postmart's approval is found by polling, Voso's comes by webhook
    pm_listing.refresh_from_db()
    vs_listing.refresh_from_db()
    assert pm_listing.external_id and vs_listing.external_id.startswith("VSP-")
    assert len(mock_requests(pm_url, "/api/v2/media_space/upload_image")) == 1  # 4 photos, one batch
    assert len(mock_requests(pm_url, "/api/v2/product/add_item")) == 1
    time.sleep(0.5)  # the mock's review scheduler ticks every 0.2 s
    assert listings_poll_reviews(channel="postmart") == 1
    pm_listing.refresh_from_db()
    assert pm_listing.state == "live"
    wait_for(lambda: Listing.objects.get(pk=vs_listing.pk).state == "live")
    history = list(Listing.objects.get(pk=vs_listing.pk).events.values_list("to_state", flat=True))
    assert history == ["queued", "submitting", "pending_review", "live"]

    # and nothing changed means no call at all
    calls = ListingAttempt.objects.filter(listing=pm_listing).count()
    assert listing_sync(listing_id=pm_listing.pk).result == "unchanged"
    assert ListingAttempt.objects.filter(listing=pm_listing).count() == calls


def test_scenario_2_commit_then_error_makes_no_duplicate(api, login, pm_url, vs_url, live_server):
    # given both marketplaces commit the create and then answer 502, twice in a row
    pm_connect(pm_url, area=lao_cai())
    vs_connect(vs_url, area=lao_cai())
    product, certificate = ready_product()
    register_certificate(pm_url, vs_url, certificate)
    admin(pm_url, "POST", "/faults", id="pm", match={"method": "POST", "path": "^/api/v2/product/add_item$",
          "times": 2}, action={"type": "commit_then_error", "status": 502})  # fmt: skip
    admin(vs_url, "POST", "/faults", id="vs", match={"method": "POST", "path": "^/v2/products$", "times": 2},
          action={"type": "commit_then_error", "status": 502})  # fmt: skip
    listings = [request_listing(api, login, product, channel) for channel in ("postmart", "voso")]

    # when the first push meets the error (and its one quick retry meets it again), and the task's retry follows
    first = [listing_sync(listing_id=listing.pk) for listing in listings]
    second = [listing_sync(listing_id=listing.pk) for listing in listings]

    # then the retry binds the item the first call made: one item on each marketplace
    assert [o.result for o in first] == ["retry", "retry"]
    assert [o.result for o in second] == ["pushed", "pushed"]
    pm_listing, vs_listing = (Listing.objects.get(pk=listing.pk) for listing in listings)
    assert "earlier attempt" in pm_listing.events.last().note
    assert len(requests.get(f"{pm_url}/__admin/state", timeout=5).json()["items"]) == 1
    # Postmart: the quick retry met error_repeated_mtsku; the task's retry searched first and made no add_item
    assert len(mock_requests(pm_url, "/api/v2/product/add_item")) == 2
    assert len(mock_requests(pm_url, "/api/v2/product/search_item")) == 1
    vs_state = requests.get(f"{vs_url}/__admin/state", timeout=5).json()
    assert [p["externalId"] for p in vs_state["products"]] == [str(vs_listing.pk)]
    # Voso: the same Idempotency-Key three times, replayed after the first
    creates = [r for r in mock_requests(vs_url, "/v2/products") if r["method"] == "POST"]
    assert len(creates) == 3 and vs_listing.external_id


def test_a_lone_5xx_is_retried_at_once_without_waiting_for_the_task(api, login, pm_url, vs_url, live_server):
    # given Postmart commits the create and answers 502 once
    pm_connect(pm_url, area=lao_cai())
    product, certificate = ready_product()
    register_certificate(pm_url, None, certificate)
    admin(pm_url, "POST", "/faults", id="pm", match={"method": "POST", "path": "^/api/v2/product/add_item$",
          "times": 1}, action={"type": "commit_then_error", "status": 502})  # fmt: skip
    listing = request_listing(api, login, product, "postmart")

    # when it is pushed once
    outcome = listing_sync(listing_id=listing.pk)

    # then the quick retry found the item made (error_repeated_mtsku → search) and bound it: one item, no backoff
    assert outcome.result == "pushed"
    listing.refresh_from_db()
    assert listing.state in ("pending_review", "live") and listing.retry_count == 0
    assert len(requests.get(f"{pm_url}/__admin/state", timeout=5).json()["items"]) == 1
    failed = ListingAttempt.objects.filter(listing=listing, ok=False).values_list("operation", "http_status")
    assert list(failed) == [("add_item", 502), ("add_item", 400)]


def test_scenario_3_retry_after_is_honoured_and_the_daily_quota_defers(api, login, pm_url, vs_url):
    # given Postmart answers 429 with Retry-After: 7 and Voso's daily quota is used up
    pm_connect(pm_url, area=lao_cai())
    vs_connect(vs_url, area=lao_cai())
    product, certificate = ready_product()
    register_certificate(pm_url, vs_url, certificate)
    admin(pm_url, "POST", "/faults", id="rl", match={"path": "^/api/v2/media_space/upload_image$", "times": 1},
          action={"type": "rate_limit", "retry_after": 7})  # fmt: skip
    admin(vs_url, "PUT", "/limits", daily_quota=0)
    pm_listing = request_listing(api, login, product, "postmart")
    vs_listing = request_listing(api, login, product, "voso")

    # when each is pushed
    pm_outcome = listing_sync(listing_id=pm_listing.pk)
    vs_outcome = listing_sync(listing_id=vs_listing.pk)

    # then Postmart's retry waits at least the 7 s it was told; Voso's listing waits for tomorrow's quota
    assert pm_outcome.result == "retry" and pm_outcome.retry_in >= 7
    vs_listing.refresh_from_db()
    assert vs_outcome.result == "deferred" and vs_listing.state == "quota_deferred"
    assert vs_listing.next_attempt_at is not None


def test_scenario_6_expired_certificate_is_rejected_in_plain_words_and_a_fix_resubmits(
    api, login, pm_url, vs_url, live_server
):
    # given the marketplaces' registries know the certificate as expired
    from datetime import date

    pm_connect(pm_url, area=lao_cai())
    vs_connect(vs_url, area=lao_cai(), webhook_url=f"{live_server.url}/webhooks/voso/")
    product, certificate = ready_product()
    admin(pm_url, "POST", "/ocop-certificates", certificate_no=certificate.certificate_number, star=4,
          expiry=int(time.time()) - 86400)  # fmt: skip
    admin(vs_url, "POST", "/ocop-certificates", number=certificate.certificate_number, star=4,
          expiryDate=date(2024, 1, 1).isoformat())  # fmt: skip
    listing = request_listing(api, login, product, "voso")

    # when it is pushed and reviewed
    listing_sync(listing_id=listing.pk)

    # then it is rejected, with the reason in plain Vietnamese and what to do
    wait_for(lambda: Listing.objects.get(pk=listing.pk).state == "rejected")
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    body = login(officer).get(f"/api/v1/listings/{listing.pk}/").json()
    assert body["reasons"][0]["code"] == "OCOP_CERT_EXPIRED"
    assert "hết hạn" in body["reasons"][0]["message"] and body["reasons"][0]["fix"]

    # when the cooperative records its renewed certificate (which the registry knows) and it is verified
    renewed = ocop_certificate_create(
        product=product, star="4", score=80, decision_number="99/QĐ-UBND", decision_date=timezone.localdate(),
        issuing_level="province", issuing_body="UBND tỉnh Lào Cai", certificate_number="OCOP-LC-2026-9999",
        supersedes=certificate,
    )  # fmt: skip
    ocop_certificate_verify(certificate=renewed, officer=None, decision="verified")
    register_certificate(None, vs_url, renewed)
    listing_sync(listing_id=listing.pk)  # what the channel's worker runs for the change

    # then the edited content goes back for review and comes out live, the old reasons gone
    wait_for(lambda: Listing.objects.get(pk=listing.pk).state == "live")
    assert Listing.objects.get(pk=listing.pk).reasons == []
    states = list(Listing.objects.get(pk=listing.pk).events.values_list("to_state", flat=True))
    assert states[-3:] == ["rejected", "pending_review", "live"]


def test_scenario_7_takedown_of_a_live_item_and_no_repush_while_locked(api, login, pm_url, vs_url, live_server):
    # given a listing live on each marketplace
    pm = pm_connect(pm_url, area=lao_cai())
    vs = vs_connect(vs_url, area=lao_cai(), webhook_url=f"{live_server.url}/webhooks/voso/")
    PostmartAdapter().configure_push(session_for(pm), f"{live_server.url}/webhooks/postmart/")
    product, certificate = ready_product()
    register_certificate(pm_url, vs_url, certificate)
    pm_listing = request_listing(api, login, product, "postmart")
    vs_listing = request_listing(api, login, product, "voso")
    assert listing_sync(listing_id=pm_listing.pk).result == "pushed"
    assert listing_sync(listing_id=vs_listing.pk).result == "pushed", Listing.objects.get(pk=vs_listing.pk).last_error
    time.sleep(0.5)
    listings_poll_reviews(channel="postmart")
    wait_for(lambda: Listing.objects.get(pk=vs_listing.pk).state == "live")
    pm_listing.refresh_from_db()
    vs_listing.refresh_from_db()
    assert pm_listing.state == "live"

    # when Postmart bans the live item (push code 6) and Voso takes its product offline (LIVE_REJECTED webhook)
    admin(pm_url, "POST", f"/items/{pm_listing.external_id}/ban", reason={"code": "ADMIN_BAN", "message": "Vi phạm"})
    admin(vs_url, "POST", f"/review/{vs_listing.external_id}", decision="ban",
          reasons=[{"code": "PROHIBITED_HEALTH_CLAIM", "message": "Quảng cáo chữa bệnh"}])  # fmt: skip

    # then both listings are taken down, with the reason
    wait_for(lambda: Listing.objects.get(pk=pm_listing.pk).state == "taken_down")
    wait_for(lambda: Listing.objects.get(pk=vs_listing.pk).state == "taken_down")
    assert Listing.objects.get(pk=vs_listing.pk).reasons[0]["code"] == "PROHIBITED_HEALTH_CLAIM"

    # when Voso then locks it (no webhook for a lock: reconciliation finds it)
    admin(vs_url, "POST", f"/review/{vs_listing.external_id}", decision="lock", reasons=[])
    report = listings_reconcile(connection_ids=[vs.pk])

    # then it is locked, reported as repaired, and never pushed again automatically
    assert report["repaired"] == [str(vs_listing.pk)]
    assert Listing.objects.get(pk=vs_listing.pk).state == "locked"
    calls = ListingAttempt.objects.filter(listing=vs_listing).count()
    assert listing_sync(listing_id=vs_listing.pk).result == "held"
    assert ListingAttempt.objects.filter(listing=vs_listing).count() == calls
    assert pm.pk


def test_scenario_13_withdrawing_is_delisted_only_once_the_marketplace_confirms(api, login, pm_url, vs_url):
    # given a listing under review on Postmart (which refuses to unlist an item under review)
    pm_connect(pm_url, area=lao_cai())
    admin(pm_url, "PUT", "/review-config", mode="manual")
    product, certificate = ready_product()
    register_certificate(pm_url, None, certificate)
    listing = request_listing(api, login, product, "postmart")
    listing_sync(listing_id=listing.pk)
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])

    # when the cooperative withdraws it
    response = login(officer).post(f"/api/v1/listings/{listing.pk}/unlist/")

    # then it is not delisted until the push confirms it; the item is deleted since it cannot be unlisted
    assert response.status_code == 202 and response.json()["state"] == "pending_review"
    assert listing_sync(listing_id=listing.pk).result == "pushed"
    listing.refresh_from_db()
    assert listing.state == "delisted"
    items = requests.get(f"{pm_url}/__admin/state", timeout=5).json()["items"]
    assert [i["item_status"] for i in items] == ["SELLER_DELETE"]


def test_scenario_14_two_workers_pushing_one_listing_make_one_product(
    api, login, vs_url, live_server, settings, monkeypatch
):
    from integrations.tasks import listing_sync_task
    from tests.conftest import celery_worker

    # given a ready product, and Voso slow to answer creates so that two pushes overlap
    vs_connect(vs_url, area=lao_cai())
    product, certificate = ready_product()
    register_certificate(None, vs_url, certificate)
    admin(vs_url, "POST", "/faults", id="slow", match={"method": "POST", "path": "^/v2/products$"},
          action={"type": "latency", "ms": 1500})  # fmt: skip
    listing = request_listing(api, login, product, "voso")  # enqueues one push on commit
    queue = settings.CHANNEL_QUEUES["voso"]
    listing_sync_task.apply_async(args=[str(listing.pk)], queue=queue)  # and a second one, as a double click
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))
    monkeypatch.setenv("PHOTO_EXPORT_BASE_URL", live_server.url)

    # when two worker processes take the two pushes at the same time
    with celery_worker(queue), celery_worker(queue):
        wait_for(lambda: Listing.objects.get(pk=listing.pk).state == "pending_review", timeout=60)
        time.sleep(2)  # let the other push finish too

    # then one of them pushed, and Voso holds exactly one product for the listing
    creates = [r for r in mock_requests(vs_url, "/v2/products") if r["method"] == "POST"]
    assert len(creates) == 1
    products = requests.get(f"{vs_url}/__admin/state", timeout=5).json()["products"]
    assert [p["externalId"] for p in products] == [str(listing.pk)]
    states = list(Listing.objects.get(pk=listing.pk).events.values_list("to_state", flat=True))
    assert states.count("submitting") == 1


def test_scenario_4_an_expired_token_is_renewed_once_and_the_push_goes_on(api, login, pm_url, vs_url):
    # given both tokens die before the next call (Postmart's refresh token is single-use)
    pm = pm_connect(pm_url, area=lao_cai())
    vs = vs_connect(vs_url, area=lao_cai())
    product, certificate = ready_product()
    register_certificate(pm_url, vs_url, certificate)
    admin(pm_url, "POST", "/faults", id="pm", match={"path": "^/api/v2/media_space", "times": 1},
          action={"type": "expire_token"})  # fmt: skip
    admin(vs_url, "POST", "/faults", id="vs", match={"path": "^/v2/media", "times": 1}, action={"type": "expire_token"})
    listings = [request_listing(api, login, product, channel) for channel in ("postmart", "voso")]

    # when each listing is pushed
    outcomes = [listing_sync(listing_id=listing.pk).result for listing in listings]

    # then one refresh and one login renewed the tokens, and both pushes went through
    assert outcomes == ["pushed", "pushed"]
    pm_before, vs_before = pm.token_generation, vs.token_generation
    pm.refresh_from_db()
    vs.refresh_from_db()
    assert (pm.token_generation, vs.token_generation) == (pm_before + 1, vs_before + 1)
    assert len(mock_requests(pm_url, "/api/v2/auth/access_token/get")) == 1
    # vs_connect logs in twice (to learn the shop id, then for the connection's token); the renewal is one more
    assert len(mock_requests(vs_url, "/v2/user/Login")) == 3


def test_scenario_5_a_skewed_clock_is_diagnosed_not_retried(api, login, pm_url):
    # given the marketplace's clock is 15 minutes ahead of ours
    pm_connect(pm_url, area=lao_cai())
    product, _certificate = ready_product()
    listing = request_listing(api, login, product, "postmart")
    admin(pm_url, "POST", "/clock", offset_s=900)

    # when the listing is pushed
    outcome = listing_sync(listing_id=listing.pk)

    # then it fails at once with a diagnosis an administrator can act on
    listing.refresh_from_db()
    assert outcome.result == "failed" and listing.state == "failed"
    assert listing.reasons[0]["code"] == "clock_skew" and "NTP" in listing.last_error


def test_scenario_12_a_partial_upload_retries_only_the_failed_photo(api, login, pm_url):
    # given the upload batch fails for its second photo only
    pm_connect(pm_url, area=lao_cai())
    product, certificate = ready_product()
    register_certificate(pm_url, None, certificate)
    admin(pm_url, "POST", "/faults", id="partial", match={"path": "^/api/v2/media_space/upload_image$", "times": 1},
          action={"type": "partial_batch", "fail_indices": [1]})  # fmt: skip
    listing = request_listing(api, login, product, "postmart")

    # when the push meets it, then retries
    first = listing_sync(listing_id=listing.pk)
    second = listing_sync(listing_id=listing.pk)

    # then the retry uploads just the one photo that failed, and the item has all four
    assert (first.result, second.result) == ("retry", "pushed")
    uploads = [r for r in mock_requests(pm_url, "/api/v2/media_space/upload_image") if r["status"] == 200]
    assert len(uploads) == 2
    items = requests.get(f"{pm_url}/__admin/state", timeout=5).json()["items"]
    assert len(items[0]["image"]["image_id_list"]) == 4


@contextmanager
def chatty_receiver():
    """A callback that answers 200 with a JSON body, as a web framework's default view would."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # http.server names its handlers this way
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b'{"success": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            """Quiet: the test reads the mock's delivery records, not this server's log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/callback"
    finally:
        server.shutdown()
        server.server_close()


def test_scenario_10_a_non_empty_200_is_a_failure_our_empty_answer_ends_the_retries(api, login, pm_url, live_server):
    # given a live Postmart listing whose pushes go to a callback that answers 200 with a body
    pm = pm_connect(pm_url, area=lao_cai())
    session = session_for(pm)
    product, certificate = ready_product()
    register_certificate(pm_url, None, certificate)
    listing = request_listing(api, login, product, "postmart")
    assert listing_sync(listing_id=listing.pk).result == "pushed"
    time.sleep(0.5)
    listings_poll_reviews(channel="postmart")
    listing.refresh_from_db()
    assert listing.state == "live"

    with chatty_receiver() as chatty:
        PostmartAdapter().configure_push(session, chatty)

        # when Postmart bans the item (push code 6)
        admin(pm_url, "POST", f"/items/{listing.external_id}/ban", reason={"code": "ADMIN_BAN", "message": "Vi phạm"})

        # then the 200 with a body counts as a failed delivery, scheduled for a retry
        first = wait_for(lambda: admin(pm_url, "GET", "/deliveries?code=6")["deliveries"])
        assert first[0]["status"] == 200 and first[0]["outcome"] == "failed"
        assert first[0]["error"] == "non-empty response body" and first[0]["next_attempt_at"]

    # when the callback is ours before the retry comes
    PostmartAdapter().configure_push(session, f"{live_server.url}/webhooks/postmart/")

    # then the retry of the same push is acknowledged with an empty body, and applied
    def acknowledged():
        deliveries = admin(pm_url, "GET", "/deliveries?code=6")["deliveries"]
        return [d for d in deliveries if d["outcome"] == "success"]

    ours = wait_for(acknowledged, timeout=20)
    assert ours[0]["attempt"] >= 2 and ours[0]["status"] == 204 and ours[0]["response_body"] == ""
    assert ours[0]["event_id"] == first[0]["event_id"]
    wait_for(lambda: Listing.objects.get(pk=listing.pk).state == "taken_down")


def test_a_change_asked_for_while_a_push_is_in_flight_is_sent_right_after(api, login, pm_url):
    # given a listing whose first push is slow (Postmart takes 1.5 s to answer add_item)
    pm_connect(pm_url, area=lao_cai())
    product, certificate = ready_product(price=280_000)
    register_certificate(pm_url, None, certificate)
    listing = request_listing(api, login, product, "postmart")
    admin(pm_url, "POST", "/faults", match={"path": "^/api/v2/product/add_item$", "times": 1},
          action={"type": "latency", "ms": 1500})  # fmt: skip
    results = []
    holder = threading.Thread(target=lambda: results.append(listing_sync(listing_id=listing.pk)))
    holder.start()
    wait_for(lambda: Listing.objects.get(pk=listing.pk).state == "submitting")

    # when the price changes meanwhile and its push finds the listing busy
    sku = product.skus.get()
    sku.price_vnd = 265_000
    sku.save(update_fields=["price_vnd"])
    second = listing_sync(listing_id=listing.pk)
    holder.join(timeout=30)

    # then the holder sends the new price before it lets go: nothing waits for another task
    assert second.result == "busy"
    assert results[0].result == "pushed"
    listing.refresh_from_db()
    assert (listing.applied_price, listing.resync_wanted, listing.lease_owner) == (265_000, False, "")
    assert len(mock_requests(pm_url, "/api/v2/product/update_price")) == 1


def test_a_failed_listing_is_resubmitted_by_the_next_push_and_a_lost_delete_answer_counts_as_done(api, login, pm_url):
    # given a Postmart listing whose first create was refused outright (so it failed, bound to nothing), and
    # reviews held so that the item stays under review (Postmart then refuses to unlist it)
    pm_connect(pm_url, area=lao_cai())
    admin(pm_url, "PUT", "/review-config", mode="manual")
    product, certificate = ready_product()
    register_certificate(pm_url, None, certificate)
    admin(pm_url, "POST", "/faults", match={"path": "^/api/v2/product/add_item$", "times": 1},
          action={"type": "http_error", "status": 400, "code": "error_param", "message": "Bad"})  # fmt: skip
    listing = request_listing(api, login, product, "postmart")
    assert listing_sync(listing_id=listing.pk).result == "failed"

    # when the product is fixed and its listings pushed again (listings_resync_product)
    assert listing_sync(listing_id=listing.pk).result == "pushed"

    # then it went straight back to review
    listing.refresh_from_db()
    assert listing.external_id and listing.state == "pending_review"
    states = list(listing.events.values_list("to_state", flat=True))
    assert states[-3:-1] == ["failed", "submitting"]

    # when it is withdrawn while in review, and Postmart deletes it but the answer is lost (then 'not found')
    listing_unlist_service(listing=listing)
    admin(pm_url, "POST", "/faults", match={"path": "^/api/v2/product/delete_item$", "times": 2},
          action={"type": "commit_then_error", "status": 502})  # fmt: skip
    first = listing_sync(listing_id=listing.pk)
    second = listing_sync(listing_id=listing.pk)

    # then the second try finds it gone and the listing is delisted, not failed
    assert first.result == "retry" and second.result == "pushed"
    assert Listing.objects.get(pk=listing.pk).state == "delisted"


def test_a_review_decided_while_our_update_is_on_its_way_is_not_overwritten_by_its_answer(
    api, login, vs_url, live_server
):
    # given a live Voso listing whose reviews come by webhook
    vs_connect(vs_url, area=lao_cai(), webhook_url=f"{live_server.url}/webhooks/voso/")
    product, certificate = ready_product()
    register_certificate(None, vs_url, certificate)
    listing = request_listing(api, login, product, "voso")
    listing_sync(listing_id=listing.pk)
    wait_for(lambda: Listing.objects.get(pk=listing.pk).state == "live")
    before = Listing.objects.get(pk=listing.pk).remote_version

    # when its description changes, and Voso's answer to our update arrives 3 s late: the update commits at
    # once (a new version), the review approves it and its webhook is applied while our call still waits
    admin(vs_url, "POST", "/faults", match={"method": "PATCH", "path": "^/v2/products/[^/]+$", "times": 1},
          action={"type": "timeout", "commit": True, "hold_s": 3})  # fmt: skip
    type(product).objects.filter(pk=product.pk).update(description="Mật ong thu hoạch vụ xuân năm nay.")
    results = []
    pusher = threading.Thread(target=lambda: results.append(listing_sync(listing_id=listing.pk)))
    pusher.start()
    # (the update's answer would say PENDING_QC: ACTIVE at the new version can only come from the webhook)
    wait_for(lambda: Listing.objects.filter(pk=listing.pk, remote_version=before + 1, remote_status="ACTIVE").exists(),
             timeout=10)  # fmt: skip
    decided_during_the_call = pusher.is_alive()
    pusher.join(timeout=30)

    # then the late answer ("in review" at that version) does not undo the review decided since
    listing.refresh_from_db()
    assert decided_during_the_call and results[0].result == "pushed"
    assert (listing.state, listing.remote_status, listing.remote_version) == ("live", "ACTIVE", before + 1)
    assert listing.applied_hash == listing.desired_hash
    assert list(listing.events.order_by("at", "pk").values_list("to_state", flat=True))[-1] == "live"
