"""Contacts: upload a debtor spreadsheet (.xlsx or .csv); bad rows are reported by line, the rest load.

The upload is debtors' personal data: it waits on disk only while it is imported, in a private
folder (0700, a 0600 file) made for this request and deleted with everything in it when the request
ends, however it ends. Exactly the documented parts are accepted, one `file` among them: each extra
part used to cost another temporary file of up to the size cap.

A row whose company/empresa cell names a company other than the form's `company` is rejected (by
line, like any bad row) unless `other_companies=true`: an operator's upload for one client must not
overwrite another client's debtors.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from aiohttp import BodyPartReader, web

from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError
from campaigns.importer_rows import ImportFileError

_FIELDS = ("company", "country", "timezone", "other_companies", "leads")
_FIELD_MAX_BYTES = 1024  # a company name or a zone; the body's own cap does not cover multipart parts
_PARTS = "file (one spreadsheet), company, country, timezone, other_companies, leads"
_BOOLEANS = {"true": True, "false": False}


async def import_contacts(call: ApiCall) -> web.StreamResponse:
    if not call.request.content_type.startswith("multipart/"):
        raise ApiError(400, f"send the file as multipart/form-data (fields: {_PARTS})")
    services = call.services
    folder = _private_folder(services.upload_dir)
    try:
        upload, form = await _read_form(call.request, folder, services.upload_max_bytes)
        if upload is None:
            raise ApiError(422, "the 'file' field (an .xlsx or .csv spreadsheet) is missing")
        company = form.get("company", "")
        if not company or "\x00" in company:
            raise ApiError(422, "the 'company' field is required: whose debtors these are")
        country = form.get("country") or "CL"
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise ApiError(422, f"country must be a two-letter code such as CL, AR, CO; got {country!r}")
        other_companies = _BOOLEANS.get((form.get("other_companies") or "false").lower())
        if other_companies is None:
            raise ApiError(422, f"other_companies must be true or false; got {form['other_companies']!r}")
        leads = _BOOLEANS.get((form.get("leads") or "false").lower())  # a sales list: name and phone suffice
        if leads is None:
            raise ApiError(422, f"leads must be true or false; got {form['leads']!r}")
        try:
            report = await services.importer.import_file(
                upload, company=company, country=country, timezone=form.get("timezone") or None,
                other_companies=other_companies, leads=leads)
        except (ImportFileError, ValueError) as exc:  # ValueError: a country or zone we have no profile for
            raise ApiError(422, str(exc)) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return json_response({**asdict(report), "errors": [asdict(e) for e in report.errors]}, status=201)


def _private_folder(parent: str) -> Path:
    """A folder only this process's user can enter (mkdtemp makes it 0700), for one request's upload."""
    if parent:
        Path(parent).mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="import-", dir=parent or None))


async def _read_form(request: web.Request, folder: Path, max_bytes: int) -> tuple[Path | None, dict[str, str]]:
    """The file (saved in `folder`) and the text fields; any part beyond the documented ones is a 400."""
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError) as exc:  # no boundary, or a mangled Content-Type
        raise ApiError(400, f"malformed multipart body: {exc}") from None
    upload: Path | None = None
    form: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, f"a nested multipart part is not accepted; the parts are: {_PARTS}")
        if part.name == "file":
            if upload is not None:
                raise ApiError(400, "more than one 'file' part: send one spreadsheet per request")
            upload = await _save(part, folder, max_bytes)
        elif part.name in _FIELDS:
            if part.name in form:
                raise ApiError(400, f"the {part.name!r} field is sent twice; send it once")
            form[part.name] = await _field_text(part)
        else:
            raise ApiError(400, f"unexpected part {part.name!r}; the parts are: {_PARTS}")
    return upload, form


async def _field_text(part: BodyPartReader) -> str:
    data = b""
    while chunk := await part.read_chunk(_FIELD_MAX_BYTES):
        data += chunk
        if len(data) > _FIELD_MAX_BYTES:
            raise ApiError(400, f"the {part.name!r} field is longer than {_FIELD_MAX_BYTES} bytes")
    return data.decode(part.get_charset("utf-8"), errors="replace").strip()


async def _save(part: BodyPartReader, folder: Path, max_bytes: int) -> Path:
    """Stream the upload into `folder` (written off the event loop), keeping its extension; the
    caller deletes the folder."""
    suffix = Path(part.filename or "upload.csv").suffix.lower()[:6] or ".csv"
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=suffix, dir=folder)  # 0600
    size = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := await part.read_chunk(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise ApiError(413, f"the file is larger than {max_bytes // (1 << 20)} MB")
            await asyncio.to_thread(out.write, chunk)
    return Path(name)


MULTIPART = {
    "type": "object",
    "required": ["file", "company"],
    "additionalProperties": False,  # any other part is refused (400): each one was a temporary file
    "properties": {
        "file": {"type": "string", "format": "binary", "description": ".xlsx or .csv, one debtor per row"},
        "company": {"type": "string", "minLength": 1},
        "country": {"type": "string", "pattern": "^[A-Z]{2}$", "default": "CL"},
        "timezone": {"type": "string", "description": "IANA zone; default: the country's"},
        "other_companies": {"type": "boolean", "default": False,
                            "description": "true: rows whose company/empresa names another company load into "
                                           "that company; false: they are rejected by line"},
    },
}
ENDPOINTS = [
    Endpoint("POST", "/api/v1/contacts/imports", import_contacts, "Import debtors from a spreadsheet",
             "contacts", multipart=MULTIPART, ok=201, errors=(413,)),
]
