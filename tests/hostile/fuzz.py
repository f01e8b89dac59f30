"""Schemathesis over the whole API, in process: every operation of /api/v1/schema/, as every actor, with
generated valid and invalid requests. Shared by the quick test (tests/hostile/test_schema_fuzz.py, inside
`make test`) and the long proof (python -m tests.prove.hostile).

A request fails when the server errs (5xx) or when its answer does not conform to the schema (status code,
content type, body). Failures are collected, not raised, so that one bad operation does not hide the others and
no time goes into shrinking."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)

# Which kind of object each path's `{id}` names (the first path segment after /api/v1/ decides).
_ID_KIND = {
    "documents": "document",
    "gi-claims": "claim",
    "gis": "gi",
    "listings": "listing",
    "ocop-certificates": "certificate",
    "orders": "order",
    "photos": "photo",
    "producers": "producer",
    "products": "product",
    "role-assignments": "role_assignment",
    "scopes": "scope",
    "users": "user",
}


@dataclass
class Failure:
    operation: str
    actor: str
    status: int
    kind: str  # "server error" or the conformance check's title
    detail: str
    request: str


@dataclass
class Report:
    operations: int = 0
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    per_operation: Counter = field(default_factory=Counter)

    @property
    def server_errors(self) -> list[Failure]:
        return [f for f in self.failures if f.kind == "server error"]

    @property
    def conformance_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.kind != "server error"]

    def describe(self, limit: int = 40) -> str:
        seen, lines = set(), []
        for f in self.failures:
            key = (f.operation, f.kind, f.status)
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"{f.operation} as {f.actor}: {f.status} {f.kind}: {f.detail}\n    {f.request[:300]}")
        return "\n".join(lines[:limit]) + (f"\n… {len(lines) - limit} more" if len(lines) > limit else "")


@contextlib.contextmanager
def django_app():
    """Django's WSGI handler, without the per-request connection closing (as Django's own test client does), so
    that in-process requests share the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def load_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", app)


def real_path_parameters(path: str, ids: dict) -> list[dict]:
    """Path parameters naming objects that exist (in and out of the actor's reach), for this path."""
    segment = path.split("/")[3]
    names = re.findall(r"{(\w+)}", path)
    if not names:
        return []
    if segment == "places":
        return [{"system": system, "code": "15"} for system in ("2025", "legacy")]
    if segment == "storefront":
        return [{"ref": ref} for ref in ids["checkout_ref"]]
    if path.startswith("/api/v1/listings/bulk/"):
        return []
    kind = _ID_KIND.get(segment)
    if kind is None or names[0] != "id":
        return []
    choices = [{"id": value} for value in ids[kind]]
    if "sku_id" in names:
        choices = [{"id": p, "sku_id": s} for p, s in zip(ids["product"], ids["sku"], strict=True)]
    if "version" in names:
        choices = [{"id": value, "name": "original", "version": "0" * 64} for value in ids["photo"]]
    return choices


def _first_lines(message, count: int = 2) -> str:
    return " / ".join(line for line in str(message).splitlines() if line.strip())[:300] if count else ""


def _operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so that the objects they remove are still there for everything else.
    return sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))


def run(
    *, schema, tokens: dict, ids: dict, examples: int, negative_for=None, only: str | None = None, progress=None
) -> Report:
    """Fuzz every operation (or those whose path contains `only`) as every actor in `tokens`: valid requests as
    each, invalid ones as the actors in `negative_for` (all when None; input checks do not depend on who asks,
    once past the permissions)."""
    report = Report()
    operations = [op for op in _operations(schema) if only is None or only in op.path]
    report.operations = len(operations)
    for operation in operations:
        real = real_path_parameters(operation.path, ids)
        for actor, token in tokens.items():
            headers = {"Authorization": f"Token {token}"} if token else {}
            modes = MODES if negative_for is None or actor in negative_for else MODES[:1]
            for mode in modes:
                _fuzz_one(operation, actor, headers, mode, real, examples, report)
        if progress:
            progress(operation, report)
    return report


def _fuzz_one(operation, actor, headers, mode, real, examples, report):
    picks = st.sampled_from([None, *real]) if real else st.just(None)

    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), pick=picks)
    def example(case, pick):
        if pick is not None and case.path_parameters is not None:
            case.path_parameters.update(pick)
        response = case.call(headers=headers)
        report.requests += 1
        report.per_operation[operation.label] += 1
        report.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as error:  # a FailureGroup, or one failure: both recorded
            for failure in getattr(error, "exceptions", None) or [error]:
                title = getattr(failure, "title", type(failure).__name__)
                kind = "server error" if response.status_code >= 500 else title
                report.failures.append(
                    Failure(
                        operation=operation.label,
                        actor=str(actor),
                        status=response.status_code,
                        kind=kind,
                        detail=f"{_first_lines(getattr(failure, 'message', failure))} · {response.content[:200]!r}",
                        request=case.as_curl_command(headers=headers) if hasattr(case, "as_curl_command") else "",
                    )
                )

    # Unsatisfiable: nothing to make invalid (an operation without parameters or body); its valid requests ran.
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
        example()
