"""API conventions shared by every endpoint: pagination with a total count, strict input serializers."""

from collections.abc import Mapping

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination


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
