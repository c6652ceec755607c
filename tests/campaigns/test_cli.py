"""`python -m campaigns`: the operator's commands, run through the real parser on a real database."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from campaigns.cli import CliError, build_parser, run
from campaigns.operators import OperatorStore, Role
from campaigns.payment_links import payment_options
from countries.cl import rut_check_digit
from tests.campaigns.test_contacts import Desk

REPO = Path(__file__).resolve().parents[2]


async def _cli(pool, *argv: str) -> str:
    out = io.StringIO()
    assert await run(build_parser().parse_args(list(argv)), pool, out) == 0
    return out.getvalue()


async def test_import_create_wave_list_and_why(db_pool, company, tmp_path):
    rut = f"22.333.444-{rut_check_digit(22333444)}"
    sheet = tmp_path / "deudores.csv"
    sheet.write_text("nombre;rut;telefono;tipo_mora\n"
                     f"Ana Pérez;{rut};+56 9 8765 4321;temprana\n"
                     "Sin Rut;12.345.678-0;+56 9 8765 4322;temprana\n", encoding="utf-8")
    imported = await _cli(db_pool, "import", str(sheet), "--company", company)
    assert "2 rows read, 1 new debtors" in imported
    assert "line 3: el dígito verificador del RUT debería ser 5, no 0" in imported

    name = f"{company} temprana"
    created = await _cli(db_pool, "create", name, "--company", company, "--flow", "temprana=early",
                         "--waves", "09:00,13:00", "--per-day", "10")
    assert "waves 09:00, 13:00" in created
    assert name in await _cli(db_pool, "list")
    waved = await _cli(db_pool, "wave", name)
    # Depending on the hour CI runs, Chile's calling hours may be closed: either way it says what it did.
    assert "1 debtor(s) queued" in waved or "held back: outside_calling_hours" in waved or "holiday" in waved, waved

    why = await _cli(db_pool, "why", rut)
    assert "phone 0: +569*****321 active" in why
    stopped = await _cli(db_pool, "stop", rut)
    assert "excluded (asked_not_to_be_called)" in stopped
    assert "EXCLUDED since" in await _cli(db_pool, "why", rut)


async def test_import_loads_another_company_s_rows_only_with_other_companies(db_pool, company, tmp_path):
    sheet = tmp_path / "mezcla.csv"
    sheet.write_text(f"nombre;rut;telefono;empresa\nAna;12.345.678-5;987654321;{company}-otra\n", encoding="utf-8")
    out = io.StringIO()
    assert await run(build_parser().parse_args(["import", str(sheet), "--company", company]), db_pool, out) == 1
    assert f"line 2: empresa '{company}-otra': no es la de esta carga ('{company}')" in out.getvalue()
    allowed = await _cli(db_pool, "import", str(sheet), "--company", company, "--other-companies")
    assert "1 new debtors, 0 updated, 0 rows rejected" in allowed


async def test_operator_mistakes_are_clear_errors(db_pool, company):
    with pytest.raises(CliError, match="no campaign"):
        await _cli(db_pool, "wave", "no such campaign")
    with pytest.raises(CliError, match="expected TYPE=FLOW"):
        await _cli(db_pool, "create", "x", "--company", company, "--flow", "temprana")
    await _cli(db_pool, "create", f"{company} once", "--company", company)
    with pytest.raises(CliError, match="already exists"):
        await _cli(db_pool, "create", f"{company} once", "--company", company)
    with pytest.raises(CliError, match="600 prefix"):
        await _cli(db_pool, "create", "x", "--company", company, "--caller-id", "+56229998888")


def test_the_module_reports_a_bad_file_without_a_traceback(database_url, tmp_path):
    bad = tmp_path / "deudores.xlsx"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not a workbook")
    proc = subprocess.run([sys.executable, "-m", "campaigns", "import", str(bad), "--company", "X"], check=False,
                          cwd=REPO, env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: deudores.xlsx no es un archivo .xlsx válido")
    assert "Traceback" not in proc.stderr


@pytest.mark.usefixtures("no_webhook_endpoints")
async def test_payment_links_are_set_and_turned_off_from_the_cli(db_pool, company, tmp_path):
    desk = await Desk.open(db_pool, company)
    said = await _cli(db_pool, "payment-link", company, "--gateway", "https://gw.example.cl/wa",
                      "--template", "https://pagos.example.cl/d/{debtor_id}", "--via", "SMS")
    assert "payment links by SMS" in said and "whsec_" in said  # the secret, shown this once
    assert (await payment_options(db_pool, desk.debtor_id)).via == "SMS"
    await _cli(db_pool, "payment-instructions", company, "cuenta corriente 12345678")
    assert "no more payment links (1 gateway(s) disabled)" in await _cli(db_pool, "payment-link-off", company)
    options = await payment_options(db_pool, desk.debtor_id)
    assert not options.can_send_link and options.instructions == "cuenta corriente 12345678"
    with pytest.raises(CliError, match="may name"):
        await _cli(db_pool, "payment-link", company, "--gateway", "https://gw.example.cl/wa",
                   "--template", "https://pagos.example.cl/{rut}")


async def test_the_first_admin_is_made_from_the_cli_and_can_log_in(db_pool):
    name = f"admin-{uuid.uuid4().hex[:6]}"
    out = io.StringIO()
    args = build_parser().parse_args(["operator-add", name, "--role", "admin"])
    assert await run(args, db_pool, out, read_password=lambda: "a long enough passphrase") == 0
    assert f"operator '{name}' added as admin" in out.getvalue()
    _, who, _ = await OperatorStore(db_pool).login(name, "a long enough passphrase")
    assert (who.actor, who.role) == (name, Role.ADMIN)
    assert name in await _cli(db_pool, "operators")
    with pytest.raises(CliError, match="at least 12"):
        await run(build_parser().parse_args(["operator-add", "x" + name, "--role", "viewer"]), db_pool, out,
                  read_password=lambda: "short")
    assert "sessions ended" in await _cli(db_pool, "operator-disable", name)
    with pytest.raises(PermissionError):
        await OperatorStore(db_pool).login(name, "a long enough passphrase")
