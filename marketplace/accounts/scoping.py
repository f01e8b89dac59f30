"""The one scoping mechanism: every API queryset passes through `scope_queryset`.

Each model that the API exposes registers a rule (`@scope_rule(Model)`) saying which rows a user's reach
covers. A model with no rule raises instead of leaking: scoping fails closed. Views get it by inheriting
`ScopedQuerysetMixin`, and tests/accounts/test_scoping.py checks that every API view does. Objects outside a
user's reach are therefore simply not found (404), never 403: their existence is not revealed.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, Q, QuerySet
from rest_framework import serializers

from .models import PLACE_BOUND_ROLES, Role, RoleAssignment, User


@dataclass(frozen=True)
class Reach:
    """What a user may see: their roles and the current communes their place-bound roles cover."""

    user_id: int | None
    is_admin: bool
    is_superuser: bool
    roles: frozenset[str]
    commune_ids: frozenset[int]
    # The part of commune_ids that comes from officer assignments: officers see personal data there.
    officer_commune_ids: frozenset[int] = frozenset()

    def has_role(self, *roles: str) -> bool:
        return self.is_admin or bool(self.roles.intersection(roles))

    def covers_communes(self, commune_ids) -> bool:
        return self.is_admin or set(commune_ids) <= self.commune_ids


ANONYMOUS = Reach(user_id=None, is_admin=False, is_superuser=False, roles=frozenset(), commune_ids=frozenset())


def user_reach(user) -> Reach:
    """Computed once per user object (so once per request) from the active role assignments."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, "_reach", None)
    if cached is not None:
        return cached
    from marketplace.places.models import NamedScope
    from marketplace.places.selectors import units_current_commune_ids

    # One query on every request: each active assignment with the ids of its own units (a row per unit, or one
    # row without), which are all it takes to find the area already resolved (places.selectors); the units of a
    # named scope only for the assignments that have one (rare).
    rows = (
        RoleAssignment.objects.filter(user=user, is_active=True)
        .order_by()
        .values_list("role", "named_scope_id", "units")
    )
    roles, scoped = set(), {}
    units_by_role: dict[str, list[int]] = {role: [] for role in PLACE_BOUND_ROLES}
    for role, named_scope_id, unit_id in rows:
        roles.add(role)
        if role not in PLACE_BOUND_ROLES:
            continue
        if unit_id is not None:
            units_by_role[role].append(unit_id)
        if named_scope_id is not None:
            scoped.setdefault(named_scope_id, set()).add(role)
    if scoped:
        through = NamedScope.units.through.objects.filter(namedscope_id__in=scoped)
        for scope_id, unit_id in through.values_list("namedscope_id", "administrativeunit_id"):
            for role in scoped[scope_id]:
                units_by_role[role].append(unit_id)
    roles = frozenset(roles)

    officer_commune_ids = units_current_commune_ids(units=units_by_role[Role.OFFICER])
    commune_ids = officer_commune_ids | units_current_commune_ids(units=units_by_role[Role.COMMUNITY_TEAM])
    reach = Reach(
        user_id=user.pk,
        is_admin=user.is_superuser or Role.ADMINISTRATOR in roles,
        is_superuser=user.is_superuser,
        roles=roles,
        commune_ids=commune_ids,
        officer_commune_ids=officer_commune_ids,
    )
    user._reach = reach
    return reach


Rule = Callable[[QuerySet, Reach], QuerySet]
_RULES: dict[type[Model], Rule] = {}


def scope_rule(model: type[Model]) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        _RULES[model] = rule
        return rule

    return register


def scope_queryset(queryset: QuerySet, user) -> QuerySet:
    """Restrict `queryset` to what `user` may see, by the rule registered for its model."""
    try:
        rule = _RULES[queryset.model]
    except KeyError:
        raise ImproperlyConfigured(
            f"No scope rule for {queryset.model.__name__}; register one with @scope_rule"
        ) from None
    return rule(queryset, user_reach(user))


class ScopedQuerysetMixin:
    """For DRF views: get_queryset() goes through scope_queryset, so out-of-scope objects answer 404."""

    def get_queryset(self):
        return scope_queryset(super().get_queryset(), self.request.user)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference by id in an input serializer, looked up through scope_queryset (needs the request in
    the serializer context): an object you cannot see is "does not exist", as everywhere else."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pk_field", serializers.IntegerField())  # 1.5 or "1abc" is an error, not user 1
        super().__init__(**kwargs)

    def get_queryset(self):
        return scope_queryset(super().get_queryset(), self.context["request"].user)


@scope_rule(User)
def _users(queryset: QuerySet, reach: Reach) -> QuerySet:
    if reach.is_superuser:
        return queryset
    if reach.is_admin:
        # An administrator by role manages people, but never a superuser: no password reset, no deactivation.
        return queryset.filter(is_superuser=False)
    return queryset.filter(pk=reach.user_id)


@scope_rule(RoleAssignment)
def _role_assignments(queryset: QuerySet, reach: Reach) -> QuerySet:
    if reach.is_superuser:
        return queryset
    if reach.is_admin:
        return queryset.filter(user__is_superuser=False)
    return queryset.filter(Q(user_id=reach.user_id))
