"""KPI answers kept ready: computed once per state of the data, read in a few milliseconds.

An answer (the KPI of a scope and period, its gap list, funnel or trend) is a pure function of what it asks,
of the day, of who may see what, and of the data the rollups have seen. Every rollup source keeps a
generation that grows when a refresh changes something (kpi.rollups, including the `inputs` fingerprint of
certificates, products, producers, readiness, listings and scopes), so an answer is cached under a key made of
all of these: a refresh that changed anything makes every earlier answer unreachable at once. The time-to-live
(KPI_CACHE_SECONDS, 10 minutes by default) only bounds what the clock changes alone (a listing passes 7 days
without confirmation).

Who may see what: an administrator, and a viewer whose area covers every commune of the asked scope, see the
same answer (the same producers; kpi.selectors.Ask.sees_whole_scope), so they share one entry. Any other
viewer has answers of their own.

After each refresh, beat warms the answers people open first (`kpi_answers_warm`): every saved scope and the
whole country, this year and last, every channel, in each language. The first officer to open them gets a
ready answer, not a computation over the whole country.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.utils import timezone, translation
from rest_framework.renderers import JSONRenderer

from marketplace.accounts.scoping import Reach
from marketplace.core.cache import cache_get, cache_set
from marketplace.places.models import NamedScope

from . import selectors
from .periods import buckets, channels_from_params, period_from_params
from .selectors import Ask

logger = logging.getLogger(__name__)

ONLINE_WITH_SALES, GAPS, FUNNEL, TREND = "online-with-sales", "gaps", "funnel", "trend"
# Who warms: sees everything, as an administrator does.
WARMER = Reach(user_id=None, is_admin=True, is_superuser=False, roles=frozenset(), commune_ids=frozenset())


def _seconds() -> int:
    return getattr(settings, "KPI_CACHE_SECONDS", 600)


def answer_key(kind: str, ask: Ask, **extra) -> str | None:
    """None when caching is off."""
    if not _seconds():
        return None
    reach = ask.reach
    # A viewer whose area changed gets fresh answers at once, not those of their former area.
    seen = "whole" if ask.sees_whole_scope else [reach.user_id, sorted(reach.roles), sorted(reach.commune_ids)]
    described = [kind, ask.scope.pk if ask.scope else None, ask.period.start, ask.period.end, ask.channels,
                 ask.today, seen, sorted(ask.generations.items()), translation.get_language(), extra]  # fmt: skip
    return "kpi:" + hashlib.sha256(json.dumps(described, default=str).encode()).hexdigest()


def answer_data(kind: str, ask: Ask, compute: Callable[[], object], **extra):
    """The answer's data, computed once per key (shared by JSON, CSV and XLSX, and by every page of a list)."""
    key = answer_key(kind, ask, **extra)
    found = cache_get(key) if key else None
    if found is None:
        found = compute()
        if key:
            cache_set(key, found, _seconds())
    return found


def answer_rendered(kind: str, ask: Ask, data: Callable[[], object], **extra) -> bytes:
    """The answer rendered as JSON, kept rendered: a national KPI's breakdowns are thousands of rows, and
    rendering them again would cost more than everything else of a cached request."""
    key = answer_key(kind, ask, rendered=True, **extra)
    body = cache_get(key) if key else None
    if body is None:
        body = JSONRenderer().render(data())
        if key:
            cache_set(key, body, _seconds())
    return body


def computations(ask: Ask, *, interval: str = "month") -> dict[str, Callable[[], object]]:
    """What each kind of answer computes, for the API and for warming alike (gaps: the goods line, every
    reason; the API adds its other filters)."""
    parts = buckets(ask.period, interval, today=ask.today)
    return {
        ONLINE_WITH_SALES: lambda: selectors.kpi_online_with_sales(ask=ask),
        GAPS: lambda: selectors.kpi_gaps(ask=ask),
        FUNNEL: lambda: selectors.kpi_funnel(ask=ask),
        TREND: lambda: selectors.kpi_trend(ask=ask, buckets=parts, interval=interval),
    }


def warm_targets(*, today: date) -> list[tuple[NamedScope | None, dict]]:
    """The answers opened first: every saved scope and the whole country, this year and last."""
    periods = [{"period": str(today.year)}, {"period": str(today.year - 1)}]
    scopes: list[NamedScope | None] = [None, *NamedScope.objects.order_by("pk")]
    return [(scope, period) for scope in scopes for period in periods]


def kpi_answers_warm(*, today: date | None = None) -> int:
    """Compute the answers of `warm_targets` that are not ready yet, in every language; returns how many were
    computed. Idempotent: what is ready is left alone, so beat can call it after every refresh."""
    today = today or timezone.localdate()
    computed = 0
    for scope, params in warm_targets(today=today):
        ask = Ask(scope=scope, reach=WARMER, period=period_from_params(params, today=today),
                  channels=channels_from_params({}), today=today)  # fmt: skip
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                for kind, compute in computations(ask).items():
                    # The same keys the API reads (kpi.apis): the data, and for one-page answers the JSON too.
                    extra = {GAPS: {"reason": None, "line": "goods"}, TREND: {"interval": "month"}}.get(kind, {})
                    key = answer_key(kind, ask, **extra)
                    if key is None or cache_get(key) is not None:
                        continue
                    data = answer_data(kind, ask, compute, **extra)
                    if kind != GAPS:  # a page of the gap list carries links to its neighbours: made per request
                        answer_rendered(kind, ask, lambda d=data: d, **extra)
                    computed += 1
    return computed
