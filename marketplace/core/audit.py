"""Who did a write, and on behalf of whom, for the audit trail (django-auditlog).

auditlog's middleware reads request.user before DRF has authenticated a token, so API writes would be
recorded without an actor. The API's authentication classes call `audit_set_actor` once they know the user;
it fills the per-request context that auditlog's middleware opened (auditlog.context.auditlog_value).
"""

from auditlog.context import auditlog_value


def audit_set_actor(user) -> None:
    try:
        context = auditlog_value.get()
    except LookupError:  # outside a request (tasks, shell): nothing to attach to
        return
    context["actor"] = user


def audit_set_on_behalf_of(*, kind: str, object_id: int | None, name: str) -> None:
    """Record that this request's writes are done for someone else (a community team member helping a
    producer): auditlog stores it in each log entry's additional_data."""
    try:
        context = auditlog_value.get()
    except LookupError:
        return
    context["additional_data"] = {"on_behalf_of": {"kind": kind, "id": object_id, "name": name}}
