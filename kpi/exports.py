"""CSV and XLSX for the KPI endpoints (`?format=csv`, `?format=xlsx`): officers live in spreadsheets.

Each view turns its JSON answer into tables (`export_tables`); these renderers write them. Headers are gettext
msgids, so they come out in the request's language (Vietnamese by default). Money stays in whole đồng and rates
are numbers: CSV gives rates in percent, XLSX as fractions formatted as percent. CSV carries the first table
(UTF-8 with a byte-order mark, which Excel needs to read Vietnamese); XLSX has one sheet per table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from rest_framework.renderers import BaseRenderer

INT, RATE, TEXT, DAY, MOMENT, FLAG = "int", "rate", "text", "day", "moment", "flag"


@dataclass
class Table:
    title: object  # a lazy translated string: the sheet's name
    columns: list[tuple[object, str]]  # (header, kind)
    rows: list[list]


def _local(value):
    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
    return value


def _csv_value(value, kind: str):
    if value is None:
        return ""
    if kind == RATE:
        return f"{value * 100:.1f}"
    if kind == FLAG:
        return "x" if value else ""
    if kind == MOMENT:
        return _local(value).isoformat(sep=" ")
    if kind == DAY and isinstance(value, date):
        return value.isoformat()
    return value


class CsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        view, response = renderer_context["view"], renderer_context["response"]
        table = view.export_tables(data)[0]
        response["Content-Disposition"] = f'attachment; filename="{view.export_filename(data)}.csv"'
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([str(header) for header, _kind in table.columns])
        for row in table.rows:
            writer.writerow([_csv_value(value, kind) for value, (_h, kind) in zip(row, table.columns, strict=True)])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")


_FORMATS = {RATE: "0.0%", DAY: "dd/mm/yyyy", MOMENT: "dd/mm/yyyy hh:mm", INT: "#,##0"}
_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


class XlsxRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        view, response = renderer_context["view"], renderer_context["response"]
        response["Content-Disposition"] = f'attachment; filename="{view.export_filename(data)}.xlsx"'
        workbook = Workbook(write_only=True)
        bold = Font(bold=True)
        for table in view.export_tables(data):
            sheet = workbook.create_sheet(str(table.title).translate(_FORBIDDEN)[:31])
            header = []
            for title, _kind in table.columns:
                cell = WriteOnlyCell(sheet, value=str(title))
                cell.font = bold
                header.append(cell)
            sheet.append(header)
            for row in table.rows:
                cells = []
                for value, (_title, kind) in zip(row, table.columns, strict=True):
                    if kind == FLAG:
                        value = "x" if value else None
                    elif kind == MOMENT:
                        value = _local(value)
                    cell = WriteOnlyCell(sheet, value=value)
                    if kind in _FORMATS and value is not None:
                        cell.number_format = _FORMATS[kind]
                    cells.append(cell)
                sheet.append(cells)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()


# ------------------------------------------------------------------------------------------ the tables
TALLY_COLUMNS = [
    (_("Products (denominator)"), INT),
    (_("Certified within 30 days"), INT),
    (_("Online"), INT),
    (_("Online with sales"), INT),
    (_("Sales attested by an officer only"), INT),
    (_("KPI (%)"), RATE),
    (_("Online (%)"), RATE),
]
TALLY_KEYS = ["denominator", "recently_certified", "online", "numerator", "attested_only", "rate", "online_rate"]


def _tally_cells(row: dict) -> list:
    return [row[key] for key in TALLY_KEYS]


def kpi_tables(data: dict) -> list[Table]:
    lines = [
        [str(_("Total (goods)")), "", str(_("OCOP goods")), *_tally_cells(data["kpi"])],
        [str(_("Tourism services")), "", str(_("OCOP tourism services")), *_tally_cells(data["services"])],
    ]
    titles = {
        "star": _("Star"),
        "product_set": _("Product set"),
        "commune": _("Commune"),
        "legacy_commune": _("Former commune"),
        "channel": _("Channel"),
    }
    for name, rows in data["breakdowns"].items():
        lines.extend([str(titles[name]), row["key"], row["name"], *_tally_cells(row)] for row in rows)
    main = Table(_("KPI"), [(_("Breakdown"), TEXT), (_("Code"), TEXT), (_("Name"), TEXT), *TALLY_COLUMNS], lines)
    freshness = Table(
        _("Data freshness"),
        [(_("Channel"), TEXT), (_("Last confirmation by the channel"), MOMENT), (_("Live listings"), INT),
         (_("Live listings unconfirmed for more than 7 days"), INT), (_("Newest order change read"), MOMENT),
         (_("Orders waiting for the next refresh"), INT), (_("Rollups refreshed at"), MOMENT)],
        [[f["name"], f["last_confirmed_at"], f["live_listings"], f["live_unconfirmed"], f["last_order_change_at"],
          f["orders_waiting"], f["rollups_refreshed_at"]] for f in data["freshness"]],
    )  # fmt: skip
    period = data["period"]
    about = Table(
        _("Period"),
        [(_("Scope"), TEXT), (_("From"), DAY), (_("To"), DAY), (_("As of"), DAY), (_("Channels"), TEXT),
         (_("Gaps"), INT), (_("Producers with no known current commune"), INT)],
        [[(data["scope"] or {}).get("name", str(_("Everything you can see"))), period["from"], period["to"],
          period["as_of"], ", ".join(data["channels"]), data["gaps"]["total"], data["unresolved_producers"]]],
    )  # fmt: skip
    return [main, freshness, about]


def gap_tables(rows: list[dict]) -> list[Table]:
    columns = [
        (_("Product id"), INT), (_("Product"), TEXT), (_("Producer"), TEXT), (_("Commune"), TEXT),
        (_("Former commune"), TEXT), (_("Star"), TEXT), (_("Product set"), TEXT), (_("Certificate decision"), TEXT),
        (_("Valid until"), DAY), (_("Certified within 30 days"), FLAG), (_("Online on"), TEXT), (_("Reason"), TEXT),
        (_("Details"), TEXT),
    ]  # fmt: skip
    lines = [
        [r["product"]["id"], r["product"]["name"], r["producer"]["name"], (r["commune"] or {}).get("name"),
         (r["legacy_commune"] or {}).get("name"), r["star"],
         f'{r["product_set"]["number"]}. {r["product_set"]["name"]}',
         r["certificate"]["decision_number"], r["certificate"]["valid_until"], r["recently_certified"],
         ", ".join(r["online_channels"]), r["reasons"][0]["code"], " ".join(x["message"] for x in r["reasons"])]
        for r in rows
    ]  # fmt: skip
    return [Table(_("Gaps"), columns, lines)]


def funnel_tables(data: dict) -> list[Table]:
    columns = [(_("Step"), TEXT), (_("Producers"), INT), (_("Conversion from the step before"), RATE),
               (_("Share of registered producers"), RATE)]  # fmt: skip
    rows = [[s["name"], s["producers"], s["conversion"], s["of_registered"]] for s in data["steps"]]
    return [Table(_("Funnel"), columns, rows)]


def trend_tables(data: dict) -> list[Table]:
    columns = [(_("From"), DAY), (_("To"), DAY), (_("As of"), DAY), *TALLY_COLUMNS, (_("Order lines"), INT),
               (_("Quantity"), INT), (_("Sales (VND)"), INT), (_("Attested order lines"), INT)]  # fmt: skip
    rows = [[b["from"], b["to"], b["as_of"], *_tally_cells(b), b["lines"], b["quantity"], b["gmv_vnd"],
             b["attested_lines"]] for b in data["buckets"]]  # fmt: skip
    return [Table(_("Trend"), columns, rows)]
