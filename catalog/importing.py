"""An officer's bulk import of producers and their products (CSV or XLSX), with a dry run, row-level errors and
an undo of their last import.

One row per package (SKU); rows naming the same producer (the same tax id, or the same name in the same commune)
make one producer, and rows naming the same product of a producer make one product. Every row goes through the
services a person's form goes through (catalog.services: the same checks, the same readiness), each in its own
savepoint, so that a dry run finds exactly what a real run would; a dry run, or a file with any wrong row, then
rolls everything back. Producers and products already registered are reused, never changed.

Columns (the header row; case, accents and spaces do not matter): see COLUMNS. The commune is its code in the
current system (since 1 July 2025) or the former one; `code_system` says which when a code exists in both.

The undo removes what the user's last import created, only while nothing has been added to it since (a photo, a
certificate, a listing, a member, an edit): it never takes away someone's later work.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.accounts.scoping import scope_queryset, user_reach
from marketplace.core.errors import ServiceError
from marketplace.core.tables import (
    Columns,
    RowError,
    cell_blank,
    cell_integer,
    cell_number,
    cell_text,
    header_key,
    table_read_upload,
)
from marketplace.core.text import fold
from marketplace.places.models import AdministrativeUnit, CodeSystem, Level

from .models import CatalogImport, NetUnit, Producer, ProducerKind, Product, ProductReadiness, ProductSet, Sku
from .services import producer_create, product_create, sku_create

MAX_ROWS = 2000
MAX_ERRORS = 200

COLUMNS: dict[str, tuple[str, ...]] = {
    "producer_name": ("producer_name", "legal_name", "ten_co_so", "ten_chu_the", "ten_nha_san_xuat", "ho_ten"),
    "producer_kind": ("producer_kind", "kind", "loai_chu_the", "loai_hinh"),
    "commune_code": ("commune_code", "commune", "ma_xa", "ma_don_vi_hanh_chinh"),
    "code_system": ("code_system", "he_ma", "he_thong_ma"),
    "phone": ("phone", "so_dien_thoai", "dien_thoai", "sdt"),
    "tax_id": ("tax_id", "ma_so_thue", "mst"),
    "product_name": ("product_name", "ten_san_pham"),
    "product_set": ("product_set", "bo_san_pham"),
    "description": ("description", "mo_ta"),
    "net_quantity": ("net_quantity", "dinh_luong", "khoi_luong_tinh"),
    "net_unit": ("net_unit", "don_vi", "don_vi_tinh"),
    "price_vnd": ("price_vnd", "price", "gia", "gia_ban"),
    "weight_grams": ("weight_grams", "khoi_luong_dong_goi_g", "khoi_luong_dong_goi", "can_nang_g"),
    "length_cm": ("length_cm", "dai_cm", "chieu_dai"),
    "width_cm": ("width_cm", "rong_cm", "chieu_rong"),
    "height_cm": ("height_cm", "cao_cm", "chieu_cao"),
    "stock": ("stock", "ton_kho", "so_luong_ton"),
}
REQUIRED = ("producer_name", "producer_kind", "commune_code", "product_name", "product_set", "net_quantity",
            "net_unit", "price_vnd", "weight_grams", "length_cm", "width_cm", "height_cm")  # fmt: skip
_COLUMNS = Columns(COLUMNS, REQUIRED)
# The words people write, without accents → our values.
KIND_WORDS = {
    "ho_gia_dinh": ProducerKind.HOUSEHOLD, "ho_san_xuat": ProducerKind.HOUSEHOLD,
    "ho_kinh_doanh": ProducerKind.HOUSEHOLD_BUSINESS, "to_hop_tac": ProducerKind.COOPERATIVE_GROUP,
    "hop_tac_xa": ProducerKind.COOPERATIVE, "htx": ProducerKind.COOPERATIVE,
    "lien_hiep_hop_tac_xa": ProducerKind.COOPERATIVE_UNION, "doanh_nghiep": ProducerKind.ENTERPRISE,
    "cong_ty": ProducerKind.ENTERPRISE,
}  # fmt: skip
UNIT_WORDS = {"gam": NetUnit.GRAM, "gram": NetUnit.GRAM, "lit": NetUnit.LITRE, "cai": NetUnit.PIECE,
              "chiec": NetUnit.PIECE, "qua": NetUnit.PIECE, "goi": NetUnit.PACK, "hop": NetUnit.PACK}  # fmt: skip
SYSTEM_WORDS = {"current": CodeSystem.CURRENT, "moi": CodeSystem.CURRENT, "hien_hanh": CodeSystem.CURRENT,
                "legacy": CodeSystem.LEGACY, "cu": CodeSystem.LEGACY, "truoc_2025": CodeSystem.LEGACY}  # fmt: skip
# What a product or producer made by an import may have when it is undone: its own packages and readiness.
UNDOABLE_WITH = {Sku, ProductReadiness, Product}


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    producers_created: int = 0
    producers_found: int = 0
    products_created: int = 0
    products_found: int = 0
    skus_created: int = 0
    errors: list[RowError] = field(default_factory=list)
    batch_id: int | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run, "valid": self.valid, "rows": self.rows, "batch_id": self.batch_id,
            "producers_created": self.producers_created, "producers_found": self.producers_found,
            "products_created": self.products_created, "products_found": self.products_found,
            "skus_created": self.skus_created, "errors": [e.as_dict() for e in self.errors[:MAX_ERRORS]],
            "error_count": len(self.errors),
        }  # fmt: skip


class _RowProblem(Exception):
    def __init__(self, errors: list[RowError]):
        self.errors = errors


def _choice(raw: str, values, words: dict) -> str | None:
    key = header_key(raw)
    if raw.strip().lower() in values:
        return raw.strip().lower()
    return words.get(key)


def _communes(body, cell) -> dict[str, list[AdministrativeUnit]]:
    """Every commune the file names, in one query: code → the communes with that code (one per system)."""
    codes = {cell_text(cell(cells, "commune_code")) for _number, cells in body}
    found: dict[str, list[AdministrativeUnit]] = defaultdict(list)
    for unit in AdministrativeUnit.objects.filter(level=Level.COMMUNE, code__in=codes - {""}):
        found[unit.code].append(unit)
    return found


def _messages(exc: Exception) -> dict[str, list[str]]:
    if isinstance(exc, ServiceError):
        return exc.fields or {"__all__": [exc.message]}
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return {name: [str(m) for e in errors for m in e.messages] for name, errors in exc.error_dict.items()}
    return {"__all__": [str(m) for m in getattr(exc, "messages", [str(exc)])]}


# Our service's field → the file's column, so that an error names what the officer can fix.
_FIELD_COLUMNS = {"legal_name": "producer_name", "kind": "producer_kind", "commune_as_captured": "commune_code",
                  "name": "product_name", "__all__": "row"}  # fmt: skip


def _row_errors(number: int, exc: Exception) -> list[RowError]:
    return [
        RowError(number, _FIELD_COLUMNS.get(name, name), message)
        for name, messages in _messages(exc).items()
        for message in messages
    ]


def catalog_import(*, user, data: bytes, file_name: str = "", dry_run: bool) -> ImportReport:
    """Check a file of producers and products and, unless `dry_run` or a row is wrong, register them all in one
    transaction, remembered as the user's last import (for `catalog_import_undo`)."""
    report = ImportReport(dry_run=dry_run)
    table = table_read_upload(data)
    if not table:
        report.errors.append(RowError(1, "file", _("The file is empty.")))
        return report
    columns, report.errors = _COLUMNS.header(table[0])
    if report.errors:
        return report
    body = _COLUMNS.body(table)
    report.rows = len(body)
    if len(body) > MAX_ROWS:
        report.errors.append(RowError(1, "file", _("At most %(n)s rows per file.") % {"n": MAX_ROWS}))
        return report

    def cell(cells, column):
        index = columns.get(column)
        return cells[index] if index is not None and index < len(cells) else None

    reach = user_reach(user)
    communes = _communes(body, cell)
    product_sets = {s.number: s for s in ProductSet.objects.order_by("number", "version")}  # newest version wins
    visible = scope_queryset(Producer.objects.all(), user)
    producers: dict[tuple, Producer] = {}
    products: dict[tuple, Product] = {}
    created_producers, created_products = [], []
    started = timezone.now()
    with transaction.atomic():
        for number, cells in body:
            try:
                with transaction.atomic():
                    done = _row(number, cells, cell, reach, communes, product_sets, visible, producers, products,
                                user)  # fmt: skip
            except _RowProblem as problem:
                report.errors.extend(problem.errors)
                continue
            except (ServiceError, ValidationError) as exc:
                report.errors.extend(_row_errors(number, exc))
                continue
            # Remembered only once the row's savepoint holds: a row rolled back leaves nothing to reuse.
            producers[done.producer_key], products[done.product_key] = done.producer, done.product
            if done.producer_created:
                created_producers.append(done.producer)
            if done.product_created:
                created_products.append(done.product)
            report.skus_created += 1
        report.producers_created, report.products_created = len(created_producers), len(created_products)
        report.producers_found = len({p.pk for p in producers.values()}) - report.producers_created
        report.products_found = len({p.pk for p in products.values()}) - report.products_created
        if dry_run or report.errors:
            transaction.set_rollback(True)
            return report
        batch = CatalogImport.objects.create(
            created_by=user, file_name=file_name[:200], rows=report.rows, started_at=started,
            producer_ids=[p.pk for p in created_producers], product_ids=[p.pk for p in created_products],
        )  # fmt: skip
        report.batch_id = batch.pk
    return report


@dataclass
class _Done:
    producer_key: tuple
    producer: Producer
    producer_created: bool
    product_key: tuple
    product: Product
    product_created: bool


def _row(number, cells, cell, reach, communes, product_sets, visible, producers, products, user) -> _Done:
    """Register one row's producer (or find it), product (or find it) and package; raises _RowProblem with the
    row's errors."""
    problems: list[RowError] = []

    def problem(column, message):
        problems.append(RowError(number, column, message))

    for column in REQUIRED:
        if cell_blank(cell(cells, column)):
            problem(column, _("This value is required."))
    kind = _choice(cell_text(cell(cells, "producer_kind")), ProducerKind.values, KIND_WORDS)
    if not cell_blank(cell(cells, "producer_kind")) and kind is None:
        problem(
            "producer_kind", _("Unknown kind. Use one of: %(values)s.") % {"values": ", ".join(ProducerKind.values)}
        )
    code = cell_text(cell(cells, "commune_code"))
    candidates = communes.get(code, [])
    raw_system = cell_text(cell(cells, "code_system"))
    if raw_system:
        system = _choice(raw_system, CodeSystem.values, SYSTEM_WORDS)
        if system is None:
            problem("code_system", _("Write current or legacy."))
        candidates = [u for u in candidates if u.system == system]
    commune = candidates[0] if len(candidates) == 1 else None
    if code and not candidates:
        problem("commune_code", _("No commune has this code."))
    elif len(candidates) > 1:
        problem("code_system", _("This code names a current commune and a former one: say which (current or legacy)."))
    set_number = cell_integer(cell(cells, "product_set"), minimum=1, maximum=99)
    product_set = product_sets.get(set_number)
    if not cell_blank(cell(cells, "product_set")) and product_set is None:
        problem("product_set", _("Give the number of an OCOP product set, from 1 to 26."))
    unit = _choice(cell_text(cell(cells, "net_unit")), NetUnit.values, UNIT_WORDS)
    if not cell_blank(cell(cells, "net_unit")) and unit is None:
        problem("net_unit", _("Unknown unit. Use one of: %(values)s.") % {"values": ", ".join(NetUnit.values)})
    quantity = cell_number(cell(cells, "net_quantity"))
    if not cell_blank(cell(cells, "net_quantity")) and (quantity is None or not quantity.is_finite() or quantity <= 0):
        problem("net_quantity", _("The net quantity must be a number above 0, such as 500 or 0,5."))
    numbers = {}
    for column, maximum, message in (
        ("price_vnd", 1_000_000_000, _("The price must be a whole number of đồng (VND has no decimals).")),
        ("weight_grams", 1_000_000, _("A whole number of grams, above 0.")),
        ("length_cm", 1000, _("A whole number of centimetres, above 0.")),
        ("width_cm", 1000, _("A whole number of centimetres, above 0.")),
        ("height_cm", 1000, _("A whole number of centimetres, above 0.")),
        ("stock", 10_000_000, _("A whole number, 0 or more.")),
    ):
        raw = cell(cells, column)
        if cell_blank(raw):
            continue
        numbers[column] = cell_integer(raw, minimum=0 if column == "stock" else 1, maximum=maximum)
        if numbers[column] is None:
            problem(column, message)
    if problems:
        raise _RowProblem(problems)

    producer_created = product_created = False
    name = cell_text(cell(cells, "producer_name"))
    tax_id = cell_text(cell(cells, "tax_id"))
    key = ("tax", tax_id) if tax_id else ("name", fold(name), commune.pk)
    producer = producers.get(key)
    if producer is None:
        existing = visible.filter(tax_id=tax_id) if tax_id else visible.filter(
            search_key=fold(name), commune_as_captured=commune
        )  # fmt: skip
        producer = existing.first()
        if producer is None:
            if tax_id and Producer.objects.filter(tax_id=tax_id).exists():
                raise _RowProblem(
                    [RowError(number, "tax_id", _("This tax id belongs to a producer outside your area."))]
                )
            producer, _warnings = producer_create(
                created_by=user, kind=kind, legal_name=name, commune_as_captured=commune,
                phone=cell_text(cell(cells, "phone")), tax_id=tax_id or None,
            )  # fmt: skip
            if not reach.covers_communes([producer.current_commune_id]):
                raise _RowProblem([RowError(number, "commune_code", _("This commune is outside your area."))])
            producer_created = True
    product_name = cell_text(cell(cells, "product_name"))
    product_key = (producer.pk, fold(product_name))
    product = products.get(product_key)
    if product is None:
        product = producer.products.filter(search_key=fold(product_name)).first()
        if product is None:
            product = product_create(producer=producer, name=product_name, product_set=product_set,
                                     description=cell_text(cell(cells, "description")))  # fmt: skip
            product_created = True
    sku_create(
        product=product, net_quantity=quantity, net_unit=unit, price_vnd=numbers["price_vnd"],
        weight_grams=numbers["weight_grams"], length_cm=numbers["length_cm"], width_cm=numbers["width_cm"],
        height_cm=numbers["height_cm"], stock=numbers.get("stock") or 0,
    )  # fmt: skip
    return _Done(key, producer, producer_created, product_key, product, product_created)


def _later_work(instances: list, allowed: set) -> list[str]:
    """What others have attached to these rows since: the related rows of any model not in `allowed`."""
    if not instances:
        return []
    found = []
    for relation in instances[0]._meta.related_objects:
        if relation.related_model in allowed or relation.many_to_many:
            continue
        rows = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": instances})
        if rows.exists():
            found.append(str(relation.related_model._meta.verbose_name_plural))
    return found


def catalog_import_last(*, user) -> CatalogImport | None:
    """The user's last import that is not undone: the one `catalog_import_undo` would undo."""
    return CatalogImport.objects.filter(created_by=user, undone_at__isnull=True).order_by("-pk").first()


@transaction.atomic
def catalog_import_undo(*, user) -> CatalogImport:
    """Remove what the user's last import created, if nobody has built on it since."""
    batch = (
        CatalogImport.objects.select_for_update()
        .filter(created_by=user, undone_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    if batch is None:
        raise ServiceError("not_found", _("You have no import to undo."), status_code=404)
    products = list(Product.objects.filter(pk__in=batch.product_ids))
    producers = list(Producer.objects.filter(pk__in=batch.producer_ids))
    changed = [p for p in [*products, *producers] if p.updated_at > batch.created_at]
    changed += [s.product for s in Sku.objects.filter(product__in=products, updated_at__gt=batch.created_at)]
    since = _later_work(products, UNDOABLE_WITH) + _later_work(producers, UNDOABLE_WITH)
    foreign = Product.objects.filter(producer__in=producers).exclude(pk__in=batch.product_ids)
    if changed or since or foreign.exists():
        what = ", ".join(since) or _("changes made since")
        raise ServiceError(
            "conflict",
            _("This import cannot be undone any more: %(what)s were added to what it created.") % {"what": what},
            status_code=409,
        )
    Product.objects.filter(pk__in=batch.product_ids).delete()
    Producer.objects.filter(pk__in=batch.producer_ids).delete()
    batch.undone_at = timezone.now()
    batch.save(update_fields=["undone_at"])
    return batch
