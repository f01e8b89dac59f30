"""Periods of the KPI: P = [start, end) in whole days (Vietnam time), as of D = the last day of P.

Asked as `period=2024`, `period=2024-Q3`, `period=2024-03`, or `from=2024-01-01&to=2024-06-30` (both days
included). A period that has not ended yet is reported as of today: nothing is known about the days to come,
and a certificate "valid on 31 December" would only be a forecast.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from catalog.ocop.services import OCOP_PROGRAMME_START
from integrations.models import MarketChannel

FIRST_DAY = OCOP_PROGRAMME_START  # no certificate is older: an earlier period is a typing mistake
MAX_DAYS = 366 * 10
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")
INTERVALS = ("month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the first day after the period

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def as_of(self, today: date) -> date:
        """D: the last day of the period, or today while it runs."""
        return min(self.last_day, today)

    # Cached (a frozen dataclass still has a __dict__): the trend compares thousands of spans with them.
    @cached_property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @cached_property
    def end_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end, time.min))

    def as_dict(self, today: date) -> dict:
        return {"from": self.start, "to": self.last_day, "as_of": self.as_of(today)}


def _invalid(field: str, message: str):
    return serializers.ValidationError({field: [message]})


def _day(params, name: str) -> date | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _invalid(name, _("Give a date as YYYY-MM-DD, for example 2024-12-31.")) from None


def period_from_params(params, *, today: date) -> Period:
    """The period of a request: `period`, or `from` and `to`. A 400 naming the parameter otherwise."""
    text = params.get("period", "").strip()
    start, last = _day(params, "from"), _day(params, "to")
    if text and (start or last):
        raise _invalid("period", _("Give either a period or from and to, not both."))
    if text:
        match = _PERIOD.match(text)
        if not match:
            raise _invalid("period", _("Give a year (2024), a quarter (2024-Q3) or a month (2024-03)."))
        year = int(match["year"])
        if match["quarter"]:
            first_month = 3 * int(match["quarter"]) - 2
            period = Period(date(year, first_month, 1), _month_after(date(year, first_month + 2, 1)))
        elif match["month"]:
            first = date(year, int(match["month"]), 1)
            period = Period(first, _month_after(first))
        else:
            period = Period(date(year, 1, 1), date(year + 1, 1, 1))
        field = "period"
    elif start or last:
        if not start or not last:
            missing = "from" if not start else "to"
            raise _invalid(missing, _("Give both from and to."))
        if last < start:
            raise _invalid("to", _("The end of the period is before its start."))
        period, field = Period(start, last + timedelta(days=1)), "from"
    else:
        raise _invalid("period", _("Give a period (2024, 2024-Q3, 2024-03) or from and to."))
    if period.start < FIRST_DAY:
        raise _invalid(field, _("No OCOP certificate is that old: choose a period from 2013 on."))
    if period.start > today:
        raise _invalid(field, _("The period has not started yet."))
    if (period.end - period.start).days > MAX_DAYS:
        raise _invalid(field, _("Choose a period of at most ten years."))
    return period


def _month_after(first: date) -> date:
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def _bucket_start(day: date, interval: str) -> date:
    if interval == "year":
        return date(day.year, 1, 1)
    if interval == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, day.month, 1)


def _bucket_after(first: date, interval: str) -> date:
    if interval == "year":
        return date(first.year + 1, 1, 1)
    if interval == "quarter":
        return _month_after(_month_after(_month_after(first)))
    return _month_after(first)


def buckets(period: Period, interval: str, *, today: date) -> list[Period]:
    """Calendar months (quarters, years) covering the period, cut to it, and none after today."""
    out = []
    first = _bucket_start(period.start, interval)
    while first < period.end and first <= today:
        after = _bucket_after(first, interval)
        out.append(Period(max(first, period.start), min(after, period.end)))
        first = after
    return out


def interval_from_params(params) -> str:
    interval = params.get("interval", "month")
    if interval not in INTERVALS:
        raise _invalid("interval", _("Choose month, quarter or year."))
    return interval


def channels_from_params(params) -> tuple[str, ...]:
    """`channels=postmart,voso`; every channel when absent."""
    raw = params.get("channels", "").strip()
    if not raw:
        return tuple(MarketChannel.values)
    asked = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [c for c in asked if c not in MarketChannel.values]
    if unknown or not asked:
        known = ", ".join(MarketChannel.values)
        raise _invalid("channels", _("Unknown channel. Choose among: %(known)s.") % {"known": known})
    return tuple(c for c in MarketChannel.values if c in asked)
