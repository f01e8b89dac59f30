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


@pytest.mark.django_db
def test_a_reach_given_through_a_saved_scope_and_through_units_resolves_through_lineage():
    # given one officer assigned old Văn Chấn by its saved scope, another by the legacy district itself, and a
    # community team member holding both a commune and the saved scope
    from marketplace.accounts.models import Role
    from marketplace.accounts.scoping import user_reach
    from marketplace.accounts.services import role_assignment_create
    from marketplace.places.models import CodeSystem, Level, NamedScope
    from marketplace.places.selectors import scope_current_communes
    from tests.factories import unit, user_with_role

    van_chan = NamedScope.objects.get(slug="former-van-chan-district")
    by_scope, by_unit, team = UserFactory(), user_with_role(Role.OFFICER, units=[van_chan.units.first()]), UserFactory()
    role_assignment_create(user=by_scope, role=Role.OFFICER, named_scope=van_chan)
    old_yen_bai = unit(CodeSystem.LEGACY, Level.PROVINCE, "15")
    role_assignment_create(user=team, role=Role.COMMUNITY_TEAM, units=[old_yen_bai], named_scope=van_chan)

    # when
    scoped, united, helper = user_reach(by_scope), user_reach(by_unit), user_reach(team)

    # then the saved scope's communes, the same as by the unit; a team member's area is not an officer's
    expected = frozenset(scope_current_communes(scope=van_chan).values_list("pk", flat=True))
    assert expected and scoped.commune_ids == expected == united.commune_ids
    assert scoped.officer_commune_ids == expected and scoped.roles == {Role.OFFICER}
    assert helper.officer_commune_ids == frozenset() and helper.commune_ids > expected
