"""One error shape for the whole API: {"code": str, "message": str, "fields": {field: [str, ...]}}.

`message` is translated (Vietnamese by default, English with Accept-Language: en). Services raise
`ServiceError` (or Django's ValidationError from full_clean) and views never build error bodies by hand.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """A business rule refused the request. Raised by services; turned into the error shape by the API."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, code: str, message: str, *, fields: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "fields": fields or {}}


def _messages(detail) -> dict:
    """Flatten DRF's nested error detail into {field: [message, ...]} with dotted paths for nested fields."""
    out: dict[str, list[str]] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, sub in enumerate(value):
                walk(f"{prefix}.{index}" if prefix else str(index), sub)
        else:
            items = value if isinstance(value, list) else [value]
            out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in items)

    walk("", detail)
    return out


# Plain-language messages for DRF's own exceptions, keyed by their default code. DRF ships almost no
# Vietnamese, so a default DRF message is replaced by ours; a message a view chose itself is kept.
_GENERIC = {
    "invalid": lambda: _("Some fields are not valid. See the error on each field."),
    "parse_error": lambda: _("The request body could not be read (malformed JSON or form data)."),
    "not_authenticated": lambda: _("You need to sign in."),
    "authentication_failed": lambda: _("Your sign-in details are wrong or have expired."),
    "permission_denied": lambda: _("You do not have permission to do this."),
    "not_found": lambda: _("Not found."),
    "method_not_allowed": lambda: _("This address does not support that method."),
    "not_acceptable": lambda: _("The requested format cannot be returned."),
    "unsupported_media_type": lambda: _("The format of the request body is not supported."),
    "throttled": lambda: _("Too many requests. Please try again later."),
}


def api_exception_handler(exc, context):
    """DRF exception handler: every error, including unexpected ones, leaves in the one shape."""
    if isinstance(exc, ServiceError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, SuspiciousOperation):  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields…
        return Response(*_suspicious(exc))
    if isinstance(exc, DjangoValidationError):
        fields = _messages(as_serializer_error(exc))
        return Response(error_body("invalid", _GENERIC["invalid"](), fields), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        return Response(error_body("invalid", _GENERIC["invalid"](), _messages(exc.detail)), status=400)
    if isinstance(exc, DataError | OverflowError):  # OverflowError: SQLite's answer to an integer beyond 64 bits
        # Last line of defence: input the database cannot store (a NUL character, an out-of-range number)
        # that no field check caught is still the client's mistake, not a server error.
        return Response(
            error_body("invalid", _("A value could not be stored: it is too long or malformed.")), status=400
        )
    if isinstance(exc, exceptions.APIException):
        code = exc.default_code
        # DRF's own messages are English (its Vietnamese catalogue is nearly empty): show ours instead.
        message = _GENERIC[code]() if code in _GENERIC else str(exc.detail)
        headers = {}
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        return Response(error_body(code, message), status=exc.status_code, headers=headers)

    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response(_server_error_body(), status=500)


def _suspicious(exc: SuspiciousOperation) -> tuple[dict, int]:
    if isinstance(exc, RequestDataTooBig):
        return error_body("too_large", _("The request is too large.")), 413
    return error_body("parse_error", _GENERIC["parse_error"]()), 400


def bad_request(request, exception=None, *args, **kwargs):
    """Django's 400 handler (a request Django itself refused: too large, too many fields): JSON in the error shape
    under /api/ and /webhooks/, Django's plain page elsewhere."""
    if request.path.startswith(("/api/", "/webhooks/")):
        body, status = _suspicious(exception if isinstance(exception, SuspiciousOperation) else SuspiciousOperation())
        return JsonResponse(body, status=status)
    from django.views.defaults import bad_request as html_bad_request

    return html_bad_request(request, exception)


def _server_error_body() -> dict:
    return error_body("server_error", _("The server hit an error. It has been logged; please try again later."))


def login_lockout_response(request, original_response=None, credentials=None):
    """django-axes lockout: the same error shape, 429, with the cool-off time in Retry-After."""
    from django.conf import settings

    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    body = error_body(
        "login_locked",
        _("Too many failed sign-ins. Please try again in %(minutes)d minutes.") % {"minutes": seconds // 60},
    )
    response = JsonResponse(body, status=429, json_dumps_params={"ensure_ascii": False})
    response["Retry-After"] = str(seconds)
    return response


@csrf_exempt  # a POST to an unknown address is a JSON 404 too, not Django's HTML CSRF page
def api_not_found(request, *args, **kwargs):
    """Unknown routes under /api/: the API's 404 shape, never Django's HTML page."""
    return JsonResponse(error_body("not_found", _("This API address does not exist.")), status=404)


def server_error(request, *args, **kwargs):
    """Django's 500 handler: JSON under /api/, a plain page elsewhere; never a traceback."""
    if request.path.startswith("/api/"):
        return JsonResponse(_server_error_body(), status=500)
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)
