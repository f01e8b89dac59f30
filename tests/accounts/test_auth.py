import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.management import call_command

from marketplace.accounts.models import Role
from tests.factories import PASSWORD, UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def test_a_user_exchanges_username_and_password_for_a_token(api):
    user = UserFactory()

    response = api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")

    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/scopes/").status_code == 200


def test_wrong_password_is_a_400_naming_the_field(api):
    user = UserFactory()

    response = api.post("/api/v1/auth/token/", {"username": user.username, "password": "nope"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert "password" in response.json()["fields"]


def test_missing_credentials_name_both_fields(api):
    response = api.post("/api/v1/auth/token/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"username", "password"}


def test_repeated_failures_lock_out_that_user_from_that_address(api, settings):
    # given a user whose password someone keeps guessing from one address
    user = UserFactory()
    attempts = [
        api.post("/api/v1/auth/token/", {"username": user.username, "password": f"guess-{i}"}, REMOTE_ADDR="10.0.0.9")
        for i in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert all(r.status_code in (400, 429) for r in attempts)

    # when the right password is then tried from the same address
    locked = api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")

    # then it is refused with 429 and a Retry-After, in the API's error shape
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_locked"
    assert int(locked["Retry-After"]) > 0
    # but the same user from another address, and another user from the same address, still sign in
    other = UserFactory()
    assert (
        api.post(
            "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.10"
        ).status_code
        == 200
    )
    assert (
        api.post(
            "/api/v1/auth/token/", {"username": other.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
        ).status_code
        == 200
    )


def test_createsuperuser_noinput_from_the_environment_can_obtain_a_token(api, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root-admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-root-password-9")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.test")

    call_command("createsuperuser", interactive=False, verbosity=0)

    assert get_user_model().objects.get(username="root-admin").is_superuser
    response = api.post("/api/v1/auth/token/", {"username": "root-admin", "password": "a-long-root-password-9"})
    assert response.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/users/").status_code == 200


def test_api_writes_are_audited_with_the_token_user_as_actor(api, login):
    # given an administrator signed in with a token
    admin = user_with_role(Role.ADMINISTRATOR)
    login(admin)

    # when they create a user through the API
    response = api.post(
        "/api/v1/users/",
        {"username": "canbo.moi", "password": "a-long-new-password-7"},
        format="json",
        REMOTE_ADDR="192.0.2.7",
    )

    # then the audit trail says who did it, from where and what changed (but never the password)
    assert response.status_code == 201
    entry = LogEntry.objects.get_for_object(get_user_model().objects.get(username="canbo.moi")).get()
    assert entry.actor == admin
    assert entry.action == LogEntry.Action.CREATE
    assert entry.remote_addr == "192.0.2.7"
    assert "username" in entry.changes_dict
    assert "password" not in entry.changes_dict


def test_role_assignment_for_an_officer_needs_an_area(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    target = UserFactory()

    response = api.post("/api/v1/role-assignments/", {"user": target.pk, "role": "officer"}, format="json")

    assert response.status_code == 400
    assert "units" in response.json()["fields"]
    assert not target.role_assignments.exists()


def test_administrator_assigns_a_role_with_a_legacy_area(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    target = UserFactory()

    response = api.post(
        "/api/v1/role-assignments/",
        {
            "user": target.pk,
            "role": "community_team",
            "units": [{"system": "legacy", "level": "district", "code": "140"}],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert [u["name"] for u in response.json()["units"]] == ["Huyện Văn Chấn"]
    assert api.get(f"/api/v1/users/{target.pk}/").json()["roles"] == ["community_team"]


def test_deleting_a_role_assignment_deactivates_it(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    officer = user_with_role(Role.PRODUCER_MEMBER)
    assignment = officer.role_assignments.get()

    response = api.delete(f"/api/v1/role-assignments/{assignment.pk}/")

    assert response.status_code == 204
    assignment.refresh_from_db()
    assert assignment.is_active is False
    assert api.get(f"/api/v1/users/{officer.pk}/").json()["roles"] == []
