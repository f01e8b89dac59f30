"""Writes for accounts: users and role assignments. Administrators call these through the API or admin."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from marketplace.core.errors import ServiceError

from .models import PLACE_BOUND_ROLES, RoleAssignment, User


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
) -> User:
    user = User(username=username, email=email, first_name=first_name, last_name=last_name, phone=phone)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError(
            "invalid", _("The password is not strong enough."), fields={"password": list(exc.messages)}
        ) from None
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_update(*, user: User, **changes) -> User:
    password = changes.pop("password", None)
    for name, value in changes.items():
        setattr(user, name, value)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ServiceError(
                "invalid", _("The password is not strong enough."), fields={"password": list(exc.messages)}
            ) from None
        user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def role_assignment_create(*, user: User, role: str, units=(), named_scope=None, created_by=None) -> RoleAssignment:
    """Give `user` a role. Officers and community team members need an area: units and/or a named scope."""
    units = list(units)
    if role in PLACE_BOUND_ROLES and not units and named_scope is None:
        raise ServiceError(
            "invalid",
            _("This role needs an area."),
            fields={"units": [_("Choose at least one unit or a saved scope.")]},
        )
    assignment = RoleAssignment(user=user, role=role, named_scope=named_scope, created_by=created_by)
    assignment.full_clean()
    assignment.save()
    assignment.units.set(units)
    return assignment


@transaction.atomic
def role_assignment_deactivate(*, assignment: RoleAssignment) -> RoleAssignment:
    assignment.is_active = False
    assignment.save(update_fields=["is_active"])
    return assignment
