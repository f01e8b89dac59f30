"""Builders for the OCOP tests: products through the ORM (the product service is not written yet),
certificates through the service, the people of old Yên Bái and elsewhere."""

import itertools
from datetime import date, timedelta

from django.utils import timezone

from catalog.models import Product, ProductSet
from catalog.ocop.services import ocop_certificate_create
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.factories import producer, unit, user_with_role

_numbers = itertools.count(1)


def a_product(*, maker=None, name: str | None = None) -> Product:
    """A product of a producer captured in legacy Suối Giàng (04657), unless another producer is given."""
    return Product.objects.create(
        producer=maker or producer(),
        name=name or f"Chè Shan tuyết số {next(_numbers)}",
        product_set=ProductSet.objects.get(number=11),
        kind="goods",
    )


def a_certificate(*, product: Product, today: date | None = None, **fields):
    """A 3★ certificate issued by the province 100 days ago (Decision 1489's time: the level matches)."""
    fields.setdefault("star", "3")
    fields.setdefault("decision_number", f"{next(_numbers)}/QĐ-UBND")
    fields.setdefault("decision_date", timezone.localdate() - timedelta(days=100))
    fields.setdefault("issuing_level", "province")
    fields.setdefault("issuing_body", "UBND tỉnh Lào Cai")
    return ocop_certificate_create(product=product, today=today, **fields)


def officer_of_old_yen_bai():
    return user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")])


def officer_of_ha_noi():
    return user_with_role(Role.OFFICER, units=[unit(CodeSystem.CURRENT, Level.PROVINCE, "01")])


def community_team_of_van_chan():
    return user_with_role(Role.COMMUNITY_TEAM, units=[unit(CodeSystem.LEGACY, Level.DISTRICT, "140")])


def member_of(maker):
    user = user_with_role(Role.PRODUCER_MEMBER)
    maker.memberships.create(user=user)
    return user
