"""Every row of tests/authz/table.py × every actor × in-scope and out-of-scope object: one leak fails the test,
and the failure lists every wrong cell at once."""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client

from tests.authz.table import ROWS
from tests.authz.world import ACTORS, build_world, personal_data
from tests.matrix import cell_mismatch, client_for, page_cell_mismatch

pytestmark = pytest.mark.django_db

_PLACEHOLDER = re.compile(r"\{([a-z_.]+)\}")
PERSONAL_DATA = personal_data()
# The buyer's own order page shows the buyer's contact to whoever holds its secret link: that is its purpose.
BUYERS_OWN_LINK = {"storefront-order"}


def fill(template: str, world: dict, side: str, actor: str) -> str:
    """`{producer}` → that side's producer pk; `{spare.sku}` → this actor's own spare package on that side;
    `{assignment}` → this actor's own role assignment; `{shared_scope}` → a world-wide object."""
    if not isinstance(template, str):
        return template
    objects = world["in" if side == "-" else side]

    def value(match) -> str:
        name = match.group(1)
        if name == "actor":
            return actor
        if name in world and name not in ("in", "out"):
            found = world[name]
        elif name.startswith("spare."):
            found = objects["spare"][actor][name.removeprefix("spare.")]
        elif name == "assignment":
            found = objects["assignments"][actor]
        elif name.startswith("assignments."):
            found = objects["assignments"][name.removeprefix("assignments.")]
        else:
            found = objects[name]
        return str(getattr(found, "pk", found))

    return _PLACEHOLDER.sub(value, template)


def clients(world: dict) -> dict:
    """Per actor: an API client signed in with a token, and a browser-like client with a session."""
    made = {}
    for actor in ACTORS:
        user = None if actor == "anonymous" else world["users"][actor]
        page = Client()
        if user is not None:
            page.force_login(user)
        made[actor] = {"api": client_for(user), "page": page}
    return made


def run(row, side: str, actor: str, client, world: dict):
    url = fill(row.url, world, side, actor)
    body = None if row.body is None else {k: fill(v, world, side, actor) for k, v in row.body.items()}
    if row.page:
        return getattr(client, row.method)(url, body or {}, **row.extra)
    return getattr(client, row.method)(url, body, format=row.format, **row.extra)


def test_every_cell_of_the_authorisation_matrix(capsys):
    # given the world, built once for the whole table
    world = build_world()
    by_actor = clients(world)
    wrong, leaks, seen, cells, started = [], [], [], 0, time.monotonic()

    # when every actor asks every row, for the object inside and outside the area
    for actor in ACTORS:
        for row in ROWS:
            if actor not in row.actors:
                continue
            for side, expected in row.expect.items():
                response = run(row, side, actor, by_actor[actor]["page" if row.page else "api"], world)
                cells += 1
                check = page_cell_mismatch if row.page else cell_mismatch
                description = f"{row.method.upper()} {row.route} [{side}] {row.what}".rstrip()
                mismatch = check(response, actor=actor, description=description, expected=expected[actor])
                if mismatch:
                    wrong.append(mismatch)
                if not response.streaming and row.route not in BUYERS_OWN_LINK:
                    body = response.content.decode("utf-8", "replace")
                    for owner, what, text, visible in PERSONAL_DATA:
                        if text in body:
                            (seen if actor in visible else leaks).append((actor, owner, what, description))

    # then every cell answers as the table says
    with capsys.disabled():
        print(f"\nauthorisation matrix: {cells} cells in {time.monotonic() - started:.1f} s")
    assert wrong == [], f"{len(wrong)} of {cells} cells wrong:\n" + "\n".join(wrong)
    # and no answer, page or CSV shows personal data to an actor who may not see it
    assert leaks == [], "personal data shown:\n" + "\n".join(f"{a} sees {o}'s {w} in {d}" for a, o, w, d in leaks)
    # (and the search can find each of them: those who may see it did, somewhere)
    assert {(o, w) for _a, o, w, _d in seen} == {(o, w) for o, w, _t, _v in PERSONAL_DATA}
