"""The OCOP rules of domain.md §3 as pure functions: score bands, who certifies, validity, warnings.

No database access here: the API computes warnings for every row of a list without a query.
"""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .models import CertificateStatus, IssuingLevel, Star

# Certified bands on 100 points; the legacy "potential 5 stars" was given for a 5-star score at province level.
SCORE_BANDS: dict[str, tuple[int, int]] = {
    Star.THREE: (50, 69),
    Star.FOUR: (70, 89),
    Star.FIVE: (90, 100),
    Star.POTENTIAL_FIVE: (90, 100),
}

VALIDITY = relativedelta(months=36)
EXPIRY_NOTICE_DAYS = 90

DECISION_148_FROM = date(2023, 2, 24)  # Decision 148/QĐ-TTg: 3 stars certified by districts
DECISION_1489_FROM = date(2025, 7, 6)  # Decision 1489/QĐ-TTg: districts are gone, back to provinces


def score_band(star: str) -> tuple[int, int]:
    return SCORE_BANDS[star]


def default_valid_until(decision_date: date) -> date:
    """A certificate is valid 36 months from its recognition decision."""
    return decision_date + VALIDITY


def potential_five_allowed(decision_date: date) -> bool:
    """ "Potential 5 stars" existed under Decision 1048 only, so only on decisions before Decision 148."""
    return decision_date < DECISION_148_FROM


def expected_issuing_levels(*, star: str, decision_date: date) -> frozenset[str]:
    """The level(s) that certify `star` under the rules in force on `decision_date` (domain.md §3 table)."""
    if star == Star.FIVE:
        return frozenset({IssuingLevel.CENTRAL})
    if star == Star.THREE and DECISION_148_FROM <= decision_date < DECISION_1489_FROM:
        return frozenset({IssuingLevel.DISTRICT})
    return frozenset({IssuingLevel.PROVINCE})  # 4 stars always; 3 stars before and after Decision 148's time


def star_label(star: str) -> str:
    return _("potential 5★") if star == Star.POTENTIAL_FIVE else f"{star}★"


def certificate_warnings(certificate, *, today: date) -> list[str]:
    """What an officer should look at twice: a level that does not match the table, a certificate about to
    expire, a validity that is not the usual 36 months. Warnings, never refusals (transitional cases exist)."""
    warnings = []
    expected = expected_issuing_levels(star=certificate.star, decision_date=certificate.decision_date)
    if certificate.issuing_level not in expected:
        warnings.append(
            _(
                "On %(date)s a %(star)s certificate was issued at %(expected)s level, but this one was issued at "
                "%(level)s level. Check the decision."
            )
            % {
                "date": date_format(certificate.decision_date, "SHORT_DATE_FORMAT"),
                "star": star_label(certificate.star),
                "expected": " / ".join(str(IssuingLevel(level).label).lower() for level in sorted(expected)),
                "level": str(IssuingLevel(certificate.issuing_level).label).lower(),
            }
        )
    if certificate.status == CertificateStatus.ACTIVE and (
        today <= certificate.valid_until <= today + timedelta(days=EXPIRY_NOTICE_DAYS)
    ):
        warnings.append(
            _("This certificate expires on %(date)s, in %(days)d days: plan the re-evaluation.")
            % {
                "date": date_format(certificate.valid_until, "SHORT_DATE_FORMAT"),
                "days": (certificate.valid_until - today).days,
            }
        )
    if certificate.valid_until != default_valid_until(certificate.decision_date):
        warnings.append(
            _("Valid until %(until)s, not the usual 36 months after the decision (%(usual)s). Check the dates.")
            % {
                "until": date_format(certificate.valid_until, "SHORT_DATE_FORMAT"),
                "usual": date_format(default_valid_until(certificate.decision_date), "SHORT_DATE_FORMAT"),
            }
        )
    return warnings
