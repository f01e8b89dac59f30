"""Thin tasks for the order backstops (beat entries in settings): each calls one service of sales/sync.py."""

from celery import shared_task

from . import sync


@shared_task(soft_time_limit=540, time_limit=600)
def orders_poll_task() -> dict:
    return _keys(sync.orders_poll())


@shared_task(soft_time_limit=240, time_limit=300)
def orders_feed_pull_task() -> dict:
    return _keys(sync.orders_feed_pull())


@shared_task(soft_time_limit=240, time_limit=300)
def orders_lost_push_pull_task() -> dict:
    return sync.orders_lost_push_pull()


@shared_task(soft_time_limit=240, time_limit=300)
def orders_failed_deliveries_pull_task() -> dict:
    return _keys(sync.orders_failed_deliveries_pull())


@shared_task(soft_time_limit=540, time_limit=600)
def orders_reconcile_task() -> dict:
    return sync.orders_reconcile()


def _keys(report: dict) -> dict:
    # JSON results: connection ids as strings.
    return {str(key): value for key, value in report.items()}
