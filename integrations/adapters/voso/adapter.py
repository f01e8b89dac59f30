"""The Voso adapter: canonical listing ⇄ Voso products (marketplaces.md §3, §5).

Creates carry an Idempotency-Key derived from the listing and the exact body, so a retry after a lost answer
is replayed by Voso instead of creating a second product; externalId is the listing's id, so a product made
under another key is still found. Content updates send If-Match with the version we last saw.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime

from ..base import (
    BatchOutcome,
    Invalid,
    ListingContent,
    ListingImage,
    PublishResult,
    Reason,
    RemoteItem,
    Retryable,
    Session,
    TokenGrant,
)
from . import client
from .client import Duplicate
from .consts import (
    BUCKET,
    BUCKET_MIGRATE,
    MAX_MIGRATE_URLS,
    MIGRATE_POLL_S,
    PAGE_SIZE,
    STATUS_TO_STATE,
    WEBHOOK_EVENTS,
)
from .orders import VosoOrders


def _remote(data: dict) -> RemoteItem:
    status = data.get("status", "")
    qc = data.get("qc") or {}
    reasons = [Reason(r.get("code", ""), r.get("message", ""), r.get("field") or "") for r in qc.get("reasons", [])]
    sanction = data.get("sanction") or {}
    if sanction.get("reason") and status in ("LIVE_REJECTED", "LOCKED"):
        reason = sanction["reason"]
        if isinstance(reason, dict):
            reasons.append(Reason(reason.get("code", sanction.get("type", "")), reason.get("message", "")))
        else:
            reasons.append(Reason(sanction.get("type", ""), str(reason)))
    return RemoteItem(
        str(data["productId"]),
        status,
        STATUS_TO_STATE.get(status, "pending_review"),
        reasons=tuple(reasons),
        version=data.get("version"),
        seller_sku=data.get("sellerSku", ""),
    )


class VosoAdapter(VosoOrders):
    """Listings here; orders in orders.py (VosoOrders)."""

    channel = "voso"

    # ------------------------------------------------------------------------------------------ auth
    def login(self, session: Session) -> TokenGrant:
        body = {"USERNAME": session.credentials["username"], "PASSWORD": session.credentials["password"]}
        data = client.request(
            session, "POST", "/v2/user/Login", operation="login", authenticated=False, json=body,
            summary={"username": session.credentials["username"]},
        )  # fmt: skip
        expires_in = max(1, int(data.get("expiresAt", 0) / 1000 - time.time())) if data.get("expiresAt") else 86400
        return TokenGrant(data["token"], expires_in)

    def refresh(self, session: Session, refresh_token: str) -> TokenGrant:
        return self.login(session)  # Voso has no refresh token: log in again

    # -------------------------------------------------------------------------------------- webhooks
    def configure_webhooks(self, session: Session, url: str) -> str | None:
        """Have QC and order events sent to `url`. Returns the signing secret if Voso issued one: it does so
        only when the shop's subscription is first made, and shows it that once."""
        data = client.request(
            session, "PUT", "/v2/webhooks", operation="webhooks", json={"url": url, "events": list(WEBHOOK_EVENTS)},
            summary={"url": url},
        )  # fmt: skip
        return data.get("secret") or None

    def rotate_webhook_secret(self, session: Session) -> str:
        """A new signing secret, for when ours is lost; the previous one stays valid for 24 hours."""
        return client.request(session, "POST", "/v2/webhooks/rotate-secret", operation="webhooks_rotate")["secret"]

    # ---------------------------------------------------------------------------------------- images
    def _cdn_urls(self, session: Session, images: list[ListingImage]) -> list[str]:
        """Hosted /cdn/ URLs for our photos: Voso fetches each from our URL once; the result is cached by
        sha256 per shop (Voso stores content-addressed, so a URL stays valid)."""
        urls = session.image_cache_get([image.sha256 for image in images])
        missing = [image for image in images if image.sha256 not in urls]
        failures: list[str] = []
        for start in range(0, len(missing), MAX_MIGRATE_URLS):
            batch = missing[start : start + MAX_MIGRATE_URLS]
            # A migration counts against the token's limit as well as the migration limit: wait for both.
            data = client.request(
                session, "POST", "/v2/media/migrate", operation="migrate", bucket=(BUCKET, BUCKET_MIGRATE),
                json={"urls": [image.url for image in batch]}, summary={"images": len(batch)},
            )  # fmt: skip
            batch_id = data["batchId"]
            for pause in MIGRATE_POLL_S:
                time.sleep(pause)
                result = client.request(session, "GET", f"/v2/media/migrate/{batch_id}", operation="migrate_status")
                if result.get("state") == "DONE":
                    break
            else:
                raise Retryable("migrate_pending", "Voso has not fetched the photos yet.")
            by_source = {r.get("sourceUrl"): r for r in result.get("results", [])}
            fetched = {}
            for image in batch:
                entry = by_source.get(image.url) or {}
                if entry.get("ok") and entry.get("url"):
                    fetched[image.sha256] = entry["url"]
                else:
                    failures.append(entry.get("errorCode") or "MISSING_RESULT")
            urls.update(fetched)
            session.image_cache_put(fetched)
        if failures:
            fetch_errors = {"FETCH_TIMEOUT", "HTTP_5XX", "MISSING_RESULT"}
            if all(code in fetch_errors for code in failures):
                raise Retryable("migrate_failed", f"{len(failures)} photo(s) not fetched: {failures[0]}")
            raise Invalid(
                "image_rejected",
                f"Voso refused {len(failures)} photo(s): {failures[0]}",
                reasons=[Reason(code, "", "images") for code in failures],
            )
        return [urls[image.sha256] for image in images]

    # --------------------------------------------------------------------------------------- content
    def _content(self, session: Session, content: ListingContent) -> dict:
        images = list(content.images[:8])
        scan = content.ocop.scan if content.ocop and content.ocop.scan else None
        urls = self._cdn_urls(session, images + ([scan] if scan else []))
        attributes = {"originProvinceCode": content.origin_province_code}
        if content.shelf_life_days:
            attributes["shelfLifeDays"] = content.shelf_life_days
        if content.net_weight_g:
            attributes["netWeightGram"] = content.net_weight_g
        if content.ingredients:
            attributes["ingredients"] = content.ingredients[:500]
        warehouse_province = session.settings.get("warehouse_province_code")
        if warehouse_province and warehouse_province != content.origin_province_code:
            # Shipped from a booth's warehouse in another province: say where it is made (MISSING_ORIGIN_INFO).
            attributes["originNote"] = f"Sản xuất tại {content.origin_province_name}"
        body = {
            "name": content.title,
            "description": content.description_html,
            "categoryCode": content.category,
            "brand": content.brand,
            "weightGram": content.weight_g,
            "lengthCm": content.dims_cm[0],
            "widthCm": content.dims_cm[1],
            "heightCm": content.dims_cm[2],
            "images": urls[: len(images)],
            "warehouseId": session.settings.get("warehouse_id", ""),
            "attributes": attributes,
        }
        if content.ocop is not None:
            certificate = {
                "type": "OCOP",
                "star": content.ocop.star,
                "number": content.ocop.number,
                "issuedBy": content.ocop.issued_by,
                "issuedDate": content.ocop.issued_date.isoformat(),
                "expiryDate": content.ocop.expiry_date.isoformat(),
            }
            if scan:
                certificate["documentUrl"] = urls[-1]
            body["certificates"] = [certificate]
        return body

    def publish(
        self, session: Session, content: ListingContent, *, idempotency_key: str, retrying: bool = False
    ) -> PublishResult:
        # `retrying` needs no search here: the Idempotency-Key replays a create whose answer was lost.
        body = self._content(session, content) | {
            "externalId": content.listing_id,
            "sellerSku": content.seller_sku,
            "price": content.price_vnd,
            "stock": content.stock,
        }
        # The key names this exact body: a retry of the same request is replayed, an edited one is new.
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]
        key = f"{idempotency_key}:{digest}"
        try:
            summary = {"externalId": content.listing_id, "sellerSku": content.seller_sku}
            data = client.request(
                session, "POST", "/v2/products", operation="create", json=body,
                headers={"Idempotency-Key": key}, summary=summary,
            )  # fmt: skip
        except Duplicate as exc:
            found = (
                self._get(session, exc.existing_id)
                if exc.existing_id
                else self.find_by_external_id(session, content.listing_id)
            )
            if found is None or not self._ours(session, found.external_id, content.listing_id):
                raise Invalid(
                    "seller_sku_taken",
                    "Another product in this shop already uses this seller SKU.",
                    reasons=[Reason(exc.code, exc.message, "sellerSku")],
                ) from None
            return PublishResult(found.external_id, found.remote_status, found.state, found.version, recovered=True)
        status = data.get("status", "PENDING_QC")
        return PublishResult(str(data["productId"]), status, STATUS_TO_STATE[status], data.get("version"))

    def _ours(self, session: Session, product_id: str, listing_id: str) -> bool:
        data = client.request(session, "GET", f"/v2/products/{product_id}", operation="get")
        return data.get("externalId") == listing_id

    def find_by_external_id(self, session: Session, listing_id: str) -> RemoteItem | None:
        data = client.request(
            session, "GET", "/v2/products", operation="search", params={"externalId": listing_id, "pageSize": 1}
        )
        items = [i for i in data.get("items", []) if i.get("status") != "DELETED"]
        return _remote(items[0]) if items else None

    def _get(self, session: Session, product_id: str) -> RemoteItem:
        return _remote(client.request(session, "GET", f"/v2/products/{product_id}", operation="get"))

    def update_content(
        self, session: Session, external_id: str, content: ListingContent, *, version: int | None
    ) -> RemoteItem:
        headers = {"If-Match": str(version)} if version is not None else {}
        data = client.request(
            session, "PATCH", f"/v2/products/{external_id}", operation="update", json=self._content(session, content),
            headers=headers, summary={"productId": external_id, "ifMatch": version},
        )  # fmt: skip
        status = data.get("status", "PENDING_QC")
        return RemoteItem(external_id, status, STATUS_TO_STATE[status], version=data.get("version"))

    def update_price_stock(self, session: Session, external_id: str, *, price_vnd: int, stock: int) -> None:
        body = {"price": price_vnd, "stock": stock}
        client.request(
            session, "PUT", f"/v2/products/{external_id}/price-stock", operation="price_stock", json=body,
            summary={"productId": external_id, **body},
        )  # fmt: skip

    def unlist(self, session: Session, external_ids: list[str]) -> BatchOutcome:
        ok, failed = [], {}
        for external_id in external_ids:
            try:
                client.request(
                    session, "POST", f"/v2/products/{external_id}/deactivate", operation="deactivate",
                    summary={"productId": external_id},
                )  # fmt: skip
                ok.append(external_id)
            except Invalid as exc:
                failed[external_id] = exc.message or exc.code
        return BatchOutcome(tuple(ok), failed)

    def relist(self, session: Session, external_id: str) -> None:
        client.request(
            session, "POST", f"/v2/products/{external_id}/activate", operation="activate",
            summary={"productId": external_id},
        )  # fmt: skip

    def delete(self, session: Session, external_id: str) -> None:
        client.request(session, "DELETE", f"/v2/products/{external_id}", operation="delete")

    # -------------------------------------------------------------------------------------- reading
    def fetch_status(self, session: Session, external_ids: list[str]) -> list[RemoteItem]:
        return [self._get(session, external_id) for external_id in external_ids]

    def list_items(self, session: Session, *, updated_since: int | None = None) -> list[RemoteItem]:
        items: list[RemoteItem] = []
        params: dict = {"pageSize": PAGE_SIZE}
        if updated_since is not None:
            params["updatedFrom"] = datetime.fromtimestamp(updated_since, UTC).isoformat()
        while True:
            data = client.request(session, "GET", "/v2/products", operation="list", params=params)
            items += [_remote(row) for row in data.get("items", [])]
            if not data.get("nextCursor"):
                return items
            params["cursor"] = data["nextCursor"]
