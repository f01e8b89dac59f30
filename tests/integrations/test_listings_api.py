"""The listings API without a marketplace: readiness gate, scoping, query counts, webhook signatures."""

import hashlib
import hmac
import json
import time

import pytest

from catalog.models import ProductReadiness
from catalog.services import product_create
from integrations.inbox import inbound_events_process_pending
from integrations.models import ChannelConnection, ConnectionKind, InboundEvent, Listing
from integrations.sync.engine import BACKOFF_CAP_S, backoff
from marketplace.accounts.models import Role
from marketplace.places.models import NamedScope
from tests.factories import producer, product_set, unit, user_with_role
from tests.integrations.marketplaces import lao_cai

pytestmark = pytest.mark.django_db


@pytest.fixture
def booth():
    return ChannelConnection.objects.create(
        channel="voso", kind=ConnectionKind.SHARED_BOOTH, name="Gian hàng", area=lao_cai(),
        base_url="http://127.0.0.1:9", shop_id="SHOP-1",
        credentials={"username": "u", "password": "p", "webhook_secrets": ["vswh_secret"]},
    )  # fmt: skip


def honey(name="Mật ong"):
    maker = producer(commune_as_captured=unit("legacy", "commune", "04657"))
    return product_create(producer=maker, name=name, product_set=product_set(4), status="approved")


def test_a_product_that_is_not_ready_is_refused_with_what_is_missing(api, login, booth):
    # given an approved product with nothing else
    product = honey()
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])

    # when an officer asks for it on Voso
    response = login(officer).post(f"/api/v1/products/{product.pk}/listings/", {"channel": "voso"}, format="json")

    # then 400 names what is missing, in Vietnamese, and no listing exists
    assert response.status_code == 400
    assert response.json()["code"] == "not_ready"
    assert any("ảnh" in item for item in response.json()["fields"]["missing"])
    assert not Listing.objects.exists()


def test_an_unknown_channel_is_a_400_naming_the_field(api, login, booth):
    product = honey()
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])
    response = login(officer).post(f"/api/v1/products/{product.pk}/listings/", {"channel": "shopee"}, format="json")
    assert response.status_code == 400 and "channel" in response.json()["fields"]


def test_listings_out_of_reach_are_404_and_the_list_has_constant_queries(
    api, login, booth, django_assert_max_num_queries
):
    # given listings of two producers, and a member of the first one
    products = [honey(f"Mật ong {i}") for i in range(6)]
    for product in products:
        sku = product.skus.create(net_quantity=500, net_unit="g", weight_grams=600, length_cm=1, width_cm=1,
                                  height_cm=1, price_vnd=100000)  # fmt: skip
        Listing.objects.create(sku=sku, product=product, channel="voso", connection=booth, seller_sku=f"S{sku.pk}")
    member = user_with_role(Role.PRODUCER_MEMBER)
    products[0].producer.memberships.create(user=member)
    other = Listing.objects.get(product=products[1])
    client = login(member)

    # when the member reads
    mine = client.get("/api/v1/listings/").json()
    theirs = client.get(f"/api/v1/listings/{other.pk}/")
    retry = client.post(f"/api/v1/listings/{other.pk}/retry/")

    # then only their own listing shows; the other producer's is 404 whatever the verb
    assert [row["product"] for row in mine["results"]] == [products[0].pk]
    assert theirs.status_code == 404 and retry.status_code == 404
    officer = login(user_with_role(Role.OFFICER, units=[lao_cai()]))
    with django_assert_max_num_queries(8):
        assert officer.get("/api/v1/listings/?channel=voso").json()["count"] == 6


def _signed(secret, body, t=None):
    t = int(t or time.time())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def test_a_voso_webhook_with_a_bad_or_stale_signature_is_refused_and_a_duplicate_applies_once(api, booth):
    # given a QC event for a listing we hold
    product = honey()
    sku = product.skus.create(net_quantity=500, net_unit="g", weight_grams=600, length_cm=1, width_cm=1,
                              height_cm=1, price_vnd=100000)  # fmt: skip
    listing = Listing.objects.create(sku=sku, product=product, channel="voso", connection=booth, seller_sku="S1",
                                     external_id="VSP-1", state="pending_review", remote_version=1)  # fmt: skip
    event = {"eventId": "evt_1", "type": "product.qc_updated", "shopId": "SHOP-1",
             "data": {"productId": "VSP-1", "status": "ACTIVE", "qc": {"status": "APPROVED", "reasons": []},
                      "version": 2}}  # fmt: skip
    body = json.dumps(event).encode()

    def post(signature):
        return api.post("/webhooks/voso/", body, content_type="application/json", HTTP_X_VOSO_SIGNATURE=signature)

    # when it comes with a wrong secret, then too old, then right (twice)
    wrong = post(_signed("vswh_other", body))
    stale = post(_signed("vswh_secret", body, t=time.time() - 900))
    first, again = post(_signed("vswh_secret", body)), post(_signed("vswh_secret", body))
    inbound_events_process_pending()  # what the inbox's task does once the event is stored

    # then the bad ones are 401 and change nothing; the good one is stored once and applies once
    assert (wrong.status_code, stale.status_code) == (401, 401)
    assert (first.status_code, again.status_code) == (204, 204)
    assert InboundEvent.objects.filter(source="voso").count() == 1
    listing.refresh_from_db()
    assert listing.state == "live" and listing.events.count() == 1


def test_a_postmart_push_is_acknowledged_with_an_empty_body(api, settings):
    # given a Postmart booth and a signed push for an item we do not hold
    ChannelConnection.objects.create(
        channel="postmart", kind=ConnectionKind.SHARED_BOOTH, name="PM", area=lao_cai(),
        base_url="http://127.0.0.1:9", shop_id="3001", credentials={"partner_id": 1, "partner_key": "k"},
    )  # fmt: skip
    push = {"code": 6, "shop_id": 3001, "timestamp": int(time.time()), "data": {"item_id": 5, "item_status": "BANNED"}}
    body = json.dumps(push).encode()
    url = f"{settings.WEBHOOK_BASE_URL}/webhooks/postmart/"
    signature = hmac.new(b"k", url.encode() + b"|" + body, hashlib.sha256).hexdigest()

    # when it arrives, well signed and then forged
    good = api.post("/webhooks/postmart/", body, content_type="application/json", HTTP_AUTHORIZATION=signature)
    forged = api.post("/webhooks/postmart/", body, content_type="application/json", HTTP_AUTHORIZATION="00")

    # then the good one gets a 2xx with an empty body (anything else counts as a failure there)
    assert good.status_code == 204 and good.content == b""
    assert forged.status_code == 401


def _ready(product, channel="voso", ready=True):
    product.skus.create(net_quantity=500, net_unit="g", weight_grams=600, length_cm=1, width_cm=1, height_cm=1,
                        price_vnd=100000)  # fmt: skip
    ProductReadiness.objects.update_or_create(
        product=product, channel=channel, defaults={"score": 100 if ready else 60, "ready": ready, "missing": []}
    )
    return product


def test_a_bulk_push_queues_every_ready_product_once_and_says_why_others_wait(
    api, login, booth, django_assert_max_num_queries
):
    # given a saved scope of Lào Cai with ten ready products, one not ready, and one already listed but failed
    scope = NamedScope.objects.create(slug="lao-cai-moi", name="Lào Cai mới", is_shared=True)
    scope.units.set([lao_cai()])
    ready = [_ready(honey(f"Mật ong {i}")) for i in range(10)]
    waiting = _ready(honey("Mật ong chưa đủ ảnh"), ready=False)
    failed = Listing.objects.create(sku=ready[0].skus.get(), product=ready[0], channel="voso", connection=booth,
                                    seller_sku="S-OLD", state="failed")  # fmt: skip
    officer = login(user_with_role(Role.OFFICER, units=[lao_cai()]))

    # when an officer pushes the whole scope to Voso
    with django_assert_max_num_queries(40):
        response = officer.post("/api/v1/listings/bulk/", {"channel": "voso", "scope": scope.pk}, format="json")

    # then each ready product has one queued listing (the failed one requeued, not duplicated), with its history
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["skipped"] == [{"product": waiting.pk, "reason": "not_ready"}]
    assert Listing.objects.filter(channel="voso").count() == 10
    assert set(Listing.objects.values_list("state", flat=True)) == {"queued"}
    assert Listing.objects.get(pk=failed.pk).bulk_id == body["id"]
    assert list(Listing.objects.get(product=ready[5]).events.values_list("to_state", flat=True)) == ["queued"]

    # and the progress resource counts them
    progress = officer.get(f"/api/v1/listings/bulk/{body['id']}/").json()["progress"]
    assert progress == {"total": 10, "done": 0, "by_state": {"queued": 10}, "skipped": 1}


def test_a_bulk_push_is_for_officers_and_teams_and_names_a_bad_scope(api, login, booth):
    # given a producer member and an officer
    member = user_with_role(Role.PRODUCER_MEMBER)
    officer = user_with_role(Role.OFFICER, units=[lao_cai()])

    # when the member tries, and the officer names a scope that does not exist
    refused = login(member).post("/api/v1/listings/bulk/", {"channel": "voso", "scope": 1}, format="json")
    unknown = login(officer).post("/api/v1/listings/bulk/", {"channel": "voso", "scope": 999999}, format="json")

    # then 403 for the member and a 400 naming the field for the officer; nothing is created
    assert refused.status_code == 403
    assert unknown.status_code == 400 and "scope" in unknown.json()["fields"]
    assert not Listing.objects.exists()


def test_backoff_grows_with_each_failure_is_jittered_and_capped():
    # when the retry delays of the first failures and of a long outage are drawn many times
    first = [backoff(1) for _ in range(200)]
    fifth = [backoff(5) for _ in range(200)]
    late = [backoff(30) for _ in range(200)]

    # then they stay within their ceilings, spread out, and never exceed the cap
    assert all(0.1 <= d <= 1.0 for d in first) and max(fifth) > 8 and all(d <= 16 for d in fifth)
    assert len({round(d, 3) for d in fifth}) > 150
    assert all(d <= BACKOFF_CAP_S for d in late) and max(late) > BACKOFF_CAP_S / 2
