"""What an imported file may cost: a sheet's used range is checked before it is read, a CSV is
streamed up to a row limit, and the reading happens in a child process whose death is an import
error, never the caller's. No database: the child's answer (counts, errors, COPY payloads) is the
import's whole input to PostgreSQL."""

from __future__ import annotations

import gc
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from campaigns.importer_files import ImportLimits, read_table
from campaigns.importer_rows import ImportFileError
from campaigns.importer_worker import prepare_in_child

HEADER = ["Nombre", "RUT", "Teléfono", "Monto"]
GOOD = [
    ["Ana Pérez", "12.345.678-5", "+56 9 8765 4321", 1000],
    ["Juan Soto", "11.111.111-1", "987654321", 2000],
    ["Eva Rojas", "7.654.321-6", "+56 9 2345 6789", 500],
]
BAD = ["Dígito Malo", "12.345.678-3", "+56 9 8765 4321", 10]  # a wrong RUT check digit: line 4
RSS_GROWTH_MAX_KB = 5 * 1024


def workbook(path: Path, stray: str | None = None) -> Path:
    """The header, two good rows, a bad one (line 4), a good one, and maybe one stray value far away."""
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [HEADER, GOOD[0], GOOD[1], BAD, GOOD[2]]:
        sheet.append(row)
    if stray:
        sheet[stray] = "nota suelta"
    book.save(path)
    return path


def rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)[1])


async def prepare(path: Path, limits: ImportLimits | None = None, **kwargs):
    return await prepare_in_child(path, company="ACME", country="CL", timezone=None,
                                  limits=limits or ImportLimits(), **kwargs)


@pytest.fixture
async def rss_baseline(tmp_path: Path) -> int:
    """The parent's RSS once the child machinery has run once (its first use imports and starts things)."""
    await prepare(workbook(tmp_path / "warm-up.xlsx"))
    gc.collect()
    return rss_kb()


async def test_a_workbook_with_a_bad_row_loads_its_good_rows_and_names_the_bad_line(tmp_path):
    seen: list[int] = []
    prepared = await prepare(workbook(tmp_path / "cartera.xlsx"), progress=seen.append)
    parsed = prepared.parsed
    assert (parsed.rows_read, parsed.rows_rejected) == (4, 1)
    assert [(e.line, e.warning) for e in parsed.errors] == [(4, False)]
    assert "el dígito verificador del RUT debería ser 5, no 3" in parsed.errors[0].reason
    assert b"".join(prepared.debtors).count(b"\n") == 3 and prepared.companies == ["ACME"]
    assert seen == [4]  # the child's count, delivered here


async def test_a_stray_value_at_cv20000_loads_the_good_rows_and_costs_this_process_nothing(tmp_path, rss_baseline):
    # 20,000 rows x 100 columns is inside the cell budget, so the sheet is read (in the child, where
    # the 2 million cells cost their memory). The good rows load; the stray note's row is reported by
    # its line like any other row without a name, RUT or phone, which tells the operator where it is.
    path = workbook(tmp_path / "nota.xlsx", stray="CV20000")
    assert path.stat().st_size < 10_000
    prepared = await prepare(path)
    grown = rss_kb() - rss_baseline
    parsed = prepared.parsed
    assert (parsed.rows_read, parsed.rows_rejected) == (5, 2)
    assert [e.line for e in parsed.errors] == [4, 20000]
    assert "falta el nombre" in parsed.errors[1].reason
    assert b"".join(prepared.debtors).count(b"\n") == 3
    assert grown < RSS_GROWTH_MAX_KB, f"the parent grew by {grown} kB"


async def test_a_stray_value_at_xfd1048576_is_refused_before_a_cell_is_read(tmp_path, rss_baseline):
    path = workbook(tmp_path / "extremo.xlsx", stray="XFD1048576")
    assert path.stat().st_size < 10_000
    with pytest.raises(ImportFileError) as refused:
        await prepare(path)
    grown = rss_kb() - rss_baseline
    message = str(refused.value)
    assert "hoja demasiado grande: 1,048,576 filas x 16,384 columnas" in message
    assert "supera el límite de una carga, 5,000,000 celdas" in message and "XFD1048576" in message
    assert grown < RSS_GROWTH_MAX_KB, f"the parent grew by {grown} kB"


def test_the_reader_refuses_it_from_the_declared_range_without_reading_the_sheet(tmp_path):
    path = workbook(tmp_path / "extremo.xlsx", stray="XFD1048576")
    before = rss_kb()
    with pytest.raises(ImportFileError, match="hoja demasiado grande"):
        read_table(path)  # raised at once, before any row: calamine never built the sheet
    assert rss_kb() - before < RSS_GROWTH_MAX_KB


def _without_dimension(source: Path, target: Path) -> Path:
    """The same workbook with its <dimension> claiming A1:D5: a writer may omit it, or lie."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:D5"', data)
            zout.writestr(item, data)
    return target


async def test_a_lying_dimension_is_caught_after_the_read_and_in_the_child(tmp_path, rss_baseline):
    path = _without_dimension(workbook(tmp_path / "a.xlsx", stray="CV20000"), tmp_path / "liar.xlsx")
    small = ImportLimits(max_cells=100_000)
    with pytest.raises(ImportFileError, match="hoja demasiado grande: 20,000 filas x 100 columnas"):
        await prepare(path, small)
    assert rss_kb() - rss_baseline < RSS_GROWTH_MAX_KB


async def test_a_reader_that_runs_out_of_memory_is_an_import_error_not_a_crash(tmp_path, rss_baseline):
    # With the cell budget lifted, the XFD1048576 sheet makes calamine ask for 17 billion cells: the
    # child's memory limit stops it (a MemoryError or an abort), and the parent only reports it.
    path = workbook(tmp_path / "extremo.xlsx", stray="XFD1048576")
    unbounded = ImportLimits(max_rows=10**7, max_cells=10**12, memory_mb=512)
    with pytest.raises(ImportFileError, match="memoria"):
        await prepare(path, unbounded)
    assert rss_kb() - rss_baseline < RSS_GROWTH_MAX_KB
    prepared = await prepare(workbook(tmp_path / "after.xlsx"))  # and the next import works
    assert prepared.parsed.rows_read == 4


def _csv(path: Path, rows: int) -> Path:
    lines = ["nombre;rut;telefono"] + [f"D{i};11.111.111-1;98765{i:04d}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_csv_is_read_a_record_at_a_time_up_to_the_row_limit(tmp_path):
    rows = read_table(_csv(tmp_path / "d.csv", 20), ImportLimits(max_rows=10))
    first = [next(rows) for _ in range(10)]  # the first records come before the file is judged whole
    assert [line for line, _ in first] == list(range(1, 11))
    with pytest.raises(ImportFileError, match="más de 10 filas, el límite de una carga"):
        next(rows)


async def test_a_csv_over_the_row_limit_is_refused_whole(tmp_path):
    with pytest.raises(ImportFileError, match="más de 10 filas"):
        await prepare(_csv(tmp_path / "d.csv", 20), ImportLimits(max_rows=10))
    prepared = await prepare(_csv(tmp_path / "e.csv", 9), ImportLimits(max_rows=10))
    assert prepared.parsed.rows_read == 9


async def test_a_bad_company_is_still_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="falta la empresa") as raised:
        await prepare_in_child(_csv(tmp_path / "d.csv", 1), company=" ", country="CL", timezone=None,
                               limits=ImportLimits())
    assert not isinstance(raised.value, ImportFileError)
