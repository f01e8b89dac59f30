"""Factories shared by every test package."""

import itertools

import factory
from django.contrib.auth import get_user_model

from marketplace.accounts.models import Role
from marketplace.accounts.services import role_assignment_create
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level

PASSWORD = "a-long-test-password-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def unit(system: str, level: str, code: str) -> AdministrativeUnit:
    return AdministrativeUnit.objects.get(system=system, level=level, code=code)


def current_commune(code: str) -> AdministrativeUnit:
    return unit(CodeSystem.CURRENT, Level.COMMUNE, code)


def user_with_role(role: str, *, units=(), username: str | None = None, **kwargs):
    """A user holding one role; place-bound roles get `units` (current or legacy) as their area."""
    user = UserFactory(**({"username": username} if username else {}), **kwargs)
    if role == "superuser":
        user.is_superuser = user.is_staff = True
        user.save()
    elif role == Role.ADMINISTRATOR:
        granter = UserFactory(username=f"root-for-{user.username}", is_superuser=True)
        role_assignment_create(user=user, role=role, created_by=granter)
    elif role != "none":
        role_assignment_create(user=user, role=role, units=list(units))
    return user


ROLES = [Role.PRODUCER_MEMBER, Role.COMMUNITY_TEAM, Role.OFFICER, Role.ADMINISTRATOR]


_producer_numbers = itertools.count(1)


def producer(**fields):
    """A producer registered through the service, in legacy Suối Giàng unless told otherwise."""
    from catalog.services import producer_create

    fields.setdefault("kind", "cooperative")
    fields.setdefault("legal_name", f"Hợp tác xã {next(_producer_numbers)}")
    fields.setdefault("commune_as_captured", unit(CodeSystem.LEGACY, Level.COMMUNE, "04657"))
    created, _warnings = producer_create(**fields)
    return created


def product_set(number: int):
    from catalog.models import ProductSet

    return ProductSet.objects.filter(number=number).order_by("-version").first()
