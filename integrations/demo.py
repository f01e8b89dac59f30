"""The demo's booths on the two mock marketplaces: what `make run` connects the demo catalogue to.

Development only (the command refuses production). One shared booth per marketplace for new Lào Cai, the
province that took in old Yên Bái: the mock is seeded with the booth (the Postmart partner and shop, the Voso
seller and its warehouse), the booth is authorized as a shop owner would, and the marketplace is told where to
send its pushes and webhooks. Then every ready product of the demo catalogue is put on both marketplaces.

The mocks keep everything in memory, so each `make run` meets empty ones: a mock that does not know our booth
has restarted, and every listing bound to it names an item that no longer exists. Those listings are sent
again from scratch. Running it twice changes nothing the second time (no second booth, no second listing).
"""

from __future__ import annotations

import calendar
import logging
import time
from dataclasses import dataclass, field

import requests
from django.conf import settings
from django.db import OperationalError, transaction
from django.urls import reverse
from django.utils.crypto import salted_hmac

from marketplace.core.errors import ServiceError
from marketplace.core.http import http_session
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level, NamedScope

from .adapters.base import ChannelError
from .adapters.registry import adapter_for
from .models import ChannelConnection, ConnectionKind, InboundEvent, Listing, ListingState, RemoteImage
from .sync.content import listing_content
from .sync.services import listing_enqueue, listings_bulk_push
from .sync.sessions import connection_authorize, connection_token_renew, session_for
from .sync.states import listing_transition
from .webhooks import postmart_callback_url

logger = logging.getLogger(__name__)
S = ListingState

DEMO_PROVINCE = "15"  # new Lào Cai in the 2025 codes (legacy 15 is old Yên Bái, now part of it)
DEMO_SCOPE = "old-yen-bai"  # where the demo catalogue's producers are
CHANNELS = ("postmart", "voso")
PM_PARTNER_ID, PM_SHOP_ID = 2_015_001, 150_001
PM_PICKUP = {
    "address_id": 1_500_011,
    "region": "VN",
    "state": "Lào Cai",
    "city": "",  # no districts since the 2025 reform: province, then ward or commune
    "district": "Phường Yên Bái",
    "address": "Trung tâm giới thiệu sản phẩm OCOP",
    "address_type": ["PICKUP_ADDRESS"],
}
VS_SHOP_ID, VS_USERNAME = "VSS-LC15", "gianhang-ocop-laocai"
VS_WAREHOUSE = {
    "warehouseId": "WH-LC15",
    "name": "Kho gian hàng OCOP Lào Cai",
    "provinceCode": DEMO_PROVINCE,
    "wardCode": "04252",  # Phường Yên Bái
    "address": "Trung tâm giới thiệu sản phẩm OCOP, Phường Yên Bái, Lào Cai",
    "phone": "0214000015",
}
# The mocks review in 5 (Postmart) or 10 (Voso) minutes, like the platforms; a newcomer watching the demo
# should see listings go live within a minute. Multiplied by the mock's --time-scale, like every delay there.
REVIEW_DELAY_S, REVIEW_JITTER_S = 20.0, 10.0
WAIT_STEP_S = 0.5


class DemoChannelsError(Exception):
    """A mock marketplace or the web server is not there, or refused what the demo asked of it."""


@dataclass
class DemoChannels:
    """What demo_channels_connect did, per channel."""

    booths: dict[str, str] = field(default_factory=dict)  # channel → "created" | "updated"
    restarted: dict[str, bool] = field(default_factory=dict)  # the mock did not know our booth
    resent: dict[str, int] = field(default_factory=dict)  # listings whose binding was stale
    queued: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # approved products not ready for the channel
    certificates: int = 0  # OCOP certificates put in the mocks' registries


def demo_channels_connect(*, wait_s: float = 0.0, attempts: int = 3) -> DemoChannels:
    """Connect the demo catalogue to both mock marketplaces and queue every ready product on each.

    With `wait_s`, first waits that long at most for both mocks and the web server to answer (under `make run`
    they start together; the marketplaces call the web server back for the push check, photos and webhooks)."""
    http = http_session(timeout=(2, 10))
    urls = {"postmart": settings.POSTMART_URL.rstrip("/"), "voso": settings.VOSO_URL.rstrip("/")}
    health = settings.WEBHOOK_BASE_URL.rstrip("/") + "/healthz"
    _wait_for(http, [f"{urls['postmart']}/__admin/state", f"{urls['voso']}/__admin/state", health], timeout_s=wait_s)
    result = DemoChannels()
    for attempt in range(1, attempts + 1):
        try:
            _connect(http, urls, result)
            return result
        except OperationalError as exc:
            # SQLite under `make run`: the workers starting alongside may hold the write lock just when one of our
            # transactions wants it. Every step is idempotent, so the whole connection is simply made again.
            if attempt == attempts:
                raise DemoChannelsError(f"The database stayed busy: {exc}") from exc
            logger.warning("Database busy (%s), connecting the demo again", exc)
            time.sleep(2.0 * attempt)
    return result


def _connect(http, urls: dict[str, str], result: DemoChannels) -> None:
    area = AdministrativeUnit.objects.get(system=CodeSystem.CURRENT, level=Level.PROVINCE, code=DEMO_PROVINCE)
    # First forget what a restarted mock lost (committed at once): an attempt made again after a failure further
    # on finds the mock seeded, no longer looking restarted, and must not need to know.
    pm_state, vs_state = (_admin(http, urls[channel], "GET", "/state") for channel in CHANNELS)
    restarted = {
        "postmart": PM_PARTNER_ID not in {partner["partner_id"] for partner in pm_state["partners"]},
        "voso": VS_SHOP_ID not in {shop["shopId"] for shop in vs_state["shops"]},
    }
    shops = {"postmart": str(PM_SHOP_ID), "voso": VS_SHOP_ID}
    for channel in CHANNELS:
        result.restarted[channel] = result.restarted.get(channel, False) or restarted[channel]
        booth = ChannelConnection.objects.filter(channel=channel, shop_id=shops[channel]).first()
        if restarted[channel] and booth is not None:
            result.resent[channel] = len(_listings_unbind(connection=booth))
    try:
        booths = [
            _postmart_booth(http, urls["postmart"], area=area, result=result),
            _voso_booth(http, urls["voso"], area=area, result=result, restarted=restarted["voso"]),
        ]
    except ChannelError as exc:  # the authorization, the push check or the login was refused
        raise DemoChannelsError(f"A mock marketplace refused to set up the booth: {exc}") from exc
    with transaction.atomic():  # the pushes are queued on commit, after the certificates are registered
        scope = NamedScope.objects.get(slug=DEMO_SCOPE)
        bulks = []
        for channel in CHANNELS:
            bulk = listings_bulk_push(scope=scope, channel=channel)
            bulks.append(bulk)
            result.queued[channel] = bulk.listings.count()
            result.skipped[channel] = len(bulk.skipped)
        # A listing queued but not part of the bulk (sent again, its product no longer ready): push it all the same.
        for listing in Listing.objects.filter(connection__in=booths, state=S.QUEUED).exclude(bulk__in=bulks):
            listing_enqueue(listing)
        result.certificates = _certificates_register(http, booths, urls=urls)


# ------------------------------------------------------------------------------------------------ booths
def _postmart_booth(http, url: str, *, area: AdministrativeUnit, result: DemoChannels) -> ChannelConnection:
    key = _secret("postmart-partner-key")
    _admin(http, url, "POST", "/partners", partner_id=PM_PARTNER_ID, partner_key=key)
    _admin(http, url, "POST", "/shops", shop_id=PM_SHOP_ID, shop_name="Gian hàng OCOP Lào Cai", addresses=[PM_PICKUP])
    _admin(http, url, "PUT", "/review-config", delay_s=REVIEW_DELAY_S, jitter_s=REVIEW_JITTER_S)
    connection = _booth_save(
        channel="postmart", shop_id=str(PM_SHOP_ID), area=area, base_url=url, result=result,
        name="Gian hàng OCOP Lào Cai trên Postmart",
        credentials={"partner_id": PM_PARTNER_ID, "partner_key": key},
        booth_settings={"pickup_address_id": PM_PICKUP["address_id"]},
    )  # fmt: skip
    # What the shop owner's consent page gives (the mock issues the code directly): a single-use code.
    code = _admin(http, url, "POST", "/auth-codes", shop_id=PM_SHOP_ID)["code"]
    connection = connection_authorize(connection_id=connection.pk, code=code)
    # Postmart checks the callback with a push signed by the partner key, which the webhook view finds in the
    # saved booth: hence after _booth_save, with the web server up.
    adapter_for("postmart").configure_push(session_for(connection), postmart_callback_url())
    return connection


def _voso_booth(
    http, url: str, *, area: AdministrativeUnit, result: DemoChannels, restarted: bool
) -> ChannelConnection:
    password = _secret("voso-password")
    _admin(http, url, "POST", "/shops", shopId=VS_SHOP_ID, username=VS_USERNAME, password=password,
           name="Gian hàng OCOP Lào Cai", warehouses=[VS_WAREHOUSE])  # fmt: skip
    _admin(http, url, "PUT", "/review-config", delay_s=REVIEW_DELAY_S, jitter_s=REVIEW_JITTER_S)
    connection = _booth_save(
        channel="voso", shop_id=VS_SHOP_ID, area=area, base_url=url, result=result,
        name="Gian hàng OCOP Lào Cai trên Voso",
        credentials={"username": VS_USERNAME, "password": password},
        booth_settings={"warehouse_id": VS_WAREHOUSE["warehouseId"], "warehouse_province_code": DEMO_PROVINCE},
        forget_secrets=restarted,
    )  # fmt: skip
    # Voso has no refresh token: a renewal is a fresh login (the generation passed is the current one: renew).
    connection = connection_token_renew(connection_id=connection.pk, stale_generation=connection.token_generation)
    adapter = adapter_for("voso")
    session = session_for(connection)
    secret = adapter.configure_webhooks(session, settings.WEBHOOK_BASE_URL.rstrip("/") + reverse("webhook-voso"))
    if secret is None and not connection.credentials.get("webhook_secrets"):
        secret = adapter.rotate_webhook_secret(session)  # subscribed before, but we no longer hold the secret
    if secret is not None:
        connection.credentials = {**connection.credentials, "webhook_secrets": [secret]}
        connection.save(update_fields=["credentials"])
    return connection


def _booth_save(
    *, channel: str, shop_id: str, area, base_url: str, name: str, credentials: dict, booth_settings: dict,
    result: DemoChannels, forget_secrets: bool = True,
) -> ChannelConnection:  # fmt: skip
    """Create the booth or bring it up to date: one per marketplace shop, however often the demo runs."""
    connection = ChannelConnection.objects.filter(channel=channel, shop_id=shop_id).first()
    result.booths[channel] = "created" if connection is None else "updated"
    connection = connection or ChannelConnection(channel=channel, shop_id=shop_id)
    kept = {} if forget_secrets else {k: v for k, v in connection.credentials.items() if k == "webhook_secrets"}
    connection.kind, connection.producer, connection.area = ConnectionKind.SHARED_BOOTH, None, area
    connection.name, connection.base_url, connection.is_active = name, base_url, True
    connection.credentials = {**credentials, **kept}
    connection.settings = {**connection.settings, **booth_settings}
    connection.full_clean()
    connection.save()
    return connection


# ------------------------------------------------------------------------------------------ restarted mock
@transaction.atomic
def _listings_unbind(*, connection: ChannelConnection) -> list[Listing]:
    """The marketplace restarted empty: forget the items and photos it held for us, and queue each listing to
    be sent again from scratch (one withdrawn before has nothing left to withdraw)."""
    RemoteImage.objects.filter(connection=connection).delete()
    # A mock is seeded: restarted, it hands out the same event ids again, and the webhook view would take its
    # new events for ones already applied. A real marketplace never reuses one; this one just started over.
    InboundEvent.objects.filter(source=connection.channel).delete()
    listings = list(Listing.objects.select_for_update().filter(connection=connection).exclude(state=S.DRAFT))
    for listing in listings:
        listing.external_id, listing.remote_status, listing.remote_version, listing.reasons = "", "", None, []
        listing.applied_hash, listing.applied_price, listing.applied_stock = "", None, None
        listing.applied_visible, listing.retry_count, listing.next_attempt_at, listing.last_error = None, 0, None, ""
        # Whoever held a lease was stopped with the mock (`make run` stops everything at once).
        listing.lease_owner, listing.lease_until = "", None
        listing.save()
        to = S.DELISTED if listing.wanted_removed else S.QUEUED
        listing_transition(listing=listing, to=to, note="the marketplace restarted empty: sent again", force=True)
    return listings


# ------------------------------------------------------------------------------------- OCOP registries
def _certificates_register(http, booths: list[ChannelConnection], *, urls: dict[str, str]) -> int:
    """Put the OCOP certificates our listings carry in the mocks' registries, exactly as the listings send them
    (number, star, expiry), so that review approves them: the mocks only know a few certificates of their own."""
    done: set[tuple[str, str]] = set()
    for listing in Listing.objects.filter(connection__in=booths, wanted_removed=False).order_by("pk"):
        try:
            ocop = listing_content(listing=listing).ocop
        except ServiceError:  # no category for its OCOP set: its push fails saying so, nothing to register
            continue
        if ocop is None or (listing.channel, ocop.number) in done:
            continue
        done.add((listing.channel, ocop.number))
        if listing.channel == "postmart":
            # Valid through the last day of validity: the registry holds the moment it runs out.
            expiry = calendar.timegm(ocop.expiry_date.timetuple()) + 86400
            _admin(http, urls["postmart"], "POST", "/ocop-certificates", certificate_no=ocop.number, star=ocop.star,
                   issued_by=ocop.issued_by, expiry=expiry)  # fmt: skip
        else:
            _admin(http, urls["voso"], "POST", "/ocop-certificates", number=ocop.number, star=ocop.star,
                   issuedBy=ocop.issued_by, provinceCode=DEMO_PROVINCE, issuedDate=ocop.issued_date.isoformat(),
                   expiryDate=ocop.expiry_date.isoformat())  # fmt: skip
    return len(done)


# ------------------------------------------------------------------------------------------------- calls
def _secret(name: str) -> str:
    # Derived from SECRET_KEY rather than written here: the mock is seeded with whatever the booth holds.
    return salted_hmac("integrations.demo", name, algorithm="sha256").hexdigest()[:32]


def _admin(http, base_url: str, method: str, path: str, **body) -> dict:
    """A call to a mock's test-only admin API (seeding, review settings, registry)."""
    try:
        response = http.request(method, f"{base_url}/__admin{path}", json=body or None)
    except requests.RequestException as exc:
        raise DemoChannelsError(f"{base_url} does not answer ({type(exc).__name__}).") from exc
    if response.status_code >= 300:
        raise DemoChannelsError(f"{method} {base_url}/__admin{path}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def _wait_for(http, urls: list[str], *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(urls)
    while True:
        pending = [url for url in pending if not _answers(http, url)]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise DemoChannelsError(f"No answer from {', '.join(pending)} after {timeout_s:g} s.")
        logger.info("Waiting for %s", ", ".join(pending))
        time.sleep(WAIT_STEP_S)


def _answers(http, url: str) -> bool:
    try:
        return http.get(url).status_code < 500
    except requests.RequestException:
        return False
