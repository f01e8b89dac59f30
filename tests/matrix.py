"""Shared pieces of the permission matrices (tests/accounts/test_permission_matrix.py and one per catalogue
app): a signed-in client per actor, and the check of one cell."""

from rest_framework.test import APIClient

from tests.factories import PASSWORD


def client_for(user) -> APIClient:
    """An API client signed in with a real token from /api/v1/auth/token/; anonymous when `user` is None."""
    client = APIClient()
    if user is not None:
        token = client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}).json()["token"]
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def cell_mismatch(response, *, actor: str, description: str, expected: int) -> str | None:
    """What is wrong with one cell, or None. Refusals must also use the API's one error shape."""
    if response.streaming:
        b"".join(response.streaming_content)  # read to the end, which closes the file
    if response.status_code != expected:
        return f"{actor} · {description}: {response.status_code}, expected {expected}"
    if response.status_code >= 400 and response.content and set(response.json()) != {"code", "message", "fields"}:
        return f"{actor} · {description}: error body {response.json()} is not in the API's shape"
    return None


def page_cell_mismatch(response, *, actor: str, description: str, expected) -> str | None:
    """What is wrong with one cell of a web page, or None. `expected` is a status, or "→/path/" for a redirect
    whose target starts with that path (the sign-in page, for instance)."""
    if response.streaming:
        b"".join(response.streaming_content)
    if isinstance(expected, str):
        target = expected.removeprefix("→")
        location = response.get("Location", "")
        if response.status_code != 302 or not location.startswith(target):
            return f"{actor} · {description}: {response.status_code} {location}, expected a redirect to {target}"
        return None
    if response.status_code != expected:
        return f"{actor} · {description}: {response.status_code}, expected {expected}"
    return None
