import threading

import pytest
from django.db import connection

from marketplace.accounts.models import Role
from marketplace.places.models import NamedScope
from tests.factories import PASSWORD, user_with_role


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_saving_the_same_scope_at_once_get_201_and_a_clear_400():
    # given two administrators who save a scope with the same name at the same moment
    from django.core.management import call_command

    call_command("load_admin_units", verbosity=0)  # transaction=True tests start from an empty database
    users = [user_with_role(Role.ADMINISTRATOR) for _ in range(2)]
    barrier = threading.Barrier(2)
    statuses = []

    def save(user):
        from rest_framework.test import APIClient

        client = APIClient()
        token = client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}).json()["token"]
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        response = client.post(
            "/api/v1/scopes/",
            {"name": "Vùng cam Văn Chấn", "units": [{"system": "legacy", "level": "district", "code": "140"}]},
            format="json",
        )
        statuses.append((response.status_code, response.json().get("code")))
        connection.close()

    threads = [threading.Thread(target=save, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    # then one is saved, the other is told it is a duplicate; never a 500, never two rows
    assert sorted(statuses) == [(201, None), (400, "duplicate")]
    assert NamedScope.objects.filter(slug="vung-cam-van-chan").count() == 1
