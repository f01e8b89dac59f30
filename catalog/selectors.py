"""Reads for the catalogue, and the scope rules of its models."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from marketplace.accounts.models import Role
from marketplace.accounts.scoping import Reach, scope_rule, user_reach
from marketplace.core.errors import ServiceError
from marketplace.places.models import UnitSuccession
from marketplace.places.selectors import units_current_commune_ids

from .models import Producer, ProducerMembership, Product, ProductSet, Sku


@scope_rule(Producer)
def _producers(queryset: QuerySet, reach: Reach) -> QuerySet:
    """Administrators see all; officers and community teams the producers in their communes (by the current
    commune, or through lineage when a split left it ambiguous); producer members their own producers."""
    if reach.is_admin:
        return queryset
    if reach.user_id is None:
        return queryset.none()
    # Each branch is a condition on the producer's own columns or an uncorrelated subquery, so the planner
    # can use the indexes and no join multiplies rows (an OR across joins made this ~10x slower).
    visible = Q(pk__in=ProducerMembership.objects.filter(user_id=reach.user_id).values("producer_id"))
    if reach.commune_ids:
        ids = reach.commune_ids
        split_predecessors = UnitSuccession.objects.filter(successor_id__in=ids).values("predecessor_id")
        visible |= (
            Q(current_commune_id__in=ids)
            | Q(commune_as_captured_id__in=ids)
            | Q(current_commune__isnull=True, commune_as_captured_id__in=split_predecessors)
        )
    return queryset.filter(visible)


def producers_in_reach(reach: Reach) -> QuerySet:
    """The producers a reach covers: the base of every catalogue rule (products, documents, certificates…).

    Other catalogue apps scope their models with `queryset.filter(product__producer__in=producers_in_reach(r))`.
    """
    return _producers(Producer.objects.all(), reach)


@scope_rule(ProducerMembership)
def _memberships(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset.filter(producer__in=producers_in_reach(reach))


@scope_rule(Product)
def _products(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(producer__in=producers_in_reach(reach))


@scope_rule(Sku)
def _skus(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset if reach.is_admin else queryset.filter(product__producer__in=producers_in_reach(reach))


@scope_rule(ProductSet)
def _product_sets(queryset: QuerySet, reach: Reach) -> QuerySet:
    return queryset  # public reference data


def officer_covers_producer(*, reach: Reach, producer: Producer) -> bool:
    """Whether this reach holds an officer's powers over the producer (verify, approve, see personal data):
    administrators; officers whose area holds the producer's current commune or, when a split left that
    ambiguous, any commune its captured commune became."""
    if reach.is_admin:
        return True
    if not reach.has_role(Role.OFFICER) or not reach.officer_commune_ids:
        return False
    if producer.current_commune_id is not None:
        return producer.current_commune_id in reach.officer_commune_ids
    successors = UnitSuccession.objects.filter(predecessor_id=producer.commune_as_captured_id)
    return successors.filter(successor_id__in=reach.officer_commune_ids).exists()


def producer_personal_data_visible_ids(*, user, producers) -> set[int]:
    """Which of `producers` this user may see personal data of (the full personal id, the phone): their
    own members, officers in scope, administrators. One query, whatever the number of producers."""
    reach = user_reach(user)
    ids = [p.pk for p in producers]
    if reach.is_admin:
        return set(ids)
    visible = set(
        ProducerMembership.objects.filter(user_id=reach.user_id, producer_id__in=ids).values_list(
            "producer_id", flat=True
        )
    )
    if reach.has_role(Role.OFFICER):
        visible |= {p.pk for p in producers if p.pk not in visible and officer_covers_producer(reach=reach, producer=p)}
    return visible


def producer_commune_check(*, reach: Reach, commune) -> None:
    """Community teams and officers register and move producers only within their own communes (the API and
    the wizard alike); raises a 400 naming `commune_as_captured` otherwise."""
    if reach.is_admin:
        return
    if not units_current_commune_ids(units=[commune]) & reach.commune_ids:
        raise ServiceError(
            "outside_your_area",
            _("This commune is outside the area assigned to you."),
            fields={"commune_as_captured": [_("Register producers of your own communes only.")]},
        )
