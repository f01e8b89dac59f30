"""Why a marketplace refused or took down a listing, said to a producer in plain words with what to fix.

Reasons are stored as the marketplace gave them (code, field, its own message) and put into words when
shown, in the reader's language."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..adapters.base import Reason


def _texts() -> dict[str, tuple[str, str]]:
    # code → (what happened, what to do); both channels' codes (marketplaces.md §2, §3).
    expired = (
        _("The OCOP certificate has expired."),
        _("Add the renewed certificate (or correct its expiry date), then send the product again."),
    )
    invalid_cert = (
        _("The marketplace could not find this OCOP certificate, or its star rating does not match."),
        _("Check the certificate number and star rating against the paper certificate, then send it again."),
    )
    claim = (
        _("The name or description promises to cure illness, which is not allowed."),
        _("Remove words such as “chữa bệnh”, “chữa khỏi”, “thuốc” from the name and description."),
    )
    image = (
        _("A photo was judged too poor (blurred, too small or not the product)."),
        _("Replace the photo with a sharp one of at least 500 × 500 pixels, in daylight."),
    )
    price = (
        _("The price is far from what similar products sell for."),
        _("Check the price is in đồng for one package (for example 150000, not 150), then save it."),
    )
    return {
        "OCOP_CERT_EXPIRED": expired,
        "OCOP_CERT_INVALID": invalid_cert,
        "OCOP_CERT_NOT_FOUND": invalid_cert,
        "OCOP_STAR_MISMATCH": invalid_cert,
        "PROHIBITED_CLAIM": claim,
        "PROHIBITED_HEALTH_CLAIM": claim,
        "IMAGE_QUALITY": image,
        "IMAGE_LOW_QUALITY": image,
        "PRICE_ABNORMAL": price,
        "CATEGORY_MISMATCH": (
            _("The marketplace thinks the product is in the wrong category."),
            _("Check the product's OCOP product set; an officer can correct the category mapping."),
        ),
        "MISSING_ORIGIN_INFO": (
            _("Where the product is made differs from where it ships from, and this is not explained."),
            _("Check the commune where the product is made."),
        ),
        "duplicate_item": (
            _("A very similar product is already in this shop."),
            _("Give the product a name that tells it apart (for example the weight or the variety)."),
        ),
        "clock_skew": (
            _("The service's clock is out of step with the marketplace's, so it refused our signature."),
            _("An administrator must set the server's clock (NTP); nothing to do on the product."),
        ),
        "authorization_required": (
            _("The shop's connection to the marketplace has expired."),
            _("The shop owner must connect the shop again; the product will then be sent."),
        ),
        "no_category_mapping": (
            _("This marketplace has no category for the product's OCOP product set yet."),
            _("An officer must map the product set to a category of this marketplace."),
        ),
        "internal_error": (
            _("The product could not be sent because of an error in this service, not in the product."),
            _("Nothing to change on the product: an administrator must look at the service's log, then retry."),
        ),
    }


def reasons_for_people(channel: str, reasons: list[Reason], *, fallback: tuple[str, str] | None = None) -> list:
    """What to store: the marketplace's own words, kept, with the code that puts them into ours."""
    out = [{"code": r.code, "field": r.field, "marketplace_message": r.message} for r in reasons]
    if not out and fallback:
        out = [{"code": fallback[0], "field": "", "marketplace_message": fallback[1]}]
    return out


def reason_text(reason: dict) -> dict:
    """A stored reason in the reader's language: what happened and what to do."""
    known = _texts().get(reason.get("code", ""))
    if known:
        message, fix = known
    else:
        message = _("The marketplace refused the product: %(detail)s") % {
            "detail": reason.get("marketplace_message") or reason.get("code")
        }
        fix = _("Correct what the marketplace names, then send the product again.")
    return {**reason, "message": message, "fix": fix}
