"""DRF authentication classes that also name the actor in the audit trail."""

from rest_framework.authentication import SessionAuthentication, TokenAuthentication

from .audit import audit_set_actor


class AuditActorMixin:
    def authenticate(self, request):
        result = super().authenticate(request)
        if result:
            audit_set_actor(result[0])
        return result


class AuditedTokenAuthentication(AuditActorMixin, TokenAuthentication):
    """`Authorization: Token <key>`, for the API's clients."""


class AuditedSessionAuthentication(AuditActorMixin, SessionAuthentication):
    """The Django session, for the web pages and the interactive docs (CSRF-checked)."""
