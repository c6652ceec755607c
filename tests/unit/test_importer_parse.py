"""The debtor import without a database: files read, headers mapped, rows validated and merged."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from campaigns.cells import (
    header_key,
    neutralise,
    parse_amount,
    parse_country,
    parse_date,
    parse_installments,
    parse_timezone,
)
from campaigns.importer import read_table
from campaigns.importer_rows import ColumnMap, ImportFileError, RowError, parse_rows

HEADER = ["Nombre", "RUT", "Teléfono", "Teléfono 2"]
ANA = ["Ana Pérez", "12.345.678-5", "+56 9 8765 4321", "+56 9 9876 5432"]
JUAN = ["Juan Soto", "11.111.111-1", "987654321", ""]


def _rows(*rows):
    return list(enumerate(rows, start=1))


def _parse(*rows, **kwargs):
    return parse_rows(_rows(*rows), company=kwargs.pop("company", "ACME"), **kwargs)


# ---------------------------------------------------------------- headers


def test_header_keys_ignore_case_accents_and_spaces():
    assert header_key(" Teléfono  2 ") == "telefono_2"
    assert header_key("CÉDULA") == "cedula"
    assert header_key("Fecha Máxima") == "fecha_maxima"


def test_spanish_and_english_aliases_map_to_fields():
    columns = ColumnMap.from_header(["NOMBRE", "Cédula", "celular", "Fono 3", "phone_2", "Monto Adeudado",
                                     "Cuotas", "fecha_vencimiento", "Fecha Límite", "Tipo Mora", "Zona horaria",
                                     "País", "Empresa", "Sucursal"])
    assert columns.fields == {"name": 0, "national_id": 1, "amount_owed": 5, "installments_owed": 6, "due_date": 7,
                              "max_date": 8, "delinquency_type": 9, "timezone": 10, "country": 11, "company": 12}
    assert columns.phones == (2, 3, 4)
    assert columns.variables == ((13, "Sucursal"),)


def test_missing_required_columns_are_all_named():
    with pytest.raises(ImportFileError, match="nombre/name.*rut.*telefono") as caught:
        ColumnMap.from_header(["Apellido", "Monto"])
    assert "no se cargó nada" in str(caught.value)
    with pytest.raises(ImportFileError, match="telefono"):
        ColumnMap.from_header(["nombre", "rut", "monto"])


def test_two_columns_for_one_field_are_refused():
    with pytest.raises(ImportFileError, match="las columnas 'RUT' y 'Documento' son ambas documento"):
        ColumnMap.from_header(["nombre", "RUT", "Documento", "telefono"])


def test_repeated_variable_headers_keep_both_values():
    result = _parse([*HEADER, "Nota", "Nota"], [*ANA, "a", "b"])
    assert result.debtors[0].variables == {"Nota": "a", "Nota_2": "b"}


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(("cell", "expected"), [
    ("2024-03-31", date(2024, 3, 31)), ("31-03-2024", date(2024, 3, 31)), ("31/03/2024", date(2024, 3, 31)),
    ("1/3/2024", date(2024, 3, 1)), ("31.03.2024", date(2024, 3, 31)), ("2024-03-31 00:00:00", date(2024, 3, 31)),
    (datetime(2024, 3, 31, 10, 5), date(2024, 3, 31)), (date(2024, 3, 31), date(2024, 3, 31)),
    (45382, date(2024, 3, 31)), ("", None), (None, None),
])
def test_dates(cell, expected):
    assert parse_date(cell, "vencimiento") == expected


@pytest.mark.parametrize("cell", ["31-02-2024", "2024-13-01", "mañana", "03/31/24", "45382"])
def test_bad_dates(cell):
    with pytest.raises(ValueError, match="vencimiento"):
        parse_date(cell, "vencimiento")


@pytest.mark.parametrize(("cell", "expected"), [
    ("1.234.567", "1234567.00"), ("1234567,50", "1234567.50"), ("$ 1.234", "1234.00"), ("1.234,5", "1234.50"),
    ("1,234.56", "1234.56"), ("1234.5", "1234.50"), ("CLP 15.000", "15000.00"), ("0", "0.00"),
    (1234, "1234.00"), (1234.5, "1234.50"), ("12,345", "12.35"),
])
def test_amounts_in_the_regions_formats(cell, expected):
    assert parse_amount(cell) == Decimal(expected)


@pytest.mark.parametrize("cell", ["-1.234", "(500)", "abc", "1.2.3,4,5", -5, "1e400", float("nan")])
def test_bad_or_negative_amounts(cell):
    with pytest.raises(ValueError, match="monto"):
        parse_amount(cell)


def test_installments_are_whole_and_not_negative():
    assert parse_installments("3") == 3
    assert parse_installments(4.0) == 4
    assert parse_installments("") is None
    for bad in ("3.5", 2.5, "-1", "tres"):
        with pytest.raises(ValueError, match="cuotas"):
            parse_installments(bad)


def test_timezones_and_countries():
    assert parse_timezone("america/santiago") == "America/Santiago"
    with pytest.raises(ValueError, match="zona horaria .* desconocida"):
        parse_timezone("Mars/Olympus")
    assert [parse_country(c) for c in ("cl", "Chile", "ARGENTINA", "Colombia", "PE")] == ["CL", "CL", "AR", "CO", "PE"]
    with pytest.raises(ValueError, match="país .* desconocido"):
        parse_country("Atlantis")


@pytest.mark.parametrize(("text", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("@SUM(A1)", "'@SUM(A1)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3+cmd", "'-2+3+cmd"),
    ("+56 9 8765 4321", "+56 9 8765 4321"), ("-1.234,5", "-1.234,5"), ("Ana", "Ana"), ("", ""),
])
def test_formulas_are_neutralised_numbers_are_not(text, expected):
    assert neutralise(text) == expected


# ---------------------------------------------------------------- rows


def test_good_rows_become_debtors_with_defaults():
    result = _parse(HEADER, ANA, JUAN)
    assert (result.rows_read, result.rows_rejected, result.errors) == (2, 0, [])
    ana, juan = result.debtors
    assert (ana.company, ana.national_id, ana.full_name, ana.country, ana.timezone) == (
        "ACME", "12345678-5", "Ana Pérez", "CL", "America/Santiago")
    assert ana.phones == ["+56987654321", "+56998765432"]
    assert juan.phones == ["+56987654321"]


def test_bad_rows_are_reported_with_their_line_and_skipped():
    result = _parse(HEADER, ANA, ["Malo", "12.345.678-3", "+56 9 8765 4321", ""], ["", "11.111.111-1", "", ""],
                    JUAN)
    assert [d.full_name for d in result.debtors] == ["Ana Pérez", "Juan Soto"]
    assert result.rows_rejected == 2
    assert [(e.line, e.warning) for e in result.errors] == [(3, False), (4, False)]
    assert "dígito verificador del RUT debería ser 5, no 3" in result.errors[0].reason
    assert "falta el nombre" in result.errors[1].reason and "ningún teléfono válido" in result.errors[1].reason


def test_several_phones_in_one_cell_and_a_bad_one_is_a_warning():
    result = _parse(["nombre", "rut", "telefonos"],
                    ["Ana", "12345678-5", "+56 9 8765 4321, 22 345 6789 / 912 | +56 9 8765 4321;+56 9 9876 5432"])
    (ana,) = result.debtors
    assert ana.phones == ["+56987654321", "+56223456789", "+56998765432"]
    (warning,) = result.errors
    assert warning.warning and warning.line == 2 and "912" not in warning.reason.replace("*", "")


def test_a_row_with_only_bad_phones_is_rejected_with_the_reasons():
    result = _parse(HEADER, ["Ana", "12345678-5", "912", "hola"])
    assert result.debtors == []
    reason = result.errors[0].reason
    assert "ningún teléfono válido" in reason and "no es un número de teléfono" in reason


def test_duplicates_merge_later_values_and_union_phones():
    result = _parse([*HEADER, "Monto", "Cuotas", "Producto"],
                    [*ANA, "1.000", "2", "tarjeta"],
                    JUAN + ["", "", ""],
                    ["Ana P. Rojas", "12345678-5", "+56 9 9876 5432", "22 345 6789", "2.000", "", ""])
    ana, _ = result.debtors
    assert ana.full_name == "Ana P. Rojas"
    assert ana.phones == ["+56987654321", "+56998765432", "+56223456789"]
    assert (ana.amount_owed, ana.installments_owed, ana.variables) == (Decimal("2000.00"), 2, {"Producto": "tarjeta"})
    assert [(e.line, e.warning) for e in result.errors] == [(4, True)]
    assert "mismo documento que la línea 2" in result.errors[0].reason


def test_country_and_timezone_per_row_then_argument_then_country_default():
    header = ["nombre", "documento", "telefono", "pais", "zona horaria"]
    result = parse_rows(_rows(header,
                              ["Ana", "12.345.678-5", "+56 9 8765 4321", "", ""],
                              ["Leo", "20-12345678-6", "11 2345-6789", "Argentina", ""],
                              ["Eva", "1.020.304.050", "300 123 4567", "co", "America/Bogota"],
                              ["Bad", "12.345.678-5", "+56 9 8765 4321", "", "Mars/Base"]),
                        company="ACME", country="CL")
    assert [(d.country, d.national_id, d.timezone) for d in result.debtors] == [
        ("CL", "12345678-5", "America/Santiago"),
        ("AR", "20-12345678-6", "America/Argentina/Buenos_Aires"),
        ("CO", "1020304050", "America/Bogota")]
    assert result.errors[0].line == 5 and "zona horaria 'Mars/Base' desconocida" in result.errors[0].reason
    fixed = _parse(HEADER, ANA, timezone="America/Punta_Arenas")
    assert fixed.debtors[0].timezone == "America/Punta_Arenas"


def test_company_column_overrides_the_argument_and_keys_duplicates():
    result = _parse(["nombre", "rut", "fono", "empresa"], [*ANA[:3], "Banco Uno"], [*ANA[:3], ""],
                    other_companies=True)
    assert [(d.company, d.national_id) for d in result.debtors] == [("Banco Uno", "12345678-5"),
                                                                     ("ACME", "12345678-5")]


def test_a_row_for_another_company_is_rejected_by_default_and_the_rest_load():
    result = _parse(["nombre", "rut", "fono", "empresa"],
                    [*ANA[:3], "Banco  Uno"],
                    [*JUAN[:3], " acme "],  # the import's own company, however it is spelled
                    [*ANA[:3], ""])
    assert [(d.line, d.company, d.national_id) for d in result.debtors] == [(3, "ACME", "11111111-1"),
                                                                            (4, "ACME", "12345678-5")]
    assert (result.rows_read, result.rows_rejected) == (3, 1)
    assert result.errors == [RowError(2, "empresa 'Banco Uno': no es la de esta carga ('ACME'); cargue el archivo "
                                         "de cada empresa para ella, o permita otras empresas de forma explícita")]


def test_the_import_s_own_company_is_one_company_even_with_other_companies_allowed():
    result = _parse(["nombre", "rut", "fono", "empresa"], [*ANA[:3], "acme"], [*JUAN[:3], "Banco Uno"],
                    other_companies=True)
    assert [d.company for d in result.debtors] == ["ACME", "Banco Uno"] and result.errors == []


def test_formula_cells_in_name_and_variables_are_neutralised_with_a_warning():
    result = _parse([*HEADER, "Nota"], ["=1+1", *ANA[1:], "@SUM(A1:A9)"])
    (debtor,) = result.debtors
    assert debtor.full_name == "'=1+1" and debtor.variables == {"Nota": "'@SUM(A1:A9)"}
    assert len(result.errors) == 2 and all(e.warning and e.line == 2 for e in result.errors)


def test_excel_cells_numbers_and_dates():
    header = ["nombre", "rut", "telefono", "monto", "cuotas", "vencimiento", "codigo"]
    result = _parse(header, ["Ana", 123456785, 56987654321, 1234567.5, 3.0, datetime(2024, 3, 31), 42.0])
    (ana,) = result.debtors
    assert (ana.national_id, ana.phones, ana.amount_owed, ana.installments_owed, ana.due_date, ana.variables) == (
        "12345678-5", ["+56987654321"], Decimal("1234567.50"), 3, date(2024, 3, 31), {"codigo": "42"})


def test_empty_and_header_only_inputs_report_no_rows():
    assert _parse().errors[0].reason == "el archivo no tiene filas"
    header_only = _parse(["", ""], HEADER, ["", None, ""])
    assert header_only.rows_read == 0 and "solo el encabezado" in header_only.errors[0].reason


def test_progress_is_reported_every_5000_rows_and_at_the_end():
    seen = []
    rows = [HEADER] + [ANA] * 12_001
    parse_rows(_rows(*rows), company="ACME", progress=seen.append)
    assert seen == [5000, 10000, 12001]


def test_bad_arguments_are_refused_before_reading():
    with pytest.raises(ValueError, match="país .* desconocido"):
        _parse(HEADER, ANA, country="XX")
    with pytest.raises(ValueError, match="falta la empresa"):
        _parse(HEADER, ANA, company="  ")


# ---------------------------------------------------------------- files


def test_csv_with_bom_semicolons_and_a_multiline_cell_keeps_line_numbers(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes('\ufeffNombre;RUT;Teléfono;Nota\n\nAna;12.345.678-5;+56 9 8765 4321;"dos\nlíneas"\n'
                     'Juan;11.111.111-1;987654321;x\n'.encode())
    rows = list(read_table(path))
    assert [line for line, _ in rows] == [1, 2, 3, 5]
    assert rows[0][1][0] == "Nombre" and rows[2][1][3] == "dos\nlíneas"


def test_latin1_csv_with_commas(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("nombre,rut,teléfono\nJosé Núñez,12.345.678-5,+56 9 8765 4321\n".encode("cp1252"))
    result = parse_rows(read_table(path), company="ACME")
    assert result.debtors[0].full_name == "José Núñez"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("d.txt", b"nombre,rut\n", "tipo de archivo '.txt' no admitido"),
    ("d.xlsx", b"nombre,rut,telefono\n", "no es un archivo .xlsx válido"),
    ("d.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "archivo de Excel 97-2003"),
    ("d.xlsx", b"PK\x03\x04garbage", "no es un archivo .xlsx válido"),
    ("d.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "no es un archivo CSV de texto"),
    ("d.csv", b"PK\x03\x04\x14\0", "cambie su extensión a .xlsx"),
])
def test_wrong_or_corrupt_files_are_refused_whole(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        list(read_table(path))


def test_a_missing_file_is_an_import_error(tmp_path):
    with pytest.raises(ImportFileError, match="no se pudo leer"):
        read_table(tmp_path / "nope.csv")


def _workbook(path, rows):
    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def test_xlsx_formula_text_is_neutralised_and_formulas_give_their_cached_value(tmp_path):
    import openpyxl

    path = _workbook(tmp_path / "d.xlsx", [["nombre", "rut", "telefono", "nota", "total"],
                                           ["Ana", "12.345.678-5", "987654321", "x", "=1+1"]])
    workbook = openpyxl.load_workbook(path)
    cell = workbook.active["D2"]
    cell.value, cell.data_type = "=cmd|' /C calc'!A0", "s"  # text that merely looks like a formula
    workbook.save(path)
    result = parse_rows(read_table(path), company="ACME")
    # openpyxl writes no cached value for its formulas: the import sees what Excel would show, never "=1+1".
    assert result.debtors[0].variables == {"nota": "'=cmd|' /C calc'!A0", "total": ""}


def test_a_damaged_xlsx_sheet_is_an_import_error(tmp_path):
    import zipfile

    good = _workbook(tmp_path / "g.xlsx", [["nombre", "rut", "telefono"]] + [["Ana", "12345678-5", "987654321"]] * 5000)
    bad = tmp_path / "b.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item, data[: len(data) // 2] + b"<<<" if item.filename.endswith("sheet1.xml") else data)
    with pytest.raises(ImportFileError, match="archivo .xlsx dañado"):
        list(read_table(bad))
