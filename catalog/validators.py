"""Where producer data is validated: tax ids per kind, phone numbers. Each raises ValidationError on its field."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

from marketplace.places.models import AdministrativeUnit, CodeSystem, Level

from .models import PERSONAL_ID_KINDS, TaxIdType


def phone_to_e164(value: str) -> str:
    """A Vietnamese phone number in any usual spelling ("0912 345 678", "+84 912…") as E.164."""
    try:
        number = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException:
        raise ValidationError({"phone": [_("This is not a phone number.")]}) from None
    if phonenumbers.region_code_for_number(number) != "VN":
        raise ValidationError({"phone": [_("Give a Vietnamese phone number (+84 or starting with 0).")]})
    if not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": [_("This Vietnamese number has the wrong number of digits.")]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _personal_id(value: str) -> str:
    # No maintained library validates the 12-digit citizen id (CCCD); python-stdnum has only the tax code.
    # Its public structure: 3-digit province code of birth registration, a century/sex digit, 2 digits of
    # the birth year, 6 serial digits. The province part is checked against the loaded legacy provinces.
    digits = "".join(ch for ch in value if not ch.isspace())
    if not (digits.isdigit() and len(digits) == 12):
        raise ValidationError({"tax_id": [_("A personal id number has exactly 12 digits.")]})
    province = digits[1:3]
    if (
        digits[0] != "0"
        or not AdministrativeUnit.objects.filter(system=CodeSystem.LEGACY, level=Level.PROVINCE, code=province).exists()
    ):
        raise ValidationError({"tax_id": [_("The first 3 digits are not a province code. Check the number.")]})
    return digits


def _tax_code(value: str) -> str:
    try:
        return mst.validate(value)
    except StdnumError:
        raise ValidationError(
            {"tax_id": [_("This tax code is not valid: check its 10 digits (13 for a branch) and the check digit.")]}
        ) from None


def tax_id_clean(*, kind: str, tax_id: str) -> tuple[str, str]:
    """(normalised tax id, its type) for a producer of this kind, or a ValidationError on "tax_id"."""
    if kind in PERSONAL_ID_KINDS:
        return _personal_id(tax_id), TaxIdType.PERSONAL_ID
    return _tax_code(tax_id), TaxIdType.TAX_CODE


def tax_id_masked(value: str | None) -> str | None:
    """Show only the last 3 digits: `*********789`."""
    if not value:
        return value
    return "*" * (len(value) - 3) + value[-3:]
