"""Fixed values of the storefront and its payments."""

from django.utils.translation import gettext_lazy as _

CURRENCY = "vnd"  # zero-decimal: amounts are whole đồng
CHANNEL = "storefront"
# The test cards a local test server (localstripe) knows (marketplaces.md §7.3.7). Offered to buyers only
# when payments go to such a server; with real Stripe the card is entered in Stripe Elements instead.
TEST_CARD_3DS_NUMBER = "4000002500003155"
TEST_PAYMENT_METHODS = {
    "pm_card_visa": _("Test card Visa 4242 4242 4242 4242 (paid)"),
    "pm_card_chargeCustomerFail": _("Test card 4000 0000 0000 0341 (declined)"),
    "card_3ds": _("Test card 4000 0025 0000 3155 (asks for 3-D Secure)"),
}
MAX_QUANTITY = 99
# Order references: a day and five characters nobody confuses (no 0/O, 1/I/L).
ORDER_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ORDER_REF_PREFIX = "CH"
# What the buyer reads when a payment fails, by the provider's error code (its own text is English and technical;
# it is kept on the attempt for officers).
FAILURE_MESSAGES = {
    "card_declined": _("The bank declined this card."),
    "insufficient_funds": _("The card has not enough funds."),
    "expired_card": _("The card has expired."),
    "payment_intent_authentication_failure": _("The card was not confirmed with the bank (3-D Secure)."),
    "not_created": _("The payment did not reach the bank."),
}
FAILURE_DEFAULT = _("The payment did not go through.")
