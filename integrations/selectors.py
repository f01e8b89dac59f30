"""Who sees which connections, listings and attempts: the producer's members, its community team and the
officers of its area (through the one scoping mechanism)."""

from django.db.models import Q, QuerySet

from catalog.selectors import producers_in_reach
from marketplace.accounts.scoping import Reach, scope_rule
from marketplace.places.models import NamedScope
from marketplace.places.selectors import scope_current_communes

from .models import BulkPush, ChannelConnection, Listing, ListingAttempt


@scope_rule(Listing)
def _listings(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(product__producer__in=producers_in_reach(reach))


@scope_rule(ListingAttempt)
def _attempts(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(listing__product__producer__in=producers_in_reach(reach))


@scope_rule(ChannelConnection)
def _connections(queryset: QuerySet, reach: Reach) -> QuerySet:
    if reach.is_admin:
        return queryset
    # A shared booth is public knowledge (it sells for a whole area); a producer's own shop is its business.
    return queryset.filter(Q(kind="shared_booth") | Q(producer__in=producers_in_reach(reach)))


@scope_rule(BulkPush)
def _bulk(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(requested_by_id=reach.user_id)


def listings_in_scope(queryset: QuerySet, scope: NamedScope) -> QuerySet:
    return queryset.filter(product__producer__current_commune__in=scope_current_communes(scope=scope))
