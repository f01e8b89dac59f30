import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.generics import GenericAPIView

from marketplace.accounts.scoping import ScopedQuerysetMixin, scope_queryset
from tests.factories import UserFactory


def _api_views(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/") and hasattr(pattern.callback, "cls"):
            yield route, pattern.callback.cls


def test_every_api_view_with_a_queryset_goes_through_the_scoping_mechanism():
    views = list(_api_views(get_resolver().url_patterns))
    assert len(views) >= 8

    unscoped = [
        route for route, view in views if issubclass(view, GenericAPIView) and not issubclass(view, ScopedQuerysetMixin)
    ]

    assert unscoped == []


@pytest.mark.django_db
def test_a_model_without_a_scope_rule_fails_closed():
    from auditlog.models import LogEntry

    with pytest.raises(ImproperlyConfigured):
        scope_queryset(LogEntry.objects.all(), UserFactory())
