"""Reading a table a person uploads (CSV or XLSX) for an import: the cells, the header matched by name, and the
problems of each row named by row and column, so that one file can be checked whole and every problem shown at
once. Used by the order import (sales.importing) and the catalogue import (catalog.importing).

Header names are compared without accents, case or punctuation, so "Mã số thuế", "ma so thue" and "MA_SO_THUE"
are the same column.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from unidecode import unidecode

from .errors import ServiceError

MAX_BYTES = 5 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class RowError:
    row: int  # as the spreadsheet numbers it: the header is row 1
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


class TableFileError(Exception):
    """The file itself cannot be read (format, encoding): the whole import is refused, naming `file`."""


def header_key(text) -> str:
    return re.sub(r"[^a-z0-9]+", "_", unidecode(str(text or "")).lower()).strip("_")


def table_read(data: bytes) -> list[list]:
    """The cells of the first sheet (XLSX) or of the CSV (UTF-8, comma, semicolon or tab), as rows."""
    if data.startswith(XLSX_MAGIC):
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
            raise TableFileError(_("The file is not a readable XLSX workbook.")) from exc
        try:
            sheet = book.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableFileError(_("The file is neither an XLSX workbook nor a CSV file in UTF-8.")) from exc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


def table_read_upload(data: bytes) -> list[list]:
    """`table_read` for a service: a file too large or unreadable is a 400 naming `file`."""
    if len(data) > MAX_BYTES:
        raise ServiceError("file_too_large", _("The file is larger than 5 MB."), fields={"file": [_("At most 5 MB.")]})
    try:
        return table_read(data)
    except TableFileError as exc:
        raise ServiceError("unreadable_file", str(exc), fields={"file": [str(exc)]}) from exc


def cell_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number cell holding a code
    return str(value).strip() if value is not None else ""


def cell_number(value) -> Decimal | None:
    """A number as people write it: 185.000 and 185,000 are thousands (đồng have no decimals), 0,5 is a half."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    raw = re.sub(r"\s|₫|đ|vnd", "", str(value), flags=re.IGNORECASE)
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", raw):
        raw = re.sub(r"[.,]", "", raw)
    try:
        return Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None


def cell_integer(value, *, minimum: int, maximum: int) -> int | None:
    number = cell_number(value)
    if number is None or not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number) if minimum <= number <= maximum else None


class Columns:
    """The columns an import knows: its name for each → the header names accepted for it."""

    def __init__(self, names: dict[str, tuple[str, ...]], required: tuple[str, ...]):
        self.names, self.required = names, required
        self._aliases = {header_key(alias): column for column, aliases in names.items() for alias in aliases}

    def header(self, cells: list) -> tuple[dict[str, int], list[RowError]]:
        """Where each known column is in the header row, and an error for each required one missing."""
        found: dict[str, int] = {}
        for index, name in enumerate(cells):
            column = self._aliases.get(header_key(name))
            if column and column not in found:
                found[column] = index
        errors = [
            RowError(1, column, _("This column is missing. Accepted names: %(names)s.")
                     % {"names": ", ".join(self.names[column])})
            for column in self.required
            if column not in found
        ]  # fmt: skip
        return found, errors

    @staticmethod
    def body(table: list[list]) -> list[tuple[int, list]]:
        """The rows after the header that hold anything, with their spreadsheet numbers."""
        return [(number, cells) for number, cells in enumerate(table[1:], start=2) if not all(map(cell_blank, cells))]
