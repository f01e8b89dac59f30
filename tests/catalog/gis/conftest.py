from io import StringIO

import pytest
from django.core.management import call_command

from catalog.gis.models import GeographicalIndication
from catalog.models import Product, ProductSet
from marketplace.places.models import CodeSystem, Level
from tests.factories import unit


@pytest.fixture
def gis(db):
    """The registry as `load_gis` seeds it, by slug."""
    call_command("load_gis", stdout=StringIO())
    return {gi.slug: gi for gi in GeographicalIndication.objects.all()}


@pytest.fixture
def make_product():
    def _make(producer, *, name="Chè Shan tuyết", origin_commune=None):
        return Product.objects.create(
            producer=producer,
            name=name,
            product_set=ProductSet.objects.get(number=11),
            kind="goods",
            origin_commune=origin_commune,
        )

    return _make


def legacy_commune(code: str):
    return unit(CodeSystem.LEGACY, Level.COMMUNE, code)


def current_commune(code: str):
    return unit(CodeSystem.CURRENT, Level.COMMUNE, code)
