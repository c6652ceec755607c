"""How a calls export is written: a CSV that a Spanish-locale Excel opens, an .xlsx, or JSON for programs.

An operator in Santiago, Buenos Aires or Bogotá double-clicks the file. A Spanish-locale Excel reads
CSV with `;` between fields and `,` as the decimal mark, and takes a file without a byte-order mark for
the system's code page: a comma-separated UTF-8 file opened as one column of mangled accents. So the CSV
here is `;`-separated, starts with a BOM, writes amounts with a decimal comma, and its headers and
values are in Spanish. The .xlsx needs none of that (typed cells). JSON keeps the field names and raw
values for programs.

A cell that starts like a formula (= + - @) is never run: in the CSV it is quoted as text with an
apostrophe (`campaigns.cells.neutralise`, the importer's rule), in the .xlsx it is stored as a string
cell, so the name reads exactly as it was.

Each writer is fed batches of rows in a worker thread (`api.exports.Exports.spool`) and writes into the
export's spool file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from api.endpoint import dumps
from campaigns.cells import neutralise

Rows = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the field in the export's rows (and the JSON name)
    header: str  # what the operator reads
    width: int = 14  # .xlsx column width, in characters


COLUMNS = (
    Column("id", "ID llamada", 38), Column("created_at", "Fecha (UTC)", 20), Column("direction", "Dirección", 10),
    Column("campaign", "Campaña", 24), Column("national_id", "RUT / documento"), Column("debtor", "Deudor", 28),
    Column("remote_number", "Teléfono"), Column("outcome", "Resultado de la llamada", 18),
    Column("result", "Resultado de la gestión", 18), Column("hangup_cause_txt", "Causa de corte", 18),
    Column("duration_s", "Duración (s)", 10), Column("cost", "Costo", 10),
    Column("promised_date", "Fecha comprometida", 14), Column("promised_amount", "Monto comprometido"),
    Column("sentiment", "Sentimiento", 12), Column("interest_level", "Nivel de interés", 10),
    Column("interest_score", "Interés (1 a 5)", 10),  # a sales lead's; empty on a collections call
    Column("next_action", "Próxima acción", 28), Column("needs_human", "Requiere ejecutivo", 10),
    Column("summary", "Resumen", 60),
)

_DIRECTION = {"outbound": "saliente", "inbound": "entrante"}
_OUTCOME = {"answered": "contestada", "busy": "ocupado", "no_answer": "no contesta", "failed": "fallida",
            "congestion": "congestión", "invalid_number": "número inválido", "voicemail": "buzón de voz",
            "silent": "sin audio"}
_WORDS = {"direction": _DIRECTION, "outcome": _OUTCOME}


class ExportWriter(Protocol):
    media_type: str
    extension: str

    def add(self, rows: Rows) -> None: ...  # called in a worker thread, batch after batch

    def finish(self) -> None: ...  # after the last batch (or none): the file is complete


def _spanish(key: str, value: object) -> object:
    """A value as the Spanish reader expects it, whatever the file format."""
    if isinstance(value, bool):
        return "Sí" if value else "No"
    if key in _WORDS and isinstance(value, str):
        return _WORDS[key].get(value, value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None, microsecond=0)  # the header says UTC
    if value is None or isinstance(value, str | int | float | Decimal | date):
        return value
    return str(value)  # a call's uuid


class SpanishExcelCsv:
    """`;`-separated UTF-8 with a BOM, decimal comma, Spanish headers and values."""

    media_type = "text/csv"
    extension = "csv"

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._file.write("\ufeff".encode())
        self._rows([{c.key: c.header for c in COLUMNS}], raw=True)

    def add(self, rows: Rows) -> None:
        self._rows(rows)

    def finish(self) -> None:
        pass

    def _rows(self, rows: Rows, raw: bool = False) -> None:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        for row in rows:
            writer.writerow([row.get(c.key) if raw else _csv_cell(c.key, row.get(c.key)) for c in COLUMNS])
        self._file.write(out.getvalue().encode())


def _csv_cell(key: str, value: object) -> str:
    value = _spanish(key, value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return f"{value:.2f}".replace(".", ",") if isinstance(value, Decimal) else f"{value:.1f}".replace(".", ",")
    return neutralise(str(value))


class XlsxWorkbook:
    """One sheet, typed cells (numbers are numbers, dates are dates), bold frozen headers, a filter."""

    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._book = Workbook(write_only=True)  # rows streamed to a temporary file, not kept in memory
        self._sheet = self._book.create_sheet("Llamadas")
        self._sheet.freeze_panes = "A2"
        for i, column in enumerate(COLUMNS):
            self._sheet.column_dimensions[_letter(i)].width = column.width
        bold = Font(bold=True)
        self._sheet.append([self._cell(c.header, font=bold) for c in COLUMNS])
        self._count = 0

    def add(self, rows: Rows) -> None:
        for row in rows:
            self._sheet.append([self._cell(_spanish(c.key, row.get(c.key)), key=c.key) for c in COLUMNS])
        self._count += len(rows)

    def finish(self) -> None:
        self._sheet.auto_filter.ref = f"A1:{_letter(len(COLUMNS) - 1)}{self._count + 1}"
        self._book.save(self._file)

    def _cell(self, value: object, *, key: str = "", font: Font | None = None) -> WriteOnlyCell:
        cell = WriteOnlyCell(self._sheet, value)
        if isinstance(value, str):
            cell.data_type = "s"  # text, even when it starts like a formula: shown, never run
        elif isinstance(value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
        elif isinstance(value, date):
            cell.number_format = "yyyy-mm-dd"
        elif key in ("cost", "promised_amount"):
            cell.number_format = "#,##0.00"
        if font is not None:
            cell.font = font
        return cell


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class JsonItems:
    """`{"items": [...]}` with the rows' own field names and raw values, for programs."""

    media_type = "application/json"
    extension = "json"

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._first = True

    def add(self, rows: Rows) -> None:
        if rows:
            text = ", ".join(dumps({c.key: row.get(c.key) for c in COLUMNS}) for row in rows)
            self._file.write((('{"items": [' if self._first else ", ") + text).encode())
            self._first = False

    def finish(self) -> None:
        self._file.write(b'{"items": []}' if self._first else b"]}")


WRITERS: dict[str, type[SpanishExcelCsv | XlsxWorkbook | JsonItems]] = {
    "csv": SpanishExcelCsv, "xlsx": XlsxWorkbook, "json": JsonItems}
