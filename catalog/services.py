"""Writes for the catalogue. Each service validates, saves and audits in one transaction."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.core.errors import ServiceError
from marketplace.core.text import fold, nfc
from marketplace.places.models import AdministrativeUnit, Level
from marketplace.places.selectors import unit_successors_at

from . import validators
from .models import Producer, ProducerMembership


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
    producer.search_key = fold(f"{producer.legal_name} {producer.trade_name}")
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
