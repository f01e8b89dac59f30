"""Which products count as OCOP, and the daily status refresh (in a real worker process too)."""

import time
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Product
from catalog.ocop.models import OcopCertificate
from catalog.ocop.selectors import (
    product_current_star,
    products_counting_as_ocop,
    products_with_current_star,
    products_with_star,
)
from catalog.ocop.services import (
    ocop_certificate_revoke,
    ocop_certificate_verify,
    ocop_certificates_refresh_status,
)
from catalog.ocop.tasks import ocop_certificates_refresh_status_task
from tests.catalog.ocop.helpers import a_certificate, a_product, officer_of_old_yen_bai


def _verified(certificate, officer):
    return ocop_certificate_verify(certificate=certificate, officer=officer, decision="verified")


@pytest.mark.django_db
def test_only_verified_unexpired_unrevoked_certificates_make_a_product_count():
    # given one product per case
    officer = officer_of_old_yen_bai()
    today = timezone.localdate()
    counts = a_product(name="verified and valid")
    _verified(a_certificate(product=counts), officer)
    a_certificate(product=a_product(name="not verified"))
    expired = a_product(name="verified, expired")
    _verified(a_certificate(product=expired, decision_date=date(2019, 5, 2)), officer)
    revoked = a_product(name="verified, revoked")
    ocop_certificate_revoke(
        certificate=_verified(a_certificate(product=revoked), officer), officer=officer, reason="Thu hồi"
    )
    rejected = a_product(name="rejected")
    ocop_certificate_verify(certificate=a_certificate(product=rejected), officer=officer, decision="rejected",
                            reason="Sai số quyết định")  # fmt: skip

    # when / then: today only the verified, valid one counts
    assert list(products_counting_as_ocop(on=today)) == [counts]
    # and in mid-2020 the certificate that has since expired counted
    assert list(products_counting_as_ocop(on=date(2020, 6, 1))) == [expired]


@pytest.mark.django_db
def test_after_an_upgrade_the_product_has_the_new_star_only():
    # given a verified 3★ superseded by a verified 4★ upgrade
    officer = officer_of_old_yen_bai()
    today = timezone.localdate()
    product = a_product()
    three = _verified(a_certificate(product=product, decision_date=today - timedelta(days=400)), officer)
    _verified(
        a_certificate(
            product=product,
            star="4",
            decision_date=today - timedelta(days=20),
            evaluation_type="upgrade",
            supersedes=three,
        ),
        officer,
    )
    other = a_product()
    _verified(a_certificate(product=other), officer)

    # then
    assert product_current_star(product=product, on=today) == "4"
    assert list(Product.objects.filter(products_with_star("4"))) == [product]
    assert list(Product.objects.filter(products_with_star("3", on=today))) == [other]
    stars = dict(products_with_current_star(Product.objects.all(), on=today).values_list("pk", "ocop_star"))
    assert stars == {product.pk: "4", other.pk: "3"}


@pytest.mark.django_db
def test_refresh_expires_yesterdays_certificates_and_is_idempotent():
    # given certificates recorded a week ago, one valid until yesterday and one until today
    today = timezone.localdate()
    decided = today - timedelta(days=200)
    until_yesterday = a_certificate(
        product=a_product(),
        decision_date=decided,
        valid_until=today - timedelta(days=1),
        today=today - timedelta(days=7),
    )
    until_today = a_certificate(product=a_product(), decision_date=decided, valid_until=today, today=today)

    # when the refresh runs twice
    first = ocop_certificates_refresh_status(today=today)
    second = ocop_certificates_refresh_status(today=today)

    # then yesterday's expired once, today's is still valid
    assert (first, second) == (1, 0)
    until_yesterday.refresh_from_db()
    until_today.refresh_from_db()
    assert (until_yesterday.status, until_today.status) == ("expired", "active")


@pytest.mark.django_db(transaction=True)
def test_the_daily_task_runs_in_a_worker_process(worker_queue):
    # given (a transactional test starts from an empty database) the places, the product sets and a
    # certificate whose validity ended yesterday
    call_command("load_admin_units", verbosity=0)
    call_command("load_catalog_reference", verbosity=0)
    today = timezone.localdate()
    certificate = a_certificate(
        product=a_product(),
        decision_date=today - timedelta(days=200),
        valid_until=today - timedelta(days=1),
        today=today - timedelta(days=7),
    )
    assert certificate.status == "active"

    # when beat's daily job is taken by a worker
    ocop_certificates_refresh_status_task.apply_async(queue=worker_queue)

    # then the worker marked it expired
    for _ in range(120):
        if OcopCertificate.objects.filter(pk=certificate.pk, status="expired").exists():
            break
        time.sleep(0.5)
    assert OcopCertificate.objects.get(pk=certificate.pk).status == "expired"
