"""The Postmart adapter: canonical listing ⇄ Shopee-v2-style items (marketplaces.md §2, §5).

Postmart has no idempotency key and no external id. An add_item whose answer was lost is recovered by the
duplicate check: the retry gets error_repeated_mtsku, and search_item(item_sku) finds the item to bind.
"""

from __future__ import annotations

import calendar
import html
import re

from ..base import (
    AuthFailed,
    BatchOutcome,
    Invalid,
    ListingContent,
    PublishResult,
    Reason,
    RemoteItem,
    Retryable,
    Session,
    TokenGrant,
)
from . import client
from .client import DuplicateItem, ImageExpired
from .consts import (
    ATTR_CERT_NO,
    ATTR_EXPIRY,
    ATTR_ISSUED_BY,
    ATTR_ORIGIN,
    ATTR_SHELF_LIFE,
    ATTR_STAR,
    BASE_INFO_CHUNK,
    DEFAULT_LOGISTICS,
    DESCRIPTION_MAX,
    MAX_IMAGES_PER_ITEM,
    MAX_IMAGES_PER_UPLOAD,
    STATUS_TO_STATE,
    UNLIST_CHUNK,
)
from .orders import PostmartOrders

_TAGS = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6])>|<br\s*/?>", re.IGNORECASE)


def plain_text(description_html: str) -> str:
    """Postmart takes plain text: paragraphs become lines, tags go, entities are decoded."""
    text = _BLOCK_END.sub("\n", description_html)
    text = html.unescape(_TAGS.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)[:DESCRIPTION_MAX]


def _unix(day) -> int:
    return calendar.timegm(day.timetuple())


class PostmartAdapter(PostmartOrders):
    """Listings here; orders in orders.py (PostmartOrders)."""

    channel = "postmart"

    # ------------------------------------------------------------------------------------------ auth
    def authorize(self, session: Session, code: str) -> TokenGrant:
        """Exchange a shop's authorization code (single use) for the first token pair."""
        body = {"code": code, "shop_id": int(session.shop_id), "partner_id": int(session.credentials["partner_id"])}
        data = client.request(session, "POST", "auth/token/get", shop=False, json=body, summary={"shop": True})
        return TokenGrant(data["access_token"], int(data.get("expire_in", 14400)), data["refresh_token"])

    def login(self, session: Session) -> TokenGrant:
        raise AuthFailed("authorization_required", "Postmart needs the shop owner to authorize the app again.")

    def refresh(self, session: Session, refresh_token: str) -> TokenGrant:
        # Refresh tokens are single-use: the engine calls this once, under a lock, for all workers.
        body = {"refresh_token": refresh_token, "shop_id": int(session.shop_id)}
        body["partner_id"] = int(session.credentials["partner_id"])
        data = client.request(session, "POST", "auth/access_token/get", shop=False, json=body)
        return TokenGrant(data["access_token"], int(data.get("expire_in", 14400)), data["refresh_token"])

    def configure_push(self, session: Session, callback_url: str) -> None:
        """Ask for pushes (3: order status, 6: item banned, 12: reserved) at our callback; also re-enables
        pushing after Postmart disabled it for too many failures."""
        body = {"callback_url": callback_url, "set_push_config_on": [3, 6, 12], "set_push_config_off": []}
        client.request(session, "POST", "push/set_app_push_config", shop=False, json=body)

    # ---------------------------------------------------------------------------------------- images
    def _image_ids(self, session: Session, content: ListingContent) -> list[str]:
        """Image ids for the listing's photos: cached per shop by sha256, uploading only what is missing.

        A batch may fail for some entries only: the successes are cached at once, so the retry uploads just
        the failed ones."""
        images = content.images[:MAX_IMAGES_PER_ITEM]
        ids = session.image_cache_get([image.sha256 for image in images])
        missing = [image for image in images if image.sha256 not in ids]
        failed: list[str] = []
        for start in range(0, len(missing), MAX_IMAGES_PER_UPLOAD):
            batch = missing[start : start + MAX_IMAGES_PER_UPLOAD]
            files = [("image", (f"{image.sha256[:16]}.jpg", image.read(), "image/jpeg")) for image in batch]
            data = client.request(
                session, "POST", "media_space/upload_image", files=files, summary={"images": len(batch)}
            )
            entries = {entry.get("id"): entry for entry in data.get("image_info_list", [])}
            uploaded = {}
            for index, image in enumerate(batch):
                entry = entries.get(index) or {}
                image_id = (entry.get("image_info") or {}).get("image_id")
                if image_id and not entry.get("error"):
                    uploaded[image.sha256] = image_id
                else:
                    failed.append(entry.get("message") or entry.get("error") or "upload failed")
            ids.update(uploaded)
            session.image_cache_put(uploaded)
        if failed:
            raise Retryable("image_upload_partial", f"{len(failed)} photo(s) not uploaded: {failed[0]}")
        return [ids[image.sha256] for image in images]

    # --------------------------------------------------------------------------------------- content
    def _fields(self, session: Session, content: ListingContent, image_ids: list[str]) -> dict:
        fields = {
            "item_name": content.title[:120],
            "description": plain_text(content.description_html),
            "weight": round(content.weight_g / 1000, 3),
            "dimension": dict(zip(("package_length", "package_width", "package_height"), content.dims_cm, strict=True)),
            "category_id": int(content.category),
            "image": {"image_id_list": image_ids},
            "attribute_list": self._attributes(content),
        }
        return fields

    def _attributes(self, content: ListingContent) -> list[dict]:
        def text(attribute_id: int, value) -> dict:
            values = [{"value_id": 0, "original_value_name": str(value)}]
            return {"attribute_id": attribute_id, "attribute_value_list": values}

        attributes = []
        if content.ocop is not None:
            attributes += [
                text(ATTR_STAR, content.ocop.star),
                text(ATTR_CERT_NO, content.ocop.number),
                text(ATTR_ISSUED_BY, content.ocop.issued_by),
                text(ATTR_EXPIRY, _unix(content.ocop.expiry_date)),
            ]
        if content.shelf_life_days:
            attributes.append(text(ATTR_SHELF_LIFE, content.shelf_life_days))
        if content.origin_province_name:
            attributes.append(text(ATTR_ORIGIN, content.origin_province_name))
        return attributes

    def _with_images(self, session: Session, content: ListingContent, send) -> dict:
        try:
            return send(self._image_ids(session, content))
        except ImageExpired:
            # A cached id outlived the marketplace's image TTL: forget them all and upload the bytes again.
            session.image_cache_drop([image.sha256 for image in content.images])
            return send(self._image_ids(session, content))

    def publish(
        self, session: Session, content: ListingContent, *, idempotency_key: str, retrying: bool = False
    ) -> PublishResult:
        if retrying:
            # Postmart has no idempotency key: after a lost answer, one search finds an item the earlier
            # attempt made, instead of add_item → error_repeated_mtsku → search on every retry.
            found = self.find_by_sku(session, content.seller_sku)
            if found is not None:
                return PublishResult(found.external_id, found.remote_status, found.state, recovered=True)

        def send(image_ids: list[str]) -> dict:
            body = self._fields(session, content, image_ids) | {
                "original_price": content.price_vnd,
                "seller_stock": [{"stock": content.stock}],
                "item_sku": content.seller_sku,
                "logistic_info": [{"logistic_id": lid, "enabled": True} for lid in self._logistics(session)],
                "pre_order": {"is_pre_order": False, "days_to_ship": 2},
                "condition": "NEW",
                "brand": {"brand_id": 0, "original_brand_name": content.brand or "No brand"},
                "item_status": "NORMAL" if content.visible else "UNLIST",
            }
            if session.settings.get("pickup_address_id"):
                body["pickup_address_id"] = int(session.settings["pickup_address_id"])
            return client.request(
                session, "POST", "product/add_item", json=body, summary={"item_sku": content.seller_sku}
            )

        try:
            data = self._with_images(session, content, send)
        except DuplicateItem:
            found = self.find_by_sku(session, content.seller_sku)
            if found is None:
                raise Invalid(
                    "duplicate_item",
                    "A similar product (same name in the same category) is already in this shop.",
                    reasons=[Reason("error_repeated_mtsku", "A similar product has already been uploaded")],
                ) from None
            return PublishResult(found.external_id, found.remote_status, found.state, recovered=True)
        status = data.get("item_status", "REVIEWING")
        return PublishResult(str(data["item_id"]), status, STATUS_TO_STATE[status])

    def _logistics(self, session: Session) -> list[int]:
        return [int(x) for x in session.settings.get("logistics_ids") or DEFAULT_LOGISTICS]

    def find_by_sku(self, session: Session, seller_sku: str) -> RemoteItem | None:
        data = client.request(
            session, "GET", "product/search_item", query={"item_sku": seller_sku}, summary={"item_sku": seller_sku}
        )
        ids = [str(x) for x in data.get("item_id_list", [])]
        if not ids:
            return None
        items = self.fetch_status(session, ids[:1])
        return items[0] if items else None

    def update_content(
        self, session: Session, external_id: str, content: ListingContent, *, version: int | None
    ) -> RemoteItem:
        def send(image_ids: list[str]) -> dict:
            body = {"item_id": int(external_id)} | self._fields(session, content, image_ids)
            return client.request(session, "POST", "product/update_item", json=body, summary={"item_id": external_id})

        data = self._with_images(session, content, send)
        status = data.get("item_status", "REVIEWING")
        return RemoteItem(external_id, status, STATUS_TO_STATE[status], updated_at=data.get("update_time"))

    def update_price_stock(self, session: Session, external_id: str, *, price_vnd: int, stock: int) -> None:
        item_id = int(external_id)
        for operation, body in (
            ("product/update_price", {"item_id": item_id, "price_list": [{"original_price": price_vnd}]}),
            ("product/update_stock", {"item_id": item_id, "stock_list": [{"seller_stock": [{"stock": stock}]}]}),
        ):
            data = client.request(session, "POST", operation, json=body, summary=body)
            failures = data.get("failure_list") or []
            if failures:
                reason = str(failures[0].get("failed_reason", ""))
                raise Invalid(reason or "update_failed", reason, reasons=[Reason(reason or "update_failed", reason)])

    def _unlist(self, session: Session, external_ids: list[str], unlist: bool) -> BatchOutcome:
        ok: list[str] = []
        failed: dict[str, str] = {}
        for start in range(0, len(external_ids), UNLIST_CHUNK):
            chunk = external_ids[start : start + UNLIST_CHUNK]
            body = {"item_list": [{"item_id": int(x), "unlist": unlist} for x in chunk]}
            data = client.request(session, "POST", "product/unlist_item", json=body, summary={"items": chunk})
            ok += [str(entry["item_id"]) for entry in data.get("success_list", [])]
            for entry in data.get("failure_list", []):
                failed[str(entry.get("item_id"))] = str(entry.get("failed_reason", ""))
        # An entry the answer does not mention has an unknown outcome: report it as failed so it is retried.
        for external_id in external_ids:
            if external_id not in ok and external_id not in failed:
                failed[external_id] = "no outcome reported"
        return BatchOutcome(tuple(ok), failed)

    def unlist(self, session: Session, external_ids: list[str]) -> BatchOutcome:
        return self._unlist(session, external_ids, True)

    def relist(self, session: Session, external_id: str) -> None:
        outcome = self._unlist(session, [external_id], False)
        if external_id in outcome.failed:
            reason = outcome.failed[external_id]
            raise Invalid("relist_failed", reason, reasons=[Reason("relist_failed", reason)])

    def delete(self, session: Session, external_id: str) -> None:
        client.request(session, "POST", "product/delete_item", json={"item_id": int(external_id)})

    # -------------------------------------------------------------------------------------- reading
    def _ban_reasons(self, session: Session) -> dict[str, Reason]:
        reasons: dict[str, Reason] = {}
        page = 1
        while True:
            data = client.request(
                session, "GET", "account_health/get_listings_with_issues", query={"page_no": page, "page_size": 100}
            )
            for entry in data.get("listing_list", []):
                reason = entry.get("reason") or {}
                reasons[str(entry["item_id"])] = Reason(str(reason.get("code", "")), str(reason.get("message", "")))
            if not data.get("has_next_page"):
                return reasons
            page += 1

    def fetch_status(self, session: Session, external_ids: list[str]) -> list[RemoteItem]:
        """Statuses by item id. Postmart's item info carries no rejection reasons: for banned items they come
        from the account-health list (as on Shopee)."""
        items: list[RemoteItem] = []
        views: list[dict] = []
        for start in range(0, len(external_ids), BASE_INFO_CHUNK):
            chunk = external_ids[start : start + BASE_INFO_CHUNK]
            data = client.request(session, "GET", "product/get_item_base_info", query={"item_id_list": ",".join(chunk)})
            views += data.get("item_list", [])
        banned = any(view.get("item_status") == "BANNED" for view in views)
        reasons = self._ban_reasons(session) if banned else {}
        for view in views:
            external_id, status = str(view["item_id"]), view["item_status"]
            found = reasons.get(external_id)
            items.append(
                RemoteItem(
                    external_id,
                    status,
                    STATUS_TO_STATE[status],
                    reasons=(found,) if found else (),
                    seller_sku=view.get("item_sku", ""),
                    updated_at=view.get("update_time"),
                )
            )
        return items

    def list_items(self, session: Session, *, updated_since: int | None = None) -> list[RemoteItem]:
        items: list[RemoteItem] = []
        offset = 0
        while True:
            query = {"offset": offset, "page_size": 100}
            if updated_since is not None:
                query["update_time_from"] = updated_since
            data = client.request(session, "GET", "product/get_item_list", query=query)
            for row in data.get("item", []):
                status = row["item_status"]
                items.append(
                    RemoteItem(str(row["item_id"]), status, STATUS_TO_STATE[status], updated_at=row.get("update_time"))
                )
            if not data.get("has_next_page"):
                return items
            offset = data["next_offset"]
