"""Benchmark: debtor import of 100,000 rows (2 mobile phones each) from CSV and from XLSX.

Generates the files in a temp dir (valid Chilean RUTs, phones '+569XXXXXXXX', amounts, dates and
a few extra columns), imports each into its own company of a scratch database on the lab server,
then re-imports the CSV (the update path). Prints seconds and rows/s per run, and how long reading
and validating took before the database work began.
Run: `python -m bench.import_speed [--rows 100000]` with the lab PostgreSQL up.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from ari_app.settings import Settings
from campaigns.db import open_database
from campaigns.importer import DebtorImporter, read_table
from countries.cl import rut_check_digit
from tests.scratch_db import scratch_database

HEADER = ["Nombre", "RUT", "Teléfono", "Teléfono 2", "Monto adeudado", "Cuotas", "Fecha vencimiento",
          "Tipo mora", "Producto", "Sucursal"]
# Chilean mobile ranges phonenumbers accepts (+569 then 2/4/5/8 and 7 digits).
_MOBILE_PREFIXES = ("+5692", "+5694", "+5695", "+5698")


def generate(rows: int, seed: int = 7) -> list[list[object]]:
    rnd = random.Random(seed)
    bodies = rnd.sample(range(5_000_000, 30_000_000), rows)
    out = []
    for body in bodies:
        due = date(2024, 1, 1) + timedelta(days=rnd.randrange(365))
        out.append([
            f"Deudor {body}", f"{body:,}".replace(",", ".") + f"-{rut_check_digit(body)}",
            f"{rnd.choice(_MOBILE_PREFIXES)}{rnd.randrange(10**7):07d}",
            f"{rnd.choice(_MOBILE_PREFIXES)}{rnd.randrange(10**7):07d}",
            rnd.randrange(10_000, 5_000_000), rnd.randrange(1, 24), due,
            rnd.choice(("temprana", "tardia", "castigo")), rnd.choice(("tarjeta", "consumo", "hipotecario")),
            rnd.choice(("Santiago", "Valparaíso", "Concepción")),
        ])
    return out


def write_csv(path: Path, data: list[list[object]]) -> None:
    """As operators' systems export it: ';' separated, UTF-8 with BOM, Chilean number and date format."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(HEADER)
        for r in data:
            writer.writerow([*r[:4], f"$ {r[4]:,}".replace(",", "."), r[5], r[6].strftime("%d-%m-%Y"), *r[7:]])


def write_xlsx(path: Path, data: list[list[object]]) -> None:
    """Numbers as numbers and dates as real date cells, as a spreadsheet saves them."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("deudores")
    ws.append(HEADER)
    for r in data:
        ws.append(r)
    wb.save(path)


def time_reading(path: Path) -> float:
    start = time.perf_counter()
    for _ in read_table(path):
        pass
    return time.perf_counter() - start


def time_openpyxl(path: Path) -> float:
    """The reader the importer does not use, for comparison (openpyxl comes with the test extra)."""
    import openpyxl

    start = time.perf_counter()
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for _ in workbook.worksheets[0].iter_rows(values_only=True):
        pass
    workbook.close()
    return time.perf_counter() - start


async def run(url: str, files: dict[str, Path], rows: int) -> None:
    async with open_database(url) as pool:
        importer = DebtorImporter(pool)
        runs = [("csv", files["csv"], "bench-csv"), ("xlsx", files["xlsx"], "bench-xlsx"),
                ("csv re-import", files["csv"], "bench-csv")]
        print(f"{'run':<16}{'seconds':>9}{'rows/s':>10}{'parsed at s':>13}   result")
        for label, path, company in runs:
            start = time.perf_counter()
            parsed_at = [start]  # the last progress call comes when validation ends, before the COPY
            report = await importer.import_file(
                path, company=company, progress=lambda _, marks=parsed_at: marks.append(time.perf_counter()))
            seconds = time.perf_counter() - start
            assert report.rows_read == rows and report.rows_rejected == 0, report.summary()
            print(f"{label:<16}{seconds:>9.1f}{rows / seconds:>10.0f}{parsed_at[-1] - start:>13.1f}   "
                  f"{report.debtors_new} new, {report.debtors_updated} updated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = generate(args.rows)
        files = {"csv": Path(tmp) / "deudores.csv", "xlsx": Path(tmp) / "deudores.xlsx"}
        write_csv(files["csv"], data)
        write_xlsx(files["xlsx"], data)
        print(f"{args.rows} rows; csv {files['csv'].stat().st_size / 1e6:.1f} MB, "
              f"xlsx {files['xlsx'].stat().st_size / 1e6:.1f} MB")
        print(f"reading only: csv {time_reading(files['csv']):.1f} s, xlsx (python-calamine, used) "
              f"{time_reading(files['xlsx']):.1f} s, xlsx (openpyxl, for comparison) {time_openpyxl(files['xlsx']):.1f} s")
        with scratch_database(Settings().database_url.get_secret_value(), "bench_import") as url:
            asyncio.run(run(url, files, args.rows))


if __name__ == "__main__":
    main()
