"""Producers' right-to-use authorisations: recorded by an officer of the area, read by those in reach."""

import pytest

from catalog.gis.models import GiUseRight
from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from tests.factories import producer, unit, user_with_role

pytestmark = pytest.mark.django_db


def authorisation(gi, **extra):
    return {"gi": gi.pk, "number": "12/QĐ-UBND", "issued_by": "UBND tỉnh Yên Bái", "valid_from": "2024-03-01", **extra}


def test_an_officer_records_a_right_to_use_and_the_member_reads_it(api, login, gis):
    # given a tea cooperative of Suối Giàng and its member
    cooperative = producer(legal_name="HTX Chè Suối Giàng")
    member = user_with_role(Role.PRODUCER_MEMBER)
    cooperative.memberships.create(user=member)
    url = f"/api/v1/producers/{cooperative.pk}/gi-use-rights/"

    # when an officer of old Yên Bái records the authorisation
    login(user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]))
    created = api.post(url, authorisation(gis["suoi-giang-che-shan-tuyet"]), format="json")

    # then the member sees it, and cannot record one themselves
    login(member)
    listed = api.get(url).json()["results"]
    refused = api.post(url, authorisation(gis["van-yen-que"], number="13/QĐ-UBND"), format="json")
    assert created.status_code == 201, created.content
    assert [(r["gi"]["slug"], r["number"]) for r in listed] == [("suoi-giang-che-shan-tuyet", "12/QĐ-UBND")]
    assert refused.status_code == 403
    assert GiUseRight.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"valid_until": "2020-01-01"}, "valid_until"),
        ({"gi": 10**9}, "gi"),
        ({"valid_from": "2024-02-30"}, "valid_from"),
    ],
)
def test_a_bad_authorisation_names_the_field_and_saves_nothing(api, login, gis, extra, field):
    cooperative = producer()
    login(user_with_role("superuser"))

    response = api.post(
        f"/api/v1/producers/{cooperative.pk}/gi-use-rights/",
        {**authorisation(gis["suoi-giang-che-shan-tuyet"]), **extra},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert not GiUseRight.objects.exists()


def test_the_same_number_twice_for_one_gi_is_refused(api, login, gis):
    cooperative = producer()
    login(user_with_role("superuser"))
    url = f"/api/v1/producers/{cooperative.pk}/gi-use-rights/"
    api.post(url, authorisation(gis["suoi-giang-che-shan-tuyet"]), format="json")

    again = api.post(url, authorisation(gis["suoi-giang-che-shan-tuyet"]), format="json")

    assert again.status_code == 400
    assert list(again.json()["fields"]) == ["number"]


def test_an_officer_elsewhere_does_not_find_the_producer(api, login, gis):
    cooperative = producer()
    login(user_with_role(Role.OFFICER, units=[unit(CodeSystem.CURRENT, Level.PROVINCE, "01")]))

    url = f"/api/v1/producers/{cooperative.pk}/gi-use-rights/"

    assert api.get(url).status_code == 404
    assert api.post(url, authorisation(gis["suoi-giang-che-shan-tuyet"]), format="json").status_code == 404
