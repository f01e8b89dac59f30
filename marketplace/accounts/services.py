"""Writes for accounts: users and role assignments. Administrators call these through the API or admin."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from marketplace.core.errors import ServiceError
from marketplace.core.text import nfc

from .models import PLACE_BOUND_ROLES, Role, RoleAssignment, User


def _set_password(user: User, password: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ServiceError(
            "invalid", _("The password is not strong enough."), fields={"password": list(exc.messages)}
        ) from None
    user.set_password(password)


@transaction.atomic
def user_create(
    *, username: str, password: str, email: str = "", first_name: str = "", last_name: str = "", phone: str = ""
) -> User:
    if User.objects.filter(username__iexact=username).exists():
        # "Canbo.YenBai" and "canbo.yenbai" would be two accounts a person cannot tell apart at sign-in.
        raise ServiceError(
            "duplicate", _("This username is already taken."), fields={"username": [_("Choose another username.")]}
        )
    user = User(username=username, email=email, first_name=nfc(first_name), last_name=nfc(last_name), phone=phone)
    _set_password(user, password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_update(*, user: User, **changes) -> User:
    """Change a user's profile, password or active flag.

    A new password or a deactivation revokes the user's API token: whoever held it must sign in again.
    """
    password = changes.pop("password", None)
    for name, value in changes.items():
        setattr(user, name, nfc(value) if name in ("first_name", "last_name") else value)  # text is stored NFC
    if password:
        _set_password(user, password)
    user.full_clean()
    user.save()
    if password or not user.is_active:
        Token.objects.filter(user=user).delete()
    return user


@transaction.atomic
def role_assignment_create(*, user: User, role: str, units=(), named_scope=None, created_by=None) -> RoleAssignment:
    """Give `user` a role. Officers and community team members need an area: units and/or a named scope.

    One active assignment per user and role: to change an area, deactivate the old one first.
    Only a superuser may make someone an administrator.
    """
    units = list(units)
    if role == Role.ADMINISTRATOR and not (created_by and created_by.is_superuser):
        raise ServiceError(
            "permission_denied",
            _("Only a superuser can make someone an administrator."),
            fields={"role": [_("Choose another role.")]},
            status_code=403,
        )
    if role in PLACE_BOUND_ROLES and not units and named_scope is None:
        raise ServiceError(
            "invalid",
            _("This role needs an area."),
            fields={"units": [_("Choose at least one unit or a saved scope.")]},
        )
    # Lock the user's row so that two concurrent grants of the same role cannot both pass the check.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if RoleAssignment.objects.filter(user=user, role=role, is_active=True).exists():
        raise ServiceError(
            "duplicate",
            _("This user already has this role."),
            fields={"role": [_("Deactivate the current assignment first to change its area.")]},
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
