"""The conventions every endpoint relies on: one error shape, i18n, health probes, schema and docs."""

import pytest

from marketplace.accounts.models import Role
from marketplace.core.views import readyz
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def test_unknown_api_route_is_a_json_404_in_the_error_shape(api):
    response = api.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"code", "message", "fields"}
    assert response.json()["code"] == "not_found"


def test_messages_are_vietnamese_by_default_and_english_on_request(api):
    vietnamese = api.get("/api/v1/scopes/").json()
    english = api.get("/api/v1/scopes/", HTTP_ACCEPT_LANGUAGE="en").json()

    assert vietnamese["code"] == english["code"] == "not_authenticated"
    assert vietnamese["message"] != english["message"]
    assert "đăng nhập" in vietnamese["message"].lower() or "xác thực" in vietnamese["message"].lower()
    assert "authentication" in english["message"].lower() or "sign in" in english["message"].lower()


def test_validation_errors_name_each_field(api, login):
    login(user_with_role(Role.ADMINISTRATOR))

    response = api.post("/api/v1/users/", {"username": "", "password": "short"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "username" in body["fields"]
    assert isinstance(body["fields"]["username"], list)


def test_malformed_json_is_a_400_not_a_500(api, login):
    login(user_with_role(Role.ADMINISTRATOR))

    response = api.post("/api/v1/users/", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_an_unexpected_error_is_a_json_500_without_traceback(api, settings, monkeypatch):
    # given a view that fails in an unforeseen way
    from marketplace.places import apis

    def explode(*args, **kwargs):
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(apis.PlaceListApi, "list", explode)

    response = api.get("/api/v1/places/")

    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert "secret detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_healthz_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_down(client, settings):
    # given a broker address where nothing listens
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "error"}
    assert "broker" in response.json()["message"]


def test_readyz_names_the_database_when_it_is_down(rf, monkeypatch):
    from marketplace.core import views

    def broken_cursor():
        raise ConnectionRefusedError("refused")

    monkeypatch.setattr(views.connection, "cursor", broken_cursor)

    response = readyz(rf.get("/readyz"))

    assert response.status_code == 503
    assert b'"database": "error"' in response.content


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/schema/?format=json")
    docs = client.get("/api/v1/docs/")

    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/places/" in paths
    assert "/api/v1/auth/token/" in paths
    assert docs.status_code == 200
    # the interactive docs load Swagger UI from our own static files (npm at build time), not a CDN
    page = docs.content.decode()
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert client.get("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_a_runaway_anonymous_client_is_throttled_in_the_error_shape(api, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/min"})

    statuses = [api.get("/api/v1/places/", {"page_size": 1}).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = api.get("/api/v1/places/")
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
