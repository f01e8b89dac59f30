"""The shared web pages: the front door, signing in and out."""

import pytest

from marketplace.accounts.models import Role
from tests.factories import PASSWORD, current_commune, user_with_role

pytestmark = pytest.mark.django_db


def test_the_front_door_leads_to_the_storefront_the_producers_and_the_officers(client):
    # when
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="vi")

    # then
    page = response.content.decode()
    assert response.status_code == 200
    assert 'href="/cua-hang/"' in page and 'href="/nha-san-xuat/"' in page and 'href="/can-bo/"' in page
    assert '<html lang="vi">' in page


def test_signing_in_with_a_wrong_password_says_so_and_the_right_one_signs_in(client):
    # given
    officer = user_with_role(Role.OFFICER, units=[current_commune("04630")])

    # when
    wrong = client.post("/dang-nhap/", {"username": officer.username, "password": "sai mật khẩu"})
    right = client.post("/dang-nhap/", {"username": officer.username, "password": PASSWORD, "next": "/"})

    # then
    assert wrong.status_code == 200 and 'role="alert"' in wrong.content.decode()
    assert right.status_code == 302 and right["Location"] == "/"
    assert client.get("/").context["user"] == officer


@pytest.mark.parametrize("url", ["/", "/dang-nhap/", "/cua-hang/"])
def test_every_page_links_the_icon_which_is_served(client, url):
    # when
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    icon = client.get("/static/frontend/favicon.svg")

    # then
    assert '<link rel="icon" href="/static/frontend/favicon.svg" type="image/svg+xml">' in page
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)


def test_favicon_ico_leads_to_the_icon_not_to_a_404(client):
    # when
    response = client.get("/favicon.ico")

    # then
    assert response.status_code == 302 and response["Location"] == "/static/frontend/favicon.svg"
    assert client.get(response["Location"]).status_code == 200
