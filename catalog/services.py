"""Writes for the catalogue. Each service validates, saves and audits in one transaction."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import ean
from stdnum.exceptions import ValidationError as StdnumError

from marketplace.core.errors import ServiceError
from marketplace.core.text import fold, nfc
from marketplace.places.models import AdministrativeUnit, Level
from marketplace.places.selectors import unit_successors_at

from . import validators
from .models import Producer, ProducerMembership, Product, ProductKind, ProductSet, Sku
from .readiness import readiness_refresh


def _current_commune(unit: AdministrativeUnit) -> AdministrativeUnit | None:
    """The one current commune a captured commune lies in; None when a split leaves several."""
    successors = unit_successors_at(unit=unit, at=timezone.localdate())
    return successors[0] if len(successors) == 1 else None


def _duplicate_tax_id() -> ServiceError:
    return ServiceError(
        "duplicate",
        _("A producer with this tax id is already registered."),
        fields={"tax_id": [_("This tax id is already registered. Ask an officer if this is your business.")]},
    )


def _apply(producer: Producer, changes: dict) -> list[str]:
    """Set and validate fields on `producer`; returns warnings (not refusals) for the caller to show."""
    for name, value in changes.items():
        setattr(producer, name, nfc(value) if isinstance(value, str) else value)
    errors = {}
    if "phone" in changes and producer.phone:
        try:
            producer.phone = validators.phone_to_e164(producer.phone)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if ("tax_id" in changes or "kind" in changes) and producer.tax_id:
        try:
            producer.tax_id, producer.tax_id_type = validators.tax_id_clean(kind=producer.kind, tax_id=producer.tax_id)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not producer.tax_id:
        producer.tax_id, producer.tax_id_type = None, ""
    if "commune_as_captured" in changes:
        if producer.commune_as_captured.level != Level.COMMUNE:
            errors["commune_as_captured"] = [_("Choose a commune (xã, phường or đặc khu), not a province or district.")]
        else:
            producer.current_commune = _current_commune(producer.commune_as_captured)
    if errors:
        raise ValidationError(errors)
    # Transliteration can lengthen a name (CJK, emoji); the key only needs to find it, so it is cut to size.
    producer.search_key = fold(f"{producer.legal_name} {producer.trade_name}")[:420]
    producer.full_clean(exclude=["tax_id"])  # uniqueness of tax_id is answered below, by the database

    warnings = []
    same_name = Producer.objects.filter(search_key=producer.search_key, current_commune=producer.current_commune)
    if producer.current_commune_id and same_name.exclude(pk=producer.pk).exists():
        warnings.append(_("Another producer with the same name is registered in this commune. Is it a duplicate?"))
    return warnings


@transaction.atomic
def producer_create(*, created_by=None, captured_on: date | None = None, **fields) -> tuple[Producer, list[str]]:
    """Register a producer. The user who registers a household or cooperative for themselves becomes a member.

    Returns the producer and warnings such as a same-name producer in the same commune.
    """
    producer = Producer(captured_on=captured_on or timezone.localdate())
    warnings = _apply(producer, fields)
    if producer.tax_id and Producer.objects.filter(tax_id=producer.tax_id).exists():
        raise _duplicate_tax_id()
    try:
        with transaction.atomic():
            producer.save()
    except IntegrityError:  # a concurrent registration of the same tax id won the race
        raise _duplicate_tax_id() from None
    return producer, warnings


@transaction.atomic
def producer_update(*, producer: Producer, **changes) -> tuple[Producer, list[str]]:
    """Change a producer. A new address gets a new capture date; the old captured commune is in the audit log."""
    if "commune_as_captured" in changes and changes["commune_as_captured"] != producer.commune_as_captured:
        changes.setdefault("captured_on", timezone.localdate())
    warnings = _apply(producer, changes)
    if producer.tax_id and Producer.objects.filter(tax_id=producer.tax_id).exclude(pk=producer.pk).exists():
        raise _duplicate_tax_id()
    try:
        with transaction.atomic():
            producer.save()
    except IntegrityError:
        raise _duplicate_tax_id() from None
    return producer, warnings


@transaction.atomic
def producer_member_add(*, producer: Producer, user, added_by=None) -> ProducerMembership:
    membership, created = ProducerMembership.objects.get_or_create(
        producer=producer, user=user, defaults={"created_by": added_by}
    )
    if not created:
        raise ServiceError("duplicate", _("This user is already a member."), fields={"user": [_("Already a member.")]})
    return membership


# Products and SKUs ---------------------------------------------------------------------------------------

PRODUCT_TRANSITIONS = {
    # from: {to: who may do it}
    "draft": {"submitted": "editor", "archived": "editor"},
    "submitted": {"draft": "editor", "approved": "officer", "archived": "editor"},
    "approved": {"draft": "editor", "archived": "editor"},
    "archived": {"draft": "editor"},
}


def _product_apply(product: Product, changes: dict) -> None:
    for name, value in changes.items():
        setattr(product, name, nfc(value) if isinstance(value, str) else value)
    errors = {}
    if product.origin_commune_id and product.origin_commune.level != Level.COMMUNE:
        errors["origin_commune"] = [_("Choose a commune (xã, phường or đặc khu), not a province or district.")]
    if product.product_set_id:
        expected = ProductKind.SERVICE if product.product_set.is_service else ProductKind.GOODS
        if not product.kind:
            product.kind = expected
        elif product.kind != expected:
            errors["kind"] = [
                _("Product set %(set)s is for services.") % {"set": product.product_set.number}
                if expected == ProductKind.SERVICE
                else _("Product set %(set)s is for goods, not services.") % {"set": product.product_set.number}
            ]
    if errors:
        raise ValidationError(errors)
    product.search_key = fold(f"{product.name} {product.brand}")[:420]
    product.full_clean()


@transaction.atomic
def product_create(*, producer: Producer, name: str, product_set: ProductSet, **fields) -> Product:
    """Add a product to a producer, as a draft. Goods or service follows from the product set."""
    product = Product(producer=producer)
    _product_apply(product, {"name": name, "product_set": product_set, **fields})
    product.save()
    readiness_refresh(product=product)
    return product


@transaction.atomic
def product_update(*, product: Product, **changes) -> Product:
    _product_apply(product, changes)
    product.save()
    readiness_refresh(product=product)
    return product


@transaction.atomic
def product_status_change(*, product: Product, to: str, is_officer: bool) -> Product:
    """Move a product through draft → submitted → approved (officers only) → archived, and back to draft."""
    allowed = PRODUCT_TRANSITIONS.get(product.status, {})
    if to not in allowed:
        raise ServiceError(
            "invalid_transition",
            _("A product cannot go from %(from)s to %(to)s.") % {"from": product.status, "to": to},
            fields={"status": [_("Allowed next steps: %(steps)s.") % {"steps": ", ".join(allowed) or "-"}]},
        )
    if allowed[to] == "officer" and not is_officer:
        raise ServiceError(
            "permission_denied",
            _("Only an officer can approve a product."),
            fields={"status": [_("Submit it; an officer will review it.")]},
            status_code=403,
        )
    product.status = to
    product.save(update_fields=["status", "updated_at"])
    return product


def _sku_apply(sku: Sku, changes: dict) -> None:
    for name, value in changes.items():
        setattr(sku, name, nfc(value).strip() if isinstance(value, str) else value)  # NFC, as every stored text
    if sku.gtin:
        try:
            sku.gtin = ean.validate(sku.gtin)
        except StdnumError:
            raise ValidationError(
                {"gtin": [_("This barcode is not valid: check its digits (the last one is a check digit).")]}
            ) from None
    sku.full_clean(validate_constraints=False)  # the barcode's uniqueness is answered in _sku_save, on "gtin"


@transaction.atomic
def sku_create(*, product: Product, **fields) -> Sku:
    sku = Sku(product=product)
    _sku_apply(sku, fields)
    _sku_save(sku)
    readiness_refresh(product=product)
    return sku


@transaction.atomic
def sku_update(*, sku: Sku, **changes) -> Sku:
    _sku_apply(sku, changes)
    _sku_save(sku)
    readiness_refresh(product=sku.product)
    return sku


def _sku_save(sku: Sku) -> None:
    duplicate = ServiceError(
        "duplicate",
        _("Another product already uses this barcode."),
        fields={"gtin": [_("Check the barcode printed on this package.")]},
    )
    if sku.gtin and Sku.objects.filter(gtin=sku.gtin).exclude(pk=sku.pk).exists():
        raise duplicate
    try:
        with transaction.atomic():
            sku.save()
    except IntegrityError:  # a concurrent save of the same barcode won the race
        raise duplicate from None


@transaction.atomic
def sku_delete(*, sku: Sku) -> None:
    if sku.listings.exists():  # a listing keeps its package (PROTECT): say so instead of failing with a 500
        raise ServiceError(
            "package_listed",
            _("This package is on a marketplace. Withdraw its listings instead of deleting it."),
            status_code=409,
        )
    product = sku.product
    sku.delete()
    readiness_refresh(product=product)
