"""Contacts: upload a debtor spreadsheet (.xlsx or .csv); bad rows are reported by line, the rest load."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from aiohttp import BodyPartReader, web

from api.endpoint import ApiCall, Endpoint, json_response
from api.errors import ApiError
from campaigns.importer_rows import ImportFileError

UPLOAD_MAX_BYTES = 100 * 1024 * 1024
_FIELDS = ("company", "country", "timezone")


async def import_contacts(call: ApiCall) -> web.StreamResponse:
    if not call.request.content_type.startswith("multipart/"):
        raise ApiError(400, "send the file as multipart/form-data (fields: file, company, country, timezone)")
    form: dict[str, str] = {}
    upload: Path | None = None
    try:
        try:
            reader = await call.request.multipart()
        except (ValueError, AssertionError, KeyError) as exc:  # no boundary, or a mangled Content-Type
            raise ApiError(400, f"malformed multipart body: {exc}") from None
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "file":
                upload = await _save(part)
            elif part.name in _FIELDS:
                form[part.name] = (await part.text()).strip()
        if upload is None:
            raise ApiError(422, "the 'file' field (an .xlsx or .csv spreadsheet) is missing")
        company = form.get("company", "")
        if not company or "\x00" in company:
            raise ApiError(422, "the 'company' field is required: whose debtors these are")
        country = form.get("country") or "CL"
        if len(country) != 2 or not country.isalpha() or not country.isupper():
            raise ApiError(422, f"country must be a two-letter code such as CL, AR, CO; got {country!r}")
        try:
            report = await call.services.importer.import_file(
                upload, company=company, country=country, timezone=form.get("timezone") or None)
        except ImportFileError as exc:
            raise ApiError(422, str(exc)) from None
    finally:
        if upload is not None:
            with contextlib.suppress(OSError):
                upload.unlink()
    return json_response({**asdict(report), "errors": [asdict(e) for e in report.errors]}, status=201)


async def _save(part: BodyPartReader) -> Path:
    """Stream the upload to a temporary file (written off the event loop), keeping its extension."""
    suffix = Path(part.filename or "upload.csv").suffix.lower()[:6] or ".csv"
    fd, name = tempfile.mkstemp(prefix="import-", suffix=suffix)
    size = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := await part.read_chunk(1 << 20):
            size += len(chunk)
            if size > UPLOAD_MAX_BYTES:
                out.close()
                os.unlink(name)
                raise ApiError(413, f"the file is larger than {UPLOAD_MAX_BYTES // (1 << 20)} MB")
            await asyncio.to_thread(out.write, chunk)
    return Path(name)


MULTIPART = {
    "type": "object",
    "required": ["file", "company"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": ".xlsx or .csv, one debtor per row"},
        "company": {"type": "string", "minLength": 1},
        "country": {"type": "string", "pattern": "^[A-Z]{2}$", "default": "CL"},
        "timezone": {"type": "string", "description": "IANA zone; default: the country's"},
    },
}
ENDPOINTS = [
    Endpoint("POST", "/api/v1/contacts/imports", import_contacts, "Import debtors from a spreadsheet",
             "contacts", multipart=MULTIPART, ok=201, errors=(413,)),
]
