"""List endpoints run the same number of queries for 5 rows as for 50 (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.accounts.models import Role
from marketplace.places.models import CodeSystem, Level
from marketplace.places.services import named_scope_create
from tests.factories import unit, user_with_role

pytestmark = pytest.mark.django_db


def queries_for(api, url, page_size):
    with CaptureQueriesContext(connection) as captured:
        response = api.get(url, {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size, url
    return len(captured)


@pytest.mark.parametrize("url", ["/api/v1/users/", "/api/v1/role-assignments/", "/api/v1/scopes/"])
def test_list_query_count_does_not_grow_with_the_page(api, login, url):
    # given 50+ users, each with a role over two units, and 50+ scopes
    admin = user_with_role("superuser")
    units = [unit(CodeSystem.LEGACY, Level.DISTRICT, "140"), unit(CodeSystem.CURRENT, Level.COMMUNE, "04672")]
    for i in range(55):
        user_with_role(Role.COMMUNITY_TEAM, units=units, username=f"team{i}")
        named_scope_create(slug=f"scope-{i}", name=f"Phạm vi {i}", units=units, owner=admin)
    login(admin)

    # then 5 rows and 50 rows cost the same
    assert queries_for(api, url, 5) == queries_for(api, url, 50)
