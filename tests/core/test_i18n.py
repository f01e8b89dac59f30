"""Vietnamese first: the catalogue is complete, and what users read is Vietnamese unless they ask for English."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from marketplace.accounts.models import Role
from tests.factories import user_with_role

CATALOGUE = Path(__file__).resolve().parents[2] / "locale" / "vi" / "LC_MESSAGES" / "django.po"


def test_the_vietnamese_catalogue_has_no_missing_or_fuzzy_translation():
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po)

    missing = [
        m.id
        for m in catalogue
        if m.id and (m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))
    ]

    assert missing == []


@pytest.mark.django_db
def test_field_errors_from_drf_and_django_are_vietnamese(api, login):
    login(user_with_role(Role.ADMINISTRATOR))

    response = api.post("/api/v1/users/", {"password": "abc"}, format="json")
    weak = api.post("/api/v1/users/", {"username": "nguoi.moi", "password": "abc"}, format="json")

    assert response.json()["fields"]["username"] == ["Trường này là bắt buộc."]
    assert any("quá ngắn" in message for message in weak.json()["fields"]["password"])
    english = api.post("/api/v1/users/", {"password": "abc"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["fields"]["username"] == ["This field is required."]
