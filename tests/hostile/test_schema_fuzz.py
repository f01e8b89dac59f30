"""Schemathesis over every operation of /api/v1/schema/, as every actor, on a world with real objects: no server
error, and every answer as the schema documents it (status code, content type, body)."""

import os

import pytest
from rest_framework.test import APIClient

from marketplace.accounts.models import Role
from tests.hostile import fuzz
from tests.hostile.world import ACTORS, build_world, token_for

pytestmark = pytest.mark.django_db

# Bounded for `make test` (a few minutes at most on SQLite); `python -m tests.prove.hostile` runs many more.
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "2"))


def test_every_operation_answers_every_actor_without_server_error_and_as_documented(unthrottled):
    # given a world with an object of every kind, in and out of each actor's reach, and a token per actor
    world = build_world()
    tokens = {actor: token_for(APIClient(), world.users[actor]) for actor in ACTORS}

    # when schemathesis sends generated valid requests to every operation as each of them, and invalid ones as a
    # producer's member and a superuser (who pass every permission)
    with fuzz.django_app() as app:
        report = fuzz.run(
            schema=fuzz.load_schema(app), tokens=tokens, ids=world.ids, examples=EXAMPLES,
            negative_for={Role.PRODUCER_MEMBER, "superuser"}, only=os.environ.get("HOSTILE_ONLY"),
        )  # fmt: skip

    # then every operation was reached, nothing erred and every answer is documented
    assert not report.server_errors, report.describe()
    assert not report.conformance_failures, report.describe()
    assert report.operations >= 70
    assert report.requests >= report.operations * len(ACTORS)
    assert report.statuses[200] + report.statuses[201] > report.operations
