"""An officer's import of a platform's order export (CSV or XLSX): for channels the service has no API for, or
orders from before a shop was connected. One row per order line; rows with the same order number make one
order. Every row is checked and every problem reported with its row, column and a plain message; a dry run saves
nothing, and a real run saves all of it or, at the first problem, nothing. Evidence: platform export.

Columns (the header row; case, accents and spaces do not matter; the Vietnamese names of common exports work):
order_id, status, placed_at, seller_sku, quantity, unit_price_vnd (required); sold_at (required when the status
is delivered or completed), product_name, buyer_name (optional). See COLUMNS for the accepted names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Sku
from integrations.adapters.base import RemoteOrder
from integrations.models import Listing
from marketplace.accounts.scoping import scope_queryset
from marketplace.core.tables import (
    Columns,
    RowError,
    cell_blank,
    cell_integer,
    cell_text,
    header_key,
    table_read_upload,
)

from .models import SOLD, Evidence, Order, OrderStatus
from .services import Applied, normalise_status, order_apply

MAX_ROWS = 5000
MAX_ERRORS = 200

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


_COLUMNS = Columns(COLUMNS, REQUIRED)


# ------------------------------------------------------------------------------------------------- reading
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
    return STATUS_WORDS.get(header_key(text).replace("_", " "))


# ---------------------------------------------------------------------------------------------- checking
def _check(channel: str, user, table: list[list]) -> tuple[list[_Order], int, list[RowError]]:
    if not table:
        return [], 0, [RowError(1, "file", _("The file is empty."))]
    columns, errors = _COLUMNS.header(table[0])
    if errors:
        return [], 0, errors
    body = _COLUMNS.body(table)
    if len(body) > MAX_ROWS:
        return [], len(body), [RowError(1, "file", _("At most %(n)s rows per file.") % {"n": MAX_ROWS})]

    def cell(cells, column):
        index = columns.get(column)
        return cells[index] if index is not None and index < len(cells) else None

    skus = {cell_text(cell(cells, "seller_sku")) for _, cells in body}
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
            if cell_blank(cell(cells, column)):
                problem(column, _("This value is required."))
        external_id = cell_text(cell(cells, "order_id"))
        if len(external_id) > 64:
            problem("order_id", _("An order number has at most 64 characters."))
        raw_status = cell_text(cell(cells, "status"))
        status = _status(channel, raw_status) if raw_status else None
        if raw_status and status is None:
            problem("status", _("Unknown status. Use one of: %(values)s.") % {"values": ", ".join(OrderStatus.values)})
        placed_at = sold_at = None
        if not cell_blank(cell(cells, "placed_at")):
            placed_at = _moment(cell(cells, "placed_at"))
            if placed_at is None:
                problem("placed_at", _("Not a date. Write it as 2025-03-31 or 31/03/2025 (a time may follow)."))
            elif placed_at > latest:
                problem("placed_at", _("This date is in the future."))
        if not cell_blank(cell(cells, "sold_at")):
            sold_at = _moment(cell(cells, "sold_at"))
            if sold_at is None:
                problem("sold_at", _("Not a date. Write it as 2025-03-31 or 31/03/2025 (a time may follow)."))
            elif sold_at > latest or (placed_at and sold_at < placed_at):
                problem("sold_at", _("The delivery date must be between the order date and today."))
        elif status in SOLD:
            problem("sold_at", _("A delivered or completed order needs the date it was delivered."))
        quantity = price = None
        if not cell_blank(cell(cells, "quantity")):
            quantity = cell_integer(cell(cells, "quantity"), minimum=1, maximum=100_000)
            if quantity is None:
                problem("quantity", _("The quantity must be a whole number from 1 to 100,000."))
        if not cell_blank(cell(cells, "unit_price_vnd")):
            price = cell_integer(cell(cells, "unit_price_vnd"), minimum=0, maximum=1_000_000_000)
            if price is None:
                problem("unit_price_vnd", _("The price must be a whole number of đồng (VND has no decimals)."))
        seller_sku = cell_text(cell(cells, "seller_sku"))
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
                number, external_id, raw_status, status, placed_at, sold_at, cell_text(cell(cells, "buyer_name"))[:160]
            )
        known.lines.append(
            {
                "listing_id": str(listing.pk) if listing else "",
                "sku_id": package.pk,
                "product_id": package.product_id,
                "external_item_id": listing.external_id if listing else "",
                "seller_sku": seller_sku,
                "name": cell_text(cell(cells, "product_name")),
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
    table = table_read_upload(data)
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
