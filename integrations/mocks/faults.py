"""Fault injection shared by the mock marketplaces (shared/docs/marketplaces.md §4).

A `Faults` store keeps an ordered list of rules::

    {"id": "f1",
     "match": {"method": "POST", "path": "^/api/v2/product/add_item$", "times": 1, "after": 0,
               "probability": 1.0, "shop": null, "event_type": null},
     "action": {"type": "http_error", "status": 503, ...}}

Rules are checked in order. Each rule counts the requests (or webhook events) it matched (`seen`) and the times it
fired (`fired`): `after` skips the first N matches, `times` caps the firings (null = unlimited) and `probability`
draws from a seeded RNG, so the same seed plus the same request sequence fires the same faults.

Three families of actions, each consulted by a different part of a mock:

* generic request-side actions (`REQUEST_ACTIONS`) are applied by `fault_middleware`, which knows nothing about
  the mock except how to build its error envelope (the `error_response` callback) and how to read a shop id;
* app-specific request-side actions (`APP_ACTIONS`: stale_read, expire_token, partial_batch) are looked up by the
  mock's own handlers with `Faults.take(kind, request)`, since only the handler knows what they mean;
* webhook-side actions (`EVENT_ACTIONS`) are looked up by the mock's delivery code with `Faults.take_event(...)`,
  matched on the event type (or push code) instead of the HTTP method and path.

`register_admin_routes` adds `POST/GET/DELETE /__admin/faults` to an aiohttp app. Nothing here imports a mock.
"""

from __future__ import annotations

import asyncio
import copy
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

REQUEST_ACTIONS = frozenset(
    {"http_error", "commit_then_error", "timeout", "latency", "reset", "rate_limit", "malformed_body"}
)
APP_ACTIONS = frozenset({"stale_read", "expire_token", "partial_batch"})
EVENT_ACTIONS = frozenset({"duplicate", "reorder", "drop", "bad_signature", "stale_timestamp", "receiver_down"})
ALL_ACTIONS = REQUEST_ACTIONS | APP_ACTIONS | EVENT_ACTIONS
# Actions that, once fired, stay in force for `seconds` of the mock's clock rather than for one event.
WINDOWED_ACTIONS = frozenset({"receiver_down"})
MATCH_KEYS = ("method", "path", "times", "after", "probability", "shop", "event_type", "code")

# error_response(request, status, code or None, message or None, retry_after or None) -> the mock's own envelope.
ErrorResponse = Callable[[web.Request, int, str | None, str | None, float | None], web.StreamResponse]
FaultsGetter = Callable[[web.Request], "Faults"]
# request[FAULT_KEY] = {"id", "type"} once a fault fired for a request, so a mock's request log can show it.
FAULT_KEY = web.RequestKey("fault", dict)


class FaultError(ValueError):
    """A rule given to POST /__admin/faults is malformed."""


class Faults:
    """Ordered fault rules with per-rule counters and a seeded RNG."""

    def __init__(
        self, seed: int | str = 0, now: Callable[[], float] = time.time, supported: Iterable[str] | None = None
    ) -> None:
        self.seed = seed
        self.now = now
        self.supported = frozenset(supported) if supported is not None else ALL_ACTIONS
        self.reset()

    def reset(self) -> None:
        self.rules: list[dict] = []
        self.rng = random.Random(f"faults-{self.seed}")
        self.next_id = 1

    # ------------------------------------------------------------------ rules

    def add(self, spec: Any) -> dict:
        """Validate and append a rule (a rule with the id of an existing one replaces it, counters reset)."""
        if not isinstance(spec, dict):
            raise FaultError("A fault rule should be a JSON object.")
        match = spec.get("match") or {}
        action = spec.get("action")
        if not isinstance(match, dict) or not isinstance(action, dict):
            raise FaultError("match should be an object and action an object with a type.")
        kind = action.get("type")
        if kind not in self.supported:
            raise FaultError(f"Unknown action type {kind!r}; supported: {sorted(self.supported)}.")
        unknown = set(match) - set(MATCH_KEYS)
        if unknown:
            raise FaultError(f"Unknown match keys {sorted(unknown)}.")
        if match.get("path") is not None:
            try:
                re.compile(str(match["path"]))
            except re.error as exc:
                raise FaultError(f"match.path is not a valid regex: {exc}.") from exc
        times, after = match.get("times"), match.get("after", 0)
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 0):
            raise FaultError("match.times should be a non-negative integer or null.")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise FaultError("match.after should be a non-negative integer.")
        probability = match.get("probability", 1.0)
        if not isinstance(probability, int | float) or isinstance(probability, bool) or not 0 <= probability <= 1:
            raise FaultError("match.probability should be between 0 and 1.")
        rule_id = str(spec.get("id") or "")
        if not rule_id:
            while any(r["id"] == f"f{self.next_id}" for r in self.rules):
                self.next_id += 1
            rule_id = f"f{self.next_id}"
            self.next_id += 1
        rule = {
            "id": rule_id,
            "match": {
                "method": str(match["method"]).upper() if match.get("method") else None,
                "path": match.get("path"),
                "times": times,
                "after": after,
                "probability": float(probability),
                "shop": None if match.get("shop") is None else str(match["shop"]),
                "event_type": match.get("event_type", match.get("code")),
            },
            "action": copy.deepcopy(action),
            "seen": 0,
            "fired": 0,
            "active_until": None,
        }
        for i, existing in enumerate(self.rules):
            if existing["id"] == rule_id:
                self.rules[i] = rule
                break
        else:
            self.rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r["id"] != rule_id]
        return len(self.rules) != before

    def list(self) -> list[dict]:
        return copy.deepcopy(self.rules)

    # ------------------------------------------------------------------ matching

    def _fire(self, rule: dict, applies: Callable[[dict], bool] | None) -> bool:
        if applies is not None and not applies(rule["action"]):
            return False
        m = rule["match"]
        rule["seen"] += 1
        if rule["seen"] <= m["after"]:
            return False
        if m["times"] is not None and rule["fired"] >= m["times"]:
            return False
        # The RNG is drawn only for partial probabilities, so adding a certain rule does not shift the sequence.
        if m["probability"] < 1.0 and self.rng.random() >= m["probability"]:
            return False
        rule["fired"] += 1
        if rule["action"]["type"] in WINDOWED_ACTIONS:
            rule["active_until"] = self.now() + float(rule["action"].get("seconds", 0))
        return True

    def take_for(
        self,
        kinds: str | Iterable[str],
        *,
        method: str | None = None,
        path: str | None = None,
        shop: Any = None,
        applies: Callable[[dict], bool] | None = None,
    ) -> dict | None:
        """First request-side rule of one of `kinds` matching method/path/shop that fires now; counts it."""
        kinds = {kinds} if isinstance(kinds, str) else set(kinds)
        for rule in self.rules:
            m = rule["match"]
            if rule["action"]["type"] not in kinds:
                continue
            if m["method"] and method and m["method"] != method.upper():
                continue
            if m["path"] and not re.search(m["path"], path or ""):
                continue
            if m["shop"] is not None and m["shop"] != ("" if shop is None else str(shop)):
                continue
            if self._fire(rule, applies):
                return rule
        return None

    def take(
        self,
        kinds: str | Iterable[str],
        request: web.Request,
        shop: Any = None,
        applies: Callable[[dict], bool] | None = None,
    ) -> dict | None:
        """The action of the first rule of `kinds` that fires for this request, or None.

        `applies(action)` lets a handler skip a rule that would have no effect (e.g. stale_read when nothing was
        written recently) without using up its `times`."""
        rule = self.take_for(kinds, method=request.method, path=request.path, shop=shop, applies=applies)
        if rule is None:
            return None
        request[FAULT_KEY] = {"id": rule["id"], "type": rule["action"]["type"]}
        return rule["action"]

    def take_event(
        self,
        kinds: str | Iterable[str],
        event_types: Iterable[Any],
        shop: Any = None,
        url: str | None = None,
    ) -> dict | None:
        """The action of the first webhook-side rule of `kinds` that fires for an event, or None.

        `event_types` are the names the event answers to (e.g. PM push code 3 and "order.status_updated"); a rule
        without `event_type` matches every event. `match.path`, when given, is searched in the callback URL.
        A windowed action (receiver_down) that fired keeps answering until its window closes."""
        kinds = {kinds} if isinstance(kinds, str) else set(kinds)
        names = {str(e) for e in event_types}
        now = self.now()
        for rule in self.rules:
            m = rule["match"]
            if rule["action"]["type"] not in kinds:
                continue
            if m["event_type"] is not None and str(m["event_type"]) not in names:
                continue
            if m["shop"] is not None and m["shop"] != ("" if shop is None else str(shop)):
                continue
            if m["path"] and not re.search(m["path"], url or ""):
                continue
            if rule["active_until"] is not None and now < rule["active_until"]:
                return rule["action"]
            if self._fire(rule, None):
                return rule["action"]
        return None

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict:
        version, internal, gauss = self.rng.getstate()
        return {
            "seed": self.seed,
            "rules": copy.deepcopy(self.rules),
            "next_id": self.next_id,
            "rng": [version, list(internal), gauss],
        }

    def load(self, data: dict) -> None:
        self.rules = copy.deepcopy(data.get("rules") or [])
        self.next_id = int(data.get("next_id") or 1)
        if data.get("rng"):
            version, internal, gauss = data["rng"]
            self.rng.setstate((version, tuple(internal), gauss))


# ---------------------------------------------------------------------- admin API


def register_admin_routes(app: web.Application, get_faults: FaultsGetter, prefix: str = "/__admin") -> None:
    """POST {prefix}/faults (one rule, or {"faults": [...]}), GET {prefix}/faults, DELETE {prefix}/faults[/{id}]."""

    async def add(request: web.Request) -> web.Response:
        faults = get_faults(request)
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError:
            return web.json_response({"error": "error_param", "message": "Invalid JSON body."}, status=400)
        specs = body.get("faults") if isinstance(body, dict) and "faults" in body else [body]
        try:
            added = [faults.add(spec) for spec in specs]
        except FaultError as exc:
            return web.json_response({"error": "error_param", "message": str(exc)}, status=400)
        return web.json_response(added[0] if len(added) == 1 and "faults" not in body else {"faults": added})

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"faults": get_faults(request).list()})

    async def delete_one(request: web.Request) -> web.Response:
        rule_id = request.match_info["fault_id"]
        if not get_faults(request).remove(rule_id):
            return web.json_response({"error": "error_not_found", "message": f"No fault {rule_id}."}, status=404)
        return web.json_response({"deleted": rule_id})

    async def delete_all(request: web.Request) -> web.Response:
        faults = get_faults(request)
        count = len(faults.rules)
        faults.rules = []
        return web.json_response({"deleted": count})

    app.router.add_post(f"{prefix}/faults", add)
    app.router.add_get(f"{prefix}/faults", listing)
    app.router.add_delete(f"{prefix}/faults", delete_all)
    app.router.add_delete(f"{prefix}/faults/{{fault_id}}", delete_one)


# ---------------------------------------------------------------------- request-side middleware


async def _run(handler: Callable[[web.Request], Awaitable[web.StreamResponse]], request: web.Request):
    """Run the real handler, turning an aiohttp HTTPException (redirects, 404s) into the response it stands for."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        return web.Response(status=exc.status, headers=exc.headers, body=exc.body)


def _reset(request: web.Request) -> web.Response:
    # Closing the transport before answering makes the client see a dropped connection with no status line;
    # aiohttp then ignores the failed write of the placeholder response (a "premature client disconnection").
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500, text="")


def _truncate(response: web.StreamResponse) -> web.StreamResponse:
    body = getattr(response, "body", None)
    if not isinstance(body, bytes | bytearray):
        return response
    cut = bytes(body[: max(1, len(body) // 2)])
    return web.Response(body=cut, status=200, content_type="application/json")


def fault_middleware(
    get_faults: FaultsGetter,
    error_response: ErrorResponse,
    shop_of: Callable[[web.Request], Any] | None = None,
    skip: Callable[[web.Request], bool] | None = None,
) -> Callable:
    """An aiohttp middleware applying the generic request-side actions (`REQUEST_ACTIONS`).

    * http_error: the mock's error envelope with `status` (default 500), `code`, `retry_after`, handler not run;
    * commit_then_error: run the handler (the write commits), discard its answer, return `status` (default 502),
      or close the connection when `drop` is true;
    * timeout: hold the connection `hold_s` seconds (real time: it is the client's timeout being tested),
      running the handler first when `commit` is true; without commit the late answer is a 504;
    * latency: wait `ms` milliseconds, then answer normally;
    * reset: close the TCP connection without any response;
    * rate_limit: 429 with `Retry-After: retry_after` (default 1) in the mock's envelope;
    * malformed_body: run the handler and send the first half of its JSON with 200.

    `skip(request)` excludes paths (by default everything under /__admin, so tests can always reach the admin API);
    `shop_of(request)` gives the shop for `match.shop`."""
    skip = skip or (lambda request: request.path.startswith("/__admin"))

    @web.middleware
    async def middleware(request: web.Request, handler: Callable) -> web.StreamResponse:
        if skip(request):
            return await handler(request)
        shop = shop_of(request) if shop_of else None
        action = get_faults(request).take(REQUEST_ACTIONS, request, shop=shop)
        if action is None:
            return await handler(request)
        kind = action["type"]
        if kind == "http_error":
            status = int(action.get("status") or 500)
            return error_response(request, status, action.get("code"), action.get("message"), action.get("retry_after"))
        if kind == "rate_limit":
            retry_after = 1 if action.get("retry_after") is None else action["retry_after"]
            return error_response(request, 429, action.get("code"), action.get("message"), retry_after)
        if kind == "latency":
            await asyncio.sleep(float(action.get("ms", 0)) / 1000)
            return await handler(request)
        if kind == "reset":
            return _reset(request)
        if kind == "commit_then_error":
            await _run(handler, request)
            if action.get("drop"):
                return _reset(request)
            status = int(action.get("status") or 502)
            return error_response(request, status, action.get("code"), action.get("message"), action.get("retry_after"))
        if kind == "timeout":
            response = await _run(handler, request) if action.get("commit") else None
            await asyncio.sleep(float(action.get("hold_s", 35)))
            if response is not None:
                return response
            return error_response(request, 504, action.get("code"), action.get("message"), None)
        if kind == "malformed_body":
            return _truncate(await _run(handler, request))
        return await handler(request)  # pragma: no cover - REQUEST_ACTIONS is exhaustive above

    return middleware
