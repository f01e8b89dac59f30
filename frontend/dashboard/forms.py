"""The dashboard's question, as a GET form: a scope (a saved scope or a current/legacy place), a period."""

from __future__ import annotations

import re
from datetime import date

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from kpi.periods import FIRST_DAY, period_from_params

from . import selectors

YEARS_OFFERED = 8
_ASKED = re.compile(r"^(?P<year>\d{4})(?:-(?P<part>Q[1-4]|0[1-9]|1[0-2]))?$")


def part_choices() -> list:
    quarters = [(f"Q{q}", _("Quarter %(q)s") % {"q": q}) for q in range(1, 5)]
    months = [(f"{m:02d}", _("Month %(m)s") % {"m": m}) for m in range(1, 13)]
    return [("", _("The whole year")), (_("Quarter"), quarters), (_("Month"), months)]


class DashboardForm(forms.Form):
    """A year and, optionally, a quarter or month of it (two selects: usable with the keyboard alone); links and
    exports carry the same question as `period=2024`, `2024-Q3` or `2024-03`, which the form also reads."""

    scope = forms.ChoiceField(label=gettext_lazy("Saved scope"), required=False)
    q = forms.CharField(label=gettext_lazy("Or find a place (current or former)"), required=False, max_length=100,
                        help_text=gettext_lazy("For example: Văn Chấn, Tú Lệ, Yên Bái."))  # fmt: skip
    place = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    year = forms.ChoiceField(label=gettext_lazy("Year"), required=False)
    part = forms.ChoiceField(label=gettext_lazy("Quarter or month"), required=False)
    period = forms.CharField(label=gettext_lazy("Period"), required=False, max_length=20, widget=forms.HiddenInput)

    def __init__(self, data, *, user, today: date):
        data = data.copy()
        asked = _ASKED.match(data.get("period", "").strip())
        if asked and not data.get("year"):
            data["year"], data["part"] = asked["year"], asked["part"] or ""
        super().__init__(data)
        self.user, self.today = user, today
        self.scopes = {str(s.pk): s for s in selectors.saved_scopes(user=user)}
        self.fields["scope"].choices = [("", _("Everything you can see"))] + [
            (pk, s.name) for pk, s in self.scopes.items()
        ]
        first = max(FIRST_DAY.year, today.year - YEARS_OFFERED)
        years = [str(y) for y in range(today.year, first - 1, -1)]
        if data.get("year") and data["year"] not in years:  # checked in clean(), with the period's own message
            years.append(data["year"])
        self.fields["year"].choices = [(y, y) for y in years]
        self.fields["year"].initial = str(today.year)
        self.fields["part"].choices = part_choices()

    def clean(self):
        cleaned = super().clean()
        year, part = cleaned.get("year"), cleaned.get("part") or ""
        if "year" in self.errors or "part" in self.errors:
            return cleaned
        if year:
            text = f"{year}-{part}" if part else year
        else:
            text = (cleaned.get("period") or "").strip() or str(self.today.year)
        try:
            cleaned["period"] = period_from_params({"period": text}, today=self.today)
        except serializers.ValidationError as error:
            self.add_error("period", [str(m) for m in error.detail.get("period", [])])
        cleaned["period_text"] = text
        return cleaned

    def clean_place(self):
        key = self.cleaned_data.get("place", "").strip()
        if not key:
            return None
        place = selectors.place_from_key(key)
        if place is None:
            raise forms.ValidationError(_("There is no such place. Search for it again."))
        return place

    def chosen_scope(self):
        """The place when one was picked, else the saved scope, else None (everything the viewer may see)."""
        return self.cleaned_data.get("place") or self.scopes.get(self.cleaned_data.get("scope") or "")

    def query(self, **changes) -> str:
        """The form's question as a query string (for links: drill-down, pages, exports)."""
        from urllib.parse import urlencode

        params = {
            "scope": self.data.get("scope", ""),
            "place": self.data.get("place", ""),
            "period": self.cleaned_data.get("period_text", ""),
        }
        params.update(changes)
        return urlencode({k: v for k, v in params.items() if v})
