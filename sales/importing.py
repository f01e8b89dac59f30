"""An officer's import of a platform's order export (CSV or XLSX): for channels the service has no API for, or
orders from before a shop was connected. One row per order line; rows with the same order number make one
order. Every row is checked and every problem reported with its row, column and a plain message; a dry run saves
nothing, and a real run saves all of it or, at the first problem, nothing. Evidence: platform export.

Columns (the header row; case, accents and spaces do not matter; the Vietnamese names of common exports work):
order_id, status, placed_at, seller_sku, quantity, unit_price_vnd (required); sold_at (required when the status
is delivered or completed), product_name, buyer_name (optional). See COLUMNS for the accepted names.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from unidecode import unidecode

from catalog.models import Sku
from integrations.adapters.base import RemoteOrder
from integrations.models import Listing
from marketplace.accounts.scoping import scope_queryset
from marketplace.core.errors import ServiceError

from .models import SOLD, Evidence, Order, OrderStatus
from .services import Applied, normalise_status, order_apply

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_ERRORS = 200
XLSX_MAGIC = b"PK\x03\x04"

# Our column → the header names accepted for it (compared without accents, case or punctuation).
COLUMNS: dict[str, tuple[str, ...]] = {
    "order_id": ("order_id", "order_sn", "order_number", "ma_don_hang", "ma_don"),
    "status": ("status", "order_status", "trang_thai", "trang_thai_don_hang"),
    "placed_at": ("placed_at", "create_time", "created_at", "order_date", "ngay_dat_hang", "thoi_gian_dat_hang"),
    "seller_sku": ("seller_sku", "sku", "item_sku", "ma_sku", "sku_phan_loai_hang", "sku_san_pham"),
    "quantity": ("quantity", "qty", "so_luong"),
    "unit_price_vnd": ("unit_price_vnd", "unit_price", "price", "don_gia", "gia", "gia_ban", "gia_uu_dai"),
    "sold_at": (
        "sold_at",
        "delivered_at",
        "completed_at",
        "ngay_giao_hang",
        "thoi_gian_giao_hang",
        "ngay_hoan_thanh",
        "thoi_gian_hoan_thanh",
        "thoi_gian_hoan_thanh_don_hang",
    ),
    "product_name": ("product_name", "item_name", "ten_san_pham"),
    "buyer_name": ("buyer_name", "buyer", "nguoi_mua", "ten_nguoi_mua"),
}
REQUIRED = ("order_id", "status", "placed_at", "seller_sku", "quantity", "unit_price_vnd")
# The words of Vietnamese platform exports, without accents, lower case → our status.
STATUS_WORDS = {
    "cho xac nhan": OrderStatus.PLACED,
    "cho thanh toan": OrderStatus.PLACED,
    "da dat hang": OrderStatus.PLACED,
    "da xac nhan": OrderStatus.CONFIRMED,
    "cho lay hang": OrderStatus.CONFIRMED,
    "dang chuan bi hang": OrderStatus.CONFIRMED,
    "dang giao": OrderStatus.SHIPPED,
    "dang van chuyen": OrderStatus.SHIPPED,
    "da giao cho don vi van chuyen": OrderStatus.SHIPPED,
    "da giao": OrderStatus.DELIVERED,
    "da giao hang": OrderStatus.DELIVERED,
    "giao thanh cong": OrderStatus.DELIVERED,
    "da nhan hang": OrderStatus.DELIVERED,
    "hoan thanh": OrderStatus.COMPLETED,
    "da hoan thanh": OrderStatus.COMPLETED,
    "da huy": OrderStatus.CANCELLED,
    "huy": OrderStatus.CANCELLED,
    "tra hang": OrderStatus.RETURNED,
    "da tra hang": OrderStatus.RETURNED,
    "hoan hang": OrderStatus.RETURNED,
    "tra hang hoan tien": OrderStatus.RETURNED,
}
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y",
)  # fmt: skip


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class _Order:
    row: int
    external_id: str
    raw_status: str
    status: str
    placed_at: datetime
    sold_at: datetime | None
    buyer_name: str
    lines: list[dict] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    orders: int = 0
    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "valid": not self.errors,
            "rows": self.rows,
            "orders": self.orders,
            "lines": self.lines,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [e.as_dict() for e in self.errors[:MAX_ERRORS]],
            "error_count": len(self.errors),
        }


def _key(text) -> str:
    return re.sub(r"[^a-z0-9]+", "_", unidecode(str(text or "")).lower()).strip("_")


_ALIASES = {_key(alias): column for column, aliases in COLUMNS.items() for alias in aliases}


# ------------------------------------------------------------------------------------------------- reading
def _read_table(data: bytes) -> list[list]:
    """The cells of the first sheet (XLSX) or of the CSV (UTF-8, comma, semicolon or tab), as rows."""
    if data.startswith(XLSX_MAGIC):
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
            raise _FileError(_("The file is not a readable XLSX workbook.")) from exc
        try:
            sheet = book.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileError(_("The file is neither an XLSX workbook nor a CSV file in UTF-8.")) from exc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


class _FileError(Exception):
    """The file itself cannot be read (format, encoding, size): the whole import is refused, naming `file`."""


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number cell holding an order number
    return str(value).strip() if value is not None else ""


def _integer(value, *, minimum: int, maximum: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        raw = re.sub(r"\s|₫|đ|vnd", "", str(value), flags=re.IGNORECASE)
        if re.fullmatch(r"\d{1,3}([.,]\d{3})+", raw):
            raw = re.sub(r"[.,]", "", raw)  # 185.000 or 185,000: thousands, VND has no decimals
        try:
            number = Decimal(raw)
        except InvalidOperation:
            return None
    if number != number.to_integral_value() or not minimum <= number <= maximum:
        return None
    return int(number)


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        raw = str(value).strip()
        moment = None
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            for fmt in DATE_FORMATS:
                try:
                    moment = datetime.strptime(raw, fmt)
                    break
                except ValueError:
                    continue
        if moment is None:
            return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)  # the service's time zone, Asia/Ho_Chi_Minh
    return moment


def _status(channel: str, raw: str) -> str | None:
    text = raw.strip()
    if text.lower() in OrderStatus.values:
        return text.lower()
    mapped = normalise_status(channel, text)
    if mapped is not None:
        return mapped
    return STATUS_WORDS.get(_key(text).replace("_", " "))


# ---------------------------------------------------------------------------------------------- checking
def _header(cells: list) -> tuple[dict[str, int], list[RowError]]:
    columns: dict[str, int] = {}
    for index, name in enumerate(cells):
        column = _ALIASES.get(_key(name))
        if column and column not in columns:
            columns[column] = index
    errors = [
        RowError(
            1, column, _("This column is missing. Accepted names: %(names)s.") % {"names": ", ".join(COLUMNS[column])}
        )
        for column in REQUIRED
        if column not in columns
    ]
    return columns, errors


def _check(channel: str, user, table: list[list]) -> tuple[list[_Order], int, list[RowError]]:
    if not table:
        return [], 0, [RowError(1, "file", _("The file is empty."))]
    columns, errors = _header(table[0])
    if errors:
        return [], 0, errors
    body = [(number, cells) for number, cells in enumerate(table[1:], start=2) if not all(map(_blank, cells))]
    if len(body) > MAX_ROWS:
        return [], len(body), [RowError(1, "file", _("At most %(n)s rows per file.") % {"n": MAX_ROWS})]

    def cell(cells, column):
        index = columns.get(column)
        return cells[index] if index is not None and index < len(cells) else None

    skus = {_text(cell(cells, "seller_sku")) for _, cells in body}
    listings = {
        listing.seller_sku: listing
        for listing in scope_queryset(
            Listing.objects.select_related("sku").filter(channel=channel, seller_sku__in=skus), user
        )
    }
    packages = {sku.code: sku for sku in scope_queryset(Sku.objects.filter(code__in=skus).exclude(code=""), user)}
    # A package named by its own code still sold through its listing on this channel, if it has one.
    by_package = {
        listing.sku_id: listing
        for listing in Listing.objects.filter(channel=channel, sku__in=[p.pk for p in packages.values()])
    }
    latest = timezone.now() + timedelta(days=1)
    orders: dict[str, _Order] = {}
    for number, cells in body:
        problems: list[RowError] = []

        def problem(column, message, number=number, problems=problems):
            problems.append(RowError(number, column, message))

        for column in REQUIRED:
            if _blank(cell(cells, column)):
                problem(column, _("This value is required."))
        external_id = _text(cell(cells, "order_id"))
        if len(external_id) > 64:
            problem("order_id", _("An order number has at most 64 characters."))
        raw_status = _text(cell(cells, "status"))
        status = _status(channel, raw_status) if raw_status else None
        if raw_status and status is None:
            problem("status", _("Unknown status. Use one of: %(values)s.") % {"values": ", ".join(OrderStatus.values)})
        placed_at = sold_at = None
        if not _blank(cell(cells, "placed_at")):
            placed_at = _moment(cell(cells, "placed_at"))
            if placed_at is None:
                problem("placed_at", _("Not a date. Write it as 2025-03-31 or 31/03/2025 (a time may follow)."))
            elif placed_at > latest:
                problem("placed_at", _("This date is in the future."))
        if not _blank(cell(cells, "sold_at")):
            sold_at = _moment(cell(cells, "sold_at"))
            if sold_at is None:
                problem("sold_at", _("Not a date. Write it as 2025-03-31 or 31/03/2025 (a time may follow)."))
            elif sold_at > latest or (placed_at and sold_at < placed_at):
                problem("sold_at", _("The delivery date must be between the order date and today."))
        elif status in SOLD:
            problem("sold_at", _("A delivered or completed order needs the date it was delivered."))
        quantity = price = None
        if not _blank(cell(cells, "quantity")):
            quantity = _integer(cell(cells, "quantity"), minimum=1, maximum=100_000)
            if quantity is None:
                problem("quantity", _("The quantity must be a whole number from 1 to 100,000."))
        if not _blank(cell(cells, "unit_price_vnd")):
            price = _integer(cell(cells, "unit_price_vnd"), minimum=0, maximum=1_000_000_000)
            if price is None:
                problem("unit_price_vnd", _("The price must be a whole number of đồng (VND has no decimals)."))
        seller_sku = _text(cell(cells, "seller_sku"))
        listing = listings.get(seller_sku)
        package = listing.sku if listing else packages.get(seller_sku)
        if listing is None and package is not None:
            listing = by_package.get(package.pk)
        if seller_sku and package is None:
            problem("seller_sku", _("No package with this SKU among the products you manage."))
        known = orders.get(external_id)
        if known is not None and status and (status, placed_at) != (known.status, known.placed_at):
            problem("status", _("Rows of one order must have the same status and order date (see row %(row)s).")
                    % {"row": known.row})  # fmt: skip
        errors += problems
        if problems:
            continue
        if known is None:
            known = orders[external_id] = _Order(
                number, external_id, raw_status, status, placed_at, sold_at, _text(cell(cells, "buyer_name"))[:160]
            )
        known.lines.append(
            {
                "listing_id": str(listing.pk) if listing else "",
                "sku_id": package.pk,
                "product_id": package.product_id,
                "external_item_id": listing.external_id if listing else "",
                "seller_sku": seller_sku,
                "name": _text(cell(cells, "product_name")),
                "quantity": quantity,
                "unit_price_vnd": price,
            }
        )
    return list(orders.values()), len(body), errors


def _news(order: _Order) -> RemoteOrder:
    moment = order.sold_at or order.placed_at
    return RemoteOrder(
        external_id=order.external_id,
        status=order.raw_status,
        updated_at=int(moment.timestamp()),
        total_vnd=sum(line["quantity"] * line["unit_price_vnd"] for line in order.lines),
        lines=tuple(order.lines),
        created_at=int(order.placed_at.timestamp()),
        buyer_name=order.buyer_name,
    )


# ------------------------------------------------------------------------------------------------ service
def orders_import(*, user, channel: str, data: bytes, dry_run: bool) -> ImportReport:
    """Check an export and, unless `dry_run` or a row is wrong, record its orders in one transaction."""
    report = ImportReport(dry_run=dry_run)
    if len(data) > MAX_BYTES:
        raise ServiceError("file_too_large", _("The file is larger than 5 MB."), fields={"file": [_("At most 5 MB.")]})
    try:
        table = _read_table(data)
    except _FileError as exc:
        raise ServiceError("unreadable_file", str(exc), fields={"file": [str(exc)]}) from exc
    orders, report.rows, report.errors = _check(channel, user, table)
    report.orders, report.lines = len(orders), sum(len(o.lines) for o in orders)
    named = Order.objects.filter(channel=channel, external_id__in=[o.external_id for o in orders])
    existing = set(named.values_list("external_id", flat=True))
    # An order the channel already sent us for a producer outside this officer's reach is not theirs to change
    # (it would move another cooperative's sales, and the KPI): refuse those rows rather than apply them.
    mine = set(scope_queryset(named, user).values_list("external_id", flat=True))
    for order in orders:
        if order.external_id in existing - mine:
            report.errors.append(
                RowError(order.row, "order_id", _("This order belongs to a producer outside your area."))
            )
    if dry_run or report.errors:
        report.created = sum(o.external_id not in existing for o in orders)
        report.updated = len(orders) - report.created
        return report
    with transaction.atomic():
        for order in orders:
            result = order_apply(
                channel=channel, news=_news(order), source="import", evidence=Evidence.PLATFORM_EXPORT,
                status=order.status,
            )  # fmt: skip
            if result == Applied.CREATED:
                report.created += 1
            elif result == Applied.CHANGED:
                report.updated += 1
            else:
                report.unchanged += 1
    return report
