"""The upload of a debtor file: exactly the documented parts, and never a file left behind.

Each upload waits in its own private folder under UPLOAD_DIR (here a folder of the test's own), so
"nothing left" is checked by listing that folder once the request is answered."""

from __future__ import annotations

import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from api import ApiServices, OperatorApi
from campaigns.importer import DebtorImporter
from campaigns.webhooks import WebhookDelivery
from media.recordings import LocalRecordingStore
from tests.api.conftest import TOKEN as API_TOKEN
from tests.api.conftest import Client

SAMPLE = Path(__file__).resolve().parents[2] / "campaigns" / "samples" / "deudores_demo.csv"
MAX_BYTES = 64 * 1024


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    return tmp_path / "uploads"  # made by the first upload, as UPLOAD_DIR would be


@pytest.fixture
async def client(db_pool, uploads: Path, recordings_dir: Path) -> AsyncIterator[Client]:
    async with WebhookDelivery(db_pool, timeout_s=2.0) as delivery:
        services = ApiServices(pool=db_pool, webhook_delivery=delivery, recordings=LocalRecordingStore(recordings_dir),
                               ari_connected=lambda: True, currency="CLP", upload_dir=str(uploads),
                               upload_max_bytes=MAX_BYTES)
        async with OperatorApi(services, tokens=[API_TOKEN], host="127.0.0.1", port=0) as server, \
                aiohttp.ClientSession() as session:
            yield Client(session, server.url)


def form(*files: bytes, **fields: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    for n, content in enumerate(files):
        data.add_field("file", content, filename=f"deudores{n}.csv", content_type="text/csv")
    return data


def left_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


async def test_a_normal_upload_loads_and_leaves_no_file(client, uploads, monkeypatch):
    seen: list[tuple[int, int]] = []
    original = DebtorImporter.import_file

    async def spying(self, path, **kwargs):  # the upload as the importer gets it: private, on disk
        seen.append((stat.S_IMODE(Path(path).parent.stat().st_mode), stat.S_IMODE(Path(path).stat().st_mode)))
        return await original(self, path, **kwargs)

    monkeypatch.setattr(DebtorImporter, "import_file", spying)
    status, report, _ = await client.post("/api/v1/contacts/imports",
                                          data=form(SAMPLE.read_bytes(), company=f"Empresa {uuid.uuid4().hex[:6]}"))
    assert status == 201, report
    assert report["rows_read"] > 0 and report["rows_rejected"] == 0
    assert seen == [(0o700, 0o600)]
    assert uploads.is_dir() and left_in(uploads) == []


async def test_two_file_parts_are_refused_and_leave_no_file(client, uploads):
    status, body, _ = await client.post("/api/v1/contacts/imports",
                                        data=form(SAMPLE.read_bytes(), SAMPLE.read_bytes(), company="X"))
    assert status == 400 and "more than one 'file' part" in body["error"]["message"], body
    assert left_in(uploads) == []


@pytest.mark.parametrize(("fields", "message"), [
    ({"company": "X", "notes": "hola"}, "unexpected part 'notes'"),
    ({"company": "X", "Company": "Y"}, "unexpected part 'Company'"),
])
async def test_an_unexpected_part_is_refused_and_leaves_no_file(client, uploads, fields, message):
    status, body, _ = await client.post("/api/v1/contacts/imports", data=form(SAMPLE.read_bytes(), **fields))
    assert status == 400 and message in body["error"]["message"], body
    assert left_in(uploads) == []


async def test_a_field_sent_twice_or_too_long_is_refused(client, uploads):
    data = form(SAMPLE.read_bytes(), company="X")
    data.add_field("company", "Y")
    status, body, _ = await client.post("/api/v1/contacts/imports", data=data)
    assert status == 400 and "'company' field is sent twice" in body["error"]["message"], body
    status, body, _ = await client.post("/api/v1/contacts/imports", data=form(SAMPLE.read_bytes(), company="X" * 5000))
    assert status == 400 and "longer than" in body["error"]["message"], body
    assert left_in(uploads) == []


async def test_a_file_over_the_size_cap_is_refused_and_leaves_no_file(client, uploads):
    big = SAMPLE.read_bytes() * (MAX_BYTES // len(SAMPLE.read_bytes()) + 2)
    status, body, _ = await client.post("/api/v1/contacts/imports", data=form(big, company="X"))
    assert status == 413, body
    assert left_in(uploads) == []


async def test_a_refused_file_leaves_no_file(client, uploads):
    status, body, _ = await client.post("/api/v1/contacts/imports", data=form(b"nombre;monto\nAna;1\n", company="X"))
    assert status == 422 and "faltan columnas obligatorias" in body["error"]["message"], body
    assert left_in(uploads) == []


def _two_companies(own: str, other: str) -> bytes:
    return (f"nombre;rut;telefono;empresa\nAna;12.345.678-5;987654321;{other}\n"
            f"Juan;11.111.111-1;987654322;{own}\n").encode()


async def test_a_row_for_another_company_is_rejected_unless_other_companies_is_true(client, uploads):
    own, other = (f"Empresa {uuid.uuid4().hex[:6]}" for _ in range(2))
    status, report, _ = await client.post("/api/v1/contacts/imports", data=form(_two_companies(own, other), company=own))
    assert status == 201, report
    assert (report["rows_read"], report["rows_rejected"], report["debtors_new"]) == (2, 1, 1)
    assert report["errors"] == [{"line": 2, "warning": False, "reason": (
        f"empresa '{other}': no es la de esta carga ('{own}'); cargue el archivo de cada empresa para ella, "
        "o permita otras empresas de forma explícita")}]

    status, report, _ = await client.post("/api/v1/contacts/imports", data=form(
        _two_companies(own, other), company=own, other_companies="true"))
    assert status == 201, report
    assert (report["rows_rejected"], report["debtors_new"], report["errors"]) == (0, 1, [])  # Juan was loaded above

    status, body, _ = await client.post("/api/v1/contacts/imports", data=form(
        _two_companies(own, other), company=own, other_companies="yes"))
    assert status == 422 and "other_companies must be true or false" in body["error"]["message"], body
    assert left_in(uploads) == []
