import pytest
from django.core.management import call_command

from marketplace.accounts.models import RoleAssignment, User
from marketplace.places.models import AdministrativeUnit, NamedScope, UnitSuccession

pytestmark = pytest.mark.django_db


def test_setup_commands_run_twice_duplicate_nothing():
    # given the setup that `make run` performs
    call_command("load_admin_units", verbosity=0)
    call_command("load_demo_data", verbosity=0)
    counts = [m.objects.count() for m in (AdministrativeUnit, UnitSuccession, NamedScope, User, RoleAssignment)]

    # when it runs again
    call_command("load_admin_units", verbosity=0)
    call_command("load_demo_data", verbosity=0)

    # then nothing is duplicated and the demo officer still resolves to old Yên Bái
    assert [m.objects.count() for m in (AdministrativeUnit, UnitSuccession, NamedScope, User, RoleAssignment)] == counts
    officer = User.objects.get(username="canbo.yenbai")
    assert officer.role_assignments.get().named_scope.slug == "old-yen-bai"


def test_demo_data_is_refused_in_production(settings):
    settings.DJANGO_ENV = "production"

    with pytest.raises(Exception, match="development only"):
        call_command("load_demo_data", verbosity=0)


def test_the_demo_catalogue_is_realistic_and_idempotent():
    from catalog.models import Producer, Product
    from catalog.ocop.models import OcopCertificate

    # given the demo setup that `make run` performs
    call_command("load_demo_data", verbosity=0)
    call_command("load_demo_catalog", verbosity=0)
    counts = (Producer.objects.count(), Product.objects.count(), OcopCertificate.objects.count())

    # when it runs again, nothing is duplicated
    call_command("load_demo_catalog", verbosity=0)
    assert (Producer.objects.count(), Product.objects.count(), OcopCertificate.objects.count()) == counts

    # and it looks like old Yên Bái: producers of every kind, products, certificates of every star
    assert counts[0] >= 30
    assert counts[1] >= 60
    assert set(Producer.objects.values_list("kind", flat=True)) == {
        k for k, _ in Producer._meta.get_field("kind").choices
    }
    assert {"3", "4", "5"} <= set(OcopCertificate.objects.values_list("star", flat=True))
    assert set(Producer.objects.values_list("commune_as_captured__parent__parent__code", flat=True)) == {"15"}
