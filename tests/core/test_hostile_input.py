"""Hostile and malformed input: always a 4xx in the error shape naming the field, never a 500 or HTML."""

import pytest
from django.contrib.auth import get_user_model

from marketplace.accounts.models import Role
from tests.factories import PASSWORD, UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def assert_error(response, status, *fields):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    for field in fields:
        assert field in body["fields"], body
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/places/2025/%00/",
        "/api/v1/places/%00/15/",
        "/api/v1/places/moon/15/",
        "/api/v1/places/2025/" + "9" * 50 + "/",
    ],
)
def test_malformed_place_addresses_are_json_404s(api, url):
    assert_error(api.get(url), 404)


def test_an_unknown_level_is_a_400_naming_level(api):
    assert_error(api.get("/api/v1/places/2025/15/", {"level": "\x00"}), 400, "level")


def test_list_parameters_that_make_no_sense_do_not_break_the_list(api):
    assert_error(api.get("/api/v1/places/", {"page": "abc"}), 404)
    assert api.get("/api/v1/places/", {"page_size": "-1"}).status_code == 200
    assert api.get("/api/v1/places/", {"ordering": "no_such_field"}).status_code == 200
    assert api.get("/api/v1/places/", {"q": "!!! ..."}).json()["count"] == 0
    assert_error(api.get("/api/v1/places/", {"system": "moon"}), 400, "system")


def test_the_api_answers_json_even_to_a_browser(api):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = api.get("/api/v1/places/", HTTP_ACCEPT=browser)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert_error(api.get("/api/v1/scopes/", HTTP_ACCEPT=browser), 401)
    # a client that accepts nothing but HTML is told so, in JSON
    assert_error(api.get("/api/v1/places/", HTTP_ACCEPT="text/html"), 406)
    assert_error(api.get("/api/v1/places/", {"format": "api"}), 404)


def test_role_assignment_input_is_checked_field_by_field(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    target = UserFactory()
    url = "/api/v1/role-assignments/"

    assert_error(api.post(url, {"user": 1.5, "role": "producer_member"}, format="json"), 400, "user")
    assert_error(api.post(url, {"user": target.pk, "role": "king"}, format="json"), 400, "role")
    assert_error(
        api.post(url, {"user": target.pk, "role": "officer", "named_scope": "a\x00"}, format="json"), 400, "named_scope"
    )
    assert_error(
        api.post(url, {"user": target.pk, "role": "officer", "named_scope": "no-such-scope"}, format="json"),
        400,
        "named_scope",
    )
    assert_error(
        api.post(url, {"user": target.pk, "role": "officer", "units": {"system": "2025"}}, format="json"), 400, "units"
    )
    too_many = [{"system": "2025", "level": "commune", "code": "04672"}] * 501
    assert_error(api.post(url, {"user": target.pk, "role": "officer", "units": too_many}, format="json"), 400, "units")
    assert_error(
        api.post(url, {"user": target.pk, "role": "producer_member", "is_superuser": True}, format="json"),
        400,
        "is_superuser",
    )
    assert not target.role_assignments.exists()


def test_fields_that_cannot_be_changed_are_refused_not_ignored(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    target = UserFactory()

    body = assert_error(
        api.patch(f"/api/v1/users/{target.pk}/", {"is_superuser": True, "username": "x"}, format="json"),
        400,
        "is_superuser",
        "username",
    )

    assert body["code"] == "invalid"
    target.refresh_from_db()
    assert not target.is_superuser


def test_an_officer_cannot_share_a_scope_with_everyone(api, login):
    from marketplace.places.models import CodeSystem, Level, NamedScope
    from tests.factories import unit

    login(user_with_role(Role.OFFICER, units=[unit(CodeSystem.LEGACY, Level.PROVINCE, "15")]))

    response = api.post(
        "/api/v1/scopes/",
        {
            "name": "Cho mọi người",
            "is_shared": True,
            "units": [{"system": "legacy", "level": "commune", "code": "04657"}],
        },
        format="json",
    )

    assert_error(response, 403, "is_shared")
    assert not NamedScope.objects.filter(name="Cho mọi người").exists()


def test_an_administrator_by_role_cannot_touch_a_superuser(api, login):
    # given an administrator (by role, not a superuser) and a superuser
    login(user_with_role(Role.ADMINISTRATOR))
    root = user_with_role("superuser")

    # then the superuser does not exist for them: no password reset, no deactivation
    assert_error(api.get(f"/api/v1/users/{root.pk}/"), 404)
    assert_error(api.patch(f"/api/v1/users/{root.pk}/", {"password": "taken-over-9876"}, format="json"), 404)
    root.refresh_from_db()
    assert root.check_password(PASSWORD)
    usernames = {u["username"] for u in api.get("/api/v1/users/", {"page_size": 200}).json()["results"]}
    assert root.username not in usernames


def test_only_a_superuser_makes_administrators(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    target = UserFactory()

    body = assert_error(
        api.post("/api/v1/role-assignments/", {"user": target.pk, "role": "administrator"}, format="json"), 403, "role"
    )

    assert body["code"] == "permission_denied"
    assert not target.role_assignments.exists()


def test_the_same_role_twice_is_a_clear_400(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    target = user_with_role(Role.PRODUCER_MEMBER)

    body = assert_error(
        api.post("/api/v1/role-assignments/", {"user": target.pk, "role": "producer_member"}, format="json"),
        400,
        "role",
    )

    assert body["code"] == "duplicate"
    assert target.role_assignments.count() == 1


def test_a_new_password_revokes_the_old_token(api, login):
    # given a user signed in with a token
    user = UserFactory()
    old = api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}).json()["token"]

    # when an administrator sets a new password
    login(user_with_role(Role.ADMINISTRATOR))
    assert (
        api.patch(f"/api/v1/users/{user.pk}/", {"password": "a-brand-new-password-5"}, format="json").status_code == 200
    )

    # then the old token no longer works
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert_error(api.get("/api/v1/scopes/"), 401)
    assert get_user_model().objects.get(pk=user.pk).check_password("a-brand-new-password-5")


def test_a_boolean_filter_with_a_wrong_value_is_a_400_naming_it(api, login):
    login(user_with_role(Role.ADMINISTRATOR))

    assert_error(api.get("/api/v1/users/", {"is_active": "maybe"}), 400, "is_active")
    assert api.get("/api/v1/users/", {"is_active": "true"}).status_code == 200
    assert_error(api.get("/api/v1/products/", {"has_gi": "maybe"}), 400, "has_gi")


def test_a_username_differing_only_in_case_is_refused(api, login):
    login(user_with_role(Role.ADMINISTRATOR))
    UserFactory(username="canbo.vanchan")

    response = api.post("/api/v1/users/", {"username": "Canbo.VanChan", "password": "a-long-new-password-7"})

    assert_error(response, 400, "username")
