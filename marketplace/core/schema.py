"""OpenAPI extensions: the audited authentication classes document themselves as DRF's own."""

from drf_spectacular.authentication import SessionScheme


class AuditedSessionScheme(SessionScheme):
    target_class = "marketplace.core.authentication.AuditedSessionAuthentication"
