"""The matrix covers the whole project: every URL pattern (API and pages) and every HTTP method its view allows
has a row in tests/authz/table.py, and every route with an object in its URL is asked for an object inside and
outside the area. A new endpoint, or a new method on an old one, without its row fails here.

The admin's own pages are Django's: only "non-staff cannot enter" is checked (the `admin:index` row).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from tests.authz.table import ROWS

ALL_METHODS = ("get", "post", "put", "patch", "delete")
# Routes with a value in the URL that is not an object of anyone's area: public reference data, or a secret.
NO_SCOPE = {
    "place-detail": "administrative units are public reference data",
    "gi-detail": "the GI registry is public",
    "photo-export": "a signed, time-limited link for a marketplace; no user",
}


def _routes(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else str(pattern.pattern)
            yield prefix + str(pattern.pattern), name, pattern.callback


def allowed_methods(callback) -> tuple[str, ...]:
    """What the view answers other than 405: a class-based view's handlers (DRF or Django), or the list given to
    django.views.decorators.http.require_http_methods (require_GET, require_POST, require_safe) anywhere in the
    function's chain of decorators. A function view that declares nothing answers every method."""
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:
        # as_view(http_method_names=[...]) narrows the class's list for that one route
        initkwargs = getattr(callback, "view_initkwargs", None) or getattr(callback, "initkwargs", None) or {}
        names = initkwargs.get("http_method_names", getattr(view_class, "http_method_names", ALL_METHODS))
        return tuple(m for m in ALL_METHODS if m in names and hasattr(view_class, m))
    function = callback
    while function is not None:
        code = getattr(function, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = function.__closure__[code.co_freevars.index("request_method_list")]
            return tuple(m for m in ALL_METHODS if m.upper() in cell.cell_contents)
        function = getattr(function, "__wrapped__", None)
    return ALL_METHODS


def project_routes() -> dict[tuple[str, str], str]:
    """(route name, method) → the URL pattern, for every route outside the admin, and the admin's index."""
    found = {}
    for pattern, name, callback in _routes(get_resolver().url_patterns):
        if pattern.startswith("admin/") and name != "admin:index":
            continue
        methods = ("get",) if name == "admin:index" else allowed_methods(callback)
        for method in methods:
            found[(name, method)] = pattern
    return found


def test_every_route_and_method_has_a_row_in_the_matrix():
    # given every route of the project and what its view allows
    routes = project_routes()
    rows = {(row.route, row.method) for row in ROWS}

    # then each has a row, and no row names a route or a method that no longer exists
    missing = sorted(f"{method.upper()} {routes[(name, method)]}  ({name})" for name, method in set(routes) - rows)
    stale = sorted(f"{method.upper()} {name}" for name, method in rows - set(routes))
    assert missing == [], "routes without a row in tests/authz/table.py:\n" + "\n".join(missing)
    assert stale == [], "rows of tests/authz/table.py for no route:\n" + "\n".join(stale)
    assert len(routes) > 100  # the walk found the project, not an empty resolver


def test_every_route_with_an_object_is_asked_inside_and_outside_the_area():
    # given the routes whose URL carries an object
    with_object = {key for key, pattern in project_routes().items() if "<" in pattern and key[0] not in NO_SCOPE}

    # then each is asked for an object inside the area and one outside it
    sides: dict[tuple[str, str], set] = {}
    for row in ROWS:
        sides.setdefault((row.route, row.method), set()).update(row.expect)
    one_sided = sorted(f"{m.upper()} {name}: {sorted(sides[(name, m)])}" for name, m in with_object
                       if not {"in", "out"} <= sides[(name, m)])  # fmt: skip
    assert one_sided == [], "routes asked for one side only:\n" + "\n".join(one_sided)


def test_the_method_walk_reads_the_views_declarations():
    # given views whose methods are known
    routes = project_routes()

    # then the walk finds DRF's handlers, Django's decorators (under other decorators) and a catch-all's "any"
    assert {m for (name, m) in routes if name == "sku-detail"} == {"get", "patch", "delete"}
    assert {m for (name, m) in routes if name == "wizard:product-submit"} == {"post"}  # under login_required
    assert {m for (name, m) in routes if name == "dashboard"} == {"get"}
    assert {m for (name, m) in routes if name == "^api/"} == set(ALL_METHODS)
