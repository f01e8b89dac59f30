"""API conventions shared by every endpoint: pagination with a total count, strict input serializers."""

from collections.abc import Mapping

import django_filters
from django import forms
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, serializers
from rest_framework.pagination import PageNumberPagination


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, where nesting deep enough to overflow Python's stack ([[[[…]]]]) is malformed input
    (a 400 parse_error), not a server error."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError() from None


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know, naming them.

    DRF silently drops unknown keys; then a producer who sends {"is_superuser": true} or a misspelt field
    gets a 200 and believes it worked. Here they get a 400 saying which field is not accepted.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: [_("This field is not accepted here.")] for name in unknown})
        return super().to_internal_value(data)


class _IdField(forms.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)  # bigint: a larger id is a 400, not a database overflow
        super().__init__(**kwargs)


class IdFilter(django_filters.Filter):
    """A filter on an id: a whole number in the database's range. "1.5" or 10**20 is a 400 naming it."""

    field_class = _IdField


class _StrictBooleanField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("choices", [("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")])
        kwargs.setdefault("coerce", lambda value: value in ("true", "1"))
        kwargs.setdefault("empty_value", None)
        super().__init__(**kwargs)

    def clean(self, value):
        return super().clean(value.lower() if isinstance(value, str) else value)


class BooleanFilter(django_filters.BooleanFilter):
    """true/false (or 1/0); anything else is a 400 naming the parameter, not a filter silently ignored."""

    field_class = _StrictBooleanField
