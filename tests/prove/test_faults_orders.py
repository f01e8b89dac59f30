"""The quick variant of `python -m tests.prove.faults_orders` (issue 8), inside `make test`: a few hundred order
events on both real mock marketplaces with the same fault mix (10% duplicated, 10% reordered, 5% dropped and
recovered by the backstops, 5% forged), applied by the inbox in this process; the service's count must equal the
mocks' own, product by product, with nothing counted twice and no forgery accepted."""

import time

import pytest

from integrations.inbox import inbound_events_process_pending
from integrations.models import InboundEvent
from sales.sync import orders_reconcile
from tests.prove.faults_orders import (
    Forger,
    Generated,
    clear_faults,
    compare,
    drained,
    faults_fired,
    generate,
    ground_truth,
    inject_faults,
    met,
    run_backstops,
)
from tests.sales.marketplaces import admin, live_shops

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_marketplaces")]
EVENTS = 300


def test_a_few_hundred_order_events_with_faults_count_as_the_mocks_do(api, login, pm_url, vs_url, live_server,
                                                                      settings):  # fmt: skip
    # given one product live on both mocks, their limits lifted (the faults are under test, not the throttling)
    settings.CHANNEL_RATE_LIMITS = {"postmart:shop": [500, 50], "voso:token": [500, 50]}
    shops = live_shops(api, login, pm_url, vs_url, live_server)
    admin(pm_url, "PUT", "/limits", enabled=False)
    admin(vs_url, "PUT", "/limits", rate_per_s=1000)
    inject_faults(pm_url, vs_url)
    started = time.monotonic()

    # when buyers make 285 events on them, delivered with duplicates, held-back and dropped news, and 15 forged
    # events are posted to our webhooks in between
    generated = Generated()
    forger = Forger(base_url=live_server.url, pm_shop=shops.pm.shop_id, partner_key=shops.pm.credentials["partner_key"],
                    vs_shop=shops.vs.shop_id, vs_secret=shops.vs.credentials["webhook_secrets"][0],
                    real_orders=generated)  # fmt: skip
    generate(pm_url=pm_url, vs_url=vs_url, pm_shop=int(shops.pm.shop_id), pm_items=[shops.pm_listing.external_id],
             vs_externals=[str(shops.vs_listing.pk)], events=EVENTS, forge_one=forger, out=generated,
             active=15)  # fmt: skip
    while time.monotonic() - started < 40 and not (drained(pm_url, vs_url) and not _received()):
        inbound_events_process_pending()  # what the inbox's tasks do in production
        time.sleep(0.2)
    fired = {"postmart": faults_fired(pm_url), "voso": faults_fired(vs_url)}
    clear_faults(pm_url, vs_url)
    # and the backstops run (Postmart's lost pushes, Voso's change feed and failed deliveries)
    run_backstops()

    # then every fault happened, the service counts what the mocks sold, product by product, nothing twice, no
    # forgery got in, and reconciliation afterwards finds no gap
    assert all(fired[channel].get(kind) for channel in fired for kind in ("duplicate", "reorder", "drop")), fired
    result = compare(ground_truth(pm_url, vs_url), generated.forged)
    result["reconcile"] = orders_reconcile()
    assert result["forged_sent"] == 15 and result["forged_refused_4xx"] == 15
    assert met(result) == dict.fromkeys(met(result), True), {k: result[k] for k in (
        "per_product", "listing_metrics_off", "missing", "wrong_status", "counted_twice_detail", "forged_by_status",
        "forged_stored", "reconcile")}  # fmt: skip
    assert sum(row["expected"]["quantity"] for row in result["per_product"]) > 0


def _received() -> bool:
    return InboundEvent.objects.filter(state="received").exists()
