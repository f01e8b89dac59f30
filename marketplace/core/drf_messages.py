"""Third-party messages our API shows, listed so that our Vietnamese catalogue translates them.

Django REST Framework and django-filter ship almost no Vietnamese, and Django's own Vietnamese is uneven.
`makemessages` only collects strings it finds in our source, so this module repeats, verbatim, the msgids of
the DRF 3.18 and Django 5.2 messages (field errors, validators, pagination) that reach our users. It is
never imported for its value: `gettext_noop` only marks each msgid, so `makemessages` keeps it in
locale/vi/LC_MESSAGES/django.po, and our catalogue (LOCALE_PATHS comes first) gives the Vietnamese.

Each msgid must match the package source exactly, placeholders and quotes included, or it is never used.
Plural messages are marked inside `_plural_messages`, which is never called.
"""

from django.utils.translation import gettext_noop, ngettext

DRF_MESSAGES = (
    # rest_framework.fields
    gettext_noop("This field is required."),
    gettext_noop("This field may not be null."),
    gettext_noop("This field may not be blank."),
    gettext_noop("Ensure this field has no more than {max_length} characters."),
    gettext_noop("Ensure this field has at least {min_length} characters."),
    gettext_noop("A valid integer is required."),
    gettext_noop("A valid number is required."),
    gettext_noop("Ensure this value is less than or equal to {max_value}."),
    gettext_noop("Ensure this value is greater than or equal to {min_value}."),
    gettext_noop("Ensure that there are no more than {max_digits} digits in total."),
    gettext_noop("Ensure that there are no more than {max_decimal_places} decimal places."),
    gettext_noop("Must be a valid boolean."),
    gettext_noop("Not a valid string."),
    gettext_noop("Must be a valid UUID."),
    gettext_noop("Enter a valid email address."),
    gettext_noop("Enter a valid URL."),
    gettext_noop('Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'),
    gettext_noop('"{input}" is not a valid choice.'),
    gettext_noop('Expected a list of items but got type "{input_type}".'),
    gettext_noop("This list may not be empty."),
    gettext_noop("Date has wrong format. Use one of these formats instead: {format}."),
    gettext_noop("Datetime has wrong format. Use one of these formats instead: {format}."),
    # rest_framework.serializers and rest_framework.validators
    gettext_noop("Invalid data. Expected a dictionary, but got {datatype}."),
    gettext_noop("This field must be unique."),
    gettext_noop("The fields {field_names} must make a unique set."),
    # rest_framework.relations
    gettext_noop('Invalid pk "{pk_value}" - object does not exist.'),
    gettext_noop("Incorrect type. Expected pk value, received {data_type}."),
    gettext_noop("Object with {slug_name}={value} does not exist."),
    gettext_noop("Invalid value."),
    # rest_framework.pagination
    gettext_noop("Invalid page."),
    # django.forms (the fields django-filter builds)
    gettext_noop("Select a valid choice. %(value)s is not one of the available choices."),
    gettext_noop("Enter a number."),
    gettext_noop("Enter a valid date."),
    # django.core.validators
    gettext_noop("Ensure this value is less than or equal to %(limit_value)s."),
    gettext_noop("Ensure this value is greater than or equal to %(limit_value)s."),
    gettext_noop("Null characters are not allowed."),
    # django.contrib.auth
    gettext_noop("This password is too common."),
    gettext_noop("This password is entirely numeric."),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    gettext_noop("A user with that username already exists."),
)


def _plural_messages():  # pragma: no cover - never called; only here for makemessages to extract
    ngettext(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        8,
    )
