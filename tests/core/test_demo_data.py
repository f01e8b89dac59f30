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
