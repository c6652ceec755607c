"""Reading the operator's .csv or .xlsx into `(line, cells)` rows, with bounds on what a file may cost.

The file comes from outside, so its size is not ours to trust. A CSV is read one record at a time,
never whole, up to a row limit. A sheet is the harder case: calamine (about ten times faster than
openpyxl here) builds the whole rectangle from A1 to the last used cell, so one stray value at
XFD1048576 is 17 billion cells, whatever the file's 5 KB. The sheet's used range is therefore
checked against a cell budget from its declared <dimension> before calamine reads a cell, and again
from what calamine found (a <dimension> may be missing or lie). The importer runs all of this in a
child process under a memory limit (campaigns.importer_worker), which catches what those checks miss.
"""

from __future__ import annotations

import codecs
import csv
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook

from campaigns.importer_rows import ImportFileError

__all__ = ["ImportLimits", "read_table"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 .xls container
_SNIFF_BYTES = 65536


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """What one import may cost (IMPORT_MAX_ROWS, IMPORT_MAX_CELLS, IMPORT_MEMORY_MB)."""

    max_rows: int = 200_000  # records of a CSV, rows of a sheet (the header and blank ones count)
    # A sheet's used range, rows x columns counted from A1: what calamine allocates (~32 bytes a cell).
    max_cells: int = 5_000_000
    memory_mb: int = 512  # the address space of the reader process (campaigns.importer_worker)


def read_table(path: Path, limits: ImportLimits = ImportLimits()) -> Iterator[tuple[int, list[object]]]:
    """(line number as the operator sees it, cells) for every row of a .csv or .xlsx file.

    Whole-file problems (wrong type, unreadable, over the limits) raise ImportFileError: some
    here, some while the rows are iterated."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ImportFileError(f"{path.name}: tipo de archivo {suffix or '(ninguno)'!r} no admitido: use .csv o .xlsx")
    try:
        with path.open("rb") as file:
            head = file.read(8)
    except OSError as exc:
        raise ImportFileError(f"no se pudo leer {path.name}: {exc.strerror or exc}") from None
    if suffix == ".xlsx":
        return _read_xlsx(path, head, limits)
    return _read_csv(path, head, limits)


# ---------------------------------------------------------------- CSV


def _read_csv(path: Path, head: bytes, limits: ImportLimits) -> Iterator[tuple[int, list[object]]]:
    if head.startswith(_ZIP_MAGIC):
        raise ImportFileError(f"{path.name} es un archivo Excel (.xlsx), no un CSV: cambie su extensión a .xlsx")
    try:
        encoding = _csv_encoding(path)
    except OSError as exc:
        raise ImportFileError(f"no se pudo leer {path.name}: {exc.strerror or exc}") from None
    return _csv_rows(path, encoding, limits)


def _csv_encoding(path: Path) -> str:
    """Excel writes UTF-8 with a BOM ("CSV UTF-8") or the Windows code page; cp1252 is latin-1 plus
    the printable 0x80-0x9F range (€, curly quotes), latin-1 the last resort that never fails. Each
    candidate is tried over the whole file in 1 MiB steps: the file is never held whole."""
    with path.open("rb") as file:
        if b"\x00" in file.read(_SNIFF_BYTES):
            # UTF-16 exports and images alike: text CSVs never contain NUL bytes.
            raise ImportFileError(f"{path.name} no es un archivo CSV de texto (guárdelo como 'CSV UTF-8')")
        for encoding in ("utf-8-sig", "cp1252"):
            file.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            try:
                while chunk := file.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                continue
    return "latin-1"


def _csv_rows(path: Path, encoding: str, limits: ImportLimits) -> Iterator[tuple[int, list[object]]]:
    with path.open(encoding=encoding, newline="") as text:
        # Sniff on the header line: names never contain the separator, unlike free-text cells below.
        first_line = ""
        while line_text := text.readline(_SNIFF_BYTES):
            if line_text.strip():
                first_line = line_text
                break
        text.seek(0)
        delimiter = max((";", ",", "\t", "|"), key=first_line.count)
        if not first_line.count(delimiter):
            delimiter = ","
        reader = csv.reader(text, delimiter=delimiter)
        line = 1
        try:
            for records, row in enumerate(reader, start=1):
                if records > limits.max_rows:
                    raise ImportFileError(f"{path.name} tiene más de {limits.max_rows:,} filas, el límite de "
                                          "una carga: divídalo en archivos más pequeños")
                yield line, row  # a quoted cell may span lines: a record is numbered by its first line
                line = reader.line_num + 1
        except csv.Error as exc:
            raise ImportFileError(f"{path.name} línea {reader.line_num}: {exc}") from None


# ---------------------------------------------------------------- XLSX


def _read_xlsx(path: Path, head: bytes, limits: ImportLimits) -> Iterator[tuple[int, list[object]]]:
    if head.startswith(_OLE_MAGIC):
        raise ImportFileError(f"{path.name} es un archivo de Excel 97-2003 (.xls): guárdelo como .xlsx o CSV")
    if not head.startswith(_ZIP_MAGIC):
        raise ImportFileError(f"{path.name} no es un archivo .xlsx válido (no es un libro de Excel)")
    # Like any reader of cached values, calamine never hands over a formula's text. Opening reads the
    # workbook's index and shared strings, not the sheets.
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - zip, XML, calamine's own: any of them means a bad file
        raise ImportFileError(f"{path.name} no es un archivo .xlsx válido ({exc})") from None
    try:
        declared = _declared_extent(path)
        if declared is not None:
            _check_extent(path.name, *declared, limits)
    except BaseException:
        workbook.close()
        raise
    return _xlsx_rows(path.name, workbook, limits)


def _xlsx_rows(name: str, workbook: CalamineWorkbook, limits: ImportLimits) -> Iterator[tuple[int, list[object]]]:
    try:
        if not workbook.sheet_names:
            return
        # The first sheet is the data; later ones are usually instructions or pivot tables.
        sheet = workbook.get_sheet_by_index(0)
        if sheet.end is None:
            return  # an empty sheet
        _check_extent(name, sheet.end[0] + 1, sheet.end[1] + 1, limits)  # the <dimension> may have lied
        # iter_rows converts one row at a time. It starts at row 1 (empty rows above the data), so line
        # numbers match what Excel shows, but at the data's first column: every row shifts alike.
        for line, row in enumerate(sheet.iter_rows(), start=1):
            yield line, [None if cell == "" else cell for cell in row]
    except (ImportFileError, MemoryError):
        raise  # MemoryError: the reader's memory limit, reported as such by the worker, not as damage
    except Exception as exc:  # noqa: BLE001 - a damaged sheet fails in zlib or the XML parser
        raise ImportFileError(f"{name} es un archivo .xlsx dañado ({exc})") from None
    finally:
        workbook.close()


def _check_extent(name: str, rows: int, columns: int, limits: ImportLimits) -> None:
    if rows * columns > limits.max_cells:
        last = f"{_column_letters(columns)}{rows}"
        raise ImportFileError(
            f"{name}: hoja demasiado grande: {rows:,} filas x {columns:,} columnas (su rango usado llega a {last}) "
            f"supera el límite de una carga, {limits.max_cells:,} celdas; borre las celdas sueltas bajo la tabla o a "
            "su derecha (Ctrl+Fin en Excel lleva a la última) o divida el archivo")
    if rows > limits.max_rows:
        raise ImportFileError(f"{name}: hoja demasiado grande: {rows:,} filas supera el límite de una carga, "
                              f"{limits.max_rows:,} filas; divídala en archivos más pequeños")


# The first sheet's <dimension ref="A1:XFD1048576"/> comes before its cells, in the first bytes.
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?[A-Z]{1,3}\$?\d+(?::\$?([A-Z]{1,3})\$?(\d+))?"')
_MAX_INDEX_BYTES = 16 << 20  # workbook.xml and its relations: a few KB in any real workbook


def _declared_extent(path: Path) -> tuple[int, int] | None:
    """(rows, columns) from A1 to the end of the first sheet's declared used range; None when the
    workbook declares none (calamine's own extent is checked then, under the worker's memory limit)."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = _first_sheet_member(archive)
            if member is None:
                return None
            with archive.open(member) as sheet:
                match = _DIMENSION.search(sheet.read(_SNIFF_BYTES))
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ElementTree.ParseError, ValueError) as exc:
        raise ImportFileError(f"{path.name} no es un archivo .xlsx válido ({exc})") from None
    if match is None or match[1] is None:
        return None  # no dimension, or a single cell: nothing to fear
    return int(match[2]), _column_number(match[1].decode())


def _first_sheet_member(archive: zipfile.ZipFile) -> str | None:
    """The zip member of the workbook's first sheet (the one calamine reads), through workbook.xml's
    relation ids; None when the workbook does not say it the usual way."""
    names = set(archive.namelist())
    if not {"xl/workbook.xml", "xl/_rels/workbook.xml.rels"} <= names:
        return None
    if any(archive.getinfo(n).file_size > _MAX_INDEX_BYTES for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")):
        return None
    sheet = ElementTree.fromstring(archive.read("xl/workbook.xml")).find("{*}sheets/{*}sheet")
    if sheet is None:
        return None
    rel_id = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next((r.get("Target", "") for r in rels.findall("{*}Relationship") if r.get("Id") == rel_id), "")
    if not target:
        return None
    member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    return member if member in names else None


def _column_number(letters: str) -> int:
    """'A' -> 1, 'CV' -> 100, 'XFD' -> 16384."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
