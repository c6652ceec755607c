"""The debtor import end to end on a real PostgreSQL: files in, debtors, phones and the import's
record out. Each test imports for its own company, so tests sharing the session's database never
see each other's debtors."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from campaigns.importer import DebtorImporter, ImportFileError

pytestmark = pytest.mark.db

HEADER = ["Nombre", "RUT", "Teléfono", "Teléfono 2", "Monto", "Cuotas", "Vencimiento", "Tipo mora", "Producto"]


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8-sig") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


async def debtors_of(pool, company: str) -> dict[str, dict]:
    """national_id -> the debtor's stored fields and its phones in rotation order."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT d.national_id, d.full_name, d.country, d.timezone, d.variables, d.amount_owed,
                      d.installments_owed, d.due_date, d.max_date, d.delinquency_type,
                      array_agg(p.e164 ORDER BY p.position, p.id) FILTER (WHERE p.id IS NOT NULL) AS phones
               FROM debtors d JOIN companies c ON c.id = d.company_id
               LEFT JOIN phones p ON p.debtor_id = d.id
               WHERE c.name = %s GROUP BY d.id""",
            (company,),
        )
        names = [col.name for col in cur.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in await cur.fetchall()}


async def import_record(pool, import_id: int) -> tuple[tuple, list[tuple]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            """SELECT source, rows_read, debtors_new, debtors_updated, rows_rejected, finished_at IS NOT NULL
               FROM imports WHERE id = %s""", (import_id,))
        record = await cur.fetchone()
        cur = await conn.execute("SELECT line, reason FROM import_errors WHERE import_id = %s ORDER BY line, reason",
                                 (import_id,))
        return record, await cur.fetchall()


async def test_a_malformed_file_loads_its_good_rows_and_numbers_the_bad_ones(db_pool, company, tmp_path):
    path = write_csv(tmp_path / "cartera enero.csv", [
        ";".join(HEADER),
        "Ana Pérez;12.345.678-5;+56 9 8765 4321;+56 9 9876 5432;$ 1.234.567;3;31-01-2024;temprana;tarjeta",
        "Dígito Malo;12.345.678-3;+56 9 8765 4321;;;;;;",
        "Sin Fono;11.111.111-1;912;hola;;;;;",
        "Fono Malo;22.222.222-2;987654321;912;1000;x;2024-02-30;;",
        "=HYPERLINK(\"http://evil\");7.654.321-6;+56 9 2345 6789;;500;1;2024-03-01;tardia;@SUM(A1)",
        "Ana Repetida;12345678-5;22 345 6789;;2.000;;;;",
        ";;;;;;;;",
        "Segundo Fono Malo;9.876.543-3;+56 9 5555 1234;+56 9 1812 3456;;;;;",
    ])
    report = await DebtorImporter(db_pool).import_file(path, company=company)

    assert (report.rows_read, report.rows_rejected, report.debtors_new, report.debtors_updated) == (7, 3, 3, 0)
    rejected = {e.line: e.reason for e in report.errors if not e.warning}
    assert sorted(rejected) == [3, 4, 5]
    assert "el dígito verificador del RUT debería ser 5, no 3" in rejected[3]
    assert "ningún teléfono válido" in rejected[4]
    assert "cuotas 'x'" in rejected[5] and "vencimiento '2024-02-30'" in rejected[5]
    warnings = {(e.line, e.reason.split(":")[0]) for e in report.errors if e.warning}
    assert (6, "nombre parece una fórmula de planilla") in warnings
    assert (6, "Producto parece una fórmula de planilla") in warnings
    assert (7, "mismo documento que la línea 2") in warnings
    assert any(line == 9 and "+569*****456" in reason for line, reason in warnings)

    stored = await debtors_of(db_pool, company)
    assert sorted(stored) == ["12345678-5", "7654321-6", "9876543-3"]
    ana = stored["12345678-5"]
    assert ana["full_name"] == "Ana Repetida"
    assert ana["phones"] == ["+56987654321", "+56998765432", "+56223456789"]
    assert (ana["amount_owed"], ana["installments_owed"], ana["due_date"]) == (Decimal("2000.00"), 3, date(2024, 1, 31))
    assert ana["variables"] == {"Producto": "tarjeta"} and ana["delinquency_type"] == "temprana"
    assert stored["7654321-6"]["full_name"] == "'=HYPERLINK(\"http://evil\")"
    assert stored["7654321-6"]["variables"] == {"Producto": "'@SUM(A1)"}
    assert stored["9876543-3"]["phones"] == ["+56955551234"]

    record, lines = await import_record(db_pool, report.import_id)
    assert record == ("cartera enero.csv", 7, 3, 0, 3, True)
    assert {line for line, _ in lines} == {3, 4, 5, 6, 7, 9}
    assert all("12.345.678" not in reason and "87654321" not in reason for _, reason in lines)
    assert any(reason.startswith("aviso: mismo documento que la línea 2") for _, reason in lines), lines
    assert "line 3: el dígito verificador del RUT" in report.summary()


async def test_a_reimport_updates_and_never_duplicates(db_pool, company, tmp_path):
    first = write_csv(tmp_path / "a.csv", [
        "nombre,rut,telefono,telefono2,monto",
        "Ana,12.345.678-5,+56 9 8765 4321,+56 9 9876 5432,1000",
        "Juan,11.111.111-1,987654321,,2000",
    ])
    importer = DebtorImporter(db_pool)
    one = await importer.import_file(first, company=company)
    assert (one.debtors_new, one.debtors_updated) == (2, 0)
    async with db_pool.connection() as conn:
        await conn.execute(
            """UPDATE phones SET status = 'wrong_number' WHERE e164 = '+56998765432' AND debtor_id IN
               (SELECT d.id FROM debtors d JOIN companies c ON c.id = d.company_id WHERE c.name = %s)""",
            (company,))
    again = await importer.import_file(first, company=company)
    assert (again.debtors_new, again.debtors_updated, again.rows_rejected) == (0, 2, 0)
    assert (await debtors_of(db_pool, company))["12345678-5"]["phones"] == ["+56987654321", "+56998765432"]

    # The next month's file: phones reordered and one added, amounts changed, a new debtor.
    second = write_csv(tmp_path / "b.csv", [
        "nombre,rut,telefono,telefono2,monto",
        "Ana María,123456785,+56 9 9876 5432,22 345 6789 / +56 9 8765 4321,1500",
        "Eva,7.654.321-6,+56 9 2345 6789,,10",
    ])
    three = await importer.import_file(second, company=company)
    assert (three.debtors_new, three.debtors_updated) == (1, 1)
    stored = await debtors_of(db_pool, company)
    assert sorted(stored) == ["11111111-1", "12345678-5", "7654321-6"]
    ana = stored["12345678-5"]
    assert (ana["full_name"], ana["amount_owed"]) == ("Ana María", Decimal("1500.00"))
    assert ana["phones"] == ["+56998765432", "+56223456789", "+56987654321"]
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            """SELECT p.e164, p.status, count(*) OVER (PARTITION BY p.debtor_id, p.e164)
               FROM phones p JOIN debtors d ON d.id = p.debtor_id JOIN companies c ON c.id = d.company_id
               WHERE c.name = %s AND d.national_id = '12345678-5'""", (company,))
        phones = {e164: (status, n) for e164, status, n in await cur.fetchall()}
    assert phones["+56998765432"] == ("wrong_number", 1)  # kept its status, not duplicated
    assert all(n == 1 for _, n in phones.values())


async def test_a_file_without_an_optional_column_keeps_stored_values(db_pool, company, tmp_path):
    importer = DebtorImporter(db_pool)
    await importer.import_file(write_csv(tmp_path / "a.csv", [
        "nombre;rut;fono;monto;vencimiento;segmento", "Ana;12.345.678-5;987654321;1.000;01-02-2024;A"]),
        company=company)
    await importer.import_file(write_csv(tmp_path / "b.csv", [
        "nombre;rut;fono;sucursal", "Ana;12.345.678-5;987654321;Centro"]), company=company)
    ana = (await debtors_of(db_pool, company))["12345678-5"]
    assert (ana["amount_owed"], ana["due_date"]) == (Decimal("1000.00"), date(2024, 2, 1))
    assert ana["variables"] == {"segmento": "A", "sucursal": "Centro"}


async def test_an_xlsx_loads_the_same_as_the_equivalent_csv(db_pool, tmp_path):
    rows = [
        ["Ana Pérez", "12.345.678-5", "+56 9 8765 4321", 56998765432, 1234567.5, 3, date(2024, 1, 31), "temprana",
         "tarjeta"],
        ["Juan Soto", 111111111, 987654321, None, 2000, None, datetime(2024, 2, 29, 0, 0), "", 42],
        ["Malo", "12.345.678-3", "+56 9 8765 4321", None, None, None, None, None, None],
    ]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("instrucciones").append(["ignored"])
    workbook.save(tmp_path / "cartera.xlsx")
    write_csv(tmp_path / "cartera.csv", [
        ";".join(HEADER),
        "Ana Pérez;12.345.678-5;+56 9 8765 4321;56998765432;1.234.567,50;3;31/01/2024;temprana;tarjeta",
        "Juan Soto;11.111.111-1;987654321;;2000;;29-02-2024;;42",
        "Malo;12.345.678-3;+56 9 8765 4321;;;;;;",
    ], encoding="cp1252")
    importer = DebtorImporter(db_pool)
    xlsx_company, csv_company = f"xlsx-{uuid.uuid4().hex[:8]}", f"csv-{uuid.uuid4().hex[:8]}"
    from_xlsx = await importer.import_file(tmp_path / "cartera.xlsx", company=xlsx_company)
    from_csv = await importer.import_file(tmp_path / "cartera.csv", company=csv_company)
    assert [(e.line, e.reason) for e in from_xlsx.errors] == [(e.line, e.reason) for e in from_csv.errors]
    assert [e.line for e in from_xlsx.errors] == [4]
    stored = await debtors_of(db_pool, xlsx_company)
    assert stored == await debtors_of(db_pool, csv_company)
    assert stored["12345678-5"]["amount_owed"] == Decimal("1234567.50")
    assert stored["11111111-1"]["variables"] == {"Producto": "42"}


@pytest.mark.parametrize(("name", "content", "message"), [
    ("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "tipo de archivo '.png' no admitido"),
    ("logo.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "no es un archivo CSV de texto"),
    ("notas.xlsx", b"nombre,rut,telefono\nAna,12.345.678-5,987654321\n", "no es un archivo .xlsx válido"),
    ("sin_fono.csv", b"nombre;rut;monto\nAna;12.345.678-5;100\n", "faltan columnas obligatorias.*telefono"),
    ("sin_rut.csv", b"nombre;celular\nAna;987654321\n", "faltan columnas obligatorias.*rut"),
])
async def test_an_unusable_file_is_refused_whole_and_loads_nothing(db_pool, company, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        await DebtorImporter(db_pool).import_file(path, company=company)
    async with db_pool.connection() as conn:
        cur = await conn.execute(
            "SELECT (SELECT count(*) FROM imports i JOIN companies c ON c.id = i.company_id WHERE c.name = %s)",
            (company,))
        assert await cur.fetchone() == (0,)
    assert await debtors_of(db_pool, company) == {}


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", "Nombre;RUT;Teléfono\n\n;;\n".encode()])
async def test_an_empty_file_is_reported_not_a_crash(db_pool, company, tmp_path, content):
    path = tmp_path / "vacio.csv"
    path.write_bytes(content)
    report = await DebtorImporter(db_pool).import_file(path, company=company)
    assert (report.rows_read, report.debtors_new, report.rows_rejected) == (0, 0, 0)
    assert "no tiene filas" in report.errors[0].reason
    record, lines = await import_record(db_pool, report.import_id)
    assert record == ("vacio.csv", 0, 0, 0, 0, True) and "no tiene filas" in lines[0][1]


async def test_companies_are_created_from_the_company_column(db_pool, company, tmp_path):
    other = f"{company}-bis"
    path = write_csv(tmp_path / "multi.csv", [
        "nombre;rut;telefono;empresa",
        f"Ana;12.345.678-5;987654321;{other}",
        "Ana;12.345.678-5;987654321;",
    ])
    report = await DebtorImporter(db_pool).import_file(path, company=company, other_companies=True)
    assert (report.debtors_new, report.errors) == (2, [])
    assert list(await debtors_of(db_pool, other)) == list(await debtors_of(db_pool, company)) == ["12345678-5"]


async def test_a_file_for_one_company_cannot_write_another_company_s_debtors(db_pool, company, tmp_path):
    other = f"{company}-otra"
    importer = DebtorImporter(db_pool)
    theirs = write_csv(tmp_path / "otra.csv", ["nombre;rut;telefono", "Ana;12.345.678-5;987654321"])
    await importer.import_file(theirs, company=other)
    path = write_csv(tmp_path / "mezcla.csv", [
        "nombre;rut;telefono;empresa",
        f"Impostora;12.345.678-5;912345678;{other}",
        f"Juan;11.111.111-1;987654321;{company}",
        "Eva;9.876.543-3;987654322;",
    ])
    report = await importer.import_file(path, company=company)

    assert (report.rows_read, report.rows_rejected, report.debtors_new, report.debtors_updated) == (3, 1, 2, 0)
    (error,) = report.errors
    assert error.line == 2 and not error.warning
    assert f"empresa '{other}': no es la de esta carga ('{company}')" in error.reason
    assert "permita otras empresas de forma explícita" in error.reason
    assert sorted(await debtors_of(db_pool, company)) == ["11111111-1", "9876543-3"]
    untouched = (await debtors_of(db_pool, other))["12345678-5"]
    assert (untouched["full_name"], untouched["phones"]) == ("Ana", ["+56987654321"])
    _, lines = await import_record(db_pool, report.import_id)
    assert lines == [(2, error.reason)]


async def test_progress_runs_on_the_event_loop_while_parsing_runs_elsewhere(db_pool, company, tmp_path):
    lines = ["nombre;rut;telefono"] + [f"D{i};{11_000_000 + i}-{_rut_dv(11_000_000 + i)};9876{i:05d}"
                                       for i in range(12_000)]
    path = write_csv(tmp_path / "big.csv", lines)
    loop_thread = threading.get_ident()
    seen: list[tuple[int, bool]] = []
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    task = asyncio.create_task(ticker())
    try:
        report = await DebtorImporter(db_pool).import_file(
            path, company=company, progress=lambda n: seen.append((n, threading.get_ident() == loop_thread)))
    finally:
        task.cancel()
    assert report.debtors_new == 12_000 and report.rows_rejected == 0
    assert [n for n, _ in seen] == [5000, 10000, 12000] and all(on_loop for _, on_loop in seen)
    assert ticks > 10  # the loop kept running while the rows were validated


def _rut_dv(body: int) -> str:
    from countries.cl import rut_check_digit

    return rut_check_digit(body)
