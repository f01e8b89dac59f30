"""Money: VND is a zero-decimal currency, stored as integer đồng and shown as `150.000 ₫`."""

from babel.numbers import format_decimal


def vnd_format(amount: int) -> str:
    """`150.000 ₫`: Vietnamese grouping (dots) whatever the interface language, as buyers expect."""
    return f"{format_decimal(amount, locale='vi_VN')} ₫"
