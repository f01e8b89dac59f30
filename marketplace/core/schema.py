"""OpenAPI extensions: the audited authentication classes document themselves as DRF's own."""

from drf_spectacular.authentication import SessionScheme


class AuditedSessionScheme(SessionScheme):
    target_class = "marketplace.core.authentication.AuditedSessionAuthentication"


# Every error leaves in one shape (marketplace/core/errors.py); the schema says so for each operation, so that a
# client generator, and schemathesis (tests/hostile), know what a refusal looks like.
ERROR_SCHEMA = {
    "type": "object",
    "description": 'The one error shape: {"code", "message", "fields"}; `fields` maps a field to its messages.',
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["code", "message", "fields"],
    "additionalProperties": False,
}
_ERRORS = {
    "400": "The input is not valid: `fields` names each wrong field.",
    "401": "Not signed in, or the token is wrong or revoked.",
    "403": "Signed in, but not allowed to do this.",
    "404": "No such object, or it is outside your reach (its existence is not revealed).",
    "406": "The requested format cannot be returned.",
    "429": "Too many requests; `Retry-After` says when to try again.",
}
_BODY_ERRORS = {
    "413": "The request body is too large.",
    "415": "The format of the request body is not supported.",
}


# Response fields that only some readers get (drf-spectacular marks every read-only field required).
OPTIONAL_IN_RESPONSE = {"Certificate": {"warnings"}}  # catalog/ocop/apis.py: officers and administrators only


def postprocess_error_responses(result, generator, request, public):
    """Document the API's error answers (in the one error shape) on every operation that lacks them."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name, optional in OPTIONAL_IN_RESPONSE.items():
        if name in schemas:
            schemas[name]["required"] = [f for f in schemas[name].get("required", []) if f not in optional]
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            errors = dict(_ERRORS)
            if "requestBody" in operation:
                errors.update(_BODY_ERRORS)
            responses = operation.setdefault("responses", {})
            for code, description in errors.items():
                responses.setdefault(code, {"description": description})
            for code, documented in responses.items():
                if code.isdigit() and int(code) >= 400:  # a view's own refusals (409…) are in the shape too
                    documented.setdefault("content", error)
    return result
