"""Debtor import from the operator's .csv or .xlsx: validate every row, load the good ones in bulk.

Two halves. Reading and validating (campaigns.importer_rows) is CPU work (phonenumbers alone is
~25 us a number), so it runs in a worker thread and the event loop, which also carries live
calls, never stalls. Loading is set-based: the rows are COPYed into temporary staging tables and
merged with a handful of `INSERT ... ON CONFLICT` statements in one transaction, so 100,000
debtors cost a few round trips, a failed import leaves nothing half-loaded, and re-importing the
same file updates debtors and phones instead of duplicating them.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool
from python_calamine import CalamineWorkbook

from campaigns.importer_rows import ImportFileError, ParseResult, RowError, parse_rows

__all__ = ["DebtorImporter", "ImportFileError", "ImportReport", "RowError", "read_table"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 .xls container
_COPY_CHUNK = 1 << 20


# ---------------------------------------------------------------- reading files


def read_table(path: Path) -> Iterator[tuple[int, list[object]]]:
    """(line number as the operator sees it, cells) for every row of a .csv or .xlsx file."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ImportFileError(f"unsupported file type {suffix or '(none)'!r} for {path.name}: use .csv or .xlsx")
    try:
        with path.open("rb") as file:
            head = file.read(8)
    except OSError as exc:
        raise ImportFileError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if suffix == ".xlsx":
        return _read_xlsx(path, head)
    return _read_csv(path, head)


def _read_csv(path: Path, head: bytes) -> Iterator[tuple[int, list[object]]]:
    if head.startswith(_ZIP_MAGIC):
        raise ImportFileError(f"{path.name} is an Excel (.xlsx) file, not a CSV: rename it .xlsx")
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        # UTF-16 exports and images alike: text CSVs never contain NUL bytes.
        raise ImportFileError(f"{path.name} is not a text CSV file (save it as 'CSV UTF-8')")
    # Excel writes UTF-8 with a BOM ("CSV UTF-8") or the Windows code page; cp1252 is latin-1
    # plus the printable 0x80-0x9F range (€, curly quotes), latin-1 the last resort that never fails.
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    first_line = next((ln for ln in io.StringIO(text) if ln.strip()), "")
    # Sniff on the header line: names never contain the separator, unlike free-text cells below.
    delimiter = max((";", ",", "\t", "|"), key=first_line.count)
    if not first_line.count(delimiter):
        delimiter = ","
    return _csv_rows(path.name, text, delimiter)


def _csv_rows(name: str, text: str, delimiter: str) -> Iterator[tuple[int, list[object]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for row in reader:
            yield line, row  # a quoted cell may span lines: a record is numbered by its first line
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(f"{name} line {reader.line_num}: {exc}") from None


def _read_xlsx(path: Path, head: bytes) -> Iterator[tuple[int, list[object]]]:
    if head.startswith(_OLE_MAGIC):
        raise ImportFileError(f"{path.name} is an old Excel 97-2003 (.xls) file: save it as .xlsx or CSV")
    if not head.startswith(_ZIP_MAGIC):
        raise ImportFileError(f"{path.name} is not a valid .xlsx file (it is not an Excel workbook)")
    # calamine (Rust) reads a sheet about ten times faster than openpyxl (bench/import_speed.py), and
    # like any reader of cached values it never hands over a formula's text.
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - zip, XML, calamine's own: any of them means a bad file
        raise ImportFileError(f"{path.name} is not a valid .xlsx file ({exc})") from None
    return _xlsx_rows(path.name, workbook)


def _xlsx_rows(name: str, workbook: CalamineWorkbook) -> Iterator[tuple[int, list[object]]]:
    try:
        if not workbook.sheet_names:
            return
        # The first sheet is the data; later ones are usually instructions or pivot tables.
        # skip_empty_area=False keeps leading empty rows, so line numbers match what Excel shows.
        sheet = workbook.get_sheet_by_index(0)
        for line, row in enumerate(sheet.to_python(skip_empty_area=False), start=1):
            yield line, [None if cell == "" else cell for cell in row]
    except ImportFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet fails in zlib or the XML parser
        raise ImportFileError(f"{name} is a damaged .xlsx file ({exc})") from None
    finally:
        workbook.close()


# ---------------------------------------------------------------- the report


@dataclass(slots=True)
class ImportReport:
    import_id: int
    source: str
    rows_read: int
    debtors_new: int
    debtors_updated: int
    rows_rejected: int
    errors: list[RowError] = field(default_factory=list)

    def summary(self, max_lines: int = 20) -> str:
        """A few lines for the CLI: the counts, then the first problems with their line numbers."""
        text = [(
            f"import {self.import_id} ({self.source}): {self.rows_read} rows read, {self.debtors_new} new debtors, "
            f"{self.debtors_updated} updated, {self.rows_rejected} rows rejected"
        )]
        for error in self.errors[:max_lines]:
            text.append(f"  line {error.line}: {'warning: ' if error.warning else ''}{error.reason}")
        if len(self.errors) > max_lines:
            text.append(f"  ... and {len(self.errors) - max_lines} more (table import_errors, import_id {self.import_id})")
        return "\n".join(text)


# ---------------------------------------------------------------- loading


_STAGING = """
CREATE TEMP TABLE import_debtors (
    company text NOT NULL, national_id text NOT NULL, full_name text NOT NULL, country text NOT NULL,
    timezone text NOT NULL, variables jsonb NOT NULL, amount_owed numeric(14, 2), installments_owed integer,
    due_date date, max_date date, delinquency_type text NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE import_phones (company text NOT NULL, national_id text NOT NULL, e164 text NOT NULL,
                                 position smallint NOT NULL) ON COMMIT DROP;
CREATE TEMP TABLE import_lines (line integer NOT NULL, reason text NOT NULL) ON COMMIT DROP;
"""
_DEBTOR_COLUMNS = ("company", "national_id", "full_name", "country", "timezone", "variables", "amount_owed",
                   "installments_owed", "due_date", "max_date", "delinquency_type")
# Optional columns only overwrite stored values when the file has that column: a phones-only
# update file must not blank the amounts a previous file brought.
_OPTIONAL_COLUMNS = ("amount_owed", "installments_owed", "due_date", "max_date", "delinquency_type")

_UPSERT_DEBTORS = """
WITH upserted AS (
    INSERT INTO debtors AS d (company_id, national_id, full_name, country, timezone, variables, amount_owed,
                              installments_owed, due_date, max_date, delinquency_type, import_id)
    SELECT c.id, s.national_id, s.full_name, s.country, s.timezone, s.variables, s.amount_owed,
           s.installments_owed, s.due_date, s.max_date, s.delinquency_type, {import_id}
    FROM import_debtors s JOIN companies c ON c.name = s.company
    ORDER BY c.id, s.national_id  -- one lock order for every import: concurrent imports cannot deadlock
    ON CONFLICT (company_id, national_id) DO UPDATE SET
        full_name = EXCLUDED.full_name, country = EXCLUDED.country, timezone = EXCLUDED.timezone,
        variables = d.variables || EXCLUDED.variables, import_id = EXCLUDED.import_id, updated_at = now()
        {optional}
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
"""
# Existing phones keep their status (a number marked wrong stays wrong); only the order changes.
_UPSERT_PHONES = """
INSERT INTO phones AS p (debtor_id, e164, position)
SELECT d.id, s.e164, s.position
FROM import_phones s
JOIN companies c ON c.name = s.company
JOIN debtors d ON d.company_id = c.id AND d.national_id = s.national_id
ORDER BY d.id, s.e164
ON CONFLICT (debtor_id, e164) DO UPDATE SET position = EXCLUDED.position
    WHERE p.position IS DISTINCT FROM EXCLUDED.position
"""


@dataclass(slots=True)
class _Prepared:
    """Everything the worker thread produced: the parse result and the COPY payloads."""

    parsed: ParseResult
    companies: list[str]
    debtors: list[bytes]
    phones: list[bytes]
    lines: list[bytes]


class DebtorImporter:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def import_file(
        self,
        path: str | Path,
        *,
        company: str,
        country: str = "CL",
        timezone: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import one file for `company`. Raises ImportFileError when the file as a whole is
        unusable (nothing is loaded then); otherwise bad rows are in the report and the rest load."""
        path = Path(path)
        loop = asyncio.get_running_loop()
        # The callback runs on the loop, never in the worker thread: callers may touch loop state.
        from_thread = (lambda rows: loop.call_soon_threadsafe(progress, rows)) if progress else None
        prepared = await asyncio.to_thread(_prepare, path, company, country, timezone, from_thread)
        parsed = prepared.parsed
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO companies (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING",
                (prepared.companies,),
            )
            cur = await conn.execute(
                "INSERT INTO imports (source, company_id) SELECT %s, id FROM companies WHERE name = %s RETURNING id",
                (path.name, company.strip()),
            )
            (import_id,) = await cur.fetchone()
            await conn.execute(_STAGING)
            await _copy(conn, f"COPY import_debtors ({', '.join(_DEBTOR_COLUMNS)}) FROM STDIN", prepared.debtors)
            await _copy(conn, "COPY import_phones (company, national_id, e164, position) FROM STDIN", prepared.phones)
            await _copy(conn, "COPY import_lines (line, reason) FROM STDIN", prepared.lines)
            await conn.execute("ANALYZE import_debtors; ANALYZE import_phones")
            optional = sql.SQL("").join(
                sql.SQL(", {col} = EXCLUDED.{col}").format(col=sql.Identifier(col))
                for col in _OPTIONAL_COLUMNS if col in parsed.present_fields
            )
            cur = await conn.execute(
                sql.SQL(_UPSERT_DEBTORS).format(import_id=sql.Literal(import_id), optional=optional)
            )
            debtors_new, debtors_updated = await cur.fetchone()
            await conn.execute(_UPSERT_PHONES)
            await conn.execute(
                "INSERT INTO import_errors (import_id, line, reason) SELECT DISTINCT %s, line, reason FROM import_lines",
                (import_id,),
            )
            await conn.execute(
                """UPDATE imports SET finished_at = clock_timestamp(), rows_read = %s, debtors_new = %s,
                          debtors_updated = %s, rows_rejected = %s WHERE id = %s""",
                (parsed.rows_read, debtors_new, debtors_updated, parsed.rows_rejected, import_id),
            )
        return ImportReport(import_id=import_id, source=path.name, rows_read=parsed.rows_read,
                            debtors_new=debtors_new, debtors_updated=debtors_updated,
                            rows_rejected=parsed.rows_rejected, errors=parsed.errors)


async def _copy(conn: AsyncConnection, statement: str, chunks: list[bytes]) -> None:
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        for chunk in chunks:
            await copy.write(chunk)


# ---------------------------------------------------------------- the worker thread


def _prepare(path: Path, company: str, country: str, timezone: str | None,
             progress: Callable[[int], None] | None) -> _Prepared:
    """Read, validate, and render the COPY payloads: all the CPU work, off the event loop."""
    parsed = parse_rows(read_table(path), company=company, country=country, timezone=timezone,
                        progress=progress)
    companies = sorted({company.strip()} | {d.company for d in parsed.debtors})
    debtors = _CopyBuffer()
    phones = _CopyBuffer()
    for d in parsed.debtors:
        debtors.row((d.company, d.national_id, d.full_name, d.country, d.timezone, d.variables_json(),
                     d.amount_owed, d.installments_owed, d.due_date, d.max_date, d.delinquency_type))
        for position, e164 in enumerate(d.phones):
            phones.row((d.company, d.national_id, e164, position))
    lines = _CopyBuffer()
    for error in parsed.errors:
        lines.row((error.line, f"warning: {error.reason}" if error.warning else error.reason))
    return _Prepared(parsed, companies, debtors.chunks(), phones.chunks(), lines.chunks())


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class _CopyBuffer:
    """COPY text format (tab-separated, backslash escapes, \\N for NULL), in ~1 MiB chunks."""

    def __init__(self) -> None:
        self._done: list[bytes] = []
        self._lines: list[str] = []
        self._size = 0

    def row(self, values: tuple[object, ...]) -> None:
        line = "\t".join("\\N" if v is None else str(v).translate(_COPY_ESCAPES) for v in values) + "\n"
        self._lines.append(line)
        self._size += len(line)
        if self._size >= _COPY_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._done.append("".join(self._lines).encode())
            self._lines, self._size = [], 0

    def chunks(self) -> list[bytes]:
        self._flush()
        return self._done
