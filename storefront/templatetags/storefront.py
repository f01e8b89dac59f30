from django import template

from marketplace.core.money import vnd_format

register = template.Library()


@register.filter
def vnd(amount) -> str:
    """`150.000 ₫`."""
    return "" if amount is None else vnd_format(int(amount))
