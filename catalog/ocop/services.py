"""Writes for OCOP certificates. Each service validates and saves in one transaction; django-auditlog records
every change (with the actor when called from the API)."""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from catalog.files import document_file_check, file_store
from catalog.models import Product, ProductSet
from catalog.readiness import readiness_refresh
from marketplace.core.errors import ServiceError
from marketplace.core.text import nfc

from . import rules
from .models import CertificateStatus, EvaluationType, OcopCertificate, Star, Verification

# Quảng Ninh's provincial OCOP began in 2013, the national programme in 2018 (Decision 490/QĐ-TTg [K]).
OCOP_PROGRAMME_START = date(2013, 1, 1)

SCAN_PREFIX = "ocop-certificates"
# The daily expiry saves row by row (so that the audit trail has each change) in batches, so that a first run
# over a large import never holds the write lock for long.
_EXPIRY_BATCH = 500


def _overlapping_active(*, product: Product, valid_from: date, valid_until: date, supersedes: OcopCertificate | None):
    """The active certificate of `product` whose validity meets [valid_from, valid_until], if any. One an
    officer rejected does not count: the producer must be able to enter the corrected one."""
    queryset = OcopCertificate.objects.filter(
        product=product, status=CertificateStatus.ACTIVE, valid_from__lte=valid_until, valid_until__gte=valid_from
    ).exclude(verification=Verification.REJECTED)
    if supersedes is not None:
        queryset = queryset.exclude(pk=supersedes.pk)
    return queryset.order_by("valid_from", "pk").first()


@transaction.atomic
def ocop_certificate_create(
    *,
    product: Product,
    star: str,
    decision_number: str,
    decision_date: date,
    issuing_level: str,
    issuing_body: str,
    evaluation_type: str = EvaluationType.NEW,
    score: int | None = None,
    criteria_version: str = "",
    product_set: ProductSet | None = None,
    certificate_number: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
    supersedes: OcopCertificate | None = None,
    scan=None,
    created_by=None,
    today: date | None = None,
) -> OcopCertificate:
    """Record a product's OCOP certificate, unverified until an officer verifies it.

    `valid_from` defaults to the decision date and `valid_until` to 36 months after it. A score must fall in
    the star's band. A second active certificate whose validity overlaps another of the same product is
    refused, unless the new one `supersedes` it: that one is then marked superseded, in this transaction.
    The scan (a PDF, JPEG or PNG upload) is optional. A level that does not match domain.md §3 is not refused:
    officers see it as a warning (rules.certificate_warnings).
    """
    today = today or timezone.localdate()
    # Two certificates entered at once for one product must not both pass the overlap check: lock the product.
    Product.objects.select_for_update().filter(pk=product.pk).first()

    # A decision date outside [2013, today] is a typing mistake; checking it first also keeps
    # "decision + 36 months" from overflowing on 9999-12-31.
    if not OCOP_PROGRAMME_START <= decision_date <= today:
        raise ValidationError(
            {"decision_date": [_("Check the date on the decision: it must be between 2013 and today.")]}
        )
    valid_from = valid_from or decision_date
    valid_until = valid_until or rules.default_valid_until(decision_date)
    errors: dict[str, list[str]] = {}
    if star == Star.POTENTIAL_FIVE and not rules.potential_five_allowed(decision_date):
        errors["star"] = [_("“Potential 5 stars” was only given before 24 February 2023. Choose 3, 4 or 5 stars.")]
    if score is not None and star in rules.SCORE_BANDS:
        low, high = rules.score_band(star)
        if not low <= score <= high:
            errors["score"] = [
                _("A %(star)s certificate has a score from %(low)d to %(high)d. Check the score on the decision.")
                % {"star": rules.star_label(star), "low": low, "high": high}
            ]
    if valid_until < valid_from:
        errors["valid_until"] = [_("The end of validity is before its start.")]
    criteria_version = nfc(criteria_version or "")
    if product_set is not None:
        if criteria_version and criteria_version != product_set.version:
            errors["criteria_version"] = [
                _("The product set chosen belongs to the criteria of %(version)s.") % {"version": product_set.version}
            ]
        criteria_version = criteria_version or product_set.version
    if supersedes is not None:
        if supersedes.product_id != product.pk:
            errors["supersedes"] = [_("Choose a certificate of this same product.")]
        elif supersedes.status in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED):
            errors["supersedes"] = [_("That certificate was already revoked or replaced.")]
        elif supersedes.decision_date > decision_date:
            errors["supersedes"] = [_("A certificate can only replace one decided before it.")]
    scan_data = scan_type = None
    if scan is not None:
        try:
            scan_data, scan_type = document_file_check(scan, field="scan")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    clash = _overlapping_active(product=product, valid_from=valid_from, valid_until=valid_until, supersedes=supersedes)
    if clash is not None:
        raise ServiceError(
            "overlapping_certificate",
            _("This product already has an active OCOP certificate for these dates."),
            fields={
                "valid_from": [
                    _(
                        "The %(star)s certificate of decision %(number)s is valid from %(start)s to %(end)s. "
                        "If the new certificate replaces it, choose it under “supersedes”; otherwise check the dates."
                    )
                    % {
                        "star": rules.star_label(clash.star),
                        "number": clash.decision_number,
                        "start": date_format(clash.valid_from, "SHORT_DATE_FORMAT"),
                        "end": date_format(clash.valid_until, "SHORT_DATE_FORMAT"),
                    }
                ]
            },
        )

    certificate = OcopCertificate(
        product=product,
        star=star,
        score=score,
        evaluation_type=evaluation_type,
        criteria_version=criteria_version,
        product_set=product_set,
        decision_number=nfc(decision_number),
        decision_date=decision_date,
        issuing_level=issuing_level,
        issuing_body=nfc(issuing_body),
        certificate_number=nfc(certificate_number or ""),
        valid_from=valid_from,
        valid_until=valid_until,
        status=CertificateStatus.EXPIRED if valid_until < today else CertificateStatus.ACTIVE,
        supersedes=supersedes,
        created_by=created_by,
    )
    certificate.full_clean()
    if scan_data is not None:
        stored = file_store(data=scan_data, content_type=scan_type, prefix=SCAN_PREFIX)
        certificate.scan_file_key = stored.key
        certificate.scan_sha256 = stored.sha256
        certificate.scan_size = stored.size
        certificate.scan_content_type = stored.content_type
    try:
        with transaction.atomic():
            certificate.save()
            if supersedes is not None:
                supersedes.status = CertificateStatus.SUPERSEDED
                supersedes.save(update_fields=["status", "updated_at"])
            readiness_refresh(product=certificate.product)
    except BaseException:
        # The row did not make it: the stored scan goes too, unless another certificate (the same scan
        # uploaded twice) still refers to it.
        if (
            certificate.scan_file_key
            and not OcopCertificate.objects.filter(scan_file_key=certificate.scan_file_key).exists()
        ):
            default_storage.delete(certificate.scan_file_key)
        raise
    return certificate


@transaction.atomic
def ocop_certificate_verify(
    *, certificate: OcopCertificate, officer, decision: str, reason: str = "", now: datetime | None = None
) -> OcopCertificate:
    """An officer's check of a certificate against the decision: verified, or rejected with a reason the
    producer can act on. May be decided again (an officer corrects a mistake); whether the officer may do it
    at all is the caller's question (the API checks their area)."""
    reason = nfc(reason)
    if decision not in (Verification.VERIFIED, Verification.REJECTED):
        raise ValidationError({"decision": [_("Choose “verified” or “rejected”.")]})
    if decision == Verification.REJECTED and not reason:
        raise ValidationError({"reason": [_("Say why the certificate is rejected, so that the producer can fix it.")]})
    if certificate.status == CertificateStatus.REVOKED:
        raise ServiceError("certificate_revoked", _("This certificate was revoked; it can no longer be verified."))
    certificate.verification = decision
    certificate.verified_by = officer
    certificate.verified_at = now or timezone.now()
    certificate.rejection_reason = reason if decision == Verification.REJECTED else ""
    certificate.save(update_fields=["verification", "verified_by", "verified_at", "rejection_reason", "updated_at"])
    readiness_refresh(product=certificate.product)
    return certificate


@transaction.atomic
def ocop_certificate_revoke(
    *, certificate: OcopCertificate, officer, reason: str, now: datetime | None = None
) -> OcopCertificate:
    """Record that the issuing body withdrew a certificate. A revoked certificate never counts, for any date."""
    reason = nfc(reason)
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for the revocation (for example the decision).")]})
    if certificate.status == CertificateStatus.REVOKED:
        raise ServiceError("certificate_revoked", _("This certificate was already revoked."))
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = now or timezone.now()
    certificate.revoked_by = officer
    certificate.revocation_reason = reason
    certificate.save(update_fields=["status", "revoked_at", "revoked_by", "revocation_reason", "updated_at"])
    readiness_refresh(product=certificate.product)
    return certificate


def ocop_certificates_refresh_status(*, today: date) -> int:
    """Mark active certificates whose validity ended before `today` as expired. Idempotent; returns how many
    changed. Run daily by tasks.ocop_certificates_refresh_status_task."""
    changed = 0
    while True:
        with transaction.atomic():
            batch = list(
                OcopCertificate.objects.select_for_update()
                .filter(status=CertificateStatus.ACTIVE, valid_until__lt=today)
                .order_by("pk")[:_EXPIRY_BATCH]
            )
            for certificate in batch:
                certificate.status = CertificateStatus.EXPIRED
                certificate.save(update_fields=["status", "updated_at"])
            # An expired certificate no longer makes its product ready for the channels that need OCOP.
            for product in {certificate.product for certificate in batch}:
                readiness_refresh(product=product)
        changed += len(batch)
        if len(batch) < _EXPIRY_BATCH:
            return changed
