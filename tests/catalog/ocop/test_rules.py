"""The rules of domain.md §3 as pure functions: who certifies, by decision date and star."""

from datetime import date

import pytest
from django.utils import translation

from catalog.ocop.models import CertificateStatus, OcopCertificate
from catalog.ocop.rules import certificate_warnings, default_valid_until, expected_issuing_levels


@pytest.mark.parametrize(
    ("star", "decided", "level"),
    [
        ("3", date(2023, 2, 23), "province"),  # Decision 1048
        ("4", date(2023, 2, 23), "province"),
        ("5", date(2023, 2, 23), "central"),
        ("potential_5", date(2021, 5, 4), "province"),
        ("3", date(2023, 2, 24), "district"),  # Decision 148, from its first day
        ("3", date(2025, 7, 5), "district"),  # to its last
        ("4", date(2024, 3, 1), "province"),
        ("5", date(2024, 3, 1), "central"),
        ("3", date(2025, 7, 6), "province"),  # Decision 1489: no more districts
        ("4", date(2025, 7, 6), "province"),
        ("5", date(2025, 7, 6), "central"),
    ],
)
def test_the_expected_issuing_level_follows_the_table(star, decided, level):
    assert expected_issuing_levels(star=star, decision_date=decided) == {level}


def test_validity_is_36_months_even_from_the_end_of_february():
    assert default_valid_until(date(2024, 11, 12)) == date(2027, 11, 12)
    assert default_valid_until(date(2024, 2, 29)) == date(2027, 2, 28)


def test_warnings_name_the_level_mismatch_and_the_coming_expiry():
    # given a 3★ by a province body on 1 March 2024 (districts certified 3★ then), ending in 30 days
    certificate = OcopCertificate(
        star="3",
        decision_date=date(2024, 3, 1),
        issuing_level="province",
        valid_from=date(2024, 3, 1),
        valid_until=date(2027, 3, 1),
        status=CertificateStatus.ACTIVE,
    )

    # when
    with translation.override("en"):
        warnings = certificate_warnings(certificate, today=date(2027, 1, 30))

    # then
    assert len(warnings) == 2
    assert "district" in warnings[0]
    assert "30" in warnings[1]
    # and a level that matches, far from its expiry, has none
    certificate.issuing_level = "district"
    assert certificate_warnings(certificate, today=date(2025, 1, 1)) == []
