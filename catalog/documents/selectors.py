"""Reads for documents, and their scope rule."""

from django.db.models import QuerySet

from catalog.selectors import producers_in_reach
from marketplace.accounts.scoping import Reach, scope_rule

from .models import Document


@scope_rule(Document)
def _documents(queryset: QuerySet, reach: Reach) -> QuerySet:
    """Private papers: administrators see all; everyone else the documents of the producers in their reach
    (its members, the community team and officers whose area covers it). A product document belongs to
    its product's producer, so the same rule covers it."""
    return queryset if reach.is_admin else queryset.filter(producer__in=producers_in_reach(reach))


def document_file_key_in_use(*, key: str) -> bool:
    """Whether any document still refers to this stored file (the same content is stored once)."""
    return Document.objects.filter(file_key=key).exists()
