"""Reads for OCOP certificates, and their scope rule.

Whether a product counts as OCOP on a date is answered from the certificate's dates and verification, not
from its `status`: the daily status refresh may not have run yet, and a report for a past date must count
what was valid then (a certificate since superseded or expired included). Revoked ones never count.
"""

from datetime import date

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import producers_in_reach
from marketplace.accounts.models import Role
from marketplace.accounts.scoping import Reach, scope_rule, user_reach

from .models import CertificateStatus, OcopCertificate, Verification


@scope_rule(OcopCertificate)
def _certificates(queryset: QuerySet, reach: Reach) -> QuerySet:
    """Administrators see all; everyone else the certificates of the producers in their reach."""
    return queryset if reach.is_admin else queryset.filter(product__producer__in=producers_in_reach(reach))


def _counting(on: date) -> Q:
    """A certificate that makes its product count as OCOP on `on`."""
    return Q(verification=Verification.VERIFIED, valid_from__lte=on, valid_until__gte=on) & ~Q(
        status=CertificateStatus.REVOKED
    )


def certificates_counting(*, on: date) -> QuerySet[OcopCertificate]:
    return OcopCertificate.objects.filter(_counting(on))


def products_counting_as_ocop(*, on: date) -> QuerySet[Product]:
    """Products with a verified, unrevoked certificate valid on `on`: the "OCOP" of the KPI."""
    return Product.objects.filter(pk__in=certificates_counting(on=on).values("product_id"))


def _newest_counting_star(on: date) -> Subquery:
    # After an upgrade or re-evaluation the newest decision speaks for the product.
    newest = certificates_counting(on=on).filter(product=OuterRef("pk")).order_by("-decision_date", "-pk")
    return Subquery(newest.values("star")[:1])


def products_with_current_star(queryset: QuerySet[Product], *, on: date) -> QuerySet[Product]:
    """Annotate `ocop_star` (None when the product does not count as OCOP on `on`), in the same query."""
    return queryset.annotate(ocop_star=_newest_counting_star(on))


def products_with_star(star: str, *, on: date | None = None) -> Q:
    """A filter for Product querysets: the product's current star on `on` (default today) is `star`. A product
    upgraded from 3★ to 4★ is a 4★ product only, even while its 3★ certificate has not run out."""
    on = on or timezone.localdate()
    return Q(pk__in=products_with_current_star(Product.objects.all(), on=on).filter(ocop_star=star).values("pk"))


def product_current_star(*, product: Product, on: date) -> str | None:
    certificate = certificates_counting(on=on).filter(product=product).order_by("-decision_date", "-pk").first()
    return certificate.star if certificate else None


def certificate_warnings_visible(*, user) -> bool:
    """Level and expiry warnings are for officers and administrators, not for producers."""
    return user_reach(user).has_role(Role.OFFICER)


def certificate_verifiable_by(*, certificate: OcopCertificate, user) -> bool:
    """Administrators, and officers whose area holds the producer (catalog.selectors.officer_covers_producer)."""
    from catalog.selectors import officer_covers_producer

    return officer_covers_producer(reach=user_reach(user), producer=certificate.product.producer)
